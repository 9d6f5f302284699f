import * as fs from 'node:fs';
import { basename, join, resolve } from 'node:path';

/**
 * ext4 without a journal will not hand out an inode freed in the last minute, or in the last
 * six while the inode's table block is dirty (`find_inode_bit` and `recently_deleted` in the
 * kernel's fs/ext4/ialloc.c, RECENTCY_MIN and RECENTCY_DIRTY), and it looks at each such inode
 * in turn before every create. A create writes its new inode into a table block, dirtying it
 * again, so in practice a removal slows every create near it for about six minutes, however
 * soon it is written out. `perf` of `curl` downloading 3,000 small files three minutes after a
 * bench run removed its scratch: 61 % of its samples in that look (`recently_deleted`,
 * `find_get_block_common`, `ext4_get_group_desc`, `find_inode_bit`), 1.6 s of system time
 * against 0.24 s; `cp -r` of the 200,000-file tree took 63 to 85 s after a removal against 12 s
 * without. This machine's disk (and CI's) is such a filesystem. Both tools timed pay it per
 * file, so it flatters the slower one and makes runs disagree.
 *
 * So the bench frees no inode before its last timed step: what it would remove during a run
 * is renamed aside into the run's scratch (`putAside`; a rename frees nothing) and goes with
 * it at the end. Only an earlier run's scratch, found at the start, is removed first, and then
 * the bench waits out the window (`settleAfterRemoval`), where the filesystem has one.
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

/** Seconds a create must wait after a removal on the filesystem holding `path`: 0 unless it is ext4 with no journal. */
export function recentlyDeletedWindow(path: string): number {
  let mount: MountInfo | undefined;
  try {
    mount = mountOf(fs.readFileSync('/proc/self/mountinfo', 'utf8'), resolve(path));
  } catch {
    return 0;
  }
  let journals: string[] = [];
  try {
    journals = fs.readdirSync('/proc/fs/jbd2');
  } catch {
    // No jbd2 at all: no ext4 on this machine has a journal.
  }
  return windowOf(mount, journals);
}

/**
 * The window of a mount, given the names in /proc/fs/jbd2: a journalled ext4 has an entry
 * named after its device (vda-8), one without a journal has none, and only that one has a window.
 */
export function windowOf(mount: MountInfo | undefined, journals: readonly string[]): number {
  if (mount?.fsType !== 'ext4' || !mount.source.startsWith('/dev/')) return 0;
  const device = mount.source.slice('/dev/'.length);
  return journals.some((name) => name.startsWith(`${device}-`)) ? 0 : RECENTCY_SECONDS + 1;
}

/** RECENTCY_MIN and RECENTCY_DIRTY of fs/ext4/ialloc.c: a dirty table block adds the second to the first. */
const RECENTCY_SECONDS = 60 + 300;

/** Waits out the window after a removal under `path`, saying so; returns the seconds waited. */
export async function settleAfterRemoval(path: string, what: string, log: (line: string) => void): Promise<number> {
  const seconds = recentlyDeletedWindow(path);
  if (seconds === 0) return 0;
  log(`waiting ${seconds} s after removing ${what}: ext4 without a journal passes over the inodes freed in the last six minutes, one by one, on every create (bench/settle.ts)`);
  await new Promise((done) => setTimeout(done, seconds * 1000));
  return seconds;
}

/** Moves `path` (if it exists) into `scratch`'s set-aside directory, to be removed with the scratch after the last timed step. */
export function putAside(path: string, scratch: string): void {
  if (!fs.existsSync(path)) return;
  const aside = join(scratch, 'set-aside');
  fs.mkdirSync(aside, { recursive: true });
  fs.renameSync(path, join(aside, `${Date.now()}-${process.hrtime.bigint()}-${basename(path)}`));
}

function contains(mountPoint: string, path: string): boolean {
  return mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
}

/** mountinfo writes a space, tab, newline and backslash in a path as \040, \011, \012, \134. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
