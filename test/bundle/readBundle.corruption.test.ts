import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/bundle/readBundle.js';
import { AirlockError } from '../../src/errors.js';
import { Random } from '../../fixtures/random.js';
import { airlock, airlockOk } from '../helpers/cli.js';
import { onlineScenario, type Scenario } from '../helpers/fixtures.js';
import { liveView } from '../helpers/live.js';

/**
 * A damaged copy must never pass. Flip one byte anywhere (tar headers, object data,
 * zstd frames, padding, the manifest, the seal, the end-of-archive blocks) or cut the
 * file at any length: the reader refuses, says where, and an apply changes nothing.
 */
async function rejection(file: string): Promise<AirlockError> {
  try {
    await readBundle(file);
  } catch (err) {
    if (err instanceof AirlockError) return err;
    throw new Error(`not an AirlockError: ${String(err)}`);
  }
  throw new Error(`${file} was accepted`);
}

const BUNDLE_CODES = ['BUNDLE_CORRUPT', 'BUNDLE_TRUNCATED', 'BUNDLE_UNSAFE_ENTRY', 'MANIFEST_INVALID', 'FORMAT_UNSUPPORTED'];

describe('corruption: every flipped byte and every truncation is refused', () => {
  let s: Scenario;
  let delta: string;
  let original: Buffer;
  let work: string;

  beforeAll(async () => {
    s = await onlineScenario(2, { packages: 8, payloadMedian: 3000 });
    delta = join(s.media, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    original = fs.readFileSync(delta);
    work = join(s.root, 'damaged');
    fs.mkdirSync(work);
  });

  it('accepts the undamaged bundle (control)', async () => {
    const read = await readBundle(delta);
    expect(read.sealed).toBe(true);
    expect(read.bundleBytes).toBe(original.length);
  });

  it('refuses a flip at each of 600 offsets spread over the whole file, naming where', async () => {
    const rng = new Random(1);
    const offsets = new Set<number>();
    // Every 512-byte block gets a flip at its start, middle and a random place: headers, data, padding, trailer.
    for (let block = 0; block * 512 < original.length; block++) {
      for (const at of [0, 100, 148, 257, rng.int(0, 511)]) if (block * 512 + at < original.length) offsets.add(block * 512 + at);
    }
    const chosen = [...offsets].sort((a, b) => a - b).filter((_, i, all) => all.length <= 600 || i % Math.ceil(all.length / 600) === 0);
    expect(chosen.length).toBeGreaterThan(100);
    const file = join(work, 'flipped.airlock');
    for (const offset of chosen) {
      const bytes = Buffer.from(original);
      bytes[offset] = bytes[offset]! ^ (1 << rng.int(0, 7));
      fs.writeFileSync(file, bytes);
      const err = await rejection(file);
      expect(BUNDLE_CODES, `offset ${offset}: ${err.code} ${err.message}`).toContain(err.code);
      expect(err.where ?? '', `offset ${offset}: ${err.message}`).toMatch(/entry \d+|byte \d+|airlock-bundle\//);
    }
  });

  it('refuses the file cut at 300 lengths, from empty to one byte short', async () => {
    const file = join(work, 'cut.airlock');
    const rng = new Random(2);
    const lengths = new Set<number>([0, 1, 511, 512, 513, original.length - 1, original.length - 512, original.length - 1024]);
    while (lengths.size < 300) lengths.add(rng.int(0, original.length - 1));
    for (const length of lengths) {
      fs.writeFileSync(file, original.subarray(0, length));
      const err = await rejection(file);
      expect(['BUNDLE_TRUNCATED', 'BUNDLE_CORRUPT'], `length ${length}: ${err.message}`).toContain(err.code);
    }
  });

  it('refuses trailing garbage after the end of the archive', async () => {
    const file = join(work, 'trailing.airlock');
    fs.writeFileSync(file, Buffer.concat([original, Buffer.from('copied twice?')]));
    expect((await rejection(file)).message).toMatch(/after the end of the archive/);
  });

  it('through the real binary: damaged copies exit 3 and leave the data dir exactly as it was', () => {
    const full = join(s.media, 'full.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    const before = liveView(s.dataDir);
    const rng = new Random(3);
    const file = join(work, 'cli.airlock');
    for (let i = 0; i < 12; i++) {
      const bytes = Buffer.from(original);
      const at = rng.int(0, bytes.length - 1);
      bytes[at] = bytes[at]! ^ 0x40;
      fs.writeFileSync(file, i % 3 === 2 ? original.subarray(0, rng.int(0, original.length - 1)) : bytes);
      const result = airlock(['apply', file, '--data-dir', s.dataDir]);
      expect(result.status, result.stderr).toBe(3);
      expect(result.stderr).toMatch(/airlock: error \[(BUNDLE_\w+|MANIFEST_INVALID|FORMAT_UNSUPPORTED)\]/);
      expect(result.stderr).toMatch(/where: .*cli\.airlock/);
      expect(liveView(s.dataDir)).toBe(before);
      expect(fs.readdirSync(`${s.dataDir}.airlock`)).not.toContain('tmp');
    }
    airlockOk(['apply', delta, '--data-dir', s.dataDir]);
  });
});
