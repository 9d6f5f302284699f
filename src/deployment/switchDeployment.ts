import * as fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { explainSystemError } from '../errors.js';
import type { SnapshotId } from '../core/manifest.js';
import { fsyncDirSync } from '../fs/durable.js';
import { failpoint } from '../fs/failpoint.js';
import type { DataDir } from './dataDir.js';

/**
 * The one moment the server's view changes. A new symlink is made under a temp name in
 * the same directory and renamed over the data dir path: rename(2) replaces it
 * atomically, so a reader (or a crash) sees the old deployment or the new one, never a
 * mix or nothing. Then the directory is fsynced so the switch survives power loss.
 */
export function switchDeployment(dataDir: DataDir, id: SnapshotId): void {
  const tempLink = join(dataDir.parent, `${dataDir.tempLinkPrefix}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.symlinkSync(dataDir.linkTarget(id), tempLink);
    failpoint('switch-before-rename');
    // An empty directory (a fresh install's placeholder) holds nothing to lose; a symlink cannot be renamed over it.
    if (dataDir.kind() === 'empty-directory') fs.rmdirSync(dataDir.path);
    fs.renameSync(tempLink, dataDir.path);
    failpoint('switch-after-rename');
    fsyncDirSync(dataDir.parent);
  } catch (err) {
    fs.rmSync(tempLink, { force: true });
    explainSystemError(err, 'switching the data dir to the new deployment', dataDir.path);
  }
}
