import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import { isObjectId } from '../core/objectId.js';
import type { SnapshotId } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';
import type { OfflineSession } from './session.js';

export interface GcResult {
  kept: SnapshotId[];
  removedDeployments: SnapshotId[];
  removedObjects: number;
  freedBytes: number;
  /** Nothing was removed: the numbers say what a real run would remove. */
  dryrun: boolean;
}

/**
 * Keeps the current deployment and the N-1 most recently used others; removes the
 * rest and every object no kept deployment refers to. Explicit, never automatic: an
 * admin decides when rollback history may shrink; `dryrun` says what would go first.
 */
export async function collectGarbage(session: OfflineSession, keep: number, progress: Progress, dryrun = false): Promise<GcResult> {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new AirlockError('USAGE', `--keep ${keep} must be a whole number of at least 1`, { hint: 'the current deployment is always kept; --keep 1 keeps only it' });
  }
  const { dataDir, repo, state } = session;
  const current = dataDir.assertManaged();
  const deployments = fs.existsSync(dataDir.deploymentsDir) ? (await fsp.readdir(dataDir.deploymentsDir)).filter(isObjectId) : [];
  const lastUsed = (id: SnapshotId) => state.history.map((h) => h.snapshot).lastIndexOf(id);
  const byRecency = deployments.filter((id) => id !== current).sort((a, b) => lastUsed(b) - lastUsed(a));
  const kept = [current, ...byRecency.slice(0, keep - 1)];
  const removed = byRecency.slice(keep - 1);
  if (!dryrun) {
    progress.phase('removing old deployments', { files: removed.length });
    for (const id of removed) {
      await fsp.rm(dataDir.deploymentPath(id), { recursive: true, force: true });
      progress.advance(1, 0);
    }
  }
  const referenced = new Set<string>();
  for (const id of kept) for (const entry of (await repo.snapshots.loadTree(id)).entries) referenced.add(entry.id);
  let removedObjects = 0;
  let freedBytes = 0;
  progress.phase(dryrun ? 'finding unreferenced objects' : 'removing unreferenced objects');
  for await (const id of repo.objects.list()) {
    if (referenced.has(id)) continue;
    const path = repo.objects.path(id);
    freedBytes += fs.statSync(path).size;
    if (!dryrun) await repo.objects.remove(id);
    removedObjects++;
    progress.advance(1, 0);
  }
  if (!dryrun) await repo.objects.flush();
  return { kept, removedDeployments: removed, removedObjects, freedBytes, dryrun };
}
