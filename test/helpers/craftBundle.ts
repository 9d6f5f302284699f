import { Blake3Hasher } from '@napi-rs/blake-hash';
import * as fs from 'node:fs';
import * as tar from 'tar-stream';
import { encodeSeal, entryRecord, SEAL_MAGIC, BUNDLE_FORMAT } from '../../src/core/bundle/format.js';
import { hashBytes } from '../../src/core/objectId.js';

/**
 * Builds bundles by hand, entry by entry, with a seal that correctly binds whatever is
 * put in: what a hostile or buggy writer could produce. Tests use it to prove that the
 * reader refuses bad structure on its merits, not because the seal happened to break.
 */
export interface CraftEntry {
  name: string;
  data: Buffer;
  /** tar-stream header type; 'file' unless testing links and devices. */
  type?: 'file' | 'symlink' | 'link' | 'character-device' | 'directory';
  linkname?: string;
}

export async function craftBundle(path: string, entries: CraftEntry[], options: { seal?: boolean } = {}): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  const chain = new Blake3Hasher();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    chain.update(entryRecord(entry.name, entry.data.length, hashBytes(entry.data)));
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: entry.name, type, mode: 0o644, mtime: new Date(0), ...(entry.linkname ? { linkname: entry.linkname } : {}), ...(type === 'file' ? {} : { size: 0 }) },
        type === 'file' ? entry.data : Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  if (options.seal !== false) {
    const seal = encodeSeal({ magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: entries.length, chain: chain.digest('hex'), signatures: [] });
    await new Promise<void>((resolve, reject) => pack.entry({ name: 'airlock-bundle/seal', mode: 0o644, mtime: new Date(0) }, seal, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await ended;
  fs.writeFileSync(path, Buffer.concat(chunks));
}

/** The entries of a real bundle, in order, to be altered and re-sealed by craftBundle. */
export async function readEntries(path: string): Promise<CraftEntry[]> {
  const extract = tar.extract();
  const entries: CraftEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        entries.push({ name: header.name, data: Buffer.concat(parts) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  fs.createReadStream(path).pipe(extract);
  await done;
  return entries.filter((e) => e.name !== 'airlock-bundle/seal');
}
