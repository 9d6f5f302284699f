import { describe, it, expect, vi } from 'vitest';
import { AirlockError, type ErrorCode } from '../../src/errors.js';
import { pack as encodeMsgpack } from 'msgpackr';
import { hashBytes } from '../../src/core/objectId.js';
import { encodeMsgpack as encodeCanonical } from '../../src/core/canonical.js';
import {
  decodeTree,
  distinctObjects,
  encodeTree,
  EXECUTABLE_MODE,
  FILE_MODE,
  maxEncodedTreeBytes,
  modeFromStat,
  sortEntries,
  treeId,
  treeTotals,
  validateTree,
  type EntryMode,
  type Tree,
  type TreeEntry,
} from '../../src/core/manifest.js';

const idOf = (content: string): string => hashBytes(Buffer.from(content));
const ID_A = idOf('a');
const ID_B = idOf('b');

function entry(path: string, size = 1, mode: EntryMode = FILE_MODE, id = idOf(path)): TreeEntry {
  return { path, id, size, mode };
}

function tree(...entries: TreeEntry[]): Tree {
  return { entries };
}

/** Runs fn, expects an AirlockError and returns it for further checks. */
function airlockError(fn: () => unknown): AirlockError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AirlockError);
    return err as AirlockError;
  }
  throw new Error('expected an AirlockError, but nothing was thrown');
}

function expectRejected(bytes: Uint8Array, code: ErrorCode, message: RegExp): AirlockError {
  const err = airlockError(() => decodeTree(bytes));
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}

