import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { AirlockError } from '../../errors.js';
import type { Canonical } from '../canonical.js';
import { hashBytes } from '../objectId.js';

/**
 * Signatures in the seal (docs/bundle-format.md, "Signatures"). A signature is Ed25519
 * over a short, domain-separated message naming the seal's chain: the chain already binds
 * the header, the target tree, the change list and every object in order, so one
 * signature covers them all, and an entry swapped in from another signed bundle breaks
 * the chain before any key is consulted.
 *
 *   message = "airlock-bundle-signature-v1\n" + entries (decimal) + "\n" + chain (hex) + "\n"
 *   signature entry = {"keyid": <64 hex>, "algorithm": "ed25519", "signature": <64 bytes>}
 *   key id = BLAKE3 of the raw 32-byte Ed25519 public key, lowercase hex
 */
export const SIGNATURE_ALGORITHM = 'ed25519';
const DOMAIN = 'airlock-bundle-signature-v1';
/** More signatures than any real bundle needs; a seal with more is refused. */
export const MAX_SIGNATURES = 16;

export interface BundleSignature {
  keyid: string;
  algorithm: typeof SIGNATURE_ALGORITHM;
  signature: Uint8Array;
}

export function signatureMessage(entries: number, chain: string): Buffer {
  return Buffer.from(`${DOMAIN}\n${entries}\n${chain}\n`, 'utf8');
}

/** The raw 32-byte public key inside an Ed25519 key object. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new AirlockError('KEY_INVALID', 'the key is not an Ed25519 key', { hint: 'make keys with `airlock key generate --output NAME`' });
  }
  return Buffer.from(jwk.x, 'base64url');
}

export function keyIdOf(publicKey: KeyObject): string {
  return hashBytes(rawPublicKey(publicKey));
}

export function signSeal(entries: number, chain: string, privateKey: KeyObject): BundleSignature {
  const publicKey = createPublicKey(privateKey);
  return { keyid: keyIdOf(publicKey), algorithm: SIGNATURE_ALGORITHM, signature: sign(null, signatureMessage(entries, chain), privateKey) };
}

export function verifySignature(entries: number, chain: string, signature: BundleSignature, publicKey: KeyObject): boolean {
  try {
    return verify(null, signatureMessage(entries, chain), publicKey, signature.signature);
  } catch {
    return false;
  }
}

export function encodeSignature(s: BundleSignature): Canonical {
  return { keyid: s.keyid, algorithm: s.algorithm, signature: s.signature };
}

/** Strict: a seal whose signature list is not exactly what a writer makes is damaged or forged. */
export function decodeSignatures(raw: unknown[], where: string): BundleSignature[] {
  if (raw.length > MAX_SIGNATURES) throw invalid(`the seal carries ${raw.length} signatures, more than the ${MAX_SIGNATURES} allowed`, where);
  const seen = new Set<string>();
  return raw.map((value) => {
    const s = value as Partial<Record<string, unknown>> | null;
    if (
      s === null ||
      typeof s !== 'object' ||
      Object.keys(s).length !== 3 ||
      typeof s.keyid !== 'string' ||
      !/^[0-9a-f]{64}$/.test(s.keyid) ||
      s.algorithm !== SIGNATURE_ALGORITHM ||
      !(s.signature instanceof Uint8Array) ||
      s.signature.length !== 64
    ) {
      throw invalid('the seal has a signature entry that is not {keyid, algorithm: "ed25519", signature: 64 bytes}', where);
    }
    if (seen.has(s.keyid)) throw invalid(`the seal has two signatures by key ${s.keyid.slice(0, 16)}`, where);
    seen.add(s.keyid);
    return { keyid: s.keyid, algorithm: SIGNATURE_ALGORITHM, signature: s.signature };
  });
}

function invalid(message: string, where: string): AirlockError {
  return new AirlockError('BUNDLE_CORRUPT', message, { where, hint: 'the bundle was damaged or tampered with; write it again on the online host' });
}
