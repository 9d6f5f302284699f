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
  const writer = new Writer();
  writer.value(value);
  return writer.result();
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

class Writer {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private offset = 0;

  result(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.offset));
  }

  value(v: Canonical): void {
    if (v === null) this.byte(0xc0);
    else if (v === false) this.byte(0xc2);
    else if (v === true) this.byte(0xc3);
    else if (typeof v === 'number') this.uint(v);
    else if (typeof v === 'string') this.string(v);
    else if (v instanceof Uint8Array) this.bin(v);
    else if (Array.isArray(v)) {
      this.header(v.length, 0x90, 15, 0xdc, 0xdd);
      for (const item of v) this.value(item);
    } else {
      const keys = Object.keys(v);
      this.header(keys.length, 0x80, 15, 0xde, 0xdf);
      for (const key of keys) {
        this.string(key);
        this.value(v[key]!);
      }
    }
  }

  private uint(n: number): void {
    if (!isUint(n)) throw new TypeError(`canonical msgpack holds only non-negative safe integers, not ${n}`);
    if (n < 0x80) this.byte(n);
    else if (n < 0x100) this.bytes([0xcc, n]);
    else if (n < 0x10000) {
      this.byte(0xcd);
      this.u16(n);
    } else if (n < 0x1_0000_0000) {
      this.byte(0xce);
      this.u32(n);
    } else {
      this.byte(0xcf);
      this.u32(Math.floor(n / 0x1_0000_0000));
      this.u32(n >>> 0);
    }
  }

  private string(s: string): void {
    const length = Buffer.byteLength(s);
    if (length < 32) this.byte(0xa0 | length);
    else if (length < 0x100) this.bytes([0xd9, length]);
    else if (length < 0x10000) {
      this.byte(0xda);
      this.u16(length);
    } else {
      this.byte(0xdb);
      this.u32(length);
    }
    this.reserve(length);
    this.offset += this.buffer.write(s, this.offset, 'utf8');
  }

  private bin(b: Uint8Array): void {
    if (b.length < 0x100) this.bytes([0xc4, b.length]);
    else if (b.length < 0x10000) {
      this.byte(0xc5);
      this.u16(b.length);
    } else {
      this.byte(0xc6);
      this.u32(b.length);
    }
    this.reserve(b.length);
    this.buffer.set(b, this.offset);
    this.offset += b.length;
  }

  private header(length: number, fix: number, fixMax: number, tag16: number, tag32: number): void {
    if (length <= fixMax) this.byte(fix | length);
    else if (length < 0x10000) {
      this.byte(tag16);
      this.u16(length);
    } else {
      this.byte(tag32);
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
