import * as fs from 'node:fs';
import { decodeSeal, ENTRY_SEAL, LIMITS, type BundleSeal } from '../core/bundle/format.js';
import { TarParser } from '../core/bundle/tarParser.js';
import { PART_OFFSET } from '../core/bundle/volume.js';
import { volumeDescriptorOf } from './bundleInput.js';

const BLOCK = 512;
/** The seal's header and data, its padding, the end-of-archive marker and some slack. */
const TAIL_WINDOW = LIMITS.sealBytes + 8 * BLOCK;

/**
 * The seal, read from the end of the bundle before anything else: the seal comes last, so
 * on a host that trusts a key, an unsigned bundle of hundreds of gigabytes would otherwise
 * be read in full before it is refused. What this returns is NOT verified (the chain and
 * the signatures are checked after the full read); it only lets apply refuse early a
 * bundle that does not even claim a trusted signature. Undefined when the seal cannot be
 * found this way (a damaged or cut copy): the full read then says what is wrong.
 */
export async function peekSeal(paths: string[]): Promise<BundleSeal | undefined> {
  try {
    const tail = await bundleTail(paths);
    return tail === undefined ? undefined : sealInTail(tail.bytes, tail.bundleOffset);
  } catch {
    return undefined;
  }
}

interface Tail {
  bytes: Buffer;
  /** The bundle offset of bytes[0] (tar blocks are aligned in bundle offsets). */
  bundleOffset: number;
}

async function bundleTail(paths: string[]): Promise<Tail | undefined> {
  if (paths.length === 1 && (await volumeDescriptorOf(paths[0]!)) === null) {
    const size = fs.statSync(paths[0]!).size;
    const start = Math.max(0, size - TAIL_WINDOW);
    return { bytes: readRange(paths[0]!, start, size - start), bundleOffset: start };
  }
  for (const path of paths) {
    const d = await volumeDescriptorOf(path);
    if (d === null || d.volume !== d.volumes) continue;
    const start = Math.max(0, d.length - TAIL_WINDOW);
    return { bytes: readRange(path, PART_OFFSET + start, d.length - start), bundleOffset: d.offset + start };
  }
  return undefined;
}

/**
 * The last block named as the seal whose entry runs exactly to the end-of-archive marker:
 * scanning backwards, and requiring the end, keeps bytes inside an object that happen to
 * look like a seal header from being taken for it.
 */
function sealInTail(bytes: Buffer, bundleOffset: number): BundleSeal | undefined {
  const name = Buffer.from(`${ENTRY_SEAL}\0`);
  const first = (BLOCK - (bundleOffset % BLOCK)) % BLOCK;
  const last = first + Math.floor((bytes.length - first) / BLOCK - 1) * BLOCK;
  for (let at = last; at >= first; at -= BLOCK) {
    if (!bytes.subarray(at, at + name.length).equals(name)) continue;
    const seal = sealEntryAt(bytes.subarray(at));
    if (seal !== undefined) return seal;
  }
  return undefined;
}

function sealEntryAt(bytes: Buffer): BundleSeal | undefined {
  const data: Buffer[] = [];
  let ended = false;
  const parser = new TarParser();
  try {
    for (const event of [...parser.push(bytes), ...parser.finish()]) {
      if (event.type === 'entry' && event.name !== ENTRY_SEAL) return undefined;
      if (event.type === 'data') data.push(event.chunk);
      if (event.type === 'end') ended = true;
    }
  } catch {
    return undefined;
  }
  return ended ? decodeSeal(Buffer.concat(data)) : undefined;
}

function readRange(path: string, start: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, buffer, 0, length, start);
  } finally {
    fs.closeSync(fd);
  }
  return buffer;
}
