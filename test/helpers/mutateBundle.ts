import { Blake3Hasher } from '@napi-rs/blake-hash';
import { BUNDLE_FORMAT, encodeSeal, ENTRY_SEAL, entryRecord, SEAL_MAGIC } from '../../src/core/bundle/format.js';
import { encodeTarHeader, END_OF_ARCHIVE, paddingFor } from '../../src/core/bundle/tarHeader.js';
import { BLOCK, headerChecksum } from '../../src/core/bundle/tarParser.js';
import { hashBytes } from '../../src/core/objectId.js';

/**
 * Byte-level surgery on bundles for the fuzz test (test/bundle/readBundle.fuzz.test.ts):
 * split a real bundle into its entries, put entries back together with hand-made tar
 * headers (valid checksums, so a mutation reaches the airlock-level checks rather than
 * stopping at the tar layer), re-seal, build zstd frames by hand (decompression bombs),
 * and an independent model of the reader's tar rules that tells whether a mutant is, in
 * fact, still the same bundle (a mutation the format does not see, to be skipped).
 */

/** One entry of a well-formed bundle, where it lies in the file. */
export interface SplitEntry {
  name: string;
  data: Buffer;
  /** The 512-byte header block as written. */
  header: Buffer;
  headerOffset: number;
  dataOffset: number;
  /** Offset just after the padding (the next header). */
  endOffset: number;
}

export interface SplitBundle {
  bytes: Buffer;
  entries: SplitEntry[];
  /** Offset of the end-of-archive marker. */
  trailerOffset: number;
}

/** Splits a bundle airlock wrote (trusted input: throws on anything unexpected). */
export function splitBundle(bytes: Buffer): SplitBundle {
  const entries: SplitEntry[] = [];
  let at = 0;
  for (;;) {
    if (at + BLOCK > bytes.length) throw new Error(`splitBundle: no end-of-archive marker before byte ${at}`);
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const view = readHeaderBlock(header);
    if (!view.ok) throw new Error(`splitBundle: bad header at ${at}: ${view.reason}`);
    const dataOffset = at + BLOCK;
    const data = bytes.subarray(dataOffset, dataOffset + view.size);
    const endOffset = dataOffset + view.size + paddingFor(view.size).length;
    entries.push({ name: view.name, data: Buffer.from(data), header: Buffer.from(header), headerOffset: at, dataOffset, endOffset });
    at = endOffset;
  }
  return { bytes, entries, trailerOffset: at };
}

/** What goes into a mutant: an entry's data and, optionally, a hand-made header block or padding. */
export interface OutEntry {
  name: string;
  data: Buffer;
  header?: Buffer;
  padding?: Buffer;
  /** What the reader will see as this entry's size, for the seal chain; default data.length. */
  sealSize?: number;
}

/**
 * Lays entries out as a tar stream. `seal`: 'reseal' appends a seal that correctly binds the
 * entries as given (what a hostile writer could make), 'none' appends nothing (the seal must
 * then be among the entries, or absent), or a Buffer: those seal bytes as the last entry.
 */
