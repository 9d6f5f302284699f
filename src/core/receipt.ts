import { AirlockError } from '../errors.js';
import { decodeMsgpack, encodeMsgpack, isRecord, isUint, type Canonical } from './canonical.js';
import { compressBuffer, decompressBounded } from './zstd.js';
import { treeTotals, verifyTree, type SnapshotRecord, type Tree, type VerifiedTree } from './manifest.js';
import { isObjectId, shortId } from './objectId.js';
import { LIMITS } from './bundle/format.js';
import { blake3 } from '@napi-rs/blake-hash';

/**
 * A receipt is what an offline data dir holds, written there and carried back on the
 * drive: the current snapshot's record and canonical tree, the highest sequence applied
 * and the trusted key ids. With it the online side plans a delta against that tree
 * without having the snapshot in its own repository. docs/receipt-format.md specifies
 * the bytes:
 *
 *   "airlock-receipt\n" (16 bytes) | canonical msgpack map (the body) | BLAKE3-256 of all before (32 bytes)
 *
 * Pure: reading a receipt file is src/bundle/receiptFile.ts, writing one src/offline/receipt.ts.
 */
export const RECEIPT_MAGIC = Buffer.from('airlock-receipt\n', 'latin1');
export const RECEIPT_FORMAT = 1;
const CHECK_BYTES = 32;

export const RECEIPT_LIMITS = {
  /** The compressed tree, as in a bundle's tree entry. */
  treeStoredBytes: LIMITS.treeStoredBytes,
  /** The tree once decompressed, as in a bundle. */
  treeBytes: LIMITS.treeBytes,
  /** The whole file: the compressed tree plus 1 MiB for everything else. */
  fileBytes: LIMITS.treeStoredBytes + 1024 * 1024,
} as const;

export interface ReceiptKey {
  id: string;
  name: string;
  addedAt: string;
}

export interface Receipt {
  /** The writer, `airlock <version>`. */
  tool: string;
  /** When the receipt was written, ISO 8601 UTC. */
  writtenAt: string;
  /** The offline host's name and data dir: for people reading the receipt, not checked. */
  host: string;
  dataDir: string;
  /** The record of the snapshot the data dir shows; `id` is the BLAKE3 of the tree bytes. */
  snapshot: SnapshotRecord;
  highestSequence: number;
  trustedKeys: ReceiptKey[];
}

export interface DecodedReceipt extends Receipt {
  tree: Tree;
  /** The tree's canonical bytes, as stored in the offline repository. */
  encodedTree: Buffer;
}

function invalid(message: string, where: string | undefined): AirlockError {
  return new AirlockError('MANIFEST_INVALID', message, {
    ...(where === undefined ? {} : { where }),
    hint: 'the receipt is damaged or was not written by airlock; write a new one on the offline host with `airlock receipt --data-dir D --output R`',
  });
}

/** A file larger than any receipt can be is refused before it is read. */
export function assertReceiptSize(bytes: number, where: string | undefined): void {
  if (bytes > RECEIPT_LIMITS.fileBytes) throw invalid(`the receipt is ${bytes} bytes, more than a receipt can be (${RECEIPT_LIMITS.fileBytes})`, where);
}

export function startsWithReceiptMagic(bytes: Uint8Array): boolean {
  return bytes.length >= RECEIPT_MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, RECEIPT_MAGIC.length).equals(RECEIPT_MAGIC);
}

/** magic | body | BLAKE3(magic | body): the framing, exported so tests can frame hand-made bodies. */
export function frameReceipt(body: Uint8Array): Buffer {
  const framed = Buffer.concat([RECEIPT_MAGIC, body]);
  return Buffer.concat([framed, blake3(framed)]);
}

/** `tree` is the snapshot's tree as verified against its id (read from the store, or encoded here). */
export function encodeReceipt(receipt: Receipt, tree: VerifiedTree): Buffer {
  if (tree.id !== receipt.snapshot.id) throw new Error(`receipt: the tree bytes do not hash to snapshot ${receipt.snapshot.id} (they are snapshot ${tree.id})`);
  const encodedTree = tree.encoded;
  const s = receipt.snapshot;
  const body: Canonical = {
    format: RECEIPT_FORMAT,
    tool: receipt.tool,
    writtenAt: receipt.writtenAt,
    host: receipt.host,
    dataDir: receipt.dataDir,
    snapshot: { id: s.id, label: s.label, parent: s.parent, createdAt: s.createdAt, sequence: s.sequence, files: s.files, bytes: s.bytes },
    highestSequence: receipt.highestSequence,
    trustedKeys: receipt.trustedKeys.map((k) => ({ id: k.id, name: k.name, addedAt: k.addedAt })),
    treeSize: encodedTree.length,
    tree: compressBuffer(encodedTree),
  };
  return frameReceipt(encodeMsgpack(body));
}

/**
 * Checks, in order: magic, checksum, one msgpack map, format, canonical bytes, every
 * field's type, then the tree: decompressed within bounds to exactly `treeSize` bytes,
 * hashing to `snapshot.id`, a valid canonical tree whose totals match the record.
 */
