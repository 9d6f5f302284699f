import { describe, it, expect } from 'vitest';
import { diffTrees } from '../../src/core/diff.js';
import { countPackages, diffPackages, estimateTotalBytes, largestChanges, parsePackagePath, sizeGuesser, type PackageChange } from '../../src/core/packages.js';
import { FILE_MODE, type Tree, type TreeEntry } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';

/** diffPackages as its callers use it: the tree after, and its file diff from the tree before (none: null). */
function changesBetween(before: Tree | null, after: Tree): PackageChange[] {
  return diffPackages(after, before === null ? null : diffTrees(before, after));
}

/** A sorted tree holding the given paths (content is the path itself). */
function treeOf(...paths: string[]): Tree {
  const sorted = [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { entries: sorted.map((path) => ({ path, id: hashBytes(Buffer.from(path)), size: path.length, mode: FILE_MODE })) };
}

describe('parsePackagePath', () => {
  it('parses source tarballs with their repository directory', () => {
    expect(parsePackagePath('src/contrib/ggplot2_3.5.1.tar.gz')).toEqual({ repository: 'src/contrib', name: 'ggplot2', version: '3.5.1' });
    expect(parsePackagePath('cran/v3/src/contrib/Rcpp_1.0.12.tar.gz')).toEqual({ repository: 'cran/v3/src/contrib', name: 'Rcpp', version: '1.0.12' });
  });

  it('parses a top-level archive with an empty repository', () => {
    expect(parsePackagePath('abc_1.0.tar.gz')).toEqual({ repository: '', name: 'abc', version: '1.0' });
  });

  it('parses Windows .zip and macOS .tgz binaries and other archive suffixes', () => {
    expect(parsePackagePath('bin/windows/contrib/4.4/cli_3.6.2.zip')).toEqual({ repository: 'bin/windows/contrib/4.4', name: 'cli', version: '3.6.2' });
    expect(parsePackagePath('bin/macosx/big-sur-arm64/contrib/4.4/cli_3.6.2.tgz')).toEqual({
      repository: 'bin/macosx/big-sur-arm64/contrib/4.4',
      name: 'cli',
      version: '3.6.2',
    });
    expect(parsePackagePath('x/pkg_1.0.tar.xz')?.version).toBe('1.0');
    expect(parsePackagePath('x/pkg_1.0.tar.bz2')?.version).toBe('1.0');
  });

  it('keeps dots in package names', () => {
    expect(parsePackagePath('src/contrib/data.table_1.15.4.tar.gz')).toEqual({ repository: 'src/contrib', name: 'data.table', version: '1.15.4' });
    expect(parsePackagePath('src/contrib/R.utils_2.12.3.tar.gz')?.name).toBe('R.utils');
  });

  it("keeps '-' in versions", () => {
    expect(parsePackagePath('src/contrib/MASS_7.3-60.tar.gz')).toEqual({ repository: 'src/contrib', name: 'MASS', version: '7.3-60' });
    expect(parsePackagePath('src/contrib/abc_1.0-2.tar.gz')?.version).toBe('1.0-2');
  });

  it('ignores CRAN Archive/ directories at any depth', () => {
    expect(parsePackagePath('src/contrib/Archive/ggplot2/ggplot2_3.4.0.tar.gz')).toBeUndefined();
    expect(parsePackagePath('Archive/abc_1.0.tar.gz')).toBeUndefined();
    expect(parsePackagePath('Archive/abc/abc_1.0.tar.gz')).toBeUndefined();
    expect(parsePackagePath('src/contrib/Archive/abc_1.0.tar.gz')).toBeUndefined();
    // ...but not directories that merely contain the word.
    expect(parsePackagePath('MyArchive/abc_1.0.tar.gz')?.name).toBe('abc');
    expect(parsePackagePath('src/Archived/abc_1.0.tar.gz')?.name).toBe('abc');
  });

  it('ignores PACKAGES indexes and other non-archives', () => {
    for (const path of [
      'src/contrib/PACKAGES',
      'src/contrib/PACKAGES.gz',
      'src/contrib/PACKAGES.rds',
      'bin/windows/contrib/4.4/PACKAGES',
      'src/contrib/Meta/archive.rds',
      'src/contrib/abc_1.0.tar', // not a recognised suffix
      'src/contrib/abc_1.tar.gz', // a version needs at least two parts
      'src/contrib/abc-1.0.tar.gz', // no underscore
      'src/contrib/1abc_1.0.tar.gz', // names start with a letter
      'src/contrib/abc._1.0.tar.gz', // names do not end with a dot
      'src/contrib/a_1.0.tar.gz', // names have at least two characters
      'src/contrib/abc_1.0a.tar.gz',
    ]) {
      expect(parsePackagePath(path), path).toBeUndefined();
    }
  });
});

describe('countPackages', () => {
  it('counts one per repository and name, skipping archives and indexes', () => {
    const t = treeOf(
      'src/contrib/PACKAGES',
      'src/contrib/a1_1.0.tar.gz',
      'src/contrib/b2_2.0.tar.gz',
      'src/contrib/Archive/a1/a1_0.9.tar.gz',
      'bin/windows/contrib/4.4/a1_1.0.zip',
    );
    expect(countPackages(t)).toBe(3);
  });
});

describe('diffPackages', () => {
  it('reports every package as added when there is no base', () => {
    const after = treeOf('src/contrib/zz_1.0.tar.gz', 'src/contrib/aa_2.1-3.tar.gz', 'src/contrib/PACKAGES', 'src/contrib/Archive/aa/aa_2.0.tar.gz');
    expect(changesBetween(null, after)).toEqual<PackageChange[]>([
      { kind: 'added', repository: 'src/contrib', name: 'aa', from: null, to: '2.1-3' },
      { kind: 'added', repository: 'src/contrib', name: 'zz', from: null, to: '1.0' },
    ]);
  });

  it('reports added, updated (from -> to) and removed packages', () => {
    const before = treeOf('src/contrib/keep_1.0.tar.gz', 'src/contrib/bump_1.0-1.tar.gz', 'src/contrib/gone_0.1.tar.gz');
    const after = treeOf(
      'src/contrib/keep_1.0.tar.gz',
      'src/contrib/bump_1.0-2.tar.gz',
      'src/contrib/new_3.0.tar.gz',
      'src/contrib/Archive/bump/bump_1.0-1.tar.gz',
    );
    expect(changesBetween(before, after)).toEqual<PackageChange[]>([
      { kind: 'updated', repository: 'src/contrib', name: 'bump', from: '1.0-1', to: '1.0-2' },
      { kind: 'removed', repository: 'src/contrib', name: 'gone', from: '0.1', to: null },
      { kind: 'added', repository: 'src/contrib', name: 'new', from: null, to: '3.0' },
    ]);
  });

  it('groups changes per repository directory, sorted by repository then name', () => {
    const before = treeOf('src/contrib/cli_3.6.1.tar.gz', 'bin/windows/contrib/4.4/cli_3.6.1.zip');
    const after = treeOf(
      'src/contrib/cli_3.6.2.tar.gz',
      'bin/windows/contrib/4.4/cli_3.6.1.zip',
      'bin/windows/contrib/4.4/abc_1.0.zip',
      'bin/macosx/contrib/4.4/cli_3.6.2.tgz',
    );
    expect(changesBetween(before, after)).toEqual<PackageChange[]>([
      { kind: 'added', repository: 'bin/macosx/contrib/4.4', name: 'cli', from: null, to: '3.6.2' },
      { kind: 'added', repository: 'bin/windows/contrib/4.4', name: 'abc', from: null, to: '1.0' },
      { kind: 'updated', repository: 'src/contrib', name: 'cli', from: '3.6.1', to: '3.6.2' },
    ]);
  });

  it('treats a package moving to another repository directory as removed there and added here', () => {
    const changes = changesBetween(treeOf('old/pkg_1.0.tar.gz'), treeOf('new/pkg_1.0.tar.gz'));
    expect(changes).toEqual<PackageChange[]>([
      { kind: 'added', repository: 'new', name: 'pkg', from: null, to: '1.0' },
      { kind: 'removed', repository: 'old', name: 'pkg', from: '1.0', to: null },
    ]);
  });

  it('reports nothing when only non-package files or archives change', () => {
    const before = treeOf('src/contrib/PACKAGES', 'src/contrib/abc_1.0.tar.gz');
    const after = treeOf('src/contrib/PACKAGES.gz', 'src/contrib/abc_1.0.tar.gz', 'src/contrib/Archive/abc/abc_0.9.tar.gz');
    expect(changesBetween(before, after)).toEqual([]);
  });
});

describe('diffPackages looks up only the packages of the paths that differ', () => {
  /** The whole-tree reading diffPackages gave before: every archive of both trees indexed. */
  function reference(before: Tree, after: Tree): PackageChange[] {
    const index = (tree: Tree) => {
      const map = new Map<string, string[]>();
      for (const e of tree.entries) {
        const ref = parsePackagePath(e.path);
        if (ref) map.set(`${ref.repository}\0${ref.name}`, [...(map.get(`${ref.repository}\0${ref.name}`) ?? []), ref.version]);
      }
      return map;
    };
    const [old, now] = [index(before), index(after)];
    const out: PackageChange[] = [];
    const split = (key: string) => ({ repository: key.split('\0')[0]!, name: key.split('\0')[1]! });
    for (const [key, v] of now) {
      const p = old.get(key);
      if (!p) out.push({ kind: 'added', ...split(key), from: null, to: v.join(', ') });
      else if (p.join(', ') !== v.join(', ')) out.push({ kind: 'updated', ...split(key), from: p.join(', '), to: v.join(', ') });
    }
    for (const [key, v] of old) if (!now.has(key)) out.push({ kind: 'removed', ...split(key), from: v.join(', '), to: null });
    return out.sort((x, y) => (x.repository === y.repository ? (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) : x.repository < y.repository ? -1 : 1));
  }

  // Names that share prefixes (ab, ab.c, abc), a directory named like an archive's start, Archive/,
  // several versions side by side, a repository at the top, and files that are no archive.
  const pool = [
    'ab_1.0.tar.gz', 'ab_1.1.tar.gz', 'ab_2.0-1.tar.gz', 'ab.c_1.0.tar.gz', 'abc_1.0.tar.gz', 'ab_1.0.zip', 'ab_1.0/xy_1.0.tar.gz',
    'src/contrib/ab_1.0.tar.gz', 'src/contrib/ab_1.1.tar.gz', 'src/contrib/ab.c_3.0.tar.gz', 'src/contrib/abc_2.0.tar.gz', 'src/contrib/ab_x/bc_1.0.tar.gz',
    'src/contrib/Archive/ab/ab_0.9.tar.gz', 'src/contrib/PACKAGES', 'src/contrib/ab_', 'src/contrib/zz_9.9.tar.gz',
    'src/contrib/4.4/ab_1.0.tar.gz', 'bin/windows/contrib/4.4/ab_1.0.zip', 'bin/windows/contrib/4.4/ab_1.1.zip', 'src/contrib/éa_1.0.tar.gz',
  ];

  it('agrees with the whole-tree reading on random pairs of trees', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = () => {
      const paths = new Set<string>();
      for (const p of pool) if (random() < 0.5) paths.add(p);
      // No path may be both a file and a directory's prefix in a real tree; these pairs never are.
      return treeOf(...paths);
    };
    for (let round = 0; round < 400; round++) {
      const [before, after] = [pick(), pick()];
      expect(changesBetween(before, after), `round ${round}`).toEqual(reference(before, after));
    }
  });

  it('sizes an updated package by all of its archives in the target, none of its namesakes\'', () => {
    const after = treeOf('src/contrib/ab_1.0.tar.gz', 'src/contrib/ab_1.1.tar.gz', 'src/contrib/ab.c_1.0.tar.gz', 'src/contrib/ab_x/bc_1.0.tar.gz', 'src/contrib/Archive/ab/ab_0.9.tar.gz');
    const [change] = changesBetween(treeOf('src/contrib/ab_0.9.tar.gz'), after).filter((c) => c.name === 'ab');
    expect(change).toMatchObject({ kind: 'updated', from: '0.9', to: '1.0, 1.1' });
    expect(largestChanges([change!], after)).toEqual([{ change, bytes: 'src/contrib/ab_1.0.tar.gz'.length + 'src/contrib/ab_1.1.tar.gz'.length }]);
  });
});

