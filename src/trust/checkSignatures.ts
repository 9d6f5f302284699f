import { AirlockError } from '../errors.js';
import { verifySignature } from '../core/bundle/signature.js';
import type { BundleSeal } from '../core/bundle/format.js';
import type { PublicKeyFile } from './keys.js';

/**
 * Who signed a bundle, judged against a set of keys: the trusted keys of a data dir on
 * apply, or the keys given to `bundle verify --key`. Only a seal that already matched
 * its entries gets here, so a valid signature vouches for every byte of the bundle.
 */
export interface SignatureReport {
  /** Keys of the set whose signature verified. */
  validBy: string[];
  /** Signatures by keys outside the set (not checked: nothing to check them with). */
  unknownKeys: string[];
}

export function checkSignatures(seal: BundleSeal, keys: Map<string, PublicKeyFile>, where: string): SignatureReport {
  const report: SignatureReport = { validBy: [], unknownKeys: [] };
  for (const signature of seal.signatures) {
    const key = keys.get(signature.keyid);
    if (!key) {
      report.unknownKeys.push(signature.keyid);
      continue;
    }
    if (!verifySignature(seal.entries, seal.chain, signature, key.key)) {
      throw new AirlockError('SIGNATURE_INVALID', `the signature by trusted key ${signature.keyid.slice(0, 16)} does not verify: the bundle was altered after it was signed, or the signature forged`, {
        where,
        hint: 'do not apply it; write the bundle again on the online host and check the copy with `airlock bundle verify F --key NAME.pub`',
      });
    }
    report.validBy.push(signature.keyid);
  }
  return report;
}

/**
 * The apply policy: with no trusted key every bundle passes (as before keys existed);
 * with one, a bundle needs a valid signature by a trusted key, unless the admin said
 * --allow-unsigned, which is then reported loudly.
 */
export function requireTrustedSignature(
  report: SignatureReport,
  trustedCount: number,
  allowUnsigned: boolean,
  where: string,
  warn: (message: string) => void,
  keysAre = `this data dir trusts ${trustedCount} key(s)`,
): void {
  if (report.validBy.length > 0 || trustedCount === 0) return;
  const signedBy = report.unknownKeys.map((k) => k.slice(0, 16)).join(', ');
  const what = report.unknownKeys.length === 0 ? 'the bundle is not signed' : `the bundle is signed only by keys this host does not trust (${signedBy})`;
  if (allowUnsigned) {
    warn(`${what.toUpperCase()}; applying it anyway because --allow-unsigned was given`);
    return;
  }
  throw new AirlockError(report.unknownKeys.length === 0 ? 'UNSIGNED' : 'UNTRUSTED_KEY', `${what}, and ${keysAre}`, {
    where,
    hint: report.unknownKeys.length === 0
      ? 'sign it on the online host (`airlock bundle create ... --sign NAME.key`), or pass --allow-unsigned if you are sure of its origin'
      : 'trust the signer with `airlock trust add NAME.pub` if it is yours, or get a bundle signed by a trusted key',
  });
}
