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
