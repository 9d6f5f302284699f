import { AirlockError } from '../errors.js';
import { readJsonIfExists, writeJsonDurable } from '../fs/durable.js';
import { publicKeyFromPem, type PublicKeyFile } from './keys.js';

/**
 * The keys an offline data dir accepts bundles from: `<data dir>.airlock/trust.json`.
 * Once it holds a key, `apply` refuses unsigned bundles and bundles signed by anyone
 * else. Keys are stored as PEM with the id derived from them, and re-derived on load,
 * so an edited id cannot make a key pass for another.
 */
export interface TrustedKey {
  id: string;
  name: string;
  addedAt: string;
  publicKey: string;
}

interface TrustFile {
  format: 'airlock-trust';
  version: 1;
  keys: TrustedKey[];
}

export class TrustStore {
  constructor(private readonly path: string) {}

  async list(): Promise<TrustedKey[]> {
    return (await this.load()).map((k) => k.entry);
  }

  /** The trusted keys ready to verify with. */
  async keys(): Promise<Map<string, PublicKeyFile>> {
    return new Map((await this.load()).map((k) => [k.entry.id, k.key]));
  }

  /** Reads the file and parses every key once, checking each id against its key. */
  private async load(): Promise<{ entry: TrustedKey; key: PublicKeyFile }[]> {
    const file = await readJsonIfExists<TrustFile>(this.path);
    if (file === undefined) return [];
    if (file.format !== 'airlock-trust' || file.version !== 1 || !Array.isArray(file.keys)) {
      throw new AirlockError('MANIFEST_INVALID', `${this.path} is not an airlock trust file`, { where: this.path, hint: 'restore it from a backup, or remove it and trust the keys again' });
    }
    return file.keys.map((entry) => {
      const key = publicKeyFromPem(entry.publicKey, this.path);
      if (key.keyId !== entry.id) {
        throw new AirlockError('MANIFEST_INVALID', `${this.path} lists key ${entry.id.slice(0, 16)} with a public key of another id`, { where: this.path, hint: 'the file was edited; remove it and trust the keys again' });
      }
      return { entry, key };
    });
  }

  async add(key: PublicKeyFile, name: string): Promise<{ added: boolean; key: TrustedKey }> {
    const keys = await this.list();
    const existing = keys.find((k) => k.id === key.keyId);
    if (existing) return { added: false, key: existing };
    const entry: TrustedKey = { id: key.keyId, name, addedAt: new Date().toISOString(), publicKey: key.pem };
    await this.write([...keys, entry]);
    return { added: true, key: entry };
  }

  /** Removes the key whose id starts with `ref` (at least 8 hex digits, unique). */
  async remove(ref: string): Promise<TrustedKey> {
    const keys = await this.list();
    const matches = ref.length >= 8 ? keys.filter((k) => k.id.startsWith(ref.toLowerCase())) : [];
    if (matches.length !== 1) {
      throw new AirlockError(matches.length === 0 ? 'NOT_FOUND' : 'AMBIGUOUS_REF', `${matches.length === 0 ? 'no' : 'more than one'} trusted key matches ${JSON.stringify(ref)}`, {
        hint: 'give at least 8 digits of an id that `airlock trust list` shows',
      });
    }
    await this.write(keys.filter((k) => k !== matches[0]));
    return matches[0]!;
  }

  private async write(keys: TrustedKey[]): Promise<void> {
    const file: TrustFile = { format: 'airlock-trust', version: 1, keys };
    await writeJsonDurable(this.path, file);
  }
}
