import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { pipeline, type Duplex } from 'node:stream';
import { join } from 'node:path';
import { pack, UnpackrStream } from 'msgpackr';
import { comparePaths } from '../core/paths.js';
import { hashBytes, isObjectId, type ObjectId } from '../core/objectId.js';
import type { WalkedFile } from '../fs/walk.js';
import { TempFile } from '../fs/durable.js';
import { explainSystemError } from '../errors.js';
import type { RepositoryLayout } from './layout.js';

/**
 * Remembers, per source directory, the object id of each file by (size, mtime, ctime,
 * inode), as git's index does, so re-recording a 100 GB tree where little changed reads
 * only the changed files. Git's "racy clean" rule applies: a file modified within the
 * same clock tick as the scan could change again unnoticed, so entries whose mtime or
 * ctime is within RACY_MS of the scan are not remembered. Linux filesystems stamp
 * times from the kernel's coarse clock (a few milliseconds); 100 ms leaves a wide margin.
 */
const RACY_MS = 100;

/**
 * Saved as a header and then msgpack arrays of up to SAVE_ROWS rows each, in manifest order
 * (by path, as comparePaths sorts). A snapshot asks for its files in that order too, so the
 * cache is read alongside, a slice at a time, as a merge: its rows are never all in memory,
 * and the save never holds them all either. A cache written before the header (rows in walk
 * order, as one array or as slices) is read whole into a map instead, once.
 */
const SAVE_ROWS = 8192;
const SORTED_HEADER = 'airlock-stat-cache sorted 1';
const READ_BYTES = 4 * 1024 * 1024;
type Row = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, id: ObjectId];

export class StatCache {
  /** Rows passed over by the merge (files gone from the tree), or every row of an unsorted cache. */
  private readonly strays = new Map<string, Row>();
  /** The sorted rows still to come: the slice being read and the values left in the file. */
  private slice: Row[] = [];
  private next = 0;
  private values: AsyncIterator<unknown> | null = null;
  private stream: Duplex | null = null;

  private constructor(private readonly file: string) {}

  static async load(layout: RepositoryLayout, sourceRoot: string): Promise<StatCache> {
    const cache = new StatCache(join(layout.statCacheDir, `${hashBytes(Buffer.from(sourceRoot)).slice(0, 32)}.msgpack`));
    await cache.open();
    return cache;
  }

  private async open(): Promise<void> {
    // Reads of several slices each: the decoder parses a slice cut by a read again from its start.
    const stream = fs.createReadStream(this.file, { highWaterMark: READ_BYTES });
    // The stream is in object mode, so its limit counts values: one decoded slice waits, not sixteen
    // (the decoder still pushes every value of a read, a few slices at most).
    const values = new UnpackrStream({ highWaterMark: 1, emitClose: true, allowHalfOpen: true });
    // A missing or unreadable file ends the values with an error, which nextValue takes as the end.
    pipeline(stream, values, () => undefined);
    this.stream = values;
    this.values = values[Symbol.asyncIterator]();
    const first = await this.nextValue();
    if (first === SORTED_HEADER) return;
    // Written before the header (or not a cache at all): whatever rows it has, by path, in a map.
    for (let value = first; value !== undefined; value = await this.nextValue()) this.keepAll(value);
  }

  /** The next msgpack value of the file; undefined at its end, or where it is unreadable (every file not yet found is then hashed again). */
  private async nextValue(): Promise<unknown> {
    if (this.values === null) return undefined;
    try {
      const step = await this.values.next();
      if (!step.done) return step.value;
    } catch {
      // Unreadable from here on: the rows read so far still count.
    }
    this.close();
    return undefined;
  }

  private keepAll(value: unknown): void {
    if (Array.isArray(value)) for (const row of value as unknown[]) if (isRow(row)) this.strays.set(row[0], row);
  }

