import type { Progress } from '../core/progress.js';
import { Repository } from '../repository/repository.js';
import { withOfflineSession } from './session.js';
import { verifyObjects, verifyTreeOnDisk, type Problem } from '../deployment/verifyTree.js';

export interface VerifyReport {
  target: string;
  checked: number;
  problems: Problem[];
}

export async function verifyDataDir(path: string, deep: boolean, progress: Progress): Promise<VerifyReport> {
  return withOfflineSession(path, 'verify', async ({ dataDir, repo }) => {
    const current = dataDir.assertManaged();
    const tree = await repo.snapshots.loadTree(current);
    const problems = await verifyTreeOnDisk(dataDir.path, tree, deep, progress);
    return { target: dataDir.path, checked: tree.entries.length, problems };
  });
}

/** Every object every snapshot of the repository refers to. */
export async function verifyRepository(path: string, deep: boolean, progress: Progress): Promise<VerifyReport> {
  const repo = await Repository.open(path);
  const records = await repo.snapshots.records();
  const trees = await Promise.all([...new Set(records.map((r) => r.id))].map((id) => repo.snapshots.loadTree(id)));
  const problems = await verifyObjects(repo, trees, deep, progress);
  const checked = new Set(trees.flatMap((t) => t.entries.map((e) => e.id))).size;
  return { target: path, checked, problems };
}
