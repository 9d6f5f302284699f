import { compareVersions } from '../../src/core/rDependencies.js';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  archiveRdsValue,
  buildCranArchive,
  sourceArchivesOf,
  type ArchivedVersion,
  type SnapshotSources,
  type SourceArchive,
} from '../../src/core/cranArchive.js';
import { FILE_MODE, type Tree } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import { serializeR } from '../../src/core/rds.js';
import { marked, rscript, rString } from '../helpers/r.js';

const idOf = (s: string) => hashBytes(Buffer.from(s));

/** A tree of the given paths; each file's content (and so its id) is its path, its size the path's length. */
function treeOf(...paths: string[]): Tree {
  const sorted = [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { entries: sorted.map((path) => ({ path, id: idOf(path), size: path.length, mode: FILE_MODE })) };
}

/** A source archive as sourceArchivesOf reports it for a top-level `v3/src/contrib/<pkg>_<version>.tar.gz`. */
function source(pkg: string, version: string, size = 100): SourceArchive {
  return { pkg, version, file: `${pkg}_${version}.tar.gz`, id: idOf(`${pkg} ${version}`), size };
}

describe('sourceArchivesOf', () => {
  it('reads top-level source archives as current and Archive/<pkg>/ entries as archived', () => {
    const tree = treeOf(
      'v3/src/contrib/R6_2.5.1.tar.gz',
      'v3/src/contrib/data.table_1.15.4.tar.gz',
      'v3/src/contrib/MASS_7.3-60.tar.gz',
      'v3/src/contrib/Archive/R6/R6_2.5.0.tar.gz',
      'v3/src/contrib/Archive/MASS/MASS_7.3-59.tar.gz',
    );
    const { current, archived } = sourceArchivesOf(tree);
    const byFile = (list: SourceArchive[]) => [...list].sort((a, b) => (a.file < b.file ? -1 : 1));
    expect(byFile(current)).toEqual([
      { pkg: 'MASS', version: '7.3-60', file: 'MASS_7.3-60.tar.gz', id: idOf('v3/src/contrib/MASS_7.3-60.tar.gz'), size: 'v3/src/contrib/MASS_7.3-60.tar.gz'.length },
      { pkg: 'R6', version: '2.5.1', file: 'R6_2.5.1.tar.gz', id: idOf('v3/src/contrib/R6_2.5.1.tar.gz'), size: 'v3/src/contrib/R6_2.5.1.tar.gz'.length },
      { pkg: 'data.table', version: '1.15.4', file: 'data.table_1.15.4.tar.gz', id: idOf('v3/src/contrib/data.table_1.15.4.tar.gz'), size: 'v3/src/contrib/data.table_1.15.4.tar.gz'.length },
    ]);
    expect(byFile(archived)).toEqual([
      { pkg: 'MASS', version: '7.3-59', file: 'MASS_7.3-59.tar.gz', id: idOf('v3/src/contrib/Archive/MASS/MASS_7.3-59.tar.gz'), size: 'v3/src/contrib/Archive/MASS/MASS_7.3-59.tar.gz'.length },
      { pkg: 'R6', version: '2.5.0', file: 'R6_2.5.0.tar.gz', id: idOf('v3/src/contrib/Archive/R6/R6_2.5.0.tar.gz'), size: 'v3/src/contrib/Archive/R6/R6_2.5.0.tar.gz'.length },
    ]);
  });

  it('ignores indexes, Meta/, binaries, Bioconductor, other schemas and names that are not <pkg>_<version>.tar.gz', () => {
    const tree = treeOf(
      'v3/src/contrib/PACKAGES',
      'v3/src/contrib/PACKAGES.gz',
      'v3/src/contrib/Meta/archive.rds',
      'v3/src/contrib/R6_2.5.1.tar.gz.part',
      'v3/src/contrib/R6_2.5.1.zip',
      'v3/src/contrib/R6_2.tar.gz', // a version needs two components
      'v3/src/contrib/R6_2.5.1a.tar.gz',
      'v3/src/contrib/6R_1.0.tar.gz', // a name starts with a letter
      'v3/src/contrib/R._1.0.tar.gz', // and does not end with a dot
      'v3/src/contrib/x_1.0.tar.gz', // and has two characters at least
      'v3/src/contrib/sub/R6_2.5.1.tar.gz',
      'v3/src/contrib/Archive/R6_2.5.0.tar.gz',
      'v3/src/contrib/Archive/R6/old/R6_2.5.0.tar.gz',
      'bin/4.4-jammy/src/contrib/R6_2.5.1.tar.gz',
      'bioc/v3/3.20/bioc/src/contrib/limma_3.62.1.tar.gz',
      'v2/src/contrib/R6_2.5.1.tar.gz',
      'src/contrib/R6_2.5.1.tar.gz',
    );
    expect(sourceArchivesOf(tree)).toEqual({ current: [], archived: [] });
  });

  it('ignores Archive/<a>/<b>_<version>.tar.gz when <b> is not <a>', () => {
    const tree = treeOf('v3/src/contrib/Archive/R6/cli_3.6.2.tar.gz', 'v3/src/contrib/Archive/R6/R6x_1.0.tar.gz', 'v3/src/contrib/Archive/R6/R6_2.4.0.tar.gz');
    const { current, archived } = sourceArchivesOf(tree);
    expect(current).toEqual([]);
    expect(archived.map((a) => a.file)).toEqual(['R6_2.4.0.tar.gz']);
  });

  it('an empty tree has no sources', () => {
    expect(sourceArchivesOf({ entries: [] })).toEqual({ current: [], archived: [] });
  });
});

describe('compareVersions', () => {
  const sign = (n: number) => Math.sign(n) + 0;

  it('compares numerically, component by component: 1.10 > 1.9, 1.0-10 > 1.0-9, 10.0 > 9.9', () => {
    expect(compareVersions('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareVersions('1.9', '1.10')).toBeLessThan(0);
    expect(compareVersions('1.0-10', '1.0-9')).toBeGreaterThan(0);
    expect(compareVersions('10.0', '9.9')).toBeGreaterThan(0);
    expect(compareVersions('2.0', '1.99.99')).toBeGreaterThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });

  it("treats '-' and '.' alike and ignores leading zeros, as R does: 1.0-1 == 1.0.1, 1.01 == 1.1", () => {
    expect(compareVersions('1.0-1', '1.0.1')).toBe(0);
    expect(compareVersions('7.3-60', '7.3.60')).toBe(0);
    expect(compareVersions('1.01', '1.1')).toBe(0);
  });

  it('a version with more components is later when they are not all zero: 1.0 < 1.0.1, 1.0-1 < 1.0.1.1', () => {
    expect(compareVersions('1.0', '1.0.1')).toBeLessThan(0);
    expect(compareVersions('1.0.1', '1.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0-1', '1.0.1.1')).toBeLessThan(0);
    expect(compareVersions('1.1', '1.0.9')).toBeGreaterThan(0);
  });

  it('sorts as R package_version sorts, never ordering two versions against R (checked with real R)', async () => {
    const versions = ['1.0', '1.0.0', '1.0-1', '1.0.1', '1.9', '1.10', '1.01', '1.1', '2.0', '0.99-9', '10.0', '1.0.0.1', '1.0-0', '7.3-60', '7.3-6', '7.3-59', '0.1'];
    const out = await rscript(
      [
        `v <- package_version(c(${versions.map(rString).join(', ')}))`,
        'for (i in seq_along(v)) for (j in seq_along(v)) cat("CMP", i, j, if (v[[i]] < v[[j]]) -1L else if (v[[i]] > v[[j]]) 1L else 0L, "\\n")',
      ].join('\n'),
    );
    const rows = marked(out, 'CMP').map((l) => l.trim().split(' ').map(Number));
    expect(rows).toHaveLength(versions.length ** 2);
    for (const [i, j, fromR] of rows) {
      const a = versions[i! - 1]!;
      const b = versions[j! - 1]!;
      const ours = sign(compareVersions(a, b));
      // A consistent order: swapping the two flips the sign.
      expect(sign(compareVersions(b, a)), `${b} vs ${a}`).toBe(sign(-ours));
      // Exactly R's order, ties included (R pads missing components with 0: 1.0 == 1.0.0).
      expect(ours, `${a} vs ${b}`).toBe(fromR);
    }
  });
});

describe('buildCranArchive', () => {
  const s1: SnapshotSources = {
    createdAt: '2026-11-01T00:00:00.000Z',
    sources: { current: [source('zoo', '1.0'), source('abc', '1.0'), source('mypkg', '1.10'), source('data.table', '1.14.8')], archived: [] },
  };
  const s2: SnapshotSources = {
    createdAt: '2026-11-15T12:30:45.250Z',
    // mypkg went back to 1.9 (so the first-seen order is 1.10, then 1.9); abc's tree carries 0.9 in its own Archive/.
    sources: { current: [source('zoo', '1.0'), source('abc', '1.1'), source('mypkg', '1.9'), source('data.table', '1.14.8')], archived: [source('abc', '0.9')] },
  };
  const s3: SnapshotSources = {
    createdAt: '2026-12-01T08:00:00.000Z',
    sources: { current: [source('zoo', '1.1'), source('abc', '1.2'), source('mypkg', '2.0'), source('data.table', '1.14.8')], archived: [] },
  };
  const summary = (archive: Map<string, ArchivedVersion[]>) => [...archive].map(([pkg, vs]) => [pkg, vs.map((v) => `${v.version} ${v.since}`)]);

  it('holds every version any snapshot held, except those current in the last, each with the time a snapshot first held it', () => {
    const archive = buildCranArchive([s1, s2, s3]);
    expect(summary(archive)).toEqual([
      ['abc', ['0.9 2026-11-15T12:30:45.250Z', '1.0 2026-11-01T00:00:00.000Z', '1.1 2026-11-15T12:30:45.250Z']],
      ['mypkg', ['1.9 2026-11-15T12:30:45.250Z', '1.10 2026-11-01T00:00:00.000Z']],
      ['zoo', ['1.0 2026-11-01T00:00:00.000Z']],
    ]);
    // data.table 1.14.8 is current in every snapshot, so it has no archive at all.
    expect(archive.has('data.table')).toBe(false);
  });

  it('keeps the object, size and file name of each version', () => {
    const zoo = buildCranArchive([s1, s2, s3]).get('zoo')!;
    expect(zoo).toEqual([{ ...source('zoo', '1.0'), since: '2026-11-01T00:00:00.000Z' }]);
  });

  it('keeps the first-seen time and object when a later snapshot holds the same file again', () => {
    const again = { ...source('zoo', '1.0'), id: idOf('another body'), size: 7 };
    const later: SnapshotSources = { createdAt: '2026-12-24T00:00:00.000Z', sources: { current: [source('zoo', '2.0')], archived: [again] } };
    const zoo = buildCranArchive([s1, later]).get('zoo')!;
    expect(zoo).toEqual([{ ...source('zoo', '1.0'), since: '2026-11-01T00:00:00.000Z' }]);
  });

  it('sorts versions as R does (1.9 before 1.10, 0.9 before 1.0), not by first sight or by string', () => {
    const archive = buildCranArchive([s1, s2, s3]);
    expect(archive.get('mypkg')!.map((v) => v.version)).toEqual(['1.9', '1.10']);
    expect(archive.get('abc')!.map((v) => v.version)).toEqual(['0.9', '1.0', '1.1']);
  });

  it('sorts packages by name', () => {
    const history: SnapshotSources[] = [
      { createdAt: '2026-11-01T00:00:00.000Z', sources: { current: ['zoo', 'mypkg', 'abc', 'data.table', 'cli'].map((p) => source(p, '1.0')), archived: [] } },
      { createdAt: '2026-11-02T00:00:00.000Z', sources: { current: [], archived: [] } },
    ];
    expect([...buildCranArchive(history).keys()]).toEqual(['abc', 'cli', 'data.table', 'mypkg', 'zoo']);
  });

  it('as of an earlier snapshot: only the history up to it counts, and its own current versions are left out', () => {
    expect(summary(buildCranArchive([s1, s2]))).toEqual([
      ['abc', ['0.9 2026-11-15T12:30:45.250Z', '1.0 2026-11-01T00:00:00.000Z']],
      ['mypkg', ['1.10 2026-11-01T00:00:00.000Z']],
    ]);
  });

  it("leaves out a version current in the last snapshot even if it is also in that tree's own Archive/", () => {
    const last: SnapshotSources = { createdAt: '2026-12-01T00:00:00.000Z', sources: { current: [source('abc', '1.0')], archived: [source('abc', '1.0'), source('abc', '0.5')] } };
    expect(summary(buildCranArchive([last]))).toEqual([['abc', ['0.5 2026-12-01T00:00:00.000Z']]]);
  });

  it('a version current earlier, then removed, then current again in the last snapshot is not archived', () => {
    const gone: SnapshotSources = { createdAt: '2026-11-10T00:00:00.000Z', sources: { current: [], archived: [] } };
    const back: SnapshotSources = { createdAt: '2026-11-20T00:00:00.000Z', sources: { current: [source('abc', '1.0')], archived: [] } };
    expect(buildCranArchive([{ createdAt: '2026-11-01T00:00:00.000Z', sources: { current: [source('abc', '1.0')], archived: [] } }, gone, back]).size).toBe(0);
  });

  it('no history, no archive', () => {
    expect(buildCranArchive([]).size).toBe(0);
  });
});

describe('archiveRdsValue, read by real R', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-archive-rds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let written = 0;

  async function readWithR(archive: Map<string, ArchivedVersion[]>, lines: string[]): Promise<string> {
    const file = join(dir, `archive-${++written}.rds`);
    writeFileSync(file, gzipSync(serializeR(archiveRdsValue(archive))));
    return rscript([`a <- readRDS(${rString(file)})`, ...lines].join('\n'));
  }

  const archive = buildCranArchive([
    { createdAt: '2026-11-01T00:00:00.000Z', sources: { current: [source('zoo', '1.0', 1234), source('abc', '1.0', 100)], archived: [] } },
    { createdAt: '2026-11-15T12:30:45.250Z', sources: { current: [source('abc', '1.1', 200)], archived: [source('abc', '0.9', 50)] } },
    { createdAt: '2026-12-01T08:00:00.000Z', sources: { current: [source('abc', '1.2', 300), source('zoo', '1.1', 1300)], archived: [] } },
  ]);

  it('is a named list of data frames identical to the one built in R, as CRAN shapes it', async () => {
    const t1 = 'as.numeric(as.POSIXct("2026-11-01 00:00:00", tz = "UTC"))';
    const t2 = 'as.numeric(as.POSIXct("2026-11-15 12:30:45", tz = "UTC")) + 0.25';
    const frame = (sizes: string, times: string, rows: string, n: number) =>
      `structure(list(size = ${sizes}, isdir = rep(FALSE, ${n}), mode = as.octmode(rep(420L, ${n})), mtime = .POSIXct(${times}), ctime = .POSIXct(${times}), atime = .POSIXct(${times}), uid = rep(0L, ${n}), gid = rep(0L, ${n}), uname = rep("root", ${n}), grname = rep("root", ${n})), class = "data.frame", row.names = ${rows})`;
    const out = await readWithR(archive, [
      `t1 <- ${t1}; t2 <- ${t2}`,
      `y <- list(abc = ${frame('c(50, 100, 200)', 'c(t2, t1, t2)', 'c("abc/abc_0.9.tar.gz", "abc/abc_1.0.tar.gz", "abc/abc_1.1.tar.gz")', 3)}, zoo = ${frame('1234', 't1', '"zoo/zoo_1.0.tar.gz"', 1)})`,
      'cat("IDENTICAL", identical(a, y), "\\n")',
      'cat("NAMES", names(a), "\\n")',
      'cat("CLASS", class(a), class(a$abc), "\\n")',
      'cat("COLUMNS", names(a$abc), "\\n")',
      'cat("ROWS", rownames(a$abc), "\\n")',
      'cat("TYPES", vapply(a$abc, function(c) paste(typeof(c), paste(class(c), collapse = "/"), sep = ":"), ""), "\\n")',
      'cat("MODE", format(a$abc$mode), "\\n")',
      'cat("MTIME", format(a$abc$mtime, tz = "UTC", "%Y-%m-%dT%H:%M:%OS3"), "\\n")',
      'str(a); str(y)',
    ]);
    expect(marked(out, 'IDENTICAL')[0]?.trim(), out).toBe('TRUE');
    expect(marked(out, 'NAMES')[0]?.trim()).toBe('abc zoo');
    expect(marked(out, 'CLASS')[0]?.trim()).toBe('list data.frame');
    expect(marked(out, 'COLUMNS')[0]?.trim()).toBe('size isdir mode mtime ctime atime uid gid uname grname');
    expect(marked(out, 'ROWS')[0]?.trim()).toBe('abc/abc_0.9.tar.gz abc/abc_1.0.tar.gz abc/abc_1.1.tar.gz');
    expect(marked(out, 'TYPES')[0]?.trim()).toBe(
      'double:numeric logical:logical integer:octmode double:POSIXct/POSIXt double:POSIXct/POSIXt double:POSIXct/POSIXt integer:integer integer:integer character:character character:character',
    );
    expect(marked(out, 'MODE')[0]?.trim()).toBe('644 644 644');
    expect(marked(out, 'MTIME')[0]?.trim()).toBe('2026-11-15T12:30:45.250 2026-11-01T00:00:00.000 2026-11-15T12:30:45.250');
  });

  it("has the columns of R's own file.info(), with the same types and classes", async () => {
    const out = await readWithR(archive, [
      'f <- tempfile(); writeLines("x", f)',
      'shape <- function(d) vapply(d, function(c) paste(typeof(c), paste(class(c), collapse = "/")), "")',
      'fi <- file.info(f)',
      'cat("SAME", identical(shape(fi), shape(a$zoo)), "\\n")',
      'print(shape(fi)); print(shape(a$zoo))',
    ]);
    expect(marked(out, 'SAME')[0]?.trim(), out).toBe('TRUE');
  });

  it('an empty archive is an empty named list', async () => {
    const out = await readWithR(new Map(), ['cat("EMPTY", identical(a, setNames(list(), character(0))), "\\n")']);
    expect(marked(out, 'EMPTY')[0]?.trim(), out).toBe('TRUE');
  });
});
