import { Blake3Hasher, blake3 } from '@napi-rs/blake-hash';

/**
 * An object id is the BLAKE3-256 of a file's bytes, as 64 lowercase hex digits.
 * Hashing is computation, not I/O, so it lives in the core.
 */
export type ObjectId = string;

const OBJECT_ID = /^[0-9a-f]{64}$/;

export function isObjectId(value: string): value is ObjectId {
  return OBJECT_ID.test(value);
}

export function hashBytes(bytes: Uint8Array): ObjectId {
  return blake3(bytes).toString('hex');
}

/** Incremental BLAKE3 for streamed content; also counts bytes so callers can check sizes. */
export class ContentHasher {
  private readonly hasher = new Blake3Hasher();
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): ObjectId {
    return this.hasher.digest('hex');
  }

  /** Starts over, for the next content: one native hasher for many small objects instead of one each (each is freed by a finalizer). */
  reset(): this {
    this.hasher.reset();
    this.bytes = 0;
    return this;
  }
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** A snapshot as people read it: its id (as given, full or short) and its label when it has one. */
export function namedSnapshot(id: string, label: string | null | undefined): string {
  return label ? `${id} (${label})` : id;
}
