import { describe, expect, it, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { listedArchives, subsetArchiveRds } from '../../src/core/cranArchive.js';
import { deserializeR, r, RdsFormatError, serializeR, type RValue } from '../../src/core/rds.js';
import { marked, rscript, rString } from '../helpers/r.js';

/**
 * serializeR is checked against the real R: every value is written to a file, read back with
 * readRDS, and compared with identical() to the same value built in R. The byte layout is
 * also compared with what R's own saveRDS(version = 2, compress = FALSE) writes.
 */
const dir = mkdtempSync(join(tmpdir(), 'airlock-rds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function writeRds(value: RValue, compress: boolean): string {
  const file = join(dir, `value-${++counter}.rds`);
  const bytes = serializeR(value);
  writeFileSync(file, compress ? gzipSync(bytes) : bytes);
  return file;
}

/**
 * Reads `value` with R's readRDS and returns what R says: IDENTICAL (against `expected`, an R
 * expression), plus any `checks` (R expressions printed one per line as CHECK <i> <result>).
 */
async function readBackWithR(value: RValue, expected: string, options: { compress?: boolean; checks?: string[] } = {}): Promise<{ identical: string; checks: string[]; out: string }> {
  const file = writeRds(value, options.compress ?? true);
  const out = await rscript(
    [
      `x <- readRDS(${rString(file)})`,
      `y <- ${expected}`,
      'cat("IDENTICAL", identical(x, y), "\\n")',
      ...(options.checks ?? []).map((c, i) => `cat("CHECK ${i}", paste(${c}, collapse = ","), "\\n")`),
      'cat("STR\\n"); str(x); str(y)',
    ].join('\n'),
  );
  return { identical: marked(out, 'IDENTICAL')[0]?.trim() ?? '(nothing)', checks: marked(out, 'CHECK').map((l) => l.replace(/^\d+ /, '').trim()), out };
}

describe('serializeR, read back by R readRDS', () => {
  it('a character vector with NA, an empty string, and UTF-8 strings (né, 日本, an emoji) keeps values and the UTF-8 mark', async () => {
    const value = r.character(['a', null, '', 'né', '日本', '\u{1F600}']);
    const res = await readBackWithR(value, 'c("a", NA_character_, "", "n\\u00e9", "\\u65e5\\u672c", "\\U0001F600")', {
      checks: ['Encoding(x)', 'is.na(x)', 'paste(as.character(charToRaw(x[4])), collapse = "")', 'nchar(x[5])'],
    });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['unknown,unknown,unknown,UTF-8,UTF-8,UTF-8', 'FALSE,TRUE,FALSE,FALSE,FALSE,FALSE', '6ec3a9', '2']);
  });

  it('an integer vector with NA and the int32 extremes R allows', async () => {
    const res = await readBackWithR(r.integer([1, null, -3, 0, 2147483647, -2147483647]), 'c(1L, NA, -3L, 0L, 2147483647L, -2147483647L)', {
      checks: ['typeof(x)', 'is.na(x)'],
    });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['integer', 'FALSE,TRUE,FALSE,FALSE,FALSE,FALSE']);
  });

  it('a double vector: negative, fractional, tiny, huge, infinite, negative zero, NaN (R NaN, not NA)', async () => {
    const value = r.double([0, -1.5, 0.1, 1 / 3, -123456789.125, 1e300, 5e-324, Infinity, -Infinity, -0, NaN]);
    const res = await readBackWithR(value, 'c(0, -1.5, 0.1, 1/3, -123456789.125, 1e300, 5e-324, Inf, -Inf, -0, NaN)', {
      checks: ['typeof(x)', 'sprintf("%.17g", x[c(3, 4)])', '1 / x[10]', 'c(is.nan(x[11]), is.na(x[11]) && !is.nan(x[11]))'],
    });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['double', '0.10000000000000001,0.33333333333333331', '-Inf', 'TRUE,FALSE']);
  });

  it('a logical vector with NA', async () => {
    const res = await readBackWithR(r.logical([true, null, false]), 'c(TRUE, NA, FALSE)', { checks: ['typeof(x)'] });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['logical']);
  });

  it('nested named lists, an unnamed empty list and a named empty list', async () => {
    const value = r.list([
      ['a', r.integer([1])],
      ['b', r.list([['c', r.character(['x'])], ['d', { type: 'list', values: [] }], ['e', r.list([])]])],
      ['f', r.logical([true, null])],
    ]);
    const res = await readBackWithR(value, 'list(a = 1L, b = list(c = "x", d = list(), e = setNames(list(), character(0))), f = c(TRUE, NA))', {
      checks: ['names(x)', 'names(x$b)', 'is.null(names(x$b$d))', 'is.null(names(x$b$e))'],
    });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['a,b,f', 'c,d,e', 'TRUE', 'FALSE']);
  });

  it('a data.frame with character row names, read uncompressed as well as gzipped', async () => {
    const value = r.dataFrame(
      [
        ['name', r.character(['R6', 'née'])],
        ['n', r.integer([1, null])],
        ['x', r.double([-0.5, 2])],
        ['ok', r.logical([true, false])],
      ],
      ['first', 'second'],
    );
    const expected = 'data.frame(name = c("R6", "n\\u00e9e"), n = c(1L, NA), x = c(-0.5, 2), ok = c(TRUE, FALSE), row.names = c("first", "second"))';
    const checks = ['class(x)', 'rownames(x)', 'names(x)', 'is.character(attr(x, "row.names"))', 'dim(x)'];
    for (const compress of [true, false]) {
      const res = await readBackWithR(value, expected, { compress, checks });
      expect(res.identical, `compress=${compress}\n${res.out}`).toBe('TRUE');
      expect(res.checks).toEqual(['data.frame', 'first,second', 'name,n,x,ok', 'TRUE', '2,4']);
    }
  });

  it('objects with a class attribute: octmode, POSIXct, and a value with several attributes', async () => {
    const value = r.list([
      ['mode', r.integer([420], [['class', r.character(['octmode'])]])],
      ['time', r.double([1795400000.5], [['class', r.character(['POSIXct', 'POSIXt'])]])],
      ['other', r.integer([1, 2, 3], [['foo', r.character(['bar'])], ['class', r.character(['a', 'b'])]])],
      ['plain', r.integer([7], [['foo', r.character(['bar'])]])],
    ]);
    const res = await readBackWithR(value, 'list(mode = as.octmode(420L), time = .POSIXct(1795400000.5), other = structure(1:3, foo = "bar", class = c("a", "b")), plain = structure(7L, foo = "bar"))', {
      checks: ['is.object(x$mode)', 'format(x$mode)', 'inherits(x$time, "POSIXct")', 'format(x$time, tz = "UTC", digits = 1)', 'is.object(x$other)', 'is.object(x$plain)', 'is.object(x)'],
    });
    expect(res.identical, res.out).toBe('TRUE');
    expect(res.checks).toEqual(['TRUE', '644', 'TRUE', '2026-11-23 02:13:20.5', 'TRUE', 'FALSE', 'FALSE']);
  });

  it('sets the object bit only with a class attribute, and R notices a wrong bit (so identical() above checks it)', async () => {
    const octmode = serializeR(r.integer([420], [['class', r.character(['octmode'])]]));
    const plain = serializeR(r.integer([420], [['foo', r.character(['bar'])]]));
    const bare = serializeR(r.integer([420]));
    expect(octmode.readInt32BE(14)).toBe(13 | (1 << 8) | (1 << 9)); // INTSXP, object, attributes
    expect(plain.readInt32BE(14)).toBe(13 | (1 << 9));
    expect(bare.readInt32BE(14)).toBe(13);
    // The same bytes with the object bit cleared: R reads a value identical() tells apart.
    const wrong = Buffer.from(octmode);
    wrong.writeInt32BE(13 | (1 << 9), 14);
    const file = join(dir, `wrong-${++counter}.rds`);
    writeFileSync(file, gzipSync(wrong));
    const out = await rscript(`x <- readRDS(${rString(file)}); cat("IS", is.object(x), identical(x, as.octmode(420L)), "\\n")`);
    expect(marked(out, 'IS')[0]?.trim()).toBe('FALSE FALSE');
  });
});

