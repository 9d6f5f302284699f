import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EarlyWriteback, writebackIdle } from '../../src/fs/writeback.js';
import { closedAt, created, descriptorsOf, earlySyncs, markerAt, stracedScript } from '../helpers/syscalls.js';
import { cleanTempDirsAfterEach, tempDir } from '../repository/helpers.js';

cleanTempDirsAfterEach();

/**
 * The compiled EarlyWriteback in a node of its own under strace, with `EarlyWriteback`,
 * `idle()` (no early sync out), `mark(name)` (a failed open the trace shows between phases) and `MiB`.
 */
function traced(dir: string, script: string): string[] {
  return stracedScript(
    dir,
    ['src/fs/writeback.js'],
    `const { EarlyWriteback } = m0;
    const idle = m0.writebackIdle;
    const fs = await import('node:fs');
    const MiB = Buffer.alloc(1024 * 1024, 7);
    const mark = (name) => { try { fs.openSync(${JSON.stringify(dir)} + '/' + name, 'r'); } catch {} };
    ${script}`,
  );
}

describe('EarlyWriteback', () => {
  it('starts a data sync of a file every 16 MiB written, on a descriptor of its own, while the file is still open', () => {
    const dir = tempDir();
    const big = join(dir, 'big');
    const small = join(dir, 'small');
    const lines = traced(
      dir,
      `for (const [path, mib] of [[${JSON.stringify(big)}, 40], [${JSON.stringify(small)}, 15]]) {
        const fd = fs.openSync(path, 'wx');
        const wb = new EarlyWriteback();
        for (let i = 0; i < mib; i++) { fs.writeSync(fd, MiB); wb.wrote(fd, MiB.length); await idle(); }
        fs.closeSync(fd);
      }`,
    );
    const b = created(lines, big);
    const syncs = earlySyncs(lines, big, b.fd);
    // At 16 and 32 MiB (each waited out before the next write), before the file was closed.
    expect(syncs.reopened.length).toBe(2);
    expect(syncs.synced.length).toBe(2);
    const closed = closedAt(lines, big, b.fd, b.at);
    expect(closed).toBeGreaterThan(b.at);
    for (const at of [...syncs.reopened, ...syncs.synced]) expect(at).toBeLessThan(closed);
    // Never on the writer's own descriptor: it may be closed at any time.
    expect(syncs.syncedOwn).toEqual([]);
    // Under the mark, nothing starts early: the flush syncs it.
    const s = created(lines, small);
    expect(earlySyncs(lines, small, s.fd).reopened).toEqual([]);
  });

  it('has at most two syncs out in the process: a file that passes its mark meanwhile starts its own at its next write after', () => {
    const dir = tempDir();
    const [a, b, c] = [join(dir, 'a'), join(dir, 'b'), join(dir, 'c')];
    const lines = traced(
      dir,
      `const files = [${JSON.stringify(a)}, ${JSON.stringify(b)}, ${JSON.stringify(c)}].map((path) => ({ fd: fs.openSync(path, 'wx'), wb: new EarlyWriteback() }));
      // All three pass 16 MiB with no pause: a's and b's syncs are out when c passes its mark.
      for (const f of files) for (let i = 0; i < 17; i++) { fs.writeSync(f.fd, MiB); f.wb.wrote(f.fd, MiB.length); }
      mark('phase-2');
      await idle();
      // Those are done: c's next write starts c's.
      fs.writeSync(files[2].fd, MiB); files[2].wb.wrote(files[2].fd, MiB.length);
      await idle();
      for (const f of files) fs.closeSync(f.fd);`,
    );
    const phase2 = markerAt(lines, join(dir, 'phase-2'));
    expect(phase2).toBeGreaterThan(0);
    for (const path of [a, b]) {
      const syncs = earlySyncs(lines, path, created(lines, path).fd);
      expect(syncs.reopened.length).toBe(1);
      expect(syncs.reopened[0]!).toBeLessThan(phase2);
    }
    const cSyncs = earlySyncs(lines, c, created(lines, c).fd);
    expect(cSyncs.reopened.length).toBe(1);
    expect(cSyncs.reopened[0]!).toBeGreaterThan(phase2);
    expect(cSyncs.synced.length).toBe(1);
  });

  it('keeps the failure of an early sync for the writer to throw as it finishes', async () => {
    // A file whose data sync the kernel refuses (procfs has none: EINVAL), standing in for a disk that refuses its bytes.
    const fd = fs.openSync('/proc/self/status', 'r');
    try {
      const wb = new EarlyWriteback();
      wb.wrote(fd, 16 * 1024 * 1024);
      await writebackIdle();
      expect(() => wb.check()).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'fdatasync' }));
      // A file whose syncs went well has nothing to throw.
      const ok = new EarlyWriteback();
      const file = fs.openSync(join(tempDir(), 'f'), 'wx');
      fs.writeSync(file, Buffer.alloc(1024));
      ok.wrote(file, 16 * 1024 * 1024);
      await writebackIdle();
      expect(() => ok.check()).not.toThrow();
      fs.closeSync(file);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('writebackIdle resolves once the syncs under way have ended and their descriptors are closed', async () => {
    const file = join(tempDir(), 'f');
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writeSync(fd, Buffer.alloc(64 * 1024, 1));
      const wb = new EarlyWriteback();
      wb.wrote(fd, 16 * 1024 * 1024);
      // The sync's own descriptor is open until its callback, which cannot have run yet.
      expect(descriptorsOf(file)).toBe(2);
      await writebackIdle();
      expect(descriptorsOf(file)).toBe(1);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('starts nothing for a descriptor that is not a regular file', async () => {
    const dir = tempDir();
    const lines = traced(dir, `const fd = fs.openSync('/dev/null', 'w'); const wb = new EarlyWriteback(); wb.wrote(fd, 32 * 1024 * 1024); await idle(); fs.closeSync(fd);`);
    expect(lines.some((l) => /fdatasync\(/.test(l))).toBe(false);
  });
});
