import { AirlockError } from '../errors.js';
import { compareVersions } from './rDependencies.js';
import type { Tree } from './manifest.js';
import type { ObjectId } from './objectId.js';
import { CRAN_CONTRIB } from './layout/rspmLayout.js';
import { r, type RValue } from './rds.js';

/**
 * CRAN's archive, rebuilt from the snapshots a data dir keeps: every source archive any of
 * them held, other than the versions current in the snapshot asked about, laid out as CRAN
 * lays it out (`src/contrib/Archive/<pkg>/<pkg>_<ver>.tar.gz`) and described by
 * `src/contrib/Meta/archive.rds`, which `remotes::install_version()` and renv read. Pure:
 * the trees come from the caller.
 */
export interface SourceArchive {
  pkg: string;
  version: string;
  /** `<pkg>_<version>.tar.gz`. */
  file: string;
  id: ObjectId;
  size: number;
}

export interface ArchivedVersion extends SourceArchive {
  /** When a kept snapshot first held it (ISO 8601): archive.rds's times. */
  since: string;
}

/** Package names and versions as R's `.standard_regexps()` has them. */
const PACKAGE = '[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]';
const VERSION = '[0-9]+(?:[-.][0-9]+)+';
const TOP = new RegExp(`^${CRAN_CONTRIB}/(${PACKAGE})_(${VERSION})\\.tar\\.gz$`);
const ARCHIVED = new RegExp(`^${CRAN_CONTRIB}/Archive/(${PACKAGE})/(${PACKAGE})_(${VERSION})\\.tar\\.gz$`);

/** The source archives of a tree: those its CRAN index directory holds, and any in its own Archive/. */
export function sourceArchivesOf(tree: Tree): { current: SourceArchive[]; archived: SourceArchive[] } {
  const current: SourceArchive[] = [];
  const archived: SourceArchive[] = [];
  for (const e of tree.entries) {
    if (!e.path.startsWith(`${CRAN_CONTRIB}/`)) continue;
    const top = TOP.exec(e.path);
    if (top) {
      current.push({ pkg: top[1]!, version: top[2]!, file: `${top[1]}_${top[2]}.tar.gz`, id: e.id, size: e.size });
      continue;
    }
    const old = ARCHIVED.exec(e.path);
    if (old && old[1] === old[2]) archived.push({ pkg: old[1]!, version: old[3]!, file: `${old[1]}_${old[3]}.tar.gz`, id: e.id, size: e.size });
  }
  return { current, archived };
}

/** What one snapshot holds of CRAN's sources (sourceArchivesOf), and when it was recorded. */
export interface SnapshotSources {
  createdAt: string;
  sources: { current: SourceArchive[]; archived: SourceArchive[] };
}

/**
 * The archive as of the last of `history` (oldest first, the snapshot asked about last):
 * per package, its versions sorted as R sorts them, each with the object that holds it.
 */
