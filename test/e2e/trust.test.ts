import { blake3, Blake3Hasher } from '@napi-rs/blake-hash';
import { createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressBuffer, ZstdDecoder } from '../../src/core/zstd.js';
import {
  BUNDLE_FORMAT,
  decodeHeader,
  decodeSeal,
  encodeHeader,
  encodeSeal,
  ENTRY_CHANGES,
  ENTRY_HEADER,
  ENTRY_SEAL,
  ENTRY_TREE,
  entryRecord,
  parseObjectEntryName,
  SEAL_MAGIC,
  type BundleSeal,
} from '../../src/core/bundle/format.js';
import { signSeal, type BundleSignature } from '../../src/core/bundle/signature.js';
import { encodeMsgpack, type Canonical } from '../../src/core/canonical.js';
import { decodeTree, distinctObjects, encodeTree, treeId } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import { loadPrivateKey } from '../../src/trust/keys.js';
import { airlock, airlockJson, airlockOk, type RunResult } from '../helpers/cli.js';
import { onlineScenario, tempDir, type Scenario } from '../helpers/fixtures.js';
import { liveView } from '../helpers/live.js';
import { assemble, splitBundle, type OutEntry } from '../helpers/mutateBundle.js';

/**
 * Signed bundles, trust and anti-rollback, end to end through the real binary: the attacks
 * of The Update Framework's threat model (arbitrary content, forged and foreign signatures,
 * mix-and-match, replay and rollback) made by hand on real signed bundles, each re-tarred
 * with valid tar checksums so the refusal comes from the seal or the signature, not from
 * the tar layer. Every refusal is checked for its exit status, its error code (in --json
 * and on stderr) and for leaving the data dir exactly as it was.
 */

interface KeyJson {
  keyId: string;
  privateKey: string;
  publicKey: string;
}

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; where: string | null; hint: string | null };
}

interface VerifyJson {
  verified: boolean;
  signers: string[];
  signedBy: string[];
}

interface ApplyJson {
  applied: { to: string; signedBy: string[]; unknownSigners: string[] };
}

interface StatusJson {
  status: { kind: string; current: { id: string } | null; highestSequence: number; deployments: unknown[]; snapshots: unknown[]; history: unknown[] };
}

/** The key id as docs/bundle-format.md defines it, computed without airlock's code: BLAKE3 of the raw 32-byte key. */
function independentKeyId(pubPath: string): string {
  const der = createPublicKey(fs.readFileSync(pubPath, 'utf8')).export({ format: 'der', type: 'spki' });
  expect(der.length).toBe(44); // Ed25519 SPKI: a 12-byte prefix, then the raw key
  return blake3(der.subarray(12)).toString('hex');
}

/** What the server sees and what airlock records: the symlink, every file, and `status --json` minus run notes. */
function offlineView(dataDir: string): string {
  const status = airlock(['status', '--data-dir', dataDir, '--json']);
  let recorded: string;
  if (status.status === 0) {
    const s = (JSON.parse(status.stdout) as StatusJson).status;
    recorded = JSON.stringify({ kind: s.kind, current: s.current, highestSequence: s.highestSequence, deployments: s.deployments, snapshots: s.snapshots, history: s.history });
  } else {
    recorded = `status exits ${status.status}`;
  }
  return `${liveView(dataDir)}\n${recorded}`;
}

function errorOf(result: RunResult): ErrorJson['error'] {
  const parsed = JSON.parse(result.stdout) as ErrorJson;
  expect(parsed.ok).toBe(false);
  return parsed.error;
}

/** Runs a command that must fail with `exit` and `code`, in --json and on stderr; returns the error. */
function expectFailure(args: string[], exit: number, code: string, ...mentions: RegExp[]): ErrorJson['error'] & { stderr: string } {
  const result = airlock([...args, '--json']);
  expect(result.status, result.stderr).toBe(exit);
  const error = errorOf(result);
  expect(error.code, result.stderr).toBe(code);
  expect(result.stderr).toContain(`[${code}]`);
  expect(result.stderr).toMatch(/next: {2}\S/);
  for (const m of mentions) expect(`${error.message}\n${error.hint ?? ''}`).toMatch(m);
  return { ...error, stderr: result.stderr };
}

/** A refused apply (or trust change): as expectFailure, and the data dir is exactly as it was. */
function expectRefusedApply(args: string[], dataDir: string, exit: number, code: string, ...mentions: RegExp[]): ErrorJson['error'] & { stderr: string } {
  const before = offlineView(dataDir);
  const error = expectFailure(args, exit, code, ...mentions);
  expect(offlineView(dataDir)).toBe(before);
  return error;
}

