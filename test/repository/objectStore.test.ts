import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { hashFile, OBJECT_MODE, ObjectStore, TMP_LANES } from '../../src/repository/objectStore.js';
import { StoreThreads } from '../../src/repository/storeThreads.js';
import { created, earlySyncs, stracedScript } from '../helpers/syscalls.js';
import { cleanTempDirsAfterEach, collect, patternBytes, re, rejectsWith, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const b3 = (bytes: Uint8Array): string => blake3(bytes).toString('hex');

function newStore(): { root: string; layout: RepositoryLayout; store: ObjectStore } {
  const root = tempDir();
  const layout = new RepositoryLayout(root);
  return { root, layout, store: new ObjectStore(layout) };
}

function writeSource(content: Uint8Array | string, name = 'source.bin'): string {
  const dir = tempDir('airlock-src-');
  const path = join(dir, name);
  fs.writeFileSync(path, content);
  return path;
}

async function* chunksOf(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

function tmpEntries(layout: RepositoryLayout): string[] {
  return fs.existsSync(layout.tmpDir) ? fs.readdirSync(layout.tmpDir) : [];
}

async function listAll(store: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids;
}

/** Adds `content`, flushes, and returns the id. */
async function stored(store: ObjectStore, content: Buffer): Promise<string> {
  const { id } = await store.addStream(chunksOf(content), 'test');
  await store.flush();
  return id;
}

describe('ObjectStore.addFile / addStream', () => {
  it('addFile returns the BLAKE3 id and the size of the file', async () => {
    const { store } = newStore();
    const content = patternBytes(10_000, 3);
    const result = await store.addFile(writeSource(content));
    expect(result).toEqual({ id: b3(content), size: 10_000 });
  });

  it('addFile hashes a file spanning several read chunks (> 1 MiB)', async () => {
    const { store } = newStore();
    const content = patternBytes(2 * 1024 * 1024 + 17, 9);
    const result = await store.addFile(writeSource(content));
    expect(result.id).toBe(b3(content));
    expect(result.size).toBe(content.length);
    await store.flush();
    expect(fs.readFileSync(store.path(result.id)).equals(content)).toBe(true);
  });

  it('addStream hashes the concatenation of its chunks', async () => {
    const { store } = newStore();
    const result = await store.addStream(chunksOf('hello, ', 'air', 'lock'), 'stream');
    expect(result).toEqual({ id: b3(Buffer.from('hello, airlock')), size: 14 });
  });

  it('an empty file is a valid object', async () => {
    const { store } = newStore();
    const result = await store.addFile(writeSource(''));
    expect(result).toEqual({ id: b3(Buffer.alloc(0)), size: 0 });
    await store.flush();
    expect(fs.statSync(store.path(result.id)).size).toBe(0);
  });

  it('an object becomes visible at its path only after flush()', async () => {
    const { store, layout } = newStore();
    const content = Buffer.from('pending until flushed');
    const { id } = await store.addFile(writeSource(content));
    const path = store.path(id);
    expect(path).toBe(join(layout.root, 'objects', 'v1', id.slice(0, 2), id));
    expect(store.hasSync(id)).toBe(true);
    expect(store.hasSync(id)).toBe(true);
    expect(fs.existsSync(path)).toBe(false);
    expect(tmpEntries(layout)).toHaveLength(1);

    await store.flush();
    expect(fs.existsSync(path)).toBe(true);
    expect(fs.readFileSync(path).equals(content)).toBe(true);
    expect(tmpEntries(layout)).toEqual([]);
    expect(store.hasSync(id)).toBe(true);
  });

  it('a rename that fails fails the flush with its own error, once the renames under way are done; none is left half-done', async () => {
    const { store, layout } = newStore();
    const contents = Array.from({ length: 40 }, (_, i) => Buffer.from(`object ${i}`));
    const ids: string[] = [];
    for (const content of contents) ids.push((await store.addBuffer(content, 'test')).id);
    // One temp taken away before the flush: its rename finds nothing.
    const temps = tmpEntries(layout);
    expect(temps).toHaveLength(40);
    const lost = temps[17]!;
    fs.rmSync(join(layout.tmpDir, lost));
    const failed = await store.flush().then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(failed?.code).toBe('ENOENT');
    expect(failed?.path).toBe(join(layout.tmpDir, lost));
    // Renames stop at the failure: each object is either in place, whole, or still a temp.
    const renamed = ids.filter((id) => fs.existsSync(store.path(id)));
    expect(renamed.length).toBeGreaterThan(0);
    for (const id of renamed) expect(b3(fs.readFileSync(store.path(id)))).toBe(id);
    expect(renamed.length + tmpEntries(layout).length).toBe(39);
    // The store says present exactly the objects that reached their names: the failed batch is no longer taken as on its way.
    for (const id of ids) expect(store.hasSync(id), id).toBe(fs.existsSync(store.path(id)));
  });

  it('a flush renames at most 8 at once, starts none after a failure, and settles only when every rename it started is done', async () => {
    // fs.rename slowed down and counted (the store calls it through the module's live binding).
    const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const realRename = cjsFs.rename;
    let running = 0;
    let most = 0;
    let started = 0;
    let afterFailure = 0;
    let failed = false;
    let failAt = -1;
    cjsFs.rename = ((from: string, to: string, done: (err: NodeJS.ErrnoException | null) => void) => {
      const k = started++;
      if (failed) afterFailure++;
      running++;
      most = Math.max(most, running);
      setTimeout(() => {
        if (k === failAt) {
          running--;
          failed = true;
          done(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
          return;
        }
        realRename(from, to, (err) => {
          running--;
          done(err);
        });
      }, 1 + (k % 5) * 3);
    }) as typeof fs.rename;
    syncBuiltinESMExports();
    try {
      for (const [count, fail] of [
        [30, -1],
        [30, 12],
      ] as const) {
        const { store } = newStore();
        for (let i = 0; i < count; i++) await store.addBuffer(Buffer.from(`object ${fail} ${i}`), 'test');
        running = most = started = afterFailure = 0;
        failed = false;
        failAt = fail;
        const outcome = await store.flush().then(
          () => 'done',
          (e: unknown) => (e as Error).message,
        );
        expect(running).toBe(0); // nothing still renaming when the flush settled
        expect(most).toBe(8);
        expect(afterFailure).toBe(0);
        if (fail < 0) {
          expect(outcome).toBe('done');
          expect(started).toBe(count);
        } else {
          expect(outcome).toBe('injected EIO');
          expect(started).toBeLessThan(count);
        }
      }
    } finally {
      cjsFs.rename = realRename;
      syncBuiltinESMExports();
    }
  });

  it('an unknown id is not present', async () => {
    const { store } = newStore();
    const id = b3(Buffer.from('never added'));
    expect(store.hasSync(id)).toBe(false);
    expect(store.hasSync(id)).toBe(false);
  });

  it('identical content added twice yields one object and no leftover temp files', async () => {
    const { store, layout } = newStore();
    const content = Buffer.from('same bytes twice');
    const first = await store.addFile(writeSource(content, 'a'));
    const second = await store.addStream(chunksOf('same ', 'bytes twice'), 'b');
    expect(second).toEqual(first);
    // The second copy was dropped at once: only one temp waits for the flush.
    expect(tmpEntries(layout)).toHaveLength(1);
    await store.flush();
    expect(tmpEntries(layout)).toEqual([]);
    expect(await listAll(store)).toEqual([first.id]);

    // And once flushed, adding it again drops the copy too.
    const third = await store.addFile(writeSource(content, 'c'));
    expect(third).toEqual(first);
    expect(tmpEntries(layout)).toEqual([]);
    await store.flush();
    expect(await listAll(store)).toEqual([first.id]);
    expect(fs.readFileSync(store.path(first.id)).equals(content)).toBe(true);
  });

  it('identical content added concurrently yields one object', async () => {
    const { store, layout } = newStore();
    const content = patternBytes(300_000, 5);
    const sources = [0, 1, 2, 3, 4].map((i) => writeSource(content, `copy${i}`));
    const results = await Promise.all(sources.map((s) => store.addFile(s)));
    for (const r of results) expect(r).toEqual({ id: b3(content), size: content.length });
    await store.flush();
    expect(tmpEntries(layout)).toEqual([]);
    expect(await listAll(store)).toEqual([b3(content)]);
  });

  it('object files are read-only (0444)', async () => {
    const { store } = newStore();
    const { id } = await store.addFile(writeSource('read only'));
    await store.flush();
    expect(OBJECT_MODE).toBe(0o444);
    expect(fs.statSync(store.path(id)).mode & 0o7777).toBe(0o444);
  });

  it('a failing stream leaves no temp file and no object', async () => {
    const { store, layout } = newStore();
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('partial');
      throw new Error('source went away');
    }
    await expect(store.addStream(failing(), 'broken')).rejects.toThrow('source went away');
    expect(tmpEntries(layout)).toEqual([]);
    await store.flush();
    expect(await listAll(store)).toEqual([]);
    expect(store.hasSync(b3(Buffer.from('partial')))).toBe(false);
  });

  it('adding a source file that cannot be opened rejects (naming it) without an uncaught exception, and leaves no temp file', async () => {
    // A file can vanish between the walk and its ingest (a mirror sync running beside
    // `snapshot create`). The failure must reach the caller as a rejection; an 'error'
    // event with no listener would instead kill the whole process.
    const { store, layout } = newStore();
    const missing = join(tempDir('airlock-src-'), 'vanished-file');
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => {
      uncaught.push(err);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      await expect(store.addFile(missing)).rejects.toThrow(/vanished-file/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(tmpEntries(layout)).toEqual([]);
  });
});

describe('ObjectStore.readVerified', () => {
  it('yields the bytes of an intact object', async () => {
    const { store } = newStore();
    const content = patternBytes(2_500_000, 11);
    const { id, size } = await store.addFile(writeSource(content));
    await store.flush();
    expect((await collect(store.readVerified(id))).equals(content)).toBe(true);
    expect((await collect(store.readVerified(id, size))).equals(content)).toBe(true);
  });

  it('throws OBJECT_CORRUPT naming the object and its path when a byte was changed on disk', async () => {
    const { store } = newStore();
    const content = Buffer.from('the original bytes of an R package');
    const id = await stored(store, content);
    const path = store.path(id);
    fs.chmodSync(path, 0o644);
    const altered = Buffer.from(content);
    altered[5] = altered[5]! ^ 0x01;
    fs.writeFileSync(path, altered);

    const err = await rejectsWith(collect(store.readVerified(id)), 'OBJECT_CORRUPT', re(id));
    expect(err.message).toContain(b3(altered));
    expect(err.where).toBe(path);
    expect(err.hint).toMatch(/verify/);
  });

  it('throws OBJECT_CORRUPT when the object on disk has grown or shrunk', async () => {
    const { store } = newStore();
    const content = Buffer.from('a file that will be truncated');
    const id = await stored(store, content);
    const path = store.path(id);
    fs.chmodSync(path, 0o644);
    fs.truncateSync(path, 4);
    const shrunk = await rejectsWith(collect(store.readVerified(id, content.length)), 'OBJECT_CORRUPT', re(id));
    expect(shrunk.where).toBe(path);

    fs.writeFileSync(path, Buffer.concat([content, Buffer.from('x')]));
    const grown = await rejectsWith(collect(store.readVerified(id)), 'OBJECT_CORRUPT', re(id));
    expect(grown.where).toBe(path);
  });

  it('throws OBJECT_CORRUPT when the caller expects another size', async () => {
    const { store } = newStore();
    const content = Buffer.from('twelve bytes');
    const id = await stored(store, content);
    const err = await rejectsWith(collect(store.readVerified(id, content.length + 1)), 'OBJECT_CORRUPT', re(id));
    expect(err.where).toBe(store.path(id));
  });

  it('throws OBJECT_CORRUPT "missing" for an object not in the store', async () => {
    const { store } = newStore();
    const id = b3(Buffer.from('absent'));
    const err = await rejectsWith(collect(store.readVerified(id)), 'OBJECT_CORRUPT', /missing/);
    expect(err.message).toContain(id);
    expect(err.where).toBe(store.path(id));
  });

  it('throws OBJECT_CORRUPT "missing" for an object removed after flush', async () => {
    const { store } = newStore();
    const id = await stored(store, Buffer.from('soon gone'));
    await store.remove(id);
    await rejectsWith(collect(store.readVerified(id)), 'OBJECT_CORRUPT', /missing/);
  });
});

describe('ObjectStore.list / remove, hashFile', () => {
  it('list() yields every id present, and nothing for an empty store', async () => {
    const { store } = newStore();
    expect(await listAll(store)).toEqual([]);
    const contents = Array.from({ length: 20 }, (_, i) => Buffer.from(`object number ${i}`));
    for (const c of contents) await store.addStream(chunksOf(c), 'test');
    // Pending objects are not listed: list() shows only what is on disk.
    expect(await listAll(store)).toEqual([]);
    await store.flush();
    const expected = contents.map(b3).sort();
    expect(await listAll(store)).toEqual(expected);
  });

  it('list() ignores files that are not object names', async () => {
    const { store, layout } = newStore();
    const id = await stored(store, Buffer.from('real object'));
    fs.writeFileSync(join(layout.objectDir(id), '.tmp-stray'), 'x');
    fs.writeFileSync(join(layout.objectDir(id), 'README'), 'x');
    expect(await listAll(store)).toEqual([id]);
  });

  it('remove() deletes the object and tolerates a missing one', async () => {
    const { store } = newStore();
    const keep = await stored(store, Buffer.from('keep me'));
    const drop = await stored(store, Buffer.from('drop me'));
    await store.remove(drop);
    expect(fs.existsSync(store.path(drop))).toBe(false);
    expect(store.hasSync(drop)).toBe(false);
    expect(await listAll(store)).toEqual([keep]);
    await expect(store.remove(drop)).resolves.toBeUndefined();
  });

  it('hashFile() of an object returns its actual hash, or undefined when missing', async () => {
    const { store } = newStore();
    const id = await stored(store, Buffer.from('hash me on disk'));
    expect(await hashFile(store.path(id))).toBe(id);
    fs.chmodSync(store.path(id), 0o644);
    fs.writeFileSync(store.path(id), 'changed');
    expect(await hashFile(store.path(id))).toBe(b3(Buffer.from('changed')));
    await store.remove(id);
    expect(await hashFile(store.path(id))).toBeUndefined();
  });
});

describe('ObjectStore.linkExisting', () => {
  it('hardlinks the file into the store (same inode), read-only, and returns true', async () => {
    const { store } = newStore();
    const content = Buffer.from('adopted without copying');
    const source = writeSource(content);
    const id = b3(content);
    expect(await store.linkExisting(source, id)).toBe(true);
    const path = store.path(id);
    expect(fs.statSync(path).ino).toBe(fs.statSync(source).ino);
    expect(fs.statSync(path).nlink).toBe(2);
    expect(fs.statSync(path).mode & 0o777).toBe(0o444);
    expect(store.hasSync(id)).toBe(true);
    expect((await collect(store.readVerified(id))).equals(content)).toBe(true);
  });

  it('returns true without linking when the object already exists', async () => {
    const { store } = newStore();
    const content = Buffer.from('already there');
    const id = await stored(store, content);
    const inodeBefore = fs.statSync(store.path(id)).ino;
    const source = writeSource(content);
    expect(await store.linkExisting(source, id)).toBe(true);
    expect(fs.statSync(store.path(id)).ino).toBe(inodeBefore);
    expect(fs.statSync(source).nlink).toBe(1);
  });

  it('returns true when the object is pending (added, not yet flushed)', async () => {
    const { store } = newStore();
    const content = Buffer.from('pending object');
    const { id } = await store.addStream(chunksOf('pending object'), 'test');
    expect(await store.linkExisting(writeSource(content), id)).toBe(true);
    await store.flush();
    expect(fs.readFileSync(store.path(id)).equals(content)).toBe(true);
  });

  it('returns false across filesystems (EXDEV) and leaves no object', async () => {
    const { store, root } = newStore();
    // /dev/shm is a tmpfs, a different filesystem from the temp dir on this machine.
    const otherFs = fs.mkdtempSync('/dev/shm/airlock-xdev-');
    try {
      expect(fs.statSync(otherFs).dev).not.toBe(fs.statSync(root).dev);
      const content = Buffer.from('on another filesystem');
      const source = join(otherFs, 'f');
      fs.writeFileSync(source, content);
      const id = b3(content);
      expect(await store.linkExisting(source, id)).toBe(false);
      expect(store.hasSync(id)).toBe(false);
      expect(fs.existsSync(store.path(id))).toBe(false);
    } finally {
      fs.rmSync(otherFs, { recursive: true, force: true });
    }
  });
});

describe('hashFile', () => {
  const MiB = 1024 * 1024;

  it.each([
    ['empty', 0],
    ['small', 1234],
    ['exactly 4 MiB (whole-read path)', 4 * MiB],
    ['4 MiB + 1 (streamed path)', 4 * MiB + 1],
    ['9 MiB + 7 (streamed, several chunks)', 9 * MiB + 7],
  ])('equals blake3 for a %s file', async (_name, size) => {
    const content = patternBytes(size, size + 1);
    const path = writeSource(content);
    expect(await hashFile(path)).toBe(b3(content));
  });

  it('returns undefined for a missing file', async () => {
    expect(await hashFile(join(tempDir(), 'missing'))).toBeUndefined();
  });
});

describe('ObjectStore.readManyVerified (small objects read on the store threads, for bundle create)', () => {
  it('reads a batch in order, each object checked against its id; a damaged, cut or grown object is OBJECT_CORRUPT, a missing one names its path', async () => {
    const { store } = newStore();
    const contents = [Buffer.from('alpha\n'), Buffer.alloc(0), patternBytes(70_000), Buffer.from('omega')];
    const ids: string[] = [];
    for (const c of contents) ids.push(await stored(store, c));
    const pool = StoreThreads.forWork(Number.MAX_SAFE_INTEGER, 0, 2);
    try {
      const read = await store.readManyVerified(pool, ids.map((id, i) => ({ id, size: contents[i]!.length })));
      expect(read.map((b) => b.toString('hex'))).toEqual(contents.map((c) => c.toString('hex')));
      const victim = store.path(ids[2]!);
      fs.chmodSync(victim, 0o644);
      const original = fs.readFileSync(victim);
      const damaged = Buffer.from(original);
      damaged[100] = damaged[100]! ^ 1;
      for (const [what, bytes, message] of [
        ['a flipped byte', damaged, /hashes to|damaged|does not match/],
        ['one byte cut', original.subarray(0, -1), /hashes to|damaged|does not match/],
        ['one byte added', Buffer.concat([original, Buffer.from([0])]), /bytes long/],
      ] as const) {
        fs.writeFileSync(victim, bytes);
        const err = await rejectsWith(store.readManyVerified(pool, [{ id: ids[2]!, size: contents[2]!.length }]), 'OBJECT_CORRUPT', message);
        expect(err.where, what).toBe(victim);
      }
      // An intact object the manifest gives a larger size: its bytes hash to its id, but what
      // follows them in a reused buffer is stale, so it must be refused by its length.
      fs.writeFileSync(victim, original);
      const shared = new SharedArrayBuffer(original.length + 20);
      Buffer.from(shared).fill(0xab);
      const short = await rejectsWith(store.readManyVerified(pool, [{ id: ids[2]!, size: original.length + 10 }], shared), 'OBJECT_CORRUPT', /intact but 70000 bytes long/);
      expect(short.where).toBe(victim);
      // Read into the buffer given: the objects are views of it, nothing new was made.
      const views = await store.readManyVerified(pool, [{ id: ids[0]!, size: 6 }, { id: ids[2]!, size: original.length }], shared);
      expect(views.every((v) => v.buffer === shared)).toBe(true);
      expect(Buffer.concat(views).equals(Buffer.concat([contents[0]!, original]))).toBe(true);
      fs.rmSync(victim);
      const missing = await rejectsWith(store.readManyVerified(pool, [{ id: ids[0]!, size: 6 }, { id: ids[2]!, size: contents[2]!.length }]), 'OBJECT_CORRUPT', /is missing from the store/);
      expect(missing.where).toBe(victim);
    } finally {
      await pool.close();
    }
  });
});

describe('ObjectStore.tmpDirForWriters (where writers on other threads put their temp files)', () => {
  it('gives tmp/ for lane 0 and a directory of its own for each other lane; temps from every lane become objects at the flush', async () => {
    const { store, layout } = newStore();
    expect(store.tmpDirForWriters()).toBe(layout.tmpDir);
    const ids: string[] = [];
    for (let lane = 1; lane <= TMP_LANES; lane++) {
      const dir = store.tmpDirForWriters(lane);
      expect(dir).toBe(join(layout.tmpDir, `lane-${lane}`));
      expect(fs.statSync(dir).isDirectory()).toBe(true);
      const data = Buffer.from(`written in lane ${lane}`);
      const temp = join(dir, 'object.tmp');
      fs.writeFileSync(temp, data);
      const id = b3(data);
      ids.push(id);
      await store.queueTemp(temp, id, data.length);
    }
    await store.flush();
    for (const id of ids) expect(b3(fs.readFileSync(store.path(id)))).toBe(id);
    // tmp/ removed between commands: a lane is made again when asked for.
    fs.rmSync(layout.tmpDir, { recursive: true });
    expect(fs.statSync(store.tmpDirForWriters(3)).isDirectory()).toBe(true);
    for (const lane of [-1, TMP_LANES + 1, 1.5]) expect(() => store.tmpDirForWriters(lane)).toThrow(RangeError);
  });
});

describe('ObjectStore.stage (an object of known id written as its bytes arrive: apply)', () => {
  it('starts a large object for the disk while it is written, before the flush syncs the store', () => {
    const { root, layout } = newStore();
    const bytes = 40 * 1024 * 1024;
    const id = b3(Buffer.alloc(bytes, 9));
    // The compiled store, in a node of its own under strace: 40 MiB staged in 1 MiB pieces,
    // each sync waited out before the next piece, then the flush.
    const lines = stracedScript(
      root,
      ['src/repository/layout.js', 'src/repository/objectStore.js', 'src/fs/writeback.js'],
      `const store = new m1.ObjectStore(new m0.RepositoryLayout(${JSON.stringify(root)}));
      const staged = store.stage(${JSON.stringify(id)});
      const piece = Buffer.alloc(1024 * 1024, 9);
      for (let i = 0; i < 40; i++) { staged.write(piece); await m2.writebackIdle(); }
      await staged.finish();
      await store.flush();`,
    );
    const temp = /"([^"]+)"/.exec(lines.find((l) => l.includes(`.tmp-${id}-`) && l.includes('O_CREAT')) ?? '')?.[1] ?? `no temp for ${id}`;
    const { fd, at } = created(lines, temp);
    const syncs = earlySyncs(lines, temp, fd);
    // At 16 and 32 MiB.
    expect(syncs.synced.length).toBe(2);
    // Before the flush's sync of the filesystem (coreutils sync, run as a process).
    const flushAt = lines.findIndex((l, i) => i > at && /execve\("[^"]*\/sync"/.test(l));
    expect(flushAt).toBeGreaterThan(at);
    expect(syncs.synced[1]!).toBeLessThan(flushAt);
    expect(syncs.syncedOwn).toEqual([]);
    expect(fs.statSync(layout.objectPath(id)).size).toBe(bytes);
  });
});
