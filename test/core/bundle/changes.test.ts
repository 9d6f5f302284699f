import { describe, it, expect } from 'vitest';
import { AirlockError } from '../../../src/errors.js';
import { pack as encodeMsgpack } from 'msgpackr';
import { hashBytes } from '../../../src/core/objectId.js';
import { FILE_MODE, type TreeEntry } from '../../../src/core/manifest.js';
import type { PackageChange } from '../../../src/core/packages.js';
import { checkChanges, decodeChanges, encodeChanges, summariseChanges, type BundleChanges } from '../../../src/core/bundle/changes.js';
import { ENTRY_CHANGES } from '../../../src/core/bundle/format.js';

const packages: PackageChange[] = [
  { kind: 'added', repository: 'src/contrib', name: 'new', from: null, to: '1.0' },
  { kind: 'updated', repository: 'src/contrib', name: 'MASS', from: '7.3-59', to: '7.3-60' },
  { kind: 'removed', repository: 'bin/windows/contrib/4.4', name: 'old.pkg', from: '0.1', to: null },
];

const sample = (): BundleChanges => ({ files: { added: 3, changed: 2, removed: 1, addedBytes: 5 * 2 ** 32 + 9 }, packages });

function expectMalformed(bytes: Uint8Array): void {
  let caught: unknown;
  try {
    decodeChanges(bytes);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AirlockError);
  const err = caught as AirlockError;
  expect(err.code).toBe('BUNDLE_CORRUPT');
  expect(err.message).toMatch(/change list is malformed/);
  expect(err.where).toBe(ENTRY_CHANGES);
}

const validCounts = [1, 2, 3, 4];
const validRow = ['added', 'src/contrib', 'x', null, '1.0'];

describe('encodeChanges / decodeChanges', () => {
  it('round-trips counts, large byte totals and every kind of package change', () => {
    expect(decodeChanges(encodeChanges(sample()))).toEqual(sample());
  });

  it('round-trips an empty change list', () => {
    const empty: BundleChanges = { files: { added: 0, changed: 0, removed: 0, addedBytes: 0 }, packages: [] };
    expect(decodeChanges(encodeChanges(empty))).toEqual(empty);
  });

  it('rejects bytes that are not msgpack', () => {
    expectMalformed(Buffer.alloc(0));
    expectMalformed(encodeChanges(sample()).subarray(0, 10));
  });

  it.each<[string, unknown]>([
    ['a map', { files: validCounts, packages: [] }],
    ['a string', 'changes'],
    ['a one-element array', [validCounts]],
    ['a three-element array', [validCounts, [], []]],
    ['counts that are not an array', [{ added: 1 }, []]],
    ['packages that are not an array', [validCounts, {}]],
    ['three counts', [[1, 2, 3], []]],
    ['five counts', [[1, 2, 3, 4, 5], []]],
    ['a negative count', [[1, -2, 3, 4], []]],
    ['a fractional count', [[1, 2, 3, 4.5], []]],
    ['a string count', [['1', 2, 3, 4], []]],
    ['a package row that is not an array', [validCounts, [{ kind: 'added' }]]],
    ['a package row of four fields', [validCounts, [validRow.slice(0, 4)]]],
    ['a package row of six fields', [validCounts, [[...validRow, null]]]],
    ['an unknown kind', [validCounts, [['downgraded', 'src/contrib', 'x', '2.0', '1.0']]]],
    ['a non-string repository', [validCounts, [['added', null, 'x', null, '1.0']]]],
    ['a non-string name', [validCounts, [['added', 'src/contrib', 7, null, '1.0']]]],
    ['a numeric from', [validCounts, [['updated', 'src/contrib', 'x', 1, '1.0']]]],
    ['a numeric to', [validCounts, [['added', 'src/contrib', 'x', null, 1]]]],
  ])('rejects %s', (_why, value) => {
    expectMalformed(encodeMsgpack(value));
  });

  it('rejects more package rows than changed paths (each row stands for at least one)', () => {
    expectMalformed(encodeMsgpack([[1, 0, 0, 0], [validRow, ['added', 'src/contrib', 'y', null, '1.0']]]));
    expect(decodeChanges(encodeMsgpack([[1, 0, 1, 0], [validRow, ['removed', 'src/contrib', 'y', '1.0', null]]])).packages).toHaveLength(2);
  });

  it('refuses 2^24 nils at the first row, without building a 2^24-element array', () => {
    const rows = 2 ** 24;
    const prefix = Buffer.from([0x92, 0x94, 0xce, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xdd, 0, 0, 0, 0]);
    prefix.writeUInt32BE(rows, 11);
    const bytes = Buffer.concat([prefix, Buffer.alloc(rows, 0xc0)]);
    const before = process.memoryUsage().heapUsed;
    expectMalformed(bytes);
    expect(() => checkChanges(bytes)).toThrow(/package row 0 is not \[kind/);
    // A general decoder holds 2^24 array slots (128 MiB) here.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 2 ** 20);
  });

  it('checkChanges checks every rule but keeps only the counts', () => {
    expect(checkChanges(encodeChanges(sample()))).toEqual({ files: sample().files, packageRows: 3 });
    expect(() => checkChanges(encodeMsgpack([validCounts, [['downgraded', 'src/contrib', 'x', '2.0', '1.0']]]))).toThrow(/unknown kind/);
    expect(() => checkChanges(encodeMsgpack([validCounts, [['added', 'src/contrib', 7, null, '1.0']]]))).toThrow(/name that is not a string/);
  });

  it('rejects a non-canonical encoding (a count as uint32)', () => {
    expectMalformed(Buffer.from([0x92, 0x94, 0xce, 0, 0, 0, 1, 0, 0, 0, 0x90]));
  });

  it('accepts the hand-built minimal valid form (control for the rejections)', () => {
    expect(decodeChanges(encodeMsgpack([validCounts, [validRow]]))).toEqual({
      files: { added: 1, changed: 2, removed: 3, addedBytes: 4 },
      packages: [{ kind: 'added', repository: 'src/contrib', name: 'x', from: null, to: '1.0' }],
    });
  });
});

describe('summariseChanges', () => {
  const entry = (path: string, size: number): TreeEntry => ({ path, id: hashBytes(Buffer.from(path)), size, mode: FILE_MODE });

  it('counts files and adds up the bytes of added and changed (new) entries', () => {
    const summary = summariseChanges(
      {
        added: [entry('a', 10), entry('b', 20)],
        changed: [{ before: entry('c', 1000), after: entry('c', 5) }],
        removed: [entry('d', 7), entry('e', 8), entry('f', 9)],
      },
      packages,
    );
    expect(summary).toEqual({ files: { added: 2, changed: 1, removed: 3, addedBytes: 35 }, packages });
  });
});
