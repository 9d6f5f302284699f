import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { airlockJson, airlockOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { bundleContents } from '../helpers/bundleContents.js';
import { patternBytes } from '../repository/helpers.js';
import { silentProgress } from '../../src/core/progress.js';
import { createBundle } from '../../src/bundle/createBundle.js';
import { createSnapshot } from '../../src/repository/createSnapshot.js';
import { Repository } from '../../src/repository/repository.js';

/**
 * Bundle create reads objects ahead of the writer in chunks (64 objects or 8 MiB), small
 * ones into a buffer per chunk that is reused once the chunk is written, larger ones (up to
 * 16 MiB) into buffers of their own, and streams the rest. A buffer reused too early would
 * put another chunk's bytes under an object's id: the reader's check of every entry
 * against its id (bundle verify) and the packs compared here byte for byte would fail.
 */
function gzipLooking(size: number, seed: number): Buffer {
  const data = patternBytes(size, seed);
  data[0] = 0x1f;
  data[1] = 0x8b; // stored raw, each in an entry of its own, not packed or compressed
  return data;
}

describe('bundle create reads ahead into reused buffers (many chunks, every size class)', () => {
  for (const [title, env] of [
    ['on the store threads', { AIRLOCK_STORE_THREADS_FROM: '0' }],
    ['on the main thread (a tree this small)', {}],
  ] as const) {
    it(`${title}: every object arrives whole, alone or in a pack`, () => {
      const dir = tempDir();
      const source = join(dir, 'tree');
      const files = new Map<string, Buffer>();
      // 700 raw objects of 20 to 40 kB: 11 chunks of 64, more than the 5 buffers kept.
      for (let i = 0; i < 700; i++) files.set(`raw/f${i}.tar.gz`, gzipLooking(20_000 + ((i * 7919) % 20_000), i + 1));
      // Small text that goes into packs, named to sort among the raw objects: read into the same
      // chunks' buffers, and held by the pack until it is written at the end.
      for (let i = 0; i < 150; i++) files.set(`raw/f${i * 4}.txt`, Buffer.from(`note ${i}\n`.repeat(1 + (i % 40))));
      // Over the pack limit and compressible: compressed from the chunk's buffer into an entry of its own.
      files.set('raw/f7.csv', Buffer.from('id,value\n'.concat('1234567,abcdefgh\n'.repeat(130_000))));
      // Larger than a chunk's small objects: read whole into buffers of their own, or streamed.
      files.set('big/a.tar.gz', gzipLooking(5 * 1024 * 1024 + 3, 9001));
      files.set('big/b.tar.gz', gzipLooking(9 * 1024 * 1024, 9002));
      files.set('big/c.tar.gz', gzipLooking(17 * 1024 * 1024, 9003));
      for (const [path, data] of files) {
        fs.mkdirSync(join(source, path, '..'), { recursive: true });
        fs.writeFileSync(join(source, path), data);
      }
      const repo = join(dir, 'repo');
      airlockOk(['snapshot', 'create', '--repo', repo, '--from', source, '--label', 'one'], env);
      const bundle = join(dir, 'one.airlock');
      airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'one', '--output', bundle], env);

      const verified = airlockJson<{ ok: boolean; objects: number }>(['bundle', 'verify', bundle]);
      expect(verified.ok).toBe(true);
      const ids = new Map([...files.values()].map((data) => [blake3(data).toString('hex'), data]));
      expect(verified.objects).toBe(ids.size);
      const contents = bundleContents(bundle);
      expect(contents.carried).toEqual(new Set(ids.keys()));
      expect(contents.packed.size).toBe(150);
      expect(contents.alone.filter((o) => o.compressed).map((o) => o.id)).toEqual([blake3(files.get('raw/f7.csv')!).toString('hex')]);
      for (const pack of contents.packs) {
        let at = pack.content.length - pack.objects.reduce((sum, o) => sum + o.size, 0);
        for (const object of pack.objects) {
          expect(pack.content.subarray(at, at + object.size).equals(ids.get(object.id)!), object.id).toBe(true);
          at += object.size;
        }
      }
    });
  }

  it('makes a few chunk buffers however many chunks there are: each is used again once its chunk is written', async () => {
    const dir = tempDir();
    const source = join(dir, 'tree');
    fs.mkdirSync(source);
    // 700 objects of 20 to 40 kB: 11 chunks of 64.
    for (let i = 0; i < 700; i++) fs.writeFileSync(join(source, `f${i}.tar.gz`), gzipLooking(20_000 + ((i * 7919) % 20_000), i + 1));
    const repo = await Repository.open(join(dir, 'repo'), { create: true });
    await createSnapshot(repo, { from: source, label: 'one', progress: silentProgress });
    // Counted as the bundle is written: every SharedArrayBuffer made.
    const Real = globalThis.SharedArrayBuffer;
    let made = 0;
    class Counted extends Real {
      constructor(length: number) {
        super(length);
        made++;
      }
    }
    globalThis.SharedArrayBuffer = Counted as SharedArrayBufferConstructor;
    try {
      await createBundle(repo, { snapshot: 'one', startingSnapshot: undefined, output: join(dir, 'one.airlock'), progress: silentProgress });
    } finally {
      globalThis.SharedArrayBuffer = Real;
    }
    // One per chunk read ahead and the one being written, not one per chunk.
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(5);
    expect(airlockJson<{ ok: boolean }>(['bundle', 'verify', join(dir, 'one.airlock')]).ok).toBe(true);
  });
});
