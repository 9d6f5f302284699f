import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { ContentHasher, hashBytes } from '../core/objectId.js';
import { errnoCode } from '../errors.js';
import { tempName } from '../fs/durable.js';
import { EarlyWriteback } from '../fs/writeback.js';
import { objectPathIn } from './layout.js';
import { OBJECT_MODE, SMALL_FILE_LIMIT, STAT_FIELDS, StatType, type StatReply, type StatRequest, type IngestReply, type IngestRequest, type IngestResult, type LinkReply, type LinkRequest, type PlaceReply, type PlaceRequest, type PlaceResult, type ReadReply, type ReadRequest, type ReadResult, type StreamDigests, type StreamDigestsWanted, type StreamReply, type StreamRequest } from './storeThreadMessages.js';

/**
 * The store's batch work (storeThreads.ts), done on one of its threads or, for a small
 * batch of work, on the main thread. Ingest: per file one open, read and close, the BLAKE3,
 * a look for the object, and a temp file holding its bytes. The thread never names an object: the temp becomes one only in the store's
 * flush, on the main thread, after the batch is durable. Synchronous calls on purpose: on
 * this thread they block nothing else, and a threadpool round trip each would cost more.
 */
export function ingest(request: IngestRequest): IngestReply {
  const results: IngestResult[] = [];
  for (const source of request.files) {
    try {
      results.push(ingestOne(source, request));
    } catch (err) {
      results.push({ kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message });
    }
  }
  return { batch: request.batch, results };
}

/**
 * A file expected to be `size` bytes, read with one open, read and close: a byte more is
 * asked for, so a longer file comes back longer (no fstat, no read to find the end).
 */
export function readUpTo(path: string, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size + 1);
  return buffer.subarray(0, readInto(path, buffer, 0, buffer.length));
}

/**
 * Where ingest reads each file, grown as needed and kept (one per thread, at most
 * SMALL_FILE_LIMIT and a byte): the bytes are written to the temp file before the next
 * file is read, and a new buffer per file of a few MB was page faults and collections.
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

function ingestOne(source: { path: string; size: number }, request: IngestRequest): IngestResult {
  if (scratch.length <= source.size) scratch = Buffer.allocUnsafeSlow(Math.max(source.size + 1, Math.min(2 * scratch.length, SMALL_FILE_LIMIT + 1)));
  const data = scratch.subarray(0, readInto(source.path, scratch, 0, source.size + 1));
  // It grew since the walk: the main thread streams it instead.
  if (data.length > source.size) return { kind: 'large' };
  const id = hashBytes(data);
  if (fs.statSync(objectPathIn(request.objectsDir, id), { throwIfNoEntry: false }) !== undefined) return { kind: 'present', id, size: data.length };
  return { kind: 'written', id, size: data.length, temp: writeTemp(`${request.tmpDir}/object`, data) };
}

/**
 * Places a batch of verified objects (apply): per object a look for it in the store and, when
 * it is not there, a temp file holding its bytes, as ingest's. The thread hashes nothing: the
 * bundle reader checked every byte against its id before the object joined the batch.
 */
export function place(request: PlaceRequest): PlaceReply {
  const bytes = Buffer.from(request.bytes);
  const results: PlaceResult[] = [];
  let offset = 0;
  for (let index = 0; index < request.count; index++) {
    const id = request.ids.slice(index * 64, index * 64 + 64);
    const size = request.sizes[index]!;
    const data = bytes.subarray(offset, offset + size);
    offset += size;
    try {
      if (fs.statSync(objectPathIn(request.objectsDir, id), { throwIfNoEntry: false }) !== undefined) {
        results.push({ kind: 'present' });
        continue;
      }
      results.push({ kind: 'written', temp: writeTemp(`${request.tmpDir}/${id}`, data) });
    } catch (err) {
      results.push({ kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message });
    }
  }
  return { batch: request.batch, bytes: request.bytes, results };
}

