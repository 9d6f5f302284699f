import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { readBundle } from '../../src/bundle/readBundle.js';
import { verifyBundle } from '../../src/bundle/verifyBundle.js';
import { encodeDescriptor, PART_ENTRY, VOLUME_ENTRY, VOLUME_FORMAT, VOLUME_MAGIC, type VolumeDescriptor } from '../../src/core/bundle/volume.js';
import { compressBound, compressBuffer, ZstdDecoder } from '../../src/core/zstd.js';
import { decodeMsgpack, encodeMsgpack, type Canonical } from '../../src/core/canonical.js';
import { decodeHeader, ENTRY_CHANGES, ENTRY_HEADER, ENTRY_SEAL, ENTRY_TREE, LIMITS, parseObjectEntryName, type BundleHeader } from '../../src/core/bundle/format.js';
import { decodeTree, type Tree } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import { silentProgress } from '../../src/core/progress.js';
import { AirlockError } from '../../src/errors.js';
import { Random } from '../../fixtures/random.js';
import { airlock, airlockJson, airlockOk, projectRoot } from '../helpers/cli.js';
import { fingerprint, onlineScenario, type Scenario } from '../helpers/fixtures.js';
import { liveView } from '../helpers/live.js';
import {
  assemble,
  base256Size,
  octalSizeField,
  sealFor,
  splitBundle,
  tarHeader,
  tarView,
  zstdRleFrame,
  zstdSkippableFrame,
  type OutEntry,
  type SplitBundle,
} from '../helpers/mutateBundle.js';
import { decompress, packIndex } from '../helpers/bundleContents.js';
import { encodePackIndex, PACK_MAX_BYTES, packEntryName, parsePackEntryName, type PackedObject } from '../../src/core/bundle/pack.js';

/**
 * Fuzzing the bundle reader. Real bundles written by airlock (a full one and a delta, each
 * with raw and zstd objects) are mutated thousands of ways, deterministically from a seed:
 * bit flips and garbage anywhere, truncation, inserted and deleted bytes, entries
 * duplicated, moved, removed, renamed (to valid-looking, unknown, traversal, NUL and very
 * long names) and re-typed with valid tar checksums, absurd declared sizes, metadata over
 * the limits, decompression bombs, and re-sealed hostile bundles whose seal binds the
 * mutation so that it reaches airlock's own checks (header, tree, change list, objects,
 * seal), and volume containers. Every mutant is read the way `airlock bundle verify` reads
 * it and must be refused with one of the integrity codes, saying where, with memory
 * bounded (sampled after each mutant, plus the process's peak RSS); a mutation that leaves
 * the bundle valid (detected, not guessed) must be accepted instead and is not counted.
 * A subset goes through the real `airlock apply` on a data dir holding the base snapshot:
 * exit 3, live tree, state and status unchanged, no file added, changed or removed next to
 * it, tmp/ gone. Metadata bombs run in child processes (see startBombs).
 *
 *   AIRLOCK_FUZZ_CASES=N        in-process mutants (default 2000)
 *   AIRLOCK_FUZZ_CLI_CASES=N    mutants through `airlock apply` (default 30)
 *   AIRLOCK_FUZZ_SEED=S         the seed (default 20261124); a failure prints seed and case
 *   AIRLOCK_FUZZ_ONLY=i,j,...   replay only these cases (same seed)
 *   AIRLOCK_FUZZ_PARALLEL=N     readers at a time in-process (default 4)
 *   AIRLOCK_FUZZ_MESSAGES=1     list the distinct refusals (which checks the mutants reached)
 *   AIRLOCK_FUZZ_KEEP=1         keep the scenario, the bundles and the last mutants (path printed)
 */
const CASES = envInt('AIRLOCK_FUZZ_CASES', 2000);
const CLI_CASES = envInt('AIRLOCK_FUZZ_CLI_CASES', 30);
const SEED = envInt('AIRLOCK_FUZZ_SEED', 20261124);
const ONLY = process.env.AIRLOCK_FUZZ_ONLY ? new Set(process.env.AIRLOCK_FUZZ_ONLY.split(',').map((s) => Number(s.trim()))) : undefined;
/** Readers run at once (each mostly waits on file reads). 1 makes memory peaks attributable to one case. */
const PARALLEL = Math.max(1, envInt('AIRLOCK_FUZZ_PARALLEL', 4));

/** Memory the reader may add over the baseline at any point (process RSS and JS heap). */
const MEMORY_BOUND = 256 * 1024 * 1024;
/** No mutant of these small bundles takes long to refuse; more means a hang. */
const CASE_TIMEOUT_MS = 15_000;

const INTEGRITY_CODES = ['BUNDLE_CORRUPT', 'BUNDLE_TRUNCATED', 'BUNDLE_UNSAFE_ENTRY', 'OBJECT_CORRUPT', 'MANIFEST_INVALID', 'FORMAT_UNSUPPORTED'];

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${raw}`);
  return value;
}

// ---------------------------------------------------------------------------------------
// The bundles mutants are made from.

interface ObjectInfo {
  /** Index among the bundle's entries. */
  index: number;
  id: string;
  compressed: boolean;
  /** Size in the tree (uncompressed). */
  size: number;
}

/** A pack of the base bundle: where it is, what its index lists, its decompressed content. */
interface PackInfo {
  index: number;
  name: string;
  objects: PackedObject[];
  content: Buffer;
}

interface Base {
  label: 'full' | 'delta' | 'packed';
  bytes: Buffer;
  split: SplitBundle;
  view: string[];
  /** Entries before the seal, as {name, data}. */
  entries: OutEntry[];
  sealData: Buffer;
  header: BundleHeader;
  headerRaw: Record<string, unknown>;
  tree: Tree;
  treeBytes: Buffer;
  changesRaw: unknown[];
  /** Objects in entries of their own. */
  objects: ObjectInfo[];
  /** Packs (format 2). */
  packs: PackInfo[];
  /** Ids of the target tree that this bundle does not carry (a delta's base objects). */
  uncarried: string[];
}

function loadBase(label: Base['label'], file: string): Base {
  const bytes = fs.readFileSync(file);
  const split = splitBundle(bytes);
  const names = split.entries.map((e) => e.name);
  expect(names.slice(0, 3)).toEqual([ENTRY_HEADER, ENTRY_TREE, ENTRY_CHANGES]);
  expect(names.at(-1)).toBe(ENTRY_SEAL);
  const entries = split.entries.slice(0, -1).map((e) => ({ name: e.name, data: e.data }));
  const header = decodeHeader(entries[0]!.data);
  const treeBytes = decompress(entries[1]!.data);
  const tree = decodeTree(treeBytes);
  const sizes = new Map(tree.entries.map((e) => [e.id, e.size]));
  const objects: ObjectInfo[] = [];
  const packs: PackInfo[] = [];
  for (let index = 3; index < entries.length; index++) {
    const name = entries[index]!.name;
    const parsed = parseObjectEntryName(name);
    if (parsed) objects.push({ index, id: parsed.id, compressed: parsed.compressed, size: sizes.get(parsed.id)! });
    else {
      expect(parsePackEntryName(name), `${label}: entry ${name} is an object or a pack`).toBeDefined();
      const content = decompress(entries[index]!.data);
      packs.push({ index, name, objects: packIndex(content), content });
    }
  }
  const carried = new Set([...objects.map((o) => o.id), ...packs.flatMap((p) => p.objects.map((o) => o.id))]);
  const view = tarView(bytes);
  expect(view, `${label}: the model of the tar rules must accept the real bundle`).toBeDefined();
  return {
    label,
    bytes,
    split,
    view: view!,
    entries,
    sealData: split.entries.at(-1)!.data,
    header,
    headerRaw: decodeMsgpack(entries[0]!.data) as Record<string, unknown>,
    tree,
    treeBytes,
    changesRaw: decodeMsgpack(decompress(entries[2]!.data)) as unknown[],
    objects,
    packs,
    uncarried: [...new Set(tree.entries.map((e) => e.id))].filter((id) => !carried.has(id)),
  };
}


// ---------------------------------------------------------------------------------------
// Mutations. Each returns the mutant's bytes and a description precise enough to read; the
// case's seed reproduces it exactly.

interface Mutant {
  detail: string;
  bytes: Buffer;
  /** Set when the mutation provably keeps the bundle valid: the reader must accept it, and it is not counted. */
  expectValid?: string;
}

type Mutator = (b: Base, r: Random) => Mutant;

const REGIONS = ['tar-header', 'checksum-field', 'name-field', 'size-field', 'data', 'metadata-data', 'padding', 'seal', 'trailer', 'anywhere'] as const;
type Region = (typeof REGIONS)[number];

function pickOffset(b: Base, r: Random, region: Region): number {
  const entries = b.split.entries;
  const entry = r.pick(entries);
  switch (region) {
    case 'tar-header':
      return entry.headerOffset + r.int(0, 511);
    case 'checksum-field':
      return entry.headerOffset + r.int(148, 155);
    case 'name-field':
      return entry.headerOffset + r.int(0, 99);
    case 'size-field':
      return entry.headerOffset + r.int(124, 135);
    case 'data':
      return entry.data.length > 0 ? entry.dataOffset + r.int(0, entry.data.length - 1) : entry.headerOffset;
    case 'metadata-data': {
      const m = entries[r.int(0, 2)]!;
      return m.dataOffset + r.int(0, m.data.length - 1);
    }
    case 'padding': {
      const padded = entries.filter((e) => e.endOffset > e.dataOffset + e.data.length);
      const e = r.pick(padded);
      return r.int(e.dataOffset + e.data.length, e.endOffset - 1);
    }
    case 'seal': {
      const s = entries.at(-1)!;
      return r.int(s.headerOffset, s.endOffset - 1);
    }
    case 'trailer':
      return r.int(b.split.trailerOffset, b.bytes.length - 1);
    case 'anywhere':
      return r.int(0, b.bytes.length - 1);
  }
}

/** The bundle's entries (seal included) with their original header blocks, for structural edits. */
function rawEntries(b: Base): OutEntry[] {
  return b.split.entries.map((e) => ({ name: e.name, data: e.data, header: e.header }));
}

function moveItem<T>(list: T[], from: number, to: number): T[] {
  const out = [...list];
  const [item] = out.splice(from, 1);
  out.splice(to, 0, item!);
  return out;
}

function otherIndex(r: Random, length: number, not: number): number {
  const i = r.int(0, length - 2);
  return i >= not ? i + 1 : i;
}

const HEX = '0123456789abcdef';
function randomId(r: Random): string {
  let s = '';
  for (let i = 0; i < 64; i++) s += HEX[r.int(0, 15)];
  return s;
}

/** Names a hostile or broken writer might use, given the bundle at hand. */
function nameBestiary(b: Base, r: Random): string[] {
  const object = r.pick(b.objects);
  const id = object.id;
  const other = r.pick(b.objects).id;
  const foreign = b.uncarried.length > 0 ? r.pick(b.uncarried) : randomId(r);
  return [
    // valid-looking
    `objects/${other}`,
    `objects/${other}.zst`,
    `objects/${foreign}`,
    `objects/${foreign}.zst`,
    `objects/${randomId(r)}`,
    `objects/${id.toUpperCase()}`,
    `objects/${id}.zst.zst`,
    `objects/${id}.gz`,
    `objects/${id}.ZST`,
    `objects/${id.slice(1)}`,
    `objects/${id}0`,
    `objects/${id}/`,
    `objects/x/${id}`,
    `objects//${id}`,
    `objects/`,
    'objects',
    ENTRY_HEADER,
    ENTRY_TREE,
    ENTRY_CHANGES,
    ENTRY_SEAL,
    'airlock-bundle/extra',
    `${ENTRY_SEAL} `,
    `./${ENTRY_HEADER}`,
    ENTRY_HEADER.toUpperCase(),
    'airlock-bundle/tree',
    // unknown
    '',
    '.',
    'README',
    'foo/bar.tar.gz',
    // traversal and absolute
    '../../etc/passwd',
    '../airlock-fuzz-escape',
    '/abs/path',
    '/etc/passwd',
    'objects/../x',
    'objects/../../airlock-fuzz-escape',
    `objects/${id}/../${id}`,
    `objects/./${id}`,
    '..',
    `objects\\${id}`,
    'C:\\airlock-fuzz-escape',
    '~/airlock-fuzz-escape',
    // NUL and control characters
    `objects/${id}\0evil`,
    `\0objects/${id}`,
    `objects/\0${id}`,
    `objects/${id}\n`,
    `${ENTRY_HEADER}\r`,
    `objects/${id}\u007f`,
    // long names (prefix + name; some cannot be split and are cut raw)
    'a'.repeat(100),
    `objects/${'a'.repeat(200)}`,
    `objects/${id}${'/x'.repeat(60)}`,
    `${'d/'.repeat(70)}objects/${id}`,
    `${'x'.repeat(150)}/${'y'.repeat(99)}`,
    'z'.repeat(300),
    // non-ASCII, lookalikes
    `objects／${id}`,
    `objects/${id.slice(0, 63)}０`,
    `objects/${id}\u200b`,
    'airlock-bundle/h\u00e9ader',
  ];
}