function currentOf(dataDir: string): string | null {
  return airlockJson<StatusJson>(['status', '--data-dir', dataDir]).status.current?.id ?? null;
}

/** A real bundle taken apart: its entries in order (fresh tar headers on reassembly) and its seal. */
interface Parts {
  entries: OutEntry[];
  sealBytes: Buffer;
  seal: BundleSeal;
}

function partsOf(path: string): Parts {
  const split = splitBundle(fs.readFileSync(path));
  const last = split.entries.at(-1)!;
  expect(last.name).toBe(ENTRY_SEAL);
  return {
    entries: split.entries.slice(0, -1).map((e) => ({ name: e.name, data: Buffer.from(e.data) })),
    sealBytes: Buffer.from(last.data),
    seal: decodeSeal(last.data),
  };
}

/** What a seal binds: the entry count and the chain over these entries, as any writer can compute it. */
function chainOf(entries: readonly OutEntry[]): { entries: number; chain: string } {
  const chain = new Blake3Hasher();
  for (const e of entries) chain.update(entryRecord(e.name, e.data.length, hashBytes(e.data)));
  return { entries: entries.length, chain: chain.digest('hex') };
}

/** A seal that correctly binds `entries`, carrying whatever signatures the caller makes for it. */
function resealed(entries: readonly OutEntry[], sign: (entries: number, chain: string) => BundleSignature[]): Buffer {
  const c = chainOf(entries);
  return encodeSeal({ magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: c.entries, chain: c.chain, signatures: sign(c.entries, c.chain) });
}

function sealWithSignatures(seal: BundleSeal, signatures: BundleSignature[]): Buffer {
  return encodeSeal({ ...seal, signatures });
}

function unzstd(bytes: Buffer): Buffer {
  const decoder = new ZstdDecoder();
  const out = Buffer.concat([...decoder.decode(bytes)]);
  expect(decoder.complete).toBe(true);
  return out;
}

function replaceEntry(entries: readonly OutEntry[], name: string, data: Buffer): OutEntry[] {
  expect(entries.some((e) => e.name === name)).toBe(true);
  return entries.map((e) => (e.name === name ? { name, data } : e));
}

