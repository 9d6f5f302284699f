import { describe, it, expect } from 'vitest';
import { comparePaths, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, parentDirectories, pathProblem } from '../../src/core/paths.js';

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
});

describe('parentDirectories', () => {
  it('lists every ancestor directory, outermost first', () => {
    expect(parentDirectories('a/b/c.txt')).toEqual(['a', 'a/b']);
    expect(parentDirectories('src/contrib/Archive/x/x_1.0.tar.gz')).toEqual(['src', 'src/contrib', 'src/contrib/Archive', 'src/contrib/Archive/x']);
  });

  it('gives nothing for a top-level file', () => {
    expect(parentDirectories('PACKAGES')).toEqual([]);
  });
});
