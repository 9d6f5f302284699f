import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBundleInput } from '../../src/bundle/bundleInput.js';
import { peekSeal } from '../../src/bundle/peekSeal.js';
import { BUNDLE_FORMAT, encodeSeal, ENTRY_SEAL, SEAL_MAGIC, type BundleSeal } from '../../src/core/bundle/format.js';
import { encodeTarHeader, END_OF_ARCHIVE, paddingFor } from '../../src/core/bundle/tarHeader.js';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir('airlock-peek-seal-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function seal(keyByte: number): BundleSeal {
  return {
    magic: SEAL_MAGIC,
    format: BUNDLE_FORMAT,
    entries: 3,
    chain: 'ab'.repeat(32),
    signatures: [{ keyid: keyByte.toString(16).padStart(2, '0').repeat(32), algorithm: 'ed25519', signature: Buffer.alloc(64, keyByte) }],
  };
}

function entry(name: string, data: Buffer): Buffer {
  return Buffer.concat([encodeTarHeader(name, data.length), data, paddingFor(data.length)]);
}

/** The seal as apply peeks at it: through the bundle's one open input. */
async function peek(file: string) {
  const input = await openBundleInput([file]);
  try {
    return await peekSeal(input);
  } finally {
    await input.close();
  }
}

describe('peekSeal', () => {
  it('finds the seal at the end of a bundle, not a seal-shaped block inside the last object', () => {
    // The last object's bytes hold what looks like a whole seal entry, with the end marker, then more data.
    const decoy = Buffer.concat([entry(ENTRY_SEAL, encodeSeal(seal(0x11))), END_OF_ARCHIVE, Buffer.alloc(512, 7)]);
    const file = join(dir, 'decoy.airlock');
    fs.writeFileSync(file, Buffer.concat([entry(`objects/${'cd'.repeat(32)}`, decoy), entry(ENTRY_SEAL, encodeSeal(seal(0x22))), END_OF_ARCHIVE]));
    expect(fs.statSync(file).size % 512).toBe(0);
    return expect(peek(file).then((s) => s?.signatures.map((x) => x.keyid))).resolves.toEqual(['22'.repeat(32)]);
  });

  it('gives nothing for a copy cut inside the seal, so the full read can say what is wrong', async () => {
    const whole = Buffer.concat([entry(`objects/${'cd'.repeat(32)}`, Buffer.alloc(1000, 1)), entry(ENTRY_SEAL, encodeSeal(seal(0x22))), END_OF_ARCHIVE]);
    const file = join(dir, 'cut.airlock');
    fs.writeFileSync(file, whole.subarray(0, whole.length - 1024 - 100));
    expect(await peek(file)).toBeUndefined();
  });
});
