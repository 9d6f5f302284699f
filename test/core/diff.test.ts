import { describe, it, expect } from 'vitest';
import { diffEncodedTrees, diffTrees, isEmptyDiff, type TreeDiff } from '../../src/core/diff.js';
import { encodeTree, encodeVerifiedTree, EXECUTABLE_MODE, FILE_MODE, sortEntries, type EntryMode, type Tree, type TreeEntry } from '../../src/core/manifest.js';
import { AirlockError } from '../../src/errors.js';
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

describe('diffEncodedTrees (the tree before read in place from its bytes)', () => {
  // Paths whose UTF-8 order is not UTF-16's (U+E000-FFFF against astral characters), a
  // directory against a file of the same prefix, and lengths across the str8 header.
  const pool = ['a', 'a-b', 'a/b', 'a/b/c', 'a0', 'b', 'é', 'z/\uE000x', 'z/\u{1F600}y', 'z/\uFFFDw', `long/${'x'.repeat(40)}`, `long/${'y'.repeat(300)}`, 'PACKAGES', 'src/contrib/pkg_1.0.tar.gz'];
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = (): Tree => {
    const entries: TreeEntry[] = [];
    for (const path of pool) {
      if (random() < 0.4) continue;
      // The same path keeps its content or gets another, and its mode or the other.
      entries.push(entry(path, random() < 0.7 ? path : `${path}!`, random() < 0.85 ? FILE_MODE : EXECUTABLE_MODE));
    }
    return { entries: sortEntries(entries) };
  };

  it('agrees with diffTrees on random pairs of trees, the entries it gives decoded alike', () => {
    for (let round = 0; round < 500; round++) {
      const [before, after] = [pick(), pick()];
      expect(diffEncodedTrees(encodeTree(before), encodeVerifiedTree(after)), `round ${round}`).toEqual(diffTrees(before, after));
    }
  });

  it('finds every change among many equal rows, and nothing between a tree and itself', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => entry(`d${i % 50}/f${String(i).padStart(5, '0')}`));
    const before: Tree = { entries: sortEntries(entries) };
    const after: Tree = { entries: sortEntries([...entries.filter((_, i) => i % 997 !== 3).map((e, i) => (i === 2500 ? entry(e.path, 'changed') : e)), entry('d7/new')]) };
    const diff = diffEncodedTrees(encodeTree(before), encodeVerifiedTree(after));
    expect(diff).toEqual(diffTrees(before, after));
    expect([diff.added.length, diff.changed.length, diff.removed.length]).toEqual([1, 1, 6]);
    expect(isEmptyDiff(diffEncodedTrees(encodeTree(before), encodeVerifiedTree(before)))).toBe(true);
  });

  it('refuses bytes that are not a tree as MANIFEST_INVALID (cut short, or with bytes after the last row)', () => {
    const bytes = encodeTree(tree(entry('a'), entry('b')));
    const after = encodeVerifiedTree(tree(entry('a')));
    for (const broken of [bytes.subarray(0, bytes.length - 3), Buffer.concat([bytes, Buffer.from([0])]), Buffer.from('not a tree')]) {
      let thrown: unknown;
      try {
        diffEncodedTrees(broken, after);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AirlockError);
      expect((thrown as AirlockError).code).toBe('MANIFEST_INVALID');
    }
  });
});
