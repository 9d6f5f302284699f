import * as fs from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { listingStands, SETTLE_MS, type DirectoryStamp, type Listing } from '../../../src/core/serve/directoryListing.js';
import { tempDir } from '../../helpers/fixtures.js';

const stamp: DirectoryStamp = { ino: 42, ctimeMs: 1_800_000_000_000.123, mtimeMs: 1_800_000_000_000.123, nlink: 4, size: 4096 };
const listing = (readAtMs: number): Listing<string[]> => ({ stamp, readAtMs, entries: ['a', 'b'] });

describe('listingStands', () => {
  it('trusts a listing read a second or more after the directory last changed, while its stamp is the same', () => {
    expect(listingStands(listing(stamp.ctimeMs + SETTLE_MS), { ...stamp })).toBe(true);
    expect(listingStands(listing(stamp.ctimeMs + 60_000), { ...stamp })).toBe(true);
  });

  it('reads again when the listing was read within a second of the change: a second change may share the tick', () => {
    expect(listingStands(listing(stamp.ctimeMs + SETTLE_MS - 1), { ...stamp })).toBe(false);
    expect(listingStands(listing(stamp.ctimeMs), { ...stamp })).toBe(false);
  });

  it('reads again when anything in the stamp differs, and when there is no listing', () => {
    const settled = listing(stamp.ctimeMs + 5_000);
    for (const changed of [{ ino: 43 }, { ctimeMs: stamp.ctimeMs + 0.001 }, { mtimeMs: stamp.mtimeMs - 1 }, { nlink: 3 }, { size: 8192 }]) {
      expect(listingStands(settled, { ...stamp, ...changed }), JSON.stringify(changed)).toBe(false);
    }
    expect(listingStands(undefined, stamp)).toBe(false);
  });

  describe('on a real directory', () => {
    const dir = tempDir('airlock-listing-');
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('each change after a settled listing shows in the stamp: an entry added, renamed, removed', async () => {
      fs.mkdirSync(join(dir, 'one'));
      await sleep(SETTLE_MS + 50);
      const changes: [string, () => void][] = [
        ['added', () => fs.mkdirSync(join(dir, 'two'))],
        ['renamed', () => fs.renameSync(join(dir, 'two'), join(dir, 'three'))],
        ['removed', () => fs.rmdirSync(join(dir, 'three'))],
      ];
      for (const [what, change] of changes) {
        const before = fs.statSync(dir);
        const read: Listing<string[]> = { stamp: before, readAtMs: Date.now(), entries: fs.readdirSync(dir) };
        expect(listingStands(read, fs.statSync(dir)), `${what}: the listing stands before the change`).toBe(true);
        change();
        expect(listingStands(read, fs.statSync(dir)), `${what}: the stamp shows the change`).toBe(false);
        await sleep(SETTLE_MS + 50); // the next listing is read once this change has settled
      }
    });
  });
});
