import type { ObjectId } from '../core/objectId.js';
import { inTurn } from '../core/workerPool.js';
import { TMP_LANES, type ObjectStore } from './objectStore.js';
import type { PlaceResult } from './storeThreadMessages.js';
import type { BatchQueue, StoreThreads } from './storeThreads.js';

/** Objects up to this size are placed in batches; larger ones are written one by one (ObjectStore.stage). */
export const PLACE_LIMIT = 1024 * 1024;
/** A batch's memory: its objects' bytes end to end. At most the pool's capacity and one more are ever made. */
const BATCH_BYTES = 4 * PLACE_LIMIT;
/** Objects in a batch at most: a few hundred small files are one message. */
const BATCH_OBJECTS = 256;

/**
 * A bundle's small objects, gathered as the reader verifies them and placed into the store
 * by its threads (apply). The main thread reads, decompresses and hashes the bundle; the
 * threads create a temp file per object (a look for it in the store first), which for a
 * tree of small files is most of an apply's system calls: creating 200,000 files took the
 * main thread 5 of an apply's 18 seconds (perf). The bytes of the object being read are
 * copied into the batch's memory as they come, so the reader keeps no chunk; an object
 * joins the batch only once the reader has checked it (commit), and one it gives up on
 * is taken out again (drop). Each batch's memory is transferred to its thread and back.
 *
 * `placed` takes each object (its id as committed: the caller's own string) and its result,
 * in the objects' order: it queues what was written and may give a promise (a checkpoint's
 * flush) that is waited for.
 */
export class ObjectPlacer {
  private readonly queue: BatchQueue;
  private readonly free: ArrayBuffer[] = [];
  private bytes: Uint8Array | undefined;
  private filled = 0;
  /** Where the batch's committed objects end: the object being read begins there. */
  private committedEnd = 0;
  /** Where the object being read must end. */
  private objectEnd = 0;
  private ids: string[] = [];
  private sizes: number[] = [];
  private lanes = 0;
  /** Results are taken batch after batch (after a failure, every later batch's results fail with it). */
  private readonly inTurn = inTurn();

  constructor(
    private readonly store: ObjectStore,
    private readonly pool: StoreThreads,
    private readonly placed: (object: { id: ObjectId; size: number }, result: PlaceResult) => Promise<void> | undefined,
  ) {
    // The queue counts batches; what a batch holds is kept here until it goes out.
    this.queue = pool.batches(1, () => this.sendBatch());
  }

  /**
   * Room for the next object, of `size` bytes (at most PLACE_LIMIT): a promise only when the
   * batch being filled had to go out first and the threads are behind.
   */
  open(size: number): Promise<void> | undefined {
    if (size > PLACE_LIMIT) throw new RangeError(`objects of up to ${PLACE_LIMIT} bytes are placed in batches, not ${size}`);
    const full = this.bytes !== undefined && (this.filled + size > this.bytes.length || this.ids.length >= BATCH_OBJECTS);
    const sent = full ? this.queue.add(0) : undefined;
    this.bytes ??= new Uint8Array(this.free.pop() ?? new ArrayBuffer(BATCH_BYTES));
    // From the end of the last object committed: the bytes of one opened and never committed
    // or dropped must not shift the objects after it (the thread finds each by the sizes).
    this.filled = this.committedEnd;
    this.objectEnd = this.committedEnd + size;
    return sent;
  }

  /** The next bytes of the object opened last. */
  write(chunk: Uint8Array): void {
    if (this.filled + chunk.length > this.objectEnd) throw new RangeError(`an object placed in a batch got more than the ${this.objectEnd - this.committedEnd} bytes it was opened for`);
    this.bytes!.set(chunk, this.filled);
    this.filled += chunk.length;
  }

  /** The object opened last checked out as `id`, with every byte it was opened for: it goes with the batch. */
  commit(id: ObjectId): void {
    if (this.filled !== this.objectEnd) throw new RangeError(`object ${id} was opened for ${this.objectEnd - this.committedEnd} bytes but got ${this.filled - this.committedEnd}`);
    this.ids.push(id);
    this.sizes.push(this.filled - this.committedEnd);
    this.committedEnd = this.filled;
  }

  /** The object opened last is given up: its bytes leave the batch. */
  drop(): void {
    this.filled = this.committedEnd;
  }

  /** Sends what is left and waits for every batch and its results, in order; throws the first failure. */
  async finish(): Promise<void> {
    if (this.ids.length > 0) await this.queue.add(0);
    await this.queue.finish();
  }

  /** Waits for every batch still out, whatever became of it (after a failure, before cleaning up). */
  settled(): Promise<void> {
    return this.queue.settled();
  }

  /** Takes the batch being filled and places it on the next thread, then hands each result to `placed`. */
  private async sendBatch(): Promise<void> {
    const bytes = this.bytes!;
    const ids = this.ids;
    const sizes = this.sizes;
    this.bytes = undefined;
    this.filled = 0;
    this.committedEnd = 0;
    this.ids = [];
    this.sizes = [];
    // Batches take turns over tmp/'s lanes, as ingest's do (ObjectStore.tmpDirForWriters).
    const tmpDir = this.store.tmpDirForWriters(1 + (this.lanes++ % TMP_LANES));
    const replied = this.pool.place({ bytes: bytes.buffer as ArrayBuffer, count: ids.length, ids: ids.join(''), sizes, tmpDir, objectsDir: this.store.layout.objectsDir }).then((reply) => {
      this.free.push(reply.bytes);
      return reply;
    });
    // Results are taken one batch after another, in the order the objects were read (the
    // threads may answer out of order), as if each were written here: a checkpoint's flush
    // (placed) covers every object counted before it.
    await this.inTurn(replied, (reply) => this.take(ids, sizes, reply.results));
  }

  private async take(ids: ObjectId[], sizes: number[], results: PlaceResult[]): Promise<void> {
    for (let k = 0; k < results.length; k++) {
      const waiting = this.placed({ id: ids[k]!, size: sizes[k]! }, results[k]!);
      if (waiting) await waiting;
    }
  }
}