/** R's own bytes for `expr` (saveRDS, version 2, uncompressed) and the version R writes in the header. */
async function bytesFromR(expr: string): Promise<{ bytes: Buffer; major: number; minor: number; patch: number }> {
  const file = join(dir, `from-r-${++counter}.rds`);
  const out = await rscript(
    [`saveRDS(${expr}, ${rString(file)}, compress = FALSE, version = 2)`, 'v <- as.integer(strsplit(paste(R.version$major, R.version$minor, sep = "."), ".", fixed = TRUE)[[1]])', 'cat("VERSION", v, "\\n")'].join('\n'),
  );
  const [major, minor, patch] = marked(out, 'VERSION')[0]!.trim().split(' ').map(Number);
  return { bytes: readFileSync(file), major: major!, minor: minor!, patch: patch! };
}

/** An R pairlist tag written out in full: LISTSXP flags are the caller's; this is SYMSXP + CHARSXP (ASCII). */
function symbolBytes(name: string): Buffer {
  const b = Buffer.alloc(12);
  b.writeInt32BE(1, 0); // SYMSXP
  b.writeInt32BE(9 | (64 << 12), 4); // CHARSXP, ASCII
  b.writeInt32BE(name.length, 8);
  return Buffer.concat([b, Buffer.from(name, 'latin1')]);
}

