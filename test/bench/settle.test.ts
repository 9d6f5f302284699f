import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mountOf, recentlyDeletedWindow, windowOf } from '../../bench/settle.js';

// Lines as /proc/self/mountinfo writes them: ids, major:minor, root, mount point, options, " - ", type, source, super options.
const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '23 22 0:21 / /proc rw,nosuid - proc proc rw',
  '24 22 0:22 / /dev/shm rw,nosuid - tmpfs tmpfs rw',
  '25 22 254:16 / /work rw,relatime - xfs /dev/vdb rw',
  '26 25 254:32 / /work/usb\\040drive rw - exfat /dev/sdb1 rw',
].join('\n');

describe('mountOf', () => {
  it('picks the longest mount point that holds the path', () => {
    expect(mountOf(MOUNTINFO, '/work/main/.bench')).toEqual({ mountPoint: '/work', fsType: 'xfs', source: '/dev/vdb' });
    expect(mountOf(MOUNTINFO, '/work')).toEqual({ mountPoint: '/work', fsType: 'xfs', source: '/dev/vdb' });
    expect(mountOf(MOUNTINFO, '/home/admin')).toEqual({ mountPoint: '/', fsType: 'ext4', source: '/dev/vda' });
  });

  it('matches whole path components only', () => {
    expect(mountOf(MOUNTINFO, '/workspace/x')?.mountPoint).toBe('/');
    expect(mountOf(MOUNTINFO, '/dev/shmem')?.mountPoint).toBe('/');
  });

  it('reads the octal escapes mountinfo writes for spaces', () => {
    expect(mountOf(MOUNTINFO, '/work/usb drive/bundles')).toEqual({ mountPoint: '/work/usb drive', fsType: 'exfat', source: '/dev/sdb1' });
  });

  it('finds nothing in text that is not mountinfo', () => {
    expect(mountOf('no mounts here\n', '/work')).toBeUndefined();
  });
});

describe('windowOf', () => {
  const ext4 = { mountPoint: '/', fsType: 'ext4', source: '/dev/vda' };

  it('is six minutes and a second on ext4 without a journal', () => {
    expect(windowOf(ext4, [])).toBe(361);
    // Another device's journal is not this one's (vdb-8 is not vda's; vda1-8 is not vda's either).
    expect(windowOf(ext4, ['vdb-8', 'vda1-8'])).toBe(361);
  });

  it('is nothing on ext4 with a journal, on another filesystem, or where the mount is not known', () => {
    expect(windowOf(ext4, ['vda-8'])).toBe(0);
    expect(windowOf({ ...ext4, fsType: 'xfs' }, [])).toBe(0);
    expect(windowOf({ ...ext4, source: 'overlay' }, [])).toBe(0);
    expect(windowOf(undefined, [])).toBe(0);
  });
});

describe('recentlyDeletedWindow', () => {
  it('is nothing on a filesystem that is not ext4 (tmpfs)', () => {
    if (!fs.existsSync('/dev/shm')) throw new Error('this test needs /dev/shm (tmpfs) to measure against');
    expect(recentlyDeletedWindow('/dev/shm')).toBe(0);
  });

});
