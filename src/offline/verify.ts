import type { Progress } from '../core/progress.js';
import { verifyTreeOnDisk } from '../deployment/verifyTree.js';
import type { VerifyReport } from '../repository/verifyObjects.js';
import type { OfflineSession } from './session.js';

/** `verify --data-dir`: the tree the data dir shows, against the snapshot it claims to be. */
export async function verifyDataDir(session: OfflineSession, deep: boolean, progress: Progress): Promise<VerifyReport> {
  const { dataDir, repo, state } = session;
  const current = dataDir.assertManaged();
  const tree = await repo.snapshots.loadTree(current);
  const problems = await verifyTreeOnDisk(dataDir.path, tree, deep, progress, state.deployedAt?.[current]);
  return { target: dataDir.path, checked: tree.entries.length, problems };
}
