import { isAirlockError } from '../errors.js';
import { parseBiocConfig, resolveBiocVersions } from '../core/bioconductorConfig.js';
import { biocVersionFile } from '../core/layout/generatedFiles.js';
import { BIOC_CONFIG_PATH, BIOC_REPOSITORIES, biocContrib, type BiocRepository } from '../core/layout/rspmLayout.js';
import type { HttpClient } from '../upstream/http.js';
import { biocConfigUrl, biocContribUrl, trimBase } from '../upstream/sources.js';
import type { Collected } from './collect.js';
import { fetchContribIndex, indexFiles, indexItems, type ContribIndex } from './contribIndex.js';
import { sysreqsPart } from './sysreqs.js';

export interface BioconductorRequest {
  baseUrl: string;
  /** As given: `release`, `devel`, `3.19`... */
  versions: string[];
  /** null: --sysreqs-url none. */
  sysreqsUrl: string | null;
  /** --rspm-version: accepted, no effect here. */
  rspmVersion: string | null;
  userAgent: string;
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
  const indexes: ContribIndex[] = [];
  const files = [{ path: BIOC_CONFIG_PATH, data: configBytes }];
  for (const v of versions) {
    const found = await Promise.all(BIOC_REPOSITORIES.map((repository) => optionalIndex(http, base, v.version, repository, request.userAgent)));
    const present: BiocRepository[] = [];
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
  const sysreqs = await sysreqsPart(http, request.sysreqsUrl, request.userAgent);
  return {
    section: { kind: 'bioconductor', versions: versions.map((v) => v.version), sysreqs: sysreqs.fetched },
    files: [...files, ...indexes.flatMap(indexFiles)],
    items: [...indexes.flatMap(indexItems), ...sysreqs.items],
    source: { kind: 'bioconductor', base, versions },
    notes: [...notes, ...sysreqs.notes, ...(request.rspmVersion === null ? [] : [`--rspm-version ${request.rspmVersion} has no effect on a Bioconductor download`])],
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
