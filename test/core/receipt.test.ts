import { describe, expect, it } from 'vitest';
import { blake3 } from '@napi-rs/blake-hash';
import { compressBuffer } from '../../src/core/zstd.js';
import { encodeMsgpack, type Canonical } from '../../src/core/canonical.js';
import { encodeTree, encodeVerifiedTree, FILE_MODE, EXECUTABLE_MODE, treeTotals, type Tree } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import {
  decodeReceipt,
  encodeReceipt,
  frameReceipt,
  startsWithReceiptMagic,
  type Receipt,
} from '../../src/core/receipt.js';
import { expectAirlockError } from '../helpers/errors.js';

const idOf = (s: string) => hashBytes(Buffer.from(s));

const tree: Tree = {
  entries: [
    { path: 'bin/tool', id: idOf('tool'), size: 4, mode: EXECUTABLE_MODE },
    { path: 'v3/src/contrib/A_1.0.tar.gz', id: idOf('a'), size: 1, mode: FILE_MODE },
    { path: 'v3/src/contrib/PACKAGES', id: idOf('Package: A'), size: 10, mode: FILE_MODE },
  ],
};
const encodedTree = encodeTree(tree);
const verifiedTree = encodeVerifiedTree(tree);
const snapshotId = hashBytes(encodedTree);

const receipt: Receipt = {
  tool: 'airlock 0.1.0',
  writtenAt: '2026-12-01T08:00:00.000Z',
  host: 'offline-1',
  dataDir: '/var/lib/rspm-offline-data',
  snapshot: { id: snapshotId, sequence: 7, label: '2026-11-24', parent: idOf('parent'), createdAt: '2026-11-24T02:10:44.120Z', ...treeTotals(tree) },
  highestSequence: 8,
  trustedKeys: [{ id: idOf('key'), name: 'airlock-signing.pub', addedAt: '2026-11-01T00:00:00.000Z' }],
};

/** The body encodeReceipt writes, with fields replaced: to frame hand-made receipts. */
function body(overrides: Record<string, Canonical> = {}, snapshot: Record<string, Canonical> = {}): Record<string, Canonical> {
  const s = receipt.snapshot;
  return {
    format: 1,
    tool: receipt.tool,
    writtenAt: receipt.writtenAt,
    host: receipt.host,
    dataDir: receipt.dataDir,
    snapshot: { id: s.id, label: s.label, parent: s.parent, createdAt: s.createdAt, sequence: s.sequence, files: s.files, bytes: s.bytes, ...snapshot },
    highestSequence: receipt.highestSequence,
    trustedKeys: receipt.trustedKeys.map((k) => ({ ...k })),
    treeSize: encodedTree.length,
    tree: compressBuffer(encodedTree),
    ...overrides,
  };
}

const framed = (b: Record<string, Canonical>) => frameReceipt(encodeMsgpack(b));

describe('receipt encoding', () => {
  it('round-trips every field and the exact tree bytes', () => {
    const bytes = encodeReceipt(receipt, verifiedTree);
    expect(startsWithReceiptMagic(bytes)).toBe(true);
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('airlock-receipt\n');
    // The trailer is the BLAKE3 of everything before it.
    expect(bytes.subarray(-32).equals(blake3(bytes.subarray(0, -32)))).toBe(true);
    const decoded = decodeReceipt(bytes);
    const { tree: t, encodedTree: e, ...fields } = decoded;
    expect(fields).toEqual(receipt);
    expect(t).toEqual(tree);
    expect(e.equals(encodedTree)).toBe(true);
    // Exactly what the hand-made body gives: the documented layout.
    expect(bytes.equals(framed(body()))).toBe(true);
  });

  it('round-trips an empty tree, no label, no parent, no keys', () => {
    const empty = encodeTree({ entries: [] });
    const r: Receipt = { ...receipt, snapshot: { ...receipt.snapshot, id: hashBytes(empty), label: null, parent: null, files: 0, bytes: 0, sequence: 0 }, highestSequence: 0, trustedKeys: [] };
    const { tree: t, encodedTree: _e, ...fields } = decodeReceipt(encodeReceipt(r, encodeVerifiedTree({ entries: [] })));
    expect(fields).toEqual(r);
    expect(t.entries).toEqual([]);
  });

  it('will not write a receipt whose tree is not the snapshot', () => {
    expect(() => encodeReceipt({ ...receipt, snapshot: { ...receipt.snapshot, id: idOf('other') } }, verifiedTree)).toThrow(/do not hash/);
  });
});

