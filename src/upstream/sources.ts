import { desktopDir, type DesktopTarget } from '../core/layout/rspmLayout.js';
import type { BiocRepository } from '../core/layout/rspmLayout.js';

/**
 * Where each kind of upstream keeps its files: the URL schemes airlock reads, as pure
 * functions (documented in docs/sources.md). A CRAN-like repository is always a
 * `.../src/contrib` directory holding PACKAGES(.gz) and the archives it lists.
 */
export type CranSourceKind = 'cran-mirror' | 'package-manager';

/** Public services used when no --base-url is given. */
export const DEFAULT_BASE_URLS = {
  cran: 'https://packagemanager.posit.co',
  bioconductor: 'https://bioconductor.org',
  sysreqs: 'https://api.github.com/repos/rstudio/r-system-requirements',
} as const;

/**
 * Where to download from when no flag says: AIRLOCK_CRAN_URL, AIRLOCK_BIOCONDUCTOR_URL and
 * AIRLOCK_SYSREQS_URL, so a site that always uses its own mirror sets it once (in the
 * service unit or profile) instead of on every command; otherwise the public services.
 */
export function defaultBaseUrl(kind: keyof typeof DEFAULT_BASE_URLS, env: Record<string, string | undefined>): string {
  const variable = { cran: 'AIRLOCK_CRAN_URL', bioconductor: 'AIRLOCK_BIOCONDUCTOR_URL', sysreqs: 'AIRLOCK_SYSREQS_URL' }[kind];
  const value = env[variable];
  return value === undefined || value === '' ? DEFAULT_BASE_URLS[kind] : value;
}

export const DEFAULT_ARCHITECTURES = ['x86_64', 'aarch64'] as const;

export interface CranSource {
  kind: CranSourceKind;
  /** Without a trailing slash. */
  base: string;
  /** `latest` or a date; a plain mirror only has `latest`. */
  snapshot: string;
}

export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The source packages' `src/contrib` of a CRAN source. */
/** The repository root R's contrib.url works from: the mirror itself, or a Package Manager snapshot. */
function cranRootUrl(source: CranSource): string {
  return source.kind === 'cran-mirror' ? source.base : `${source.base}/cran/${encodeURIComponent(source.snapshot)}`;
}

export function cranContribUrl(source: CranSource): string {
  return `${cranRootUrl(source)}/src/contrib`;
}

/** Windows and macOS binaries, where CRAN mirrors and Package Manager both keep them. */
export function desktopContribUrl(source: CranSource, target: DesktopTarget): string {
  return `${cranRootUrl(source)}/${desktopDir(target)}`;
}

/** Package Manager serves Linux binaries per distribution; the R version and architecture come from the User-Agent. */
export function binaryContribUrl(source: CranSource, distribution: string): string {
  return `${source.base}/cran/__linux__/${encodeURIComponent(distribution)}/${encodeURIComponent(source.snapshot)}/src/contrib`;
}

/** The User-Agent R itself sends, which is how Package Manager picks the binaries for an R version. */
export function rUserAgent(target: { rVersion: string; architecture: string }): string {
  const full = /^\d+\.\d+$/.test(target.rVersion) ? `${target.rVersion}.0` : target.rVersion;
  // R's own platform string: x86_64-pc-linux-gnu, but aarch64-unknown-linux-gnu and the like elsewhere.
  const vendor = target.architecture === 'x86_64' ? 'pc' : 'unknown';
  return `R (${full} ${target.architecture}-${vendor}-linux-gnu ${target.architecture} linux-gnu)`;
}

export function biocConfigUrl(base: string): string {
  return `${base}/config.yaml`;
}

export function biocContribUrl(base: string, version: string, repository: BiocRepository): string {
  return `${base}/packages/${encodeURIComponent(version)}/${repository}/src/contrib`;
}

/** The r-system-requirements project through GitHub's contents API: a listing with download URLs and git blob ids. */
export function sysreqsListingUrl(base: string): string {
  return `${base}/contents/rules`;
}

export function sysreqsSystemsUrl(base: string): string {
  return `${base}/contents/systems.json`;
}

/** The URL of a file named in a PACKAGES index (its path is relative to src/contrib). */
export function archiveUrl(contribUrl: string, path: string): string {
  return `${contribUrl}/${path.split('/').map(encodeURIComponent).join('/')}`;
}
