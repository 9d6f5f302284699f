import { isUtf8 } from 'node:buffer';
import { Unpackr } from 'msgpackr';

/**
 * Canonical msgpack. Bytes we hash (trees, whose hash is the snapshot id, and the seal
 * chain's entry records) must have exactly one encoding, so that an independent
 * implementation produces the same bytes. msgpackr decodes everything; encoding is
 * this small writer, because msgpackr's encoder writes integers of 2^32 and above as
 * int64 (0xd3) and every map with a 16-bit header, neither of which is the smallest form.
 *
 * The rules (docs/bundle-format.md, "Canonical msgpack"):
 *   - non-negative integers: the smallest of positive fixint, uint8, uint16, uint32, uint64
 *   - strings: UTF-8, the smallest of fixstr, str8, str16, str32
 *   - byte strings: the smallest of bin8, bin16, bin32
 *   - arrays and maps: the smallest of fix-, 16- and 32-bit headers; map keys are
 *     strings, written in the order the format's definition lists them
 *   - nil, true, false as themselves; nothing else (no floats, no negative numbers)
 */
export type Canonical = null | boolean | number | string | Uint8Array | Canonical[] | { [key: string]: Canonical };

const unpackr = new Unpackr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

export function decodeMsgpack(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

export function encodeMsgpack(value: Canonical): Buffer {
  const writer = new CanonicalWriter();
  writer.value(value);
  return writer.result();
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Writes canonical msgpack into one buffer. Given the exact size up front (a tree of a
 * million entries, sized with the *Bytes functions below), it allocates once and hands
 * that buffer back without a copy; otherwise it grows by doubling and copies the result.
 */
export class CanonicalWriter {
  private buffer: Buffer;
  private offset = 0;

  constructor(capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  result(): Buffer {
    return this.offset === this.buffer.length ? this.buffer : Buffer.from(this.buffer.subarray(0, this.offset));
  }

  value(v: Canonical): void {
    if (v === null) this.byte(0xc0);
    else if (v === false) this.byte(0xc2);
    else if (v === true) this.byte(0xc3);
    else if (typeof v === 'number') this.uint(v);
    else if (typeof v === 'string') this.string(v);
    else if (v instanceof Uint8Array) this.bin(v);
    else if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (const item of v) this.value(item);
    } else {
      const keys = Object.keys(v);
      this.header(MAP_HEADER, keys.length);
      for (const key of keys) {
        this.string(key);
        this.value(v[key]!);
      }
    }
  }

  arrayHeader(length: number): void {
    this.header(ARRAY_HEADER, length);
  }

  /** A byte string given as hex (an object id): the same bytes as bin(Buffer.from(hex, 'hex')), with no Buffer made. */
  binHex(hex: string): void {
    const length = hex.length >>> 1;
    this.header(BIN_HEADER, length);
    this.reserve(length);
    const written = this.buffer.write(hex, this.offset, length, 'hex');
    if (written !== length || hex.length !== length * 2) throw new TypeError(`canonical msgpack: ${JSON.stringify(hex)} is not hex`);
    this.offset += written;
  }

  uint(n: number): void {
    if (!isUint(n)) throw new TypeError(`canonical msgpack holds only non-negative safe integers, not ${n}`);
    // The form uintBytes chooses, so a writer sized with it is never off by one.
    switch (uintBytes(n)) {
      case 1:
        return this.byte(n);
      case 2:
        return this.bytes([0xcc, n]);
      case 3:
        this.byte(0xcd);
        return this.u16(n);
      case 5:
        this.byte(0xce);
        return this.u32(n);
      default:
        this.byte(0xcf);
        this.u32(Math.floor(n / 0x1_0000_0000));
        this.u32(n >>> 0);
    }
  }

  string(s: string): void {
    const length = Buffer.byteLength(s);
    this.header(STRING_HEADER, length);
    this.reserve(length);
    this.offset += this.buffer.write(s, this.offset, 'utf8');
  }

  private bin(b: Uint8Array): void {
    this.header(BIN_HEADER, b.length);
    this.reserve(b.length);
    this.buffer.set(b, this.offset);
    this.offset += b.length;
  }

  /** The smallest header form that holds `length` (headerBytes chooses it): the same table the reader checks against. */
  private header(form: LengthHeader, length: number): void {
    switch (headerBytes(form, length)) {
      case 1:
        return this.byte(form.fix! | length);
      case 2:
        return this.bytes([form.tag8!, length]);
      case 3:
        this.byte(form.tag16);
        return this.u16(length);
      default:
        this.byte(form.tag32);
        this.u32(length);
    }
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buffer[this.offset++] = b;
  }

  private bytes(list: number[]): void {
    for (const b of list) this.byte(b);
  }

  private u16(n: number): void {
    this.reserve(2);
    this.offset = this.buffer.writeUInt16BE(n, this.offset);
  }

  private u32(n: number): void {
    this.reserve(4);
    this.offset = this.buffer.writeUInt32BE(n, this.offset);
  }

  private reserve(n: number): void {
    if (this.offset + n <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + n));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }
}


/** Bytes `n` takes as a canonical uint. */
export function uintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}