describe('receipt decoding rejects', () => {
  const good = encodeReceipt(receipt, verifiedTree);

  it('a file without the magic', () => {
    expectAirlockError(() => decodeReceipt(Buffer.from('airlock-bundle\n\n rest')), 'MANIFEST_INVALID', /not an airlock receipt/);
    expectAirlockError(() => decodeReceipt(Buffer.alloc(0)), 'MANIFEST_INVALID', /not an airlock receipt/);
    const bad = Buffer.from(good);
    bad[0] = 0x41;
    expectAirlockError(() => decodeReceipt(bad), 'MANIFEST_INVALID', /not an airlock receipt/);
  });

  it('any single changed byte, and any truncation', () => {
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i]! ^= 0x01;
      expectAirlockError(() => decodeReceipt(bad), 'MANIFEST_INVALID', /receipt/);
    }
    for (const length of [16, 17, 48, good.length - 33, good.length - 1]) {
      expectAirlockError(() => decodeReceipt(good.subarray(0, length)), 'MANIFEST_INVALID', /truncated|checksum/);
    }
    expectAirlockError(() => decodeReceipt(Buffer.concat([good, Buffer.from([0])])), 'MANIFEST_INVALID', /checksum/);
  });

  it('another format number, even when correctly framed', () => {
    expectAirlockError(() => decodeReceipt(framed(body({ format: 2 }))), 'FORMAT_UNSUPPORTED', /receipt format 2 is not supported/);
    expectAirlockError(() => decodeReceipt(framed(body({ format: null }))), 'MANIFEST_INVALID', /no format number/);
  });

  it('a tree that does not hash to the snapshot id', () => {
    const other = encodeTree({ entries: [tree.entries[0]!] });
    const b = body({ treeSize: other.length, tree: compressBuffer(other) });
    expectAirlockError(() => decodeReceipt(framed(b)), 'MANIFEST_INVALID', /does not hash to its snapshot id/);
  });

  it('a tree that is not a valid canonical tree, even if it hashes to the id', () => {
    const notTree = encodeMsgpack(['airlock-tree', 1, [['../escape', Buffer.alloc(32), 1, FILE_MODE]]]);
    const b = body({ treeSize: notTree.length, tree: compressBuffer(notTree) }, { id: hashBytes(notTree) });
    expectAirlockError(() => decodeReceipt(framed(b)), 'MANIFEST_INVALID', /tree is invalid/);
  });

  it('a tree size other than announced, or a tree that is not zstd', () => {
    expectAirlockError(() => decodeReceipt(framed(body({ treeSize: encodedTree.length + 1 }))), 'MANIFEST_INVALID', /announces/);
    expectAirlockError(() => decodeReceipt(framed(body({ treeSize: encodedTree.length - 1 }))), 'MANIFEST_INVALID', /expands beyond/);
    expectAirlockError(() => decodeReceipt(framed(body({ tree: Buffer.from(encodedTree) }))), 'MANIFEST_INVALID', /decompress/);
    expectAirlockError(() => decodeReceipt(framed(body({ tree: compressBuffer(encodedTree).subarray(0, 10) }))), 'MANIFEST_INVALID', /zstd frame|decompress/);
  });

  it('file counts or sizes that disagree with the tree', () => {
    expectAirlockError(() => decodeReceipt(framed(body({}, { files: 4 }))), 'MANIFEST_INVALID', /has 4 files/);
    expectAirlockError(() => decodeReceipt(framed(body({}, { bytes: 1 }))), 'MANIFEST_INVALID', /files \(1 bytes\)/);
  });

  it('fields of the wrong type', () => {
    const cases: [Record<string, Canonical>, Record<string, Canonical>, RegExp][] = [
      [{ tool: 1 }, {}, /tool/],
      [{ highestSequence: 'x' }, {}, /highestSequence/],
      [{ trustedKeys: [{ id: 'short', name: 'k', addedAt: 'x' }] }, {}, /trustedKeys\[0\]/],
      [{ trustedKeys: {} }, {}, /trustedKeys/],
      [{ snapshot: 'x' }, {}, /snapshot/],
      [{}, { id: 'ABC' }, /snapshot\.id/],
      [{}, { label: 3 }, /snapshot\.label/],
      [{}, { parent: 'nope' }, /snapshot\.parent/],
      [{}, { sequence: null }, /snapshot\.sequence/],
    ];
    for (const [top, snap, message] of cases) expectAirlockError(() => decodeReceipt(framed(body(top, snap))), 'MANIFEST_INVALID', message);
    const { host: _host, ...withoutHost } = body();
    expectAirlockError(() => decodeReceipt(framed(withoutHost)), 'MANIFEST_INVALID', /host/);
  });

  it('a body that is not canonical msgpack, or not one map', () => {
    const canonical = encodeMsgpack(body());
    // `format` 1 written as uint8 (cc 01) instead of a positive fixint.
    const at = canonical.indexOf(Buffer.from([0xa6, ...Buffer.from('format'), 0x01]));
    const loose = Buffer.concat([canonical.subarray(0, at + 7), Buffer.from([0xcc, 0x01]), canonical.subarray(at + 8)]);
    expectAirlockError(() => decodeReceipt(frameReceipt(loose)), 'MANIFEST_INVALID', /canonical/);
    expectAirlockError(() => decodeReceipt(frameReceipt(Buffer.concat([canonical, Buffer.from([0xc0])]))), 'MANIFEST_INVALID', /one valid msgpack value/);
    expectAirlockError(() => decodeReceipt(frameReceipt(encodeMsgpack([1, 2]))), 'MANIFEST_INVALID', /not a map/);
    expectAirlockError(() => decodeReceipt(frameReceipt(Buffer.from([0xc1]))), 'MANIFEST_INVALID', /msgpack|not a map|format/);
  });
});
