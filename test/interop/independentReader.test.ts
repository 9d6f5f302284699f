import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressBuffer } from '../../src/core/zstd.js';
import { decodeHeader, encodeHeader } from '../../src/core/bundle/format.js';
import { encodePackIndex } from '../../src/core/bundle/pack.js';
import { decompress, packIndex } from '../helpers/bundleContents.js';
import { hashBytes } from '../../src/core/objectId.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { craftBundle, readEntries, type CraftEntry } from '../helpers/craftBundle.js';
import { onlineScenario, readTree, type Scenario } from '../helpers/fixtures.js';

/**
 * docs/bundle-format.md is complete enough to write a reader from: test/interop/independent_reader.py
 * was written from the document alone (Python's standard library, python3-msgpack, the zstd and
 * b3sum tools; no airlock code). Here it reads bundles from the real CLI and must agree with
 * airlock on every one: what they hold, that undamaged ones pass (and are exactly what the
 * document says a writer produces, --strict), and that damaged or hostile ones are refused.
 */
const READER = join(dirname(fileURLToPath(import.meta.url)), 'independent_reader.py');
/** Debian's interpreter, where python3-msgpack is installed (not a pyenv python3 on PATH). */
const PYTHON = '/usr/bin/python3';

interface ReaderAccepted {
  ok: true;
  kind: 'full' | 'delta';
  from: string | null;
  to: string;
  objects: number;
  files: number;
  bytes: number;
  objectBytes: number;
  rawObjects: number;
  compressedObjects: number;
  packs: number;
  packedObjects: number;
  entries: number;
  strict: boolean;
}

interface ReaderRefused {
  ok: false;
  entry: string;
  error: string;
}

interface ReaderRun {
  status: number | null;
  result: ReaderAccepted | ReaderRefused | undefined;
  stderr: string;
}

