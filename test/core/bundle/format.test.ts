import { describe, it, expect } from 'vitest';
import { expectAirlockError } from '../../helpers/errors.js';
import { pack as encodeMsgpack } from 'msgpackr';
import { decodeMsgpack } from '../../../src/core/canonical.js';
import { hashBytes } from '../../../src/core/objectId.js';
import {
  decodeHeader,
  decodeSeal,
  encodeHeader,
  encodeSeal,
  ENTRY_HEADER,
  ENTRY_SEAL,
  entryRecord,
  objectEntryName,
  parseObjectEntryName,
  type BundleHeader,
  type BundleSeal,
} from '../../../src/core/bundle/format.js';

const ID_1 = hashBytes(Buffer.from('one'));
const ID_2 = hashBytes(Buffer.from('two'));
const ID_3 = hashBytes(Buffer.from('three'));

function deltaHeader(): BundleHeader {
  return {
    magic: 'airlock-bundle',
    format: 1,
    kind: 'delta',
    from: ID_1,
    to: ID_2,
    target: { label: 'v2', parent: ID_1, createdAt: '2024-05-01T10:00:00.000Z', sequence: 2, files: 1200, bytes: 5 * 2 ** 32 + 17 },
    createdAt: '2024-05-01T10:05:00.000Z',
    tool: 'airlock 0.1.0',
    objects: { count: 42, bytes: 2 ** 33 + 1 },
  };
}

function fullHeader(): BundleHeader {
  return {
    ...deltaHeader(),
    kind: 'full',
    from: null,
    target: { label: null, parent: null, createdAt: '2024-04-01T00:00:00.000Z', sequence: 1, files: 3, bytes: 300 },
    objects: { count: 3, bytes: 300 },
  };
}

function seal(): BundleSeal {
  return { magic: 'airlock-seal', format: 1, entries: 5, chain: ID_3, signatures: [] };
}

/** The header as a plain msgpack map with some fields overridden, to build bad headers. */
function headerWith(overrides: Record<string, unknown>, base: BundleHeader = deltaHeader()): Buffer {
  return encodeMsgpack({ ...base, ...overrides });
}

const rejection = expectAirlockError;

