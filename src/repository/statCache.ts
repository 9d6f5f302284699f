import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpackMultiple } from 'msgpackr';
import { hashBytes, type ObjectId } from '../core/objectId.js';
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

/** Rows are kept exactly as decoded (ids as hex strings): no per-row conversion, no Buffer objects. */
/**
 * Saved as a sequence of msgpack arrays of up to SAVE_ROWS rows each (a cache written as one
 * array reads the same way): the save packs and writes one slice of the files at a time, so
 * it never holds every row, or the whole file's bytes, at once.
 */
const SAVE_ROWS = 8192;
type Row = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, id: ObjectId];

export class StatCache {
  private readonly rows = new Map<string, Row>();

  private constructor(private readonly file: string) {}

  static async load(layout: RepositoryLayout, sourceRoot: string): Promise<StatCache> {
    const cache = new StatCache(join(layout.statCacheDir, `${hashBytes(Buffer.from(sourceRoot)).slice(0, 32)}.msgpack`));
    try {
      unpackMultiple(await fsp.readFile(cache.file), (rows: unknown) => {
        if (Array.isArray(rows)) for (const row of rows as Row[]) if (isRow(row)) cache.rows.set(row[0], row);
      });
    } catch {
      // No cache, or an unreadable one: every file is simply hashed again.
    }
    return cache;
  }

  /** Each file is looked up once: its row is let go, so the rows shrink as the tree's entries grow. */
  lookup(file: WalkedFile): ObjectId | undefined {
    const row = this.rows.get(file.path);
    if (!row) return undefined;
    this.rows.delete(file.path);
    const [, size, mtimeMs, ctimeMs, ino, id] = row;
    return size === file.size && mtimeMs === file.mtimeMs && ctimeMs === file.ctimeMs && ino === file.ino ? id : undefined;
  }

  /** Marks the walked file itself (no second per-file map: memory stays flat for 200,000 files). */
  remember(file: WalkedFile, id: ObjectId, scanStartedMs: number): void {
    if (file.mtimeMs >= scanStartedMs - RACY_MS || file.ctimeMs >= scanStartedMs - RACY_MS) return;
    file.rememberedId = id;
  }

  /**
   * Drops the rows read from disk once every file has been looked up: for a million files
   * they are a few hundred MB that the tree's encoding and the save need not share memory with.
   */
  forget(): void {
    this.rows.clear();
  }

  async save(files: readonly WalkedFile[]): Promise<void> {
    this.rows.clear();
    await fsp.mkdir(join(this.file, '..'), { recursive: true });
    let file: TempFile | undefined;
    try {
      file = await TempFile.create(this.file);
      // A private cache, not a hashed format: plain msgpackr is fine (timestamps are floats).
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

function isRow(row: unknown): row is Row {
  return Array.isArray(row) && row.length === 6 && typeof row[0] === 'string' && typeof row[5] === 'string' && row.slice(1, 5).every((n) => typeof n === 'number');
}
