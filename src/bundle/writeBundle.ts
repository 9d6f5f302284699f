import type { KeyObject } from 'node:crypto';
import { signSeal } from '../core/bundle/signature.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { explainSystemError } from '../errors.js';
import { encodeChanges } from '../core/bundle/changes.js';
import { compressionPays, looksCompressed, MIN_COMPRESSIBLE_SIZE } from '../core/bundle/compressible.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_MAGIC,
  encodeHeader,
  encodeSeal,
  ENTRY_CHANGES,
  ENTRY_HEADER,
  ENTRY_SEAL,
  ENTRY_TREE,
  entryRecord,
  objectEntryName,
  PACKED_BUNDLE_FORMAT,
  SEAL_MAGIC,
  type BundleFormat,
  type BundleHeader,
} from '../core/bundle/format.js';
import { encodePackIndex, PACK_MAX_OBJECTS, PACK_OBJECT_MAX, PACK_TARGET_BYTES, packEntryName, type PackedObject } from '../core/bundle/pack.js';
import { ContentHasher, hashBytes, type ObjectId } from '../core/objectId.js';
import { compressBuffer, ZstdEncoder } from '../core/zstd.js';
import { tempName } from '../fs/durable.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from '../repository/repository.js';
import type { BundlePlan } from '../core/bundle/plan.js';
import { TarFile } from './tarFile.js';
import { VolumeSink } from './byteSink.js';
import { volumeFileName } from '../core/bundle/volume.js';
import { TOOL_NAME } from '../version.js';
import { StoreThreads } from '../repository/storeThreads.js';
import { SMALL_FILE_LIMIT } from '../repository/storeThreadMessages.js';

/** Objects up to this size are compressed in memory; larger ones through a temp file. */
const IN_MEMORY_LIMIT = 16 * 1024 * 1024;

export interface BundleWriteResult {
  header: BundleHeader;
  path: string;
  /** The volume files, in order, when the bundle was cut into volumes. */
  volumes: string[];
  bundleBytes: number;
  /** Objects in entries of their own, raw or zstd. */
  rawObjects: number;
  compressedObjects: number;
  /** Objects carried in packs, and the packs (format 2). */
  packedObjects: number;
  packs: number;
}

export interface BundleWriteOptions {
  signer?: KeyObject | undefined;
  volumeSize?: number | undefined;
  /** The newest format the receiver reads (default 2): 1 writes no packs. */
  format?: BundleFormat | undefined;
}

/** Format 2 (packs) only when the plan has an object small enough to pack: otherwise the bundle is a format 1 one. */
export function bundleFormatFor(plan: BundlePlan, newest: BundleFormat): BundleFormat {
  if (newest === BUNDLE_FORMAT) return BUNDLE_FORMAT;
  for (const size of plan.objects.values()) if (size < PACK_OBJECT_MAX) return PACKED_BUNDLE_FORMAT;
  return BUNDLE_FORMAT;
}

/**
 * Writes a bundle for `plan` to `output`, atomically: the file appears under its name
 * only once complete and fsynced, so a bundle on the drive is never a partial one
 * (a half-copied one is caught by the reader's seal check instead).
 */