describe('signed bundles, trust and anti-rollback', () => {
  let s: Scenario;
  let work: string;
  /** The admin's key (trusted offline) and an attacker's. */
  let admin: KeyJson;
  let attacker: KeyJson;
  const b: Record<string, string> = {};

  beforeAll(async () => {
    s = await onlineScenario(3);
    work = tempDir('airlock-trust-');
    admin = airlockJson<KeyJson>(['key', 'generate', '--output', join(work, 'admin')]);
    attacker = airlockJson<KeyJson>(['key', 'generate', '--output', join(work, 'attacker')]);
    const make = (name: string, snapshot: string, from: string | null, key: KeyJson | null) => {
      b[name] = join(s.media, `${name}.airlock`);
      airlockOk([
        'bundle', 'create', '--repo', s.repo, '--snapshot', snapshot, '--output', b[name]!,
        ...(from ? ['--starting-snapshot', from] : []),
        ...(key ? ['--sign', key.privateKey] : []),
      ]);
    };
    make('full1', 'v1', null, admin);
    make('full1-unsigned', 'v1', null, null);
    make('full1-attacker', 'v1', null, attacker);
    make('full2', 'v2', null, admin);
    make('delta12', 'v2', 'v1', admin);
    make('delta12-unsigned', 'v2', 'v1', null);
    make('delta12-attacker', 'v2', 'v1', attacker);
    make('delta23', 'v3', 'v2', admin);
  });

  /** A fresh offline data dir that trusts the admin's key, optionally with bundles applied. */
  function trustingDataDir(name: string, ...apply: string[]): string {
    const dataDir = join(tempDir(`airlock-${name}-`), 'rspm-offline-data');
    airlockOk(['trust', 'add', admin.publicKey, '--data-dir', dataDir]);
    for (const bundle of apply) airlockOk(['apply', bundle, '--data-dir', dataDir]);
    return dataDir;
  }

  function write(name: string, entries: readonly OutEntry[], seal: Buffer): string {
    const path = join(work, `${name}.airlock`);
    fs.writeFileSync(path, assemble(entries, seal));
    return path;
  }

  describe('key generate', () => {
    it('writes NAME.key (0600, PKCS#8) and NAME.pub (0644, SPKI) and prints the id of the raw public key', () => {
      expect(admin.privateKey).toBe(join(work, 'admin.key'));
      expect(admin.publicKey).toBe(join(work, 'admin.pub'));
      expect(fs.statSync(admin.privateKey).mode & 0o777).toBe(0o600);
      expect(fs.statSync(admin.publicKey).mode & 0o777).toBe(0o644);
      expect(fs.readFileSync(admin.privateKey, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(fs.readFileSync(admin.publicKey, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      expect(admin.keyId).toMatch(/^[0-9a-f]{64}$/);
      expect(admin.keyId).toBe(independentKeyId(admin.publicKey));
      expect(attacker.keyId).not.toBe(admin.keyId);

      const human = airlockOk(['key', 'generate', '--output', join(work, 'human')]);
      expect(human.stdout).toContain(`key id ${independentKeyId(join(work, 'human.pub'))}`);
    });

    it('the printed key id is the one in the seal of a bundle signed with it, and the one bundle verify reports', () => {
      const { seal } = partsOf(b.full1!);
      expect(seal.signatures).toHaveLength(1);
      expect(seal.signatures[0]!.keyid).toBe(admin.keyId);
      expect(seal.signatures[0]!.algorithm).toBe('ed25519');
      expect(seal.signatures[0]!.signature).toHaveLength(64);
      expect(partsOf(b['full1-unsigned']!).seal.signatures).toEqual([]);
      const verified = airlockJson<VerifyJson>(['bundle', 'verify', b.full1!]);
      expect(verified.signers).toEqual([admin.keyId]);
      expect(verified.signedBy).toEqual([]);
    });

    it('never overwrites a key, not even half of a pair', () => {
      const keyBefore = fs.readFileSync(admin.privateKey);
      const pubBefore = fs.readFileSync(admin.publicKey);
      const error = expectFailure(['key', 'generate', '--output', join(work, 'admin')], 2, 'USAGE', /already exists/);
      expect(error.where).toBe(admin.privateKey);
      expect(fs.readFileSync(admin.privateKey).equals(keyBefore)).toBe(true);
      expect(fs.readFileSync(admin.publicKey).equals(pubBefore)).toBe(true);
      expect(fs.statSync(admin.privateKey).mode & 0o777).toBe(0o600);

      fs.writeFileSync(join(work, 'half.pub'), 'something else\n');
      expectFailure(['key', 'generate', '--output', join(work, 'half')], 2, 'USAGE', /half\.pub already exists/);
      expect(fs.existsSync(join(work, 'half.key'))).toBe(false);
      expect(fs.readFileSync(join(work, 'half.pub'), 'utf8')).toBe('something else\n');
    });
  });

  describe('signing flags', () => {
    it('get --sign without --bundle is a usage error before anything is downloaded', () => {
      const dest = join(work, 'never-downloaded');
      expectFailure(['get', 'cran', '--destination', dest, '--sign', admin.privateKey, '--base-url', 'http://127.0.0.1:9/'], 2, 'USAGE', /--sign only makes sense with --bundle/);
      expect(fs.existsSync(dest)).toBe(false);
    });

    it('bundle create refuses a missing key file and a public key as the signing key, and writes nothing', () => {
      const out = join(work, 'not-written.airlock');
      expectFailure(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', out, '--sign', join(work, 'nope.key')], 2, 'NOT_FOUND', /cannot be read/);
      expectFailure(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', out, '--sign', admin.publicKey], 2, 'KEY_INVALID', /not a PEM private key/);
      expect(fs.existsSync(out)).toBe(false);
    });
  });

  describe('bundle verify --key', () => {
    it('accepts a bundle signed by one of the given keys', () => {
      const one = airlockJson<VerifyJson>(['bundle', 'verify', b.full1!, '--key', admin.publicKey]);
      expect(one).toMatchObject({ verified: true, signers: [admin.keyId], signedBy: [admin.keyId] });
      const either = airlockJson<VerifyJson>(['bundle', 'verify', b.full1!, '--key', attacker.publicKey, '--key', admin.publicKey]);
      expect(either.signedBy).toEqual([admin.keyId]);
      expect(airlockOk(['bundle', 'verify', b.full1!, '--key', admin.publicKey]).stdout).toContain(`signature valid: key ${admin.keyId.slice(0, 16)}`);
    });

    it('refuses a bundle signed by another key (UNTRUSTED_KEY) and an unsigned one (UNSIGNED)', () => {
      expectFailure(['bundle', 'verify', b.full1!, '--key', attacker.publicKey], 4, 'UNTRUSTED_KEY', new RegExp(admin.keyId.slice(0, 16)));
      expectFailure(['bundle', 'verify', b['full1-attacker']!, '--key', admin.publicKey], 4, 'UNTRUSTED_KEY', new RegExp(attacker.keyId.slice(0, 16)));
      expectFailure(['bundle', 'verify', b['full1-unsigned']!, '--key', admin.publicKey], 4, 'UNSIGNED', /not signed/);
    });

    it('without --key an unsigned bundle still verifies (integrity only), and says so', () => {
      expect(airlockOk(['bundle', 'verify', b['full1-unsigned']!]).stdout).toContain('not signed');
      expect(airlockOk(['bundle', 'verify', b['full1-attacker']!]).stdout).toContain(`signed by ${attacker.keyId.slice(0, 16)} (not checked`);
    });

    it('reads the key files before the bundle: a wrong path is a usage error', () => {
      // A damaged bundle: were it read first, the answer would be exit 3, not the key's error.
      const damaged = join(work, 'full1-damaged.airlock');
      const bytes = fs.readFileSync(b.full1!);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(damaged, bytes);
      expect(airlock(['bundle', 'verify', damaged]).status).toBe(3);
      expectFailure(['bundle', 'verify', damaged, '--key', join(work, 'missing.pub')], 2, 'NOT_FOUND');
      fs.writeFileSync(join(work, 'garbage.pub'), 'not a key\n');
      expectFailure(['bundle', 'verify', damaged, '--key', join(work, 'garbage.pub')], 2, 'KEY_INVALID');
    });
  });

  describe('trust add | list | remove', () => {
    it('adds, lists and removes keys per data dir, by an 8-digit prefix', () => {
      const dataDir = join(tempDir('airlock-trust-store-'), 'rspm-offline-data');
      const added = airlockJson<{ added: boolean; key: { id: string; name: string } }>(['trust', 'add', admin.publicKey, '--data-dir', dataDir]);
      expect(added).toMatchObject({ added: true, key: { id: admin.keyId, name: 'admin.pub' } });
      expect(fs.existsSync(join(`${dataDir}.airlock`, 'trust.json'))).toBe(true);
      // The data dir itself is not created by trusting a key: the first apply does that.
      expect(fs.existsSync(dataDir)).toBe(false);
      expect(airlockJson<{ added: boolean }>(['trust', 'add', admin.publicKey, '--data-dir', dataDir]).added).toBe(false);
      airlockOk(['trust', 'add', attacker.publicKey, '--data-dir', dataDir]);
      const human = airlockOk(['trust', 'list', '--data-dir', dataDir]).stdout;
      expect(human).toContain(admin.keyId);
      expect(human).toContain(attacker.keyId);
      expect(airlockJson<{ keys: { id: string }[] }>(['trust', 'list', '--data-dir', dataDir]).keys.map((k) => k.id)).toEqual([admin.keyId, attacker.keyId]);

      // An unknown prefix, a prefix too short to be safe: usage errors, nothing removed.
      const unknown = [...'0123456789abcdef'].map((c) => c.repeat(8)).find((p) => !admin.keyId.startsWith(p) && !attacker.keyId.startsWith(p))!;
      const before = fs.readFileSync(join(`${dataDir}.airlock`, 'trust.json'));
      expectFailure(['trust', 'remove', unknown, '--data-dir', dataDir], 2, 'NOT_FOUND', /no trusted key matches/, /at least 8 digits/);
      expectFailure(['trust', 'remove', attacker.keyId.slice(0, 7), '--data-dir', dataDir], 2, 'NOT_FOUND');
      expect(fs.readFileSync(join(`${dataDir}.airlock`, 'trust.json')).equals(before)).toBe(true);

      const removed = airlockJson<{ removed: { id: string } }>(['trust', 'remove', attacker.keyId.slice(0, 8).toUpperCase(), '--data-dir', dataDir]);
      expect(removed.removed.id).toBe(attacker.keyId);
      expect(airlockJson<{ keys: { id: string }[] }>(['trust', 'list', '--data-dir', dataDir]).keys.map((k) => k.id)).toEqual([admin.keyId]);
      airlockOk(['trust', 'remove', admin.keyId, '--data-dir', dataDir]);
      expect(airlockJson<{ keys: unknown[] }>(['trust', 'list', '--data-dir', dataDir]).keys).toEqual([]);
      expect(airlockOk(['trust', 'list', '--data-dir', dataDir]).stdout).toContain('no trusted keys');
    });

    it('refuses a file that is not a public key, and a trust file whose ids were edited', () => {
      const dataDir = join(tempDir('airlock-trust-edit-'), 'rspm-offline-data');
      expectFailure(['trust', 'add', join(work, 'missing.pub'), '--data-dir', dataDir], 2, 'NOT_FOUND');
      fs.writeFileSync(join(work, 'text.pub'), 'hello\n');
      expectFailure(['trust', 'add', join(work, 'text.pub'), '--data-dir', dataDir], 2, 'KEY_INVALID');

      airlockOk(['trust', 'add', admin.publicKey, '--data-dir', dataDir]);
      const path = join(`${dataDir}.airlock`, 'trust.json');
      const file = JSON.parse(fs.readFileSync(path, 'utf8')) as { keys: { id: string }[] };
      // An attacker with write access to the file relabels the admin's entry with the attacker's id.
      file.keys[0]!.id = attacker.keyId;
      fs.writeFileSync(path, JSON.stringify(file));
      expectFailure(['trust', 'list', '--data-dir', dataDir], 3, 'MANIFEST_INVALID', /another id/);
      expectFailure(['apply', b['full1-attacker']!, '--data-dir', dataDir], 3, 'MANIFEST_INVALID');
      expect(fs.existsSync(dataDir)).toBe(false);
    });
  });

  describe('apply on a data dir that trusts a key', () => {
    let dataDir: string;

    beforeAll(() => {
      dataDir = trustingDataDir('policy');
    });

    it('refuses an unsigned bundle and one signed by an untrusted key, even as the first bundle', () => {
      expectRefusedApply(['apply', b['full1-unsigned']!, '--data-dir', dataDir], dataDir, 4, 'UNSIGNED', /not signed/, /trusts 1 key/, /--allow-unsigned/);
      expectRefusedApply(['apply', b['full1-attacker']!, '--data-dir', dataDir], dataDir, 4, 'UNTRUSTED_KEY', new RegExp(attacker.keyId.slice(0, 16)), /trust add/);
      expect(fs.existsSync(dataDir)).toBe(false);
    });

    it('refuses an unsigned bundle from its seal, before reading its objects (a damaged object in it is never reached)', () => {
      const intact = fs.readFileSync(b['full1-unsigned']!);
      const bytes = Buffer.from(intact);
      const damaged = join(s.media, 'full1-unsigned-damaged-middle.airlock');
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(damaged, bytes);
      // Without a trusted key the full read finds the damage; with one, the seal refuses it first.
      expect(airlock(['bundle', 'verify', damaged]).status).toBe(3);
      expectRefusedApply(['apply', damaged, '--data-dir', dataDir], dataDir, 4, 'UNSIGNED', /not signed/);
      // A copy cut short has no seal to read early: the full read says it is truncated.
      const cut = join(s.media, 'full1-unsigned-cut.airlock');
      fs.writeFileSync(cut, intact.subarray(0, intact.length - 4096));
      expectRefusedApply(['apply', cut, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_TRUNCATED');
      expect(fs.existsSync(dataDir)).toBe(false);
    });

    it('applies a bundle signed by the trusted key and says so', () => {
      const r = airlockJson<ApplyJson>(['apply', b.full1!, '--data-dir', dataDir]);
      expect(r.applied).toMatchObject({ to: s.ids.v1, signedBy: [admin.keyId], unknownSigners: [] });
      expect(currentOf(dataDir)).toBe(s.ids.v1);
    });

    it('refuses unsigned and foreign-signed deltas, and applies one with --allow-unsigned, loudly', () => {
      expectRefusedApply(['apply', b['delta12-unsigned']!, '--data-dir', dataDir], dataDir, 4, 'UNSIGNED');
      expectRefusedApply(['apply', b['delta12-attacker']!, '--data-dir', dataDir], dataDir, 4, 'UNTRUSTED_KEY');

      const r = airlock(['apply', b['delta12-unsigned']!, '--data-dir', dataDir, '--allow-unsigned', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/THE BUNDLE IS NOT SIGNED; applying it anyway because --allow-unsigned was given/);
      expect((JSON.parse(r.stdout) as ApplyJson).applied).toMatchObject({ to: s.ids.v2, signedBy: [] });
      expect(currentOf(dataDir)).toBe(s.ids.v2);
    });
  });

  describe('tampering with a signed bundle', () => {
    let dataDir: string;
    let delta: Parts;

    beforeAll(() => {
      dataDir = trustingDataDir('tamper', b.full1!);
      delta = partsOf(b.delta12!);
    });

    it('(the rebuild itself is faithful: reassembling the untouched parts gives the same bytes)', () => {
      expect(assemble(delta.entries, delta.sealBytes).equals(fs.readFileSync(b.delta12!))).toBe(true);
    });

    /** The delta's header with its sequence raised: what an attacker would do to outrun anti-rollback. */
    function raisedSequence(): OutEntry[] {
      const header = decodeHeader(delta.entries[0]!.data);
      expect(header.target.sequence).toBe(2);
      return replaceEntry(delta.entries, ENTRY_HEADER, encodeHeader({ ...header, target: { ...header.target, sequence: 9 } }));
    }

    it('a changed header under the original seal breaks the chain (exit 3)', () => {
      const entries = raisedSequence();
      const path = write('header-changed', entries, delta.sealBytes);
      expectRefusedApply(['apply', path, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /seal does not match/);
      expectFailure(['bundle', 'verify', path], 3, 'BUNDLE_CORRUPT', /seal does not match/);
    });

    it('a changed header re-sealed with a correct chain: the old signature no longer verifies, no signature is UNSIGNED, the attacker\'s is UNTRUSTED_KEY', () => {
      const entries = raisedSequence();
      const keepSignature = write('header-resealed-old-signature', entries, resealed(entries, () => delta.seal.signatures));
      expectRefusedApply(['apply', keepSignature, '--data-dir', dataDir], dataDir, 3, 'SIGNATURE_INVALID', /does not verify/);
      expectFailure(['bundle', 'verify', keepSignature, '--key', admin.publicKey], 3, 'SIGNATURE_INVALID');
      // Without --key nothing can vouch for the signature, but the seal is intact: integrity holds, authenticity is not claimed.
      airlockOk(['bundle', 'verify', keepSignature]);

      const unsigned = write('header-resealed-unsigned', entries, resealed(entries, () => []));
      expectRefusedApply(['apply', unsigned, '--data-dir', dataDir], dataDir, 4, 'UNSIGNED');

      const attackerKey = loadPrivateKey(attacker.privateKey).key;
      const foreign = write('header-resealed-attacker', entries, resealed(entries, (n, chain) => [signSeal(n, chain, attackerKey)]));
      expectRefusedApply(['apply', foreign, '--data-dir', dataDir], dataDir, 4, 'UNTRUSTED_KEY', new RegExp(attacker.keyId.slice(0, 16)));
    });

    it('a changed manifest (a file made executable, header updated to match) is refused under the old seal and under a re-sealed chain', () => {
      const tree = decodeTree(unzstd(delta.entries[1]!.data));
      const victim = tree.entries.findIndex((e) => e.mode === 0o644);
      expect(victim).toBeGreaterThanOrEqual(0);
      const evil = { entries: tree.entries.map((e, i) => (i === victim ? { ...e, mode: 0o755 as const } : e)) };
      const encoded = encodeTree(evil);
      const header = decodeHeader(delta.entries[0]!.data);
      let entries = replaceEntry(delta.entries, ENTRY_TREE, compressBuffer(encoded));
      entries = replaceEntry(entries, ENTRY_HEADER, encodeHeader({ ...header, to: treeId(encoded) }));

      const underOldSeal = write('tree-changed', entries, delta.sealBytes);
      expectRefusedApply(['apply', underOldSeal, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /seal does not match/);
      const resealedOldSignature = write('tree-resealed', entries, resealed(entries, () => delta.seal.signatures));
      expectRefusedApply(['apply', resealedOldSignature, '--data-dir', dataDir], dataDir, 3, 'SIGNATURE_INVALID');
      // The tree alone swapped, header untouched: caught before the seal, by the snapshot id.
      const treeOnly = replaceEntry(delta.entries, ENTRY_TREE, compressBuffer(encoded));
      expectRefusedApply(['apply', write('tree-only', treeOnly, delta.sealBytes), '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /does not hash to the target snapshot/);
    });

    it('a forged signature (one bit of the signature flipped, chain intact) is SIGNATURE_INVALID', () => {
      const sig = delta.seal.signatures[0]!;
      const forged = Buffer.from(sig.signature);
      forged[17]! ^= 0x01;
      const path = write('signature-flipped', delta.entries, sealWithSignatures(delta.seal, [{ ...sig, signature: forged }]));
      expectRefusedApply(['apply', path, '--data-dir', dataDir], dataDir, 3, 'SIGNATURE_INVALID', new RegExp(admin.keyId.slice(0, 16)));
      expectFailure(['bundle', 'verify', path, '--key', admin.publicKey], 3, 'SIGNATURE_INVALID');
      // Claiming the trusted key's id for the attacker's signature is the same forgery.
      const attackerSig = signSeal(delta.seal.entries, delta.seal.chain, loadPrivateKey(attacker.privateKey).key);
      const claimed = write('signature-claimed', delta.entries, sealWithSignatures(delta.seal, [{ ...attackerSig, keyid: admin.keyId }]));
      expectRefusedApply(['apply', claimed, '--data-dir', dataDir], dataDir, 3, 'SIGNATURE_INVALID');
    });

    it('malformed signature lists are refused as corrupt; an extra signature by an unknown key does not hurt', () => {
      const sig = delta.seal.signatures[0]!;
      const attackerSig = signSeal(delta.seal.entries, delta.seal.chain, loadPrivateKey(attacker.privateKey).key);
      const cases: [string, Canonical[], RegExp][] = [
        ['duplicate', [sig, sig], /two signatures by key/],
        ['seventeen', Array.from({ length: 17 }, (_, i) => ({ ...sig, keyid: hashBytes(Buffer.from([i])) })), /17 signatures, more than the 16/],
        ['short-signature', [{ ...sig, signature: sig.signature.subarray(0, 63) }], /64 bytes/],
        ['other-algorithm', [{ ...sig, algorithm: 'rsa' }], /ed25519/],
        ['uppercase-keyid', [{ ...sig, keyid: sig.keyid.toUpperCase() }], /keyid/],
        ['extra-field', [{ ...sig, comment: 'x' }], /keyid, algorithm/],
      ];
      for (const [name, signatures, message] of cases) {
        // Encoded by hand: the seal encoder would drop fields a hostile writer can add.
        const seal = encodeMsgpack({ magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: delta.seal.entries, chain: delta.seal.chain, signatures });
        const path = write(`seal-${name}`, delta.entries, seal);
        expectFailure(['bundle', 'verify', path], 3, 'BUNDLE_CORRUPT', message);
      }
      const path = write('seal-two-signers', delta.entries, sealWithSignatures(delta.seal, [attackerSig, sig]));
      const verified = airlockJson<VerifyJson>(['bundle', 'verify', path, '--key', admin.publicKey]);
      expect(verified).toMatchObject({ signers: [attacker.keyId, admin.keyId], signedBy: [admin.keyId] });
    });

    it('after all that, the genuine signed delta applies', () => {
      expect(airlockJson<ApplyJson>(['apply', b.delta12!, '--data-dir', dataDir]).applied).toMatchObject({ to: s.ids.v2, signedBy: [admin.keyId] });
    });
  });

  describe('mix-and-match: entries of two validly signed bundles combined', () => {
    let dataDir: string;
    let delta: Parts;
    let full: Parts;

    beforeAll(() => {
      dataDir = trustingDataDir('mix', b.full1!);
      delta = partsOf(b.delta12!);
      full = partsOf(b.full2!);
      // Both target v2 and both are signed by the trusted key.
      expect(decodeHeader(delta.entries[0]!.data).to).toBe(s.ids.v2);
      expect(decodeHeader(full.entries[0]!.data).to).toBe(s.ids.v2);
    });

    it('the change list of one under the seal of the other', () => {
      const changes = full.entries.find((e) => e.name === ENTRY_CHANGES)!.data;
      expect(changes.equals(delta.entries.find((e) => e.name === ENTRY_CHANGES)!.data)).toBe(false);
      const path = write('mix-changes', replaceEntry(delta.entries, ENTRY_CHANGES, changes), delta.sealBytes);
      expectRefusedApply(['apply', path, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /seal does not match/);
    });

    it('an object of the target the delta does not carry, swapped in for one it does (count and membership still right)', () => {
      const carried = new Set(delta.entries.map((e) => parseObjectEntryName(e.name)?.id).filter((id) => id !== undefined));
      expect(carried.size).toBeGreaterThan(0);
      const foreign = full.entries.find((e) => {
        const parsed = parseObjectEntryName(e.name);
        return parsed !== undefined && !carried.has(parsed.id);
      })!;
      expect(foreign).toBeDefined();
      const at = delta.entries.findIndex((e) => parseObjectEntryName(e.name) !== undefined);
      const entries = delta.entries.map((e, i) => (i === at ? foreign : e));
      const path = write('mix-object', entries, delta.sealBytes);
      // Caught as the objects arrive (more bytes than the header announced) or at the latest by the seal.
      expectRefusedApply(['apply', path, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /seal does not match|exceed the \d+ bytes the header announces/);
      // Re-sealed (and the header's object byte count fixed to match), the chain is right but
      // the signature is not the admin's any more.
      const sizes = distinctObjects(decodeTree(unzstd(delta.entries[1]!.data)));
      const header = decodeHeader(delta.entries[0]!.data);
      const bytes = header.objects.bytes - sizes.get(parseObjectEntryName(delta.entries[at]!.name)!.id)! + sizes.get(parseObjectEntryName(foreign.name)!.id)!;
      const consistent = replaceEntry(entries, ENTRY_HEADER, encodeHeader({ ...header, objects: { count: header.objects.count, bytes } }));
      const resealedPath = write('mix-object-resealed', consistent, resealed(consistent, () => delta.seal.signatures));
      expectRefusedApply(['apply', resealedPath, '--data-dir', dataDir], dataDir, 3, 'SIGNATURE_INVALID');
    });

    it('the entries of one with the (validly signed) seal of the other', () => {
      const path = write('mix-seal', delta.entries, full.sealBytes);
      expectRefusedApply(['apply', path, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /seal does not match/);
    });

    it('the delta itself still applies', () => {
      airlockOk(['apply', b.delta12!, '--data-dir', dataDir]);
      expect(currentOf(dataDir)).toBe(s.ids.v2);
    });
  });

  describe('replay and rollback', () => {
    let dataDir: string;

    beforeAll(() => {
      dataDir = trustingDataDir('replay', b.full1!, b.delta12!);
    });

    it('records the highest sequence applied', () => {
      const status = airlockJson<StatusJson>(['status', '--data-dir', dataDir]).status;
      expect(status.current?.id).toBe(s.ids.v2);
      expect(status.highestSequence).toBe(2);
    });

    it('re-applying the current snapshot is ALREADY_APPLIED', () => {
      expectRefusedApply(['apply', b.delta12!, '--data-dir', dataDir], dataDir, 4, 'ALREADY_APPLIED');
    });

    it('the old, validly signed full bundle is refused as a DOWNGRADE, with or without --force-full', () => {
      expectRefusedApply(['apply', b.full1!, '--data-dir', dataDir], dataDir, 4, 'DOWNGRADE', /sequence 1/, /rollback/);
      expectRefusedApply(['apply', b.full1!, '--data-dir', dataDir, '--force-full'], dataDir, 4, 'DOWNGRADE', /sequence 1/, /sequence 2 was already applied/, /rollback/, /--allow-downgrade/);
    });

    it('--allow-downgrade --force-full applies it, with a warning, and the highest sequence stays', () => {
      const r = airlock(['apply', b.full1!, '--data-dir', dataDir, '--force-full', '--allow-downgrade', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sequence 1, but sequence 2 was already applied here; applying it anyway because --allow-downgrade was given/);
      expect(currentOf(dataDir)).toBe(s.ids.v1);
      expect(airlockJson<StatusJson>(['status', '--data-dir', dataDir]).status.highestSequence).toBe(2);
      // The delta to v2 is itself a replay now: going forward again is a rollback to the kept snapshot.
      expectRefusedApply(['apply', b.delta12!, '--data-dir', dataDir], dataDir, 4, 'DOWNGRADE', /rollback --to/);
    });

    it('rollback stays allowed, both ways, and newer signed bundles still apply', () => {
      airlockOk(['rollback', '--data-dir', dataDir, '--to', 'v2']);
      expect(currentOf(dataDir)).toBe(s.ids.v2);
      airlockOk(['rollback', '--data-dir', dataDir]);
      expect(currentOf(dataDir)).toBe(s.ids.v1);
      airlockOk(['rollback', '--data-dir', dataDir, '--to', s.ids.v2!.slice(0, 12)]);
      const r = airlockJson<ApplyJson>(['apply', b.delta23!, '--data-dir', dataDir]);
      expect(r.applied).toMatchObject({ to: s.ids.v3, signedBy: [admin.keyId] });
      expect(airlockJson<StatusJson>(['status', '--data-dir', dataDir]).status.highestSequence).toBe(3);
      airlockOk(['rollback', '--data-dir', dataDir]);
      expect(currentOf(dataDir)).toBe(s.ids.v2);
    });
  });
});
