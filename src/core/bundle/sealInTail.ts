import { decodeSeal, ENTRY_SEAL, LIMITS, type BundleSeal } from './format.js';
import { TarParser } from './tarParser.js';

const BLOCK = 512;
/** The seal's header and data, its padding, the end-of-archive marker and some slack: how much of the end holds the seal. */
export const SEAL_TAIL_BYTES = LIMITS.sealBytes + 8 * BLOCK;

/**
 * The last block named as the seal whose entry runs exactly to the end-of-archive marker:
 * scanning backwards, and requiring the end, keeps bytes inside an object that happen to
 * look like a seal header from being taken for it. `bundleOffset` is the bundle offset of
 * bytes[0] (tar blocks are aligned in bundle offsets). Undefined when no whole seal is there.
 */
export function sealInTail(bytes: Buffer, bundleOffset: number): BundleSeal | undefined {
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