  /**
   * The remembered id of a walked file, if its size, times and inode are unchanged. Files
   * are asked in manifest order, each once; each row is let go once passed, so the rows shrink
   * as the tree's entries grow.
   */
  lookup(file: WalkedFile): ObjectId | undefined | Promise<ObjectId | undefined> {
    const stray = this.strays.get(file.path);
    if (stray) {
      this.strays.delete(file.path);
      return matching(stray, file);
    }
    for (;;) {
      // A promise only when the next slice must be read: an async call per file was most of a snapshot's garbage.
      if (this.next === this.slice.length) return this.values === null ? undefined : this.readSlice().then((more) => (more ? this.lookup(file) : undefined));
      const row = this.slice[this.next]!;
      const order = comparePaths(row[0], file.path);
      if (order > 0) return undefined; // a row for a later file
      this.slice[this.next++] = EMPTY_ROW; // let go
      if (order === 0) return matching(row, file);
      this.strays.set(row[0], row); // a file gone from the tree, or asked out of order
    }
  }

  private async readSlice(): Promise<boolean> {
    this.slice = [];
    this.next = 0;
    while (this.slice.length === 0) {
      const value = await this.nextValue();
      if (value === undefined) return false;
      if (Array.isArray(value)) this.slice = (value as unknown[]).filter(isRow);
    }
    return true;
  }

  /** Rows read from disk and not yet let go, outside the stream: the slice in use and the strays. */
  get heldRows(): number {
    return this.strays.size + this.slice.length - this.next;
  }

  /** Decoded slices waiting in the stream, and raw reads waiting to be decoded. */
  get buffered(): { slices: number; reads: number } {
    return { slices: this.stream?.readableLength ?? 0, reads: this.stream?.writableLength ?? 0 };
  }

  /** Marks the walked file itself (no second per-file map: memory stays flat for 200,000 files). */
  remember(file: WalkedFile, id: ObjectId, scanStartedMs: number): void {
    if (file.mtimeMs >= scanStartedMs - RACY_MS || file.ctimeMs >= scanStartedMs - RACY_MS) return;
    file.rememberedId = id;
  }

  /** Lets go of what is left of the rows read from disk and closes the file. */
  forget(): void {
    this.strays.clear();
    this.slice = [];
    this.next = 0;
    this.close();
  }

  private close(): void {
    this.stream?.destroy();
    this.stream = null;
    this.values = null;
  }

  /** Saves what was remembered of `files`, which are in manifest order. */
  async save(files: readonly WalkedFile[]): Promise<void> {
    this.forget();
    await fsp.mkdir(join(this.file, '..'), { recursive: true });
    let file: TempFile | undefined;
    try {
      file = await TempFile.create(this.file);
      // A private cache, not a hashed format: plain msgpackr is fine (timestamps are floats).
      await file.handle.writeFile(pack(SORTED_HEADER));
      let rows: unknown[] = [];
      for (const f of files) {
        if (f.rememberedId !== undefined) rows.push([f.path, f.size, f.mtimeMs, f.ctimeMs, f.ino, f.rememberedId]);
        if (rows.length < SAVE_ROWS) continue;
        await file.handle.writeFile(pack(rows)); // all of it, from where the last slice ended
        rows = [];
      }
      if (rows.length > 0) await file.handle.writeFile(pack(rows));
      await file.commit();
    } catch (err) {
      await file?.discard();
      explainSystemError(err, 'writing a file', this.file);
    }
  }
}

const EMPTY_ROW: Row = ['', 0, 0, 0, 0, ''];

function matching(row: Row, file: WalkedFile): ObjectId | undefined {
  const [, size, mtimeMs, ctimeMs, ino, id] = row;
  if (size !== file.size || mtimeMs !== file.mtimeMs || ctimeMs !== file.ctimeMs || ino !== file.ino) return undefined;
  // A damaged cache's id is a miss: the store is asked only for a path an id can name.
  return isObjectId(id) ? id : undefined;
}

function isRow(row: unknown): row is Row {
  return Array.isArray(row) && row.length === 6 && typeof row[0] === 'string' && typeof row[5] === 'string' && row.slice(1, 5).every((n) => typeof n === 'number');
}