/** Bytes a string of `length` UTF-8 bytes takes, header included. */
export function stringBytes(length: number): number {
  return headerBytes(STRING_HEADER, length) + length;
}

/** Bytes a byte string of `length` bytes takes, header included. */
export function binBytes(length: number): number {
  return headerBytes(BIN_HEADER, length) + length;
}

/** Bytes an array header for `length` items takes. */
export function arrayHeaderBytes(length: number): number {
  return headerBytes(ARRAY_HEADER, length);
}

/** The one choice of header form, by its size: the writer writes what this counts. */
function headerBytes(form: LengthHeader, length: number): number {
  if (form.fix !== undefined && length <= form.fixMax) return 1;
  if (form.tag8 !== undefined && length < 0x100) return 2;
  return length < 0x10000 ? 3 : 5;
}

/** Where canonical msgpack bytes break a rule; callers turn it into their own error. */
export class CanonicalFormError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /** Valid msgpack, but not the smallest encoding (so not the one encoding a tree has). */
    readonly nonCanonical = false,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

export type MsgpackType = 'uint' | 'int' | 'float' | 'string' | 'bin' | 'array' | 'map' | 'nil' | 'bool' | 'ext' | 'none';

/**
 * A cursor over canonical msgpack that reads one element at a time and accepts only the
 * smallest encoding of each (the rules above). Readers of untrusted trees and change
 * lists use it instead of a general decoder, because a general decoder materialises
 * the whole value first: 30 KiB of zstd can expand to 2^30 nils that a general decoder
 * turns into a 2^30-element array before any rule is checked. Here an array's declared
 * length is checked against the bytes left before anything is allocated, and each row
 * is checked as it is read.
 */
export class CanonicalReader {
  private offset = 0;
  /** The same bytes as a Buffer, to decode strings and hex from without a view object each. */
  private readonly text: Buffer;

