import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBundleInput } from '../../src/bundle/bundleInput.js';
import { BundleReader, type ObjectSink } from '../../src/core/bundle/reader.js';
import { airlockOk } from '../helpers/cli.js';
import { onlineScenario, tempDir, type Scenario } from '../helpers/fixtures.js';
import { patternBytes } from '../repository/helpers.js';

describe('bundle input: the file read into two buffers in turn', () => {
  it('gives every byte in order, each piece valid until the one after next is asked for, in at most two buffers', async () => {
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
    }
  });
});
