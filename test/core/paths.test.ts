import { describe, it, expect } from 'vitest';
import { comparePaths, directoriesOf, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, pathProblem } from '../../src/core/paths.js';
import { Random } from '../../fixtures/random.js';

describe('pathProblem', () => {
  it('accepts ordinary relative paths', () => {
    for (const p of ['a', 'src/contrib/PACKAGES', 'bin/windows/contrib/4.4/pkg_1.0.zip', '.hidden', 'a/..b/c..', 'caf\u00e9/\u{1F600}.txt']) {
      expect(pathProblem(p), p).toBeUndefined();
    }
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['a/../b', /'\.\.' segment/],
    ['..', /'\.\.' segment/],
    ['./a', /'\.' segment/],
    ['a/./b', /'\.' segment/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['a\\b', /backslash/],
    ['a\u0000b', /control character/],
    ['a\nb', /control character/],
    ['a\tb', /control character/],
    ['a\u001fb', /control character/],
    ['a\u007fb', /control character/],
  ])('rejects %j', (path, reason) => {
    expect(pathProblem(path)).toMatch(reason);
  });

  it('limits segments by UTF-8 bytes, not by UTF-16 length', () => {
    expect(pathProblem('x'.repeat(MAX_SEGMENT_BYTES))).toBeUndefined();
    expect(pathProblem('x'.repeat(MAX_SEGMENT_BYTES + 1))).toMatch(/segment is longer than 255 bytes/);
    // 128 x 'é' is 128 UTF-16 code units but 256 UTF-8 bytes.
    const accented = '\u00e9'.repeat(128);
    expect(accented.length).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(pathProblem(`dir/${accented}`)).toMatch(/segment is longer/);
    expect(pathProblem('\u00e9'.repeat(127))).toBeUndefined();
  });

  it('limits the whole path by UTF-8 bytes', () => {
    const segment = 'y'.repeat(200);
    const atLimit = Array.from({ length: 20 }, () => segment).join('/') + '/' + 'z'.repeat(MAX_PATH_BYTES - 20 * 201);
    expect(Buffer.byteLength(atLimit)).toBe(MAX_PATH_BYTES);
    expect(pathProblem(atLimit)).toBeUndefined();
    expect(pathProblem(atLimit + 'z')).toMatch(/longer than 4096 bytes/);
  });
});

describe('comparePaths', () => {
  it('orders by UTF-8 bytes where that differs from JavaScript UTF-16 order', () => {
    const fullwidthTilde = '\uFF5E'; // UTF-8 EF BD 9E
    const grinning = '\u{1F600}'; // UTF-8 F0 9F 98 80, UTF-16 D83D DE00
    expect(fullwidthTilde < grinning).toBe(false); // JS puts the surrogate pair first
    expect(comparePaths(fullwidthTilde, grinning)).toBeLessThan(0);
    expect(comparePaths(grinning, fullwidthTilde)).toBeGreaterThan(0);
    expect([grinning, fullwidthTilde].sort(comparePaths)).toEqual([fullwidthTilde, grinning]);
  });

  it('sorts a prefix first and puts "." before "/"', () => {
    expect(comparePaths('a', 'a/b')).toBeLessThan(0);
    expect(comparePaths('a.txt', 'a/b')).toBeLessThan(0);
    expect(comparePaths('B', 'a')).toBeLessThan(0); // bytes, not locale
    expect(comparePaths('same/path', 'same/path')).toBe(0);
  });

  it('agrees with comparing the UTF-8 bytes on random paths of ASCII, accents, U+E000-FFFF and astral characters', () => {
    const alphabet = ['a', 'b', '/', '.', '-', '\u00e9', '\u0800', '\uD7FF', '\uE000', '\uFF5E', '\uFFFD', '\u{1F600}', '\u{10000}', '\u{10FFFF}'];
    const rng = new Random(42);
    const word = () => Array.from({ length: rng.int(0, 6) }, () => alphabet[rng.int(0, alphabet.length - 1)]!).join('');
    for (let i = 0; i < 20_000; i++) {
      const a = word();
      const b = rng.int(0, 3) === 0 ? a + word() : word();
      const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(comparePaths(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(expected);
      expect(comparePaths(b, a)).toBe(expected === 0 ? 0 : -expected);
    }
  });
});

describe('directoriesOf', () => {
  it('lists every directory holding a path once, each after its parent', () => {
    const dirs = [...directoriesOf(['PACKAGES', 'a/b/c.txt', 'a/b/d.txt', 'a/e.txt', 'src/contrib/Archive/x/x_1.0.tar.gz', 'a/f/g/h.txt'])];
    expect(dirs.sort()).toEqual(['a', 'a/b', 'a/f', 'a/f/g', 'src', 'src/contrib', 'src/contrib/Archive', 'src/contrib/Archive/x']);
    const inOrder = [...directoriesOf(['z/y/x/w.txt', 'a/b.txt', 'z/y/v.txt', 'z/u/t.txt'])];
    expect(inOrder).toEqual(['z', 'z/y', 'z/y/x', 'a', 'z/u']);
  });

  it('gives nothing for top-level files, and finds a directory whatever order the paths come in', () => {
    expect(directoriesOf(['PACKAGES', 'README']).size).toBe(0);
    const shuffled = directoriesOf(['b/c/d', 'a/x', 'b/c/e', 'a/x/y/z', 'b/f']);
    expect([...shuffled].sort()).toEqual(['a', 'a/x', 'a/x/y', 'b', 'b/c']);
  });
});
