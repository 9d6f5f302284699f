import { CanonicalFormError, CanonicalReader, encodeMsgpack } from '../canonical.js';
import type { ObjectId } from '../objectId.js';

/**
 * Packs (bundle format 2, docs/bundle-format.md "Packs"): many small objects in one
 * zstd-compressed entry, so that 200,000 files of a few hundred bytes cost about what
 * `tar | zstd` costs instead of a tar header, padding and a zstd frame each. Every object
 * in a pack is still addressed and verified by its own id, and the pack entry is one
 * entry of the seal chain like any other, so the seal binds every byte.
 *
 * A pack's content, once decompressed, is
 *
 *   u32 big-endian L | index: L bytes of canonical msgpack [[id, size], ...] | the objects' bytes, in index order
 *
 * This module is the pure part: the encoding, the limits and a parser fed the
 * decompressed bytes piece by piece. What the objects are checked against (the tree,
 * the header's counts) is the bundle reader's job.
 */
export const PACK_PREFIX = 'packs/';
const PACK_DIGITS = 8;
export const PACK_SUFFIX = '.zst';

/** Writers pack objects smaller than this that do not already look compressed. */
export const PACK_OBJECT_MAX = 1024 * 1024;
/** Writers close a pack once its objects reach this many bytes, or PACK_MAX_OBJECTS objects. */
export const PACK_TARGET_BYTES = 8 * 1024 * 1024;

/** Reader limits: objects in one pack, and the pack's decompressed size (length, index and objects). */
export const PACK_MAX_OBJECTS = 65_536;
export const PACK_MAX_BYTES = 64 * 1024 * 1024;
/** The longest index: an array32 header and PACK_MAX_OBJECTS rows of fixarray, bin8 of 32 bytes and uint64. */
export const PACK_MAX_INDEX_BYTES = 5 + PACK_MAX_OBJECTS * (1 + 34 + 9);
/** The shortest index row: fixarray, bin8 of 32 bytes, a fixint. */
const MIN_ROW_BYTES = 1 + 34 + 1;
const LENGTH_BYTES = 4;

export interface PackedObject {
  id: ObjectId;
  size: number;
}

/** `packs/00000001.zst` for the first pack of a bundle. */
export function packEntryName(sequence: number): string {
  return `${PACK_PREFIX}${String(sequence).padStart(PACK_DIGITS, '0')}${PACK_SUFFIX}`;
}

/** The pack's sequence number (1, 2, ...) from `packs/<8 digits>.zst`; undefined for any other name. */
export function parsePackEntryName(name: string): number | undefined {
  const match = /^packs\/([0-9]{8})\.zst$/.exec(name);
  if (!match) return undefined;
  const sequence = Number(match[1]);
  return sequence >= 1 ? sequence : undefined;
}

/** The length prefix and the canonical index that open a pack's content. */
export function encodePackIndex(objects: readonly PackedObject[]): Buffer {
  const index = encodeMsgpack(objects.map((o) => [Buffer.from(o.id, 'hex'), o.size]));
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(index.length);
  return Buffer.concat([length, index]);
}

/** The bytes a pack decompresses to: length, index and every object. */
export function packContentBytes(indexBytes: number, objects: readonly PackedObject[]): number {
  return objects.reduce((sum, o) => sum + o.size, LENGTH_BYTES + indexBytes);
}

export type PackEvent =
  | { type: 'index'; objects: PackedObject[]; contentBytes: number }
  | { type: 'begin'; object: PackedObject }
  | { type: 'data'; chunk: Buffer }
  | { type: 'end'; object: PackedObject };

/**
 * Splits a pack's decompressed bytes into its index and its objects. `fail` makes the
 * error for a pack that breaks the format; the caller adds where it is.
 */
export class PackParser {
  private stage: 'length' | 'index' | 'objects' | 'done' = 'length';
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private indexLength = 0;
  private objects: PackedObject[] = [];
  private current = 0;
  /** Bytes still to come of objects[current]. */
  private left = 0;

  constructor(private readonly fail: (message: string) => Error) {}

  /** True once every object of the index has ended. */
  get complete(): boolean {
    return this.stage === 'done';
  }

  *push(piece: Buffer): Generator<PackEvent> {
    let rest = piece;
    while (rest.length > 0) {
      if (this.stage === 'length' || this.stage === 'index') {
        const want = (this.stage === 'length' ? LENGTH_BYTES : this.indexLength) - this.headBytes;
        const take = rest.subarray(0, want);
        this.head.push(take);
        this.headBytes += take.length;
        rest = rest.subarray(take.length);
        if (this.headBytes < (this.stage === 'length' ? LENGTH_BYTES : this.indexLength)) continue;
        const whole = Buffer.concat(this.head);
        this.head.length = 0;
        this.headBytes = 0;
        if (this.stage === 'length') {
          this.indexLength = whole.readUInt32BE(0);
          if (this.indexLength < 1 + MIN_ROW_BYTES || this.indexLength > PACK_MAX_INDEX_BYTES) {
            throw this.fail(`its index is declared as ${this.indexLength} bytes (one object at least, at most ${PACK_MAX_INDEX_BYTES})`);
          }
          this.stage = 'index';
          continue;
        }
        this.objects = this.decodeIndex(whole);
        const contentBytes = packContentBytes(this.indexLength, this.objects);
        if (contentBytes > PACK_MAX_BYTES) throw this.fail(`its index adds up to ${contentBytes} bytes, over the limit of ${PACK_MAX_BYTES} for a pack`);
        this.stage = 'objects';
        yield { type: 'index', objects: this.objects, contentBytes };
        yield* this.beginNext();
        continue;
      }
      if (this.stage === 'done') throw this.fail('it holds bytes after its last object');
      const take = rest.subarray(0, this.left);
      rest = rest.subarray(take.length);
      this.left -= take.length;
      yield { type: 'data', chunk: take };
      if (this.left === 0) {
        yield { type: 'end', object: this.objects[this.current]! };
        this.current++;
        yield* this.beginNext();
      }
    }
  }

  /** Begins the next object; an empty one ends at once, and so on until one has bytes to come. */
  private *beginNext(): Generator<PackEvent> {
    while (this.current < this.objects.length) {
      const object = this.objects[this.current]!;
      yield { type: 'begin', object };
      if (object.size > 0) {
        this.left = object.size;
        return;
      }
      yield { type: 'end', object };
      this.current++;
    }
    this.stage = 'done';
  }

  /** The index, element by element: the declared count is checked against the bytes before anything is allocated. */
  private decodeIndex(bytes: Buffer): PackedObject[] {
    const reader = new CanonicalReader(bytes);
    try {
      const count = reader.arrayLength(MIN_ROW_BYTES);
      if (count < 1 || count > PACK_MAX_OBJECTS) throw this.fail(`its index lists ${count} objects (one at least, at most ${PACK_MAX_OBJECTS})`);
      const objects: PackedObject[] = [];
      for (let i = 0; i < count; i++) {
        reader.expectArray(2);
        const id = reader.bin();
        if (id.length !== 32) throw this.fail(`its index row ${i} holds an id of ${id.length} bytes, not 32`);
        objects.push({ id: Buffer.from(id).toString('hex'), size: reader.uint() });
      }
      reader.end();
      return objects;
    } catch (err) {
      if (err instanceof CanonicalFormError) throw this.fail(`its index is not canonical msgpack [[id, size], ...] (${err.message})`);
      throw err;
    }
  }
}
