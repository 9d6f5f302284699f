import { isAirlockError } from '../errors.js';
import type { SnapshotId, Tree, VerifiedTree } from '../core/manifest.js';
import type { Repository } from './repository.js';

/** Files of `tree` whose object is no longer in the store (removed by `airlock gc`, or lost). */
export function missingFiles(repo: Repository, tree: Tree): number {
  let missing = 0;
  for (const entry of tree.entries) if (!repo.objects.hasSync(entry.id)) missing++;
  return missing;
}

export interface Holding {
  /** The tree is recorded here and every object it names is in the store: the snapshot can be shown again. */
  complete: boolean;
  /** The tree is recorded here (false: the data dir never had this snapshot). */
  recorded: boolean;
  missing: number;
  /** The tree, with the canonical bytes it was read from (an export writes them as they are). */
  tree: VerifiedTree | null;
}

/**
 * Whether this data dir still holds snapshot `id` completely, whether or not its deployment
 * is kept: a deployment removed by gc is rebuilt from the store, but objects gc removed are
 * gone. A damaged tree file is an error, not "not held".
 */
export async function holding(repo: Repository, id: SnapshotId): Promise<Holding> {
  let tree: VerifiedTree;
  try {
    tree = await repo.snapshots.loadVerifiedTree(id);
  } catch (err) {
    if (isAirlockError(err) && err.code === 'NOT_FOUND') return { complete: false, recorded: false, missing: 0, tree: null };
    throw err;
  }
  const missing = missingFiles(repo, tree.tree);
  return { complete: missing === 0, recorded: true, missing, tree };
}
