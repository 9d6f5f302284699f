import { diffTrees } from '../diff.js';
import { distinctObjects, type SnapshotRecord, type Tree } from '../manifest.js';
import type { ObjectId } from '../objectId.js';
import { diffPackages } from '../packages.js';
import { summariseChanges, type BundleChanges } from './changes.js';

export interface BundlePlan {
  target: SnapshotRecord;
  base: SnapshotRecord | null;
  /** Objects to carry, each once, in the order they first appear in the target tree. */
  objects: Map<ObjectId, number>;
  objectBytes: number;
  changes: BundleChanges;
}

/** A bundle carries exactly the objects of the target that the base does not have. */
export function planBundle(target: SnapshotRecord, targetTree: Tree, base: SnapshotRecord | null, baseTree: Tree | null): BundlePlan {
  const objects = distinctObjects(targetTree);
  if (baseTree) for (const entry of baseTree.entries) objects.delete(entry.id);
  let objectBytes = 0;
  for (const size of objects.values()) objectBytes += size;
  const diff = diffTrees(baseTree ?? { entries: [] }, targetTree);
  return { target, base, objects, objectBytes, changes: summariseChanges(diff, diffPackages(baseTree, targetTree)) };
}