export function assemble(entries: readonly OutEntry[], seal: 'reseal' | 'none' | Buffer, trailer: Buffer = END_OF_ARCHIVE): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(e.header ?? tarHeader({ name: e.name, size: e.data.length }), e.data, e.padding ?? paddingFor(e.data.length));
  }
  if (seal !== 'none') {
    const data = seal === 'reseal' ? sealFor(entries) : seal;
    parts.push(tarHeader({ name: ENTRY_SEAL, size: data.length }), data, paddingFor(data.length));
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** A format-1 seal binding `entries` in order (no signatures). */
export function sealFor(entries: readonly OutEntry[], override: { entries?: number; chain?: string } = {}): Buffer {
  const chain = new Blake3Hasher();
  for (const e of entries) chain.update(entryRecord(e.name, e.sealSize ?? e.data.length, hashBytes(e.data)));
  return encodeSeal({ magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: override.entries ?? entries.length, chain: override.chain ?? chain.digest('hex'), signatures: [] });
}

export interface HeaderOptions {
  /** The entry name; names that ustar cannot split are put in the fields raw (see nameBytes). */
  name?: string;
  size?: number;
  /** Raw bytes for the name field (at most 100) and the prefix field (at most 155), instead of `name`. */
  nameBytes?: Buffer;
  prefixBytes?: Buffer;
  /** Raw bytes for the 12-byte size field, instead of `size`. */
  sizeField?: Buffer;
  typeflag?: number;
  magic?: string;
  version?: string;
  /** Raw bytes (8) for the checksum field; default: the correct checksum. */
  checksumField?: Buffer;
}

/**
 * A 512-byte ustar header block, from the project's own encoder (tarHeader.ts), with the
 * requested fields overwritten and the checksum recomputed so the block is valid tar.
 */
export function tarHeader(options: HeaderOptions): Buffer {
  const size = options.size ?? 0;
  const name = options.name ?? '';
  const simple = Buffer.byteLength(name) === name.length && name.length <= 100 && options.nameBytes === undefined && options.prefixBytes === undefined;
  const block = encodeTarHeader(simple ? name : 'x', size);
  if (!simple) {
    block.fill(0, 0, 100);
    block.fill(0, 345, 500);
    const nameBytes = options.nameBytes ?? Buffer.from(name, 'utf8');
    if (options.nameBytes === undefined && options.prefixBytes === undefined && nameBytes.length > 100) {
      // ustar's split at a '/', as far right as the fields allow; else just cut (the reader sees what it sees).
      const cut = name.lastIndexOf('/', 155);
      if (cut > 0 && Buffer.byteLength(name.slice(cut + 1)) <= 100 && Buffer.byteLength(name.slice(0, cut)) <= 155) {
        Buffer.from(name.slice(cut + 1), 'utf8').copy(block, 0);
        Buffer.from(name.slice(0, cut), 'utf8').copy(block, 345);
      } else {
        nameBytes.copy(block, 0, 0, 100);
        nameBytes.copy(block, 345, 100, 255);
      }
    } else {
      nameBytes.copy(block, 0, 0, Math.min(100, nameBytes.length));
      options.prefixBytes?.copy(block, 345, 0, Math.min(155, options.prefixBytes.length));
    }
  }
  if (options.sizeField) options.sizeField.copy(block, 124, 0, 12);
  if (options.typeflag !== undefined) block[156] = options.typeflag;
  if (options.magic !== undefined) block.write(options.magic.padEnd(6, '\0').slice(0, 6), 257, 'latin1');
  if (options.version !== undefined) block.write(options.version.padEnd(2, '\0').slice(0, 2), 263, 'latin1');
  fixChecksum(block);
  if (options.checksumField) options.checksumField.copy(block, 148, 0, 8);
  return block;
}

/** Rewrites a header block's checksum field to match its content (6 octal digits, space, NUL). */
export function fixChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  block.write(`${headerChecksum(block).toString(8).padStart(6, '0')} \0`, 148, 'latin1');
  return block;
}