describe('largestChanges', () => {
  it('ranks added and updated packages by the size of their new archive, largest first, at most N', () => {
    const sized = (path: string, size: number): TreeEntry => ({ path, id: hashBytes(Buffer.from(path)), size, mode: FILE_MODE });
    const before: Tree = { entries: [sized('src/contrib/big_1.0.tar.gz', 10), sized('src/contrib/gone_1.0.tar.gz', 999_999), sized('src/contrib/same_1.0.tar.gz', 5_000_000)] };
    const after: Tree = {
      entries: [
        sized('bin/x/contrib/big_2.0.tar.gz', 700),
        sized('src/contrib/PACKAGES', 9_000_000),
        sized('src/contrib/big_2.0.tar.gz', 3_000),
        sized('src/contrib/new_0.1.tar.gz', 2_000),
        sized('src/contrib/same_1.0.tar.gz', 5_000_000),
        sized('src/contrib/tiny_0.1.tar.gz', 1),
      ],
    };
    const changes = changesBetween(before, after);
    const top = largestChanges(changes, after, 3);
    expect(top.map((t) => [t.change.repository, t.change.name, t.change.kind, t.bytes])).toEqual([
      ['src/contrib', 'big', 'updated', 3_000],
      ['src/contrib', 'new', 'added', 2_000],
      ['bin/x/contrib', 'big', 'added', 700],
    ]);
    expect(largestChanges(changes, after)).toHaveLength(4);
    expect(largestChanges(changes.filter((c) => c.kind === 'removed'), after)).toEqual([]);
  });
});