/** Raw name/prefix field contents the encoder cannot spell (invalid UTF-8, no NUL at all). */
function rawNameFields(b: Base, r: Random): { nameBytes: Buffer; prefixBytes?: Buffer; what: string } {
  const id = r.pick(b.objects).id;
  return r.pick([
    { nameBytes: Buffer.from([0x6f, 0x62, 0xff, 0xfe, 0x2f, 0x2e, 0x2e]), what: 'invalid UTF-8' },
    { nameBytes: Buffer.concat([Buffer.from('objects'), Buffer.from([0xc0, 0xaf]), Buffer.from(id)]), what: 'overlong UTF-8 slash' },
    { nameBytes: Buffer.alloc(100, 0x61), prefixBytes: Buffer.alloc(155, 0x62), what: '100+155 bytes without NUL' },
    { nameBytes: Buffer.from(id), prefixBytes: Buffer.from('objects'), what: 'prefix "objects" + name <id> (the same name, split)' },
    { nameBytes: Buffer.from(id), prefixBytes: Buffer.from('objects/'), what: 'prefix "objects/" + name <id> (a double slash)' },
    { nameBytes: Buffer.from(`${id}.zst`), prefixBytes: Buffer.from('../objects'), what: 'prefix ../objects' },
    { nameBytes: Buffer.from('passwd'), prefixBytes: Buffer.from('/etc'), what: 'prefix /etc' },
    { nameBytes: Buffer.from('seal'), prefixBytes: Buffer.from('airlock-bundle'), what: 'seal name split into prefix' },
  ]);
}

/** The name the reader will see for a header block (joined prefix/name, up to NULs, UTF-8). */
function readerName(block: Buffer): string {
  const field = (start: number, length: number) => {
    const f = block.subarray(start, start + length);
    const end = f.indexOf(0);
    return f.toString('utf8', 0, end < 0 ? length : end);
  };
  const prefix = field(345, 155);
  const name = field(0, 100);
  return prefix ? `${prefix}/${name}` : name;
}

const byteLevel: Record<string, Mutator> = {
  bitflip(b, r) {
    const region = r.pick(REGIONS);
    const bytes = Buffer.from(b.bytes);
    const spots: string[] = [];
    for (let k = r.pick([1, 1, 1, 2, 3, 8]); k > 0; k--) {
      const at = pickOffset(b, r, region);
      const bit = 1 << r.int(0, 7);
      bytes[at] = bytes[at]! ^ bit;
      spots.push(`${at}^0x${bit.toString(16)}`);
    }
    return { detail: `${region} ${spots.join(' ')}`, bytes };
  },
  overwrite(b, r) {
    const region = r.pick(REGIONS);
    const at = pickOffset(b, r, region);
    const length = r.pick([2, 3, 4, 8, 16, 64, 512, 4096]);
    const fill = r.pick(['random', 'ff', '00', 'ascii-0', 'ustar-like'] as const);
    const garbage =
      fill === 'random'
        ? r.bytes(length)
        : fill === 'ff'
          ? Buffer.alloc(length, 0xff)
          : fill === '00'
            ? Buffer.alloc(length)
            : fill === 'ascii-0'
              ? Buffer.alloc(length, 0x30)
              : Buffer.from('ustar\u000000'.repeat(Math.ceil(length / 8)).slice(0, length), 'latin1');
    const bytes = Buffer.from(b.bytes);
    garbage.copy(bytes, at, 0, Math.min(garbage.length, bytes.length - at));
    return { detail: `${region} @${at} ${length}x${fill}`, bytes };
  },
  truncate(b, r) {
    const e = r.pick(b.split.entries);
    const where = r.pick(['mid-header', 'at-header', 'mid-data', 'after-data', 'mid-padding', 'before-trailer', 'mid-trailer', 'one-short', 'empty', 'random'] as const);
    const length = (() => {
      switch (where) {
        case 'mid-header':
          return e.headerOffset + r.int(1, 511);
        case 'at-header':
          return e.headerOffset;
        case 'mid-data':
          return e.dataOffset + r.int(0, Math.max(0, e.data.length - 1));
        case 'after-data':
          return e.dataOffset + e.data.length;
        case 'mid-padding':
          return e.endOffset > e.dataOffset + e.data.length + 1 ? r.int(e.dataOffset + e.data.length + 1, e.endOffset - 1) : e.dataOffset + 1;
        case 'before-trailer':
          return b.split.trailerOffset;
        case 'mid-trailer':
          return b.split.trailerOffset + r.int(1, 1023);
        case 'one-short':
          return b.bytes.length - 1;
        case 'empty':
          return r.int(0, 1);
        case 'random':
          return r.int(0, b.bytes.length - 1);
      }
    })();
    return { detail: `${where} at ${length} (entry ${e.name})`, bytes: Buffer.from(b.bytes.subarray(0, length)) };
  },
  splice(b, r) {
    const at = pickOffset(b, r, r.pick(REGIONS));
    const n = r.pick([1, 7, 100, 511, 512, 1024]);
    if (r.next() < 0.5) {
      const insert = r.next() < 0.5 ? r.bytes(n) : Buffer.alloc(n);
      return { detail: `insert ${n} ${insert[0] === 0 && insert.every((x) => x === 0) ? 'zero' : 'random'} bytes at ${at}`, bytes: Buffer.concat([b.bytes.subarray(0, at), insert, b.bytes.subarray(at)]) };
    }
    return { detail: `delete ${n} bytes at ${at}`, bytes: Buffer.concat([b.bytes.subarray(0, at), b.bytes.subarray(at + n)]) };
  },
  trailing(b, r) {
    const what = r.pick(['garbage', 'block', 'bundle-again', 'tar-entry', 'zeros'] as const);
    const tail =
      what === 'garbage'
        ? Buffer.concat([r.bytes(r.int(1, 100)), Buffer.from([1])])
        : what === 'block'
          ? Buffer.concat([Buffer.alloc(511), Buffer.from([1])])
          : what === 'bundle-again'
            ? b.bytes
            : what === 'tar-entry'
              ? Buffer.concat([tarHeader({ name: `objects/${b.objects[0]!.id}`, size: 0 }), Buffer.alloc(1024)])
              : Buffer.alloc(r.pick([1, 512, 10240 - (b.bytes.length % 10240)]));
    return {
      detail: `append ${what} (${tail.length} bytes)`,
      bytes: Buffer.concat([b.bytes, tail]),
      ...(what === 'zeros' ? { expectValid: 'zero bytes after the end-of-archive marker are allowed' } : {}),
    };
  },
};

const entryLevel: Record<string, Mutator> = {
  duplicate(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    const j = r.int(0, list.length);
    list.splice(j, 0, list[i]!);
    return { detail: `entry ${i} (${b.split.entries[i]!.name}) copied to position ${j}`, bytes: assemble(list, 'none') };
  },
  reorder(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    if (r.next() < 0.5) {
      const j = otherIndex(r, list.length, i);
      return { detail: `entry ${i} (${list[i]!.name}) moved to ${j}`, bytes: assemble(moveItem(list, i, j), 'none') };
    }
    const j = otherIndex(r, list.length, i);
    [list[i], list[j]] = [list[j]!, list[i]!];
    return { detail: `entries ${i} and ${j} swapped`, bytes: assemble(list, 'none') };
  },
  remove(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    list.splice(i, 1);
    return { detail: `entry ${i} (${b.split.entries[i]!.name}) removed`, bytes: assemble(list, 'none') };
  },
  rename(b, r) {
    const reseal = r.next() < 0.5;
    const list = reseal ? b.entries.map((e) => ({ ...e })) : rawEntries(b);
    const i = r.int(0, list.length - 1);
    const old = list[i]!.name;
    let header: Buffer;
    let what: string;
    if (r.next() < 0.2) {
      const raw = rawNameFields(b, r);
      header = tarHeader({ nameBytes: raw.nameBytes, ...(raw.prefixBytes ? { prefixBytes: raw.prefixBytes } : {}), size: list[i]!.data.length });
      what = raw.what;
    } else {
      const name = r.pick(nameBestiary(b, r));
      header = tarHeader({ name, size: list[i]!.data.length });
      what = JSON.stringify(name);
    }
    const seen = readerName(header);
    list[i] = { name: seen, data: list[i]!.data, header };
    const sameName = seen === old;
    return {
      detail: `entry ${i} (${old}) renamed to ${what} (reader sees ${JSON.stringify(seen)}), ${reseal ? 're-sealed' : 'original seal'}`,
      bytes: assemble(list, reseal ? 'reseal' : 'none'),
      ...(sameName && reseal ? { expectValid: 'the new header spells the same name' } : {}),
    };
  },
  typeflag(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    const flag = r.pick(['1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', 'A', '\0', ' ']);
    list[i] = { ...list[i]!, header: tarHeader({ name: list[i]!.name, size: list[i]!.data.length, typeflag: flag.charCodeAt(0) }) };
    return { detail: `entry ${i} (${list[i]!.name}) typeflag ${JSON.stringify(flag)}`, bytes: assemble(list, 'none') };
  },
  'size-field'(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    const size = list[i]!.data.length;
    const choices: Array<[string, Buffer]> = [
      ['8 GiB (base-256)', base256Size(8n * 2n ** 30n)],
      ['2^53-1 (base-256)', base256Size(2n ** 53n - 1n)],
      ['2^53 (base-256)', base256Size(2n ** 53n)],
      ['2^64-1 (base-256)', base256Size(2n ** 64n - 1n)],
      ['2^88-1 (base-256)', base256Size(2n ** 88n - 1n)],
      ['8 GiB - 1 (octal)', octalSizeField('77777777777 ')],
      ['12 octal digits', octalSizeField('777777777777')],
      ['GNU negative (0xff)', Buffer.alloc(12, 0xff)],
      ['size + 1', octalSizeField(`${(size + 1).toString(8).padStart(11, '0')} `)],
      ['size - 1', octalSizeField(`${Math.max(0, size - 1).toString(8).padStart(11, '0')} `)],
      ['size + 512', octalSizeField(`${(size + 512).toString(8).padStart(11, '0')} `)],
      ['size - 512', octalSizeField(`${Math.max(0, size - 512).toString(8).padStart(11, '0')} `)],
      ['zero', octalSizeField('00000000000 ')],
      ['non-octal digit', octalSizeField(`${size.toString(8).padStart(10, '0')}8 `)],
      ['letters', octalSizeField('0000000x440 ')],
      ['empty', Buffer.alloc(12)],
      ['spaces', Buffer.alloc(12, 0x20)],
      ['inner space', octalSizeField(`00000 ${size.toString(8).padStart(5, '0')} `)],
      ['negative sign', octalSizeField(`-${size.toString(8).padStart(10, '0')} `)],
      ['same size in base-256', base256Size(BigInt(size))],
      ['same size, leading spaces', octalSizeField(`${size.toString(8).padStart(11, ' ')} `)],
    ];
    const [what, field] = r.pick(choices);
    list[i] = { ...list[i]!, header: tarHeader({ name: list[i]!.name, size, sizeField: field }) };
    return { detail: `entry ${i} (${list[i]!.name}, ${size} bytes) size field ${what}`, bytes: assemble(list, 'none') };
  },
  'tar-field'(b, r) {
    const list = rawEntries(b);
    const i = r.int(0, list.length - 1);
    const e = list[i]!;
    const choices: Array<[string, Buffer]> = [
      ['GNU magic "ustar  "', tarHeader({ name: e.name, size: e.data.length, magic: 'ustar ', version: ' \0' })],
      ['magic USTAR', tarHeader({ name: e.name, size: e.data.length, magic: 'USTAR\0' })],
      ['no magic', tarHeader({ name: e.name, size: e.data.length, magic: '\0\0\0\0\0\0', version: '\0\0' })],
      ['version 01', tarHeader({ name: e.name, size: e.data.length, version: '01' })],
      ['checksum off by one', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.from(`${(checksumOf(e) + 1).toString(8).padStart(6, '0')} \0`, 'latin1') })],
      ['checksum not octal', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.from('12345678', 'latin1') })],
      ['checksum all spaces', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.alloc(8, 0x20) })],
      ['checksum all NUL', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.alloc(8) })],
      ['checksum 7 digits + NUL (same value)', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.from(`${checksumOf(e).toString(8).padStart(7, '0')}\0`, 'latin1') })],
      ['checksum with leading spaces (same value)', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.from(`${checksumOf(e).toString(8).padStart(6, ' ')} \0`, 'latin1') })],
      ['checksum ending NUL, space (same value)', tarHeader({ name: e.name, size: e.data.length, checksumField: Buffer.from(`${checksumOf(e).toString(8).padStart(6, '0')}\0 `, 'latin1') })],
    ];
    const [what, header] = r.pick(choices);
    list[i] = { ...e, header };
    return { detail: `entry ${i} (${e.name}) ${what}`, bytes: assemble(list, 'none') };
  },
};

