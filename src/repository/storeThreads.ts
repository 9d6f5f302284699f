import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AirlockError } from '../errors.js';
import { threadScript } from '../fs/threadScript.js';
import { ingest, link, read, StreamWriter } from './storeWork.js';
import {
  reportedError,
  type IngestReply,
  type IngestRequest,
  type IngestResult,
  type LinkReply,
  type LinkRequest,
  type ReadReply,
  type ReadRequest,
  type StreamDigests,
  type StreamDigestsWanted,
  type StreamReply,
  type StreamRequest,
} from './storeThreadMessages.js';

/** Bytes streamed into a temp file (a download's body), written and hashed on a store thread. */
export interface StoreStream {
  /** Takes the next piece; a promise when the thread is behind, to be awaited before the next. */
  write(piece: Buffer): Promise<void> | undefined;
  /** After the last piece: the file is complete (not synced) and these are its digests. */
  finish(): Promise<StreamDigests>;
  /** Gives up: the temp file is removed. */
  discard(): void;
}

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
const THREADS_FROM = 5000;
const THREADS_FROM_SET = process.env.AIRLOCK_STORE_THREADS_FROM;
/**
 * A stream of fewer bytes than this is written on the main thread: for a small body the
 * messages cost more than the work. AIRLOCK_STREAM_THREADS_FROM changes it (the tests set 0).
 */
const STREAM_THREAD_FROM = Number(process.env.AIRLOCK_STREAM_THREADS_FROM ?? 1024 * 1024);
/** One thread per core, two at least (the main thread has its own work: renames, messages, HTTP). */
const THREAD_COUNT = Math.max(2, Math.min(4, availableParallelism()));
/** A stream's bytes go to its thread in messages of about this size... */
const STREAM_MESSAGE_BYTES = 256 * 1024;
/** ...with at most this many unanswered (4 MiB a stream): a disk slower than the network holds the body back, not memory. */
const STREAM_MESSAGES_OUT = 16;

export class StoreThreads {
  private started: Worker[] | undefined;
  /** No threads: each batch is done here, on the main thread. */
  private readonly inline: boolean;
  private readonly waiting = new Map<number, { resolve: (r: never) => void; reject: (e: unknown) => void }>();
  private nextBatch = 0;
  private nextWorker = 0;
  private nextStream = 0;
  private failure: Error | undefined;
  private closing = false;

  /** The threads start at the first piece of work sent to them (a run of small downloads never needs them). */
  private constructor(
    private readonly count: number,
    /** Streams of fewer bytes are written on this thread. */
    private readonly streamThreadFrom: number,
  ) {
    this.inline = count === 0;
  }

  private get workers(): Worker[] {
    this.started ??= Array.from({ length: this.count }, () => {
      const worker = new Worker(threadScript(import.meta.url, 'storeThread.js'));
      worker.on('message', (reply: IngestReply | ReadReply | LinkReply | StreamReply) => {
        const waiter = this.waiting.get(reply.batch);
        this.waiting.delete(reply.batch);
        waiter?.resolve(reply as never);
      });
      worker.on('error', (err) => this.fail(err.message));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(`it exited (${code})`);
      });
      return worker;
    });
    return this.started;
  }

  /**
   * For `items` files of work: one thread per core, two at least (the main thread has its
   * own work: renames, messages), or none below THREADS_FROM.
   */
  static forWork(items: number, threads = THREAD_COUNT): StoreThreads {
    const threshold = THREADS_FROM_SET === undefined ? THREADS_FROM : Number(THREADS_FROM_SET);
    return new StoreThreads(items < threshold ? 0 : threads, STREAM_THREAD_FROM);
  }

  /** For streams (downloads): the threads take the large ones, and start with the first of those. */
  static forStreams(threads = THREAD_COUNT): StoreThreads {
    return new StoreThreads(threads, STREAM_THREAD_FROM);
  }

  get capacity(): number {
    return this.inline ? 1 : this.count * BATCHES_PER_THREAD;
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

  /**
   * A stream of bytes into `temp`, hashed with BLAKE3 and what `wanted` asks for, on the
   * next thread; on this one when it is known to be small (`length`, when known, is under
   * STREAM_THREAD_FROM): for a few kilobytes the messages cost more than the work.
   */
  stream(temp: string, wanted: StreamDigestsWanted, length: number | null): StoreStream {
    if (this.inline || (length !== null && length < this.streamThreadFrom)) return inlineStream(new StreamWriter(temp, wanted));
    const worker = this.nextWorker++ % this.count;
    return new ThreadStream(this.nextStream++, { temp, wanted }, (piece) => this.post<StreamReply>(piece, worker));
  }

  /** One stream message to its thread, transferring its buffers; a discard is not answered. */
  private post<T>(piece: Omit<StreamRequest, 'batch'>, worker: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const request: StreamRequest = { ...piece, batch: this.nextBatch++ };
    if (request.discard) {
      this.workers[worker]!.postMessage(request);
      return Promise.resolve(undefined as T);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(request.batch, { resolve: resolve as (r: never) => void, reject });
      this.workers[worker]!.postMessage(request, request.data);
    });
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
    const worker = this.workers[this.nextWorker++ % this.count]!;
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
    this.closing = true;
    await Promise.all((this.started ?? []).map((w) => w.terminate()));
  }

  /** A thread that died takes its work with it: what it had is failed, and so is anything sent after. */
  private fail(why: string): void {
    this.failure ??= new AirlockError('INTERNAL', `a store thread stopped: ${why}`, {
      hint: 'run the same command again (what was already stored is kept); if it happens again, report it with the output of the command run with --verbose',
    });
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}

