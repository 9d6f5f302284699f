import { count } from '../core/units.js';
import { AirlockError } from '../errors.js';
import { treeTotals, type SnapshotRecord } from '../core/manifest.js';
import { shortId } from '../core/objectId.js';
import { planSchemaPrune, prunedLabel, type PrunedDirectory } from '../core/layout/schemaPrune.js';
import type { Progress } from '../core/progress.js';
import { buildDeployment } from '../deployment/buildDeployment.js';
import { missingFiles } from '../repository/holding.js';
import { recordSnapshot } from '../repository/recordSnapshot.js';
import type { Owner } from '../deployment/accounts.js';
import type { OfflineSession } from './session.js';
import { switchDeployment } from '../deployment/switchDeployment.js';

export interface PruneSchemaOptions {
  /** The schema to keep: `v3`. */
  keep: string;
  dryrun: boolean;
  owner: Owner | undefined;
  progress: Progress;
}

export interface PruneSchemaResult {
  /** The snapshot shown before. */
  from: SnapshotRecord;
  removed: PrunedDirectory[];
  files: number;
  bytes: number;
  /** Bytes only the removed files hold: what `airlock gc` frees once the old deployment goes. */
  unsharedBytes: number;
  dryrun: boolean;
  /** The new snapshot now shown; null with --dryrun or when there was nothing to remove. */
  snapshot: SnapshotRecord | null;
  linked: number;
  copied: number;
}

/**
 * `airlock prune-schema --keep v3`: removes the directories of superseded data schemas
 * (`v2/`, `bioc/v2/`) from what the data dir shows, as a new local snapshot switched to like
 * an apply (build the deployment beside the live one, one rename), so the removal is atomic
 * and `airlock rollback` brings the directories back.
 *
 * The new snapshot is recorded with its parent's sequence, and `highestSequence` is left as
 * it is: the next online bundle (a higher sequence) still applies, from this snapshot or from
 * the unpruned parent, which stays held (docs/layout.md, "Local snapshots").
 */
export async function pruneSchema(session: OfflineSession, options: PruneSchemaOptions): Promise<PruneSchemaResult> {
  const { dataDir, repo, state } = session;
  const current = dataDir.assertManaged();
  const tree = await repo.snapshots.loadTree(current);
  const from: SnapshotRecord = (await repo.snapshots.newestRecordOf(current)) ?? { id: current, sequence: 0, label: null, parent: null, createdAt: new Date(0).toISOString(), ...treeTotals(tree) };
  const plan = planSchemaPrune(tree, options.keep);
  const result: PruneSchemaResult = {
    from,
    removed: plan.removed,
    files: plan.files,
    bytes: plan.bytes,
    unsharedBytes: plan.unsharedBytes,
    dryrun: options.dryrun,
    snapshot: null,
    linked: 0,
    copied: 0,
  };
  if (plan.removed.length === 0 || options.dryrun) return result;
  const missing = missingFiles(repo, plan.tree);
  if (missing > 0) {
    throw new AirlockError('DATA_DIR_DAMAGED', `${count(missing, 'file')} of the current snapshot ${shortId(current)} have no object in the store`, {
      where: repo.root,
      hint: 'run `airlock verify --deep` to see which; a full bundle of a newer snapshot, applied with --force-full, brings them back. Nothing was changed',
    });
  }
  const id = await repo.snapshots.saveTree(plan.tree);
  const { record } = await recordSnapshot(repo, { kind: 'local', id, label: prunedLabel(from.label, plan.schemas), totals: treeTotals(plan.tree), parent: from });
  const built = await buildDeployment(repo, dataDir, id, plan.tree, options.owner, options.progress);
  switchDeployment(dataDir, id);
  await dataDir.recordSwitch(state, { snapshot: id, action: 'prune-schema', at: new Date().toISOString() }, built.builtAt);
  return { ...result, snapshot: record, linked: built.linked, copied: built.copied };
}