export async function writeBundle(
  repo: Repository,
  plan: BundlePlan,
  /** The target tree's canonical bytes (encodeTree). */
  encodedTree: Uint8Array,
  output: string,
  progress: Progress,
  options: BundleWriteOptions = {},
): Promise<BundleWriteResult> {
  const { signer, volumeSize } = options;
  const format = bundleFormatFor(plan, options.format ?? PACKED_BUNDLE_FORMAT);
  const header: BundleHeader = {
    magic: BUNDLE_MAGIC,
    format,
    kind: plan.base ? 'delta' : 'full',
    from: plan.base?.id ?? null,
    to: plan.target.id,
    target: {
      label: plan.target.label,
      parent: plan.target.parent,
      createdAt: plan.target.createdAt,
      sequence: plan.target.sequence,
      files: plan.target.files,
      bytes: plan.target.bytes,
    },
    createdAt: new Date().toISOString(),
    tool: TOOL_NAME,
    objects: { count: plan.objects.size, bytes: plan.objectBytes },
  };
  // One file, or volumes no larger than the medium takes; either way under temp names until complete.
  const volumes = volumeSize === undefined ? undefined : new VolumeSink(output, volumeSize);
  const writer = new SealedWriter(volumes ? new TarFile(volumes) : await TarFile.create(output));
  let readBytes = 0; // what the threads read (objects streamed here are not theirs)
  for (const size of plan.objects.values()) if (size <= IN_MEMORY_LIMIT) readBytes += size;
  const readers = new StoreReaders(plan.objects.size, readBytes);
  try {
    await writer.addBuffer(ENTRY_HEADER, encodeHeader(header));
    await writer.addBuffer(ENTRY_TREE, compressBuffer(encodedTree));
    await writer.addBuffer(ENTRY_CHANGES, compressBuffer(encodeChanges(plan.changes)));
    progress.phase('writing bundle', { files: plan.objects.size, bytes: plan.objectBytes });
    let compressedObjects = 0;
    let packedObjects = 0;
    const packs = new PackWriter(writer);
    const packing = format === PACKED_BUNDLE_FORMAT;
    for await (const prepared of preparedInOrder(repo, plan.objects, packing, readers)) {
      if (prepared.inMemory && prepared.packed) {
        await packs.add(prepared.id, prepared.data);
        packedObjects++;
      } else if (await writeObject(repo, writer, prepared)) compressedObjects++;
      progress.advance(1, prepared.size);
    }
    await packs.flush();
    await writer.seal(signer);
    return {
      header,
      path: output,
      volumes: volumes ? Array.from({ length: volumes.count }, (_, i) => volumeFileName(output, i + 1)) : [],
      bundleBytes: writer.bytesWritten,
      rawObjects: plan.objects.size - compressedObjects - packedObjects,
      compressedObjects,
      packedObjects,
      packs: packs.written,
    };
  } catch (err) {
    await writer.abort();
    explainSystemError(err, 'writing the bundle', output);
  } finally {
    await readers.close();
  }
}

/**
 * Chunks of objects prepared ahead of the writer: reads overlap writes, memory stays
 * bounded. A chunk closes at CHUNK_OBJECTS, or once it holds CHUNK_BYTES (so it may go
 * past by one object's size, SMALL_FILE_LIMIT at most for the objects read into its buffer).
 */
const PREFETCH_CHUNKS = 4;
const CHUNK_OBJECTS = 64;
const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The store's reading threads, started when the first object is to be read whole, and the
 * memory they read small objects into, shared with them: each chunk's buffer comes back
 * here once its objects are written, for a later chunk, so at most PREFETCH_CHUNKS + 1 are
 * ever made. (A new buffer per chunk, transferred back from the thread, made V8 collect the
 * main thread's whole heap every few chunks, for the external memory: 126 full collections
 * and 1.8 CPU seconds of a 1.9 GB bundle.)
 */
class StoreReaders {
  private pool: StoreThreads | undefined;
  private readonly buffers: SharedArrayBuffer[] = [];

  /** How many objects the bundle carries, and the bytes to read whole: few and small enough, and they are read on the main thread. */
  constructor(
    private readonly objects: number,
    private readonly bytes: number,
  ) {}

  get(): StoreThreads {
    this.pool ??= StoreThreads.forWork(this.objects, this.bytes);
    return this.pool;
  }

  /** A buffer given back earlier, or a new one: of one size, which any chunk fits (and the byte more a read asks for). */
  buffer(): SharedArrayBuffer {
    return this.buffers.pop() ?? new SharedArrayBuffer(CHUNK_BYTES + SMALL_FILE_LIMIT + 1);
  }

