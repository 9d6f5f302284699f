import { gzipSync } from 'node:zlib';
import { AirlockError } from '../errors.js';
import { parseDcf } from '../core/dcf.js';
import { schemaMarker } from '../core/layout/generatedFiles.js';
import { CRAN_CONTRIB, SCHEMA_MARKER, type LayoutFile } from '../core/layout/rspmLayout.js';
import type { Tree } from '../core/manifest.js';
import { archivesInIndex, MAX_INDEX_BYTES, mergeIndex } from '../core/packagesIndex.js';
import type { Repository } from '../repository/repository.js';
import type { ContribIndex } from './contribIndex.js';

/**
 * The CRAN part after adding a Bioconductor selection's CRAN dependencies to what the last
 * snapshot had: its index with the added records (a package already there is replaced by the
 * version the selection resolved against), and the superseded archives dropped.
 */
export async function addToCranPart(repo: Repository, parent: Tree | null, added: ContribIndex): Promise<{ files: LayoutFile[]; drop: Set<string> }> {
  const entry = parent?.entries.find((e) => e.path === `${CRAN_CONTRIB}/PACKAGES`);
  let text = '';
  if (entry) {
    if (entry.size > MAX_INDEX_BYTES) {
      throw new AirlockError('UPSTREAM_INDEX_INVALID', `the last snapshot's ${entry.path} is larger than an index may be`, {
        where: entry.path,
        hint: 'run `airlock get cran` again to replace the CRAN part, then this download',
      });
    }
    // Verified: a store object edited in place through a deployment must not be merged on.
    text = (await repo.objects.readWholeVerified(entry.id, entry.size)).toString('latin1');
  }
  const records = parseDcf(text, `${CRAN_CONTRIB}/PACKAGES of the last snapshot`);
  const merged = Buffer.from(mergeIndex({ text, records }, { text: added.packages.toString('latin1'), records: added.records }), 'latin1');
  const newPaths = new Map(added.archives.map((a) => [a.name, a.path]));
  const drop = new Set<string>();
  for (const old of archivesInIndex(records, 'PACKAGES')) {
    const replacement = newPaths.get(old.name);
    if (replacement !== undefined && replacement !== old.path) drop.add(`${CRAN_CONTRIB}/${old.path}`);
  }
  const files: LayoutFile[] = [
    { path: `${CRAN_CONTRIB}/PACKAGES`, data: merged },
    { path: `${CRAN_CONTRIB}/PACKAGES.gz`, data: gzipSync(merged, { level: 9 }) },
    ...(parent?.entries.some((e) => e.path === SCHEMA_MARKER) ? [] : [schemaMarker()]),
  ];
  return { files, drop };
}
