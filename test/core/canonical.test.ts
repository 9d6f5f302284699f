import { describe, it, expect } from 'vitest';
import { Unpackr } from 'msgpackr';
import {
  arrayHeaderBytes,
  binBytes,
  CanonicalFormError,
  CanonicalReader,
  CanonicalWriter,
  decodeMsgpack,
  encodeMsgpack,
  isRecord,
  isUint,
  stringBytes,
  uintBytes,
} from '../../src/core/canonical.js';

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

  it('writes maps with the smallest header, keys in the order given', () => {
    expect(hex(encodeMsgpack({ a: [1, 'x'] }))).toBe('81' + 'a161' + '92' + '01' + 'a178');
    const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]));
    expect(hex(encodeMsgpack(sixteen)).slice(0, 6)).toBe('de0010'); // map16 only from 16 pairs
    expect(hex(encodeMsgpack({ b: 1, a: 2 }))).toBe('82a16201a16102');
  });

  it('writes strings, binary and arrays with the smallest header', () => {
    expect(hex(encodeMsgpack('x'.repeat(31))).slice(0, 2)).toBe('bf'); // fixstr
    expect(hex(encodeMsgpack('x'.repeat(32))).slice(0, 4)).toBe('d920'); // str8
    expect(hex(encodeMsgpack('x'.repeat(256))).slice(0, 6)).toBe('da0100'); // str16
    expect(hex(encodeMsgpack('é'))).toBe('a2c3a9'); // length in UTF-8 bytes
    expect(hex(encodeMsgpack(Buffer.from([1, 2, 3])))).toBe('c403010203');
    expect(hex(encodeMsgpack(Buffer.alloc(256))).slice(0, 6)).toBe('c50100');
    expect(hex(encodeMsgpack(new Array(15).fill(0))).slice(0, 2)).toBe('9f');
    expect(hex(encodeMsgpack(new Array(16).fill(0))).slice(0, 6)).toBe('dc0010');
    expect(hex(encodeMsgpack([null, true, false]))).toBe('93c0c3c2');
  });

  it('writes integers of 2^32 and above as uint64 (0xcf), not int64 or float', () => {
    expect(hex(encodeMsgpack(2 ** 32))).toBe('cf0000000100000000');
    expect(hex(encodeMsgpack(2 ** 40 + 7))).toBe('cf0000010000000007');
    expect(hex(encodeMsgpack(Number.MAX_SAFE_INTEGER))).toBe('cf001fffffffffffff');
    expect(decodeMsgpack(encodeMsgpack(2 ** 40 + 7))).toBe(2 ** 40 + 7);
  });

  it('refuses what has no canonical form here: negative and fractional numbers', () => {
    expect(() => encodeMsgpack(-1)).toThrow(TypeError);
    expect(() => encodeMsgpack(1.5)).toThrow(TypeError);
    expect(() => encodeMsgpack(2 ** 53)).toThrow(TypeError);
  });

  it('is readable by any msgpack reader: msgpackr decodes it to the same value', () => {
    const value = { name: 'v3/src/contrib/PACKAGES', sizes: [0, 200, 70_000, 2 ** 33], id: Buffer.alloc(32, 7), none: null };
    const decoded = new Unpackr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true }).unpack(encodeMsgpack(value)) as typeof value;
    expect(decoded.name).toBe(value.name);
    expect(decoded.sizes).toEqual(value.sizes);
    expect(Buffer.from(decoded.id).equals(value.id)).toBe(true);
    expect(decoded.none).toBeNull();
  });
});

