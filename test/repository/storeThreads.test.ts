import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { blake3 } from '@napi-rs/blake-hash';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { BatchQueue, StoreThreads, type StoreStream } from '../../src/repository/storeThreads.js';
import { descriptorsOf } from '../helpers/syscalls.js';
import { cleanTempDirsAfterEach, patternBytes, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const opened: StoreThreads[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

function threads(count: number): StoreThreads {
  const made = StoreThreads.forStreams(count);
  opened.push(made);
  return made;
}

/** What the digests of `bytes` must be, computed here, apart from the code under test. */
function expected(bytes: Buffer) {
  return {
    id: blake3(bytes).toString('hex'),
    size: bytes.length,
    md5: createHash('md5').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'),
  };
}

async function writeAll(stream: StoreStream, pieces: Buffer[]): Promise<void> {
  for (const piece of pieces) {
    const behind = stream.write(piece);
    if (behind) await behind;
  }
}

describe('StoreThreads.stream (a download body written and hashed on a store thread)', () => {
  it('a large body starts for the disk on its thread, and closing the threads waits for that sync to end: no descriptor of it is left open', async () => {
    const dir = tempDir();
    const temp = join(dir, 'body');
    const pool = StoreThreads.forStreams(1);
    const stream = pool.stream(temp, { md5: true, gitBlobSize: null }, null);
    // 32 MiB: the last piece passes a mark, so a sync starts just before the body ends.
    await writeAll(stream, Array.from({ length: 32 }, (_, i) => patternBytes(1024 * 1024, i)));
    await stream.finish();
    await pool.close();
    expect(descriptorsOf(temp)).toBe(0);
    expect(fs.statSync(temp).size).toBe(32 * 1024 * 1024);
  });

  it('writes 9 MiB of pieces in order on a thread and gives its BLAKE3, MD5 and git blob id; the pieces are copied, left as they were', async () => {
    const dir = tempDir();
    const data = patternBytes(9 * 1024 * 1024 + 17, 3);
    // Pieces as the HTTP client gives them: most the whole of their own memory, some slices of a larger buffer.
    const pieces: Buffer[] = [];
    const sliced: Array<{ piece: Buffer; copy: Buffer }> = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const size = Math.min(data.length - at, 40_000 + ((i * 7919) % 30_000));
      if (i % 5 === 0) {
        const parent = Buffer.alloc(size + 10);
        data.copy(parent, 5, at, at + size);
        const piece = parent.subarray(5, 5 + size);
        sliced.push({ piece, copy: Buffer.from(piece) });
        pieces.push(piece);
      } else {
        const own = Buffer.from(new ArrayBuffer(size));
        data.copy(own, 0, at, at + size);
        pieces.push(own);
      }
      at += size;
    }
    const temp = join(dir, 'body');
    const stream = threads(2).stream(temp, { md5: true, gitBlobSize: data.length }, null);
    await writeAll(stream, pieces);
    const digests = await stream.finish();
    expect(digests).toEqual(expected(data));
    expect(fs.readFileSync(temp).equals(data)).toBe(true);
    expect(fs.statSync(temp).mode & 0o777).toBe(0o444);
    // The bytes went to the thread in its slots, copied: the caller's pieces are untouched.
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
    for (const { piece, copy } of sliced) expect(piece.equals(copy)).toBe(true);
  });

  it('holds the body back once every slot of its thread is out (memory stays at the slots), and loses nothing', async () => {
    const dir = tempDir();
    const slot = 256 * 1024;
    const data = patternBytes(40 * slot, 6);
    const temp = join(dir, 'held');
    const stream = threads(1).stream(temp, { md5: false, gitBlobSize: null }, null);
    // Written without waiting: the thread cannot answer while this loop runs, so after its
    // 32 slots are sent the next piece must wait for one.
    const returned: Array<Promise<void> | undefined> = [];
    for (let i = 0; i < 33; i++) returned.push(stream.write(data.subarray(i * slot, (i + 1) * slot)));
    expect(returned.slice(0, 32).every((r) => r === undefined)).toBe(true);
    expect(returned[32]).toBeInstanceOf(Promise);
    await returned[32];
    await writeAll(stream, [data.subarray(33 * slot)]);
    expect((await stream.finish()).id).toBe(blake3(data).toString('hex'));
    expect(fs.readFileSync(temp).equals(data)).toBe(true);
  });

  it('a slot freed by one stream goes to another stream waiting for one, and both files are whole', async () => {
    const dir = tempDir();
    const slot = 256 * 1024;
    const pool = threads(1);
    const a = patternBytes(32 * slot, 7);
    const b = patternBytes(3 * slot + 5, 8);
    const first = pool.stream(join(dir, 'a'), { md5: true, gitBlobSize: null }, null);
    const second = pool.stream(join(dir, 'b'), { md5: true, gitBlobSize: null }, null);
    // The first stream takes every slot; the second must wait until the thread answers one of them.
    for (let i = 0; i < 32; i++) expect(first.write(a.subarray(i * slot, (i + 1) * slot))).toBeUndefined();
    const waiting = second.write(b.subarray(0, slot));
    expect(waiting).toBeInstanceOf(Promise);
    await waiting;
    await writeAll(second, [b.subarray(slot)]);
    const [da, db] = await Promise.all([first.finish(), second.finish()]);
    expect(da).toEqual({ ...expected(a), sha1: null });
    expect(db).toEqual({ ...expected(b), sha1: null });
    expect(fs.readFileSync(join(dir, 'a')).equals(a)).toBe(true);
    expect(fs.readFileSync(join(dir, 'b')).equals(b)).toBe(true);
  });

  it('a discarded stream gives back the slot it held: 40 discards, then a 40-slot body still goes through', async () => {
    const dir = tempDir();
    const pool = threads(1);
    for (let i = 0; i < 40; i++) {
      const stream = pool.stream(join(dir, `gone-${i}`), { md5: false, gitBlobSize: null }, null);
      expect(stream.write(patternBytes(100 * 1024, i))).toBeUndefined(); // a part of one slot, not yet sent
      stream.discard();
    }
    const data = patternBytes(40 * 256 * 1024, 99);
    const stream = pool.stream(join(dir, 'kept'), { md5: false, gitBlobSize: null }, null);
    await writeAll(stream, [data]);
    expect((await stream.finish()).size).toBe(data.length);
    expect(fs.readdirSync(dir)).toEqual(['kept']);
  });

  it('a stream the thread fails on gives its slots back with the error: 40 failed streams of 2 slots, then a 40-slot body still goes through', async () => {
    const dir = tempDir();
    const pool = threads(1);
    for (let i = 0; i < 40; i++) {
      // Its directory does not exist: the thread's open fails, for each of the stream's messages.
      const stream = pool.stream(join(dir, 'missing', `body-${i}`), { md5: false, gitBlobSize: null }, null);
      await writeAll(stream, [patternBytes(2 * 256 * 1024, i)]);
      const err = await stream.finish().then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err?.code).toBe('ENOENT');
    }
    const data = patternBytes(40 * 256 * 1024, 98);
    const stream = pool.stream(join(dir, 'kept'), { md5: true, gitBlobSize: null }, null);
    await writeAll(stream, [data]);
    expect(await stream.finish()).toEqual({ ...expected(data), sha1: null });
    expect(fs.readdirSync(dir)).toEqual(['kept']);
  });

  it('a thread that dies while a body waits for a slot fails that wait with INTERNAL', async () => {
    const dir = tempDir();
    const slot = 256 * 1024;
    const pool = threads(1);
    // The thread is held in open() of a FIFO nobody writes, so it cannot free a slot before it dies.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const held = pool.ingest([{ path: fifo, size: 10 }], dir, join(dir, 'objects')).then(
      () => undefined,
      (e: unknown) => e,
    );
    const stream = pool.stream(join(dir, 'body'), { md5: false, gitBlobSize: null }, null);
    const data = patternBytes(33 * slot, 10);
    for (let i = 0; i < 32; i++) stream.write(data.subarray(i * slot, (i + 1) * slot));
    const waiting = stream.write(data.subarray(32 * slot));
    expect(waiting).toBeInstanceOf(Promise);
    const worker = (pool as unknown as { started: Worker[] }).started[0]!;
    const exited = worker.terminate();
    // Let the thread out of open() once it is there (a writer's non-blocking open needs the reader).
    for (let gone = false; !gone; ) {
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
        break;
      } catch {
        gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10))]);
      }
    }
    await exited;
    const err = await waiting!.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).code).toBe('INTERNAL');
    expect(await held).toBeInstanceOf(AirlockError);
    expect(() => stream.write(data.subarray(0, 10))).toThrow(/a store thread stopped/);
  });

  it('writes a small body of known length on the calling thread, with the same digests', async () => {
    const dir = tempDir();
    const data = patternBytes(5000, 9);
    const temp = join(dir, 'small');
    const stream = threads(2).stream(temp, { md5: true, gitBlobSize: data.length }, data.length);
    await writeAll(stream, [data.subarray(0, 1000), data.subarray(1000)]);
    expect(await stream.finish()).toEqual(expected(data));
    expect(fs.readFileSync(temp).equals(data)).toBe(true);
  });

  it('an empty body is an empty file; digests not asked for are null', async () => {
    const dir = tempDir();
    for (const length of [null, 0]) {
      const temp = join(dir, `empty-${length}`);
      const stream = threads(1).stream(temp, { md5: false, gitBlobSize: null }, length);
      expect(await stream.finish()).toEqual({ id: blake3(Buffer.alloc(0)).toString('hex'), size: 0, md5: null, sha1: null });
      expect(fs.statSync(temp).size).toBe(0);
    }
  });

  it('discard removes the temp file on the thread, whether or not bytes were written', async () => {
    const dir = tempDir();
    const pool = threads(1);
    const temp = join(dir, 'dropped');
    const stream = pool.stream(temp, { md5: true, gitBlobSize: null }, null);
    await writeAll(stream, [patternBytes(600 * 1024, 1)]); // one message sent: the file exists on the thread
    stream.discard();
    // The thread takes messages in order: once a later stream is done, the discard was too.
    const later = pool.stream(join(dir, 'later'), { md5: false, gitBlobSize: null }, null);
    await writeAll(later, [patternBytes(10, 2)]);
    await later.finish();
    expect(fs.existsSync(temp)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['later']);
  });

  it('a write the thread cannot make rejects with the system error (its errno code), and leaves no file', async () => {
    const dir = tempDir();
    const temp = join(dir, 'no-such-dir', 'body');
    const stream = threads(1).stream(temp, { md5: true, gitBlobSize: null }, null);
    await writeAll(stream, [patternBytes(300 * 1024, 4)]);
    const err = await stream.finish().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a thread that dies fails the work it had with INTERNAL and a hint, and refuses new work', async () => {
    const dir = tempDir();
    const pool = threads(1);
    const stream = pool.stream(join(dir, 'body'), { md5: true, gitBlobSize: null }, null);
    await writeAll(stream, [patternBytes(300 * 1024, 5)]);
    // Simulated death: the thread stops without the pool closing it.
    const started = (pool as unknown as { started: Worker[] }).started;
    await started[0]!.terminate();
    const err = await stream.finish().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).code).toBe('INTERNAL');
    expect((err as AirlockError).message).toMatch(/a store thread stopped/);
    expect((err as AirlockError).hint).toMatch(/run the same command again/);
    const next = pool.stream(join(dir, 'next'), { md5: false, gitBlobSize: null }, null);
    await expect(next.finish()).rejects.toBe(err);
  });
});