/** A new temp file next to `finalPath`'s name holding `data`, read-only as objects are; nothing is left when it fails. */
function writeTemp(finalPath: string, data: Uint8Array): string {
  const temp = tempName(finalPath);
  try {
    fs.writeFileSync(temp, data, { flag: 'wx', mode: OBJECT_MODE });
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  return temp;
}

/**
 * Reads a batch of objects into one buffer (the shared one sent, when it is large enough;
 * otherwise a new one, transferred back), hashing each.
 * Each object is read straight to its place, asking for one byte more than its size: that
 * byte lands on the next object's first, which the next read overwrites (the buffer has
 * one spare byte at the end for the last), so a longer file shows without a second read or
 * a copy. A shorter file leaves the rest of its place as it was: the caller refuses it by
 * its length before looking at its bytes.
 */
export function read(request: ReadRequest): ReadReply {
  const total = request.objects.reduce((sum, o) => sum + o.size, 0);
  const shared = request.buffer !== null && request.buffer.byteLength > total ? request.buffer : null;
  const buffer = shared ? Buffer.from(shared) : Buffer.allocUnsafeSlow(total + 1);
  const results: ReadResult[] = [];
  let offset = 0;
  for (const object of request.objects) {
    try {
      // The bytes read, up to `size`, are hashed, and their count goes back: a shorter or longer
      // file is named by its length, so an intact object cut or with bytes added says so.
      const length = readInto(object.path, buffer, offset, object.size + 1);
      const kept = buffer.subarray(offset, offset + Math.min(length, object.size));
      results.push({ kind: 'read', offset, actual: hashBytes(kept), length });
    } catch (err) {
      results.push({ kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message });
    }
    offset += object.size;
  }
  return { batch: request.batch, buffer: shared ? null : (buffer.buffer as ArrayBuffer), results };
}

/**
 * Reads up to `length` bytes of the file at `path` into buffer[offset...]: one open, the reads,
 * one close. Callers ask for the size they expect and a byte more; a read that comes back
 * exactly that byte short is the end of the file (a longer file fills the byte), so the file
 * of the expected size, the usual case, takes one read instead of a second to see the end.
 * This leans on a read of a regular file coming back short only at its end, as reads through
 * Linux's page cache do; any other short read still reads on.
 */
function readInto(path: string, buffer: Buffer, offset: number, length: number): number {
  let done = 0;
  const fd = fs.openSync(path, 'r');
  try {
    for (let n = -1; n !== 0 && done < length; done += n) {
      const asked = length - done;
      n = fs.readSync(fd, buffer, offset + done, asked, null);
      if (n < asked && done + n === length - 1) return length - 1;
    }
  } finally {
    fs.closeSync(fd);
  }
  return done;
}

/**
 * Makes a batch's directories, then its hardlinks (and gives each the owner); a link that
 * fails is reported, the others go on.
 */
export function link(request: LinkRequest): LinkReply {
  const failures: LinkReply['failures'] = [];
  const directories = request.directories === '' ? [] : request.directories.split('\0');
  for (const directory of directories) {
    try {
      makeDirectory(request.targetDir, directory, request.directoryMode, request.chmodDirectories);
    } catch (err) {
      return { batch: request.batch, failures, directoryFailure: { code: errnoCode(err) ?? null, message: (err as Error).message } };
    }
  }
  const paths = request.count === 0 ? [] : request.paths.split('\0');
  for (let index = 0; index < request.count; index++) {
    const target = `${request.targetDir}/${paths[index]!}`;
    try {
      fs.linkSync(objectPathIn(request.objectsDir, request.ids.slice(index * 64, index * 64 + 64)), target);
      if (request.owner) fs.lchownSync(target, request.owner.uid, request.owner.gid);
    } catch (err) {
      failures.push({ index, code: errnoCode(err) ?? null, message: (err as Error).message });
    }
  }
  return { batch: request.batch, failures, directoryFailure: null };
}

/**
 * Makes directory `dir` (relative, below `root`, which is there) with `mode`, and sets the mode
 * again with chmod when `chmod` (mkdir's is masked by the umask). One mkdir most often. Made
 * already (by another batch): only the chmod. Its parent not there yet (named by a batch the
 * other thread has not reached), or not searchable yet (made by it, its mode not set yet, under
 * a umask that takes the owner's own bits): the parent is made or set first, one level at a
 * time, as each level must be searchable before the next is made in it.
 */
export function makeDirectory(root: string, dir: string, mode: number, chmod: boolean): void {
  const path = `${root}/${dir}`;
  try {
    fs.mkdirSync(path, { mode });
  } catch (err) {
    const code = errnoCode(err);
    const slash = dir.lastIndexOf('/');
    if ((code === 'ENOENT' || code === 'EACCES') && slash > 0) {
      makeDirectory(root, dir.slice(0, slash), mode, chmod);
      try {
        fs.mkdirSync(path, { mode });
      } catch (again) {
        if (errnoCode(again) !== 'EEXIST') throw again;
      }
    } else if (code !== 'EEXIST') {
      throw err;
    }
  }
  if (chmod) fs.chmodSync(path, mode);
}

/** lstats a batch of paths (a tree on disk checked against its manifest); an error is reported, the others go on. */
export function stat(request: StatRequest): StatReply {
  const stats = new Float64Array(request.count * STAT_FIELDS);
  const errors: StatReply['errors'] = [];
  const paths = request.count === 0 ? [] : request.paths.split('\0');
  for (let index = 0; index < request.count; index++) {
    const at = index * STAT_FIELDS;
    try {
      const st = fs.lstatSync(`${request.dir}/${paths[index]!}`, { throwIfNoEntry: false });
      if (st === undefined) {
        stats[at] = StatType.Missing;
        continue;
      }
      stats[at] = st.isFile() ? StatType.File : st.isDirectory() ? StatType.Directory : StatType.Other;
      stats[at + 1] = st.size;
      stats[at + 2] = st.mtimeMs;
      stats[at + 3] = st.mode;
      stats[at + 4] = st.uid;
      stats[at + 5] = st.gid;
    } catch (err) {
      const code = errnoCode(err) ?? null;
      // A file below what is not a directory (a file where the tree has one), or below a loop of links, is not there either.
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        stats[at] = StatType.Missing;
        continue;
      }
      stats[at] = StatType.Failed;
      errors.push({ index, code, message: (err as Error).message });
    }
  }
  return { batch: request.batch, stats: stats.buffer, errors };
}