export function buildCranArchive(history: SnapshotSources[]): Map<string, ArchivedVersion[]> {
  const seen = new Map<string, ArchivedVersion>();
  for (const { createdAt, sources } of history) {
    for (const a of [...sources.current, ...sources.archived]) {
      const key = `${a.pkg}/${a.file}`;
      if (!seen.has(key)) seen.set(key, { ...a, since: createdAt });
    }
  }
  const currentNow = new Set((history.at(-1)?.sources.current ?? []).map((a) => `${a.pkg}/${a.file}`));
  const byPackage = new Map<string, ArchivedVersion[]>();
  for (const [key, version] of seen) {
    if (currentNow.has(key)) continue;
    const list = byPackage.get(version.pkg) ?? [];
    list.push(version);
    byPackage.set(version.pkg, list);
  }
  for (const list of byPackage.values()) list.sort((a, b) => compareVersions(a.version, b.version));
  return new Map([...byPackage.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}


/**
 * `Meta/archive.rds` as CRAN's is shaped: a named list with one data frame per package, the
 * columns of R's `file.info()` (size, isdir, mode, mtime, ctime, atime, uid, gid, uname,
 * grname) and row names `<pkg>/<pkg>_<ver>.tar.gz`. Times are when a kept snapshot first held
 * the version; the files belong to root, mode 0644.
 */
export function archiveRdsValue(archive: Map<string, ArchivedVersion[]>): RValue {
  const posixct = (isoTimes: string[]) => r.double(isoTimes.map((t) => Date.parse(t) / 1000), [['class', r.character(['POSIXct', 'POSIXt'])]]);
  return r.list(
    [...archive.entries()].map(([pkg, versions]) => {
      const times = versions.map((v) => v.since);
      const n = versions.length;
      return [
        pkg,
        r.dataFrame(
          [
            ['size', r.double(versions.map((v) => v.size))],
            ['isdir', r.logical(versions.map(() => false))],
            ['mode', r.integer(versions.map(() => 0o644), [['class', r.character(['octmode'])]])],
            ['mtime', posixct(times)],
            ['ctime', posixct(times)],
            ['atime', posixct(times)],
            ['uid', r.integer(Array<number>(n).fill(0))],
            ['gid', r.integer(Array<number>(n).fill(0))],
            ['uname', r.character(Array<string>(n).fill('root'))],
            ['grname', r.character(Array<string>(n).fill('root'))],
          ],
          versions.map((v) => `${pkg}/${v.file}`),
        ),
      ];
    }),
  );
}

/** One archived version as the upstream's `Meta/archive.rds` lists it. */
export interface ListedArchive {
  pkg: string;
  version: string;
  /** Under src/contrib: `Archive/<pkg>/<pkg>_<ver>.tar.gz`. */
  path: string;
  size: number;
}

const LISTED = new RegExp(`^(${PACKAGE})/(${PACKAGE})_(${VERSION})\\.tar\\.gz$`);

function attribute(value: RValue, name: string): RValue | undefined {
  return value.attributes?.find(([n]) => n === name)?.[1];
}

/**
 * The archived versions an upstream's `Meta/archive.rds` lists (a named list of data frames,
 * row names `<pkg>/<pkg>_<ver>.tar.gz`, a `size` column). A row that is not a package
 * archive of its own package is refused: its path would come from the upstream.
 */
export function listedArchives(value: RValue): ListedArchive[] {
  const bad = (what: string) => new AirlockError('UPSTREAM_INDEX_INVALID', `Meta/archive.rds ${what}`, { hint: 'the upstream archive listing is damaged; fetch again, or leave out --include-archive' });
  if (value.type !== 'list') throw bad('is not a list');
  const names = attribute(value, 'names');
  if (names?.type !== 'character' || names.values.length !== value.values.length) throw bad('is not a named list');
  const out: ListedArchive[] = [];
  value.values.forEach((frame, i) => {
    const pkg = names.values[i];
    const rows = attribute(frame, 'row.names');
    const columns = attribute(frame, 'names');
    if (frame.type !== 'list' || rows?.type !== 'character' || columns?.type !== 'character') throw bad(`has an entry for ${pkg} that is not a data frame with row names`);
    const size = frame.values[columns.values.indexOf('size')];
    if (size === undefined || (size.type !== 'double' && size.type !== 'integer') || size.values.length !== rows.values.length) throw bad(`has no size column for ${pkg}`);
    rows.values.forEach((row, j) => {
      const m = row === null ? null : LISTED.exec(row);
      const bytes = size.values[j];
      if (!m || m[1] !== pkg || m[2] !== pkg) throw bad(`lists '${row}' under ${pkg}, which is not an archive of that package`);
      if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) throw bad(`gives ${row} a size that is not a whole number of bytes`);
      out.push({ pkg: m[1]!, version: m[3]!, path: `Archive/${row}`, size: bytes });
    });
  });
  return out;
}

/** The same list cut down to some packages (with --file-in), every kept data frame as it was. */
export function subsetArchiveRds(value: RValue, keep: (pkg: string) => boolean): RValue {
  const names = attribute(value, 'names');
  if (value.type !== 'list' || names?.type !== 'character') return value;
  const kept = value.values.map((v, i) => [names.values[i], v] as const).filter(([name]) => name !== null && keep(name));
  return {
    type: 'list',
    values: kept.map(([, v]) => v),
    attributes: (value.attributes ?? []).map(([n, v]): [string, RValue] => (n === 'names' ? [n, { type: 'character', values: kept.map(([name]) => name) }] : [n, v])),
  };
}
