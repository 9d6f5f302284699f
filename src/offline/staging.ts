import * as fs from 'node:fs';
import type { BundleHeader } from '../core/bundle/format.js';
import type { ObjectId } from '../core/objectId.js';
import { failpoint } from '../fs/failpoint.js';
import type { ObjectSink } from '../bundle/readBundle.js';
import type { Repository } from '../repository/repository.js';
import type { StagedObject } from '../repository/objectStore.js';
import { ObjectPlacer, PLACE_LIMIT } from '../repository/objectPlacer.js';
import { StoreThreads } from '../repository/storeThreads.js';
import { reportedError, type PlaceResult } from '../repository/storeThreadMessages.js';

/** How much an interrupted apply may have to import again. */
const RESUME_CHECKPOINT_BYTES = Number(process.env.AIRLOCK_APPLY_CHECKPOINT_BYTES ?? 1024 * 1024 * 1024);
const RESUME_CHECKPOINT_MS = 10_000;

/**
 * Imports each object into the store as soon as it verified against its id (the store
 * stages it, ObjectStore.stage; or, for the small objects of a large bundle, the store
 * threads place them in batches, ObjectPlacer), and makes the imports durable in checkpoints, so an apply
 * killed halfway resumes: an object the store already has is only read and checked from
 * the bundle, never written again. Objects are inert content named by their hash; nothing
 * refers to them until the whole bundle has checked out and its tree is recorded; a bundle
 * that turns out damaged, is refused or unsigned has this run's imports removed again (undo).
 */
export class Staging {
  private sinceCheckpoint = { bytes: 0, started: Date.now() };
  /** Objects this run brought in: removed again if the bundle turns out bad or is refused. */
  private readonly imported: ObjectId[] = [];
  /** Set once the whole bundle checked out and was accepted: its objects are kept from then on. */
  accepted = false;
  /** Small objects go to the store threads in batches (start()). */
  private placing: { pool: StoreThreads; placer: ObjectPlacer } | undefined;
  /** Set by Ctrl-C or SIGTERM: no more imports, and those made are kept for the next run. */
  private interrupted = false;
  committed = 0;

  /** Stops importing; returns how many objects were imported (the interrupt makes them durable). */
  interrupt(): number {
    this.interrupted = true;
    return this.committed;
  }

  constructor(
    private readonly repo: Repository,
    /** --force-full: objects present but damaged are replaced by the bundle's. */
    private readonly repair: boolean,
  ) {}

  /**
   * Once the header says how many objects come: threads to place the small ones for a
   * bundle of many objects or bytes, none for a small one (StoreThreads.forWork). With
   * --force-full each object the store has is hashed before it is replaced or kept, so
   * objects are staged one by one, here.
   */
  start(objects: BundleHeader['objects']): void {
    if (this.repair || this.placing) return;
    const pool = StoreThreads.forWork(objects.count, objects.bytes);
    this.placing = { pool, placer: new ObjectPlacer(this.repo.objects, pool, (object, result) => this.placed(object, result)) };
  }

  /** Synchronous for most objects: a promise per object and call was most of what an apply of small files allocated. */
  open(id: ObjectId, size: number): ObjectSink | undefined | Promise<ObjectSink | undefined> {
    // Stopping: the rest of the bundle is only read through, nothing more is written.
    if (this.interrupted) return undefined;
    const placer = this.placing?.placer;
    if (placer && size <= PLACE_LIMIT) {
      // The thread looks for it on disk; an object is in a bundle once, so only the flush's queue can hold it already.
      if (this.repo.objects.isQueued(id)) return undefined;
      const room = placer.open(size);
      return room ? room.then(() => this.placedSink(id, placer)) : this.placedSink(id, placer);
    }
    const staged = this.repo.objects.stage(id, { repair: this.repair });
    return staged instanceof Promise ? staged.then((s) => this.sink(id, s)) : this.sink(id, staged);
  }

  /** A small object's sink: its bytes join the batch being filled, and the batch takes it once it checked out. */
  private placedSink(id: ObjectId, placer: ObjectPlacer): ObjectSink {
    return {
      write: (chunk) => placer.write(chunk),
      finish: () => {
        if (this.interrupted) placer.drop(); // stopping: only what was imported before counts
        else placer.commit(id);
      },
      abort: async () => placer.drop(),
    };
  }

  /** A placed object, as its thread left it: written to a temp (queued to become the object at the next flush), or present. */
  private placed({ id, size }: { id: ObjectId; size: number }, result: PlaceResult): Promise<void> | undefined {
    if (result.kind === 'error') throw reportedError(result);
    // Stopped: a temp written since is swept by the next command, as a staged one would be.
    if (result.kind === 'present' || this.interrupted) return undefined;
    const queued = this.repo.objects.queueWritten(result.temp, id, size);
    return queued ? queued.then(() => this.finished(id, false, size)) : this.finished(id, false, size);
  }

  private sink(id: ObjectId, staged: StagedObject | undefined): ObjectSink | undefined {
    if (staged === undefined) return undefined;
    return {
      write: (chunk) => staged.write(chunk),
      finish: () => {
        if (this.interrupted) return staged.abort(); // stopping: only what was imported before counts
        const queued = staged.finish();
        return queued ? queued.then(() => this.finished(id, staged.replaces, staged.size)) : this.finished(id, staged.replaces, staged.size);
      },
      abort: async () => staged.abort(),
    };
  }

  private finished(id: ObjectId, replaces: boolean, size: number): Promise<void> | undefined {
    // A repaired object stays whatever happens next: it was there before, damaged.
    if (!replaces) this.imported.push(id);
    this.committed++;
    failpoint('apply-staged-object');
    return this.checkpoint(size);
  }

  /** Every RESUME_CHECKPOINT_BYTES or RESUME_CHECKPOINT_MS: the imports so far survive a crash. */
  private checkpoint(size: number): Promise<void> | undefined {
    this.sinceCheckpoint.bytes += size;
    if (this.sinceCheckpoint.bytes < RESUME_CHECKPOINT_BYTES && Date.now() - this.sinceCheckpoint.started < RESUME_CHECKPOINT_MS) return undefined;
    this.sinceCheckpoint = { bytes: 0, started: Date.now() };
    return this.repo.objects.flush();
  }

  async commit(): Promise<void> {
    const placing = this.placing;
    if (placing) {
      try {
        await placing.placer.finish();
      } finally {
        await this.stopPlacing();
      }
    }
    await this.repo.objects.flush();
    failpoint('apply-committed-objects');
  }

  /** No thread is placing anything once this returns (whatever became of the batches out). */
  private async stopPlacing(): Promise<void> {
    const placing = this.placing;
    this.placing = undefined;
    if (!placing) return;
    await placing.placer.settled();
    await placing.pool.close();
  }

  /** After success: only scratch goes. */
  async discard(): Promise<void> {
    fs.rmSync(this.repo.layout.tmpDir, { recursive: true, force: true });
  }

  /**
   * After a failure airlock saw (a damaged, refused or unsigned bundle): this run's imports
   * go too, so a bad bundle leaves nothing behind. Only a run killed outright keeps them,
   * for the next run to resume with.
   */
  async undo(): Promise<void> {
    if (this.interrupted) return; // the interrupt keeps this run's imports, for the next run to resume with
    await this.stopPlacing();
    await this.repo.objects.flush().catch(() => undefined);
    if (!this.accepted) for (const id of this.imported) await this.repo.objects.remove(id).catch(() => undefined);
    this.imported.length = 0;
    await this.discard();
  }
}
