import { decodeSignatures, encodeSignature, type BundleSignature } from './signature.js';
import { AirlockError } from '../../errors.js';
import { decodeMsgpack, encodeMsgpack, isRecord, isUint } from '../canonical.js';
import { isObjectId, type ObjectId } from '../objectId.js';
import type { SnapshotId } from '../manifest.js';

/**
 * The bundle container, specified in docs/bundle-format.md. A bundle is a POSIX ustar
 * stream (so `tar tvf` lists it) whose entries come in this order:
 *
 *   airlock-bundle/header        msgpack map, BundleHeader
 *   airlock-bundle/tree.zst      zstd of the canonical target tree
 *   airlock-bundle/changes.zst   zstd of msgpack BundleChanges (what changed, for inspect)
 *   objects/<id> | objects/<id>.zst   each object the receiver lacks, exactly once
 *   packs/<n>.zst                (format 2 only) many small objects in one entry, pack.ts
 *   airlock-bundle/seal          msgpack map, BundleSeal; binds every entry before it
 *
 * Format 1 has no packs; format 2 is format 1 plus packs. A writer writes format 2 only
 * when its plan holds an object small enough to pack, so a bundle of package archives
 * alone stays readable by an airlock that knows only format 1.
 */
export const BUNDLE_MAGIC = 'airlock-bundle';
export const SEAL_MAGIC = 'airlock-seal';
/** The first format, and the seal's format in every bundle format. */
export const BUNDLE_FORMAT = 1;
/** Format 1 plus packs/<n>.zst entries. */
export const PACKED_BUNDLE_FORMAT = 2;
export type BundleFormat = typeof BUNDLE_FORMAT | typeof PACKED_BUNDLE_FORMAT;
export const READABLE_FORMATS: readonly BundleFormat[] = [BUNDLE_FORMAT, PACKED_BUNDLE_FORMAT];

export const ENTRY_HEADER = 'airlock-bundle/header';
export const ENTRY_TREE = 'airlock-bundle/tree.zst';
export const ENTRY_CHANGES = 'airlock-bundle/changes.zst';
export const ENTRY_SEAL = 'airlock-bundle/seal';
export const OBJECT_PREFIX = 'objects/';
export const ZSTD_SUFFIX = '.zst';

/**
 * Upper bounds on what a reader will hold in memory, checked before allocating. A tree
 * of a million files (all of CRAN's archive with binaries for a dozen platforms) encodes
 * to about 100 MiB, so 256 MiB leaves room; the tree is further bounded by the file count
 * the header announces (maxEncodedTreeBytes). The change list holds one row per package.
 */
export const LIMITS = {
  headerBytes: 64 * 1024,
  sealBytes: 64 * 1024,
  treeStoredBytes: 256 * 1024 * 1024,
  treeBytes: 256 * 1024 * 1024,
  changesStoredBytes: 64 * 1024 * 1024,
  changesBytes: 64 * 1024 * 1024,
} as const;

export type BundleKind = 'full' | 'delta';

export interface BundleTarget {
  label: string | null;
  parent: SnapshotId | null;
  createdAt: string;
  sequence: number;
  files: number;
  bytes: number;
}

export interface BundleHeader {
  magic: typeof BUNDLE_MAGIC;
  format: BundleFormat;
  kind: BundleKind;
  /** The snapshot the receiver must hold (null for a full bundle). */
  from: SnapshotId | null;
  to: SnapshotId;
  target: BundleTarget;
  createdAt: string;
  tool: string;
  /** Objects carried: how many, and their total uncompressed size. */
  objects: { count: number; bytes: number };
}

export interface BundleSeal {
  magic: typeof SEAL_MAGIC;
  format: typeof BUNDLE_FORMAT;
  /** Entries before the seal, header included. */
  entries: number;
  /** BLAKE3 chain over every entry record (see entryRecord), lowercase hex. */
  chain: string;
  /** Ed25519 signatures over `entries` and `chain` (signature.ts); empty when unsigned. */
  signatures: BundleSignature[];
}

export function objectEntryName(id: ObjectId, compressed: boolean): string {
  return `${OBJECT_PREFIX}${id}${compressed ? ZSTD_SUFFIX : ''}`;
}

/** Parses `objects/<id>[.zst]`; undefined for anything else. */
export function parseObjectEntryName(name: string): { id: ObjectId; compressed: boolean } | undefined {
  if (!name.startsWith(OBJECT_PREFIX)) return undefined;
  const rest = name.slice(OBJECT_PREFIX.length);
  const compressed = rest.endsWith(ZSTD_SUFFIX);
  const id = compressed ? rest.slice(0, -ZSTD_SUFFIX.length) : rest;
  return isObjectId(id) ? { id, compressed } : undefined;
}

