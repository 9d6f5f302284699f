/**
 * Paths inside a snapshot are relative, '/'-separated, normalised and harmless: a
 * manifest or bundle that names '/etc/passwd', '../x', 'a//b' or a control character
 * is rejected before anything is written (a hostile or damaged drive must not be able
 * to write outside the deployment).
 */

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

/** Returns why the path is unacceptable, or undefined when it is fine. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most paths need no byte count at all.
  if (path.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(path) > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.charCodeAt(0) === SLASH) return 'the path is absolute';
  // Control characters (NUL above all) cannot be represented safely on disk or in tar.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path contains a control character';
  if (path.includes('\\')) return 'the path contains a backslash';
  // Segment by segment, without splitting: this runs for every entry of every tree read.
  for (let start = 0; start <= path.length; ) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    const length = end - start;
    if (length === 0) return 'the path has an empty segment (// or a trailing /)';
    if (length <= 2 && path.charCodeAt(start) === DOT && (length === 1 || path.charCodeAt(start + 1) === DOT)) return `the path has a '${path.slice(start, end)}' segment`;
    if (length * 3 > MAX_SEGMENT_BYTES && Buffer.byteLength(path.slice(start, end)) > MAX_SEGMENT_BYTES) {
      return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
    }
    start = end + 1;
  }
  return undefined;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Manifest order: by the UTF-8 bytes of the path, so every implementation sorts the
 * same way regardless of locale (JavaScript's default string order is UTF-16).
 *
 * Compared without encoding: UTF-16 code units order like code points, and code points
 * like their UTF-8 bytes, except that surrogates (U+D800-DFFF, the halves of a code point
 * above U+FFFF) sort below U+E000-FFFF as units but above them as code points. Only where
 * both differing units are at or above U+D800 is one of them moved to its place.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/**
 * Every directory that holds one of `paths`, parents before their children, each once:
 * 'a/b/c.txt' gives 'a' and 'a/b'. Cheap for paths in manifest order, where a file's
 * directory is most often the one before's.
 */
export function directoriesOf(paths: Iterable<string>): Set<string> {
  const climb = new DirectoryClimb();
  for (const path of paths) climb.enter(path);
  return climb.directories;
}

/**
 * directoriesOf one path at a time: `enter` says which directories a path needs that no
 * path entered before it did (parents first), as a deployment makes them on the way.
 */
export class DirectoryClimb {
  /** Every directory entered so far, parents before their children. */
  readonly directories = new Set<string>();
  private previous = '';
  private readonly missing: string[] = [];

  /** Adds the directories `path` needs that are new to `fresh` (when given), parents first. */
  enter(path: string, fresh?: string[]): void {
    const slash = path.lastIndexOf('/');
    if (slash < 0) return;
    const parent = path.slice(0, slash);
    if (parent === this.previous) return;
    this.previous = parent;
    // The set holds the parents of each directory in it, so the climb stops at the first one known.
    const missing = this.missing;
    for (let dir = parent; !this.directories.has(dir); ) {
      missing.push(dir);
      const up = dir.lastIndexOf('/');
      if (up < 0) break;
      dir = dir.slice(0, up);
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      this.directories.add(missing[i]!);
      fresh?.push(missing[i]!);
    }
    missing.length = 0;
  }
}

/**
 * What to put before a relative path (one pathProblem accepted: no empty, `.` or `..`
 * segment) to name it under the directory `dir`, by concatenation: path.join normalises the
 * whole string again, character by character, which per file of a large tree is hundreds of
 * MB of short-lived strings. Empty for `.`, and no doubled `/` after `/`.
 */
export function prefixUnder(dir: string): string {
  return dir === '.' ? '' : dir.endsWith('/') ? dir : `${dir}/`;
}