describe('serializeR writes the bytes R writes', () => {
  it('the 14-byte header: "X\\n", format 2, writer version 4.2.0, oldest reader 2.3.0; R writes the same fields with its own version', async () => {
    const ours = serializeR(r.integer([1]));
    expect(ours.subarray(0, 2).toString('latin1')).toBe('X\n');
    expect(ours.readInt32BE(2)).toBe(2);
    expect(ours.readInt32BE(6)).toBe(0x00040200);
    expect(ours.readInt32BE(10)).toBe(0x00020300);
    const theirs = await bytesFromR('1L');
    expect(theirs.bytes.subarray(0, 2).toString('latin1')).toBe('X\n');
    expect(theirs.bytes.readInt32BE(2)).toBe(2);
    expect(theirs.bytes.readInt32BE(6)).toBe((theirs.major << 16) | (theirs.minor << 8) | theirs.patch);
    expect(theirs.bytes.readInt32BE(10)).toBe(0x00020300);
    // A reader checks the version it needs, not the writer's: R reads 4.2.0 (our field) fine.
    expect(theirs.bytes.subarray(14)).toEqual(ours.subarray(14));
  });

  const cases: [string, RValue, string][] = [
    ['a character vector with NA, "" and UTF-8 (CHARSXP levels: ASCII 64, UTF-8 8, NA none)', r.character(['a', null, '', 'né']), 'c("a", NA, "", "n\\u00e9")'],
    ['an integer vector with NA', r.integer([1, null, -3]), 'c(1L, NA, -3L)'],
    ['a double vector', r.double([-1.5, 0.1, 1e300, -0]), 'c(-1.5, 0.1, 1e300, -0)'],
    ['a logical vector with NA', r.logical([true, null, false]), 'c(TRUE, NA, FALSE)'],
    ['a named list (one level, so every attribute name appears once)', r.list([['a', r.double([1])], ['b', r.character(['x'])]]), 'list(a = 1, b = "x")'],
    ['an object: octmode', r.integer([420], [['class', r.character(['octmode'])]]), 'as.octmode(420L)'],
    ['a POSIXct', r.double([1795400000], [['class', r.character(['POSIXct', 'POSIXt'])]]), '.POSIXct(1795400000)'],
    [
      'a data.frame with character row names (R orders names, class, row.names likewise)',
      r.dataFrame([['a', r.character(['x', 'y'])], ['n', r.integer([1, 2])]], ['r1', 'r2']),
      'data.frame(a = c("x", "y"), n = 1:2, row.names = c("r1", "r2"))',
    ],
  ];
  for (const [name, value, expr] of cases) {
    it(`${name}: identical after the header`, async () => {
      const theirs = await bytesFromR(expr);
      expect(serializeR(value).subarray(14).toString('hex')).toBe(theirs.bytes.subarray(14).toString('hex'));
    });
  }

  it('a repeated attribute name: R writes the symbol once and then a reference (REFSXP), serializeR writes it in full each time', async () => {
    // R's WriteItem keeps a table of symbols already written and writes later occurrences as
    // REFSXP (flags = index << 8 | 255); ReadItem adds every SYMSXP it reads to its table and
    // install()s it, so a repeated full symbol reads back as the same symbol: only the size differs.
    const value = r.list([['a', r.double([1])], ['b', r.list([['c', r.character(['x'])]])]]);
    const theirs = await bytesFromR('list(a = 1, b = list(c = "x"))');
    const ref = Buffer.from('000001ff', 'hex'); // reference 1: the first symbol written, `names`
    const at = theirs.bytes.indexOf(ref, 14);
    expect(at).toBeGreaterThan(14);
    expect(theirs.bytes.indexOf(ref, at + 1)).toBe(-1);
    const expanded = Buffer.concat([theirs.bytes.subarray(0, at), symbolBytes('names'), theirs.bytes.subarray(at + ref.length)]);
    expect(serializeR(value).subarray(14).toString('hex')).toBe(expanded.subarray(14).toString('hex'));
    const res = await readBackWithR(value, 'list(a = 1, b = list(c = "x"))');
    expect(res.identical, res.out).toBe('TRUE');
  });
});