describe('download size estimates', () => {
  const entry = (path: string, size: number): TreeEntry => ({ path, id: hashBytes(Buffer.from(path)), size, mode: FILE_MODE });
  it('guesses a file by its path in the last snapshot, else by the same package there, else not at all', () => {
    const guess = sizeGuesser({ entries: [entry('src/contrib/PACKAGES.gz', 50), entry('src/contrib/cli_3.6.1.tar.gz', 1_000), entry('bin/x/cli_3.6.1.tar.gz', 900)] });
    expect(guess('src/contrib/PACKAGES.gz')).toBe(50);
    expect(guess('src/contrib/cli_3.6.2.tar.gz')).toBe(1_000);
    expect(guess('bin/x/cli_3.7.0.tar.gz')).toBe(900);
    expect(guess('src/contrib/glue_1.0.tar.gz')).toBeUndefined();
    expect(sizeGuesser(null)('src/contrib/cli_3.6.2.tar.gz')).toBeUndefined();
  });

  it('sums what is known and fills the rest with its mean, or says nothing when under half is known', () => {
    expect(estimateTotalBytes([100, 300, undefined])).toBe(600);
    expect(estimateTotalBytes([100, undefined, undefined])).toBeUndefined();
    expect(estimateTotalBytes([])).toBeUndefined();
    expect(estimateTotalBytes([7])).toBe(7);
  });
});
