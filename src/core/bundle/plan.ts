import { diffTrees, type TreeDiff } from '../diff.js';
import { distinctObjects, type SnapshotRecord, type Tree } from '../manifest.js';
import type { ObjectId } from '../objectId.js';
import { diffPackages } from '../packages.js';
import { summariseChanges, type BundleChanges } from './changes.js';

export interface BundlePlan {
  target: SnapshotRecord;
  base: SnapshotRecord | null;
  /** Objects to carry, each once, in the order they first appear in the target tree. */
  objects: ReadonlyMap<ObjectId, number>;
  objectBytes: number;
  changes: BundleChanges;
}

/** A bundle carries exactly the objects of the target that the base does not have. */
export function planBundle(target: SnapshotRecord, targetTree: Tree, base: SnapshotRecord | null, baseTree: Tree | null): BundlePlan {
  const diff = diffTrees(baseTree ?? { entries: [] }, targetTree);
  const objects = baseTree ? newObjects(targetTree, diff, baseTree) : distinctObjects(targetTree);
  let objectBytes = 0;
  for (const size of objects.values()) objectBytes += size;
  return { target, base, objects, objectBytes, changes: summariseChanges(diff, diffPackages(targetTree, baseTree === null ? null : diff)) };
}

/**
 * The objects of `targetTree` that `baseTree` does not hold, each once, in the order they
 * first appear in the target. Only an added or changed entry can name one (at an unchanged
 * path the base has the same object), so only those ids are looked for in the base: no
 * index of every id of either tree is built, which at a million files is 100 MB.
 */
function newObjects(targetTree: Tree, diff: TreeDiff, baseTree: Tree): Map<ObjectId, number> {
  const candidates = new Set<ObjectId>();
  for (const entry of diff.added) candidates.add(entry.id);
  for (const { after } of diff.changed) candidates.add(after.id);
  for (const entry of baseTree.entries) {
    if (candidates.size === 0) break;
    candidates.delete(entry.id);
  }
  const objects = new Map<ObjectId, number>();
  if (candidates.size === 0) return objects;
  for (const entry of targetTree.entries) if (candidates.has(entry.id) && !objects.has(entry.id)) objects.set(entry.id, entry.size);
  return objects;
}
