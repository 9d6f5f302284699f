import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AirlockError, errnoCode, explainSystemError } from '../errors.js';
import { ContentHasher, hashBytes, type ObjectId } from '../core/objectId.js';
import { syncFilesystemAsync, tempName } from '../fs/durable.js';
import { EarlyWriteback } from '../fs/writeback.js';
import { cannotLink } from '../fs/links.js';
import { forEachWithCallbacks } from '../core/workerPool.js';
import type { RepositoryLayout } from './layout.js';

import { OBJECT_MODE, reportedError, SMALL_FILE_LIMIT } from './storeThreadMessages.js';
import { readUpTo, StreamWriter } from './storeWork.js';
import type { StoreThreads } from './storeThreads.js';

export { OBJECT_MODE };

/** An object being staged (ObjectStore.stage). */
export interface StagedObject {
  /** It replaces a damaged object of that id (repair), rather than adding a new one. */
  readonly replaces: boolean;
  write(chunk: Buffer): void;
  /** Bytes written so far. */
  readonly size: number;
  /** The bytes checked out: queue them as the object (a promise only when there is something to wait for). */
  finish(): Promise<void> | undefined;
  abort(): void;
}
const READ_CHUNK = 1024 * 1024;
/** Files up to this size are read in one call: far cheaper than a stream for the many small files of a CRAN tree. */
const WHOLE_READ_LIMIT = SMALL_FILE_LIMIT;
/**
 * A long ingest flushes every so often, so a kill or crash loses at most this much work
 * (the objects already flushed are found again and not rewritten) and tmp/ stays small.
 */
const FLUSH_OBJECTS = 10_000;
/** Renames of a flush in flight at once (the threadpool has four threads). */
const RENAMES_AT_ONCE = 8;
const FLUSH_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Directories of tmp/ that writers take turns over (tmpDirForWriters): more than the
 * threads, so the flush's renames out of them spread too.
 */
export const TMP_LANES = 8;

/**
 * A content-addressed store. Objects are written to temp files (hashed on the way in)
 * and become visible under their id only in `flush()`, which makes the temps durable
 * with one filesystem sync, renames them into place, and syncs again. So a name in the
 * store always holds complete, durable bytes that hash to it, at the cost of two
 * journal commits per batch instead of one fsync per object. Callers flush before
 * recording anything that refers to the new objects.
 */
export class ObjectStore {
  /** Objects written but not yet renamed into place: id -> temp path. */
  private pending = new Map<ObjectId, string>();
  /** Objects of the flush under way: synced, being renamed. */
  private inFlight = new Map<ObjectId, string>();
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  /** The directories of tmp/ made since the last flush: 0 for tmp/ itself, then its lanes (tmpDirForWriters). */
  private readonly madeTmpDirs = new Set<number>();
  private readonly knownDirs = new Set<string>();
  /** Damaged objects replaced by stage(id, { repair: true }) so far. */
  repaired = 0;

  constructor(readonly layout: RepositoryLayout) {}

  path(id: ObjectId): string {
    return this.layout.objectPath(id);
  }

  /** Present on disk, or written and waiting for the next flush. */
  hasSync(id: ObjectId): boolean {
    return this.isQueued(id) || fs.existsSync(this.path(id));
  }

  /** Written by this process and waiting for a flush, or in one: what hasSync knows without a look on disk. */
  isQueued(id: ObjectId): boolean {
    return this.pending.has(id) || this.inFlight.has(id);
  }

