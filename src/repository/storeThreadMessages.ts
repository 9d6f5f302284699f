/**
 * The messages between the store's threads (storeThread.ts) and the pool (storeThreads.ts):
 * small files taken into the store (snapshot create), objects read out of it whole (bundle
 * create), a deployment's links, and the bytes of download bodies.
 */

/** Objects are read-only on disk: deployments hardlink them, so an edit would corrupt every tree sharing the inode. */
export const OBJECT_MODE = 0o444;
/** Files up to this size are taken in (ingest) or read out in batches; larger ones alone. */
export const SMALL_FILE_LIMIT = 4 * 1024 * 1024;

export interface IngestRequest {
  kind: 'ingest';
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

/** Objects to read whole, into one buffer for the batch: the caller's shared one, or a new one transferred back. */
export interface ReadRequest {
  kind: 'read';
  batch: number;
  objects: Array<{ path: string; size: number }>;
  /**
   * Memory to read into, shared with the thread (not transferred, not copied), used when it
   * holds the batch and one byte more; a new buffer is allocated otherwise. The caller
   * reuses it from batch to batch: a buffer that comes back transferred is new memory to
   * V8 each time, and at a few hundred MB it collected the main thread's whole heap every
   * few batches (1.8 CPU seconds of a 1.9 GB bundle).
   */
  buffer: SharedArrayBuffer | null;
}

export type ReadResult =
  /**
   * Bytes [offset, offset + size) of the batch's memory. `length`: the bytes the file gave,
   * up to its size and one more (the caller names a file of another size by its length);
   * `actual`: the BLAKE3 of those bytes, up to the size (the caller compares it with the id).
   */
  | { kind: 'read'; offset: number; actual: string; length: number }
  | { kind: 'error'; code: string | null; message: string };

export interface ReadReply {
  batch: number;
  /** The bytes: a new buffer, transferred, or null when they are in the request's own. */
  buffer: ArrayBuffer | null;
  results: ReadResult[];
}

/**
 * Objects whose bytes have checked out against their ids (a bundle's, during apply), to
 * become temp files in `tmpDir`: `count` objects, named by `ids` (64 hex digits each, end to
 * end), their bytes end to end in the first sum-of-`sizes` bytes of `bytes`, which is
 * transferred with the message and back with the answer, for the next batch.
 */
export interface PlaceRequest {
  kind: 'place';
  batch: number;
  bytes: ArrayBuffer;
  count: number;
  ids: string;
  sizes: number[];
  tmpDir: string;
  objectsDir: string;
}

/**
 * Each object's outcome, in the objects' order: written to a temp, present already, or
 * failed. Without its id: the caller has the batch's own strings, and a million ids copied
 * back from the threads, kept by apply for its undo, were 90 MB more of strings.
 */
export type PlaceResult = { kind: 'written'; temp: string } | { kind: 'present' } | { kind: 'error'; code: string | null; message: string };

export interface PlaceReply {
  batch: number;
  bytes: ArrayBuffer;
  results: PlaceResult[];
}

/**
 * Hardlinks to make (a deployment's files), with the owner to give each when there is one:
 * link `count` objects of `objectsDir`, named by `ids` (64 hex digits each, end to end), at
 * `paths` (joined by NUL, which no path holds) below `targetDir` (a normalised path, not empty
 * and without a trailing slash: the thread appends `/path` to it). Two strings instead of
 * thousands: a message's cost is per string, and the thread builds the paths itself.
 *
 * First the thread makes `directories` (joined by NUL, parents first: the ones these paths are
 * the first to need, and again the others they go in) with `directoryMode`, set again with chmod when `chmodDirectories` (the
 * umask or a setgid parent changes what mkdir gives). A parent another batch names may not be
 * made yet, on the other thread: it is made on the way, and that batch finds it there.
 */
export interface LinkRequest {
  kind: 'link';
  batch: number;
  objectsDir: string;
  targetDir: string;
  directories: string;
  directoryMode: number;
  chmodDirectories: boolean;
  count: number;
  ids: string;
  paths: string;
  owner: { uid: number; gid: number } | null;
}

/** An empty batch: a thread that answers it has done everything sent to it before. */
export function emptyLinkRequest(batch: number): LinkRequest {
  return { kind: 'link', batch, objectsDir: '', targetDir: '', directories: '', directoryMode: 0, chmodDirectories: false, count: 0, ids: '', paths: '', owner: null };
}

/**
 * The links that failed, by index in the request; every other one was made. A directory that
 * could not be made ends the batch before its links: `directoryFailure`, and no failures.
 */
export interface LinkReply {
  batch: number;
  failures: Array<{ index: number; code: string | null; message: string }>;
  directoryFailure: { code: string | null; message: string } | null;
}

/** Paths per stat batch: an lstat takes microseconds, so a batch is as large as a deployment's links'. */
export const STAT_BATCH = 1000;

/**
 * Files to lstat (a tree on disk checked against its manifest): `count` paths, joined by NUL,
 * below `dir` (a normalised path, as LinkRequest's `targetDir`). A link is never followed.
 */
export interface StatRequest {
  kind: 'stat';
  batch: number;
  dir: string;
  count: number;
  paths: string;
}

/** What a stat found at a path (the first of its STAT_FIELDS numbers in `stats`). */
export const StatType = {
  /** ENOENT, ENOTDIR or ELOOP: nothing there to be found. */
  Missing: 0,
  File: 1,
  Directory: 2,
  Other: 3,
  /** Another error: in the reply's `errors`. */
  Failed: 4,
} as const;

/** Per path: its StatType, size, mtime (ms), mode, uid and gid. */
export const STAT_FIELDS = 6;

/** `stats` is transferred: STAT_FIELDS numbers per path, in the request's order. */
export interface StatReply {
  batch: number;
  stats: ArrayBuffer;
  errors: Array<{ index: number; code: string | null; message: string }>;
}

/** A failure a thread reported, as the system error it was (with its errno code) for explainSystemError. */
export function reportedError(failure: { code: string | null; message: string }): Error {
  return Object.assign(new Error(failure.message), { code: failure.code ?? undefined });
}

/** What a stream into the store is hashed with besides BLAKE3: the upstream's promise (a download's). */
export interface StreamDigestsWanted {
  md5: boolean;
  /** A git blob id: SHA-1 of `blob <size>\0` and the bytes. */
  gitBlobSize: number | null;
}

export interface StreamDigests {
  id: string;
  size: number;
  md5: string | null;
  sha1: string | null;
}

/**
 * Each store thread has STREAM_SLOTS slots of STREAM_SLOT_BYTES for the bytes of streams,
 * owned by the main thread until sent: the main thread copies a body's bytes into a free
 * slot and transfers it with the message (not copied, not shared), the thread writes and
 * hashes them and transfers the slot back in its answer, and the slot is free again.
 * Memory for streams is these 8 MiB a thread, however many bodies are under way and however
 * fast they arrive. (Shared memory would save the transfer, but V8 copies into a
 * SharedArrayBuffer a word at a time, with relaxed atomics: a quarter of the main
 * thread's time for a large download.)
 */
export const STREAM_SLOT_BYTES = 256 * 1024;
export const STREAM_SLOTS = 32;

/**
 * A piece of a stream of bytes into a temp file on one thread (a download's body). The
 * messages of one stream go to one thread, in order: the first opens it, the last ends it
 * (and is answered with the digests) or discards it.
 */
export interface StreamRequest {
  kind: 'stream';
  stream: number;
  open: { temp: string; wanted: StreamDigestsWanted } | null;
  /** The next bytes: the first `length` of this slot, transferred with the message (null: none). */
  slot: ArrayBuffer | null;
  length: number;
  /** Answered once written (a discard is not answered): the thread is past these bytes. */
  batch: number;
  end: boolean;
  /** Stop: close and remove the temp file; nothing is answered. */
  discard: boolean;
}

/** Every answer gives back the slot it was sent, transferred, for the next bytes. */
export type StreamReply =
  | { batch: number; kind: 'streamed'; digests: StreamDigests | null; slot: ArrayBuffer | null }
  /** Writing failed (the temp file is removed); the stream takes no more bytes. */
  | { batch: number; kind: 'error'; code: string | null; message: string; slot: ArrayBuffer | null };
