import { BIOC_CONFIG_PATH, BIOC_REPOSITORIES, biocContrib, CRAN_CONTRIB, SCHEMA, SYSREQS_ROOT, type BiocRepository } from '../layout/rspmLayout.js';
import { pathProblem } from '../paths.js';

/**
 * The URLs `airlock serve` answers, as Posit Package Manager's public ones are shaped, so a
 * project moves into the gap by changing only the host of its repository URL:
 *
 *   /                                                           a page for people
 *   /cran/{snapshot}/src/contrib/...                            CRAN source packages (and Archive/, Meta/archive.rds)
 *   /cran/__linux__/{distribution}/{snapshot}/src/contrib/...   Linux binaries for R's User-Agent, else sources
 *   /cran/{snapshot}/bin/windows/contrib/{r}/..., /cran/{snapshot}/bin/macosx/{build}/contrib/{r}/...   Windows and macOS binaries
 *   /bioconductor/{snapshot}/config.yaml                        Bioconductor's version map
 *   /bioconductor/{snapshot}/packages/{version}/{repository}/src/contrib/...
 *   /sysreqs/{snapshot}/...                                     the system-requirements rules
 *
 * Pure: a request path in, a route or a refusal out. Anything that could reach outside a
 * snapshot's tree (`..`, encoded slashes or backslashes, NUL, control characters, empty
 * segments) is refused with 400 before any lookup.
 */
export type Route =
  | { kind: 'page' }
  | {
      kind: 'cran';
      snapshot: string;
      /** Below src/contrib: `PACKAGES`, `R6_2.5.1.tar.gz`, `Archive/R6/R6_2.5.0.tar.gz`, `Meta/archive.rds`. */
      file: string;
      /** Set on `__linux__` URLs: binaries for this distribution, when the client is R and the snapshot has them. */
      distribution: string | null;
    }
  | { kind: 'tree'; snapshot: string; path: string };

export type RouteResult = { ok: true; route: Route } | { ok: false; status: 400 | 404; message: string };

const refuse = (status: 400 | 404, message: string): RouteResult => ({ ok: false, status, message });

export function parseRequestPath(target: string): RouteResult {
  const query = target.indexOf('?');
  const raw = query < 0 ? target : target.slice(0, query);
  if (!raw.startsWith('/')) return refuse(400, 'the request target must be a path starting with /');
  if (raw === '/' || raw === '/index.html') return { ok: true, route: { kind: 'page' } };
  // Decoded, these would change which file a path names.
  if (/%(2f|5c|00)/i.test(raw) || raw.includes('\\')) return refuse(400, 'encoded slashes, backslashes and NUL are not allowed in a path');
  let segments: string[];
  try {
    // Most paths have nothing encoded, and decodeURIComponent was two-thirds of this function's time.
    segments = raw.includes('%') ? raw.slice(1).split('/').map(decodeURIComponent) : raw.slice(1).split('/');
  } catch {
    return refuse(400, 'the path is not valid percent-encoded UTF-8');
  }
  const problem = pathProblem(segments.join('/'));
  if (problem) return refuse(400, `the path is not acceptable: ${problem}`);
  const [top, ...rest] = segments;
  if (top === 'cran') return cran(rest);
  if (top === 'bioconductor') return bioconductor(rest);
  if (top === 'sysreqs' && rest.length >= 2) return tree(rest[0]!, `${SYSREQS_ROOT}/${rest.slice(1).join('/')}`);
  return refuse(404, 'not a repository URL: try /cran/latest/src/contrib/PACKAGES, or / for the list of snapshots');
}

function cran(rest: string[]): RouteResult {
  if (rest[0] === '__linux__') {
    const [, distribution, snapshot, ...contrib] = rest;
    const file = contribFile(contrib);
    if (distribution === undefined || snapshot === undefined || file === undefined) return refuse(404, 'binary URLs are /cran/__linux__/{distribution}/{snapshot}/src/contrib/FILE');
    return { ok: true, route: { kind: 'cran', snapshot, file, distribution } };
  }
  const [snapshot, ...contrib] = rest;
  // Windows and macOS binaries, where CRAN and Package Manager keep them (R's contrib.url for win.binary and mac.binary).
  if (snapshot !== undefined && contrib[0] === 'bin' && contrib.length >= 5) return tree(snapshot, `${SCHEMA}/${contrib.join('/')}`);
  const file = contribFile(contrib);
  if (snapshot === undefined || file === undefined) return refuse(404, 'CRAN URLs are /cran/{snapshot}/src/contrib/FILE');
  return { ok: true, route: { kind: 'cran', snapshot, file, distribution: null } };
}

function bioconductor(rest: string[]): RouteResult {
  const [snapshot, ...below] = rest;
  if (snapshot === undefined) return refuse(404, 'Bioconductor URLs are /bioconductor/{snapshot}/config.yaml and /bioconductor/{snapshot}/packages/{version}/{repository}/src/contrib/FILE');
  if (below.length === 1 && below[0] === 'config.yaml') return tree(snapshot, BIOC_CONFIG_PATH);
  if (below[0] !== 'packages' || below[1] === undefined) return refuse(404, 'Bioconductor URLs are /bioconductor/{snapshot}/packages/{version}/{repository}/src/contrib/FILE');
  const version = below[1];
  const after = below.slice(2);
  // Repositories are one or two segments (bioc, data/annotation); none is a prefix of another.
  const repository: BiocRepository | undefined = BIOC_REPOSITORIES.find((r) => r.split('/').every((part, i) => after[i] === part));
  const file = repository === undefined ? undefined : contribFile(after.slice(repository.split('/').length));
  if (repository === undefined || file === undefined) return refuse(404, `no Bioconductor repository at this URL (repositories: ${BIOC_REPOSITORIES.join(', ')})`);
  return tree(snapshot, `${biocContrib(version, repository)}/${file}`);
}

/** `src/contrib/<file...>` -> `<file...>`. */
function contribFile(segments: string[]): string | undefined {
  if (segments[0] !== 'src' || segments[1] !== 'contrib' || segments.length < 3) return undefined;
  return segments.slice(2).join('/');
}

function tree(snapshot: string, path: string): RouteResult {
  return { ok: true, route: { kind: 'tree', snapshot, path } };
}

/** Where a CRAN file lives in a snapshot's tree: sources, or the binary configuration chosen for the client. */
export function cranTreePath(file: string, binaryConfig: string | null): string {
  return binaryConfig === null ? `${CRAN_CONTRIB}/${file}` : `bin/${binaryConfig}/src/contrib/${file}`;
}
