import { gunzipSync, gzipSync } from 'node:zlib';
import { AirlockError, isAirlockError } from '../errors.js';
import { listedArchives, subsetArchiveRds, type ListedArchive } from '../core/cranArchive.js';
import { CRAN_CONTRIB, type LayoutFile } from '../core/layout/rspmLayout.js';
import { MAX_INDEX_BYTES } from '../core/packagesIndex.js';
import { deserializeR, RdsFormatError, serializeR } from '../core/rds.js';
import type { HttpClient } from '../upstream/http.js';
import type { FetchItem } from './fetchItem.js';
import { archivedItem } from './contribIndex.js';

/**
 * `get cran --include-archive`: every earlier version the upstream's `src/contrib/Meta/archive.rds`
 * lists, laid out as CRAN lays it out, with that listing beside it for remotes and renv. The
 * upstream publishes no checksum for them: each is checked against the size the listing gives and
 * by its DESCRIPTION (a gzip tar naming that package and version), as it streams.
 */
export async function cranArchivePart(http: HttpClient, contribUrl: string, userAgent: string, keep: ((pkg: string) => boolean) | null): Promise<{ file: LayoutFile; items: FetchItem[] }> {
  const url = `${contribUrl}/Meta/archive.rds`;
  let gz: Buffer;
  try {
    gz = await http.fetchSmall({ url, userAgent }, MAX_INDEX_BYTES);
  } catch (err) {
    if (isAirlockError(err) && err.code === 'UPSTREAM_NOT_FOUND') {
      throw new AirlockError('UPSTREAM_NOT_FOUND', `${url} does not exist: this upstream publishes no list of archived versions`, {
        where: url,
        hint: 'use a CRAN mirror for --include-archive (it publishes src/contrib/Meta/archive.rds), or leave the flag out',
      });
    }
    throw err;
  }
  const invalid = (why: string) => new AirlockError('UPSTREAM_INDEX_INVALID', `${url} ${why}`, { where: url, hint: 'the upstream archive listing is damaged; fetch again, or leave out --include-archive' });
  let value;
  try {
    value = deserializeR(gunzipSync(gz, { maxOutputLength: MAX_INDEX_BYTES }));
  } catch (err) {
    if (err instanceof RdsFormatError) throw invalid(`is not what saveRDS writes: ${err.message}`);
    throw invalid(`is not a gzip file of at most ${MAX_INDEX_BYTES} bytes (${(err as Error).message})`);
  }
  let listed: ListedArchive[] = listedArchives(value);
  let data = gz;
  if (keep) {
    listed = listed.filter((a) => keep(a.pkg));
    data = gzipSync(serializeR(subsetArchiveRds(value, keep)));
  }
  return {
    file: { path: `${CRAN_CONTRIB}/Meta/archive.rds`, data },
    items: listed.map((a) => archivedItem({ layoutDir: CRAN_CONTRIB, contribUrl, userAgent }, a.pkg, a.version, a.size)),
  };
}
