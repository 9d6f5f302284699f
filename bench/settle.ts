import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { resolve } from 'node:path';

/**
 * ext4 without a journal will not hand out an inode freed in the last minute (five minutes
 * while the inode's table block is still dirty): its allocator (`find_inode_bit` and
 * `recently_deleted` in the kernel's fs/ext4/ialloc.c, RECENTCY_MIN and RECENTCY_DIRTY) looks
 * at each such inode's deletion time, one after another, before every create. So for a
 * minute after a tree of many files is removed, every file created near it costs a walk
 * past all of them. `perf` showed `recently_deleted` and `find_get_block_common` as more than
 * a third of the busy samples of a download of 3,000 small files made right after the last
 * round's 3,000 were removed, each create taking about 1 ms instead of 50 us; `cp -r` of the
 * 200,000-file tree took 63 to 85 s of system time after a removal against 12 s without.
 * This machine's disk (and CI's) is such a filesystem. A bench step that creates files must
 * not start inside that window, or it measures the removal before it, whichever tool it
 * times. `settleAfterRemoval` writes the removal out and waits the minute, only where the
 * filesystem is one that has it.
 */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** The mount holding `path` (the longest mount point that contains it), from /proc/self/mountinfo's text. */
export function mountOf(mountinfo: string, path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mountPoint = unescapeMount(left.split(' ')[4] ?? '');
    const [fsType, source] = right.split(' ');
    if (fsType === undefined || source === undefined || !contains(mountPoint, path)) continue;
    if (best === undefined || mountPoint.length >= best.mountPoint.length) best = { mountPoint, fsType, source };
  }
  return best;
}

/** Seconds a create must wait after a removal (once it is written out) on the filesystem holding `path`: 0 unless it is ext4 with no journal. */
export function recentlyDeletedWindow(path: string): number {
  let mount: MountInfo | undefined;
  try {
    mount = mountOf(fs.readFileSync('/proc/self/mountinfo', 'utf8'), resolve(path));
  } catch {
    return 0;
  }
  if (mount?.fsType !== 'ext4' || !mount.source.startsWith('/dev/')) return 0;
  const device = mount.source.slice('/dev/'.length);
  // A journalled ext4 has a jbd2 entry named after its device (vda-8); one without has none.
  let journals: string[] = [];
  try {
    journals = fs.readdirSync('/proc/fs/jbd2');
  } catch {
    // No jbd2 at all: no ext4 on this machine has a journal.
  }
  return journals.some((name) => name.startsWith(`${device}-`)) ? 0 : RECENTCY_MIN_SECONDS + 1;
}

const RECENTCY_MIN_SECONDS = 60;

/** Waits out the window after a removal under `path`, saying so; returns the seconds waited. */
export async function settleAfterRemoval(path: string, what: string, log: (line: string) => void): Promise<number> {
  const seconds = recentlyDeletedWindow(path);
  if (seconds === 0) return 0;
  log(`writing out and waiting ${seconds} s after removing ${what}: ext4 without a journal passes over the inodes freed in the last minute, one by one, on every create`);
  // Written out, the freed inodes' table blocks are clean: the kernel's window is one minute, not five.
  spawnSync('sync', ['-f', path]);
  await new Promise((done) => setTimeout(done, seconds * 1000));
  return seconds;
}

function contains(mountPoint: string, path: string): boolean {
  return mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
}

/** mountinfo writes a space, tab, newline and backslash in a path as \040, \011, \012, \134. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