  /** A chunk's buffer, its objects written: kept for a later chunk. */
  giveBack(buffer: SharedArrayBuffer): void {
    this.buffers.push(buffer);
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/** A chunk's objects, prepared, and the buffer their bytes are views of (null when none were read into one). */
interface PreparedChunk {
  objects: Prepared[];
  buffer: SharedArrayBuffer | null;
}

/**
 * The plan's objects, prepared in order: chunks of up to 64 objects (8 MiB) are read ahead,
 * those up to 16 MiB on the store's threads (open, read and hash off the main thread, which
 * compresses meanwhile); larger ones are streamed by the writer. A chunk's buffer is given back once the caller has
 * taken its last object (the caller writes each before asking for the next; packs copy theirs).
 */
async function* preparedInOrder(repo: Repository, objects: ReadonlyMap<ObjectId, number>, packing: boolean, readers: StoreReaders): AsyncGenerator<Prepared> {
  const iterator = objects.entries();
  const queue: Promise<PreparedChunk>[] = [];
  const refill = () => {
    while (queue.length < PREFETCH_CHUNKS) {
      const chunk: Array<[ObjectId, number]> = [];
      let bytes = 0;
      while (chunk.length < CHUNK_OBJECTS && bytes < CHUNK_BYTES) {
        const next = iterator.next();
        if (next.done) break;
        chunk.push(next.value);
        bytes += next.value[1];
      }
      if (chunk.length === 0) return;
      const pending = prepareChunk(repo, chunk, packing, readers);
      pending.catch(() => undefined); // awaited in order below; this only stops an early rejection going unhandled
      queue.push(pending);
    }
  };
  refill();
  while (queue.length > 0) {
    const prepared = await queue.shift()!;
    refill();
    yield* prepared.objects;
    if (prepared.buffer) readers.giveBack(prepared.buffer);
  }
}

/**
 * Reads a chunk's objects that fit in memory on the store's threads: the small ones into
 * the chunk's buffer together, each larger one (up to IN_MEMORY_LIMIT) into one of its own.
 */
async function prepareChunk(repo: Repository, chunk: Array<[ObjectId, number]>, packing: boolean, readers: StoreReaders): Promise<PreparedChunk> {
  const small = chunk.filter(([, size]) => size <= SMALL_FILE_LIMIT).map(([id, size]) => ({ id, size }));
  const medium = chunk.filter(([, size]) => size > SMALL_FILE_LIMIT && size <= IN_MEMORY_LIMIT).map(([id, size]) => ({ id, size }));
  const buffer = small.length > 0 ? readers.buffer() : null;
  const reads = [buffer ? repo.objects.readManyVerified(readers.get(), small, buffer) : Promise.resolve([]), ...medium.map((o) => repo.objects.readManyVerified(readers.get(), [o]))];
  const read = (await Promise.all(reads)).flat();
  const data = new Map([...small, ...medium].map((o, i) => [o.id, read[i]!]));
  const out: Prepared[] = [];
  for (const [id, size] of chunk) {
    const bytes = data.get(id);
    out.push(bytes === undefined ? await prepareLarge(repo, id, size) : prepareRead(id, size, bytes, packing));
  }
  return { objects: out, buffer };
}

type Prepared =
  | { id: ObjectId; size: number; inMemory: true; packed: true; data: Buffer }
  | { id: ObjectId; size: number; inMemory: true; packed: false; name: string; data: Buffer; storedHash: ObjectId; compressed: boolean }
  | { id: ObjectId; size: number; inMemory: false; alreadyCompressed: boolean };

/** An object too large to hold in memory: only its first bytes are looked at, to know whether it is compressed already. */
async function prepareLarge(repo: Repository, id: ObjectId, size: number): Promise<Prepared> {
  return { id, size, inMemory: false, alreadyCompressed: looksCompressed(await readHead(repo.objects.path(id))) };
}

/** An object read whole and verified: for a pack, or compressed when that pays, or raw. */
function prepareRead(id: ObjectId, size: number, data: Buffer, packing: boolean): Prepared {
  const compressedAlready = looksCompressed(data);
  if (packing && size < PACK_OBJECT_MAX && !compressedAlready) return { id, size, inMemory: true, packed: true, data };
  if (size >= MIN_COMPRESSIBLE_SIZE && !compressedAlready) {
    const packed = compressBuffer(data);
    if (compressionPays(size, packed.length)) {
      return { id, size, inMemory: true, packed: false, name: objectEntryName(id, true), data: packed, storedHash: hashBytes(packed), compressed: true };
    }
  }
  return { id, size, inMemory: true, packed: false, name: objectEntryName(id, false), data, storedHash: id, compressed: false };
}

/**
 * Gathers small objects into packs (docs/bundle-format.md, "Packs") and writes each as
 * one zstd frame once it holds PACK_TARGET_BYTES or PACK_MAX_OBJECTS objects; the last
 * one at flush. Memory: one buffer for a pack's objects, reused, and its compressed form.
 */
class PackWriter {
  private objects: PackedObject[] = [];
  /** The objects' bytes end to end: copied in, since an object may be a view of a chunk's buffer, reused once the chunk is written. */
  private content: Buffer | undefined;
  private bytes = 0;
  written = 0;

  constructor(private readonly writer: SealedWriter) {}

  async add(id: ObjectId, data: Buffer): Promise<void> {
    // Every packed object is under PACK_OBJECT_MAX, and a pack is written once it reaches PACK_TARGET_BYTES.
    this.content ??= Buffer.allocUnsafeSlow(PACK_TARGET_BYTES + PACK_OBJECT_MAX);
    this.objects.push({ id, size: data.length });
    data.copy(this.content, this.bytes);
    this.bytes += data.length;
    if (this.bytes >= PACK_TARGET_BYTES || this.objects.length >= PACK_MAX_OBJECTS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.objects.length === 0) return;
    const content = Buffer.concat([encodePackIndex(this.objects), this.content!.subarray(0, this.bytes)]);
    this.objects = [];
    this.bytes = 0;
    this.written++;
    await this.writer.addBuffer(packEntryName(this.written), compressBuffer(content));
  }
}

/** Writes one prepared object of its own; returns true when it went in compressed. */
async function writeObject(repo: Repository, writer: SealedWriter, object: Exclude<Prepared, { packed: true }>): Promise<boolean> {
  if (object.inMemory) {
    await writer.addBuffer(object.name, object.data, object.storedHash);
    return object.compressed;
  }
  if (object.alreadyCompressed) {
    await writer.addStream(objectEntryName(object.id, false), object.size, repo.objects.readVerified(object.id, object.size), object.id);
    return false;
  }
  return addLargeObject(repo, writer, object.id, object.size);
}

async function addLargeObject(repo: Repository, writer: SealedWriter, id: ObjectId, size: number): Promise<boolean> {
  await fsp.mkdir(repo.layout.tmpDir, { recursive: true });
  const temp = tempName(`${repo.layout.tmpDir}/compress`);
  try {
    const handle = await fsp.open(temp, 'wx');
    const encoder = new ZstdEncoder();
    const storedHash = new ContentHasher();
    try {
      const write = async (pieces: Iterable<Buffer>) => {
        for (const piece of pieces) {
          storedHash.update(piece);
          await handle.write(piece);
        }
      };
      for await (const chunk of repo.objects.readVerified(id, size)) await write(encoder.encode(chunk));
      await write(encoder.end());
    } finally {
      await handle.close();
    }
    if (!compressionPays(size, storedHash.bytes)) {
      await writer.addStream(objectEntryName(id, false), size, repo.objects.readVerified(id, size), id);
      return false;
    }
    await writer.addStream(objectEntryName(id, true), storedHash.bytes, fs.createReadStream(temp, { highWaterMark: 1024 * 1024 }), storedHash.digest());
    return true;
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A TarFile that feeds every entry into the seal chain. */
class SealedWriter {
  private readonly chain = new Blake3Hasher();
  private entries = 0;

  constructor(private readonly sink: TarFile) {}

  get bytesWritten(): number {
    return this.sink.bytesWritten;
  }

  async addBuffer(name: string, data: Uint8Array, knownHash?: ObjectId): Promise<void> {
    this.record(name, data.length, knownHash ?? hashBytes(data));
    await this.sink.addBuffer(name, data);
  }

  /**
   * Streams an entry whose stored hash is known in advance (an object id, or the hash
   * taken while compressing); the stream itself verifies it (readVerified) or was just
   * written by us.
   */
  async addStream(name: string, size: number, chunks: AsyncIterable<Buffer>, storedHash: ObjectId): Promise<void> {
    this.record(name, size, storedHash);
    await this.sink.addStream(name, size, chunks);
  }

  async seal(signer: KeyObject | undefined): Promise<void> {
    const chain = this.chain.digest('hex');
    const signatures = signer ? [signSeal(this.entries, chain, signer)] : [];
    const seal = encodeSeal({ magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: this.entries, chain, signatures });
    await this.sink.addBuffer(ENTRY_SEAL, seal);
    await this.sink.finish();
  }

  async abort(): Promise<void> {
    await this.sink.abort();
  }

  private record(name: string, size: number, storedHash: ObjectId): void {
    this.chain.update(entryRecord(name, size, storedHash));
    this.entries++;
  }
}