describe('deserializeR reads what R writes', () => {
  it('an archive.rds shaped as CRAN writes it (saveRDS of file.info data frames, format 3, gzip), then listedArchives', async () => {
    const base = join(dir, 'cran-archive');
    const file = join(dir, 'archive-from-r.rds');
    await rscript(`
      base <- ${rString(base)}
      for (p in c("abc/abc_1.0.tar.gz", "abc/abc_1.1-2.tar.gz", "zed.pkg/zed.pkg_0.1.tar.gz")) {
        dir.create(file.path(base, dirname(p)), recursive = TRUE, showWarnings = FALSE)
        writeBin(as.raw(seq_len(nchar(p))), file.path(base, p))
      }
      info <- file.info(file.path(base, c("abc/abc_1.0.tar.gz", "abc/abc_1.1-2.tar.gz", "zed.pkg/zed.pkg_0.1.tar.gz")))
      rownames(info) <- c("abc/abc_1.0.tar.gz", "abc/abc_1.1-2.tar.gz", "zed.pkg/zed.pkg_0.1.tar.gz")
      archive <- split(info, c("abc", "abc", "zed.pkg"))
      saveRDS(archive, ${rString(file)})
    `);
    const value = deserializeR(gunzipSync(readFileSync(file)));
    expect(listedArchives(value)).toEqual([
      { pkg: 'abc', version: '1.0', path: 'Archive/abc/abc_1.0.tar.gz', size: 'abc/abc_1.0.tar.gz'.length },
      { pkg: 'abc', version: '1.1-2', path: 'Archive/abc/abc_1.1-2.tar.gz', size: 'abc/abc_1.1-2.tar.gz'.length },
      { pkg: 'zed.pkg', version: '0.1', path: 'Archive/zed.pkg/zed.pkg_0.1.tar.gz', size: 'zed.pkg/zed.pkg_0.1.tar.gz'.length },
    ]);
    // Cut down and written again by serializeR, R reads the same data frames.
    const cut = join(dir, 'archive-cut.rds');
    writeFileSync(cut, gzipSync(serializeR(subsetArchiveRds(value, (p) => p === 'zed.pkg'))));
    const out = await rscript(`a <- readRDS(${rString(cut)}); b <- readRDS(${rString(file)}); cat("SAME", identical(a, b["zed.pkg"]), names(a), "\\n")`);
    expect(marked(out, 'SAME')[0]!.trim()).toBe('TRUE zed.pkg');
  });

  it('reads back what serializeR writes', () => {
    const value = r.list([['x', r.dataFrame([['size', r.double([1, 2])], ['who', r.character(['a', null])]], ['p/p_1.0.tar.gz', 'p/p_2.0.tar.gz'])], ['y', r.logical([true, null])]]);
    expect(deserializeR(serializeR(value))).toEqual(value);
  });

  it('hostile: refuses truncation, lengths beyond the data, other formats and types, deep nesting, and rows naming other paths', () => {
    const good = serializeR(r.list([['p', r.dataFrame([['size', r.double([5])]], ['p/p_1.0.tar.gz'])]]));
    expect(() => deserializeR(good.subarray(0, good.length - 3))).toThrow(RdsFormatError);
    const huge = Buffer.from(good);
    huge.writeInt32BE(0x7fffffff, 18); // the top-level list's length
    expect(() => deserializeR(huge)).toThrow(/ends early/);
    expect(() => deserializeR(Buffer.from('A\n1\n'))).toThrow(/not R serialization in XDR/);
    const closure = Buffer.concat([good.subarray(0, 14), Buffer.from([0, 0, 0, 3])]);
    expect(() => deserializeR(closure)).toThrow(/R type 3/);
    let nested: RValue = r.integer([1]);
    for (let i = 0; i < 80; i++) nested = { type: 'list', values: [nested] };
    expect(() => deserializeR(serializeR(nested))).toThrow(/nested deeper/);
    const escape = r.list([['p', r.dataFrame([['size', r.double([5])]], ['p/../../etc/passwd_1.0.tar.gz'])]]);
    expect(() => listedArchives(deserializeR(serializeR(escape)))).toThrow(/not an archive of that package/);
    const other = r.list([['p', r.dataFrame([['size', r.double([5])]], ['q/q_1.0.tar.gz'])]]);
    expect(() => listedArchives(other)).toThrow(/not an archive of that package/);
  });
});
