import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTree, encodeVerifiedTree, FILE_MODE, type Tree } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import { encodeReceipt, RECEIPT_MAGIC, type Receipt } from '../../src/core/receipt.js';
import { fileKind, readReceipt } from '../../src/bundle/receiptFile.js';
import { expectAirlockRejection } from '../helpers/errors.js';
import { tempDir } from '../helpers/fixtures.js';

const idOf = (s: string) => hashBytes(Buffer.from(s));
const tree: Tree = { entries: [{ path: 'v3/src/contrib/PACKAGES', id: idOf('Package: A'), size: 10, mode: FILE_MODE }] };
const encodedTree = encodeTree(tree);
const verifiedTree = encodeVerifiedTree(tree);
const receipt: Receipt = {
  tool: 'airlock 0.1.0',
  writtenAt: '2026-12-01T08:00:00.000Z',
  host: 'offline-1',
  dataDir: '/var/lib/rspm-offline-data',
  snapshot: { id: hashBytes(encodedTree), sequence: 7, label: '2026-11-24', parent: null, createdAt: '2026-11-24T02:10:44.120Z', files: 1, bytes: 10 },
  highestSequence: 8,
  trustedKeys: [],
};

describe('receipt files', () => {
  it('are told apart from other files by their magic, and read back verified', async () => {
    const dir = tempDir();
    const path = join(dir, 'r.receipt');
    fs.writeFileSync(path, encodeReceipt(receipt, verifiedTree));
    fs.writeFileSync(join(dir, 'other'), 'hello');
    fs.writeFileSync(join(dir, 'short'), RECEIPT_MAGIC.subarray(0, 5));
    expect(await fileKind(path)).toBe('receipt');
    expect(await fileKind(join(dir, 'other'))).toBe('other-file');
    expect(await fileKind(join(dir, 'short'))).toBe('other-file');
    expect(await fileKind(dir)).toBe('none');
    expect(await fileKind(join(dir, 'absent'))).toBe('none');
    expect(await fileKind('2026-11-24')).toBe('none');
    expect((await readReceipt(path)).snapshot).toEqual(receipt.snapshot);
    await expectAirlockRejection(readReceipt(join(dir, 'absent')), 'NOT_FOUND', /does not exist/);
    const err = await expectAirlockRejection(readReceipt(join(dir, 'other')), 'MANIFEST_INVALID', /not an airlock receipt/);
    expect(err.where).toBe(join(dir, 'other'));
  });
});