/** A 12-byte size field: GNU base-256 (0x80 then 11 big-endian bytes), for any value up to 2^88. */
export function base256Size(value: bigint): Buffer {
  const field = Buffer.alloc(12);
  field[0] = 0x80;
  let rest = value;
  for (let i = 11; i >= 1; i--) {
    field[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return field;
}

/** A 12-byte octal size field as written (`text` padded with NULs). */
export function octalSizeField(text: string): Buffer {
  const field = Buffer.alloc(12);
  field.write(text.slice(0, 12), 0, 'latin1');
  return field;
}

// ---------------------------------------------------------------------------------------
// An independent model of the reader's tar rules (docs/bundle-format.md, "The container").

type HeaderView = { ok: true; name: string; size: number } | { ok: false; reason: string };

function octalField(field: Buffer): number | undefined {
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

function cField(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? length : end);
}

function readHeaderBlock(block: Buffer): HeaderView {
  const stored = octalField(block.subarray(148, 156));
  let sum = 256;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  if (stored === undefined || stored !== sum) return { ok: false, reason: 'checksum' };
  if (block.toString('latin1', 257, 263) !== 'ustar\0' || block.toString('latin1', 263, 265) !== '00') return { ok: false, reason: 'magic' };
  if (block[156] !== 0x30) return { ok: false, reason: 'typeflag' };
  let size: number | undefined;
  if (block[124] === 0x80) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = v * 256n + BigInt(block[i]!);
    size = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  } else {
    size = octalField(block.subarray(124, 136));
  }
  if (size === undefined) return { ok: false, reason: 'size' };
  const prefix = cField(block, 345, 155);
  const name = cField(block, 0, 100);
  return { ok: true, name: prefix ? `${prefix}/${name}` : name, size };
}

/**
 * What the bundle means to a reader, per the tar rules alone: the entries' names, sizes
 * and content hashes in order, or undefined when the tar layer itself is invalid. Two files
 * with the same view are the same bundle, whatever else differs (checksum field spelling,
 * ignored header fields, a name split differently between prefix and name, trailing zeros).
 */
export function tarView(bytes: Buffer): string[] | undefined {
  const out: string[] = [];
  let at = 0;
  let zeros = 0;
  while (zeros < 2) {
    if (at + BLOCK > bytes.length) return undefined;
    const block = bytes.subarray(at, at + BLOCK);
    at += BLOCK;
    if (block.every((b) => b === 0)) {
      zeros++;
      continue;
    }
    if (zeros > 0) return undefined;
    const h = readHeaderBlock(block);
    if (!h.ok) return undefined;
    if (at + h.size > bytes.length) return undefined;
    out.push(`${JSON.stringify(h.name)} ${h.size} ${hashBytes(bytes.subarray(at, at + h.size))}`);
    at += h.size;
    const pad = paddingFor(h.size).length;
    if (at + pad > bytes.length) return undefined;
    if (!bytes.subarray(at, at + pad).every((b) => b === 0)) return undefined;
    at += pad;
  }
  return bytes.subarray(at).every((b) => b === 0) ? out : undefined;
}

// ---------------------------------------------------------------------------------------
// Hand-made zstd frames (RFC 8878), for bombs that would take gigabytes to make by compressing.

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const MAX_BLOCK = 128 * 1024;

export interface RleFrameOptions {
  /** The byte repeated; default 0. */
  byte?: number;
  /** log2 of the window the frame asks for, 10..31 (libzstd refuses more than 27 by default). Default 17. */
  windowLog?: number;
  /** Declare this content size in the frame header (8-byte field); default: no size declared. */
  declaredSize?: bigint;
}

/**
 * One zstd frame made of RLE blocks (4 bytes for each 128 KiB of output): `output` bytes of
 * `byte` in about output/32768 bytes. 1 GiB of zeros is a 32 KiB frame.
 */
export function zstdRleFrame(output: number, options: RleFrameOptions = {}): Buffer {
  const windowLog = options.windowLog ?? 17;
  const blockSize = Math.min(MAX_BLOCK, 2 ** windowLog);
  const blocks = Math.max(1, Math.ceil(output / blockSize));
  const parts: Buffer[] = [ZSTD_MAGIC];
  if (options.declaredSize === undefined) {
    parts.push(Buffer.from([0x00, (windowLog - 10) << 3])); // no content size, no checksum; window descriptor
  } else {
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(options.declaredSize);
    parts.push(Buffer.from([0xc0, (windowLog - 10) << 3]), fcs); // FCS field 8 bytes, not single-segment
  }
  const body = Buffer.alloc(blocks * 4);
  let left = output;
  for (let i = 0; i < blocks; i++) {
    const size = Math.min(blockSize, left);
    left -= size;
    const last = i === blocks - 1 ? 1 : 0;
    body.writeUIntLE(last | (1 << 1) | (size << 3), i * 4, 3); // Last_Block, Block_Type = RLE, Block_Size
    body[i * 4 + 3] = options.byte ?? 0;
  }
  parts.push(body);
  return Buffer.concat(parts);
}

/** A skippable frame (magic 0x184D2A50) carrying `size` bytes: valid zstd that produces nothing. */
export function zstdSkippableFrame(size: number, fill = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50, 0);
  head.writeUInt32LE(size, 4);
  return Buffer.concat([head, Buffer.alloc(size, fill)]);
}
