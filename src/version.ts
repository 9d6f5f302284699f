import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version from package.json; bundles record which airlock wrote them. Found by
 * walking up from this file, which sits at src/ in a checkout and dist/src/ in a build.
 */
function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rspm-airlock' && pkg.version) return pkg.version;
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = readPackageVersion();
export const TOOL_NAME = `airlock ${VERSION}`;