// --- a tiny msgpack writer, to build bytes airlock would never write ---------------

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const fixarray = (n: number): Buffer => b(0x90 | n);
function fixstr(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length >= 32) throw new Error('test helper: fixstr only');
  return Buffer.concat([b(0xa0 | bytes.length), bytes]);
}
const str8 = (s: string): Buffer => Buffer.concat([b(0xd9, Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
const bin8 = (bytes: Buffer): Buffer => Buffer.concat([b(0xc4, bytes.length), bytes]);
const bin16 = (bytes: Buffer): Buffer => Buffer.concat([b(0xc5, bytes.length >> 8, bytes.length & 0xff), bytes]);
const uint16 = (n: number): Buffer => b(0xcd, n >> 8, n & 0xff);
function uint32(n: number): Buffer {
  const out = Buffer.alloc(5);
  out[0] = 0xce;
  out.writeUInt32BE(n, 1);
  return out;
}
function uint64(n: bigint): Buffer {
  const out = Buffer.alloc(9);
  out[0] = 0xcf;
  out.writeBigUInt64BE(n, 1);
  return out;
}
function float64(n: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = 0xcb;
  out.writeDoubleBE(n, 1);
  return out;
}

interface RawParts {
  magic?: Buffer;
  format?: Buffer;
  list?: Buffer;
  path?: Buffer;
  id?: Buffer;
  size?: Buffer;
  mode?: Buffer;
}

/** One-entry tree ["airlock-tree", 1, [["x", id, 5, 0o644]]], each part replaceable. */
function rawTree(parts: RawParts = {}): Buffer {
  const row = Buffer.concat([
    fixarray(4),
    parts.path ?? fixstr('x'),
    parts.id ?? bin8(Buffer.from(ID_A, 'hex')),
    parts.size ?? b(0x05),
    parts.mode ?? uint16(FILE_MODE),
  ]);
  return Buffer.concat([fixarray(3), parts.magic ?? fixstr('airlock-tree'), parts.format ?? b(0x01), parts.list ?? fixarray(1), row]);
}

describe('encodeTree / decodeTree', () => {
  it('round-trips a tree with both modes, nested paths and non-ASCII names', () => {
    const t = tree(
      entry('PACKAGES', 120),
      entry('bin/tool', 0, EXECUTABLE_MODE),
      entry('src/contrib/pkg_1.0.tar.gz', 123_456, FILE_MODE, ID_A),
      entry('src/contrib/pkh_1.0.tar.gz', 123_456, FILE_MODE, ID_A),
      entry('\u00e9t\u00e9/\u{1F600}', 7),
    );
    const decoded = decodeTree(encodeTree(t));
    expect(decoded).toEqual(t);
  });

  it('round-trips the empty tree', () => {
    expect(decodeTree(encodeTree(tree()))).toEqual(tree());
  });

  it('decodes from a view into a larger buffer', () => {
    const t = tree(entry('a', 3), entry('b/c', 4, EXECUTABLE_MODE));
    const encoded = encodeTree(t);
    const big = Buffer.concat([Buffer.from('junk-before'), encoded, Buffer.from('junk-after')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 11, encoded.length);
    expect(decodeTree(view)).toEqual(t);
  });

  it('writes the documented layout ["airlock-tree", 1, [[path, bin32 id, size, mode]]]', () => {
    expect(encodeTree(tree(entry('x', 5, FILE_MODE, ID_A)))).toEqual(rawTree());
  });

  it('keeps sizes below 2^32 in the uint32 form', () => {
    const t = tree(entry('x', 0xffff_ffff, FILE_MODE, ID_A));
    expect(encodeTree(t)).toEqual(rawTree({ size: uint32(0xffff_ffff) }));
    expect(decodeTree(encodeTree(t))).toEqual(t);
  });

  it('round-trips sizes of 2^32 and above', () => {
    for (const size of [2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const t = tree(entry('big', size));
      expect(decodeTree(encodeTree(t)).entries[0]!.size).toBe(size);
    }
  });

  it('encodes sizes of 2^32 and above as uint64 (0xcf)', () => {
    const encoded = encodeTree(tree(entry('x', 2 ** 32, FILE_MODE, ID_A)));
    expect(encoded.includes(uint64(2n ** 32n))).toBe(true);
    expect(encoded).toEqual(rawTree({ size: uint64(2n ** 32n) }));
  });

  it('accepts a size of 2^32 written as uint64 (0xcf), the documented canonical form', () => {
    const bytes = rawTree({ size: uint64(2n ** 32n) });
    expect(decodeTree(bytes).entries[0]!.size).toBe(2 ** 32);
  });
});

describe('encodeTree, sized up front', () => {
  /** The general writer's bytes for the same tree: what the sized writer must equal. */
  const general = (t: Tree) => encodeCanonical(['airlock-tree', 1, t.entries.map((e) => [e.path, Buffer.from(e.id, 'hex'), e.size, e.mode])]);

  it('writes the same bytes as the general canonical writer at every header size', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sizes = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const pieces = ['a', '\u00e9', '\u{1F600}', 'dir', 'x'.repeat(31), 'y'.repeat(255), 'z'.repeat(250)];
    // 0, 1, 15 and 16 rows cross the fixarray bound; 65,536 rows the array16 bound.
    for (const count of [0, 1, 15, 16, 300, 65_536]) {
      const entries: TreeEntry[] = [];
      for (let i = 0; i < count; i++) {
        const path = `${String(i).padStart(6, '0')}/${pieces[next(pieces.length)]!}${count < 1000 ? '/' + pieces[next(pieces.length)]! : ''}`;
        entries.push(entry(path, sizes[next(sizes.length)]!, next(2) === 0 ? FILE_MODE : EXECUTABLE_MODE));
      }
      const t = tree(...entries);
      // Sized exactly: one allocation of the encoded length, never grown, never copied.
      const alloc = vi.spyOn(Buffer, 'allocUnsafe');
      const copy = vi.spyOn(Buffer, 'from');
      const encoded = encodeTree(t);
      expect(alloc.mock.calls).toEqual([[encoded.length]]);
      expect(copy).not.toHaveBeenCalled();
      alloc.mockRestore();
      copy.mockRestore();
      expect(encoded.equals(general(t))).toBe(true);
      expect(decodeTree(encoded)).toEqual(t);
    }
  });

  it('refuses an id that is not hex rather than writing fewer bytes', () => {
    expect(() => encodeTree(tree(entry('a', 1, FILE_MODE, 'zz' + ID_A.slice(2))))).toThrow(/not hex/);
    expect(() => encodeTree(tree(entry('a', 1, FILE_MODE, ID_A + 'a')))).toThrow(/not hex/);
  });
});

describe('treeId', () => {
  it('is the BLAKE3-256 of the encoded bytes', () => {
    // The published BLAKE3 test vector for empty input.
    expect(treeId(new Uint8Array(0))).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it('is equal for equal trees built separately', () => {
    const one = tree(entry('a', 1), entry('b', 2, EXECUTABLE_MODE));
    const two = tree({ path: 'a', id: idOf('a'), size: 1, mode: 0o644 }, { path: 'b', id: idOf('b'), size: 2, mode: 0o755 });
    expect(treeId(encodeTree(one))).toBe(treeId(encodeTree(two)));
    expect(treeId(encodeTree(one))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when any field of any entry changes', () => {
    const base = [entry('a', 1, FILE_MODE, ID_A), entry('b', 2, FILE_MODE, ID_B)];
    const baseId = treeId(encodeTree(tree(...base)));
    const variants: TreeEntry[][] = [
      [base[0]!, { ...base[1]!, path: 'c' }],
      [base[0]!, { ...base[1]!, id: ID_A }],
      [base[0]!, { ...base[1]!, size: 3 }],
      [base[0]!, { ...base[1]!, mode: EXECUTABLE_MODE }],
      [base[0]!],
    ];
    const ids = variants.map((entries) => treeId(encodeTree(tree(...entries))));
    for (const id of ids) expect(id).not.toBe(baseId);
    expect(new Set(ids).size).toBe(variants.length);
  });
});

describe('decodeTree rejects', () => {
  it('bytes that are not msgpack', () => {
    expectRejected(Buffer.alloc(0), 'MANIFEST_INVALID', /not valid msgpack/);
    expectRejected(Buffer.from('d9ff41', 'hex'), 'MANIFEST_INVALID', /airlock-tree magic/); // str8 of 255 bytes, 1 present: not even the outer array
    expectRejected(encodeTree(tree(entry('a'))).subarray(0, 20), 'MANIFEST_INVALID', /not valid msgpack/);
  });

  it('a wrong magic or shape', () => {
    expectRejected(encodeMsgpack(['airlock-tre', 1, []]), 'MANIFEST_INVALID', /airlock-tree magic/);
    expectRejected(encodeMsgpack(['airlock-tree', 1]), 'MANIFEST_INVALID', /airlock-tree magic/);
    expectRejected(encodeMsgpack({ magic: 'airlock-tree' }), 'MANIFEST_INVALID', /airlock-tree magic/);
    expectRejected(encodeMsgpack(['airlock-tree', 1, {}]), 'MANIFEST_INVALID', /entry list is not an array/);
  });

  it('an unsupported format as FORMAT_UNSUPPORTED', () => {
    const err = expectRejected(encodeMsgpack(['airlock-tree', 2, []]), 'FORMAT_UNSUPPORTED', /manifest format 2 is not supported/);
    expect(err.hint).toMatch(/upgrade/);
    expectRejected(encodeMsgpack(['airlock-tree', '1', []]), 'FORMAT_UNSUPPORTED', /format "1" is not supported/);
  });

  it('entries out of order, naming the entry', () => {
    const err = expectRejected(encodeTree(tree(entry('b'), entry('a'))), 'MANIFEST_INVALID', /not in strict path order at "a"/);
    expect(err.where).toBe('manifest entry 1');
  });

  it('entries in UTF-16 order where that differs from UTF-8 byte order', () => {
    // JavaScript sorts '\u{1F600}' before '\uFF5E'; the manifest order is by UTF-8 bytes.
    expectRejected(encodeTree(tree(entry('\u{1F600}'), entry('\uFF5E'))), 'MANIFEST_INVALID', /strict path order/);
    expect(decodeTree(encodeTree(tree(entry('\uFF5E'), entry('\u{1F600}')))).entries).toHaveLength(2);
  });

  it('duplicate paths', () => {
    const err = expectRejected(encodeTree(tree(entry('a/x', 1), entry('a/x', 2))), 'MANIFEST_INVALID', /strict path order at "a\/x"/);
    expect(err.where).toBe('manifest entry 1');
  });

  it('a path that is both a file and a directory', () => {
    expectRejected(encodeTree(tree(entry('a'), entry('a/b'))), 'MANIFEST_INVALID', /^a is both a file and a directory/);
    // Not adjacent in order: 'a.txt' sorts between 'a' and 'a/b'.
    expectRejected(encodeTree(tree(entry('a'), entry('a.txt'), entry('a/b/c'))), 'MANIFEST_INVALID', /^a is both a file and a directory/);
    expectRejected(encodeTree(tree(entry('d/e'), entry('d/e/f'))), 'MANIFEST_INVALID', /^d\/e is both a file and a directory/);
  });

  it.each([
    ['/etc/passwd', /absolute/],
    ['a/../b', /'\.\.' segment/],
    ['..', /'\.\.' segment/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['a\u0001b', /control character/],
    ['a\u0000b', /control character/],
    ['a\\b', /backslash/],
  ])('the unsafe path %j', (path, reason) => {
    const err = expectRejected(encodeTree(tree(entry('ok'), entry(path))), 'MANIFEST_INVALID', reason);
    expect(err.message).toContain(`unsafe path ${JSON.stringify(path)}`);
    expect(err.where).toBe('manifest entry 1');
  });

  it.each([
    ['0600', 0o600],
    ['0777', 0o777],
    ['0100644', 0o100644],
    ['0744', 0o744],
    ['0', 0],
  ])('mode %s', (_octal, mode) => {
    const bytes = encodeMsgpack(['airlock-tree', 1, [['x', Buffer.from(ID_A, 'hex'), 5, mode]]]);
    const err = expectRejected(bytes, 'MANIFEST_INVALID', new RegExp(`entry x has mode ${mode}; only 0644 and 0755`));
    expect(err.where).toBe('manifest entry 0');
  });

  it('an object id that is not 32 bytes of binary', () => {
    for (const id of [Buffer.alloc(31), Buffer.alloc(33), Buffer.alloc(0), ID_A, null]) {
      const bytes = encodeMsgpack(['airlock-tree', 1, [['ok', Buffer.from(ID_B, 'hex'), 1, FILE_MODE], ['x', id, 5, FILE_MODE]]]);
      const err = expectRejected(bytes, 'MANIFEST_INVALID', /entry x has no 32-byte object id/);
      expect(err.where).toBe('manifest entry 1');
    }
  });

  it('invalid sizes', () => {
    for (const size of [-1, 1.5, '5', null]) {
      const bytes = encodeMsgpack(['airlock-tree', 1, [['x', Buffer.from(ID_A, 'hex'), size, FILE_MODE]]]);
      expectRejected(bytes, 'MANIFEST_INVALID', /entry x has an invalid size/);
    }
    // 2^53 is beyond what a JavaScript number holds exactly.
    expectRejected(rawTree({ size: uint64(2n ** 53n) }), 'MANIFEST_INVALID', /invalid size/);
  });

  it('rows that are not [path, id, size, mode]', () => {
    const id = Buffer.from(ID_A, 'hex');
    expectRejected(encodeMsgpack(['airlock-tree', 1, [['x', id, 5]]]), 'MANIFEST_INVALID', /not \[path, id, size, mode\]/);
    expectRejected(encodeMsgpack(['airlock-tree', 1, [['x', id, 5, FILE_MODE, 0]]]), 'MANIFEST_INVALID', /not \[path, id, size, mode\]/);
    expectRejected(encodeMsgpack(['airlock-tree', 1, ['x']]), 'MANIFEST_INVALID', /not \[path, id, size, mode\]/);
    expectRejected(encodeMsgpack(['airlock-tree', 1, [[7, id, 5, FILE_MODE]]]), 'MANIFEST_INVALID', /path is not a string/);
  });

  it('a declared row count the bytes cannot hold, before reading any row', () => {
    const bytes = Buffer.concat([Buffer.from([0x93, 0xac]), Buffer.from('airlock-tree'), Buffer.from([0x01, 0xdd, 0x40, 0, 0, 0]), Buffer.alloc(64, 0xc0)]);
    expectRejected(bytes, 'MANIFEST_INVALID', /declares 1073741824 elements but only 64 bytes follow/);
  });

  it('2^24 nils at the first row, without building a 2^24-element array', () => {
    const rows = 2 ** 24;
    const prefix = Buffer.concat([Buffer.from([0x93, 0xac]), Buffer.from('airlock-tree'), Buffer.from([0x01, 0xdd, 0, 0, 0, 0])]);
    prefix.writeUInt32BE(rows, 16);
    const before = process.memoryUsage().heapUsed;
    const err = expectRejected(Buffer.concat([prefix, Buffer.alloc(rows, 0xc0)]), 'MANIFEST_INVALID', /not \[path, id, size, mode\]/);
    expect(err.where).toBe('manifest entry 0');
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 2 ** 20);
  });

  it('lets the caller refuse the declared row count before any row is read', () => {
    const encoded = encodeTree(tree(entry('a'), entry('b')));
    const seen: number[] = [];
    expect(decodeTree(encoded, (rows) => seen.push(rows)).entries).toHaveLength(2);
    expect(seen).toEqual([2]);
    expect(() =>
      decodeTree(encoded, (rows) => {
        throw new Error(`announced 3, found ${rows}`);
      }),
    ).toThrow('announced 3, found 2');
  });

  it('bounds a tree of n files by n of the longest rows', () => {
    const longest = tree(entry('a/'.repeat(2047) + 'bb', 2 ** 53 - 1));
    expect(encodeTree(longest).length).toBeLessThanOrEqual(maxEncodedTreeBytes(1));
    expect(encodeTree(tree()).length).toBeLessThanOrEqual(maxEncodedTreeBytes(0));
  });

  it('a path that is not valid UTF-8 (a lenient decoder would read it as U+FFFD: one tree, two ids)', () => {
    expectRejected(rawTree({ path: Buffer.from([0xa2, 0x61, 0xff]) }), 'MANIFEST_INVALID', /not valid UTF-8/);
    expect(decodeTree(rawTree({ path: Buffer.concat([Buffer.from([0xa4, 0x61]), Buffer.from('\uFFFD')]) })).entries[0]!.path).toBe('a\uFFFD');
  });

  it('trailing bytes after the tree', () => {
    const encoded = encodeTree(tree(entry('a')));
    expectRejected(Buffer.concat([encoded, b(0x00)]), 'MANIFEST_INVALID', /msgpack|canonical/);
  });

  describe('non-canonical encodings of a valid tree', () => {
    it('the hand-built minimal form is accepted (control)', () => {
      expect(decodeTree(rawTree())).toEqual(tree(entry('x', 5, FILE_MODE, ID_A)));
    });

    it.each<[string, RawParts]>([
      ['size as uint8 instead of fixint', { size: b(0xcc, 0x05) }],
      ['size as uint32', { size: uint32(5) }],
      ['size as float64', { size: float64(5) }],
      ['mode as uint32 instead of uint16', { mode: uint32(FILE_MODE) }],
      ['mode as float64', { mode: float64(FILE_MODE) }],
      ['path as str8 instead of fixstr', { path: str8('x') }],
      ['magic as str8 instead of fixstr', { magic: str8('airlock-tree') }],
      ['id as bin16 instead of bin8', { id: bin16(Buffer.from(ID_A, 'hex')) }],
      ['format as uint8', { format: b(0xcc, 0x01) }],
      ['entry list as array16', { list: b(0xdc, 0x00, 0x01) }],
    ])('%s', (_name, parts) => {
      const bytes = rawTree(parts);
      expect(bytes).not.toEqual(rawTree());
      expectRejected(bytes, 'MANIFEST_INVALID', /not in canonical form/);
    });
  });
});

describe('validateTree', () => {
  it('accepts a sorted, safe tree', () => {
    expect(() => validateTree([entry('a/b'), entry('a/c'), entry('b')])).not.toThrow();
  });

  it('rejects ids that are not lowercase 64-digit hex', () => {
    for (const id of [ID_A.toUpperCase(), ID_A.slice(1), `${ID_A}0`]) {
      const err = airlockError(() => validateTree([entry('x', 1, FILE_MODE, id)]));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(err.message).toBe('entry x has an invalid object id');
    }
  });
});

describe('helpers', () => {
  it('sortEntries sorts by UTF-8 bytes', () => {
    const sorted = sortEntries([entry('\u{1F600}'), entry('b'), entry('\uFF5E'), entry('a/b'), entry('a.c')]);
    expect(sorted.map((e) => e.path)).toEqual(['a.c', 'a/b', 'b', '\uFF5E', '\u{1F600}']);
  });

  it('treeTotals counts files and bytes', () => {
    expect(treeTotals(tree(entry('a', 10), entry('b', 2 ** 33), entry('c', 0)))).toEqual({ files: 3, bytes: 2 ** 33 + 10 });
    expect(treeTotals(tree())).toEqual({ files: 0, bytes: 0 });
  });

  it('distinctObjects lists each object once, in order of first appearance', () => {
    const objects = distinctObjects(tree(entry('a', 4, FILE_MODE, ID_B), entry('b', 3, FILE_MODE, ID_A), entry('c', 4, FILE_MODE, ID_B)));
    expect([...objects]).toEqual([
      [ID_B, 4],
      [ID_A, 3],
    ]);
  });

  it('modeFromStat keeps only whether any execute bit is set', () => {
    expect(modeFromStat(0o100644)).toBe(FILE_MODE);
    expect(modeFromStat(0o100600)).toBe(FILE_MODE);
    expect(modeFromStat(0o100755)).toBe(EXECUTABLE_MODE);
    expect(modeFromStat(0o100744)).toBe(EXECUTABLE_MODE);
    expect(modeFromStat(0o100601)).toBe(EXECUTABLE_MODE);
  });
});

describe('one object, one size', () => {
  it('rejects two entries that name the same object with different sizes', () => {
    const id = 'ab'.repeat(32);
    expect(() =>
      validateTree([
        { path: 'a', id, size: 1, mode: 0o644 },
        { path: 'b', id, size: 2, mode: 0o644 },
      ]),
    ).toThrow(/gives object abababababab a size of 2, another entry 1/);
  });
});