describe('bundle header', () => {
  it('round-trips a delta header, including byte counts of 2^32 and more', () => {
    expect(decodeHeader(encodeHeader(deltaHeader()))).toEqual(deltaHeader());
  });

  it('round-trips a full header with null label, parent and base', () => {
    expect(decodeHeader(encodeHeader(fullHeader()))).toEqual(fullHeader());
  });

  it('is a plain msgpack map readable by any decoder', () => {
    const raw = decodeMsgpack(encodeHeader(deltaHeader())) as Record<string, unknown>;
    expect(raw.magic).toBe('airlock-bundle');
    expect(raw.format).toBe(1);
    expect(raw.to).toBe(ID_2);
    expect((raw.objects as Record<string, unknown>).bytes).toBe(2 ** 33 + 1);
  });

  it('drops fields it does not know', () => {
    const decoded = decodeHeader(headerWith({ extra: 'ignored' }));
    expect(decoded).toEqual(deltaHeader());
    expect('extra' in decoded).toBe(false);
  });

  it('rejects bytes that are not msgpack', () => {
    const err = rejection(() => decodeHeader(Buffer.alloc(0)), 'BUNDLE_CORRUPT', /not valid msgpack/);
    expect(err.where).toBe(ENTRY_HEADER);
  });

  it('rejects a missing or wrong magic', () => {
    const { magic: _magic, ...withoutMagic } = deltaHeader();
    for (const bytes of [encodeMsgpack(withoutMagic), headerWith({ magic: 'airlock-seal' }), encodeMsgpack(['airlock-bundle', 1]), encodeMsgpack('airlock-bundle')]) {
      const err = rejection(() => decodeHeader(bytes), 'BUNDLE_CORRUPT', /not an airlock bundle/);
      expect(err.where).toBe(ENTRY_HEADER);
    }
  });

  it('reads formats 1 and 2 (2 adds packs), and rejects another format number as FORMAT_UNSUPPORTED', () => {
    expect(decodeHeader(headerWith({ format: 1 })).format).toBe(1);
    expect(decodeHeader(headerWith({ format: 2 })).format).toBe(2);
    const err = rejection(() => decodeHeader(headerWith({ format: 3 })), 'FORMAT_UNSUPPORTED', /bundle format 3 is not supported \(this airlock reads formats 1 and 2\)/);
    expect(err.where).toBe(ENTRY_HEADER);
    rejection(() => decodeHeader(headerWith({ format: 0 })), 'FORMAT_UNSUPPORTED', /bundle format 0/);
    rejection(() => decodeHeader(headerWith({ format: undefined })), 'FORMAT_UNSUPPORTED', /format/);
  });

  it('rejects an unknown kind', () => {
    rejection(() => decodeHeader(headerWith({ kind: 'partial' })), 'BUNDLE_CORRUPT', /unknown bundle kind/);
  });

  it('rejects a full bundle with a base, and a delta without one', () => {
    rejection(() => decodeHeader(headerWith({ kind: 'full', from: ID_1 })), 'BUNDLE_CORRUPT', /kind and base snapshot disagree/);
    rejection(() => decodeHeader(headerWith({ kind: 'delta', from: null })), 'BUNDLE_CORRUPT', /kind and base snapshot disagree/);
  });

  it('rejects ids that are not 64 lowercase hex digits', () => {
    for (const overrides of [{ to: ID_2.toUpperCase() }, { to: ID_2.slice(2) }, { to: null }, { from: 'abc' }, { from: 7 }, { to: Buffer.from(ID_2, 'hex') }]) {
      rejection(() => decodeHeader(headerWith(overrides)), 'BUNDLE_CORRUPT', /invalid snapshot ids/);
    }
  });

  it('rejects a missing creation time or tool', () => {
    rejection(() => decodeHeader(headerWith({ createdAt: 0 })), 'BUNDLE_CORRUPT', /creation time or tool/);
    rejection(() => decodeHeader(headerWith({ tool: null })), 'BUNDLE_CORRUPT', /creation time or tool/);
  });

  it('rejects invalid object counts', () => {
    for (const objects of [null, [], { count: -1, bytes: 0 }, { count: 1 }, { count: 1, bytes: 1.5 }]) {
      rejection(() => decodeHeader(headerWith({ objects })), 'BUNDLE_CORRUPT', /object counts are invalid/);
    }
  });

  it('rejects an invalid target description', () => {
    const target = deltaHeader().target;
    for (const bad of [{ label: 3 }, { parent: 'nope' }, { createdAt: null }, { sequence: -1 }, { files: '2' }, { bytes: 0.5 }]) {
      rejection(() => decodeHeader(headerWith({ target: { ...target, ...bad } })), 'BUNDLE_CORRUPT', /target description is invalid/);
    }
    rejection(() => decodeHeader(headerWith({ target: null })), 'BUNDLE_CORRUPT', /target description is invalid/);
  });
});

describe('bundle seal', () => {
  it('round-trips', () => {
    expect(decodeSeal(encodeSeal(seal()))).toEqual(seal());
    const signed = { ...seal(), signatures: [{ keyid: 'a'.repeat(64), algorithm: 'ed25519' as const, signature: new Uint8Array(64).fill(7) }] };
    const decoded = decodeSeal(encodeSeal(signed));
    expect(decoded.signatures[0]!.keyid).toBe('a'.repeat(64));
    expect(Buffer.from(decoded.signatures[0]!.signature).equals(Buffer.alloc(64, 7))).toBe(true);
  });

  it('rejects signature entries of any other shape', () => {
    const good = { keyid: 'a'.repeat(64), algorithm: 'ed25519', signature: new Uint8Array(64) };
    const bad: unknown[] = [{ alg: 'ed25519', sig: 'abc' }, { ...good, algorithm: 'rsa' }, { ...good, signature: new Uint8Array(63) }, { ...good, keyid: 'A'.repeat(64) }, { ...good, extra: 1 }, 'sig'];
    for (const entry of bad) {
      rejection(() => decodeSeal(encodeMsgpack({ magic: 'airlock-seal', format: 1, entries: 3, chain: 'b'.repeat(64), signatures: [entry as never] })), 'BUNDLE_CORRUPT', /signature entry/);
    }
    rejection(() => decodeSeal(encodeMsgpack({ magic: 'airlock-seal', format: 1, entries: 3, chain: 'b'.repeat(64), signatures: [good, good] })), 'BUNDLE_CORRUPT', /two signatures/);
  });

  it('rejects bytes that are not msgpack', () => {
    const err = rejection(() => decodeSeal(Buffer.from('93', 'hex')), 'BUNDLE_CORRUPT', /seal is not valid msgpack/);
    expect(err.where).toBe(ENTRY_SEAL);
  });

  it('rejects a wrong magic or format', () => {
    for (const bad of [{ magic: 'airlock-bundle' }, { magic: undefined }]) {
      const err = rejection(() => decodeSeal(encodeMsgpack({ ...seal(), ...bad })), 'BUNDLE_CORRUPT', /no valid magic/);
      expect(err.where).toBe(ENTRY_SEAL);
    }
    expect(rejection(() => decodeSeal(encodeMsgpack({ ...seal(), format: 2 })), 'FORMAT_UNSUPPORTED', /seal format 2/).where).toBe(ENTRY_SEAL);
    rejection(() => decodeSeal(encodeMsgpack(['airlock-seal', 1])), 'BUNDLE_CORRUPT', /no valid magic/);
  });

  it('rejects invalid fields', () => {
    for (const bad of [{ entries: -1 }, { entries: '5' }, { chain: ID_3.toUpperCase() }, { chain: ID_3.slice(1) }, { signatures: null }, { signatures: {} }]) {
      rejection(() => decodeSeal(encodeMsgpack({ ...seal(), ...bad })), 'BUNDLE_CORRUPT', /seal fields are invalid/);
    }
  });
});

