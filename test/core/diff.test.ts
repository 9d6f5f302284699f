import { describe, it, expect } from 'vitest';
import { diffTrees, isEmptyDiff, type TreeDiff } from '../../src/core/diff.js';
import { EXECUTABLE_MODE, FILE_MODE, type EntryMode, type Tree, type TreeEntry } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';

function entry(path: string, content = path, mode: EntryMode = FILE_MODE): TreeEntry {
  return { path, id: hashBytes(Buffer.from(content)), size: Buffer.byteLength(content), mode };
}

const tree = (...entries: TreeEntry[]): Tree => ({ entries });
const paths = (entries: TreeEntry[]): string[] => entries.map((e) => e.path);

describe('diffTrees', () => {
  it('gives an empty diff for identical trees', () => {
    const before = tree(entry('a'), entry('b/c'), entry('d', 'x', EXECUTABLE_MODE));
    const after = tree(entry('a'), entry('b/c'), entry('d', 'x', EXECUTABLE_MODE));
    const diff = diffTrees(before, after);
    expect(diff).toEqual({ added: [], changed: [], removed: [] });
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('gives an empty diff for two empty trees', () => {
    expect(isEmptyDiff(diffTrees(tree(), tree()))).toBe(true);
  });

  it('finds added, changed and removed entries interleaved across the trees', () => {
    const before = tree(entry('a'), entry('b', 'old'), entry('c'), entry('e'), entry('g'));
    const after = tree(entry('a'), entry('b', 'new'), entry('d'), entry('e'), entry('f'), entry('h'));
    const diff = diffTrees(before, after);
    expect(paths(diff.added)).toEqual(['d', 'f', 'h']);
    expect(paths(diff.removed)).toEqual(['c', 'g']);
    expect(diff.changed).toEqual([{ before: entry('b', 'old'), after: entry('b', 'new') }]);
    expect(isEmptyDiff(diff)).toBe(false);
  });

  it('treats everything as added from an empty tree and removed to an empty tree', () => {
    const full = tree(entry('a'), entry('b'), entry('c/d'));
    expect(diffTrees(tree(), full)).toEqual({ added: full.entries, changed: [], removed: [] });
    expect(diffTrees(full, tree())).toEqual({ added: [], changed: [], removed: full.entries });
  });

  it('counts a mode-only change as changed', () => {
    const diff = diffTrees(tree(entry('run.sh', 'echo')), tree(entry('run.sh', 'echo', EXECUTABLE_MODE)));
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0]!.before.mode).toBe(FILE_MODE);
    expect(diff.changed[0]!.after.mode).toBe(EXECUTABLE_MODE);
  });

  it('sees a rename as one removal and one addition', () => {
    const diff = diffTrees(tree(entry('old', 'same')), tree(entry('new', 'same')));
    expect(paths(diff.removed)).toEqual(['old']);
    expect(paths(diff.added)).toEqual(['new']);
    expect(diff.changed).toEqual([]);
  });

  it('walks in UTF-8 byte order, as manifests are sorted', () => {
    // Sorted by bytes: '\uFF5E' (EF ..) before '\u{1F600}' (F0 ..); UTF-16 order is the reverse.
    const before = tree(entry('\uFF5E'), entry('\u{1F600}'));
    const after = tree(entry('\uFF5E'), entry('\u{1F600}', 'changed'));
    const diff = diffTrees(before, after);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed.map((c) => c.after.path)).toEqual(['\u{1F600}']);
  });

  it('handles prefixes and directories by path order', () => {
    const before = tree(entry('a'), entry('a.txt'), entry('b/c'));
    const after = tree(entry('a.txt'), entry('a/x'), entry('b/c'), entry('b/d'));
    const diff: TreeDiff = diffTrees(before, after);
    expect(paths(diff.removed)).toEqual(['a']);
    expect(paths(diff.added)).toEqual(['a/x', 'b/d']);
    expect(diff.changed).toEqual([]);
  });
});

describe('isEmptyDiff', () => {
  it('is false when any list has an entry', () => {
    const e = entry('x');
    expect(isEmptyDiff({ added: [e], changed: [], removed: [] })).toBe(false);
    expect(isEmptyDiff({ added: [], changed: [{ before: e, after: e }], removed: [] })).toBe(false);
    expect(isEmptyDiff({ added: [], changed: [], removed: [e] })).toBe(false);
  });
});