function inlineStream(writer: StreamWriter): StoreStream {
  return {
    write(piece) {
      writer.write(piece);
      return undefined;
    },
    finish: async () => writer.finish(),
    discard: () => writer.discard(),
  };
}

/**
 * A stream on one thread. Pieces go in messages of about STREAM_MESSAGE_BYTES, each
 * answered once written, with at most STREAM_MESSAGES_OUT unanswered. A piece that is the
 * whole of its memory (a network read, as the HTTP client hands it on) is transferred, not
 * copied; it must not be used after write(). Others are copied. The first failure answered
 * is the one thrown.
 */
class ThreadStream implements StoreStream {
  private pieces: ArrayBuffer[] = [];
  private bytes = 0;
  private open: StreamRequest['open'];
  private readonly out: Promise<StreamReply>[] = [];

  constructor(
    private readonly id: number,
    open: NonNullable<StreamRequest['open']>,
    private readonly post: (request: Omit<StreamRequest, 'batch'>) => Promise<StreamReply>,
  ) {
    this.open = open;
  }

  write(piece: Buffer): Promise<void> | undefined {
    const whole = piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength && piece.buffer instanceof ArrayBuffer;
    this.pieces.push(whole ? (piece.buffer as ArrayBuffer) : (piece.buffer.slice(piece.byteOffset, piece.byteOffset + piece.byteLength) as ArrayBuffer));
    this.bytes += piece.byteLength;
    if (this.bytes < STREAM_MESSAGE_BYTES) return undefined;
    this.send(false);
    return this.out.length > STREAM_MESSAGES_OUT ? this.settleOldest() : undefined;
  }

  async finish(): Promise<StreamDigests> {
    this.send(true);
    let digests: StreamDigests | null = null;
    while (this.out.length > 0) {
      const reply = await this.out.shift()!;
      if (reply.kind === 'error') throw reportedError(reply);
      digests = reply.digests ?? digests;
    }
    return digests!;
  }

  discard(): void {
    if (this.open) return; // nothing was sent: no file exists
    void this.post({ kind: 'stream', stream: this.id, open: null, data: [], end: false, discard: true }).catch(() => undefined);
  }

  private async settleOldest(): Promise<void> {
    const reply = await this.out.shift()!;
    if (reply.kind === 'error') throw reportedError(reply);
  }

  private send(end: boolean): void {
    const sent = this.post({ kind: 'stream', stream: this.id, open: this.open, data: this.pieces, end, discard: false });
    sent.catch(() => undefined); // awaited in order by finish or write
    this.pieces = [];
    this.bytes = 0;
    this.open = null;
    this.out.push(sent);
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
