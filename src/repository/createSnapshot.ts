import * as fs from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../errors.js';
import { modeFromStat, sortEntries, treeTotals, validateTree, type SnapshotRecord, type TreeEntry } from '../core/manifest.js';
import type { WalkedFile } from '../fs/walk.js';
import { walkTree } from '../fs/walk.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from './repository.js';
import { StatCache } from './statCache.js';
import { forEachConcurrently } from '../core/workerPool.js';
import { assertUsableLabel, recordSnapshot } from './recordSnapshot.js';

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

/** Files hashed at once: enough to overlap reads with writes, few enough for a USB disk. */
const INGEST_CONCURRENCY = 4;

export async function createSnapshot(repo: Repository, options: CreateSnapshotOptions): Promise<CreateSnapshotResult> {
  if (options.label !== null) assertUsableLabel(options.label); // before reading 100 GB, not after
  const root = realDirectory(options.from);
  const scanStartedMs = Date.now();
  options.progress.phase('scanning');
  const files = walkTree(root, options.skip);
  const cache = await StatCache.load(repo.layout, root);
  const { entries, hashedFiles, hashedBytes } = await ingestFiles(repo, root, files, cache, scanStartedMs, options.progress);
  sortEntries(entries);
  validateTree(entries);
  await repo.objects.flush();
  const id = await repo.snapshots.saveTree({ entries });
  await cache.save(files);
  const record = await recordSnapshot(repo, { kind: 'next', id, label: options.label, totals: treeTotals({ entries }) });
  return { ...record, hashedFiles, hashedBytes, cachedFiles: files.length - hashedFiles };
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
  // A fixed pool: memory stays flat however many files there are, and after a failure no
  // worker starts another file, so nothing writes on once the lock is released.
  await forEachConcurrently(files, INGEST_CONCURRENCY, async (file, index) => {
    const cached = cache.lookup(file);
    let id = cached !== undefined && repo.objects.hasSync(cached) ? cached : undefined;
    let size = file.size;
    if (id === undefined) {
      const added = await repo.objects.addFile(join(root, file.path));
      id = added.id;
      size = added.size;
      hashedFiles++;
      hashedBytes += size;
    }
    cache.remember(file, id, scanStartedMs);
    progress.advance(1, file.size);
    entries[index] = { path: file.path, id, size, mode: modeFromStat(file.mode) };
  });
  return { entries, hashedFiles, hashedBytes };
}