/** The checksum tarHeader computes for an entry's plain header. */
function checksumOf(e: OutEntry): number {
  const block = tarHeader({ name: e.name, size: e.data.length });
  return parseInt(block.toString('latin1', 148, 154), 8);
}

function withHeader(b: Base, value: unknown, encoded?: Buffer): OutEntry[] {
  const list = b.entries.map((e) => ({ ...e }));
  list[0] = { name: ENTRY_HEADER, data: encoded ?? pack(value) };
  return list;
}

function headerWith(b: Base, edit: (h: Record<string, unknown>) => void): Record<string, unknown> {
  const h = structuredClone(b.headerRaw);
  edit(h);
  return h;
}

/** The tree rows of the base, as msgpack-ready arrays. */
function treeRows(b: Base): Array<[string, Buffer, number, number]> {
  return b.tree.entries.map((e) => [e.path, Buffer.from(e.id, 'hex'), e.size, e.mode]);
}

/** Entries with a new tree (and, when `matchHeader`, a header whose `to` and totals follow it). */
function withTree(b: Base, treeBytes: Buffer, options: { to?: boolean; totals?: { files: number; bytes: number } } = {}): OutEntry[] {
  const list = b.entries.map((e) => ({ ...e }));
  list[1] = { name: ENTRY_TREE, data: compressBuffer(treeBytes) };
  if (options.to || options.totals) {
    const h = structuredClone(b.headerRaw);
    if (options.to) h.to = hashBytes(treeBytes);
    if (options.totals) Object.assign(h.target as Record<string, unknown>, options.totals);
    list[0] = { name: ENTRY_HEADER, data: encodeMsgpack(h as Canonical) };
  }
  return list;
}

