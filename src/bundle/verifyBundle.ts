import type { Progress } from '../core/progress.js';
import type { VolumeDescriptor } from '../core/bundle/volume.js';
import { checkSignatures, requireTrustedSignature, type SignatureReport } from '../trust/checkSignatures.js';
import { loadPublicKey } from '../trust/keys.js';
import { openBundleInput } from './bundleInput.js';
import { readBundle, type BundleReadResult } from './readBundle.js';

/**
 * `bundle verify`: every byte, then, when keys are given, a valid signature by one of
 * them, so the copy on a drive can be checked anywhere, without a data dir. One volume of
 * several, given alone, is checked on its own right after it was copied: its structure and
 * its part against its descriptor (the bundle as a whole, with objects, seal and
 * signature, is verified when all volumes are given).
 */
export type VerifyBundleResult =
  | { kind: 'volume'; volume: VolumeDescriptor }
  | {
      kind: 'bundle';
      read: BundleReadResult;
      signatures: SignatureReport;
      /** Every key id that signed, checked or not. */
      signers: string[];
    };

export async function verifyBundle(files: string[], keyFiles: string[], progress: Progress): Promise<VerifyBundleResult> {
  // Keys are read first: a wrong path should not cost a full read of the bundle.
  const keys = new Map(keyFiles.map(loadPublicKey).map((k) => [k.keyId, k]));
  const input = await openBundleInput(files, { allowLoneVolume: true });
  try {
    if (input.loneVolume !== null) {
      for await (const chunk of input.chunks()) void chunk;
      return { kind: 'volume', volume: input.loneVolume };
    }
    const read = await readBundle(input, { progress });
    const file = files[0]!;
    const signatures = checkSignatures(read.seal!, keys, file);
    if (keys.size > 0) requireTrustedSignature(signatures, keys.size, false, file, () => undefined, `--key names ${keys.size} key(s)`);
    return { kind: 'bundle', read, signatures, signers: read.seal!.signatures.map((s) => s.keyid) };
  } finally {
    await input.close();
  }
}
