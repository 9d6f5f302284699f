import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';

/** Real filesystems for environment tests; mounting needs root, which CI has. */
export const isRoot = process.getuid?.() === 0;

export function mountTmpfs(dir: string, options: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir]);
}

/**
 * An exFAT filesystem (the usual format of large USB drives) through FUSE on a loop
 * device: it refuses hardlinks (EPERM) and symlinks (ENOSYS), as on a real drive.
 */
export function mountExfat(dir: string, image: string, sizeMiB = 64): { loop: string } {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  execFileSync('mkfs.exfat', [image], { stdio: 'ignore' });
  const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  execFileSync('mount.exfat-fuse', [loop, dir], { stdio: 'ignore' });
  return { loop };
}

export function unmount(dir: string, loop?: string): void {
  try {
    execFileSync('umount', [dir]);
  } catch {
    execFileSync('umount', ['-l', dir]);
  }
  if (loop) execFileSync('losetup', ['-d', loop]);
}

export function usedInodes(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.files - st.ffree;
}

export function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}

export function hasTool(name: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => fs.existsSync(join(d, name)));
}
