import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBundleInput } from '../../src/bundle/bundleInput.js';
import { BundleReader, type ObjectSink } from '../../src/core/bundle/reader.js';
import { airlockOk } from '../helpers/cli.js';
import { onlineScenario, tempDir, type Scenario } from '../helpers/fixtures.js';
import { patternBytes } from '../repository/helpers.js';

describe('bundle input: the file read into two buffers in turn', () => {
  it('gives every byte in order, in two buffers taken in turn', async () => {
    const file = join(tempDir(), 'plain.bin');
    const data = patternBytes(5 * 1024 * 1024 + 12_345, 4);
    fs.writeFileSync(file, data);
    const input = await openBundleInput([file]);
    const seen: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    try {
      let offset = 0;
      for await (const piece of input.chunks()) {
        // What this piece holds now is the file's bytes at its place.
        expect(piece.equals(data.subarray(offset, offset + piece.length))).toBe(true);
        offset += piece.length;
        seen.push(piece);
        memory.add(piece.buffer);
      }
      expect(offset).toBe(data.length);
    } finally {
      await input.close();
    }
    expect(seen.length).toBeGreaterThan(5);
    expect(memory.size).toBe(2);
  });

  it('a read ahead that fails while the caller is busy elsewhere is thrown at the caller’s next request, not left unhandled', async () => {
    const file = join(tempDir(), 'plain.bin');
    fs.writeFileSync(file, patternBytes(4 * 1024 * 1024, 6));
    const input = await openBundleInput([file]);
    const handle = await fs.promises.open(file, 'r');
    const prototype = Object.getPrototypeOf(handle) as { read: (...args: unknown[]) => Promise<unknown> };
    await handle.close();
    const realRead = prototype.read;
    let reads = 0;
    prototype.read = function (this: unknown, ...args: unknown[]) {
      // The third read (the one ahead of the second piece) fails at once.
      if (++reads === 3) return Promise.reject(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
      return realRead.apply(this, args);
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pieces: number[] = [];
      const reading = (async () => {
        for await (const piece of input.chunks()) {
          pieces.push(piece.length);
          // Busy elsewhere for a while, as apply is during a checkpoint's sync.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await expect(reading).rejects.toThrow('injected EIO');
      expect(pieces.length).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      prototype.read = realRead;
      process.off('unhandledRejection', onUnhandled);
      await input.close();
    }
  });

  it('a reader that stops early leaves no read behind: the file closes cleanly and a new read starts over', async () => {
    const file = join(tempDir(), 'plain.bin');
    const data = patternBytes(3 * 1024 * 1024, 5);
    fs.writeFileSync(file, data);
    const input = await openBundleInput([file]);
    for await (const piece of input.chunks()) {
      expect(piece.equals(data.subarray(0, piece.length))).toBe(true);
      break;
    }
    const again: Buffer[] = [];
    for await (const piece of input.chunks()) again.push(Buffer.from(piece));
    expect(Buffer.concat(again).equals(data)).toBe(true);
    await input.close();
  });
});

describe('bundle reader: keeps no view of a chunk once push() resolves', () => {
  let s: Scenario;
  let bundles: string[];

  beforeAll(async () => {
    s = await onlineScenario(2, { packages: 12, payloadMedian: 20_000 });
    const full = join(s.media, 'full.airlock');
    const delta = join(s.media, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    bundles = [full, delta];
  });

  it('reads a bundle fed in small pieces of one buffer that is overwritten after each push: every entry spans many pieces', async () => {
    for (const bundle of bundles) {
      const bytes = fs.readFileSync(bundle);
      const objects = new Map<string, Buffer[]>();
      const reader = new BundleReader(bundle, {
        openObject: (id): ObjectSink => {
          const parts: Buffer[] = [];
          objects.set(id, parts);
          // A sink that copies, as the contract asks.
          return { write: (chunk) => void parts.push(Buffer.from(chunk)), finish: () => undefined, abort: async () => undefined };
        },
      });
      const piece = Buffer.alloc(333);
      for (let at = 0; at < bytes.length; at += piece.length) {
        const n = bytes.copy(piece, 0, at, Math.min(bytes.length, at + piece.length));
        await reader.push(piece.subarray(0, n));
        // The memory is reused: anything the reader kept a view of now holds other bytes.
        piece.fill(0xa5);
      }
      await reader.finish();
      const result = reader.result();
      expect(result.sealed).toBe(true);
      expect(result.objects).toBe(objects.size);
      expect(objects.size).toBeGreaterThan(0);
      // And every object's bytes, as the sinks got them, are the object's.
      for (const [id, parts] of objects) expect(blake3(Buffer.concat(parts)).toString('hex')).toBe(id);
    }
  });
});
