import { gunzipSync, gzipSync } from 'node:zlib';
import { AirlockError, isAirlockError } from '../errors.js';
import { parseDcf, type DcfRecord } from '../core/dcf.js';
import { archivesInIndex, MAX_INDEX_BYTES, subsetIndex, type IndexedArchive } from '../core/packagesIndex.js';
import { archiveUrl } from '../upstream/sources.js';
import { BodyRejected, type HttpClient } from '../upstream/http.js';
import type { LayoutFile } from '../core/layout/rspmLayout.js';
import type { FetchItem } from './fetchItem.js';

/**
 * A CRAN-like `src/contrib` read from upstream: its PACKAGES index (both forms, so R
 * finds whichever it looks for first) and the archives it lists. PACKAGES.gz is
 * preferred, as R prefers it; a source without it is read through plain PACKAGES.
 */
export interface ContribIndex {
  /** Where the directory goes in the layout, e.g. `v3/src/contrib`. */
  layoutDir: string;
  contribUrl: string;
  userAgent: string;
  packages: Buffer;
  packagesGz: Buffer;
  archives: IndexedArchive[];
  /** The parsed records, in file order, for selecting a subset. */
  records: DcfRecord[];
  /** The archives' extension: .tar.gz, or .zip and .tgz for Windows and macOS binaries. */
  extension: string;
}


export async function fetchContribIndex(http: HttpClient, contribUrl: string, layoutDir: string, userAgent: string, extension = '.tar.gz'): Promise<ContribIndex> {
  const { packages, packagesGz } = await fetchPackagesFile(http, contribUrl, userAgent);
  const where = `${contribUrl}/PACKAGES`;
  // latin1 never fails to decode; every field airlock reads (names, versions, checksums, paths) is ASCII.
  const records = parseDcf(packages.toString('latin1'), where);
  const archives = archivesInIndex(records, where, extension);
  return { layoutDir, contribUrl, userAgent, packages, packagesGz, archives, records, extension };
}

/** The index cut down to the packages `keep` accepts, records verbatim, PACKAGES.gz made from it. */
export function restrictContribIndex(index: ContribIndex, keep: (name: string) => boolean): ContribIndex {
  const where = `${index.contribUrl}/PACKAGES`;
  const text = subsetIndex(index.packages.toString('latin1'), index.records, (record) => keep(record.get('Package') ?? ''));
  const packages = Buffer.from(text, 'latin1');
  const records = parseDcf(text, where);
  return { ...index, packages, packagesGz: gzipSync(packages, { level: 9 }), archives: archivesInIndex(records, where, index.extension), records };
}

async function fetchPackagesFile(http: HttpClient, contribUrl: string, userAgent: string): Promise<{ packages: Buffer; packagesGz: Buffer }> {
  try {
    let packages: Buffer = Buffer.alloc(0);
    // Unpacked inside the fetch: a body damaged on the way is fetched again, like any archive.
    const packagesGz = await http.fetchSmall({ url: `${contribUrl}/PACKAGES.gz`, userAgent }, MAX_INDEX_BYTES, (body) => {
      packages = gunzipIndex(body, `${contribUrl}/PACKAGES.gz`);
    });
    return { packages, packagesGz };
  } catch (err) {
    if (!(isAirlockError(err) && err.code === 'UPSTREAM_NOT_FOUND')) throw err;
  }
  const packages = await http.fetchSmall({ url: `${contribUrl}/PACKAGES`, userAgent }, MAX_INDEX_BYTES);
  return { packages, packagesGz: gzipSync(packages, { level: 9 }) };
}

function gunzipIndex(data: Buffer, where: string): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: MAX_INDEX_BYTES });
  } catch (err) {
    // A bomb is refused at once (fetching it again would give the same bytes); damage is retried.
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AirlockError('UPSTREAM_INDEX_INVALID', `${where} unpacks to more than the ${MAX_INDEX_BYTES} bytes an index may have`, {
        where,
        hint: 'this is not a CRAN-like index; check that --base-url points at a CRAN-like repository',
      });
    }
    throw new BodyRejected(`${where} is not a valid gzip file (${(err as Error).message})`, 'checksum');
  }
}

export function indexFiles(index: ContribIndex): LayoutFile[] {
  return [
    { path: `${index.layoutDir}/PACKAGES`, data: index.packages },
    { path: `${index.layoutDir}/PACKAGES.gz`, data: index.packagesGz },
  ];
}

export function indexItems(index: ContribIndex): FetchItem[] {
  return index.archives.map((archive) => ({
    path: `${index.layoutDir}/${archive.path}`,
    url: archiveUrl(index.contribUrl, archive.path),
    userAgent: index.userAgent,
    expected: { md5: archive.md5, size: archive.size, gitBlob: null },
  }));
}

/**
 * An earlier version from the repository's `Archive/` (an renv.lock pin, --include-archive):
 * no checksum is published for it, so it is checked by its DESCRIPTION (and by `size` when the
 * archive listing gives one), and laid out at the same path below the index's directory.
 */
export function archivedItem(where: { layoutDir: string; contribUrl: string; userAgent: string }, name: string, version: string, size: number | null = null): FetchItem {
  const file = `Archive/${name}/${name}_${version}.tar.gz`;
  return { path: `${where.layoutDir}/${file}`, url: `${where.contribUrl}/${file}`, userAgent: where.userAgent, expected: { md5: null, size, gitBlob: null, rPackage: { name, version } } };
}