/** Keys in this order; see docs/bundle-format.md. */
export function encodeHeader(h: BundleHeader): Buffer {
  const t = h.target;
  return encodeMsgpack({
    magic: h.magic,
    format: h.format,
    kind: h.kind,
    from: h.from,
    to: h.to,
    target: { label: t.label, parent: t.parent, createdAt: t.createdAt, sequence: t.sequence, files: t.files, bytes: t.bytes },
    createdAt: h.createdAt,
    tool: h.tool,
    objects: { count: h.objects.count, bytes: h.objects.bytes },
  });
}

function corrupt(message: string, where: string): AirlockError {
  return new AirlockError('BUNDLE_CORRUPT', message, {
    where,
    hint: 'the bundle is damaged or was not written by airlock; copy it again from the online host and run `airlock bundle verify FILE`',
  });
}

function isSnapshotIdOrNull(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && isObjectId(value));
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

export function decodeHeader(bytes: Uint8Array): BundleHeader {
  const where = ENTRY_HEADER;
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch {
    throw corrupt('the bundle header is not valid msgpack', where);
  }
  if (!isRecord(raw) || raw.magic !== BUNDLE_MAGIC) throw corrupt('this file is not an airlock bundle (no header magic)', where);
  const format = raw.format;
  if (!READABLE_FORMATS.includes(format as BundleFormat)) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `bundle format ${typeof format === 'string' ? JSON.stringify(format) : String(format)} is not supported (this airlock reads formats ${READABLE_FORMATS.join(' and ')})`, {
      where,
      hint: 'upgrade airlock on this host to the version that wrote the bundle',
    });
  }
  const { kind, from, to, target, objects, createdAt, tool } = raw;
  if (kind !== 'full' && kind !== 'delta') throw corrupt('the header has an unknown bundle kind', where);
  if (!isSnapshotIdOrNull(from) || typeof to !== 'string' || !isObjectId(to)) throw corrupt('the header has invalid snapshot ids', where);
  if ((kind === 'full') !== (from === null)) throw corrupt('the header kind and base snapshot disagree', where);
  if (typeof createdAt !== 'string' || typeof tool !== 'string') throw corrupt('the header lacks its creation time or tool', where);
  if (!isRecord(objects) || !isUint(objects.count) || !isUint(objects.bytes)) throw corrupt('the header object counts are invalid', where);
  if (
    !isRecord(target) ||
    !isStringOrNull(target.label) ||
    !isSnapshotIdOrNull(target.parent) ||
    typeof target.createdAt !== 'string' ||
    !isUint(target.sequence) ||
    !isUint(target.files) ||
    !isUint(target.bytes)
  ) {
    throw corrupt('the header target description is invalid', where);
  }
  return {
    magic: BUNDLE_MAGIC,
    format: format as BundleFormat,
    kind,
    from,
    to,
    createdAt,
    tool,
    objects: { count: objects.count, bytes: objects.bytes },
    target: {
      label: target.label,
      parent: target.parent,
      createdAt: target.createdAt,
      sequence: target.sequence,
      files: target.files,
      bytes: target.bytes,
    },
  };
}

export function encodeSeal(seal: BundleSeal): Buffer {
  return encodeMsgpack({ magic: seal.magic, format: seal.format, entries: seal.entries, chain: seal.chain, signatures: seal.signatures.map(encodeSignature) });
}

export function decodeSeal(bytes: Uint8Array): BundleSeal {
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch {
    throw corrupt('the seal is not valid msgpack', ENTRY_SEAL);
  }
  if (!isRecord(raw) || raw.magic !== SEAL_MAGIC) throw corrupt('the seal has no valid magic', ENTRY_SEAL);
  if (raw.format !== BUNDLE_FORMAT) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `seal format ${typeof raw.format === 'string' ? JSON.stringify(raw.format) : String(raw.format)} is not supported (this airlock reads format ${BUNDLE_FORMAT})`, {
      where: ENTRY_SEAL,
      hint: 'upgrade airlock on this host to the version that wrote the bundle',
    });
  }
  if (!isUint(raw.entries) || typeof raw.chain !== 'string' || !isObjectId(raw.chain) || !Array.isArray(raw.signatures)) {
    throw corrupt('the seal fields are invalid', ENTRY_SEAL);
  }
  return { magic: SEAL_MAGIC, format: BUNDLE_FORMAT, entries: raw.entries, chain: raw.chain, signatures: decodeSignatures(raw.signatures, ENTRY_SEAL) };
}

/**
 * One entry's contribution to the seal chain: msgpack([name, storedSize, blake3(stored bytes)]).
 * Chaining these binds names, order, sizes and content of every entry.
 */
export function entryRecord(name: string, storedSize: number, storedHash: ObjectId): Buffer {
  return encodeMsgpack([name, storedSize, Buffer.from(storedHash, 'hex')]);
}