  constructor(private readonly bytes: Uint8Array) {
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  /** The type of the next element, without consuming it ('none' at the end). */
  peekType(): MsgpackType {
    if (this.atEnd()) return 'none';
    const tag = this.bytes[this.offset]!;
    if (tag < 0x80 || (tag >= 0xcc && tag <= 0xcf)) return 'uint';
    if (tag >= 0xe0 || (tag >= 0xd0 && tag <= 0xd3)) return 'int';
    if (tag <= 0x8f || tag === 0xde || tag === 0xdf) return 'map';
    if (tag <= 0x9f || tag === 0xdc || tag === 0xdd) return 'array';
    if (tag <= 0xbf || (tag >= 0xd9 && tag <= 0xdb)) return 'string';
    if (tag === 0xc0) return 'nil';
    if (tag === 0xc2 || tag === 0xc3) return 'bool';
    if (tag >= 0xc4 && tag <= 0xc6) return 'bin';
    if (tag === 0xca || tag === 0xcb) return 'float';
    return 'ext';
  }

  /** An array header; `minElementBytes` bounds the declared length by the bytes left. */
  arrayLength(minElementBytes = 1): number {
    const start = this.offset;
    const length = this.lengthHeader(ARRAY_HEADER, start);
    if (length * minElementBytes > this.remaining) {
      throw new CanonicalFormError(`an array declares ${length} elements but only ${this.remaining} bytes follow`, start);
    }
    return length;
  }

  /** An array header that must declare exactly `length` elements. */
  expectArray(length: number): void {
    const start = this.offset;
    const found = this.arrayLength();
    if (found !== length) throw new CanonicalFormError(`expected an array of ${length} elements, found ${found}`, start);
  }

  uint(): number {
    const start = this.offset;
    const tag = this.byte();
    if (tag < 0x80) return tag;
    if (tag === 0xcc) return this.minimal(this.byte(), 0x80, start);
    if (tag === 0xcd) return this.minimal(this.u16(), 0x100, start);
    if (tag === 0xce) return this.minimal(this.u32(), 0x10000, start);
    if (tag === 0xcf) {
      const value = this.u32() * 0x1_0000_0000 + this.u32();
      if (!Number.isSafeInteger(value)) throw new CanonicalFormError('an integer is larger than 2^53 - 1', start, false);
      return this.minimal(value, 0x1_0000_0000, start);
    }
    throw new CanonicalFormError(`expected an unsigned integer, found ${describeTag(tag)}`, start);
  }

  float(): number {
    const start = this.offset;
    const tag = this.byte();
    const width = tag === 0xca ? 4 : tag === 0xcb ? 8 : 0;
    if (width === 0) throw new CanonicalFormError(`expected a float, found ${describeTag(tag)}`, start);
    const view = this.take(width, start);
    const data = new DataView(view.buffer, view.byteOffset, width);
    return width === 4 ? data.getFloat32(0) : data.getFloat64(0);
  }

  /** A string's UTF-8 bytes, as a view (no copy). */
  stringBytes(): Uint8Array {
    const start = this.offset;
    return this.take(this.lengthHeader(STRING_HEADER, start), start);
  }

  /** Moves past a string (not checked as UTF-8), answering its byte length: a walk over bytes already verified (TreeRows). */
  skipString(): number {
    const start = this.offset;
    const length = this.lengthHeader(STRING_HEADER, start);
    this.skip(length, start);
    return length;
  }

  /** Moves past a byte string. */
  skipBin(): void {
    const start = this.offset;
    this.skip(this.lengthHeader(BIN_HEADER, start), start);
  }

  /** A string, which must be valid UTF-8: a lenient decoder would map other bytes to U+FFFD, giving one value two encodings. */
  string(): string {
    const start = this.offset;
    const length = this.lengthHeader(STRING_HEADER, start);
    const from = this.skip(length, start);
    const to = this.offset;
    // ASCII (nearly every path) is its own Latin-1, looked at in place (a view per string was
    // a tenth of decoding a tree); otherwise strict UTF-8, checked first, since Buffer's
    // decoder, like a lenient one, would map bad bytes to U+FFFD.
    const bytes = this.bytes;
    let ascii = true;
    for (let i = from; i < to; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return this.text.toString('latin1', from, to);
    if (!isUtf8(bytes.subarray(from, to))) throw new CanonicalFormError('a string is not valid UTF-8', start);
    return this.text.toString('utf8', from, to);
  }

  /** A byte string, as a view (no copy). */
  bin(): Uint8Array {
    const start = this.offset;
    return this.take(this.lengthHeader(BIN_HEADER, start), start);
  }

  /** A byte string as lowercase hex when it is `length` bytes long; undefined (and consumed) when not. */
  binHex(length: number): string | undefined {
    const start = this.offset;
    const found = this.lengthHeader(BIN_HEADER, start);
    const from = this.skip(found, start);
    return found === length ? this.text.toString('hex', from, this.offset) : undefined;
  }

  /** Consumes a nil and answers true, or leaves the cursor and answers false. */
  nil(): boolean {
    if (this.offset < this.bytes.length && this.bytes[this.offset] === 0xc0) {
      this.offset++;
      return true;
    }
    return false;
  }

  end(): void {
    if (!this.atEnd()) throw new CanonicalFormError(`${this.remaining} bytes follow the value`, this.offset);
  }

  /** The length in an array, string or byte-string header, which must be its smallest form. */
  private lengthHeader(form: LengthHeader, start: number): number {
    const tag = this.byte();
    if (form.fix !== undefined && tag >= form.fix && tag <= form.fix + form.fixMax) return tag - form.fix;
    // Each longer form must hold a length the shorter ones cannot.
    if (tag === form.tag8) return this.minimal(this.byte(), form.fixMax + 1, start);
    if (tag === form.tag16) return this.minimal(this.u16(), form.tag8 === undefined ? form.fixMax + 1 : 0x100, start);
    if (tag === form.tag32) return this.minimal(this.u32(), 0x10000, start);
    throw new CanonicalFormError(`expected ${form.what}, found ${describeTag(tag)}`, start);
  }

  private minimal(value: number, smallest: number, start: number): number {
    if (value < smallest) throw new CanonicalFormError(`${value} is not in its smallest encoding`, start, true);
    return value;
  }

  private take(length: number, start: number): Uint8Array {
    const from = this.skip(length, start);
    return this.bytes.subarray(from, this.offset);
  }

  /** Moves past `length` bytes, which must be there; returns where they start. */
  private skip(length: number, start: number): number {
    if (length > this.remaining) throw new CanonicalFormError(`a ${length}-byte value is cut short (${this.remaining} bytes left)`, start);
    const from = this.offset;
    this.offset += length;
    return from;
  }

  private byte(): number {
    if (this.offset >= this.bytes.length) throw new CanonicalFormError('the value is cut short', this.offset);
    return this.bytes[this.offset++]!;
  }

  private u16(): number {
    return this.byte() * 0x100 + this.byte();
  }

  private u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
}

/** The header forms of a length-prefixed msgpack type (fix: lengths 0..fixMax in the tag itself). */
interface LengthHeader {
  what: string;
  fix?: number;
  fixMax: number;
  tag8?: number;
  tag16: number;
  tag32: number;
}

const ARRAY_HEADER: LengthHeader = { what: 'an array', fix: 0x90, fixMax: 15, tag16: 0xdc, tag32: 0xdd };
const STRING_HEADER: LengthHeader = { what: 'a string', fix: 0xa0, fixMax: 31, tag8: 0xd9, tag16: 0xda, tag32: 0xdb };
const BIN_HEADER: LengthHeader = { what: 'a byte string', fixMax: -1, tag8: 0xc4, tag16: 0xc5, tag32: 0xc6 };
const MAP_HEADER: LengthHeader = { what: 'a map', fix: 0x80, fixMax: 15, tag16: 0xde, tag32: 0xdf };

function describeTag(tag: number): string {
  return `msgpack type byte 0x${tag.toString(16).padStart(2, '0')}`;
}
