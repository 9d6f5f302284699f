import { isAirlockError } from '../errors.js';
import { parseBiocConfig, resolveBiocVersions } from '../core/bioconductorConfig.js';
import { biocVersionFile } from '../core/layout/generatedFiles.js';
import { BIOC_CONFIG_PATH, BIOC_REPOSITORIES, biocContrib, CRAN_CONTRIB, type BiocRepository } from '../core/layout/rspmLayout.js';
import type { HttpClient } from '../upstream/http.js';
import { biocConfigUrl, biocContribUrl, cranContribUrl, trimBase } from '../upstream/sources.js';
import type { Collected } from './collect.js';
import { fetchContribIndex, indexFiles, indexItems, type ContribIndex } from './contribIndex.js';
import { sysreqsPart } from './sysreqs.js';
import { subsetBioconductor, type BiocSubset } from './subsetBioconductor.js';
import type { Wanted } from './wantedFiles.js';
import { resolveCranSource } from '../upstream/detectSource.js';

export interface BioconductorRequest {
  baseUrl: string;
  /** As given: `release`, `devel`, `3.19`... */
  versions: string[];
  /** null: --sysreqs-url none. */
  sysreqsUrl: string | null;
  /** --rspm-version: accepted, no effect here. */
  rspmVersion: string | null;
  userAgent: string;
  /** With --file-in: only these packages and what they need; CRAN's index (from this URL) supplies their CRAN dependencies. */
  wanted: Wanted | null;
  cranUrl: string;
}

/** Only the software repository must exist; older releases lack books, some lack workflows. */
const REQUIRED: BiocRepository = 'bioc';

const MAX_CONFIG_BYTES = 1024 * 1024;

/** Reads config.yaml, resolves the version aliases, and reads each version's repositories. */
export async function collectBioconductor(http: HttpClient, request: BioconductorRequest): Promise<Collected> {
  const base = trimBase(request.baseUrl);
  const configUrl = biocConfigUrl(base);
  const configBytes = await http.fetchSmall({ url: configUrl, userAgent: request.userAgent }, MAX_CONFIG_BYTES);
  const versions = resolveBiocVersions(request.versions, parseBiocConfig(configBytes.toString('utf8'), configUrl));
  const notes: string[] = [];
  const byVersion: { version: string; indexes: ContribIndex[] }[] = [];
  const files = [{ path: BIOC_CONFIG_PATH, data: configBytes }];
  for (const v of versions) {
    const found = await Promise.all(BIOC_REPOSITORIES.map((repository) => optionalIndex(http, base, v.version, repository, request.userAgent)));
    const present: BiocRepository[] = [];
    const indexes: ContribIndex[] = [];
    byVersion.push({ version: v.version, indexes });
    BIOC_REPOSITORIES.forEach((repository, i) => {
      const index = found[i];
      if (index) {
        indexes.push(index);
        present.push(repository);
      } else {
        notes.push(`Bioconductor ${v.version} publishes no ${repository} repository; skipped`);
      }
    });
    files.push(biocVersionFile(v.version, v.rVersion, present));
  }
  let subset: BiocSubset | null = null;
  if (request.wanted) {
    const cranSource = await resolveCranSource(http, request.cranUrl, 'auto', 'latest', request.userAgent);
    const cran = await fetchContribIndex(http, cranContribUrl(cranSource), CRAN_CONTRIB, request.userAgent);
    subset = subsetBioconductor(request.wanted, byVersion, cran);
  }
  const indexes = subset?.indexes ?? byVersion.flatMap((v) => v.indexes);
  const sysreqs = await sysreqsPart(http, request.sysreqsUrl, request.userAgent);
  return {
    section: { kind: 'bioconductor', versions: versions.map((v) => v.version), sysreqs: sysreqs.fetched },
    files: [...files, ...indexes.flatMap(indexFiles)],
    items: [...indexes.flatMap(indexItems), ...(subset ? [...indexItems(subset.cran), ...subset.archived] : []), ...sysreqs.items],
    source: { kind: 'bioconductor', base, versions },
    ...(subset ? { selection: subset.report, cranAdditions: subset.cran } : {}),
    notes: [...notes, ...(subset?.notes ?? []), ...sysreqs.notes, ...(request.rspmVersion === null ? [] : [`--rspm-version ${request.rspmVersion} has no effect on a Bioconductor download`])],
  };
}

async function optionalIndex(http: HttpClient, base: string, version: string, repository: BiocRepository, userAgent: string): Promise<ContribIndex | undefined> {
  try {
    return await fetchContribIndex(http, biocContribUrl(base, version, repository), biocContrib(version, repository), userAgent);
  } catch (err) {
    if (repository !== REQUIRED && isAirlockError(err) && err.code === 'UPSTREAM_NOT_FOUND') return undefined;
    throw err;
  }
}