  /**
   * Writes a file's bytes into the store, returning its id and size. When the object is
   * already present the copy is dropped (content addressing makes them identical).
   * Small files (most of a CRAN tree) take one synchronous open/read/close: for them a
   * threadpool round trip per call costs more than the I/O. Larger ones are streamed.
   */
  async addFile(source: string): Promise<{ id: ObjectId; size: number }> {
    let fd: number;
    try {
      fd = fs.openSync(source, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw vanished(source);
      explainSystemError(err, 'reading a file to record it', source);
    }
    if (fs.fstatSync(fd).size <= WHOLE_READ_LIMIT) {
      let data: Buffer;
      try {
        data = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return this.addBuffer(data, source);
    }
    const stream = fs.createReadStream('', { fd, highWaterMark: READ_CHUNK });
    try {
      return await this.addStream(stream, source);
    } finally {
      stream.destroy(); // closes the file even when addStream failed before reading it
    }
  }

  /** Stores bytes already in memory (bounded by WHOLE_READ_LIMIT by the callers). */
  async addBuffer(data: Buffer, origin: string): Promise<{ id: ObjectId; size: number }> {
    const id = hashBytes(data);
    if (this.hasSync(id)) return { id, size: data.length };
    const temp = tempName(`${this.tmpDirForWriters()}/object`);
    try {
      // Synchronous on purpose: for small files the threadpool round trip costs more than the write.
      fs.writeFileSync(temp, data, { flag: 'wx', mode: OBJECT_MODE });
    } catch (err) {
      fs.rmSync(temp, { force: true });
      explainSystemError(err, 'adding an object to the store', origin);
    }
    await this.queue(temp, id, data.length);
    return { id, size: data.length };
  }

  /**
   * Streams bytes into the store (a file too large to read whole), written and hashed by the
   * same StreamWriter that writes a download's body: in 1 MiB blocks, one synchronous call each.
   */
  async addStream(chunks: AsyncIterable<Buffer>, origin: string): Promise<{ id: ObjectId; size: number }> {
    const writer = new StreamWriter(tempName(`${this.tmpDirForWriters()}/object`), { md5: false, gitBlobSize: null });
    try {
      for await (const chunk of chunks) writer.write(chunk);
      const { id, size } = writer.finish();
      await this.queue(writer.temp, id, size);
      return { id, size };
    } catch (err) {
      writer.discardQuietly(); // the stream's own error is the one to report
      explainSystemError(err, 'adding an object to the store', origin);
    }
  }

  /**
   * Stages an object whose id is known before its bytes arrive (a bundle's): the bytes go
   * to a temp file in tmp/ with synchronous writes (they land in the page cache at memory
   * speed while the reader reads ahead), and become object `id` at the next flush once the
   * caller, having checked them against the id, calls finish(). Undefined when the store
   * has the object already: nothing needs writing.
   */
  stage(id: ObjectId, options: { repair?: boolean } = {}): StagedObject | undefined | Promise<StagedObject | undefined> {
    // With `repair` (apply --force-full), an object present but no longer hashing to its id
    // (edited in place through a deployment's hardlink) is replaced by the bundle's bytes.
    if (options.repair === true && !this.isQueued(id)) {
      return hashFile(this.path(id)).then((stored) => this.stageAs(id, stored !== undefined && stored !== id));
    }
    return this.stageAs(id, false);
  }

  /** stage(), once it is known whether the object replaces a damaged one: synchronous, as most objects are staged. */
  private stageAs(id: ObjectId, replace: boolean): StagedObject | undefined {
    if (!replace && this.hasSync(id)) return undefined;
    // tmp/ itself, not its lanes: only this thread creates these (spreading them measured no faster).
    const temp = tempName(`${this.tmpDirForWriters()}/${id}`);
    const fd = fs.openSync(temp, 'wx', OBJECT_MODE);
    let open = true;
    let size = 0;
    const writeback = new EarlyWriteback();
    const close = () => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    return {
      replaces: replace,
      get size() {
        return size;
      },
      write: (chunk) => {
        for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done);
        size += chunk.length;
        writeback.wrote(fd, chunk.length);
      },
      // Not fsynced one by one: flush() syncs the whole batch before renaming it in.
      finish: () => {
        close();
        try {
          writeback.check(); // an early sync of it that failed: the disk refused its bytes
        } catch (err) {
          fs.rmSync(temp, { force: true });
          throw err;
        }
        if (!replace) return this.commitTemp(temp, id);
        this.pending.set(id, temp); // renamed over the damaged object at the next flush
        this.repaired++;
        return undefined;
      },
      abort: () => {
        close();
        fs.rmSync(temp, { force: true });
      },
    };
  }

  /**
   * Takes a temp file a store thread wrote (storeThreads.ts: ingest, or an apply's placement)
   * into the queue: the thread found no object `id` on disk, so only what this process has
   * queued is looked at.
   */
  queueWritten(temp: string, id: ObjectId, size: number): Promise<void> | undefined {
    return this.queue(temp, id, size, false);
  }

  /**
   * Takes a temp file written elsewhere (a download thread) into the queue, to become
   * object `id` at the next flush: the writer hashed its bytes to `id`. Dropped when the
   * store has the object already.
   */
  async queueTemp(temp: string, id: ObjectId, size: number): Promise<void> {
    await this.queue(temp, id, size);
  }

  /**
   * The directory temp files are written to (by this store, and by the store threads:
   * ingest, placement and downloads), made once per flush (recovery and apply remove tmp/ as a whole between commands).
   * A `lane` other than 0 is a directory of its own in tmp/: creating a file takes its
   * directory's lock, and two threads creating files in one directory spent a fifth of
   * their time waiting for each other (perf, a 200,000-file snapshot); so do the flush's
   * renames out of it.
   */
  tmpDirForWriters(lane = 0): string {
    if (lane < 0 || lane > TMP_LANES || !Number.isInteger(lane)) throw new RangeError(`tmp/ has lanes 1 to ${TMP_LANES}, not ${lane}`);
    const dir = lane === 0 ? this.layout.tmpDir : `${this.layout.tmpDir}/lane-${lane}`;
    if (!this.madeTmpDirs.has(lane)) {
      fs.mkdirSync(dir, { recursive: true });
      this.madeTmpDirs.add(lane);
    }
    return dir;
  }

  /** A promise only when there is something to wait for (a duplicate's temp to remove, or a flush): per file, most often nothing. */
  private queue(temp: string, id: ObjectId, size: number, lookOnDisk = true): Promise<void> | undefined {
    const removing = this.commitTemp(temp, id, lookOnDisk);
    // A duplicate's temp is gone before a flush may start, as when this was one await after another.
    return removing ? removing.then(() => this.queued(size)) : this.queued(size);
  }

  private queued(size: number): Promise<void> | undefined {
    this.pendingBytes += size;
    return this.pending.size >= FLUSH_OBJECTS || this.pendingBytes >= FLUSH_BYTES ? this.flush() : undefined;
  }


  /**
   * Queues a verified temp file (on this filesystem) to become object `id` at the next
   * flush. If the object exists or is already queued, the temp is discarded. `lookOnDisk`
   * false: the caller has just looked for it on disk (an ingest thread), only the queue is checked.
   */
  private commitTemp(temp: string, id: ObjectId, lookOnDisk = true): Promise<void> | undefined {
    if (lookOnDisk ? this.hasSync(id) : this.isQueued(id)) return fsp.rm(temp, { force: true });
    this.pending.set(id, temp);
    return undefined;
  }

  /**
   * Adopts an existing file as object `id` by hardlinking it (no bytes copied). The
   * caller has hashed it. Returns false when this filesystem cannot link it there.
   */
  async linkExisting(source: string, id: ObjectId): Promise<boolean> {
    if (this.hasSync(id)) return true;
    const dir = this.layout.objectDir(id);
    await fsp.mkdir(dir, { recursive: true });
    try {
      await fsp.link(source, this.path(id));
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return true;
      if (cannotLink(err)) return false;
      throw err;
    }
    await fsp.chmod(this.path(id), OBJECT_MODE);
    return true;
  }

  /**
   * Makes every queued object durable and visible under its id. Flushes never overlap:
   * each takes the queue as it stands, so an object queued during a flush waits for the
   * next one and is never renamed before the sync that made its bytes durable.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushBatch().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushBatch(): Promise<void> {
    // The queue becomes the flush's own, not a copy (flushes never overlap, so none is in flight).
    const batch = this.pending;
    this.pending = new Map();
    this.pendingBytes = 0;
    if (batch.size === 0) {
      await syncFilesystemAsync(this.layout.objectsDir);
      return;
    }
    this.inFlight = batch;
    try {
      await syncFilesystemAsync(this.layout.tmpDir);
      await this.renameIn(batch);
      await syncFilesystemAsync(this.layout.objectsDir);
    } finally {
      // After a failure too: an object of the batch is present only if it reached its name,
      // which hasSync then finds on disk (the rest are temps the next command sweeps).
      this.inFlight = new Map();
    }
    this.madeTmpDirs.clear();
  }

  /**
   * Renames each temp of `batch` to its object's path on the threadpool, RENAMES_AT_ONCE at
   * a time: the main thread stays free for the ingest threads' next batches while they run
   * (synchronous renames stalled them). Callbacks rather than fs.promises: a promise and an
   * async frame per rename were 1.7 KB of garbage each, 350 MB for 200,000 files. After a
   * failure no rename starts, those under way finish, and the first error is thrown.
   */
  private renameIn(batch: Map<ObjectId, string>): Promise<void> {
    return forEachWithCallbacks(batch, RENAMES_AT_ONCE, ([id, temp], done) => {
      const dir = this.layout.objectDir(id);
      if (!this.knownDirs.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        this.knownDirs.add(dir);
      }
      fs.rename(temp, this.path(id), done);
    });
  }

  /**
   * Reads a small object whole (the caller bounds its size), verified like readVerified.
   * Synchronous below SMALL_FILE_LIMIT: an open, one read and a close cost less than the
   * four threadpool round trips of fs.promises.readFile (which took 80 % of bundling
   * 200,000 small files).
   */
  async readWholeVerified(id: ObjectId, expectedSize: number): Promise<Buffer> {
    const path = this.path(id);
    let data: Buffer;
    try {
      data = expectedSize <= SMALL_FILE_LIMIT ? readUpTo(path, expectedSize) : await fsp.readFile(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw missingObject(id, path);
      throw err;
    }
    this.checkContent(id, hashBytes(data), data.length, expectedSize);
    return data;
  }

  /**
   * Reads a batch of small objects whole on one of `pool`'s threads (open, read, hash off
   * the main thread), verified like readWholeVerified; the objects are views of one
   * buffer for the batch: `buffer` when it is large enough (their size and one byte more),
   * which the caller may reuse once it is done with them.
   */
  async readManyVerified(pool: StoreThreads, objects: ReadonlyArray<{ id: ObjectId; size: number }>, buffer: SharedArrayBuffer | null = null): Promise<Buffer[]> {
    const reply = await pool.read(
      objects.map((o) => ({ path: this.path(o.id), size: o.size })),
      buffer,
    );
    const memory = reply.buffer ?? buffer!;
    return objects.map(({ id, size }, i) => {
      const result = reply.results[i]!;
      const path = this.path(id);
      if (result.kind === 'error') {
        if (result.code === 'ENOENT') throw missingObject(id, path);
        explainSystemError(reportedError(result), 'reading an object of the store', path);
      }
      // A file of another length is named by its length (a longer one is one byte longer at least);
      // a shorter one's place holds stale bytes past its end, so it must never pass.
      this.checkContent(id, result.actual, result.length, size);
      return Buffer.from(memory, result.offset, size);
    });
  }

  /** Streams an object, verifying its hash at the end; throws OBJECT_CORRUPT on mismatch. */
  async *readVerified(id: ObjectId, expectedSize?: number): AsyncGenerator<Buffer> {
    const hasher = new ContentHasher();
    let stream: fs.ReadStream;
    try {
      stream = fs.createReadStream(this.path(id), { highWaterMark: READ_CHUNK });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hasher.update(chunk);
        yield chunk;
      }
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw missingObject(id, this.path(id));
      throw err;
    }
    this.checkContent(id, hasher.digest(), hasher.bytes, expectedSize);
  }

  private checkContent(id: ObjectId, actual: ObjectId, bytes: number, expectedSize: number | undefined): void {
    if (actual !== id) throw corruptObject(id, this.path(id), actual);
    if (expectedSize !== undefined && bytes !== expectedSize) {
      throw new AirlockError('OBJECT_CORRUPT', `object ${id} is intact but ${bytes} bytes long, while the manifest that names it says ${expectedSize}`, {
        where: this.path(id),
        hint: 'the snapshot manifest disagrees with the store; run `airlock verify --repo R` to check the whole repository',
      });
    }
  }

  /** Removes an object, and its fan-out directory when that leaves it empty. */
  async remove(id: ObjectId): Promise<void> {
    await fsp.rm(this.path(id), { force: true });
    await fsp.rmdir(this.layout.objectDir(id)).catch(() => undefined); // ENOTEMPTY: other objects live there
    this.knownDirs.delete(this.layout.objectDir(id));
  }

  /** Every object id present, by listing the fan-out directories. */
  async *list(): AsyncGenerator<ObjectId> {
    let fanouts: string[];
    try {
      fanouts = await fsp.readdir(this.layout.objectsDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const fanout of fanouts.sort()) {
      if (!/^[0-9a-f]{2}$/.test(fanout)) continue; // a stray file is not ours to list
      for (const name of (await fsp.readdir(`${this.layout.objectsDir}/${fanout}`)).sort()) {
        if (/^[0-9a-f]{64}$/.test(name)) yield name;
      }
    }
  }
}

export async function hashFile(path: string): Promise<ObjectId | undefined> {
  try {
    if (fs.statSync(path).size <= WHOLE_READ_LIMIT) return hashBytes(fs.readFileSync(path));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const hasher = new ContentHasher();
  try {
    for await (const chunk of fs.createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) hasher.update(chunk);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return hasher.digest();
}

export function missingObject(id: ObjectId, path: string): AirlockError {
  return new AirlockError('OBJECT_CORRUPT', `object ${id} is missing from the store`, {
    where: path,
    hint: 'run `airlock verify` to list every damaged object; re-create the snapshot or re-apply a full bundle to restore it',
  });
}

export function corruptObject(id: ObjectId, path: string, actual: ObjectId): AirlockError {
  return new AirlockError('OBJECT_CORRUPT', `object ${id} is damaged: its bytes now hash to ${actual}`, {
    where: path,
    hint: 'the file was changed on disk; run `airlock verify --deep` to find every damaged file, then restore it from a bundle',
  });
}

export function vanished(source: string): AirlockError {
  return new AirlockError('BAD_SOURCE_TREE', `${source} disappeared while it was being recorded`, {
    where: source,
    hint: 'a download or sync is probably still writing this tree; let it finish, then run the command again',
  });
}
