import type { BundleSeal } from '../core/bundle/format.js';
import { SEAL_TAIL_BYTES, sealInTail } from '../core/bundle/sealInTail.js';
import type { BundleInput } from './bundleInput.js';

/**
 * The seal, read from the end of the bundle before anything else: the seal comes last, so
 * on a host that trusts a key, an unsigned bundle of hundreds of gigabytes would otherwise
 * be read in full before it is refused. What this returns is NOT verified (the chain and
 * the signatures are checked after the full read); it only lets apply refuse early a
 * bundle that does not even claim a trusted signature. Undefined when the seal cannot be
 * found this way (a damaged or cut copy): the full read then says what is wrong. It reads
 * through the input apply then reads in full: no file is opened twice.
 */
export async function peekSeal(input: BundleInput): Promise<BundleSeal | undefined> {
  try {
    const tail = await input.tail(SEAL_TAIL_BYTES);
    return sealInTail(tail.bytes, tail.bundleOffset);
  } catch {
    return undefined;
  }
}
