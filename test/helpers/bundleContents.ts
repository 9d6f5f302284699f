import * as fs from 'node:fs';
import { parseObjectEntryName } from '../../src/core/bundle/format.js';
import { PackParser, parsePackEntryName, type PackedObject } from '../../src/core/bundle/pack.js';
import { ZstdDecoder } from '../../src/core/zstd.js';
import { splitBundle } from './mutateBundle.js';

/**
 * What a bundle airlock wrote carries, entry by entry: objects in entries of their own
 * (raw or zstd) and packs with the objects their index lists. For tests that ask which
 * objects travelled and how; the bundle is trusted (airlock wrote it) and read whole.
 */
export interface BundleContents {
  alone: Array<{ id: string; compressed: boolean }>;
  packs: Array<{ name: string; objects: PackedObject[]; content: Buffer }>;
  /** Every object carried, alone or packed. */
  carried: Set<string>;
  /** The object ids carried in packs. */
  packed: Set<string>;
}

export function bundleContents(file: string): BundleContents {
  const alone: BundleContents['alone'] = [];
  const packs: BundleContents['packs'] = [];
  for (const entry of splitBundle(fs.readFileSync(file)).entries) {
    const object = parseObjectEntryName(entry.name);
    if (object) alone.push(object);
    else if (parsePackEntryName(entry.name) !== undefined) {
      const content = decompress(entry.data);
      packs.push({ name: entry.name, objects: packIndex(content), content });
    }
  }
  const packed = new Set(packs.flatMap((p) => p.objects.map((o) => o.id)));
  return { alone, packs, packed, carried: new Set([...alone.map((o) => o.id), ...packed]) };
}

export function decompress(data: Buffer): Buffer {
  const decoder = new ZstdDecoder();
  const out = Buffer.concat([...decoder.decode(data)]);
  if (!decoder.complete) throw new Error('incomplete zstd frame in a bundle airlock wrote');
  return out;
}

/** The objects a pack's decompressed content lists. */
export function packIndex(content: Buffer): PackedObject[] {
  const parser = new PackParser((message) => new Error(`a pack airlock wrote: ${message}`));
  for (const event of parser.push(content)) if (event.type === 'index') return event.objects;
  throw new Error('a pack airlock wrote has no index');
}
