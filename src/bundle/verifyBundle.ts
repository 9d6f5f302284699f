import type { Progress } from '../progress/progress.js';
import { checkSignatures, requireTrustedSignature, type SignatureReport } from '../trust/checkSignatures.js';
import { loadPublicKey } from '../trust/keys.js';
import { readBundle, type BundleReadResult } from './readBundle.js';
import { verifyVolume, volumeDescriptorOf } from './bundleInput.js';
import type { VolumeDescriptor } from '../core/bundle/volume.js';

/**
 * `bundle verify`: every byte, then, when keys are given, a valid signature by one of
 * them, so the copy on a drive can be checked anywhere, without a data dir.
 */
export interface VerifyBundleResult {
  read: BundleReadResult;
  signatures: SignatureReport;
  /** Every key id that signed, checked or not. */
  signers: string[];
}

export async function verifyBundle(files: string[], keyFiles: string[], progress: Progress): Promise<VerifyBundleResult> {
  // Keys are read first: a wrong path should not cost a full read of the bundle.
  const keys = new Map(keyFiles.map(loadPublicKey).map((k) => [k.keyId, k]));
  const read = await readBundle(files, { progress });
  const file = files[0]!;
  const signatures = checkSignatures(read.seal!, keys, file);
  if (keys.size > 0) requireTrustedSignature(signatures, keys.size, false, file, () => undefined, `--key names ${keys.size} key(s)`);
  return { read, signatures, signers: read.seal!.signatures.map((s) => s.keyid) };
}

/**
 * One volume of several, checked on its own right after it was copied: its structure and
 * its part against its descriptor. The bundle as a whole (objects, seal, signature) is
 * verified when all volumes are given.
 */
export async function singleVolume(files: string[]): Promise<VolumeDescriptor | null> {
  if (files.length !== 1) return null;
  const descriptor = await volumeDescriptorOf(files[0]!);
  if (descriptor === null || descriptor.volumes === 1) return null;
  await verifyVolume(files[0]!, descriptor);
  return descriptor;
}
