import { count } from '../core/units.js';
import type { ObjectId } from '../core/objectId.js';
import { forEachConcurrently } from '../core/workerPool.js';
import type { Progress } from '../core/progress.js';
import { estimateTotalBytes } from '../core/packages.js';
import { onInterrupt } from '../fs/interrupt.js';
import type { Repository } from '../repository/repository.js';
import type { HttpClient } from '../upstream/http.js';
import type { DownloadLedger } from './downloadLedger.js';
import { StoreThreads } from '../repository/storeThreads.js';
import { fetchToTemp } from './downloadWork.js';
import { ledgerKey, type FetchItem } from './fetchItem.js';

/**
 * Brings every item into the object store: from the store when the upstream's checksum
 * names bytes already there, otherwise over HTTP, `concurrency` at a time (downloadWork.ts):
 * each body is streamed into a temp file in the store and hashed on the way (BLAKE3 for the
 * id, MD5 or the git blob id for the upstream's promise), a large one on the store's
 * threads, and the temp is queued as an object. Bytes that break the promise are discarded
 * before they become an object, and the request is retried. Progress is made durable in
 * checkpoints, so an interrupted run loses at most the files since the last one.
 */
export interface StoredFile {
  id: ObjectId;
  size: number;
}

export interface DownloadSummary {
  stored: Map<string, StoredFile>;
  downloadedFiles: number;
  downloadedBytes: number;
  reusedFiles: number;
  reusedBytes: number;
}

export interface DownloadOptions {
  concurrency: number;
  progress: Progress;
  /** What a file probably weighs (the last snapshot's size of it or of its package), for percent and ETA by bytes. */
  guessSize?: (path: string) => number | undefined;
}

/** Make downloads durable after this many files, bytes or milliseconds, whichever comes first. */
// Each checkpoint is two filesystem syncs; time and bytes bound the loss, the count only the ledger's growth.
const CHECKPOINT_FILES = 10_000;
const CHECKPOINT_BYTES = 1024 * 1024 * 1024;
const CHECKPOINT_MS = 10_000;

export async function downloadAll(repo: Repository, ledger: DownloadLedger, http: HttpClient, items: FetchItem[], options: DownloadOptions): Promise<DownloadSummary> {
  const summary: DownloadSummary = { stored: new Map(), downloadedFiles: 0, downloadedBytes: 0, reusedFiles: 0, reusedBytes: 0 };
  const missing: FetchItem[] = [];
  for (const item of items) {
    const known = ledger.lookup(ledgerKey(item.expected));
    if (!known) {
      missing.push(item);
      continue;
    }
    summary.stored.set(item.path, { id: known.id, size: known.size });
    summary.reusedFiles++;
    summary.reusedBytes += known.size;
  }
  const bytes = estimateTotalBytes(missing.map((item) => item.expected.size ?? options.guessSize?.(item.path)));
  options.progress.phase('downloading', { files: missing.length, ...(bytes === undefined ? {} : { bytes, estimated: true }) });
  let sinceCheckpoint = { files: 0, bytes: 0, started: Date.now() };
  const threads = StoreThreads.forStreams();
  const onBytes = (bytes: number) => options.progress.advance(0, bytes);
  // Stopped by Ctrl-C or SIGTERM: what arrived is made durable and remembered, for the next run.
  const forget = onInterrupt(async () => {
    const kept = summary.downloadedFiles; // each already remembered by the ledger
    await ledger.checkpoint();
    return `kept the ${count(kept, 'file')} downloaded so far; the next run fetches only the rest`;
  });
  try {
    await forEachConcurrently(missing, options.concurrency, async (item) => {
      const fetched = await fetchToTemp(http, item, threads, repo.objects.tmpDirForWriters(), onBytes);
      await repo.objects.queueTemp(fetched.temp, fetched.id, fetched.size);
      const stored = { id: fetched.id, size: fetched.size };
      summary.stored.set(item.path, stored);
      summary.downloadedFiles++;
      summary.downloadedBytes += stored.size;
      const key = ledgerKey(item.expected);
      if (key !== null) ledger.remember({ key, ...stored });
      options.progress.advance(1, 0);
      sinceCheckpoint.files++;
      sinceCheckpoint.bytes += stored.size;
      if (sinceCheckpoint.files >= CHECKPOINT_FILES || sinceCheckpoint.bytes >= CHECKPOINT_BYTES || Date.now() - sinceCheckpoint.started >= CHECKPOINT_MS) {
        sinceCheckpoint = { files: 0, bytes: 0, started: Date.now() };
        await ledger.checkpoint();
      }
    });
  } catch (err) {
    // Whatever arrived before the failure is kept, so the next run fetches only the rest;
    // the download's own error is the one to report, even if keeping fails too.
    await ledger.checkpoint().catch(() => undefined);
    throw err;
  } finally {
    await threads.close();
    forget();
  }
  await ledger.checkpoint();
  return summary;
}
