/**
 * The file a worker thread runs: `file` next to the module at `moduleUrl` once compiled.
 * When that module runs from its TypeScript source (the test runner), the compiled script
 * in dist/ at the same place (`npm test` builds first).
 */
export function threadScript(moduleUrl: string, file: string): URL {
  const here = new URL(moduleUrl);
  if (!here.pathname.endsWith('.ts')) return new URL(`./${file}`, here);
  const marker = '/src/';
  const at = here.pathname.lastIndexOf(marker);
  const relative = here.pathname.slice(at + marker.length, here.pathname.lastIndexOf('/') + 1);
  const root = new URL(here.pathname.slice(0, at + 1), here);
  return new URL(`dist/src/${relative}${file}`, root);
}
