import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { hashBytes, type ObjectId } from '../core/objectId.js';
import type { WalkedFile } from '../fs/walk.js';
import { writeFileDurable } from '../fs/durable.js';
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

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number, id: ObjectId];

export class StatCache {
  private readonly rows = new Map<string, Row>();
  private readonly next = new Map<string, Row>();

  private constructor(private readonly file: string) {}

  static async load(layout: RepositoryLayout, sourceRoot: string): Promise<StatCache> {
    const cache = new StatCache(join(layout.statCacheDir, `${hashBytes(Buffer.from(sourceRoot)).slice(0, 32)}.msgpack`));
    try {
      const raw = unpack(await fsp.readFile(cache.file)) as [string, number, number, number, number, Buffer][];
      for (const [path, size, mtimeMs, ctimeMs, ino, id] of raw) {
        cache.rows.set(path, [Number(size), mtimeMs, ctimeMs, Number(ino), Buffer.from(id).toString('hex')]);
      }
    } catch {
      // No cache, or an unreadable one: every file is simply hashed again.
    }
    return cache;
  }

  lookup(file: WalkedFile): ObjectId | undefined {
    const row = this.rows.get(file.path);
    if (!row) return undefined;
    const [size, mtimeMs, ctimeMs, ino, id] = row;
    return size === file.size && mtimeMs === file.mtimeMs && ctimeMs === file.ctimeMs && ino === file.ino ? id : undefined;
  }

  remember(file: WalkedFile, id: ObjectId, scanStartedMs: number): void {
    if (file.mtimeMs >= scanStartedMs - RACY_MS || file.ctimeMs >= scanStartedMs - RACY_MS) return;
    this.next.set(file.path, [file.size, file.mtimeMs, file.ctimeMs, file.ino, id]);
  }

  async save(): Promise<void> {
    const rows = [...this.next].map(([path, [size, mtimeMs, ctimeMs, ino, id]]) => [path, size, mtimeMs, ctimeMs, ino, Buffer.from(id, 'hex')]);
    await fsp.mkdir(join(this.file, '..'), { recursive: true });
    // A private cache, not a hashed format: plain msgpackr is fine (timestamps are floats).
    await writeFileDurable(this.file, pack(rows));
  }
}
