import { describe, it, expect } from 'vitest';
import { decodeMsgpack, encodeMsgpack, isRecord, isUint, uint } from '../../src/core/canonical.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encodeMsgpack', () => {
  it('writes each integer in its smallest msgpack form', () => {
    expect(hex(encodeMsgpack(0))).toBe('00');
    expect(hex(encodeMsgpack(127))).toBe('7f'); // positive fixint
    expect(hex(encodeMsgpack(128))).toBe('cc80'); // uint8
    expect(hex(encodeMsgpack(0o644))).toBe('cd01a4'); // uint16
    expect(hex(encodeMsgpack(0x1_0000))).toBe('ce00010000'); // uint32
    expect(hex(encodeMsgpack(0xffff_ffff))).toBe('ceffffffff');
  });

  it('writes plain maps and arrays, not msgpackr records or extensions', () => {
    const bytes = encodeMsgpack({ a: [1, 'x'] });
    // A standard map header: fixmap (0x80-0x8f) or map16 (0xde) holding exactly one pair.
    const mapHeader = bytes[0]!;
    const pairs = mapHeader === 0xde ? bytes.readUInt16BE(1) : mapHeader & 0x0f;
    expect(mapHeader === 0xde || (mapHeader & 0xf0) === 0x80).toBe(true);
    expect(pairs).toBe(1);
    // ...followed by fixstr "a" and fixarray [1, "x"], nothing else.
    expect(hex(bytes.subarray(mapHeader === 0xde ? 3 : 1))).toBe('a161' + '92' + '01' + 'a178');
  });

  it('writes binary data as bin, not as an array or extension', () => {
    expect(hex(encodeMsgpack(Buffer.from([1, 2, 3])))).toBe('c403010203');
  });
});

describe('uint', () => {
  it('keeps values below 2^32 as numbers so they stay in their smallest form', () => {
    expect(uint(0xffff_ffff)).toBe(0xffff_ffff);
    expect(hex(encodeMsgpack(uint(0xffff_ffff)))).toBe('ceffffffff');
  });

  it('writes values of 2^32 and above as uint64 (0xcf), as the canonical form documents', () => {
    expect(typeof uint(2 ** 32)).toBe('bigint');
    // Documented in src/core/canonical.ts: "written as uint64 (0xcf)".
    expect(hex(encodeMsgpack(uint(2 ** 32)))).toBe('cf0000000100000000');
    expect(hex(encodeMsgpack(uint(Number.MAX_SAFE_INTEGER)))).toBe('cf001fffffffffffff');
  });

  it('decodes 64-bit integers back to plain numbers', () => {
    expect(decodeMsgpack(Buffer.from('cf0000000100000000', 'hex'))).toBe(2 ** 32);
    expect(decodeMsgpack(encodeMsgpack(uint(2 ** 40 + 7)))).toBe(2 ** 40 + 7);
  });
});

describe('isUint', () => {
  it('accepts non-negative safe integers only', () => {
    expect(isUint(0)).toBe(true);
    expect(isUint(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isUint(-1)).toBe(false);
    expect(isUint(1.5)).toBe(false);
    expect(isUint(Number.MAX_SAFE_INTEGER + 1)).toBe(false);
    expect(isUint(Number.NaN)).toBe(false);
    expect(isUint('1')).toBe(false);
    expect(isUint(1n)).toBe(false);
  });
});

describe('isRecord', () => {
  it('accepts plain objects but not arrays, binary, null or scalars', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord(decodeMsgpack(encodeMsgpack({ k: 1 })))).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(Buffer.alloc(1))).toBe(false);
    expect(isRecord(new Uint8Array(1))).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(isRecord('x')).toBe(false);
  });
});