describe('StoreThreads.read (objects read whole into one buffer, for bundle create)', () => {
  it('reads into the shared buffer it is given, straight to each place: a grown file is flagged and the next object is intact, a short one hashes short', async () => {
    const dir = tempDir();
    const contents = [patternBytes(5000, 1), patternBytes(70_000, 2), patternBytes(3, 3), patternBytes(1000, 4)];
    const paths = contents.map((_, i) => join(dir, `o${i}`));
    // On disk: the first has grown by one byte, the third is one byte short, the others are whole.
    fs.writeFileSync(paths[0]!, Buffer.concat([contents[0]!, Buffer.from([0xee])]));
    fs.writeFileSync(paths[1]!, contents[1]!);
    fs.writeFileSync(paths[2]!, contents[2]!.subarray(0, 2));
    fs.writeFileSync(paths[3]!, contents[3]!);
    const objects = contents.map((c, i) => ({ path: paths[i]!, size: c.length }));
    const total = contents.reduce((sum, c) => sum + c.length, 0);
    for (const pool of [threads(2), StoreThreads.forWork(0)]) {
      const shared = new SharedArrayBuffer(total + 1);
      const reply = await pool.read(objects, shared);
      expect(reply.buffer).toBeNull(); // the bytes are in the shared buffer, nothing was transferred
      const memory = Buffer.from(shared);
      const results = reply.results.map((r) => (r.kind === 'read' ? r : undefined));
      // What each file gave, up to its size and one byte more: the grown one shows one more, the short one its own length.
      expect(results.map((r) => r?.length)).toEqual([5001, 70_000, 2, 1000]);
      expect(results.map((r) => r?.offset)).toEqual([0, 5000, 75_000, 75_003]);
      // The byte the grown file's read put on the next object's first was read over.
      expect(memory.subarray(5000, 75_000).equals(contents[1]!)).toBe(true);
      expect(results[0]!.actual).toBe(blake3(contents[0]!).toString('hex'));
      expect(results[1]!.actual).toBe(blake3(contents[1]!).toString('hex'));
      expect(results[2]!.actual).toBe(blake3(contents[2]!.subarray(0, 2)).toString('hex'));
      expect(memory.subarray(75_003, 76_003).equals(contents[3]!)).toBe(true);
    }
  });

  it('a shared buffer without room for the batch and one byte more is left alone: a new buffer comes back with the bytes', async () => {
    const dir = tempDir();
    const data = patternBytes(4096, 5);
    fs.writeFileSync(join(dir, 'o'), data);
    const shared = new SharedArrayBuffer(data.length); // one byte short of what a read needs
    const reply = await threads(1).read([{ path: join(dir, 'o'), size: data.length }], shared);
    expect(reply.buffer).not.toBeNull();
    expect(Buffer.from(reply.buffer!, 0, data.length).equals(data)).toBe(true);
    expect(Buffer.from(shared).every((b) => b === 0)).toBe(true);
  });
});

describe('BatchQueue', () => {
  it('sends a batch when it holds `size` items or its weights reach the limit, and the rest at finish, in order', async () => {
    const sent: string[][] = [];
    const queue = new BatchQueue<string>(3, 2, async (batch) => void sent.push(batch), 10);
    for (const [item, weight] of [['a', 1], ['b', 1], ['c', 1], ['d', 6], ['e', 4], ['f', 0]] as const) await queue.add(item, weight);
    await queue.finish();
    // 3 items; then 6 + 4 reaches 10; then what is left.
    expect(sent).toEqual([['a', 'b', 'c'], ['d', 'e'], ['f']]);
  });
});
