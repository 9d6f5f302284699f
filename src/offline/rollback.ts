import { AirlockError } from '../errors.js';
import { shortId } from '../core/objectId.js';
import { newestRecord, type SnapshotRecord } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';
import { buildDeployment } from '../deployment/buildDeployment.js';
import { missingFiles } from '../repository/holding.js';
import type { Owner } from '../deployment/accounts.js';
import type { OfflineSession } from './session.js';
import { switchDeployment } from '../deployment/switchDeployment.js';

export interface RollbackResult {
  from: string;
  fromLabel: string | null;
  to: SnapshotRecord;
  rebuilt: boolean;
  /** `back` to an older snapshot (by sequence), or `forward` again after a rollback (`--to` a newer one). */
  direction: 'back' | 'forward';
}

/**
 * Switches the data dir back to an earlier snapshot: by default the one that was
 * current before the present one, or any snapshot still held (`--to`). A deployment
 * removed by gc is rebuilt from the store when its objects are still there.
 */
export async function rollback(session: OfflineSession, to: string | undefined, owner: Owner | undefined, progress: Progress): Promise<RollbackResult> {
  const { dataDir, repo, state } = session;
  const current = dataDir.assertManaged();
  const target = to === undefined ? await previousSnapshot(session, current) : await repo.snapshots.resolve(to);
  if (target.id === current) {
    throw new AirlockError('NOTHING_TO_ROLL_BACK', `snapshot ${shortId(current)} is already the current one`, {
      hint: '`airlock status` lists the snapshots you can roll back to',
    });
  }
  const tree = await repo.snapshots.loadTree(target.id);
  const missing = missingFiles(repo, tree);
  if (missing > 0) {
    throw new AirlockError('NOT_FOUND', `snapshot ${shortId(target.id)} can no longer be restored: ${missing} of its files were garbage-collected`, {
      hint: 'roll back to a snapshot `airlock status` lists as kept, or apply a full bundle of the one you need',
    });
  }
  const built = await buildDeployment(repo, dataDir, target.id, tree, owner, progress);
  switchDeployment(dataDir, target.id);
  await dataDir.recordSwitch(state, { snapshot: target.id, action: 'rollback', at: new Date().toISOString() }, built.builtAt);
  const fromRecord = await repo.snapshots.newestRecordOf(current);
  const fromSequence = fromRecord?.sequence ?? 0;
  return { from: current, fromLabel: fromRecord?.label ?? null, to: target, rebuilt: !built.reused, direction: target.sequence > fromSequence ? 'forward' : 'back' };
}

/**
 * The newest snapshot held here that is older (by sequence) than the current one. A local
 * snapshot (prune-schema's) has its parent's sequence: its previous one is that parent.
 * Between an online snapshot and its local prune, both at one sequence, the one shown last
 * is taken.
 */
async function previousSnapshot(session: OfflineSession, current: string): Promise<SnapshotRecord> {
  const records = await session.repo.snapshots.records();
  const currentRecord = newestRecord(records.filter((r) => r.id === current));
  const currentSequence = currentRecord?.sequence ?? 0;
  const parent = currentRecord?.parent ? newestRecord(records.filter((r) => r.id === currentRecord.parent)) : undefined;
  if (parent && parent.sequence === currentSequence) return parent;
  // Among snapshots of one sequence (an online one and its local prune), the one shown last.
  const shown = session.state.history.map((h) => h.snapshot);
  const older = records
    .filter((r) => r.sequence < currentSequence && r.id !== current)
    .sort((a, b) => b.sequence - a.sequence || shown.lastIndexOf(b.id) - shown.lastIndexOf(a.id));
  if (older[0]) return older[0];
  throw new AirlockError('NOTHING_TO_ROLL_BACK', `no snapshot older than the current one (${shortId(current)}) is held here`, {
    hint: '`airlock status` lists the snapshots held; use `airlock rollback --to ID` to pick one',
  });
}