const semantic: Record<string, Mutator> = {
  'resealed-structure'(b, r) {
    const list = b.entries.map((e) => ({ ...e }));
    const objectIndex = r.pick(b.objects).index;
    const op = r.pick(['drop-object', 'duplicate-object', 'duplicate-announced', 'foreign-object', 'base-object', 'object-first', 'metadata-late', 'metadata-twice', 'drop-metadata', 'seal-mid', 'two-seals', 'seal-first', 'no-seal'] as const);
    switch (op) {
      case 'drop-object':
        list.splice(objectIndex, 1);
        return { detail: `${op} ${objectIndex}`, bytes: assemble(list, 'reseal') };
      case 'duplicate-object':
        list.splice(r.int(3, list.length), 0, list[objectIndex]!);
        return { detail: `${op} ${objectIndex}`, bytes: assemble(list, 'reseal') };
      case 'duplicate-announced': {
        // The copy is announced too (one object and its bytes more in the header), so no count
        // gives it away: only the reader's record of the objects it has seen can.
        const size = b.objects.find((o) => o.index === objectIndex)!.size;
        list.splice(r.int(3, list.length), 0, list[objectIndex]!);
        const h = headerWith(b, (raw) => {
          const objects = raw.objects as { count: number; bytes: number };
          objects.count += 1;
          objects.bytes += size;
        });
        list[0] = { name: ENTRY_HEADER, data: encodeMsgpack(h as Canonical) };
        return { detail: `${op} ${objectIndex}`, bytes: assemble(list, 'reseal') };
      }
      case 'foreign-object': {
        const data = r.bytes(r.int(0, 3000));
        list.splice(r.int(3, list.length), 0, { name: `objects/${hashBytes(data)}`, data });
        return { detail: `${op} of ${data.length} bytes`, bytes: assemble(list, 'reseal') };
      }
      case 'base-object': {
        // An object of the target tree that the base already has: correct content, not announced in the header.
        if (b.uncarried.length === 0) {
          list.splice(objectIndex, 0, { ...list[objectIndex]! });
          return { detail: `${op}: (full bundle) duplicate ${objectIndex}`, bytes: assemble(list, 'reseal') };
        }
        const id = r.pick(b.uncarried);
        const entry = b.tree.entries.find((e) => e.id === id)!;
        const data = Buffer.alloc(entry.size);
        list.push({ name: `objects/${id}`, data });
        return { detail: `${op} objects/${id} with wrong content of the right size`, bytes: assemble(list, 'reseal') };
      }
      case 'object-first': {
        const to = r.int(0, 2);
        return { detail: `${op}: object ${objectIndex} moved to ${to}`, bytes: assemble(moveItem(list, objectIndex, to), 'reseal') };
      }
      case 'metadata-late': {
        const from = r.int(0, 2);
        const to = r.int(3, list.length - 1);
        return { detail: `${op}: entry ${from} moved to ${to}`, bytes: assemble(moveItem(list, from, to), 'reseal') };
      }
      case 'metadata-twice': {
        const from = r.int(0, 2);
        list.splice(r.int(from + 1, list.length), 0, list[from]!);
        return { detail: `${op}: entry ${from}`, bytes: assemble(list, 'reseal') };
      }
      case 'drop-metadata': {
        const i = r.int(0, 2);
        list.splice(i, 1);
        return { detail: `${op}: entry ${i}`, bytes: assemble(list, 'reseal') };
      }
      case 'seal-mid': {
        // A correct seal for a prefix of the entries, followed by the rest.
        const cut = r.int(3, list.length - 1);
        const prefix = list.slice(0, cut);
        const mid = { name: ENTRY_SEAL, data: sealFor(prefix) };
        return { detail: `${op}: seal after ${cut} of ${list.length} entries`, bytes: assemble([...prefix, mid, ...list.slice(cut)], 'reseal') };
      }
      case 'two-seals':
        return { detail: op, bytes: assemble([...list, { name: ENTRY_SEAL, data: sealFor(list) }], 'reseal') };
      case 'seal-first':
        return { detail: op, bytes: assemble([{ name: ENTRY_SEAL, data: sealFor([]) }, ...list], 'none') };
      case 'no-seal':
        return { detail: op, bytes: assemble(list, 'none') };
    }
  },
  pack(b, r) {
    const reseal = r.next() < 0.8;
    const list = b.entries.map((e) => ({ ...e }));
    const out = (detail: string, entries: OutEntry[], expectValid?: string): Mutant => ({
      detail: `${detail}, ${reseal ? 're-sealed' : 'original seal'}`,
      bytes: assemble(entries, reseal ? 'reseal' : b.sealData),
      ...(expectValid && reseal ? { expectValid } : {}),
    });
    const headerFormat = (format: number) => ({ name: ENTRY_HEADER, data: encodeMsgpack({ ...b.headerRaw, format } as Canonical) });
    const o = r.pick(b.objects);
    const alone = list[o.index]!;
    const content = o.compressed ? decompress(alone.data) : alone.data;
    if (b.packs.length === 0) {
      // No pack here: put one where a lone object was, or claim the other format.
      const asPack = compressBuffer(Buffer.concat([encodePackIndex([{ id: o.id, size: o.size }]), content]));
      const moved = list.map((e, i) => (i === o.index ? { name: packEntryName(1), data: asPack } : e));
      const variants: Array<[string, OutEntry[], string | undefined]> = [
        ['lone object as a pack', moved, b.header.format === 2 ? 'a format-2 bundle may pack any object' : undefined],
        ['lone object as a pack, header format 1', [headerFormat(1), ...moved.slice(1)], undefined],
        ['header format 2, no packs', [headerFormat(2), ...list.slice(1)], 'format 2 without packs is still format 2'],
      ];
      const [what, entries, valid] = r.pick(variants);
      return out(what, entries, valid);
    }
    const pk = r.pick(b.packs);
    const rows = pk.objects;
    const indexLength = pk.content.readUInt32BE(0);
    const bodies: Buffer[] = [];
    for (let at = 4 + indexLength, k = 0; k < rows.length; at += rows[k]!.size, k++) bodies.push(pk.content.subarray(at, at + rows[k]!.size));
    const k = r.int(0, rows.length - 1);
    const packOf = (objects: PackedObject[], data: Buffer[], extra: Buffer = Buffer.alloc(0)) => compressBuffer(Buffer.concat([encodePackIndex(objects), ...data, extra]));
    const withPack = (data: Buffer, name = pk.name): OutEntry[] => list.map((e, i) => (i === pk.index ? { name, data } : e));
    const flipped = Buffer.from(bodies[k]!);
    if (flipped.length > 0) flipped[r.int(0, flipped.length - 1)]! ^= 1 << r.int(0, 7);
    const foreignBody = r.bytes(r.int(0, 300));
    const base = b.uncarried.length > 0 ? r.pick(b.uncarried) : undefined;
    const baseSize = base === undefined ? 0 : b.tree.entries.find((e) => e.id === base)!.size;
    const lengthAs = (n: number) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(n >>> 0);
      return compressBuffer(Buffer.concat([head, pk.content.subarray(4)]));
    };
    const swap = <T,>(items: T[]): T[] => (items.length > 1 ? moveItem(items, k, (k + 1) % items.length) : items);
    const variants: Array<[string, () => OutEntry[], string?]> = [
      ['rebuilt the same (control)', () => withPack(packOf(rows, bodies)), 'the same pack'],
      ['as two zstd frames', () => withPack(Buffer.concat([compressBuffer(pk.content.subarray(0, 7)), compressBuffer(pk.content.subarray(7))])), 'several frames are allowed'],
      [`object ${k} flipped`, () => withPack(packOf(rows, bodies.map((x, i) => (i === k ? flipped : x))))],
      [`object ${k} moved in the index only`, () => withPack(packOf(swap(rows), bodies)), rows.length > 1 ? undefined : 'one object: unchanged'],
      [`object ${k} moved with its bytes`, () => withPack(packOf(swap(rows), swap(bodies))), rows.length > 1 ? 'order within a pack is free' : 'one object: unchanged'],
      [`row ${k} dropped, bytes kept`, () => withPack(packOf(rows.filter((_, i) => i !== k), bodies))],
      [`row and bytes ${k} dropped`, () => withPack(packOf(rows.filter((_, i) => i !== k), bodies.filter((_, i) => i !== k)))],
      [`row ${k} twice`, () => withPack(packOf([...rows, rows[k]!], [...bodies, bodies[k]!]))],
      [`row ${k} size + 1`, () => withPack(packOf(rows.map((x, i) => (i === k ? { ...x, size: x.size + 1 } : x)), bodies.map((x, i) => (i === k ? Buffer.concat([x, Buffer.from([0x0a])]) : x))))],
      [`row ${k} size 2^53 - 1`, () => withPack(packOf(rows.map((x, i) => (i === k ? { ...x, size: 2 ** 53 - 1 } : x)), bodies))],
      ['an object of no tree', () => withPack(packOf([...rows, { id: hashBytes(foreignBody), size: foreignBody.length }], [...bodies, foreignBody]))],
      ['an object the base holds, wrong bytes', () => (base === undefined ? withPack(packOf([...rows, rows[k]!], [...bodies, bodies[k]!])) : withPack(packOf([...rows, { id: base, size: baseSize }], [...bodies, Buffer.alloc(baseSize)])))],
      ['a lone object packed too', () => withPack(packOf([...rows, { id: o.id, size: o.size }], [...bodies, content]))],
      ['a byte after the last object', () => withPack(packOf(rows, bodies, Buffer.from([0])))],
      ['cut one byte short', () => withPack(compressBuffer(pk.content.subarray(0, -1)))],
      ['only the index', () => withPack(compressBuffer(pk.content.subarray(0, 4 + indexLength)))],
      ['index length + 1', () => withPack(lengthAs(indexLength + 1))],
      ['index length - 1', () => withPack(lengthAs(indexLength - 1))],
      ['index length 0', () => withPack(lengthAs(0))],
      ['index length 2^32 - 1', () => withPack(lengthAs(2 ** 32 - 1))],
      ['index array32 claiming 2^32 - 1 rows', () => withPack(compressBuffer(Buffer.concat([Buffer.from([0, 0, 0, 5, 0xdd, 0xff, 0xff, 0xff, 0xff])])))],
      ['no objects', () => withPack(compressBuffer(Buffer.from([0, 0, 0, 1, 0x90])))],
      ['empty', () => withPack(compressBuffer(Buffer.alloc(0)))],
      ['not zstd (gzip magic)', () => withPack(Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), r.bytes(40)]))],
      ['raw content, not compressed', () => withPack(pk.content)],
      ['frame cut short', () => withPack(packOf(rows, bodies).subarray(0, -r.int(1, 8)))],
      [`${PACK_MAX_BYTES / 2 ** 20} MiB + 1 of zeros`, () => withPack(zstdRleFrame(PACK_MAX_BYTES + 1))],
      ['1 GiB of zeros', () => withPack(zstdRleFrame(2 ** 30))],
      ['named one past the last pack', () => withPack(list[pk.index]!.data, packEntryName(b.packs.length + 1))],
      ['named pack 0', () => withPack(list[pk.index]!.data, 'packs/00000000.zst')],
      ['named packs/1.zst', () => withPack(list[pk.index]!.data, 'packs/1.zst')],
      ['named without .zst', () => withPack(list[pk.index]!.data, pk.name.replace(/\.zst$/, ''))],
      ['the pack twice', () => [...list.slice(0, pk.index + 1), list[pk.index]!, ...list.slice(pk.index + 1)]],
      ['the pack before the change list', () => moveItem(list, pk.index, 2)],
      ['header format 1', () => [headerFormat(1), ...list.slice(1)]],
    ];
    const [what, build, valid] = r.pick(variants);
    return out(`${pk.name} (${rows.length} objects): ${what}`, build(), valid);
  },
  'resealed-header'(b, r) {
    const other = randomId(r);
    const huge = 2 ** 53 - 1;
    const t = (h: Record<string, unknown>) => h.target as Record<string, unknown>;
    const o = (h: Record<string, unknown>) => h.objects as Record<string, unknown>;
    const edits: Array<[string, () => OutEntry[]]> = [
      ['magic', () => withHeader(b, headerWith(b, (h) => (h.magic = 'airlock-bundlf')))],
      ['format 3', () => withHeader(b, headerWith(b, (h) => (h.format = 3)))],
      ['format 0', () => withHeader(b, headerWith(b, (h) => (h.format = 0)))],
      ['format "1"', () => withHeader(b, headerWith(b, (h) => (h.format = '1')))],
      ['format 1.5', () => withHeader(b, headerWith(b, (h) => (h.format = 1.5)))],
      ['format -1', () => withHeader(b, headerWith(b, (h) => (h.format = -1)))],
      ['format missing', () => withHeader(b, headerWith(b, (h) => delete h.format))],
      ['format as date', () => withHeader(b, headerWith(b, (h) => (h.format = new Date(1))))],
      ['kind partial', () => withHeader(b, headerWith(b, (h) => (h.kind = 'partial')))],
      ['kind swapped', () => withHeader(b, headerWith(b, (h) => (h.kind = h.kind === 'full' ? 'delta' : 'full')))],
      ['from invalid', () => withHeader(b, headerWith(b, (h) => (h.from = 'zz')))],
      ['from uppercase', () => withHeader(b, headerWith(b, (h) => (h.from = typeof h.from === 'string' ? h.from.toUpperCase() : 'A'.repeat(64))))],
      ['to other id', () => withHeader(b, headerWith(b, (h) => (h.to = other)))],
      ['to missing', () => withHeader(b, headerWith(b, (h) => delete h.to))],
      ['target.files + 1', () => withHeader(b, headerWith(b, (h) => (t(h).files = (t(h).files as number) + 1)))],
      ['target.bytes - 1', () => withHeader(b, headerWith(b, (h) => (t(h).bytes = (t(h).bytes as number) - 1)))],
      ['target.files 2^53-1', () => withHeader(b, headerWith(b, (h) => (t(h).files = huge)))],
      ['target.bytes 2^64', () => withHeader(b, headerWith(b, (h) => (t(h).bytes = 2 ** 64)))],
      ['target.sequence "2"', () => withHeader(b, headerWith(b, (h) => (t(h).sequence = '2')))],
      ['target.label 7', () => withHeader(b, headerWith(b, (h) => (t(h).label = 7)))],
      ['target.parent invalid', () => withHeader(b, headerWith(b, (h) => (t(h).parent = 'parent')))],
      ['target not a map', () => withHeader(b, headerWith(b, (h) => (h.target = [1, 2])))],
      ['objects.count + 1', () => withHeader(b, headerWith(b, (h) => (o(h).count = (o(h).count as number) + 1)))],
      ['objects.count - 1', () => withHeader(b, headerWith(b, (h) => (o(h).count = (o(h).count as number) - 1)))],
      ['objects.count 2^53-1', () => withHeader(b, headerWith(b, (h) => (o(h).count = huge)))],
      ['objects.bytes + 1', () => withHeader(b, headerWith(b, (h) => (o(h).bytes = (o(h).bytes as number) + 1)))],
      ['objects.bytes 2^53-1', () => withHeader(b, headerWith(b, (h) => (o(h).bytes = huge)))],
      ['objects.count negative', () => withHeader(b, headerWith(b, (h) => (o(h).count = -1)))],
      ['objects.count float', () => withHeader(b, headerWith(b, (h) => (o(h).count = 2.5)))],
      ['objects missing', () => withHeader(b, headerWith(b, (h) => delete h.objects))],
      ['createdAt number', () => withHeader(b, headerWith(b, (h) => (h.createdAt = 5)))],
      ['tool null', () => withHeader(b, headerWith(b, (h) => (h.tool = null)))],
      ['not a map', () => withHeader(b, [b.headerRaw.magic, 1])],
      ['nil', () => withHeader(b, null)],
      ['empty map', () => withHeader(b, {})],
      ['empty entry', () => withHeader(b, undefined, Buffer.alloc(0))],
      ['not msgpack', () => withHeader(b, undefined, Buffer.from([0xc1]))],
      ['truncated msgpack', () => withHeader(b, undefined, b.entries[0]!.data.subarray(0, r.int(1, b.entries[0]!.data.length - 1)))],
      ['map32 claiming 2^32-1 keys', () => withHeader(b, undefined, Buffer.concat([Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), b.entries[0]!.data.subarray(1)]))],
      ['array32 claiming 2^32-1 items', () => withHeader(b, undefined, Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0]))],
      ['str32 claiming 4 GiB', () => withHeader(b, undefined, Buffer.from([0x81, 0xa5, 0x6d, 0x61, 0x67, 0x69, 0x63, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))],
      ['unknown extension type', () => withHeader(b, undefined, Buffer.from([0x81, 0xa5, 0x6d, 0x61, 0x67, 0x69, 0x63, 0xd4, 0x05, 0x00]))],
      ['over 64 KiB', () => withHeader(b, { ...b.headerRaw, padding: 'x'.repeat(LIMITS.headerBytes) })],
    ];
    const [what, build] = r.pick(edits);
    return { detail: what, bytes: assemble(build(), 'reseal') };
  },
  'resealed-tree'(b, r) {
    const rows = treeRows(b);
    const carried = new Set(b.objects.map((o) => o.id));
    const carriedRows = rows.map((row, i) => ({ row, i })).filter(({ row }) => carried.has(row[1].toString('hex')));
    const pickCarried = () => r.pick(carriedRows);
    const enc = (value: unknown) => encodeMsgpack(value as Canonical);
    const tree = (rs: unknown[]) => enc(['airlock-tree', 1, rs]);
    const canonical = b.treeBytes;
    const totalsOf = (rs: Array<[string, Buffer, number, number]>) => ({ files: rs.length, bytes: rs.reduce((s, x) => s + x[2], 0) });
    const edits: Array<[string, () => OutEntry[]]> = [
      ['rows swapped', () => withTree(b, tree(moveItem(rows, 0, rows.length - 1)), { to: true })],
      ['row duplicated', () => withTree(b, tree([rows[0], ...rows]), { to: true, totals: totalsOf([rows[0]!, ...rows]) })],
      ...['../../etc/passwd', '/etc/passwd', 'a/../b', 'a//b', 'a/./b', 'a\\b', 'a\0b', '', 'x/', `${'s'.repeat(256)}/f`, 'p/'.repeat(2049) + 'f'].map(
        (path): [string, () => OutEntry[]] => [
          `unsafe path ${JSON.stringify(path.length > 40 ? `${path.slice(0, 20)}...(${path.length})` : path)}`,
          () => {
            const rs = rows.map((x) => [...x] as [string, Buffer, number, number]);
            rs[r.int(0, rs.length - 1)]![0] = path;
            return withTree(b, tree(rs), { to: true });
          },
        ],
      ),
      ['mode 0777', () => withTree(b, tree(rows.map((x, i) => (i === 0 ? [x[0], x[1], x[2], 0o777] : x))), { to: true })],
      ['id of 31 bytes', () => withTree(b, tree(rows.map((x, i) => (i === 0 ? [x[0], x[1].subarray(1), x[2], x[3]] : x))), { to: true })],
      ['id as hex string', () => withTree(b, tree(rows.map((x, i) => (i === 0 ? [x[0], x[1].toString('hex'), x[2], x[3]] : x))), { to: true })],
      ['size negative', () => withTree(b, pack(['airlock-tree', 1, rows.map((x, i) => (i === 0 ? [x[0], x[1], -1, x[3]] : x))]), { to: true })],
      ['size float', () => withTree(b, pack(['airlock-tree', 1, rows.map((x, i) => (i === 0 ? [x[0], x[1], 1.5, x[3]] : x))]), { to: true })],
      ['row of 3', () => withTree(b, tree(rows.map((x, i) => (i === 0 ? [x[0], x[1], x[2]] : x))), { to: true })],
      ['same id, two sizes', () => withTree(b, tree([...rows, [`${rows.at(-1)![0]}z`, rows[0]![1], rows[0]![2] + 1, 420]]), { to: true })],
      ['file is also a directory', () => withTree(b, tree([...rows, [`${rows.at(-1)![0]}/inside`, rows[0]![1], rows[0]![2], 420]]), { to: true })],
      ['format 2', () => withTree(b, enc(['airlock-tree', 2, rows]), { to: true })],
      ['magic', () => withTree(b, enc(['airlock-trie', 1, rows]), { to: true })],
      ['not an array', () => withTree(b, enc({ tree: 1 }), { to: true })],
      ['non-canonical str8 magic', () => withTree(b, Buffer.concat([Buffer.from([0x93, 0xd9, 0x0c]), canonical.subarray(2)]), { to: true })],
      ['non-canonical array16 header', () => withTree(b, Buffer.concat([Buffer.from([0xdc, 0x00, 0x03]), canonical.subarray(1)]), { to: true })],
      ['trailing byte', () => withTree(b, Buffer.concat([canonical, Buffer.from([0xc0])]), { to: true })],
      ['rows array32 claiming 2^32-1', () => withTree(b, Buffer.concat([canonical.subarray(0, 15), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), canonical.subarray(16)]), { to: true })],
      ['row claiming 2^32-1 fields', () => withTree(b, Buffer.concat([canonical.subarray(0, 16), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), canonical.subarray(17)]), { to: true })],
      ['str32 path claiming 4 GiB', () => withTree(b, Buffer.concat([canonical.subarray(0, 17), Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff]), canonical.subarray(18)]), { to: true })],
      ['empty bytes', () => withTree(b, Buffer.alloc(0), { to: true })],
      ['tree hash not the header to', () => withTree(b, tree(rows.slice(1)))],
      [
        'a carried row removed, totals kept',
        () => {
          const { i } = pickCarried();
          return withTree(b, tree(rows.filter((_, k) => k !== i)), { to: true });
        },
      ],
      [
        'a carried object dropped from the tree (totals follow)',
        () => {
          const { row } = pickCarried();
          const rs = rows.filter((x) => !x[1].equals(row[1]));
          return withTree(b, tree(rs), { to: true, totals: totalsOf(rs) });
        },
      ],
      [
        'a carried object bigger in the tree (totals follow)',
        () => {
          const { row } = pickCarried();
          const delta = r.pick([1, 511, 4096, 2 ** 40]);
          const rs = rows.map((x) => (x[1].equals(row[1]) ? ([x[0], x[1], x[2] + delta, x[3]] as [string, Buffer, number, number]) : x));
          return withTree(b, tree(rs), { to: true, totals: totalsOf(rs) });
        },
      ],
      [
        'a carried object smaller in the tree (totals follow)',
        () => {
          const { row } = pickCarried();
          const rs = rows.map((x) => (x[1].equals(row[1]) ? ([x[0], x[1], Math.max(0, x[2] - r.pick([1, 100, x[2]])), x[3]] as [string, Buffer, number, number]) : x));
          return withTree(b, tree(rs), { to: true, totals: totalsOf(rs) });
        },
      ],
      [
        'a carried object renamed to another id in the tree (totals follow)',
        () => {
          const { row } = pickCarried();
          const fresh = Buffer.from(randomId(r), 'hex');
          const rs = rows.map((x) => (x[1].equals(row[1]) ? ([x[0], fresh, x[2], x[3]] as [string, Buffer, number, number]) : x));
          return withTree(b, tree(rs), { to: true, totals: totalsOf(rs) });
        },
      ],
    ];
    const [what, build] = r.pick(edits);
    return { detail: what, bytes: assemble(build(), 'reseal') };
  },
  'resealed-changes'(b, r) {
    const [counts, packages] = b.changesRaw as [unknown[], unknown[]];
    const variants: Array<[string, Buffer]> = [
      ['not an array', pack({ a: 1 })],
      ['three elements', pack([counts, packages, []])],
      ['counts of 3', pack([counts.slice(0, 3), packages])],
      ['negative count', pack([[-1, 0, 0, 0], packages])],
      ['count as string', pack([['1', 0, 0, 0], packages])],
      ['count float', pack([[0.5, 0, 0, 0], packages])],
      ['row of 4', pack([counts, [['added', '', 'x', null]]])],
      ['row kind deleted', pack([counts, [['deleted', '', 'x', null, '1.0']]])],
      ['row from number', pack([counts, [['updated', '', 'x', 1, '1.0']]])],
      ['row as map', pack([counts, [{ kind: 'added' }]])],
      ['nil', pack(null)],
      ['array32 claiming 2^32-1 rows', Buffer.concat([Buffer.from([0x92, 0x94, 0, 0, 0, 0, 0xdd, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(8, 0xc0)])],
      ['map32 claiming 2^32-1 keys', Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0xc0])],
      ['bin32 claiming 4 GiB', Buffer.from([0x92, 0x94, 0, 0, 0, 0, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00])],
      ['empty', Buffer.alloc(0)],
      ['not msgpack', Buffer.from([0xc1, 0xc1])],
    ];
    const [what, body] = r.pick(variants);
    const list = b.entries.map((e) => ({ ...e }));
    list[2] = { name: ENTRY_CHANGES, data: compressBuffer(body) };
    return { detail: what, bytes: assemble(list, 'reseal') };
  },
  'resealed-seal'(b, r) {
    const list = b.entries;
    const good = decodeMsgpack(sealFor(list)) as Record<string, unknown>;
    const sig = { keyid: 'a'.repeat(64), algorithm: 'ed25519', signature: Buffer.alloc(64) };
    const variants: Array<[string, Buffer]> = [
      ['entries + 1', sealFor(list, { entries: list.length + 1 })],
      ['entries - 1', sealFor(list, { entries: list.length - 1 })],
      ['entries 2^53-1', pack({ ...good, entries: 2 ** 53 - 1 })],
      ['entries negative', pack({ ...good, entries: -1 })],
      ['chain of another bundle', sealFor(list, { chain: randomId(r) })],
      ['chain uppercase', pack({ ...good, chain: String(good.chain).toUpperCase() })],
      ['chain short', pack({ ...good, chain: String(good.chain).slice(1) })],
      ['chain as bytes', pack({ ...good, chain: Buffer.from(String(good.chain), 'hex') })],
      ['format 2', pack({ ...good, format: 2 })],
      ['magic', pack({ ...good, magic: 'airlock-bundle' })],
      ['signatures missing', pack({ magic: good.magic, format: good.format, entries: good.entries, chain: good.chain })],
      ['signatures not an array', pack({ ...good, signatures: {} })],
      ['17 signatures', pack({ ...good, signatures: Array.from({ length: 17 }, (_, k) => ({ ...sig, keyid: k.toString(16).padStart(64, '0') })) })],
      ['signature of the wrong shape', pack({ ...good, signatures: [{ keyid: 'x', algorithm: 'rsa', signature: Buffer.alloc(3) }] })],
      ['signature nil', pack({ ...good, signatures: [null] })],
      ['two signatures by one key', pack({ ...good, signatures: [sig, sig] })],
      ['array', pack([good.magic, good.format])],
      ['nil', pack(null)],
      ['empty', Buffer.alloc(0)],
      ['truncated', sealFor(list).subarray(0, r.int(1, 100))],
      ['over 64 KiB', pack({ ...good, padding: 'x'.repeat(LIMITS.sealBytes) })],
      ['array32 claiming 2^32-1 signatures', Buffer.concat([pack({ ...good, signatures: [] }).subarray(0, -1), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0])])],
    ];
    const [what, seal] = r.pick(variants);
    return { detail: what, bytes: assemble(list, seal) };
  },
  'object-data'(b, r) {
    const reseal = r.next() < 0.75;
    const list = b.entries.map((e) => ({ ...e }));
    const o = r.pick(b.objects);
    const data = list[o.index]!.data;
    const content = o.compressed ? decompress(data) : data;
    const flipped = Buffer.from(content);
    const at = r.int(0, Math.max(0, flipped.length - 1));
    if (flipped.length > 0) flipped[at] = flipped[at]! ^ (1 << r.int(0, 7));
    const variants: Array<[string, string, Buffer]> = [
      ['raw content flipped', list[o.index]!.name.replace(/\.zst$/, ''), flipped],
      ['content flipped, compressed', `objects/${o.id}.zst`, compressBuffer(flipped)],
      ['raw content + 1 byte', `objects/${o.id}`, Buffer.concat([content, Buffer.from([0x0a])])],
      ['raw content - 1 byte', `objects/${o.id}`, content.subarray(0, -1)],
      ['raw content doubled', `objects/${o.id}`, Buffer.concat([content, content])],
      ['raw empty', `objects/${o.id}`, Buffer.alloc(0)],
      ['compressed content + 1 byte', `objects/${o.id}.zst`, compressBuffer(Buffer.concat([content, Buffer.from([0x0a])]))],
      ['compressed content - 1 byte', `objects/${o.id}.zst`, compressBuffer(content.subarray(0, -1))],
      ['compressed empty content', `objects/${o.id}.zst`, compressBuffer(Buffer.alloc(0))],
      ['raw content named .zst', `objects/${o.id}.zst`, content],
      ['compressed frame cut short', `objects/${o.id}.zst`, compressBuffer(content).subarray(0, -r.int(1, 8))],
      ['compressed frame + garbage', `objects/${o.id}.zst`, Buffer.concat([compressBuffer(content), r.bytes(r.int(1, 16))])],
      ['compressed frame + a cut frame', `objects/${o.id}.zst`, Buffer.concat([compressBuffer(content), compressBuffer(content).subarray(0, 9)])],
      ['skippable frame only', `objects/${o.id}.zst`, zstdSkippableFrame(16)],
      ['no bytes, named .zst', `objects/${o.id}.zst`, Buffer.alloc(0)],
      ['gzip magic', `objects/${o.id}.zst`, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), r.bytes(40)])],
      ['zstd magic + garbage', `objects/${o.id}.zst`, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), r.bytes(60)])],
      ['frame declaring a wrong content size', `objects/${o.id}.zst`, zstdRleFrame(o.size, { byte: content[0] ?? 0, declaredSize: BigInt(o.size + 1) })],
    ];
    const [what, name, stored] = r.pick(variants);
    list[o.index] = { name, data: stored };
    return { detail: `${what} (${o.id.slice(0, 12)}, ${o.size} bytes${o.compressed ? ', zst' : ''}), ${reseal ? 're-sealed' : 'original seal'}`, bytes: assemble(list, reseal ? 'reseal' : b.sealData) };
  },
  'object-bomb'(b, r) {
    const reseal = r.next() < 0.75;
    const list = b.entries.map((e) => ({ ...e }));
    const zst = b.objects.filter((o) => o.compressed);
    const o = r.next() < 0.8 && zst.length > 0 ? r.pick(zst) : r.pick(b.objects);
    const bound = compressBound(o.size);
    // As many RLE blocks as compressBound allows: far more output than the tree says.
    const blocks = Math.floor((bound - 6) / 4);
    const variants: Array<[string, Buffer]> = [
      [`RLE frame of ${blocks} x 128 KiB within compressBound`, zstdRleFrame(blocks * 128 * 1024)],
      ['1 GiB of zeros (32 KiB, over compressBound)', zstdRleFrame(2 ** 30)],
      ['window 2^27, no content size', zstdRleFrame(Math.min(blocks, 64) * 128 * 1024, { windowLog: 27 })],
      ['window 2^28 (over the default limit)', zstdRleFrame(128 * 1024, { windowLog: 28 })],
      ['window 2^31', zstdRleFrame(128 * 1024, { windowLog: 31 })],
      ['declared content size 2^60', zstdRleFrame(Math.min(blocks, 64) * 128 * 1024, { declaredSize: 2n ** 60n })],
      ['many small frames', Buffer.concat(Array.from({ length: Math.floor(bound / 20) }, () => zstdRleFrame(128 * 1024)))],
      ['skippable frame claiming 4 GiB', Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(16)])],
    ];
    const [what, frame] = r.pick(variants);
    list[o.index] = { name: `objects/${o.id}.zst`, data: frame.length > bound && r.next() < 0.5 ? frame.subarray(0, bound) : frame };
    return { detail: `${what} as ${o.id.slice(0, 12)} (${o.size} bytes, bound ${bound}, stored ${list[o.index]!.data.length}), ${reseal ? 're-sealed' : 'original seal'}`, bytes: assemble(list, reseal ? 'reseal' : b.sealData) };
  },
  'metadata-zstd'(b, r) {
    const reseal = r.next() < 0.5;
    const list = b.entries.map((e) => ({ ...e }));
    const i = r.int(1, 2);
    const stored = list[i]!.data;
    const content = decompress(stored);
    const variants: Array<[string, Buffer]> = [
      ['16 MiB of zeros', zstdRleFrame(16 * 1024 * 1024)],
      ['16 MiB of 0xc0 (msgpack nil)', zstdRleFrame(16 * 1024 * 1024, { byte: 0xc0 })],
      ['frame cut short', stored.subarray(0, -r.int(1, 8))],
      ['frame + garbage', Buffer.concat([stored, r.bytes(r.int(1, 16))])],
      ['raw, uncompressed', content],
      ['empty', Buffer.alloc(0)],
      ['skippable frame only', zstdSkippableFrame(32)],
      ['gzip magic', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), r.bytes(40)])],
      ['window 2^28', zstdRleFrame(1024, { windowLog: 28 })],
      ['declared content size 2^62', zstdRleFrame(1024, { declaredSize: 2n ** 62n })],
      ['content + 1 byte', compressBuffer(Buffer.concat([content, Buffer.from([0xc0])]))],
      ['content - 1 byte', compressBuffer(content.subarray(0, -1))],
    ];
    const [what, data] = r.pick(variants);
    list[i] = { name: list[i]!.name, data };
    return { detail: `${list[i]!.name}: ${what}, ${reseal ? 're-sealed' : 'original seal'}`, bytes: assemble(list, reseal ? 'reseal' : b.sealData) };
  },
  volume(b, r) {
    // `bundle verify F` and `apply F` take a single file that is a volume (F.001 of a bundle
    // cut with --volume-size) as well as a plain bundle: wrap the bundle, or a mutant of it.
    const inner = r.next() < 0.4 ? { detail: 'intact bundle', bytes: b.bytes } : byteLevel[r.pick(['bitflip', 'overwrite', 'truncate', 'splice'])]!(b, r);
    const good: VolumeDescriptor = { magic: VOLUME_MAGIC, format: VOLUME_FORMAT, bundle: randomId(r).slice(0, 32), volume: 1, volumes: 1, offset: 0, length: inner.bytes.length, part: hashBytes(inner.bytes) };
    const intact = inner.bytes === b.bytes || sameView(b, inner.bytes) || inner.expectValid !== undefined;
    const variants: Array<[string, () => Buffer, string?]> = [
      ['one volume of one', () => volumeFile(good, inner.bytes), intact ? 'the whole bundle as its only volume' : undefined],
      ['volume 1 of 3 (the others missing), part hash right', () => volumeFile({ ...good, volumes: 3 }, inner.bytes), 'one intact volume of several: verify checks the volume alone'],
      ['volume 2 of 2, part hash right', () => volumeFile({ ...good, volume: 2, volumes: 2, offset: 7 }, inner.bytes), 'one intact volume of several: verify checks the volume alone'],
      ['part hash wrong', () => volumeFile({ ...good, part: randomId(r) }, inner.bytes)],
      ['volume 1 of 3, part hash wrong', () => volumeFile({ ...good, volumes: 3, part: randomId(r) }, inner.bytes)],
      ['offset not 0', () => volumeFile({ ...good, offset: 512 }, inner.bytes)],
      ['length one more than the part', () => volumeFile({ ...good, length: inner.bytes.length + 1 }, inner.bytes)],
      ['length 2^53-1', () => volumeFile({ ...good, length: 2 ** 53 - 1 }, inner.bytes)],
      ['volume 0', () => volumeFile({ ...good, volume: 0 }, inner.bytes)],
      ['volume 2 of 1', () => volumeFile({ ...good, volume: 2 }, inner.bytes)],
      ['10000 volumes', () => volumeFile({ ...good, volumes: 10000 }, inner.bytes)],
      ['format 2', () => volumeFile({ ...good, format: 2 as 1 }, inner.bytes)],
      ['magic', () => volumeFile({ ...good, magic: 'airlock-bundle' as typeof VOLUME_MAGIC }, inner.bytes)],
      ['bundle id not hex', () => volumeFile({ ...good, bundle: 'x'.repeat(32) }, inner.bytes)],
      ['descriptor not JSON', () => volumeFile(good, inner.bytes, { descriptor: Buffer.alloc(512, 0x7b) })],
      ['descriptor JSON array', () => volumeFile(good, inner.bytes, { descriptor: Buffer.from('[1]'.padEnd(512, ' ')) })],
      ['descriptor declared 1024 bytes', () => volumeFile(good, inner.bytes, { descriptorSize: 1024 })],
      ['part entry renamed', () => volumeFile(good, inner.bytes, { partName: 'airlock-bundle/header' })],
      ['part entry a symlink', () => volumeFile(good, inner.bytes, { partType: 0x32 })],
      ['an extra zero block at the end', () => Buffer.concat([volumeFile(good, inner.bytes), Buffer.alloc(512)])],
      ['one byte short', () => volumeFile(good, inner.bytes).subarray(0, -1)],
      ['cut in the part', () => volumeFile(good, inner.bytes).subarray(0, 1536 + r.int(0, inner.bytes.length))],
      ['a volume inside a volume', () => volumeFile({ ...good, length: volumeFile(good, inner.bytes).length, part: hashBytes(volumeFile(good, inner.bytes)) }, volumeFile(good, inner.bytes))],
    ];
    const [what, build, valid] = r.pick(variants);
    return { detail: `${what}, part: ${inner.detail}`, bytes: build(), ...(valid && (intact || what.includes('part hash right')) ? { expectValid: valid } : {}) };
  },
  oversize(b, r) {
    const list = rawEntries(b);
    const variants: Array<[string, () => Buffer]> = [
      ['header declared 64 KiB + 1', () => declared(list, 0, LIMITS.headerBytes + 1)],
      ['tree declared 512 MiB + 1', () => declared(list, 1, LIMITS.treeStoredBytes + 1)],
      ['changes declared 512 MiB + 1', () => declared(list, 2, LIMITS.changesStoredBytes + 1)],
      ['tree declared 8 GiB', () => declared(list, 1, 8 * 2 ** 30)],
      ['seal declared 64 KiB + 1', () => declared(list, list.length - 1, LIMITS.sealBytes + 1)],
      ['object declared 2^53 - 1', () => declared(list, r.pick(b.objects).index, 2 ** 53 - 1)],
      ['object declared 8 GiB as .zst', () => declared(list, r.pick(b.objects).index, 8 * 2 ** 30, true)],
      ['header declared 60 KiB (under the limit, past the file)', () => declared(list, 0, 60 * 1024)],
      ['tree declared 100 MiB (under the limit, past the file)', () => declared(list, 1, 100 * 2 ** 20)],
      ['header data of 64 KiB + 1', () => assemble(withHeader(b, { ...b.headerRaw, padding: 'x'.repeat(LIMITS.headerBytes - b.entries[0]!.data.length) }), 'reseal')],
      ['seal data of 64 KiB + 1', () => assemble(b.entries, pack({ ...(decodeMsgpack(b.sealData) as object), padding: 'x'.repeat(LIMITS.sealBytes - b.sealData.length) }))],
    ];
    const [what, build] = r.pick(variants);
    return { detail: what, bytes: build() };
  },
};

