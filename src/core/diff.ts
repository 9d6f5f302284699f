import { TreeRows, type Tree, type TreeEntry, type VerifiedTree } from './manifest.js';
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

/**
 * diffTrees of a tree known only by its verified bytes (`before`, from the store) and a
 * decoded one (`after`), walking both trees' bytes side by side: a row the same in both is the
 * same bytes and is passed over without being decoded, so a diff of two large trees that
 * mostly agree costs a comparison of bytes, and decoding only the rows that differ. Paths are
 * compared as their UTF-8 bytes, which is comparePaths' order.
 */
export function diffEncodedTrees(before: Uint8Array, after: VerifiedTree): TreeDiff {
  const diff: TreeDiff = { added: [], changed: [], removed: [] };
  const entries = after.tree.entries;
  const a = new TreeRows(before);
  const b = new TreeRows(after.encoded);
  let hasA = a.next();
  let hasB = b.next();
  while (hasA || hasB) {
    if (hasA && hasB && a.end - a.start === b.end - b.start && a.bytes.compare(b.bytes, b.start, b.end, a.start, a.end) === 0) {
      hasA = a.next();
      hasB = b.next();
      continue;
    }
    const order = !hasA ? 1 : !hasB ? -1 : a.bytes.compare(b.bytes, b.pathStart, b.pathEnd, a.pathStart, a.pathEnd);
    if (order < 0) {
      diff.removed.push(a.entry());
      hasA = a.next();
    } else if (order > 0) {
      diff.added.push(entries[b.index]!);
      hasB = b.next();
    } else {
      const x = a.entry();
      const y = entries[b.index]!;
      if (x.id !== y.id || x.mode !== y.mode) diff.changed.push({ before: x, after: y });
      hasA = a.next();
      hasB = b.next();
    }
  }
  return diff;
}

export function isEmptyDiff(diff: TreeDiff): boolean {
  return diff.added.length === 0 && diff.changed.length === 0 && diff.removed.length === 0;
}