/**
 * A temp file written from a stream of pieces (a download's body), hashed on the way: BLAKE3
 * for the object id, and MD5 or a git blob id when the caller has a promise to check. Pieces
 * are gathered to BLOCK bytes and written with one synchronous call each: a small body takes
 * one open, one write and one close.
 */
const BLOCK = 1024 * 1024;

export class StreamWriter {
  private readonly hasher = new ContentHasher();
  private readonly md5: Hash | null;
  private readonly sha1: Hash | null;
  private pieces: Uint8Array[] = [];
  private pending = 0;
  private fd: number | null = null;
  private readonly writeback = new EarlyWriteback();

  constructor(
    readonly temp: string,
    wanted: StreamDigestsWanted,
  ) {
    this.md5 = wanted.md5 ? createHash('md5') : null;
    this.sha1 = wanted.gitBlobSize !== null ? createHash('sha1').update(`blob ${wanted.gitBlobSize}\0`) : null;
  }

  /** `borrowed`: the piece's memory is reused once this returns, so it is written now, not kept. */
  write(piece: Uint8Array, borrowed = false): void {
    this.hasher.update(piece);
    this.md5?.update(piece);
    this.sha1?.update(piece);
    this.pieces.push(piece);
    this.pending += piece.length;
    if (borrowed || this.pending >= BLOCK) this.drain();
  }

  /** Closes the file (created even for no bytes) and gives its digests. */
  finish(): StreamDigests {
    if (this.pending > 0 || this.fd === null) this.drain();
    // Let go of the descriptor before closing it: a close that fails must not be retried
    // by discard() on a number another thread may have been given since.
    const fd = this.fd!;
    this.fd = null;
    fs.closeSync(fd);
    // An early sync of it that failed: the disk refused its bytes (the caller discards it).
    this.writeback.check();
    return { id: this.hasher.digest(), size: this.hasher.bytes, md5: this.md5?.digest('hex') ?? null, sha1: this.sha1?.digest('hex') ?? null };
  }

  discard(): void {
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(this.temp, { force: true });
  }

  /**
   * discard() for a caller that has an error of its own to report, or nobody to report to:
   * a failure here leaves only a temp file, which the next command sweeps from tmp/.
   */
  discardQuietly(): void {
    try {
      this.discard();
    } catch {
      // Swept from tmp/ by the next command.
    }
  }

  private drain(): void {
    const pieces = this.pieces;
    this.pieces = [];
    this.pending = 0;
    this.fd ??= fs.openSync(this.temp, 'wx', OBJECT_MODE);
    const fd = this.fd;
    const total = pieces.reduce((sum, p) => sum + p.length, 0);
    if (pieces.length === 1) {
      const data = pieces[0]!;
      for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done);
    } else {
      let left = total;
      while (left > 0) {
        let wrote = fs.writevSync(fd, pieces);
        left -= wrote;
        // A short write: drop what went out and go on with the rest.
        while (left > 0 && wrote >= pieces[0]!.length) wrote -= pieces.shift()!.length;
        if (left > 0 && wrote > 0) pieces[0] = pieces[0]!.subarray(wrote);
      }
    }
    this.writeback.wrote(fd, total);
  }
}

/**
 * One message of a stream, on a store thread: its writers are kept by stream number between
 * messages, and its bytes come in the slot sent with it, which the answer gives back.
 */
export function streamStep(writers: Map<number, StreamWriter>, request: StreamRequest): StreamReply | null {
  if (request.open) writers.set(request.stream, new StreamWriter(request.open.temp, request.open.wanted));
  const writer = writers.get(request.stream);
  const slot = request.slot;
  if (request.discard) {
    writers.delete(request.stream);
    writer?.discardQuietly(); // nobody waits for a discard
    return null;
  }
  // A stream that failed earlier was dropped (its error was answered): the rest of it is ignored.
  if (!writer) return { batch: request.batch, kind: 'error', code: null, message: 'the stream had already failed', slot };
  try {
    // Written now, not kept: the slot goes back with the answer.
    if (slot !== null && request.length > 0) writer.write(new Uint8Array(slot, 0, request.length), true);
    const digests = request.end ? writer.finish() : null;
    if (request.end) writers.delete(request.stream);
    return { batch: request.batch, kind: 'streamed', digests, slot };
  } catch (err) {
    writers.delete(request.stream);
    try {
      writer.discard();
    } catch {
      // The write's own error is the one to report.
    }
    return { batch: request.batch, kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message, slot };
  }
}
