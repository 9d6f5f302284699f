/** The messages between the store's ingest threads (ingestWorker.ts) and the pool (ingestPool.ts). */

/** Objects are read-only on disk: deployments hardlink them, so an edit would corrupt every tree sharing the inode. */
export const OBJECT_MODE = 0o444;
/** Files up to this size are read in one call; larger ones are streamed (on the main thread). */
export const SMALL_FILE_LIMIT = 4 * 1024 * 1024;

export interface IngestRequest {
  batch: number;
  /** Paths with the size the walk saw (a file that grew since is sent back as large). */
  files: Array<{ path: string; size: number }>;
  tmpDir: string;
  objectsDir: string;
}

export type IngestResult =
  /** Its bytes are in `temp`, to become object `id` at the store's next flush. */
  | { kind: 'written'; id: string; size: number; temp: string }
  /** The store holds the object already (nothing written). */
  | { kind: 'present'; id: string; size: number }
  /** Too large to read whole: the caller streams it. */
  | { kind: 'large' }
  | { kind: 'error'; code: string | null; message: string };

export interface IngestReply {
  batch: number;
  results: IngestResult[];
}
