import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { readTree } from './fixtures.js';

/**
 * What the server sees at the data dir path: where the symlink points and every file's
 * content hash. Two equal snapshots of this mean the live data did not change.
 */
export function liveView(dataDir: string): string {
  let link: string;
  try {
    link = fs.lstatSync(dataDir).isSymbolicLink() ? `-> ${fs.readlinkSync(dataDir)}` : fs.existsSync(dataDir) ? 'directory' : 'absent';
  } catch {
    return 'absent';
  }
  const files = [...readTree(dataDir)].map(([p, b]) => `${p} ${blake3(b).toString('hex')}`).sort();
  const deployments = fs.existsSync(join(`${dataDir}.airlock`, 'deployments')) ? fs.readdirSync(join(`${dataDir}.airlock`, 'deployments')).sort() : [];
  return [link, ...files, `deployments: ${deployments.join(',')}`].join('\n');
}
