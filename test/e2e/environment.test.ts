import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock, airlockBin, airlockOk } from '../helpers/cli.js';
import { onlineScenario, readTree, tempDir, type Scenario } from '../helpers/fixtures.js';
import { liveView } from '../helpers/live.js';
import { freeBytes, hasTool, isRoot, mountExfat, mountTmpfs, remount, unmount, usedInodes } from '../helpers/mounts.js';

/**
 * The environment refusing us: a full disk, a filesystem without links, no permission.
 * These mount real filesystems, so they need root (CI runs as root; .ci/run installs
 * exfat-fuse and exfatprogs).
 */
describe.runIf(isRoot)('environment failures, on real filesystems', () => {
  let s: Scenario;
  let full: string;
  let delta: string;
  const mounts: { dir: string; loop?: string }[] = [];

  beforeAll(async () => {
    s = await onlineScenario(2, { payloadMedian: 150_000, packages: 10 });
    full = join(s.media, 'full.airlock');
    delta = join(s.media, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
  });

  afterAll(() => {
    for (const m of mounts.reverse()) unmount(m.dir, m.loop);
  });

  it('a disk too small for the bundle is refused before anything is written', () => {
    const mnt = join(tempDir(), 'var-lib');
    mountTmpfs(mnt, 'size=256m');
    mounts.push({ dir: mnt });
    const dataDir = join(mnt, 'rspm-offline-data');
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const before = liveView(dataDir);
    remount(mnt, `size=${Math.ceil((fs.statfsSync(mnt).blocks * fs.statfsSync(mnt).bsize - freeBytes(mnt)) / 4096) * 4096 + 512 * 1024}`);
    const result = airlock(['apply', delta, '--data-dir', dataDir]);
    expect(result.status).toBe(5);
    expect(result.stderr).toContain('[DISK_FULL]');
    expect(result.stderr).toMatch(/needs .* but only .* is free/);
    expect(liveView(dataDir)).toBe(before);
  });

  // Inline: a delta this small is placed on the main thread; on the threads, the failure comes back in a placement's answer.
  it.each([
    ['on the main thread', {}],
    ['on the store threads', { AIRLOCK_STORE_THREADS_FROM: '0' }],
  ])('running out of space in the middle of an apply (objects placed %s) leaves the live tree as it was, and a re-run completes', (_where, env: Record<string, string>) => {
    const mnt = join(tempDir(), 'var-lib');
    mountTmpfs(mnt, 'size=256m,nr_inodes=10000');
    mounts.push({ dir: mnt });
    const dataDir = join(mnt, 'rspm-offline-data');
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const before = liveView(dataDir);
    // Room for the lock and a couple of staged objects, not for the whole delta.
    remount(mnt, `nr_inodes=${usedInodes(mnt) + 4}`);
    const result = airlock(['apply', delta, '--data-dir', dataDir], env);
    expect(result.status, result.stderr).toBe(5);
    expect(result.stderr).toContain('[DISK_FULL]');
    expect(result.stderr).toContain(`${dataDir}.airlock`);
    expect(liveView(dataDir)).toBe(before);
    // Nothing of the failed run is left staged: its scratch is gone.
    expect(fs.existsSync(join(`${dataDir}.airlock`, 'tmp'))).toBe(false);
    remount(mnt, 'nr_inodes=10000');
    airlockOk(['apply', delta, '--data-dir', dataDir], env);
    expect(fs.readlinkSync(dataDir)).toContain(s.ids.v2);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
  });

  it('on a full disk, status and verify still answer and gc frees space (the lock takes no data block)', () => {
    const mnt = join(tempDir(), 'var-lib');
    mountTmpfs(mnt, 'size=256m');
    mounts.push({ dir: mnt });
    const dataDir = join(mnt, 'rspm-offline-data');
    airlockOk(['apply', full, '--data-dir', dataDir]);
    airlockOk(['apply', delta, '--data-dir', dataDir]);
    const before = liveView(dataDir);
    const liveFiles = readTree(dataDir);
    fillDisk(join(mnt, 'filler'));
    expect(freeBytes(mnt)).toBe(0);
    const status = airlock(['status', '--data-dir', dataDir]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toContain(s.ids.v2.slice(0, 12));
    const verify = airlock(['verify', '--data-dir', dataDir]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(liveView(dataDir)).toBe(before);
    const gc = airlock(['gc', '--data-dir', dataDir, '--keep', '1']);
    expect(gc.status, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/removed 1 deployment .* freeing [1-9]/);
    expect(freeBytes(mnt)).toBeGreaterThan(0);
    expect(readTree(dataDir)).toEqual(liveFiles);
    expect(fs.readdirSync(join(dataDir + '.airlock')).filter((n) => n === 'lock' || n.startsWith('lock.'))).toEqual([]);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
  });

  it.runIf(hasTool('mount.exfat-fuse') && hasTool('mkfs.exfat'))('a data dir on exFAT (no hardlinks, no symlinks) is refused with the reason; bundles can still be carried on it', () => {
    const root = tempDir();
    const usb = join(root, 'usb');
    mounts.push({ dir: usb, ...mountExfat(usb, join(root, 'usb.img')) });
    const dataDir = join(usb, 'rspm-offline-data');
    const result = airlock(['apply', full, '--data-dir', dataDir]);
    expect(result.status).toBe(5);
    expect(result.stderr).toContain('[FILESYSTEM]');
    expect(result.stderr).toMatch(/cannot hold symbolic links/);
    expect(result.stderr).toMatch(/ext4 or xfs/);
    expect(fs.existsSync(dataDir)).toBe(false);
    // The drive is fine for carrying: write a bundle onto it and verify it there.
    const onDrive = join(usb, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', onDrive]);
    airlockOk(['bundle', 'verify', onDrive]);
  });

  it('an admin without write permission on the data dir gets PERMISSION_DENIED, not a stack trace', () => {
    const root = tempDir();
    fs.chmodSync(root, 0o755);
    const dataDir = join(root, 'rspm-offline-data');
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const before = liveView(dataDir);
    for (const p of [s.root, s.media, delta]) fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, airlockBin, 'apply', delta, '--data-dir', dataDir], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(5);
    expect(run.stderr).toContain('[PERMISSION_DENIED]');
    expect(run.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(liveView(dataDir)).toBe(before);
    expect(readTree(dataDir).size).toBeGreaterThan(0);
  });
});

/** Writes until the filesystem refuses: ENOSPC is the point. */
function fillDisk(path: string): void {
  const fd = fs.openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk, 0, size);
        } catch {
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