/** The entries with entry i's header declaring `size` (data unchanged); optionally renamed to .zst. */
function declared(list: OutEntry[], i: number, size: number, zst = false): Buffer {
  const out = list.map((e) => ({ ...e }));
  const name = zst && !out[i]!.name.endsWith('.zst') ? `${out[i]!.name}.zst` : out[i]!.name;
  out[i] = { ...out[i]!, name, header: tarHeader({ name, size }) };
  return assemble(out, 'none');
}

/** A volume file (src/core/bundle/volume.ts): descriptor entry, part entry, end of archive. */
function volumeFile(d: VolumeDescriptor, part: Buffer, o: { descriptor?: Buffer; descriptorSize?: number; partName?: string; partType?: number } = {}): Buffer {
  const descriptor = o.descriptor ?? encodeDescriptor(d);
  return assemble(
    [
      { name: VOLUME_ENTRY, data: descriptor, header: tarHeader({ name: VOLUME_ENTRY, size: o.descriptorSize ?? descriptor.length }) },
      { name: o.partName ?? PART_ENTRY, data: part, header: tarHeader({ name: o.partName ?? PART_ENTRY, size: part.length, ...(o.partType ? { typeflag: o.partType } : {}) }) },
    ],
    'none',
  );
}

const MUTATORS: Record<string, Mutator> = { ...byteLevel, ...entryLevel, ...semantic };
/** How often each kind comes up, relative to the others. */
const WEIGHTS: Record<string, number> = {
  bitflip: 6,
  overwrite: 3,
  truncate: 3,
  splice: 2,
  trailing: 1,
  duplicate: 2,
  reorder: 2,
  remove: 2,
  rename: 4,
  typeflag: 1,
  'size-field': 2,
  'tar-field': 1,
  'resealed-structure': 2,
  'resealed-header': 2,
  'resealed-tree': 3,
  'resealed-changes': 1,
  'resealed-seal': 2,
  'object-data': 2,
  'object-bomb': 2,
  pack: 4,
  'metadata-zstd': 1,
  oversize: 1,
  volume: 2,
};
const SCHEDULE = Object.entries(WEIGHTS).flatMap(([kind, w]) => Array.from({ length: w }, () => kind));

