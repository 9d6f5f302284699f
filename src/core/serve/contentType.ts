/** The Content-Type of a repository file, from its name. */
export function contentTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'PACKAGES') return 'text/plain; charset=utf-8';
  if (name.endsWith('.gz') || name.endsWith('.tgz')) return 'application/x-gzip';
  if (name.endsWith('.rds')) return 'application/octet-stream';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'text/yaml; charset=utf-8';
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.txt')) return 'text/plain; charset=utf-8';
  if (name.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}
