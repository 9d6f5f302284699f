import { Packr } from 'msgpackr';

/**
 * The one msgpack configuration for every format airlock owns. Plain arrays and
 * maps only (no msgpackr records or extensions), so any msgpack reader can decode
 * what we write. msgpackr writes each value in its smallest form, with one
 * exception we correct: integers of 2^32 and above would come out as float64, so
 * `uint` turns them into BigInt and they are written as uint64 (0xcf).
 */
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  int64AsType: 'number',
  mapsAsObjects: true,
  bundleStrings: false,
});

export function encodeMsgpack(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** A non-negative integer in its canonical msgpack form. */
export function uint(value: number): number | bigint {
  return value >= 0x1_0000_0000 ? BigInt(value) : value;
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