describe('object entry names', () => {
  it('accepts objects/<64 hex> and objects/<64 hex>.zst', () => {
    expect(parseObjectEntryName(`objects/${ID_1}`)).toEqual({ id: ID_1, compressed: false });
    expect(parseObjectEntryName(`objects/${ID_1}.zst`)).toEqual({ id: ID_1, compressed: true });
  });

  it('round-trips with objectEntryName', () => {
    expect(objectEntryName(ID_2, false)).toBe(`objects/${ID_2}`);
    expect(objectEntryName(ID_2, true)).toBe(`objects/${ID_2}.zst`);
    expect(parseObjectEntryName(objectEntryName(ID_2, true))).toEqual({ id: ID_2, compressed: true });
  });

  it.each([
    ['no prefix', ID_1],
    ['another directory', `object/${ID_1}`],
    ['a nested path', `objects/ab/${ID_1}`],
    ['a leading slash', `/objects/${ID_1}`],
    ['upper-case hex', `objects/${ID_1.toUpperCase()}`],
    ['63 digits', `objects/${ID_1.slice(1)}`],
    ['65 digits', `objects/${ID_1}0`],
    ['another suffix', `objects/${ID_1}.gz`],
    ['a doubled suffix', `objects/${ID_1}.zst.zst`],
    ['an upper-case suffix', `objects/${ID_1}.ZST`],
    ['only the suffix', 'objects/.zst'],
    ['only the prefix', 'objects/'],
    ['the header entry', ENTRY_HEADER],
  ])('rejects %s', (_why, name) => {
    expect(parseObjectEntryName(name)).toBeUndefined();
  });
});

describe('entryRecord', () => {
  it('is msgpack [name, size, 32-byte hash]', () => {
    expect(decodeMsgpack(entryRecord('objects/x', 10, ID_1))).toEqual(['objects/x', 10, Buffer.from(ID_1, 'hex')]);
  });

  it('differs when the name, the size or the hash differs', () => {
    const base = entryRecord(`objects/${ID_1}`, 100, ID_1);
    expect(entryRecord(`objects/${ID_1}`, 100, ID_1)).toEqual(base);
    const variants = [
      entryRecord(`objects/${ID_1}.zst`, 100, ID_1),
      entryRecord(`objects/${ID_1}`, 101, ID_1),
      entryRecord(`objects/${ID_1}`, 100, ID_2),
      entryRecord(`objects/${ID_1}`, 2 ** 32 + 100, ID_1),
    ];
    for (const v of variants) expect(v.equals(base)).toBe(false);
  });

  it('keeps sizes of 2^32 and more exact', () => {
    const [, size] = decodeMsgpack(entryRecord('n', 2 ** 40 + 1, ID_1)) as unknown[];
    expect(size).toBe(2 ** 40 + 1);
  });
});