export function decodeReceipt(bytes: Uint8Array, where?: string): DecodedReceipt {
  const all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!startsWithReceiptMagic(all)) throw invalid('this is not an airlock receipt (it does not start with "airlock-receipt")', where);
  if (all.length < RECEIPT_MAGIC.length + 1 + CHECK_BYTES) throw invalid(`the receipt is truncated (${all.length} bytes)`, where);
  assertReceiptSize(all.length, where);
  const framed = all.subarray(0, all.length - CHECK_BYTES);
  if (!blake3(framed).equals(all.subarray(all.length - CHECK_BYTES))) {
    throw invalid('the receipt is damaged: its checksum does not match its contents (truncated, or a byte changed on the way)', where);
  }
  const body = framed.subarray(RECEIPT_MAGIC.length);
  let raw: unknown;
  try {
    raw = decodeMsgpack(body);
  } catch {
    throw invalid('the receipt body is not exactly one valid msgpack value', where);
  }
  if (!isRecord(raw)) throw invalid('the receipt body is not a map', where);
  if (!isUint(raw.format)) throw invalid('the receipt body has no format number', where);
  if (raw.format !== RECEIPT_FORMAT) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `receipt format ${String(raw.format)} is not supported (this airlock reads format ${RECEIPT_FORMAT})`, {
      ...(where === undefined ? {} : { where }),
      hint: 'use the same airlock version on both hosts',
    });
  }
  let canonical: Buffer;
  try {
    canonical = encodeMsgpack(raw as Canonical);
  } catch {
    canonical = Buffer.alloc(0);
  }
  if (!canonical.equals(body)) throw invalid('the receipt body is not in canonical form', where);
  const receipt = checkFields(raw, where);
  const encodedTree = decompressTree(raw.tree as Uint8Array, raw.treeSize as number, where);
  const mismatch = invalid(`the receipt's tree does not hash to its snapshot id ${shortId(receipt.snapshot.id)}`, where);
  let tree: Tree;
  try {
    tree = verifyTree(receipt.snapshot.id, encodedTree, () => mismatch).tree;
  } catch (err) {
    if (err === mismatch) throw err;
    if (err instanceof AirlockError) throw invalid(`the receipt's tree is invalid: ${err.message}`, where);
    throw err;
  }
  const totals = treeTotals(tree);
  if (totals.files !== receipt.snapshot.files || totals.bytes !== receipt.snapshot.bytes) {
    throw invalid(`the receipt says snapshot ${shortId(receipt.snapshot.id)} has ${receipt.snapshot.files} files (${receipt.snapshot.bytes} bytes); its tree has ${totals.files} (${totals.bytes})`, where);
  }
  return { ...receipt, tree, encodedTree };
}

function checkFields(raw: Record<string, unknown>, where: string | undefined): Receipt {
  const bad = (field: string) => invalid(`the receipt's ${field} is missing or of the wrong type`, where);
  const str = (v: unknown): v is string => typeof v === 'string';
  for (const field of ['tool', 'writtenAt', 'host', 'dataDir'] as const) if (!str(raw[field])) throw bad(field);
  if (!isUint(raw.highestSequence)) throw bad('highestSequence');
  if (!isUint(raw.treeSize) || raw.treeSize > RECEIPT_LIMITS.treeBytes) throw bad('treeSize');
  if (!(raw.tree instanceof Uint8Array) || raw.tree.length > RECEIPT_LIMITS.treeStoredBytes) throw bad('tree');
  const s = raw.snapshot;
  if (!isRecord(s)) throw bad('snapshot');
  if (!str(s.id) || !isObjectId(s.id)) throw bad('snapshot.id');
  if (s.label !== null && !str(s.label)) throw bad('snapshot.label');
  if (s.parent !== null && !(str(s.parent) && isObjectId(s.parent))) throw bad('snapshot.parent');
  if (!str(s.createdAt)) throw bad('snapshot.createdAt');
  for (const field of ['sequence', 'files', 'bytes'] as const) if (!isUint(s[field])) throw bad(`snapshot.${field}`);
  if (!Array.isArray(raw.trustedKeys)) throw bad('trustedKeys');
  const trustedKeys = (raw.trustedKeys as unknown[]).map((k, i) => {
    if (!isRecord(k) || !str(k.id) || !isObjectId(k.id) || !str(k.name) || !str(k.addedAt)) throw bad(`trustedKeys[${i}]`);
    return { id: k.id, name: k.name, addedAt: k.addedAt };
  });
  return {
    tool: raw.tool as string,
    writtenAt: raw.writtenAt as string,
    host: raw.host as string,
    dataDir: raw.dataDir as string,
    snapshot: {
      id: s.id,
      sequence: s.sequence as number,
      label: s.label as string | null,
      parent: s.parent as string | null,
      createdAt: s.createdAt,
      files: s.files as number,
      bytes: s.bytes as number,
    },
    highestSequence: raw.highestSequence,
    trustedKeys,
  };
}

function decompressTree(stored: Uint8Array, size: number, where: string | undefined): Buffer {
  const tree = decompressBounded(stored, size, (failure) =>
    invalid(
      failure.kind === 'too-large'
        ? `the receipt's tree expands beyond the ${size} bytes it announces`
        : failure.kind === 'invalid'
          ? `the receipt's tree does not decompress (${failure.message})`
          : "the receipt's tree ends in the middle of its zstd frame",
      where,
    ),
  );
  if (tree.length !== size) throw invalid(`the receipt's tree is ${tree.length} bytes; it announces ${size}`, where);
  return tree;
}