function runReader(args: string[]): ReaderRun {
  const run = spawnSync(PYTHON, [READER, ...args], { encoding: 'utf8', timeout: 110_000 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let result: ReaderAccepted | ReaderRefused | undefined;
  try {
    result = line ? (JSON.parse(line) as ReaderAccepted | ReaderRefused) : undefined;
  } catch {
    result = undefined;
  }
  return { status: run.status, result, stderr: run.stderr };
}

function readerAccepts(args: string[]): ReaderAccepted {
  const run = runReader(args);
  if (run.status !== 0 || !run.result?.ok) throw new Error(`independent reader refused ${args.join(' ')} (exit ${run.status}):\n${run.stderr}`);
  return run.result;
}

function readerRefuses(file: string): ReaderRefused {
  const run = runReader([file]);
  if (run.status !== 1 || run.result === undefined || run.result.ok) {
    throw new Error(`independent reader should have refused ${file} with exit 1, got exit ${run.status}:\n${run.stderr}`);
  }
  expect(run.stderr).toContain(run.result.entry);
  return run.result;
}

interface InspectJson {
  header: { kind: string; from: string | null; to: string; target: { files: number }; objects: { count: number } };
}

/** The reader's summary must be what `airlock bundle inspect --json` says, field by field. */
function expectAgreesWithInspect(file: string, summary: ReaderAccepted): void {
  const { header } = airlockJson<InspectJson>(['bundle', 'inspect', file]);
  expect({ kind: summary.kind, from: summary.from, to: summary.to, objects: summary.objects, files: summary.files }).toEqual({
    kind: header.kind,
    from: header.from,
    to: header.to,
    objects: header.objects.count,
    files: header.target.files,
  });
}

interface TarEntry {
  name: string;
  size: number;
  dataOffset: number;
}

/** Entry names, sizes and data offsets of a bundle (test-side only, to aim the damage). */
function listEntries(bytes: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  while (at + 512 <= bytes.length) {
    const block = bytes.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    const nameField = block.subarray(0, 100);
    const end = nameField.indexOf(0);
    const name = nameField.toString('latin1', 0, end < 0 ? 100 : end);
    const size = parseInt(block.toString('latin1', 124, 136).replace(/[\0 ]+$/, ''), 8);
    entries.push({ name, size, dataOffset: at + 512 });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** Path -> BLAKE3 of every file under `dir` (comparing 17 MiB Buffers with toEqual is far too slow). */
function treeDigest(dir: string): Map<string, string> {
  return new Map([...readTree(dir)].map(([path, bytes]) => [path, hashBytes(bytes)]));
}

/** A PACKAGES-like index: repetitive text that zstd shrinks well. */
function packagesText(bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const stanza = `Package: pkg${i}\nVersion: 1.${i % 17}.${i % 5}\nDepends: R (>= 4.1.0)\nImports: stats, utils, methods\nLicense: GPL-2 | GPL-3\nMD5sum: ${hashBytes(Buffer.from(String(i))).slice(0, 32)}\nNeedsCompilation: ${i % 3 === 0 ? 'yes' : 'no'}\n\n`;
    lines.push(stanza);
    length += stanza.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('an independent reader written from docs/bundle-format.md', () => {
  let s: Scenario;
  let work: string;
  let full: string;
  let delta: string;
  let big: string;
  let bigFull: string;
  let v2Files: Map<string, string>;
  const bigId = { packages: '', huge: '' };

  beforeAll(async () => {
    // The reader's tools must be there (CI installs them in .ci/run): fail loudly, never skip.
    const probe = spawnSync(PYTHON, ['-c', 'import msgpack, shutil, sys; sys.exit(0 if shutil.which("zstd") and shutil.which("b3sum") else 3)'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      throw new Error(`${PYTHON} with python3-msgpack, zstd and b3sum are needed (apt-get install python3-msgpack zstd b3sum): ${probe.error?.message ?? probe.stderr}`);
    }
    s = await onlineScenario(2, { packages: 10, payloadMedian: 2000 });
    work = join(s.root, 'interop');
    fs.mkdirSync(work);
    full = join(s.media, 'full-v2.airlock');
    delta = join(s.media, 'delta-v1-v2.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    v2Files = treeDigest(s.mirror);

    // v3: a 1 MiB PACKAGES-like file (compressed in memory), a 17 MiB one (compressed through
    // the writer's streaming path, above its 16 MiB in-memory limit) and an executable script.
    const extra = join(s.mirror, 'v3', 'src', 'contrib', 'extra');
    fs.mkdirSync(extra, { recursive: true });
    const packages = packagesText(1024 * 1024);
    const huge = packagesText(17 * 1024 * 1024 + 123);
    fs.writeFileSync(join(extra, 'PACKAGES.big'), packages);
    fs.writeFileSync(join(extra, 'PACKAGES.huge'), huge);
    fs.writeFileSync(join(extra, 'configure'), '#!/bin/sh\necho configured\n', { mode: 0o755 });
    fs.chmodSync(join(extra, 'configure'), 0o755);
    bigId.packages = hashBytes(packages);
    bigId.huge = hashBytes(huge);
    airlockOk(['snapshot', 'create', '--repo', s.repo, '--from', s.mirror, '--label', 'v3']);
    big = join(s.media, 'delta-v2-v3.airlock');
    bigFull = join(s.media, 'full-v3.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v3', '--starting-snapshot', 'v2', '--output', big]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v3', '--output', bigFull]);
  });

  it('reads a full bundle and agrees with `airlock bundle inspect`', () => {
    const summary = readerAccepts([full]);
    expect(summary.kind).toBe('full');
    expect(summary.from).toBeNull();
    expect(summary.objects).toBeGreaterThan(10);
    expect(summary.objects).toBe(summary.rawObjects + summary.compressedObjects + summary.packedObjects);
    expect(summary.packs).toBeGreaterThan(0);
    expect(summary.packedObjects).toBeGreaterThan(0);
    expectAgreesWithInspect(full, summary);
  });

  it('reads a delta bundle and agrees with `airlock bundle inspect`', () => {
    const summary = readerAccepts([delta]);
    expect(summary.kind).toBe('delta');
    expect(summary.from).toBe(s.ids.v1);
    expect(summary.to).toBe(s.ids.v2);
    expect(summary.objects).toBeGreaterThan(0);
    expectAgreesWithInspect(delta, summary);
  });

  it('finds every bundle exactly as the document says airlock writes it (--strict)', () => {
    for (const file of [full, delta, big, bigFull]) expect(readerAccepts(['--strict', file]).strict).toBe(true);
  });

  it('reads raw and zstd objects, a 1 MiB and a 17 MiB one compressed, and agrees with inspect', () => {
    const entries = listEntries(fs.readFileSync(big)).map((e) => e.name);
    expect(entries).toContain(`objects/${bigId.packages}.zst`);
    expect(entries).toContain(`objects/${bigId.huge}.zst`);
    for (const file of [big, bigFull]) {
      const summary = readerAccepts([file]);
      expect(summary.compressedObjects).toBeGreaterThanOrEqual(2);
      expectAgreesWithInspect(file, summary);
    }
    const fullSummary = readerAccepts([bigFull]);
    expect(fullSummary.rawObjects).toBeGreaterThan(0);
    expect(fullSummary.objectBytes).toBeGreaterThan(18 * 1024 * 1024);
  });

  it('materialises the full tree, then the deltas on top of it, byte for byte and with modes', () => {
    const v2Dir = join(work, 'extract-v2');
    readerAccepts(['--strict', '--extract', v2Dir, full]);
    expect(treeDigest(v2Dir)).toEqual(v2Files);
    const fromDelta = join(work, 'extract-v2-from-delta');
    const v1Dir = join(work, 'extract-v1');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(s.media, 'full-v1.airlock')]);
    readerAccepts(['--extract', v1Dir, join(s.media, 'full-v1.airlock')]);
    // --strict with --base also checks that the delta carries exactly what the base lacks.
    readerAccepts(['--strict', '--extract', fromDelta, '--base', v1Dir, delta]);
    expect(treeDigest(fromDelta)).toEqual(v2Files);
    const v3Dir = join(work, 'extract-v3');
    readerAccepts(['--strict', '--extract', v3Dir, '--base', v2Dir, big]);
    expect(treeDigest(v3Dir)).toEqual(treeDigest(s.mirror));
    expect(fs.statSync(join(v3Dir, 'v3', 'src', 'contrib', 'extra', 'configure')).mode & 0o777).toBe(0o755);
    expect(fs.statSync(join(v3Dir, 'v3', 'src', 'contrib', 'extra', 'PACKAGES.big')).mode & 0o777).toBe(0o644);
  });

  it('refuses a flipped byte in an object, naming the entry, as airlock does', () => {
    const bytes = fs.readFileSync(full);
    const target = listEntries(bytes).find((e) => e.name.startsWith('objects/') && !e.name.endsWith('.zst') && e.size > 100);
    expect(target).toBeDefined();
    const damaged = Buffer.from(bytes);
    damaged[target!.dataOffset + 50] ^= 0x01;
    const file = join(work, 'flipped-object.airlock');
    fs.writeFileSync(file, damaged);
    const refused = readerRefuses(file);
    expect(refused.entry).toBe(target!.name);
    expect(refused.error).toMatch(/damaged|hashes/);
    expect(airlock(['bundle', 'verify', file]).status).toBe(3);
  });

  it('refuses a flipped byte inside a compressed object', () => {
    const bytes = fs.readFileSync(big);
    const target = listEntries(bytes).find((e) => e.name === `objects/${bigId.huge}.zst`)!;
    const damaged = Buffer.from(bytes);
    damaged[target.dataOffset + Math.floor(target.size / 2)] ^= 0x40;
    const file = join(work, 'flipped-zst.airlock');
    fs.writeFileSync(file, damaged);
    expect(readerRefuses(file).entry).toBe(target.name);
    expect(airlock(['bundle', 'verify', file]).status).toBe(3);
  });

  it('refuses damage to padding, trailer and length, where airlock does', () => {
    const bytes = fs.readFileSync(delta);
    const header = listEntries(bytes)[0]!;
    const cases: Array<[string, Buffer]> = [
      ['padding', Buffer.from(bytes).fill(1, header.dataOffset + header.size, header.dataOffset + header.size + 1)],
      ['trailer', Buffer.concat([bytes, Buffer.alloc(100), Buffer.from('x')])],
      ['truncated', bytes.subarray(0, bytes.length - 512)],
      ['no end marker', bytes.subarray(0, bytes.length - 1024)],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [name, data] of cases) {
      const file = join(work, `${name.replace(/ /g, '-')}.airlock`);
      fs.writeFileSync(file, data);
      readerRefuses(file);
      expect(airlock(['bundle', 'verify', file]).status, name).toBe(3);
    }
    const padded = join(work, 'zero-padded.airlock');
    fs.writeFileSync(padded, Buffer.concat([bytes, Buffer.alloc(10240)]));
    readerAccepts([padded]);
    expect(airlock(['bundle', 'verify', padded]).status).toBe(0);
  });

  it('agrees with airlock on hand-built bundles whose seal is valid', async () => {
    const entries = await readEntries(delta);
    const header = decodeHeader(entries[0]!.data);
    const objects = entries.filter((e) => e.name.startsWith('objects/'));
    const rawObject = objects.find((e) => !e.name.endsWith('.zst'))!;
    const id = rawObject.name.slice('objects/'.length);
    const without = (name: string) => entries.filter((e) => e.name !== name);
    const withHeader = (objectsCount: number): CraftEntry[] => [
      { name: entries[0]!.name, data: encodeHeader({ ...header, objects: { ...header.objects, count: objectsCount } }) },
      ...entries.slice(1),
    ];
    expect(header.format).toBe(2);
    const formatThree = Buffer.from(entries[0]!.data);
    const formatKey = formatThree.indexOf(Buffer.concat([Buffer.from([0xa6]), Buffer.from('format')]));
    formatThree[formatKey + 7] = 3;
    // Packs of the full v3 bundle (the delta's holds one object), taken apart and built again by hand
    // (re-sealed by craftBundle): each case must reach the pack rules.
    const fullEntries = await readEntries(bigFull);
    const formatOne = encodeHeader({ ...decodeHeader(fullEntries[0]!.data), format: 1 });
    const packEntry = fullEntries.find((e) => e.name === 'packs/00000001.zst')!;
    const packContent = decompress(packEntry.data);
    const packed = packIndex(packContent);
    expect(packed.length).toBeGreaterThan(1);
    const indexLength = packContent.readUInt32BE(0);
    const bodies: Buffer[] = [];
    let at = 4 + indexLength;
    for (const o of packed) {
      bodies.push(packContent.subarray(at, at + o.size));
      at += o.size;
    }
    const packOf = (objects: Array<{ id: string; size: number }>, data: Buffer[], extra = Buffer.alloc(0)) => compressBuffer(Buffer.concat([encodePackIndex(objects), ...data, extra]));
    const withPack = (data: Buffer, name = packEntry.name): CraftEntry[] => fullEntries.map((e) => (e === packEntry ? { name, data } : e));
    const swapped = [...bodies];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const bigEndianLength = Buffer.from(packContent);
    bigEndianLength.writeUInt32BE(indexLength + 1, 0);
    const sizeLie = packed.map((o, i) => (i === 0 ? { ...o, size: o.size + 1 } : o));
    // The first row's size as a uint32 when it is under 65536 is not its smallest form: the index rebuilt by hand.
    expect(packed[0]!.size).toBeLessThan(65536);
    const rows = packed.map((o) => Buffer.concat([Buffer.from([0x92, 0xc4, 0x20]), Buffer.from(o.id, 'hex'), o === packed[0] ? Buffer.from([0xce, 0, 0, o.size >> 8, o.size & 0xff]) : uintBytes(o.size)]));
    const arrayHead = packed.length < 16 ? Buffer.from([0x90 | packed.length]) : Buffer.from([0xdc, packed.length >> 8, packed.length & 0xff]);
    const loose = Buffer.concat([arrayHead, ...rows]);
    const looseLength = Buffer.alloc(4);
    looseLength.writeUInt32BE(loose.length);
    expect(Buffer.concat([arrayHead, ...packed.map((o) => Buffer.concat([Buffer.from([0x92, 0xc4, 0x20]), Buffer.from(o.id, 'hex'), uintBytes(o.size)]))])).toEqual(encodePackIndex(packed).subarray(4));
    const half = Math.floor(rawObject.data.length / 2);
    const twoFrames = Buffer.concat([compressBuffer(rawObject.data.subarray(0, half)), compressBuffer(rawObject.data.subarray(half))]);

    const cases: Array<{ what: string; entries: CraftEntry[]; accepted: boolean }> = [
      { what: 'the same entries, sealed again (control)', entries, accepted: true },
      { what: 'an object as two zstd frames', entries: [...without(rawObject.name), { name: `objects/${id}.zst`, data: twoFrames }], accepted: true },
      { what: 'an object that is not in the tree', entries: [...entries, { name: `objects/${hashBytes(Buffer.from('stowaway'))}`, data: Buffer.from('stowaway') }], accepted: false },
      { what: 'an object carried twice', entries: [...entries, rawObject], accepted: false },
      { what: 'an object raw and compressed', entries: [...entries, { name: `objects/${id}.zst`, data: compressBuffer(rawObject.data) }], accepted: false },
      { what: 'a .zst object that is gzip', entries: [...without(rawObject.name), { name: `objects/${id}.zst`, data: gzipSync(rawObject.data) }], accepted: false },
      { what: 'a header announcing one object more', entries: withHeader(header.objects.count + 1), accepted: false },
      { what: 'a header announcing one object less', entries: withHeader(header.objects.count - 1), accepted: false },
      { what: 'a header of format 3', entries: [{ name: entries[0]!.name, data: formatThree }, ...entries.slice(1)], accepted: false },
      { what: 'a pack in a bundle whose header says format 1', entries: [{ name: fullEntries[0]!.name, data: formatOne }, ...fullEntries.slice(1)], accepted: false },
      { what: 'a pack rebuilt the same way (control)', entries: withPack(packOf(packed, bodies)), accepted: true },
      { what: 'a pack as two zstd frames', entries: withPack(Buffer.concat([compressBuffer(packContent.subarray(0, 100)), compressBuffer(packContent.subarray(100))])), accepted: true },
      { what: 'a pack numbered 2 where 1 belongs', entries: withPack(packEntry.data, 'packs/00000002.zst'), accepted: false },
      { what: 'a pack numbered 0', entries: withPack(packEntry.data, 'packs/00000000.zst'), accepted: false },
      { what: 'a pack whose objects are swapped', entries: withPack(packOf(packed, swapped)), accepted: false },
      { what: 'a pack with a byte after its last object', entries: withPack(packOf(packed, bodies, Buffer.from([0]))), accepted: false },
      { what: 'a pack cut short by a byte', entries: withPack(compressBuffer(packContent.subarray(0, packContent.length - 1))), accepted: false },
      { what: 'a pack whose index gives an object a size the tree does not', entries: withPack(packOf(sizeLie, [Buffer.concat([bodies[0]!, Buffer.from([0])]), ...bodies.slice(1)])), accepted: false },
      { what: 'a pack listing an object of another bundle', entries: withPack(packOf([...packed, { id: hashBytes(Buffer.from('stowaway')), size: 8 }], [...bodies, Buffer.from('stowaway')])), accepted: false },
      { what: 'a pack listing one object twice', entries: withPack(packOf([...packed, packed[0]!], [...bodies, bodies[0]!])), accepted: false },
      { what: 'a pack object also carried alone', entries: [...fullEntries, { name: `objects/${packed[0]!.id}`, data: bodies[0]! }], accepted: false },
      { what: 'a pack whose index length runs one byte long', entries: withPack(compressBuffer(bigEndianLength)), accepted: false },
      { what: 'a pack whose index is not canonical msgpack', entries: withPack(compressBuffer(Buffer.concat([looseLength, loose, ...bodies]))), accepted: false },
      { what: 'a pack that is not zstd', entries: withPack(gzipSync(packContent)), accepted: false },
      { what: 'a pack with no objects at all', entries: withPack(compressBuffer(Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from([0x90])]))), accepted: false },
      { what: 'the tree before the header', entries: [entries[1]!, entries[0]!, ...entries.slice(2)], accepted: false },
      { what: 'no change list', entries: without('airlock-bundle/changes.zst'), accepted: false },
      { what: 'a stray entry name', entries: [...entries, { name: 'objects/../../etc/passwd', data: Buffer.from('x') }], accepted: false },
      { what: 'a symlink', entries: [...entries, { name: `objects/${id}`, data: Buffer.alloc(0), type: 'symlink', linkname: '/etc/passwd' }], accepted: false },
    ];
    for (const c of cases) {
      const file = join(work, `crafted-${c.what.replace(/[^a-z0-9]+/gi, '-')}.airlock`);
      await craftBundle(file, c.entries);
      const python = runReader([file]);
      const ours = airlock(['bundle', 'verify', file]);
      expect({ what: c.what, python: python.status, airlock: ours.status }).toEqual({ what: c.what, python: c.accepted ? 0 : 1, airlock: c.accepted ? 0 : 3 });
    }
  });
});

/** An unsigned integer in its smallest msgpack form. */
function uintBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0xcc, n]);
  if (n < 0x10000) return Buffer.from([0xcd, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xce;
  b.writeUInt32BE(n, 1);
  return b;
}
