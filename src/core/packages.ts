import type { Tree, TreeEntry } from './manifest.js';
import type { TreeDiff } from './diff.js';
import { comparePaths } from './paths.js';

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
    const key = keyOf(ref);
    const versions = index.get(key);
    if (versions) versions.push(ref.version);
    else index.set(key, [ref.version]);
  }
  return index;
}

export function countPackages(tree: Tree): number {
  return packageIndex(tree).size;
}

/**
 * The entries of one package's archives in a tree sorted by path: every archive of package
 * `name` in `repository` starts with `repository/name_`, and paths sharing a prefix are one
 * run in path order, found by binary search. Its entries are read in path order, as a pass
 * over the whole tree would meet them.
 */
function* archivesOf(tree: Tree, ref: { repository: string; name: string }): Generator<TreeEntry & { version: string }> {
  const entries = tree.entries;
  const prefix = `${ref.repository === '' ? '' : `${ref.repository}/`}${ref.name}_`;
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (comparePaths(entries[mid]!.path, prefix) < 0) low = mid + 1;
    else high = mid;
  }
  for (let i = low; i < entries.length && entries[i]!.path.startsWith(prefix); i++) {
    const found = parsePackagePath(entries[i]!.path);
    // The same prefix also starts a package whose name goes on (`name_x_1.0` is not R's, but a path may say so) and subdirectories.
    if (found && found.repository === ref.repository && found.name === ref.name) yield { ...entries[i]!, version: found.version };
  }
}

/**
 * Added, updated (old -> new version) and removed packages, sorted by repository then name,
 * from the tree after and its file diff against the tree before (null: there was none, every
 * package is added). Only the packages of the paths one tree has and the other has not can
 * differ, so only those are looked up (a delta's work, not a pass over both trees with a
 * pattern per path); the tree before is not needed: its archives of a package are the tree
 * after's, less the paths added, plus the paths removed.
 */
export function diffPackages(after: Tree, diff: TreeDiff | null): PackageChange[] {
  if (diff === null) {
    return sortChanges([...packageIndex(after)].map(([key, versions]) => ({ kind: 'added', ...splitKey(key), from: null, to: versions.join(', ') })));
  }
  const touched = new Map<string, PackageRef>();
  const removedOf = new Map<string, Array<{ path: string; version: string }>>();
  const added = new Set<string>();
  for (const entry of diff.added) {
    const ref = parsePackagePath(entry.path);
    if (!ref) continue;
    touched.set(keyOf(ref), ref);
    added.add(entry.path);
  }
  for (const entry of diff.removed) {
    const ref = parsePackagePath(entry.path);
    if (!ref) continue;
    const key = keyOf(ref);
    touched.set(key, ref);
    const list = removedOf.get(key);
    if (list) list.push({ path: entry.path, version: ref.version });
    else removedOf.set(key, [{ path: entry.path, version: ref.version }]);
  }
  const changes: PackageChange[] = [];
  for (const [key, ref] of touched) {
    const now = [...archivesOf(after, ref)];
    const then = [...now.filter((e) => !added.has(e.path)), ...(removedOf.get(key) ?? [])].sort((x, y) => comparePaths(x.path, y.path));
    const from = then.map((e) => e.version).join(', ');
    const to = now.map((e) => e.version).join(', ');
    const where = { repository: ref.repository, name: ref.name };
    if (from === to) continue;
    if (from === '') changes.push({ kind: 'added', ...where, from: null, to });
    else if (to === '') changes.push({ kind: 'removed', ...where, from, to: null });
    else changes.push({ kind: 'updated', ...where, from, to });
  }
  return sortChanges(changes);
}

/** One package in one repository, as a map key (the inverse of splitKey). */
function keyOf(ref: { repository: string; name: string }): string {
  return `${ref.repository}\0${ref.name}`;
}

function splitKey(key: string): { repository: string; name: string } {
  const [repository, name] = key.split('\0') as [string, string];
  return { repository, name };
}

function sortChanges(changes: PackageChange[]): PackageChange[] {
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
  const sized: SizedChange[] = [];
  for (const change of packages) {
    if (change.kind === 'removed' || change.to === null) continue;
    let bytes = 0;
    let found = false;
    for (const entry of archivesOf(target, change)) {
      bytes += entry.size;
      found = true;
    }
    if (found) sized.push({ change, bytes });
  }
  return sized.sort((a, b) => b.bytes - a.bytes).slice(0, count);
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
    if (ref) byPackage.set(keyOf(ref), entry.size);
  }
  return (path) => {
    const exact = byPath.get(path);
    if (exact !== undefined) return exact;
    const ref = parsePackagePath(path);
    return ref ? byPackage.get(keyOf(ref)) : undefined;
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
