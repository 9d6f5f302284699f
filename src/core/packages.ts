import type { Tree } from './manifest.js';

/**
 * Package-level view of a CRAN-like tree, read from file names alone so it stays pure
 * and works on any tree: a package archive is `<name>_<version>.<ext>` (R's own naming,
 * see tools:::.make_package_archive_name / write_PACKAGES). Archives under an
 * `Archive/` directory are CRAN's history of superseded versions, not the current
 * package set, so they are not counted.
 */
const ARCHIVE = /^([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])_([0-9]+(?:[.-][0-9]+)+)\.(tar\.gz|tgz|zip|tar\.xz|tar\.bz2)$/;

export interface PackageRef {
  /** The directory holding the archive, e.g. `v3/src/contrib`: one CRAN-like repository. */
  repository: string;
  name: string;
  version: string;
}

export type PackageChangeKind = 'added' | 'updated' | 'removed';

export interface PackageChange {
  kind: PackageChangeKind;
  repository: string;
  name: string;
  from: string | null;
  to: string | null;
}

export function parsePackagePath(path: string): PackageRef | undefined {
  const slash = path.lastIndexOf('/');
  const directory = slash < 0 ? '' : path.slice(0, slash);
  if (directory === 'Archive' || directory.startsWith('Archive/') || directory.includes('/Archive/') || directory.endsWith('/Archive')) {
    return undefined;
  }
  const match = ARCHIVE.exec(path.slice(slash + 1));
  if (!match) return undefined;
  return { repository: directory, name: match[1]!, version: match[2]! };
}

/** repository + '\0' + name -> versions present (normally one). */
function packageIndex(tree: Tree): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const entry of tree.entries) {
    const ref = parsePackagePath(entry.path);
    if (!ref) continue;
    const key = `${ref.repository}\0${ref.name}`;
    const versions = index.get(key);
    if (versions) versions.push(ref.version);
    else index.set(key, [ref.version]);
  }
  return index;
}

function splitKey(key: string): { repository: string; name: string } {
  const [repository, name] = key.split('\0') as [string, string];
  return { repository, name };
}

export function countPackages(tree: Tree): number {
  return packageIndex(tree).size;
}

/** Added, updated (old -> new version) and removed packages, sorted by repository then name. */
export function diffPackages(before: Tree | null, after: Tree): PackageChange[] {
  const old = before ? packageIndex(before) : new Map<string, string[]>();
  const now = packageIndex(after);
  const changes: PackageChange[] = [];
  for (const [key, versions] of now) {
    const to = versions.join(', ');
    const previous = old.get(key);
    if (!previous) changes.push({ kind: 'added', ...splitKey(key), from: null, to });
    else if (previous.join(', ') !== to) changes.push({ kind: 'updated', ...splitKey(key), from: previous.join(', '), to });
  }
  for (const [key, versions] of old) {
    if (!now.has(key)) changes.push({ kind: 'removed', ...splitKey(key), from: versions.join(', '), to: null });
  }
  return changes.sort((x, y) => (x.repository === y.repository ? (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) : x.repository < y.repository ? -1 : 1));
}

export interface SizedChange {
  change: PackageChange;
  /** Bytes of the package's new archive in the target tree. */
  bytes: number;
}

/**
 * The added and updated packages whose new archives are largest in the target tree, largest
 * first: what an admin looks at to see where a bundle's bytes go.
 */
export function largestChanges(packages: readonly PackageChange[], target: Tree, count = 10): SizedChange[] {
  const wanted = new Map<string, PackageChange>();
  for (const p of packages) if (p.kind !== 'removed' && p.to !== null) wanted.set(`${p.repository}\0${p.name}`, p);
  if (wanted.size === 0) return [];
  const bytes = new Map<PackageChange, number>();
  for (const entry of target.entries) {
    const ref = parsePackagePath(entry.path);
    if (!ref) continue;
    const change = wanted.get(`${ref.repository}\0${ref.name}`);
    if (change) bytes.set(change, (bytes.get(change) ?? 0) + entry.size);
  }
  return [...bytes].map(([change, size]) => ({ change, bytes: size })).sort((a, b) => b.bytes - a.bytes).slice(0, count);
}

/**
 * What a file about to be downloaded probably weighs, from the last snapshot: the same path,
 * else the same package's archive there (an update is usually close to its last version).
 * Undefined when the last snapshot knows nothing of it.
 */
export function sizeGuesser(previous: Tree | null): (path: string) => number | undefined {
  const byPath = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const entry of previous?.entries ?? []) {
    byPath.set(entry.path, entry.size);
    const ref = parsePackagePath(entry.path);
    if (ref) byPackage.set(`${ref.repository}\0${ref.name}`, entry.size);
  }
  return (path) => {
    const exact = byPath.get(path);
    if (exact !== undefined) return exact;
    const ref = parsePackagePath(path);
    return ref ? byPackage.get(`${ref.repository}\0${ref.name}`) : undefined;
  };
}

/**
 * The bytes a list of downloads will probably take: known sizes, guesses, and for the rest the
 * mean of those. Undefined when too little is known (under half the files) to say anything
 * honest; the progress then goes by files.
 */
export function estimateTotalBytes(sizes: readonly (number | undefined)[]): number | undefined {
  let known = 0;
  let sum = 0;
  for (const size of sizes) {
    if (size === undefined) continue;
    known++;
    sum += size;
  }
  if (sizes.length === 0 || known * 2 < sizes.length) return undefined;
  return Math.round(sum + (sum / known) * (sizes.length - known));
}