function caseRandom(seed: number, index: number): Random {
  return new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

interface Case {
  index: number;
  kind: string;
  base: Base;
  mutant: Mutant;
}

function makeCase(bases: Base[], seed: number, index: number, kinds: readonly string[] = SCHEDULE): Case {
  const r = caseRandom(seed, index);
  const kind = kinds[index % kinds.length]!;
  const base = bases[r.int(0, bases.length - 1)]!;
  return { index, kind, base, mutant: MUTATORS[kind]!(base, r) };
}

function describeCase(c: Case, seed: number): string {
  return `case ${c.index} (seed ${seed}, ${c.base.label} bundle, ${c.kind}: ${c.mutant.detail}); replay: AIRLOCK_FUZZ_SEED=${seed} AIRLOCK_FUZZ_ONLY=${c.index} npx vitest run test/bundle/readBundle.fuzz.test.ts`;
}

/** True when `bytes` hold the same entries (names, sizes, content, order) as the base, per the tar rules. */
function sameView(b: Base, bytes: Buffer): boolean {
  const view = tarView(bytes);
  return view !== undefined && view.length === b.view.length && view.every((line, i) => line === b.view[i]);
}

/** Skip reason when the mutant is, byte for byte or to any reader, the bundle it came from. */
function sameBundle(c: Case): string | undefined {
  if (c.mutant.bytes.equals(c.base.bytes)) return 'identical bytes';
  if (sameView(c.base, c.mutant.bytes)) return 'same entries, names, sizes and content (only ignored tar fields differ)';
  return c.mutant.expectValid;
}

type Verdict = { accepted: true } | { accepted: false; error: unknown };

/**
 * What `airlock bundle verify FILE` runs (src/cli/commands/bundle.ts): a single volume of
 * several is checked alone, anything else is read whole (readBundle) and its signatures
 * reported. With `handlers`, readBundle alone with those handlers (what apply runs).
 */
async function verify(file: string, handlers?: Parameters<typeof readBundle>[1]): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no verdict after ${CASE_TIMEOUT_MS} ms (hang)`)), CASE_TIMEOUT_MS);
  });
  const run = async () => {
    if (handlers) return void (await readBundle(file, handlers));
    await verifyBundle([file], [], silentProgress);
  };
  try {
    await Promise.race([run(), timeout]);
    return { accepted: true };
  } catch (error) {
    return { accepted: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why a rejection is not acceptable, or undefined when it is. A volume's reader errors are
 * not prefixed with the file (readBundle only adds it for plain files): `lenientFile`.
 */
function badRejection(error: unknown, file: string, lenientFile = false): string | undefined {
  if (!(error instanceof AirlockError)) {
    const e = error as Error;
    return `not an AirlockError: ${e?.constructor?.name ?? typeof error}: ${e?.message ?? String(error)}\n${e?.stack ?? ''}`;
  }
  if (!INTEGRITY_CODES.includes(error.code)) return `code ${error.code} is not an integrity code: ${error.message} (where: ${error.where})`;
  if (error.message.trim() === '') return `${error.code} with an empty message`;
  if (error.code.startsWith('BUNDLE_')) {
    if (!error.where) return `${error.code} does not say where: ${error.message}`;
    if (!lenientFile && !error.where.startsWith(file)) return `${error.code} does not name the file (where: ${error.where}): ${error.message}`;
    if (!error.where.startsWith(file) && !/entry \d+|byte \d+|airlock-bundle\//.test(error.where)) return `${error.code} names no file, entry or offset (where: ${error.where}): ${error.message}`;
    if (error.where === file) return undefined; // a whole-file problem (volume size, descriptor): the file is the place
    if (!/entry \d+|byte \d+|airlock-bundle\//.test(error.where)) return `${error.code} names no entry or offset (where: ${error.where}): ${error.message}`;
  }
  return undefined;
}

function memory(): { rss: number; heap: number; peak: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, peak: process.resourceUsage().maxRSS * 1024 };
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

interface ChildVerdict {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
  result?: { accepted: boolean; name?: string; code?: string; message?: string; baseline: number; peak: number };
}

/**
 * readBundle (the compiled code `airlock bundle verify` runs) on `file` in a child process
 * with a capped JavaScript heap, reporting the verdict and the child's peak RSS.
 */
function childVerify(file: string, heapMiB = 1024, timeoutMs = 90_000): Promise<ChildVerdict> {
  const script = [
    'const { readBundle } = await import(process.argv[1]);',
    'const baseline = process.memoryUsage().rss;',
    'let out;',
    'try { await readBundle(process.argv[2]); out = { accepted: true }; }',
    'catch (e) { out = { accepted: false, name: e?.name, code: e?.code, message: e?.message }; }',
    'out.baseline = baseline; out.peak = process.resourceUsage().maxRSS * 1024;',
    'process.stdout.write(JSON.stringify(out));',
  ].join('\n');
  const module = pathToFileURL(join(projectRoot, 'dist', 'src', 'bundle', 'readBundle.js')).href;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, '--input-type=module', '-e', script, module, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString('utf8');
      let result: ChildVerdict['result'];
      try {
        result = text ? (JSON.parse(text) as ChildVerdict['result']) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ status, signal, stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started, ...(result ? { result } : {}) });
    });
  });
}

/**
 * Bombs in the metadata entries. The tree and the change list are decompressed whole and
 * decoded before the seal is checked, so these few kilobytes of zstd would make a naive
 * reader hold hundreds of megabytes or exhaust the JavaScript heap (an earlier reader
 * did: 2 GB of RSS, or an abort). They run in child processes (capped heap, own RSS),
 * started early so that they overlap the rest, so a crash or a gigabyte does not take the
 * test worker down with it. Sized to exceed MEMORY_BOUND 1.3 to 2 times if held.
 */
const TREE_BOMB_MIB = 160;
const BOMB_NILS = 24 * 2 ** 20;

function startBombs(base: Base, dir: string): Map<string, Promise<ChildVerdict>> {
  const runs = new Map<string, Promise<ChildVerdict>>();
  const bomb = (name: string, entries: OutEntry[]) => {
    const file = join(dir, `${name}.airlock`);
    fs.writeFileSync(file, assemble(entries, 'reseal'));
    runs.set(name, childVerify(file));
  };
  // tree.zst: a few KiB of zstd that expand to TREE_BOMB_MIB of zeros (under the 1 GiB limit).
  const treeBomb = base.entries.map((e) => ({ ...e }));
  treeBomb[1] = { name: ENTRY_TREE, data: zstdRleFrame(TREE_BOMB_MIB * 2 ** 20) };
  bomb('tree-zeros', treeBomb);
  // changes.zst: [[0,0,0,0], [nil x BOMB_NILS]]: 24 MiB of msgpack in under 1 KiB of zstd, decoded before the seal.
  const changesPrefix = Buffer.from([0x92, 0x94, 0, 0, 0, 0, 0xdd, 0, 0, 0, 0]);
  changesPrefix.writeUInt32BE(BOMB_NILS, 7);
  const changesBomb = base.entries.map((e) => ({ ...e }));
  changesBomb[2] = { name: ENTRY_CHANGES, data: Buffer.concat([compressBuffer(changesPrefix), zstdRleFrame(BOMB_NILS, { byte: 0xc0 })]) };
  bomb('changes-nils', changesBomb);
  // tree.zst whose bytes do hash to the header's `to` (a hostile writer sets both):
  // ["airlock-tree", 1, [nil x BOMB_NILS]], decoded in full before its first row is checked.
  const treePrefix = Buffer.concat([Buffer.from([0x93, 0xac]), Buffer.from('airlock-tree'), Buffer.from([0x01, 0xdd, 0, 0, 0, 0])]);
  treePrefix.writeUInt32BE(BOMB_NILS, 16);
  const decodeBomb = base.entries.map((e) => ({ ...e }));
  decodeBomb[0] = { name: ENTRY_HEADER, data: encodeMsgpack({ ...(base.headerRaw as Record<string, Canonical>), to: hashBytes(Buffer.concat([treePrefix, Buffer.alloc(BOMB_NILS, 0xc0)])) }) };
  decodeBomb[1] = { name: ENTRY_TREE, data: Buffer.concat([compressBuffer(treePrefix), zstdRleFrame(BOMB_NILS, { byte: 0xc0 })]) };
  bomb('tree-decode-nils', decodeBomb);
  return runs;
}

// ---------------------------------------------------------------------------------------

describe('bundle reader fuzz: every mutant of a real bundle is refused cleanly, in bounded memory', () => {
  let s: Scenario;
  let work: string;
  let failures: string;
  /** Where in-process mutants are written: memory-backed when the host has /dev/shm. */
  let scratch: string;
  let full: Base;
  let delta: Base;
  let packed: Base;
  let fullFile: string;
  let deltaFile: string;
  let packedFile: string;
  let bombs: Map<string, Promise<ChildVerdict>>;

  beforeAll(async () => {
    s = await onlineScenario(2, { packages: 8, payloadMedian: 3000 });
    fullFile = join(s.media, 'full.airlock');
    deltaFile = join(s.media, 'delta.airlock');
    packedFile = join(s.media, 'packed.airlock');
    // full: format 1 (every object in an entry of its own, raw and zstd); delta: format 2 as
    // written by default; packed: format 2 with a pack of 40 small files (metadata, as a binary
    // repository has) beside the package archives.
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', fullFile, '--bundle-format', '1']);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', deltaFile]);
    const small = join(s.root, 'small-files');
    fs.cpSync(s.mirror, small, { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(join(small, 'v3', `meta-${String(i).padStart(2, '0')}.json`), `{"package":"p${i}","rules":[${'"libfoo-dev",'.repeat(i % 7)}"x"]}\n`);
    fs.writeFileSync(join(small, 'v3', 'empty'), '');
    airlockOk(['snapshot', 'create', '--repo', s.repo, '--from', small, '--label', 'packed']);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'packed', '--output', packedFile]);
    full = loadBase('full', fullFile);
    delta = loadBase('delta', deltaFile);
    packed = loadBase('packed', packedFile);
    work = join(s.root, 'mutants');
    fs.mkdirSync(work);
    bombs = ONLY ? new Map() : startBombs(full, work);
    failures = join(tmpdir(), 'airlock-fuzz-failures');
    scratch = work;
    try {
      scratch = fs.mkdtempSync('/dev/shm/airlock-fuzz-');
    } catch {
      // no /dev/shm (macOS, some containers): the work dir will do
    }
  });

  afterAll(async () => {
    await Promise.allSettled(bombs?.values() ?? []);
    if (scratch && scratch !== work) fs.rmSync(scratch, { recursive: true, force: true });
    if (!s) return;
    if (process.env.AIRLOCK_FUZZ_KEEP === '1') console.log(`airlock fuzz: scenario and mutants kept in ${s.root}`);
    else fs.rmSync(s.root, { recursive: true, force: true });
  });

  it('starts from real bundles with raw and zstd objects that verify, and that the mutation tools rebuild byte for byte', async () => {
    expect(full.header.format).toBe(1);
    expect(full.objects.some((o) => o.compressed), 'the format-1 bundle has a zstd object').toBe(true);
    expect(full.packs).toEqual([]);
    expect(packed.header.format).toBe(2);
    expect(packed.packs.length).toBe(1);
    expect(packed.packs[0]!.objects.length).toBeGreaterThanOrEqual(41);
    expect(packed.packs[0]!.objects.some((o) => o.size === 0), 'an empty object is packed').toBe(true);
    for (const [b, file] of [[full, fullFile], [delta, deltaFile], [packed, packedFile]] as const) {
      expect(b.objects.some((o) => !o.compressed), `${b.label} has a raw object`).toBe(true);
      expect(assemble(b.entries, 'reseal').equals(b.bytes), `${b.label}: entries + a fresh seal give the original bytes`).toBe(true);
      expect(assemble(rawEntries(b), 'none').equals(b.bytes)).toBe(true);
      expect((await verify(file)).accepted).toBe(true);
    }
    expect(delta.header.kind).toBe('delta');
    expect(delta.uncarried.length).toBeGreaterThan(0);
    // The hand-made frames decode as intended (small sizes only).
    for (const [frame, size] of [
      [zstdRleFrame(300_000), 300_000],
      [zstdRleFrame(5, { byte: 0xc0 }), 5],
      [Buffer.concat([zstdSkippableFrame(3), zstdRleFrame(131072)]), 131072],
    ] as const) {
      const d = new ZstdDecoder();
      expect([...d.decode(frame)].reduce((n, p) => n + p.length, 0)).toBe(size);
      expect(d.complete).toBe(true);
    }
  });

  it('refuses an object carried twice even when the header announces the copy, which only the record of objects seen can tell', async () => {
    // A delta carries only some of its tree's objects, so no other count gives the copy away.
    const o = delta.objects[0]!;
    const list = delta.entries.map((e) => ({ ...e }));
    list.splice(o.index + 1, 0, list[o.index]!);
    const h = headerWith(delta, (raw) => {
      const objects = raw.objects as { count: number; bytes: number };
      objects.count += 1;
      objects.bytes += o.size;
    });
    list[0] = { name: ENTRY_HEADER, data: encodeMsgpack(h as Canonical) };
    const file = join(work, 'duplicate-announced.airlock');
    fs.writeFileSync(file, assemble(list, 'reseal'));
    const verdict = await verify(file);
    expect(verdict.accepted).toBe(false);
    expect(String((verdict as { error: Error }).error.message)).toMatch(new RegExp(`object ${o.id.slice(0, 12)} appears twice`));
  });

  it(`refuses ${ONLY ? ONLY.size : CASES} mutants in-process (the \`bundle verify\` path) with integrity errors, saying where, memory bounded`, async () => {
    const perKind = new Map<string, number>();
    const perCode = new Map<string, number>();
    const skipped = new Map<string, number>();
    const problems: Array<{ index: number; text: string }> = [];
    const whereless = new Map<string, string>();
    /** Distinct refusals (numbers and ids blanked): which checks the mutants reached. */
    const messages = new Map<string, number>();
    const running = new Map<number, string>();
    onTestFailed(() => console.error(`airlock fuzz: failed while these cases ran:\n${[...running.values()].join('\n')}`));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const started = Date.now();
    // Warm up (module loading, first zstd context) before taking the baseline.
    await verify(fullFile);
    await verify(deltaFile);
    const baseline = memory();
    const worst = { rss: 0, heap: 0, peak: 0 };
    let stop = false;
    const keepFailure = (c: Case): string => {
      fs.mkdirSync(failures, { recursive: true });
      const kept = join(failures, `seed-${SEED}-case-${c.index}.airlock`);
      fs.writeFileSync(kept, c.mutant.bytes);
      return `\n  the mutant is kept in ${kept}`;
    };
    const runCase = async (index: number, slot: number) => {
      const c = makeCase([full, delta, packed], SEED, index);
      const text = describeCase(c, SEED);
      running.set(slot, text);
      const same = sameBundle(c);
      const file = join(scratch, `mutant-${slot}.airlock`);
      fs.writeFileSync(file, c.mutant.bytes);
      const verdict = await verify(file);
      running.delete(slot);
      if (same !== undefined) {
        // Not a mutation of the bundle's meaning: the reader must accept it (and it is not counted).
        skipped.set(same, (skipped.get(same) ?? 0) + 1);
        if (!verdict.accepted) problems.push({ index, text: `${text}\n  the mutant is still a valid bundle (${same}) but was refused: ${String((verdict.error as Error).message)}` });
        return;
      }
      perKind.set(c.kind, (perKind.get(c.kind) ?? 0) + 1);
      if (verdict.accepted) {
        problems.push({ index, text: `${text}\n  ACCEPTED${keepFailure(c)}` });
      } else {
        const bad = badRejection(verdict.error, file, c.kind === 'volume');
        if (bad) {
          problems.push({ index, text: `${text}\n  ${bad}${keepFailure(c)}` });
        } else {
          const err = verdict.error as AirlockError;
          perCode.set(err.code, (perCode.get(err.code) ?? 0) + 1);
          const shape = `${err.code}: ${err.message.replace(/[0-9a-f]{12,}/g, '<id>').replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 110)}`;
          messages.set(shape, (messages.get(shape) ?? 0) + 1);
          const where = err.where === undefined ? 'no where' : !err.where.startsWith(file) ? 'where without the file' : undefined;
          const key = `${err.code} ${where} (${c.kind})`;
          if (where && !whereless.has(key)) whereless.set(key, err.message.length > 90 ? `${err.message.slice(0, 90)}...` : err.message);
        }
      }
      const m = memory();
      worst.rss = Math.max(worst.rss, m.rss - baseline.rss);
      worst.heap = Math.max(worst.heap, m.heap - baseline.heap);
      worst.peak = Math.max(worst.peak, m.peak - Math.max(baseline.peak, baseline.rss));
      if (m.rss - baseline.rss > MEMORY_BOUND || m.heap - baseline.heap > MEMORY_BOUND || m.peak > Math.max(baseline.peak, baseline.rss + MEMORY_BOUND)) {
        problems.push({ index, text: `${text}\n  memory over the bound (this case or one running beside it): rss +${MiB(m.rss - baseline.rss)}, heap +${MiB(m.heap - baseline.heap)}, peak rss ${MiB(m.peak)} (baseline rss ${MiB(baseline.rss)})` });
        stop = true;
      }
      if (problems.length >= 25) stop = true;
    };
    // A few readers at a time: each spends most of its few milliseconds waiting for file reads.
    const indices = ONLY ? [...ONLY].sort((a, b) => a - b) : Array.from({ length: CASES }, (_, i) => i);
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, slot) => {
          while (!stop && next < indices.length) await runCase(indices[next++]!, slot);
        }),
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    const tested = [...perKind.values()].reduce((a, n) => a + n, 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `airlock fuzz (seed ${SEED}): ${tested} mutants in ${seconds} s, ${problems.length === 0 ? 'all refused' : `${problems.length} PROBLEMS`}; ` +
        `by kind: ${[...perKind].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `by code: ${[...perCode].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `skipped as still valid: ${[...skipped].map(([k, n]) => `${n} (${k})`).join(', ') || 'none'}; ` +
        `memory: rss +${MiB(worst.rss)}, heap +${MiB(worst.heap)}, peak +${MiB(Math.max(0, worst.peak))} over baseline (${PARALLEL} readers at a time)`,
    );
    problems.sort((a, b) => a.index - b.index);
    if (process.env.AIRLOCK_FUZZ_MESSAGES === '1') console.log([...messages].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${String(n).padStart(6)}  ${m}`).join('\n'));
    console.log(`airlock fuzz: ${messages.size} distinct refusals (AIRLOCK_FUZZ_MESSAGES=1 lists them)`);
    if (whereless.size > 0) console.log(`airlock fuzz: rejections whose where lacks the file or is absent (not failures): ${[...whereless].map(([what, msg]) => `${what}, e.g. "${msg}"`).join('; ')}`);
    expect(unhandled.map(String), 'unhandled rejections during the fuzz').toEqual([]);
    expect(problems.map((p) => p.text), problems.map((p) => p.text).join('\n\n')).toEqual([]);
    if (!ONLY && CASES >= 10 * SCHEDULE.length) {
      // Every kind ran.
      for (const kind of Object.keys(WEIGHTS)) expect(perKind.get(kind) ?? 0, `mutants of kind ${kind}`).toBeGreaterThan(Math.min(5, CASES / SCHEDULE.length / 4));
    }
  });

  it.skipIf(ONLY !== undefined || CLI_CASES === 0)(`through the real CLI: ${CLI_CASES} refused delta mutants exit 3 and leave the live data, state and neighbours as they were`, async () => {
    airlockOk(['apply', fullFile, '--data-dir', s.dataDir]);
    const parent = join(s.root, 'offline');
    const stateDir = `${s.dataDir}.airlock`;
    const tmp = join(stateDir, 'tmp');
    const outside = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('/rspm-offline-data.airlock/tmp'))
        .join('\n');
    const beforeLive = liveView(s.dataDir);
    const beforeTree = outside(fingerprint(parent));
    const beforeRoot = fs.readdirSync(s.root).sort();
    const status = () => JSON.stringify(airlockJson(['status', '--data-dir', s.dataDir]));
    /** What apply checks in the header before it reads on (checkBase, checkSequence, checkSpace), with a wide margin on space. */
    const applyTakesHeader = (h: BundleHeader) =>
      h.kind === 'delta' &&
      h.from === delta.header.from &&
      h.to !== delta.header.from &&
      h.target.sequence > 1 &&
      h.objects.bytes <= delta.header.objects.bytes * 4 + 2 ** 20 &&
      h.target.bytes <= delta.header.target.bytes * 4 + 2 ** 20;
    const emptyDirsLeft = new Set<string>();
    /**
     * Nothing may appear, change or go under the data dir's parent, tmp/ aside (checked
     * separately). The one allowance: an empty directory of the object store's fan-out
     * (objects/v1/ab), which a refused apply may leave after taking its imports back.
     */
    const unexpectedChanges = (before: string, after: string): string[] => {
      const was = new Set(before.split('\n'));
      const is = new Set(after.split('\n'));
      const out: string[] = [];
      for (const line of was) if (!is.has(line)) out.push(`changed or removed: ${line}`);
      for (const line of is) {
        if (was.has(line)) continue;
        const dir = /^(\/rspm-offline-data\.airlock\/objects\/[^ ]+) dir$/.exec(line);
        if (dir && fs.readdirSync(join(parent, dir[1]!)).length === 0) {
          emptyDirsLeft.add(dir[1]!);
          continue;
        }
        out.push(`new: ${line}`);
      }
      return out;
    };
    const beforeStatus = status();
    const bases = [delta];
    // One kind after another, so that the few CLI cases spread over all of them.
    const kinds = Object.keys(WEIGHTS);
    const file = join(work, 'cli-mutant.airlock');
    const perKind = new Map<string, number>();
    const noWhere = new Set<string>();
    let current = '';
    onTestFailed(() => console.error(`airlock fuzz (CLI): failed at ${current}`));
    let index = 0;
    let done = 0;
    const started = Date.now();
    while (done < CLI_CASES && index < CLI_CASES * 20) {
      const c = makeCase(bases, SEED + 1, index++, kinds);
      current = describeCase(c, SEED + 1).replace(/replay: .*/, `replay: AIRLOCK_FUZZ_SEED=${SEED} AIRLOCK_FUZZ_CASES=0 npx vitest run test/bundle/readBundle.fuzz.test.ts -t 'real CLI'`);
      if (sameBundle(c) !== undefined) continue;
      fs.writeFileSync(file, c.mutant.bytes);
      // apply judges the header before reading on, and may refuse a well-formed but different
      // one on its own grounds (base, rollback, space: exit 4 or 5, not a verification
      // failure); such mutants are left to the in-process fuzz. Here: mutants whose header is
      // refused as damaged, or passes apply's checks (as the original does).
      let seenHeader: BundleHeader | undefined;
      const inProcess = await verify(file, { onHeader: (h) => void (seenHeader = h) });
      if (inProcess.accepted) throw new Error(`${current}: accepted in-process`);
      if (seenHeader !== undefined && !applyTakesHeader(seenHeader)) continue;
      const code = (inProcess.error as AirlockError).code;
      const result = airlock(['apply', file, '--data-dir', s.dataDir]);
      expect(result.status, `${current}\n${result.stderr}`).toBe(3);
      expect(result.stderr, current).toContain(`airlock: error [${code}]`);
      // BUNDLE_* errors name the file (and entry, offset); the others may not (reported in the summary).
      if (code.startsWith('BUNDLE_')) expect(result.stderr, current).toMatch(/where: .*cli-mutant\.airlock/);
      else if (!/where: /.test(result.stderr)) noWhere.add(`${code} (${c.kind})`);
      expect(liveView(s.dataDir), current).toBe(beforeLive);
      expect(unexpectedChanges(beforeTree, outside(fingerprint(parent))), current).toEqual([]);
      expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], `${current}: staging left behind`).toEqual([]);
      expect(fs.readdirSync(s.root).sort(), current).toEqual(beforeRoot);
      if (done % 10 === 9) expect(status(), current).toBe(beforeStatus);
      perKind.set(c.kind, (perKind.get(c.kind) ?? 0) + 1);
      done++;
    }
    expect(status()).toBe(beforeStatus);
    expect(done).toBe(CLI_CASES);
    for (const p of ['airlock-fuzz-escape', join('..', 'airlock-fuzz-escape')]) {
      for (const dir of [s.root, parent, stateDir, tmpdir(), process.cwd()]) expect(fs.existsSync(join(dir, p)), join(dir, p)).toBe(false);
    }
    console.log(
      `airlock fuzz (CLI apply): ${done} delta mutants, all exit 3 with the live data, state and status unchanged, in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${emptyDirsLeft.size ? `${emptyDirsLeft.size} empty store directories left; ` : ''}${noWhere.size ? `errors printed without a where: ${[...noWhere].join(', ')}; ` : ''}by kind: ${[...perKind].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    // The data dir still takes the real delta.
    airlockOk(['apply', deltaFile, '--data-dir', s.dataDir]);
  });

  /** The metadata bombs of startBombs: refused, and in bounded memory. */
  describe.skipIf(ONLY !== undefined)('metadata bombs, in a child process with its own memory accounting', () => {
    
    it('refuses each with an integrity error (the reader process survives)', async () => {
      for (const [name, run] of bombs) {
        const v = await run;
        expect(v.status, `${name}: the reader process died (${v.signal ?? v.status}): ${v.stderr.slice(-2000)}`).toBe(0);
        expect(v.result?.accepted, name).toBe(false);
        expect(INTEGRITY_CODES, `${name}: ${v.result?.name} ${v.result?.code}: ${v.result?.message}`).toContain(v.result?.code);
      }
      expect([...bombs.keys()].sort()).toEqual(['changes-nils', 'tree-decode-nils', 'tree-zeros']);
    });

    const bounded = async (name: string) => {
      const v = await bombs.get(name)!;
      const grew = v.result!.peak - v.result!.baseline;
      console.log(`airlock fuzz bomb ${name}: refused ${v.result?.code} in ${v.ms} ms, peak RSS +${MiB(grew)}`);
      expect(grew, `${name}: peak RSS grew by ${MiB(grew)} (${v.result?.code}: ${v.result?.message}) in ${v.ms} ms`).toBeLessThanOrEqual(MEMORY_BOUND);
    };

    it(`a tree.zst of ${TREE_BOMB_MIB / 32} KiB expanding to ${TREE_BOMB_MIB} MiB of zeros is refused once it outgrows the header's file count`, () => bounded('tree-zeros'));
    it(`a change list of ${BOMB_NILS / 2 ** 20} Mi msgpack nils (1 KiB of zstd) is refused at its first row, nothing allocated for the rest`, () => bounded('changes-nils'));
    it(`a tree of ${BOMB_NILS / 2 ** 20} Mi nils whose hash matches a forged header is refused before its rows are read`, () => bounded('tree-decode-nils'));
  });
});
