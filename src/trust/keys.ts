import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { AirlockError } from '../errors.js';
import { assertOutputDirectory } from '../fs/outputPath.js';
import { keyIdOf } from '../core/bundle/signature.js';
import { dirname } from 'node:path';
import { fsyncDirSync, tempName, writeFileDurable } from '../fs/durable.js';

/**
 * Ed25519 key files: `NAME.key` (PKCS#8 PEM, mode 0600) stays on the online host and
 * signs bundles; `NAME.pub` (SPKI PEM) is carried to the offline host and trusted there.
 * Both are plain PEM, so `openssl pkey -in NAME.key -pubout` reproduces the public half.
 */
export interface PublicKeyFile {
  keyId: string;
  key: KeyObject;
  pem: string;
}

export async function generateKeyFiles(output: string): Promise<{ keyId: string; privatePath: string; publicPath: string }> {
  const privatePath = `${output}.key`;
  const publicPath = `${output}.pub`;
  assertOutputDirectory(output);
  for (const path of [privatePath, publicPath]) {
    if (fs.existsSync(path)) throw new AirlockError('USAGE', `${path} already exists`, { where: path, hint: 'choose another --output name; airlock never overwrites a key' });
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeNew(privatePath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  try {
    await writeNew(publicPath, publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
  } catch (err) {
    // Half a pair would block the next attempt (keys are never overwritten) and is of no use.
    await fs.promises.rm(privatePath, { force: true });
    throw err;
  }
  return { keyId: keyIdOf(publicKey), privatePath, publicPath };
}

/** Durable, and never over an existing file: link(2) of the written temp fails if the name exists. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  const temp = tempName(path);
  await writeFileDurable(temp, text, mode);
  try {
    fs.linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AirlockError('USAGE', `${path} already exists`, { where: path, hint: 'choose another --output name; airlock never overwrites a key' });
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  fsyncDirSync(dirname(path));
}

export function loadPrivateKey(path: string): { keyId: string; key: KeyObject } {
  const key = parseKey(path, (pem) => createPrivateKey(pem), 'private');
  if (key.asymmetricKeyType !== 'ed25519') throw notEd25519(path);
  return { keyId: keyIdOf(createPublicKey(key)), key };
}

export function loadPublicKey(path: string): PublicKeyFile {
  return publicKeyFromPem(readKeyFile(path), path);
}

export function publicKeyFromPem(pem: string, where: string): PublicKeyFile {
  // createPublicKey would happily derive the public half of a private key: refuse it, the private key must not travel.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new AirlockError('KEY_INVALID', `${where} is a PRIVATE key`, { where, hint: 'give the NAME.pub file; keep NAME.key on the online host only' });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new AirlockError('KEY_INVALID', `${where} is not a PEM public key`, { where, hint: 'trust the NAME.pub file that `airlock key generate` wrote (not NAME.key)' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw notEd25519(where);
  return { keyId: keyIdOf(key), key, pem: key.export({ format: 'pem', type: 'spki' }) as string };
}

function parseKey(path: string, parse: (pem: string) => KeyObject, kind: string): KeyObject {
  const pem = readKeyFile(path);
  try {
    return parse(pem);
  } catch {
    throw new AirlockError('KEY_INVALID', `${path} is not a PEM ${kind} key`, { where: path, hint: 'sign with the NAME.key file that `airlock key generate` wrote' });
  }
}

function readKeyFile(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    throw new AirlockError('NOT_FOUND', `key file ${path} cannot be read`, { where: path, hint: 'check the path; make keys with `airlock key generate --output NAME`' });
  }
}

function notEd25519(where: string): AirlockError {
  return new AirlockError('KEY_INVALID', `${where} is not an Ed25519 key`, { where, hint: 'airlock signs with Ed25519 only; make keys with `airlock key generate --output NAME`' });
}