describe('sizes for a writer sized up front', () => {
  it('uintBytes, stringBytes, binBytes and arrayHeaderBytes equal what the writer writes, at every bound', () => {
    const bounds = [0, 1, 15, 16, 31, 32, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000];
    for (const n of [...bounds, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) expect(uintBytes(n)).toBe(encodeMsgpack(n).length);
    for (const n of bounds) {
      expect(stringBytes(n)).toBe(encodeMsgpack('x'.repeat(n)).length);
      expect(binBytes(n)).toBe(encodeMsgpack(new Uint8Array(n)).length);
      expect(arrayHeaderBytes(n)).toBe(encodeMsgpack(new Array<null>(n).fill(null)).length - n);
    }
  });

  it('a writer given its exact size returns that buffer, not a copy; an undersized one grows and still writes the same bytes', () => {
    const value = ['airlock-tree', 1, [['a', new Uint8Array(32).fill(7), 70_000, 0o644]]];
    const expected = encodeMsgpack(value);
    const exact = new CanonicalWriter(expected.length);
    exact.value(value);
    const first = exact.result();
    expect(first.equals(expected)).toBe(true);
    first[0] = 0; // the same memory the writer filled: nothing was copied
    expect(exact.result()[0]).toBe(0);
    const small = new CanonicalWriter(3);
    small.value(value);
    expect(small.result().equals(expected)).toBe(true);
  });

  it('binHex writes the bytes of its hex and refuses what is not hex', () => {
    const w = new CanonicalWriter();
    w.binHex('00ff10');
    expect(hex(w.result())).toBe('c40300ff10');
    expect(() => new CanonicalWriter().binHex('0g')).toThrow(/not hex/);
    expect(() => new CanonicalWriter().binHex('abc')).toThrow(/not hex/);
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

describe('CanonicalReader', () => {
  const read = (hexBytes: string) => new CanonicalReader(Buffer.from(hexBytes, 'hex'));

  it('reads what encodeMsgpack writes, element by element', () => {
    const r = new CanonicalReader(encodeMsgpack([2 ** 40, 'é', Buffer.from([7]), null, 0o644]));
    expect(r.arrayLength()).toBe(5);
    expect(r.uint()).toBe(2 ** 40);
    expect(r.string()).toBe('é');
    expect([...r.bin()]).toEqual([7]);
    expect(r.nil()).toBe(true);
    expect(r.peekType()).toBe('uint');
    expect(r.uint()).toBe(0o644);
    expect(r.atEnd()).toBe(true);
    expect(() => r.end()).not.toThrow();
  });

  it('reads strings of every kind exactly, from a view into a larger buffer, and refuses bytes that are not UTF-8', () => {
    const texts = ['plain/ascii.txt', '', 'caf\u00e9', '\uFEFFbom kept', '\u{1F600}/\uFF5E', 'a'.repeat(300)];
    const encoded = encodeMsgpack([...texts, Buffer.alloc(32, 0xab), Buffer.alloc(31, 1)]);
    const framed = Buffer.concat([Buffer.from('junk'), encoded, Buffer.from('more')]);
    const r = new CanonicalReader(framed.subarray(4, 4 + encoded.length));
    expect(r.arrayLength()).toBe(texts.length + 2);
    for (const text of texts) expect(r.string()).toBe(text);
    expect(r.binHex(32)).toBe('ab'.repeat(32));
    expect(r.binHex(32)).toBeUndefined(); // 31 bytes: consumed, and refused
    expect(r.atEnd()).toBe(true);
    for (const bad of ['a2c328', 'a3eda080', 'a2c0af', 'a1ff']) expect(() => read(bad).string(), bad).toThrow(/not valid UTF-8/); // cut, surrogate, overlong, 0xff
  });

  it.each([
    ['uint8 holding a fixint', 'cc05'],
    ['uint16 holding a uint8', 'cd00ff'],
    ['uint32 holding a uint16', 'ce0000ffff'],
    ['uint64 holding a uint32', 'cf00000000ffffffff'],
  ])('refuses %s as not canonical', (_name, bytes) => {
    const err = (() => {
      try {
        read(bytes).uint();
      } catch (e) {
        return e as CanonicalFormError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CanonicalFormError);
    expect(err!.nonCanonical).toBe(true);
  });

  it('refuses longer headers for short strings, byte strings and arrays', () => {
    expect(() => read('d90178').string()).toThrow(/smallest/); // str8 of 1 byte
    expect(() => read('c5000101').bin()).toThrow(/smallest/); // bin16 of 1 byte
    expect(() => read('dc000101').arrayLength()).toThrow(/smallest/); // array16 of 1
  });

  it('checks a declared array length against the bytes left before anything is read', () => {
    expect(() => read('dd40000000c0c0').arrayLength()).toThrow(/declares 1073741824 elements but only 2 bytes follow/);
    expect(() => read('92c0').arrayLength(2)).toThrow(/declares 2 elements but only 1 bytes follow/);
  });

  it('refuses values cut short and bytes after the value', () => {
    expect(() => read('d9ff41').string()).toThrow(/cut short/);
    const r = read('0100');
    r.uint();
    expect(() => r.end()).toThrow(/1 bytes follow the value/);
  });

  it('names the type it found instead', () => {
    expect(read('c0').peekType()).toBe('nil');
    expect(read('cb4014000000000000').peekType()).toBe('float');
    expect(read('ff').peekType()).toBe('int');
    expect(read('80').peekType()).toBe('map');
    expect(() => read('80').arrayLength()).toThrow(/expected an array, found msgpack type byte 0x80/);
  });
});
