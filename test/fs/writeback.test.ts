import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closedAt, created, earlySyncs, stracedScript, syncedItself } from '../helpers/syscalls.js';
import { cleanTempDirsAfterEach, tempDir } from '../repository/helpers.js';

cleanTempDirsAfterEach();

/** The compiled EarlyWriteback in a node of its own under strace, as `EarlyWriteback`, with `MiB` and `pause()`. */
function traced(dir: string, script: string): string[] {
  return stracedScript(
    dir,
    ['src/fs/writeback.js'],
    `const { EarlyWriteback } = m0;
    const fs = await import('node:fs');
    const MiB = Buffer.alloc(1024 * 1024, 7);
    const pause = () => new Promise((resolve) => setTimeout(resolve, 300));
    ${script}`,
  );
}

describe('EarlyWriteback', () => {
  it('starts a data sync of a file every 16 MiB written, on a descriptor of its own, before the file is closed', () => {
    const dir = tempDir();
    const big = join(dir, 'big');
    const small = join(dir, 'small');
    const lines = traced(
      dir,
      `for (const [path, mib] of [[${JSON.stringify(big)}, 40], [${JSON.stringify(small)}, 15]]) {
        const fd = fs.openSync(path, 'wx');
        const wb = new EarlyWriteback();
        for (let i = 0; i < mib; i++) { fs.writeSync(fd, MiB); wb.wrote(fd, MiB.length); if (i % 16 === 15) await pause(); }
        fs.closeSync(fd);
      }`,
    );
    const b = created(lines, big);
    const syncs = earlySyncs(lines, b.fd, b.at);
    // At 16 and 32 MiB; each finished before the next (a pause after each mark).
    expect(syncs.reopened.length).toBe(2);
    expect(syncs.synced.length).toBe(2);
    for (const at of syncs.synced) expect(at).toBeLessThan(closedAt(lines, b.fd, b.at));
    // The writer's own descriptor is never the one synced: it may be closed at any time.
    expect(syncedItself(lines, b.fd)).toBe(false);
    // Under the mark, nothing starts early: the flush syncs it.
    const s = created(lines, small);
    expect(earlySyncs(lines, s.fd, s.at).reopened).toEqual([]);
  });

  it('has one sync out at a time per thread: a file that passes its mark meanwhile starts its own at its next write after', () => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const lines = traced(
      dir,
      `const fa = fs.openSync(${JSON.stringify(a)}, 'wx'), fb = fs.openSync(${JSON.stringify(b)}, 'wx');
      const wa = new EarlyWriteback(), wb = new EarlyWriteback();
      // Both pass 16 MiB with no pause: a's sync is out when b passes its mark.
      for (let i = 0; i < 20; i++) { fs.writeSync(fa, MiB); wa.wrote(fa, MiB.length); }
      for (let i = 0; i < 20; i++) { fs.writeSync(fb, MiB); wb.wrote(fb, MiB.length); }
      await pause();
      // a's sync is done: b's next write starts b's.
      fs.writeSync(fb, MiB); wb.wrote(fb, MiB.length);
      await pause();
      fs.closeSync(fa); fs.closeSync(fb);`,
    );
    const oa = created(lines, a);
    const ob = created(lines, b);
    const aSyncs = earlySyncs(lines, oa.fd, oa.at);
    const bSyncs = earlySyncs(lines, ob.fd, ob.at);
    expect(aSyncs.synced.length).toBe(1);
    expect(bSyncs.synced.length).toBe(1);
    expect(bSyncs.reopened[0]!).toBeGreaterThan(aSyncs.synced[0]!);
  });
});
