import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ingest, link, read } from './storeWork.js';
import type { IngestReply, IngestRequest, IngestResult, LinkReply, LinkRequest, ReadReply, ReadRequest } from './storeThreadMessages.js';

/**
 * The store's threads (storeThread.ts), for the work a tree of many small files is made
 * of: taking files into the store (snapshot create), reading small objects out of it
 * (bundle create) and hardlinking a deployment's files (apply, rollback, the online
 * view). A tree of 200,000 files of a few hundred bytes is bound by system calls (open,
 * read, create, write, close, link per file), which one thread makes one after another;
 * two threads on two cores make them about twice as fast. Work goes out in batches, so a
 * message costs little per file; at most two batches per thread are out at once, so
 * memory stays flat however many files there are.
 */
const BATCH_FILES = 64;
const BATCHES_PER_THREAD = 2;
/**
 * Below this many files the work is done on the main thread, by the same code: starting
 * two threads costs about 0.1 s, more than a small tree's work. AIRLOCK_STORE_THREADS_FROM
 * changes it (the tests set 0 to run the threads on small trees too).
 */
const THREADS_FROM = Number(process.env.AIRLOCK_STORE_THREADS_FROM ?? 5000);

/**
 * The thread's script: next to this module once compiled. When this module runs from its
 * TypeScript source (the test runner), the compiled script in dist/ (`npm test` builds first).
 */
function workerScript(): URL {
  const here = new URL(import.meta.url);
  if (!here.pathname.endsWith('.ts')) return new URL('./storeThread.js', here);
  return new URL('../../dist/src/repository/storeThread.js', here);
}

export class StoreThreads {
  private readonly workers: Worker[];
  /** No threads: each batch is done here, on the main thread. */
  private readonly inline: boolean;
  private readonly waiting = new Map<number, { resolve: (r: never) => void; reject: (e: unknown) => void }>();
  private nextBatch = 0;
  private nextWorker = 0;
  private failure: Error | undefined;

  private constructor(count: number) {
    this.inline = count === 0;
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(workerScript());
      worker.on('message', (reply: IngestReply | ReadReply) => {
        const waiter = this.waiting.get(reply.batch);
        this.waiting.delete(reply.batch);
        waiter?.resolve(reply as never);
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a store thread stopped (exit ${code})`));
      });
      return worker;
    });
  }

  /**
   * For `items` files of work: one thread per core, two at least (the main thread has its
   * own work: renames, messages), or none below THREADS_FROM.
   */
  static forWork(items: number, threads = Math.max(2, Math.min(4, availableParallelism()))): StoreThreads {
    return new StoreThreads(items < THREADS_FROM ? 0 : threads);
  }

  get capacity(): number {
    return this.inline ? 1 : this.workers.length * BATCHES_PER_THREAD;
  }

  static readonly batchFiles = BATCH_FILES;

  /** Ingests one batch of files on the next thread; the results come in the files' order. */
  async ingest(files: IngestRequest['files'], tmpDir: string, objectsDir: string): Promise<IngestResult[]> {
    const reply = await this.send<IngestReply>({ kind: 'ingest', batch: this.nextBatch++, files, tmpDir, objectsDir });
    return reply.results;
  }

  /** Reads one batch of objects whole on the next thread, into one buffer. */
  read(objects: ReadRequest['objects']): Promise<ReadReply> {
    return this.send<ReadReply>({ kind: 'read', batch: this.nextBatch++, objects });
  }

  /** Makes one batch of hardlinks on the next thread. */
  link(pairs: LinkRequest['pairs'], owner: LinkRequest['owner']): Promise<LinkReply> {
    return this.send<LinkReply>({ kind: 'link', batch: this.nextBatch++, pairs, owner });
  }

  private send<T>(request: IngestRequest | ReadRequest | LinkRequest): Promise<T> {
    if (this.inline) {
      try {
        return Promise.resolve((request.kind === 'link' ? link(request) : request.kind === 'read' ? read(request) : ingest(request)) as T);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.failure) return Promise.reject(this.failure);
    const worker = this.workers[this.nextWorker++ % this.workers.length]!;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(request.batch, { resolve: resolve as (r: never) => void, reject });
      worker.postMessage(request);
    });
  }

  /** A queue that sends indices to `send` in batches of `size`, with at most `capacity` batches out at once. */
  batches(size: number, send: (batch: number[]) => Promise<void>): BatchQueue {
    return new BatchQueue(size, this.capacity, send);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
  }
}

/**
 * Indices gathered into batches and sent as each fills, with at most `capacity` batches
 * out at once (adding waits for the oldest). Batches are awaited in the order they were
 * sent; after a failure, `finish` throws it and `settled` waits for the rest, so nothing
 * is still running when the caller's error leaves.
 */
export class BatchQueue {
  private batch: number[] = [];
  private readonly out: Promise<void>[] = [];

  constructor(
    private readonly size: number,
    private readonly capacity: number,
    private readonly send: (batch: number[]) => Promise<void>,
  ) {}

  async add(index: number): Promise<void> {
    this.batch.push(index);
    if (this.batch.length >= this.size) await this.dispatch();
  }

  /** Sends what is left and waits for every batch, in order. */
  async finish(): Promise<void> {
    if (this.batch.length > 0) await this.dispatch();
    while (this.out.length > 0) await this.out.shift();
  }

  /** Waits for every batch still out, whatever became of it. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.out);
  }

  private async dispatch(): Promise<void> {
    const sent = this.send(this.batch);
    sent.catch(() => undefined); // awaited in order; this only keeps an early rejection from going unhandled
    this.out.push(sent);
    this.batch = [];
    if (this.out.length >= this.capacity) await this.out.shift();
  }
}
