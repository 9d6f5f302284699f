import { count } from '../core/units.js';
import { createHash, type Hash } from 'node:crypto';
import type { ObjectId } from '../core/objectId.js';
import { forEachConcurrently } from '../core/workerPool.js';
import type { Progress } from '../core/progress.js';
import { estimateTotalBytes } from '../core/packages.js';
import { RPackageCheck } from './rPackageCheck.js';
import { onInterrupt } from '../fs/interrupt.js';
import type { Repository } from '../repository/repository.js';
import { BodyRejected, checkLength, type HttpClient } from '../upstream/http.js';
import type { DownloadLedger } from './downloadLedger.js';
import { ledgerKey, type Expected, type FetchItem } from './fetchItem.js';

/**
 * Brings every item into the object store: from the store when the upstream's checksum
 * names bytes already there, otherwise over HTTP with a fixed pool of workers, each body
 * streamed straight into the store and hashed on the way (BLAKE3 for the id, MD5 or the
 * git blob id for the upstream's promise). Bytes that break the promise are discarded
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
  // Stopped by Ctrl-C or SIGTERM: what arrived is made durable and remembered, for the next run.
  const forget = onInterrupt(async () => {
    const kept = summary.downloadedFiles; // each already remembered by the ledger
    await ledger.checkpoint();
    return `kept the ${count(kept, 'file')} downloaded so far; the next run fetches only the rest`;
  });
  try {
    await forEachConcurrently(missing, options.concurrency, async (item) => {
      const stored = await downloadOne(repo, http, item, options.progress);
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
    forget();
  }
  await ledger.checkpoint();
  return summary;
}

async function downloadOne(repo: Repository, http: HttpClient, item: FetchItem, progress: Progress): Promise<StoredFile> {
  return http.fetch({ url: item.url, userAgent: item.userAgent }, async (response) => {
    const check = new PromiseCheck(item.url, item.expected);
    const described = item.expected.rPackage ? new RPackageCheck(item.url, item.expected.rPackage) : null;
    let received = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of response.body) {
        received += chunk.length;
        check.update(chunk);
        await described?.update(chunk);
        progress.advance(0, chunk.length);
        yield chunk;
      }
      await described?.verify();
    }
    return repo.objects.addStream(counted(), item.url, () => {
      checkLength(item.url, response.length, received);
      check.verify(received);
    });
  });
}

/** Checks the bytes against what the upstream's index promised for them. */
class PromiseCheck {
  private readonly md5: Hash | null;
  private readonly sha1: Hash | null;

  constructor(
    private readonly url: string,
    private readonly expected: Expected,
  ) {
    this.md5 = expected.md5 !== null ? createHash('md5') : null;
    this.sha1 = expected.gitBlob !== null ? createHash('sha1').update(`blob ${expected.gitBlob.size}\0`) : null;
  }

  update(chunk: Buffer): void {
    this.md5?.update(chunk);
    this.sha1?.update(chunk);
  }

  verify(size: number): void {
    if (this.expected.size !== null && size !== this.expected.size) {
      throw new BodyRejected(`${this.url} is ${size} bytes, but its index says ${this.expected.size}`, 'truncated');
    }
    if (this.md5) {
      const actual = this.md5.digest('hex');
      if (actual !== this.expected.md5) throw new BodyRejected(`${this.url} has MD5 ${actual}, but its index says ${this.expected.md5}`, 'checksum');
    }
    const blob = this.expected.gitBlob;
    if (this.sha1 && blob) {
      const actual = this.sha1.digest('hex');
      if (actual !== blob.sha) throw new BodyRejected(`${this.url} has git blob id ${actual}, but the listing says ${blob.sha}`, 'checksum');
    }
  }
}
