import * as fs from 'node:fs';

/**
 * A large file's bytes start for the disk while it is still being written: every
 * START_EVERY_BYTES written to one file, a data sync of it runs in the background (on the
 * threadpool, through a descriptor of its own). Without it the kernel keeps them all in the
 * page cache until the store's flush, whose sync then waits for every byte at once (604 MB
 * downloaded: 1.8 s after the last byte arrived; 576 MB applied: 1.3 s). The flush still
 * makes every object durable, as before: this only starts the disk sooner.
 *
 * At most SYNCS_AT_ONCE are out in the whole process (the count is shared with the store's
 * threads, joinWriteback), so the threadpool's four threads stay free for the flush's renames
 * and everything else; a file that passes its mark while they are out is synced at its next
 * write after one ends, or by the flush.
 */
const START_EVERY_BYTES = 16 * 1024 * 1024;
const SYNCS_AT_ONCE = 2;

/** Syncs out in the process: [0], changed only with Atomics. */
let processWide = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
/** Syncs this thread started that have not ended, and who waits for there to be none. */
let outHere = 0;
let idleWaiters: Array<() => void> = [];

/** The process-wide count, for a thread to join (passed in its workerData). */
export function writebackShare(): SharedArrayBuffer {
  return processWide.buffer as SharedArrayBuffer;
}

/** On a thread: count this thread's syncs with the process's (writebackShare of the thread that made it). */
export function joinWriteback(share: SharedArrayBuffer): void {
  processWide = new Int32Array(share);
}

/** Resolves once no sync this thread started is out: before a thread is stopped, its descriptors are closed. */
export function writebackIdle(): Promise<void> {
  if (outHere === 0) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.push(resolve));
}

export class EarlyWriteback {
  /** Bytes written since this file's last sync started. */
  private unsynced = 0;
  /** The first early sync of this file that failed: the disk refused its bytes. */
  private failure: NodeJS.ErrnoException | null = null;

  /** Told after each write of `bytes` to `fd`. */
  wrote(fd: number, bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < START_EVERY_BYTES) return;
    if (Atomics.add(processWide, 0, 1) >= SYNCS_AT_ONCE) {
      Atomics.sub(processWide, 0, 1);
      return;
    }
    this.unsynced = 0;
    if (!this.startSync(fd)) Atomics.sub(processWide, 0, 1);
  }

  /**
   * Throws the failure of an early sync that has ended (the file's writer calls this as it
   * finishes). One still out when the file is finished reports to nobody here; its bytes are
   * synced again by the store's flush, whose syncfs reports the same error (Linux records a
   * failed writeback for the filesystem as well as for the file).
   */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  /**
   * A data sync of the file open as `fd`, on a second descriptor opened through /proc/self/fd
   * (a new open of the same file, checked to be the same inode), so the writer may close its own
   * at any time. Where that cannot be opened, nothing starts early.
   */
  private startSync(fd: number): boolean {
    let own: number;
    try {
      own = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      const mine = fs.fstatSync(fd);
      const opened = fs.fstatSync(own);
      if (!opened.isFile() || opened.ino !== mine.ino || opened.dev !== mine.dev) throw new Error('not the file written');
    } catch {
      fs.closeSync(own);
      return false;
    }
    outHere++;
    fs.fdatasync(own, (err) => {
      if (err) this.failure ??= err;
      fs.close(own, () => {
        Atomics.sub(processWide, 0, 1);
        if (--outHere === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    });
    return true;
  }
}
