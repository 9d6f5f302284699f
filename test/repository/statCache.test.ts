import * as fs from 'node:fs';
import { join } from 'node:path';
import { pack, unpackMultiple } from 'msgpackr';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/core/objectId.js';
import type { WalkedFile } from '../../src/fs/walk.js';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { StatCache } from '../../src/repository/statCache.js';
import { comparePaths } from '../../src/core/paths.js';
import { cleanTempDirsAfterEach, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const SCAN = 1_750_000_000_000;
const OLD = SCAN - 60_000;

function file(path: string, overrides: Partial<WalkedFile> = {}): WalkedFile {
  return { path, size: 42, mode: 0o100644, mtimeMs: OLD + 0.123456, ctimeMs: OLD + 0.654321, ino: 1234567, ...overrides };
}

function setup(): { layout: RepositoryLayout; source: string } {
  return { layout: new RepositoryLayout(tempDir()), source: '/srv/mirror' };
}

/** Remembers through `fill`, saves the walked files it was given, and loads the cache again. */
async function roundTrip(layout: RepositoryLayout, source: string, fill: (cache: Pick<StatCache, 'remember'>) => void): Promise<StatCache> {
  const cache = await StatCache.load(layout, source);
  const walked: WalkedFile[] = [];
  fill({
    remember: (f, id, scan) => {
      walked.push(f);
      cache.remember(f, id, scan);
    },
  });
  await cache.save(walked.sort((a, b) => comparePaths(a.path, b.path))); // as createSnapshot has them
  return StatCache.load(layout, source);
}

describe('StatCache', () => {
  it('a new cache knows nothing', async () => {
    const { layout, source } = setup();
    const cache = await StatCache.load(layout, source);
    expect(await cache.lookup(file('a'))).toBeUndefined();
  });

  it('remembers ids by (size, mtime, ctime, inode) across save and load', async () => {
    const { layout, source } = setup();
    const a = file('dir/a.tar.gz');
    const b = file('b', { size: 7, ino: 2 ** 40 + 3, mtimeMs: OLD - 12345.678901, ctimeMs: OLD - 0.000001 });
    const idA = hashBytes(Buffer.from('a'));
    const idB = hashBytes(Buffer.from('b'));
    const loaded = await roundTrip(layout, source, (c) => {
      c.remember(a, idA, SCAN);
      c.remember(b, idB, SCAN);
    });
    expect(await loaded.lookup(a)).toBe(idA);
    expect(await loaded.lookup(b)).toBe(idB);
    expect(fs.readdirSync(layout.statCacheDir)).toHaveLength(1);
    expect(fs.readdirSync(layout.statCacheDir)[0]).toMatch(/^[0-9a-f]{32}\.msgpack$/);
  });

  it.each([
    ['size', { size: 43 }],
    ['mtime', { mtimeMs: OLD + 1 }],
    ['mtime by a microsecond', { mtimeMs: OLD + 0.124456 }],
    ['ctime', { ctimeMs: OLD + 1 }],
    ['inode', { ino: 7654321 }],
  ] as const)('a changed %s misses', async (_what, change) => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('x'));
    const loaded = await roundTrip(layout, source, (c) => c.remember(file('x'), id, SCAN));
    expect(await loaded.lookup(file('x'))).toBe(id);
    // Each lookup lets its row go: the changed file is asked of the cache as loaded afresh.
    const again = await StatCache.load(layout, source);
    expect(await again.lookup(file('x', change))).toBeUndefined();
    expect(await again.lookup(file('y'))).toBeUndefined();
  });

  it('does not remember files modified or changed within 100 ms of the scan (racy clean)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('racy'));
    const racyMtime = file('racy-mtime', { mtimeMs: SCAN - 50 });
    const racyCtime = file('racy-ctime', { ctimeMs: SCAN - 100 });
    const afterStart = file('after-start', { mtimeMs: SCAN + 5, ctimeMs: SCAN + 5 });
    const justOld = file('just-old', { mtimeMs: SCAN - 101, ctimeMs: SCAN - 101 });
    const loaded = await roundTrip(layout, source, (c) => {
      for (const f of [racyMtime, racyCtime, afterStart, justOld]) c.remember(f, id, SCAN);
    });
    expect(await loaded.lookup(racyMtime)).toBeUndefined();
    expect(await loaded.lookup(racyCtime)).toBeUndefined();
    expect(await loaded.lookup(afterStart)).toBeUndefined();
    expect(await loaded.lookup(justOld)).toBe(id);
  });

  it('keeps only what was remembered in the last run (files gone from the tree are forgotten)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('k'));
    const first = await roundTrip(layout, source, (c) => {
      c.remember(file('kept'), id, SCAN);
      c.remember(file('dropped'), id, SCAN);
    });
    expect(await first.lookup(file('dropped'))).toBe(id);
    const second = await roundTrip(layout, source, (c) => c.remember(file('kept'), id, SCAN));
    expect(await second.lookup(file('kept'))).toBe(id);
    expect(await second.lookup(file('dropped'))).toBeUndefined();
  });

  it('lets a row go once looked up (a snapshot looks each file up once; the rows shrink as the tree grows)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('once'));
    const loaded = await roundTrip(layout, source, (c) => c.remember(file('once'), id, SCAN));
    expect(await loaded.lookup(file('once'))).toBe(id);
    expect(await loaded.lookup(file('once'))).toBeUndefined();
  });

  it('saves and loads a cache of several slices (20,000 files) row for row', async () => {
    const { layout, source } = setup();
    const files = Array.from({ length: 20_000 }, (_, i) => file(`d${i % 97}/f${i}`, { size: i, ino: 1000 + i }));
    const ids = files.map((f) => hashBytes(Buffer.from(f.path)));
    const loaded = await roundTrip(layout, source, (c) => files.forEach((f, i) => c.remember(f, ids[i]!, SCAN)));
    const idOf = new Map(files.map((f, i) => [f, ids[i]!]));
    const inOrder = [...files].sort((a, b) => comparePaths(a.path, b.path));
    const found = [];
    for (const f of inOrder) found.push(await loaded.lookup(f));
    expect(found).toEqual(inOrder.map((f) => idOf.get(f)));
    // Written as slices: 8,192 + 8,192 + 3,616 rows, three msgpack values one after another.
    const [name] = fs.readdirSync(layout.statCacheDir);
    const [header, ...slices] = unpackMultiple(fs.readFileSync(join(layout.statCacheDir, name!))) as [string, ...unknown[][]];
    expect(header).toMatch(/sorted/);
    expect(slices.map((rows) => rows.length)).toEqual([8192, 8192, 3616]);
  });

  it('reads a cache alongside the files asked in manifest order, holding a slice of rows at a time', async () => {
    const { layout, source } = setup();
    const files = Array.from({ length: 20_000 }, (_, i) => file(`d${String(i % 97).padStart(2, '0')}/f${String(i).padStart(5, '0')}`, { ino: i })).sort((a, b) => comparePaths(a.path, b.path));
    const id = hashBytes(Buffer.from('sliced'));
    const loaded = await roundTrip(layout, source, (c) => files.forEach((f) => c.remember(f, id, SCAN)));
    expect(loaded.heldRows).toBe(0);
    expect(await loaded.lookup(files[0]!)).toBe(id);
    expect(loaded.heldRows).toBe(8191); // the rest of the first slice, nothing more
    for (const f of files.slice(1, 9000)) expect(await loaded.lookup(f)).toBe(id);
    expect(loaded.heldRows).toBe(8192 * 2 - 9000);
    for (const f of files.slice(9000)) expect(await loaded.lookup(f)).toBe(id);
    expect(loaded.heldRows).toBe(0);
  });

  it('leaves at most a few decoded slices and one read waiting in the stream, however long the cache', async () => {
    const { layout, source } = setup();
    await roundTrip(layout, source, () => undefined);
    const [name] = fs.readdirSync(layout.statCacheDir);
    const id = hashBytes(Buffer.from('long'));
    const slices = [pack('airlock-stat-cache sorted 1')];
    for (let s = 0; s < 30; s++) slices.push(pack(Array.from({ length: 8192 }, (_, i) => [`d${String(s).padStart(3, '0')}/f${String(i).padStart(5, '0')}`, 42, OLD, OLD, i, id])));
    fs.writeFileSync(join(layout.statCacheDir, name!), Buffer.concat(slices)); // 30 slices, about 30 MB
    const loaded = await StatCache.load(layout, source);
    expect(await loaded.lookup(file('d000/f00000', { ino: 0, mtimeMs: OLD, ctimeMs: OLD }))).toBe(id);
    await sleep(500); // the stream reads ahead as far as it is let
    expect(loaded.buffered.slices).toBeLessThanOrEqual(5);
    expect(loaded.buffered.reads).toBeLessThanOrEqual(1);
    loaded.forget();
    expect(loaded.heldRows).toBe(0);
  });

  it('passes over the rows of files gone from the tree, and still finds a file asked out of order', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('order'));
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((p) => file(p));
    const loaded = await roundTrip(layout, source, (cache) => [a, b, c, d].forEach((f) => cache.remember(f!, id, SCAN)));
    expect(await loaded.lookup(c!)).toBe(id); // a and b passed over: kept aside
    expect(loaded.heldRows).toBe(3);
    expect(await loaded.lookup(a!)).toBe(id);
    expect(await loaded.lookup(file('bb'))).toBeUndefined(); // a new file between rows
    expect(await loaded.lookup(d!)).toBe(id);
    expect(await loaded.lookup(file('e'))).toBeUndefined();
    expect(loaded.heldRows).toBe(1); // b's row: a file gone from the tree
  });

  it('reads a cache written in walk order, without the header, in slices (the form before sorted caches)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('walk'));
    await roundTrip(layout, source, (c) => c.remember(file('seed'), id, SCAN));
    const [name] = fs.readdirSync(layout.statCacheDir);
    const walkOrder = ['z/last', 'a/first', 'm/middle', 'b/second'].map((p) => file(p));
    const row = (f: WalkedFile) => [f.path, f.size, f.mtimeMs, f.ctimeMs, f.ino, id];
    fs.writeFileSync(join(layout.statCacheDir, name!), Buffer.concat([pack(walkOrder.slice(0, 2).map(row)), pack(walkOrder.slice(2).map(row))]));
    const loaded = await StatCache.load(layout, source);
    for (const f of [...walkOrder].sort((x, y) => comparePaths(x.path, y.path))) expect(await loaded.lookup(f), f.path).toBe(id);
  });

  it('reads a cache written as one array of rows (the form before slices)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('old'));
    await roundTrip(layout, source, (c) => c.remember(file('seed'), id, SCAN));
    const [name] = fs.readdirSync(layout.statCacheDir);
    const f = file('old/one');
    fs.writeFileSync(join(layout.statCacheDir, name!), pack([[f.path, f.size, f.mtimeMs, f.ctimeMs, f.ino, id]]));
    const loaded = await StatCache.load(layout, source);
    expect(await loaded.lookup(f)).toBe(id);
    expect(await loaded.lookup(file('seed'))).toBeUndefined();
  });

  it('a row whose id is not 64 lowercase hex digits is a miss (a damaged cache never names a path outside the store)', async () => {
    const { layout, source } = setup();
    await roundTrip(layout, source, () => undefined);
    const [name] = fs.readdirSync(layout.statCacheDir);
    const f = file('x');
    const good = hashBytes(Buffer.from('good'));
    const rows = ['../../../../etc/passwd', good.toUpperCase(), good.slice(1), `${good}0`].map((id, i) => [`p${i}`, f.size, f.mtimeMs, f.ctimeMs, f.ino, id]);
    rows.push(['ok', f.size, f.mtimeMs, f.ctimeMs, f.ino, good]);
    fs.writeFileSync(join(layout.statCacheDir, name!), Buffer.concat([pack('airlock-stat-cache sorted 1'), pack(rows)]));
    const loaded = await StatCache.load(layout, source);
    for (let i = 0; i < 4; i++) expect(await loaded.lookup(file(`p${i}`))).toBeUndefined();
    expect(await loaded.lookup(file('ok'))).toBe(good);
  });

  it('keeps one cache per source directory', async () => {
    const { layout } = setup();
    const id = hashBytes(Buffer.from('s'));
    await roundTrip(layout, '/srv/one', (c) => c.remember(file('f'), id, SCAN));
    const other = await StatCache.load(layout, '/srv/two');
    expect(await other.lookup(file('f'))).toBeUndefined();
    expect(await (await StatCache.load(layout, '/srv/one')).lookup(file('f'))).toBe(id);
  });

  it('an unreadable cache file is ignored (every file is hashed again)', async () => {
    const { layout, source } = setup();
    const id = hashBytes(Buffer.from('c'));
    await roundTrip(layout, source, (c) => c.remember(file('f'), id, SCAN));
    const [name] = fs.readdirSync(layout.statCacheDir);
    fs.writeFileSync(join(layout.statCacheDir, name!), Buffer.from([0xc1, 0xff, 0x00, 0x13]));
    const cache = await StatCache.load(layout, source);
    expect(await cache.lookup(file('f'))).toBeUndefined();
  });
});
