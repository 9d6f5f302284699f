import type { Tree, TreeEntry } from './manifest.js';
import { comparePaths } from './paths.js';

export interface ChangedEntry {
  before: TreeEntry;
  after: TreeEntry;
}

export interface TreeDiff {
  added: TreeEntry[];
  changed: ChangedEntry[];
  removed: TreeEntry[];
}

/** Merge-walk of two sorted trees: linear time, no index beyond the trees themselves. */
export function diffTrees(before: Tree, after: Tree): TreeDiff {
  const diff: TreeDiff = { added: [], changed: [], removed: [] };
  const a = before.entries;
  const b = after.entries;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const order = i >= a.length ? 1 : j >= b.length ? -1 : comparePaths(a[i]!.path, b[j]!.path);
    if (order < 0) {
      diff.removed.push(a[i++]!);
    } else if (order > 0) {
      diff.added.push(b[j++]!);
    } else {
      const x = a[i++]!;
      const y = b[j++]!;
      if (x.id !== y.id || x.mode !== y.mode) diff.changed.push({ before: x, after: y });
    }
  }
  return diff;
}

export function isEmptyDiff(diff: TreeDiff): boolean {
  return diff.added.length === 0 && diff.changed.length === 0 && diff.removed.length === 0;
}
