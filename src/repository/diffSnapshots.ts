import { diffEncodedTrees, type TreeDiff } from '../core/diff.js';
import type { SnapshotRecord } from '../core/manifest.js';
import { diffPackages, largestChanges, type PackageChange, type SizedChange } from '../core/packages.js';
import type { Repository } from './repository.js';

export interface SnapshotDiff {
  from: SnapshotRecord;
  to: SnapshotRecord;
  files: TreeDiff;
  packages: PackageChange[];
  largest: SizedChange[];
}

export async function diffSnapshots(repo: Repository, fromRef: string, toRef: string): Promise<SnapshotDiff> {
  const from = await repo.snapshots.resolve(fromRef);
  const to = await repo.snapshots.resolve(toRef);
  // The tree before is read as bytes, only its rows that differ decoded (diffEncodedTrees).
  const after = await repo.snapshots.loadVerifiedTree(to.id);
  const files = diffEncodedTrees(await repo.snapshots.loadTreeBytes(from.id), after);
  const packages = diffPackages(after.tree, files);
  return { from, to, files, packages, largest: largestChanges(packages, after.tree) };
}
