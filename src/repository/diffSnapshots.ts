import { diffTrees, type TreeDiff } from '../core/diff.js';
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
  const before = await repo.snapshots.loadTree(from.id);
  const after = await repo.snapshots.loadTree(to.id);
  const files = diffTrees(before, after);
  const packages = diffPackages(before, after, files);
  return { from, to, files, packages, largest: largestChanges(packages, after) };
}
