import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AirlockError } from '../errors.js';
import { threadScript } from '../fs/threadScript.js';
import { writebackShare } from '../fs/writeback.js';
import { ingest, link, place, read, stat, StreamWriter } from './storeWork.js';
import {
  emptyLinkRequest,
  reportedError,
  type IngestReply,
  type IngestRequest,
  type IngestResult,
  type LinkReply,
  type LinkRequest,
  type PlaceReply,
  type PlaceRequest,
  type ReadReply,
  type ReadRequest,
  type StatReply,
  type StatRequest,
  type StreamDigests,
  type StreamDigestsWanted,
  type StreamReply,
  type StreamRequest,
  STREAM_SLOT_BYTES,
  STREAM_SLOTS,
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
 * (bundle create), placing a bundle's verified objects into it (apply) and hardlinking a deployment's files (apply, rollback, the online
 * view). A tree of 200,000 files of a few hundred bytes is bound by system calls (open,
 * read, create, write, close, link per file), which one thread makes one after another;
 * two threads on two cores make them about twice as fast. Work goes out in batches, so a
 * message costs little per file; at most two batches per thread are out at once, so
 * memory stays flat however many files there are. They also write and hash a download's
 * large bodies (`stream`), so the main thread only parses HTTP.
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
 * Or this many bytes, however few the files: 4,000 package archives of 1.7 GB are read
 * (and hashed) in seconds, the whole of a bundle's time if the main thread does it.
 */
const THREADS_FROM_BYTES = 128 * 1024 * 1024;
/**
 * A stream of fewer bytes than this is written on the main thread: for a small body the
 * messages cost more than the work. AIRLOCK_STREAM_THREADS_FROM changes it (the tests set 0).
 */
const STREAM_THREAD_FROM = Number(process.env.AIRLOCK_STREAM_THREADS_FROM ?? 1024 * 1024);
/** One thread per core, two at least (the main thread has its own work: renames, messages, HTTP). */
const THREAD_COUNT = Math.max(2, Math.min(4, availableParallelism()));

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
  /** Each thread's slots for stream bytes. */
  private readonly slots: SlotPool[] = [];

  /** The threads start at the first piece of work sent to them (a run of small downloads never needs them). */
  private constructor(
    private readonly count: number,
    /** Streams of fewer bytes are written on this thread (Infinity: every stream, as for a pool of work). */
    private readonly streamThreadFrom: number,
  ) {
    this.inline = count === 0;
  }

  private get workers(): Worker[] {
    this.started ??= Array.from({ length: this.count }, (_, index) => {
      // Slots for streams only where streams may go to the threads (a download's pool).
      if (Number.isFinite(this.streamThreadFrom)) this.slots[index] = new SlotPool();
      // The threads' early syncs count with this thread's against one process-wide limit.
      const worker = new Worker(threadScript(import.meta.url, 'storeThread.js'), { workerData: { writeback: writebackShare() } });
      worker.on('message', (reply: IngestReply | ReadReply | LinkReply | PlaceReply | StatReply | StreamReply) => {
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
   * For `items` files of work, with `bytes` for the threads to read: one thread per core, two
   * at least (the main thread has its own work: renames, messages), or none below
   * THREADS_FROM files and THREADS_FROM_BYTES.
   */
  static forWork(items: number, bytes = 0, threads = THREAD_COUNT): StoreThreads {
    // AIRLOCK_STORE_THREADS_FROM, when set, decides alone.
    const here = THREADS_FROM_SET === undefined ? items < THREADS_FROM && bytes < THREADS_FROM_BYTES : items < Number(THREADS_FROM_SET);
    return new StoreThreads(here ? 0 : threads, Infinity);
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

  /** Reads one batch of objects whole on the next thread, into one buffer: `buffer` (shared) when it is large enough. */
  read(objects: ReadRequest['objects'], buffer: SharedArrayBuffer | null = null): Promise<ReadReply> {
    return this.send<ReadReply>({ kind: 'read', batch: this.nextBatch++, objects, buffer });
  }

  /** Places one batch of verified objects on the next thread; `bytes` is transferred there and comes back in the reply. */
  place(objects: Omit<PlaceRequest, 'kind' | 'batch'>): Promise<PlaceReply> {
    return this.send<PlaceReply>({ kind: 'place', batch: this.nextBatch++, ...objects });
  }

  /** lstats one batch of paths below `dir` (joined by NUL) on the next thread. */
  stat(dir: string, count: number, paths: string): Promise<StatReply> {
    return this.send<StatReply>({ kind: 'stat', batch: this.nextBatch++, dir, count, paths });
  }

  /** Makes one batch of hardlinks on the next thread. */
  link(links: Omit<LinkRequest, 'kind' | 'batch'>): Promise<LinkReply> {
    return this.send<LinkReply>({ kind: 'link', batch: this.nextBatch++, ...links });
  }

  /**
   * A stream of bytes into `temp`, hashed with BLAKE3 and what `wanted` asks for, on the
   * next thread; on this one when it is known to be small (`length`, when known, is under
   * STREAM_THREAD_FROM): for a few kilobytes the messages cost more than the work.
   */
  stream(temp: string, wanted: StreamDigestsWanted, length: number | null): StoreStream {
    const here = length === null ? !Number.isFinite(this.streamThreadFrom) : length < this.streamThreadFrom;
    if (this.inline || here) return inlineStream(new StreamWriter(temp, wanted));
    const worker = this.nextWorker++ % this.count;
    const thread = this.workers[worker]!;
    return new ThreadStream(this.nextStream++, { temp, wanted }, this.slots[worker]!, (piece) => this.post<StreamReply>(piece, thread));
  }

  /** One stream message to its thread, its slot transferred with it; a discard is not answered. */
  private post<T>(piece: Omit<StreamRequest, 'batch'>, worker: Worker): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const request: StreamRequest = { ...piece, batch: this.nextBatch++ };
    const transfer = request.slot ? [request.slot] : [];
    if (request.discard) {
      worker.postMessage(request, transfer);
      return Promise.resolve(undefined as T);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(request.batch, { resolve: resolve as (r: never) => void, reject });
      worker.postMessage(request, transfer);
    });
  }

  private send<T>(request: IngestRequest | ReadRequest | LinkRequest | PlaceRequest | StatRequest): Promise<T> {
    if (this.inline) {
      try {
        return Promise.resolve(inlineWork(request) as T);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.failure) return Promise.reject(this.failure);
    return this.sendTo<T>(this.workers[this.nextWorker++ % this.count]!, request);
  }

  private sendTo<T>(worker: Worker, request: IngestRequest | ReadRequest | LinkRequest | PlaceRequest | StatRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(request.batch, { resolve: resolve as (r: never) => void, reject });
      // A placement's memory is transferred, not copied (and comes back with the answer).
      worker.postMessage(request, request.kind === 'place' ? [request.bytes] : []);
    });
  }

  /**
   * A queue that sends items to `send` in batches of `size`, or sooner once their weights
   * (add's second argument: bytes, say) reach `weight`, with at most `capacity` batches out at once.
   */
  batches<T = number>(size: number, send: (batch: T[]) => Promise<void>, weight = Infinity): BatchQueue<T> {
    return new BatchQueue(size, this.capacity, send, weight);
  }

  /** Stops the threads; anything still waiting on them, or sent after, fails instead of waiting forever. */
  async close(): Promise<void> {
    // Each thread takes its messages in order: once it answers an empty batch, everything sent
    // before (a discarded download's temp file to remove) is done, and so are its early syncs.
    if (!this.failure) await Promise.allSettled((this.started ?? []).map((worker) => this.sendTo<LinkReply>(worker, emptyLinkRequest(this.nextBatch++))));
    this.closing = true;
    await Promise.all((this.started ?? []).map((w) => w.terminate()));
    this.settleAll(new Error('the store threads were closed with work still out'));
  }

  /** A thread that died takes its work with it: what it had is failed, and so is anything sent after. */
  private fail(why: string): void {
    this.settleAll(
      new AirlockError('INTERNAL', `a store thread stopped: ${why}`, {
        hint: 'run the same command again (what was already stored is kept); if it happens again, report it with the output of the command run with --verbose',
      }),
    );
  }

  private settleAll(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
    for (const pool of this.slots) pool.fail(this.failure);
  }
}

/** A batch of work done here, on the main thread, by the threads' own code. */
function inlineWork(request: IngestRequest | ReadRequest | LinkRequest | PlaceRequest | StatRequest): IngestReply | ReadReply | LinkReply | PlaceReply | StatReply {
  switch (request.kind) {
    case 'stat':
      return stat(request);
    case 'link':
      return link(request);
    case 'read':
      return read(request);
    case 'place':
      return place(request);
    case 'ingest':
      return ingest(request);
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
 * A thread's slots (storeThreadMessages.ts): taken by streams for their next bytes, sent to
 * the thread with them, and free again when the thread's answer brings them back.
 */
class SlotPool {
  private readonly free: ArrayBuffer[] = Array.from({ length: STREAM_SLOTS }, () => new ArrayBuffer(STREAM_SLOT_BYTES));
  private readonly waiters: Array<{ resolve: (slot: ArrayBuffer) => void; reject: (err: unknown) => void }> = [];
  private failure: unknown;

  take(): ArrayBuffer | undefined {
    return this.free.pop();
  }

  /** The next free slot, once there is one (every slot is out: the thread is behind). */
  wait(): Promise<ArrayBuffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(slot: ArrayBuffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.free.push(slot);
  }

  fail(err: unknown): void {
    this.failure ??= err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  /** The thread's failure, once it has failed: its streams stop at once. */
  get failed(): unknown {
    return this.failure;
  }
}

/**
 * A stream on one thread: its bytes are copied into a free slot, which is sent (transferred)
 * once full; the thread's answer brings the slot back. When every slot is out, write()
 * returns a promise to wait on, so a disk slower than the network holds the body back
 * rather than filling memory. The first failure answered is the one thrown.
 */
class ThreadStream implements StoreStream {
  private slot: Uint8Array | undefined;
  private filled = 0;
  private open: StreamRequest['open'];
  private readonly out: Promise<StreamReply>[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly id: number,
    open: NonNullable<StreamRequest['open']>,
    private readonly slots: SlotPool,
    private readonly post: (request: Omit<StreamRequest, 'batch'>) => Promise<StreamReply>,
  ) {
    this.open = open;
  }

  write(piece: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.slots.failed !== undefined) throw this.slots.failed;
    for (let at = 0; at < piece.length; ) {
      if (this.slot === undefined) {
        const free = this.slots.take();
        if (free === undefined) return this.writeLater(piece, at);
        this.slot = new Uint8Array(free);
      }
      at += this.fill(piece, at);
    }
    return undefined;
  }

  async finish(): Promise<StreamDigests> {
    if (this.failure) throw this.failure;
    this.send(true);
    let digests: StreamDigests | null = null;
    while (this.out.length > 0) {
      const reply = await this.out.shift()!;
      if (reply.kind === 'streamed') digests = reply.digests ?? digests;
    }
    if (this.failure) throw this.failure;
    return digests!;
  }

  discard(): void {
    if (this.slot !== undefined) this.slots.release(this.slot.buffer as ArrayBuffer);
    this.slot = undefined;
    if (this.open) return; // nothing was sent: no file exists
    void this.post({ kind: 'stream', stream: this.id, open: null, slot: null, length: 0, end: false, discard: true }).catch(() => undefined);
  }

  private async writeLater(piece: Buffer, from: number): Promise<void> {
    for (let at = from; at < piece.length; ) {
      this.slot ??= new Uint8Array(this.slots.take() ?? (await this.slots.wait()));
      at += this.fill(piece, at);
    }
    if (this.failure) throw this.failure;
  }

  /** Copies what fits of piece[at..] into the slot held, and sends the slot once full. */
  private fill(piece: Buffer, at: number): number {
    const n = Math.min(STREAM_SLOT_BYTES - this.filled, piece.length - at);
    piece.copy(this.slot!, this.filled, at, at + n);
    this.filled += n;
    if (this.filled === STREAM_SLOT_BYTES) this.send(false);
    return n;
  }

  private send(end: boolean): void {
    const sent = this.post({ kind: 'stream', stream: this.id, open: this.open, slot: (this.slot?.buffer as ArrayBuffer | undefined) ?? null, length: this.filled, end, discard: false }).then((reply) => {
      if (reply.slot) this.slots.release(reply.slot);
      if (reply.kind === 'error') this.failure ??= reportedError(reply);
      return reply;
    });
    sent.catch(() => undefined); // awaited in order by finish
    this.slot = undefined;
    this.filled = 0;
    this.open = null;
    this.out.push(sent);
    // Answered messages are let go as they come, so a long body does not pile up promises.
    while (this.out.length > STREAM_SLOTS) this.out.shift();
  }
}

/**
 * Items (indices, most often) gathered into batches and sent as each fills, with at most `capacity` batches
 * out at once (adding waits for the oldest). Batches are awaited in the order they were
 * sent; after a failure, `finish` throws it and `settled` waits for the rest, so nothing
 * is still running when the caller's error leaves.
 */
export class BatchQueue<T = number> {
  private batch: T[] = [];
  private weighed = 0;
  private readonly out: Promise<void>[] = [];

  constructor(
    private readonly size: number,
    private readonly capacity: number,
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly weight = Infinity,
  ) {}

  /** A promise to wait on only when a batch went out (a promise per item made most of a tree's garbage). */
  add(item: T, weight = 0): Promise<void> | undefined {
    this.batch.push(item);
    this.weighed += weight;
    return this.batch.length >= this.size || this.weighed >= this.weight ? this.dispatch() : undefined;
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
    this.weighed = 0;
    if (this.out.length >= this.capacity) await this.out.shift();
  }
}
