import { AirlockError, isAirlockError } from '../errors.js';
import type { HttpClient } from './http.js';
import { cranContribUrl, trimBase, type CranSource, type CranSourceKind } from './sources.js';

export type SourceTypeChoice = CranSourceKind | 'auto';

/**
 * Tells a Package Manager server from a plain CRAN mirror by asking for each one's index
 * (`{base}/cran/{snapshot}/src/contrib/PACKAGES.gz`, then `{base}/src/contrib/PACKAGES.gz`),
 * unless --source-type says which it is. A plain mirror has only today's packages, so
 * asking it for a dated snapshot is refused rather than silently ignored.
 */
export async function resolveCranSource(http: HttpClient, baseUrl: string, choice: SourceTypeChoice, snapshot: string, userAgent: string): Promise<CranSource> {
  const base = trimBase(baseUrl);
  const packageManager: CranSource = { kind: 'package-manager', base, snapshot };
  const mirror: CranSource = { kind: 'cran-mirror', base, snapshot: 'latest' };
  let kind: CranSourceKind | undefined = choice === 'auto' ? undefined : choice;
  if (kind === undefined) {
    if (await hasIndex(http, packageManager, userAgent)) kind = 'package-manager';
    else if (await hasIndex(http, mirror, userAgent)) kind = 'cran-mirror';
    else {
      throw new AirlockError('UPSTREAM_NOT_FOUND', `${base} is neither a Package Manager server (no ${cranContribUrl(packageManager)}/PACKAGES.gz) nor a CRAN mirror (no ${cranContribUrl(mirror)}/PACKAGES.gz)`, {
        where: base,
        hint: 'check --base-url (the repository root, without /src/contrib) and --snapshot; --source-type cran-mirror|package-manager skips this check',
      });
    }
  }
  if (kind === 'cran-mirror' && snapshot !== 'latest') {
    throw new AirlockError('USAGE', `${base} is a plain CRAN mirror, which has no dated snapshots (--snapshot ${snapshot})`, {
      hint: 'drop --snapshot to take the mirror as it is today, or point --base-url at a Package Manager server',
    });
  }
  return kind === 'cran-mirror' ? mirror : packageManager;
}

/** Either index form will do, as for reading it (contribIndex.ts). */
async function hasIndex(http: HttpClient, source: CranSource, userAgent: string): Promise<boolean> {
  for (const name of ['PACKAGES.gz', 'PACKAGES']) {
    try {
      await http.contentLength({ url: `${cranContribUrl(source)}/${name}`, userAgent });
      return true;
    } catch (err) {
      if (!(isAirlockError(err) && err.code === 'UPSTREAM_NOT_FOUND')) throw err;
    }
  }
  return false;
}
