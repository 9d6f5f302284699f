import * as fs from 'node:fs';
import { AirlockError, explainSystemError } from '../errors.js';
import { modeFromStat, treeTotals, validateTree, type SnapshotRecord, type TreeEntry } from '../core/manifest.js';
import type { WalkedFile } from '../fs/walk.js';
import { pathsUnder, walkTree } from '../fs/walk.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from './repository.js';
import { StatCache } from './statCache.js';
import { StoreThreads } from './storeThreads.js';
import { TMP_LANES, vanished } from './objectStore.js';
import { reportedError, SMALL_FILE_LIMIT, type IngestResult } from './storeThreadMessages.js';
import type { ObjectId } from '../core/objectId.js';
import { assertUsableLabel, recordSnapshot } from './recordSnapshot.js';
import { comparePaths } from '../core/paths.js';

export interface CreateSnapshotOptions {
  from: string;
  label: string | null;
  progress: Progress;
  /** Relative paths to leave out (airlock's own state when snapshotting a data dir). */
  skip?: (relative: string) => boolean;
}

export interface CreateSnapshotResult {
  record: SnapshotRecord;
  /** False when the tree and label equal the latest snapshot, so nothing was recorded. */
  recorded: boolean;
  hashedFiles: number;
  hashedBytes: number;
  cachedFiles: number;
}

export async function createSnapshot(repo: Repository, options: CreateSnapshotOptions): Promise<CreateSnapshotResult> {
  if (options.label !== null) assertUsableLabel(options.label); // before reading 100 GB, not after
  const root = realDirectory(options.from);
  const scanStartedMs = Date.now();
  options.progress.phase('scanning');
  // In manifest order from the start: the stat cache is read alongside, and the entries come out sorted.
  const files = walkTree(root, options.skip).sort((a, b) => comparePaths(a.path, b.path));
  const cache = await StatCache.load(repo.layout, root);
  const { id, totals, hashedFiles, hashedBytes } = await storeTree(repo, root, files, cache, scanStartedMs, options.progress);
  await cache.save(files);
  const record = await recordSnapshot(repo, { kind: 'next', id, label: options.label, totals });
  return { ...record, hashedFiles, hashedBytes, cachedFiles: files.length - hashedFiles };
}

/**
 * The files into the store and their tree saved; the tree's entries (a few hundred MB for a
 * million files) are let go when this returns, before the stat cache is written.
 */
async function storeTree(repo: Repository, root: string, files: WalkedFile[], cache: StatCache, scanStartedMs: number, progress: Progress) {
  let ingested: Awaited<ReturnType<typeof ingestFiles>>;
  try {
    ingested = await ingestFiles(repo, root, files, cache, scanStartedMs, progress);
  } finally {
    cache.forget();
  }
  // In the files' order, which is manifest order: validateTree refuses them otherwise.
  const { entries, hashedFiles, hashedBytes } = ingested;
  validateTree(entries);
  await repo.objects.flush();
  const id = await repo.snapshots.saveTree({ entries });
  return { id, totals: treeTotals({ entries }), hashedFiles, hashedBytes };
}

function realDirectory(path: string): string {
  let real: string;
  try {
    real = fs.realpathSync(path);
  } catch {
    throw new AirlockError('NOT_FOUND', `source directory ${path} does not exist`, { where: path, hint: 'check the --from path' });
  }
  if (!fs.statSync(real).isDirectory()) {
    throw new AirlockError('BAD_SOURCE_TREE', `${path} is not a directory`, { where: path, hint: '--from takes the top directory of the tree to record' });
  }
  return real;
}

async function ingestFiles(repo: Repository, root: string, files: WalkedFile[], cache: StatCache, scanStartedMs: number, progress: Progress) {
  let totalBytes = 0;
  for (const f of files) totalBytes += f.size;
  progress.phase('hashing', { files: files.length, bytes: totalBytes });
  const entries = new Array<TreeEntry>(files.length);
  let hashedFiles = 0;
  let hashedBytes = 0;
  const settle = (index: number, id: ObjectId, size: number, hashed: boolean) => {
    const file = files[index]!;
    if (hashed) {
      hashedFiles++;
      hashedBytes += size;
    }
    cache.remember(file, id, scanStartedMs);
    progress.advance(1, file.size);
    entries[index] = { path: file.path, id, size, mode: modeFromStat(file.mode) };
  };
  const under = pathsUnder(root);
  const addStreamed = async (index: number) => {
    const added = await repo.objects.addFile(under(files[index]!.path));
    settle(index, added.id, added.size, true);
  };
  // Small files go to the ingest threads in batches; large ones are streamed here. At most
  // `capacity` batches are out at once, and after a failure none is sent and every thread
  // is stopped before the error leaves (so nothing writes on once the lock is released).
  let smallBytes = 0; // what the threads read (larger files are streamed here)
  for (const file of files) if (file.size <= SMALL_FILE_LIMIT) smallBytes += file.size;
  const pool = StoreThreads.forWork(files.length, smallBytes);
  // Batches take turns over TMP_LANES directories of tmp/, so threads writing side by side
  // rarely create files in one directory at once (ObjectStore.tmpDirForWriters).
  let sent = 0;
  const send = async (batch: number[]) => {
    const results = await pool.ingest(
      batch.map((i) => ({ path: under(files[i]!.path), size: files[i]!.size })),
      repo.objects.tmpDirForWriters(1 + (sent++ % TMP_LANES)),
      repo.layout.objectsDir,
    );
    for (let k = 0; k < batch.length; k++) {
      const index = batch[k]!;
      const result = results[k]!;
      if (result.kind === 'written') {
        const flushing = repo.objects.queueWritten(result.temp, result.id, result.size);
        if (flushing) await flushing;
      }
      if (result.kind === 'written' || result.kind === 'present') settle(index, result.id, result.size, true);
      else if (result.kind === 'large') await addStreamed(index);
      else throw ingestFailure(result, under(files[index]!.path));
    }
  };
  const queue = pool.batches(StoreThreads.batchFiles, send);
  try {
    for (let index = 0; index < files.length; index++) {
      const file = files[index]!;
      // Awaited only when there is something to wait for: most files need neither.
      let cached = cache.lookup(file);
      if (cached instanceof Promise) cached = await cached;
      if (cached !== undefined && repo.objects.hasSync(cached)) settle(index, cached, file.size, false);
      else if (file.size > SMALL_FILE_LIMIT) await addStreamed(index);
      else {
        const sent = queue.add(index);
        if (sent) await sent;
      }
    }
    await queue.finish();
  } finally {
    await queue.settled();
    await pool.close();
  }
  return { entries, hashedFiles, hashedBytes };
}

/** An ingest thread's failure as the error the single-threaded path gives. */
function ingestFailure(result: Extract<IngestResult, { kind: 'error' }>, source: string): Error {
  if (result.code === 'ENOENT') return vanished(source);
  try {
    explainSystemError(reportedError(result), 'reading a file to record it', source);
  } catch (err) {
    return err as Error;
  }
}
