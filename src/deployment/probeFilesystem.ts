import * as fs from 'node:fs';
import { join } from 'node:path';
import { AirlockError, errnoCode } from '../errors.js';
import { tempName } from '../fs/durable.js';

export interface FilesystemAbilities {
  hardlinks: boolean;
}

/**
 * Finds out, before any work, what the data dir's filesystem can do. The atomic switch
 * needs a symbolic link, so a filesystem without them (FAT, exFAT: the usual USB
 * formats) is refused up front with a clear message. Without hardlinks deployments are
 * copies: it works, but needs the space twice, which the apply plans for.
 */
export function probeFilesystem(dir: string): FilesystemAbilities {
  fs.mkdirSync(dir, { recursive: true });
  const file = tempName(join(dir, 'probe'));
  const link = `${file}-link`;
  const symlink = `${file}-symlink`;
  try {
    fs.writeFileSync(file, '');
    try {
      fs.symlinkSync('probe', symlink);
    } catch (err) {
      throw new AirlockError('FILESYSTEM', `the filesystem of ${dir} cannot hold symbolic links (${errnoCode(err) ?? 'unknown error'}), which the atomic switch needs`, {
        where: dir,
        hint: 'put the data dir on a Linux filesystem such as ext4 or xfs (FAT and exFAT are for carrying bundles, not for serving data)',
      });
    }
    try {
      fs.linkSync(file, link);
      return { hardlinks: true };
    } catch {
      return { hardlinks: false };
    }
  } finally {
    for (const p of [file, link, symlink]) fs.rmSync(p, { force: true });
  }
}
