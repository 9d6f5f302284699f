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
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith('/')) return 'the path is absolute';
  // Control characters (NUL above all) cannot be represented safely on disk or in tar.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path contains a control character';
  if (path.includes('\\')) return 'the path contains a backslash';
  for (const segment of path.split('/')) {
    if (segment === '') return 'the path has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `the path has a '${segment}' segment`;
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
    }
  }
  return undefined;
}

/**
 * Manifest order: by the UTF-8 bytes of the path, so every implementation sorts the
 * same way regardless of locale (JavaScript's default string order is UTF-16).
 */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** 'a/b/c.txt' -> ['a', 'a/b'] */
export function parentDirectories(path: string): string[] {
  const parts = path.split('/');
  const dirs: string[] = [];
  for (let i = 1; i < parts.length; i++) dirs.push(parts.slice(0, i).join('/'));
  return dirs;
}
