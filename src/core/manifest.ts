import { AirlockError } from '../errors.js';
import { arrayHeaderBytes, binBytes, CanonicalFormError, CanonicalReader, CanonicalWriter, isUint, stringBytes, uintBytes } from './canonical.js';
import { hashBytes, isObjectId, type ObjectId } from './objectId.js';
import { comparePaths, directoriesOf, MAX_PATH_BYTES, pathProblem } from './paths.js';
import { TreeObjects } from './treeObjects.js';

/**
 * A tree is the sorted list of files of a snapshot. Its canonical encoding is
 *   msgpack(["airlock-tree", 1, [[path, id(bin 32), size, mode], ...]])
 * and the snapshot id is the BLAKE3 of those bytes, so two identical trees have the
 * same id whoever made them and whenever. Label, parent and time describe an event
 * (recording a snapshot), not the tree, and travel beside it (SnapshotRecord).
 */
export type SnapshotId = string;

/** Only two modes, as in git: ownership and umask belong to the deployment, not the data. */
export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export type EntryMode = typeof FILE_MODE | typeof EXECUTABLE_MODE;

export interface TreeEntry {
  path: string;
  id: ObjectId;
  size: number;
  mode: EntryMode;
}

export interface Tree {
  entries: TreeEntry[];
}

/** What a repository records about each snapshot it holds. */
export interface SnapshotRecord {
  id: SnapshotId;
  /** Grows by one with each snapshot the recording repository makes (anti-rollback). */
  sequence: number;
  label: string | null;
  parent: SnapshotId | null;
  createdAt: string;
  files: number;
  bytes: number;
}

export const TREE_MAGIC = 'airlock-tree';
export const TREE_FORMAT = 1;

export function modeFromStat(statMode: number): EntryMode {
  return (statMode & 0o111) !== 0 ? EXECUTABLE_MODE : FILE_MODE;
}

/** The longest encoded row: fixarray, str16 path of MAX_PATH_BYTES, bin8 id, uint64 size, uint16 mode. */
const MAX_ROW_BYTES = 1 + 3 + MAX_PATH_BYTES + 2 + 32 + 9 + 3;
/** fixarray, the magic as fixstr, the format, an array32 header. */
const PREAMBLE_BYTES = 1 + 1 + TREE_MAGIC.length + 1 + 5;

/** The most bytes a canonical tree of `files` rows can take: a bound for untrusted input. */
export function maxEncodedTreeBytes(files: number): number {
  return PREAMBLE_BYTES + files * MAX_ROW_BYTES;
}

/**
 * The tree's canonical bytes: ["airlock-tree", 1, [[path, bin id, size, mode], ...]]. Sized
 * first and written straight into one buffer of that size, with no row objects or growing
 * buffer between the entries and the bytes (at a million entries those were a few hundred
 * MB on top of the tree).
 */
export function encodeTree(tree: Tree): Buffer {
  const entries = tree.entries;
  let bytes = arrayHeaderBytes(3) + stringBytes(Buffer.byteLength(TREE_MAGIC)) + uintBytes(TREE_FORMAT) + arrayHeaderBytes(entries.length);
  for (const e of entries) {
    bytes += arrayHeaderBytes(4) + stringBytes(Buffer.byteLength(e.path)) + binBytes(e.id.length >>> 1) + uintBytes(e.size) + uintBytes(e.mode);
  }
  const writer = new CanonicalWriter(bytes);
  writer.arrayHeader(3);
  writer.string(TREE_MAGIC);
  writer.uint(TREE_FORMAT);
  writer.arrayHeader(entries.length);
  for (const e of entries) {
    writer.arrayHeader(4);
    writer.string(e.path);
    writer.binHex(e.id);
    writer.uint(e.size);
    writer.uint(e.mode);
  }
  return writer.result();
}

export function treeId(encoded: Uint8Array): SnapshotId {
  return hashBytes(encoded);
}

/**
 * A tree whose canonical bytes were checked to hash to its id: what a bundle, a receipt or
 * a repository's tree file yields once read. Carried as it is from reader to store, so one
 * command hashes a tree once.
 */
export interface VerifiedTree {
  readonly id: SnapshotId;
  readonly tree: Tree;
  readonly encoded: Uint8Array;
}

/** A tree read from its bytes, with what its validation found on the way. */
export interface DecodedTree extends VerifiedTree {
  /** Each distinct object once, with its size, in the order of first appearance (distinctObjects). */
  readonly objects: TreeObjects;
}

/**
 * The one place a tree's bytes are checked against the id that names them and decoded:
 * `mismatch` is thrown when they do not hash to `id`; `checkCount` is decodeTree's.
 */
export function verifyTree(id: SnapshotId, encoded: Uint8Array, mismatch: () => Error, checkCount?: (rows: number) => void): DecodedTree {
  checkTreeBytes(id, encoded, mismatch);
  return { id, encoded, ...decodeEntries(encoded, checkCount) };
}

/** verifyTree's check alone, for bytes read in place (TreeRows) rather than decoded. */
export function checkTreeBytes(id: SnapshotId, encoded: Uint8Array, mismatch: () => Error): void {
  if (hashBytes(encoded) !== id) throw mismatch();
}

/** A tree encoded here from entries: its id is computed, not checked. */
export function encodeVerifiedTree(tree: Tree): VerifiedTree {
  const encoded = encodeTree(tree);
  return { id: treeId(encoded), tree, encoded };
}

function invalid(message: string, where?: string): AirlockError {
  return new AirlockError('MANIFEST_INVALID', message, {
    ...(where === undefined ? {} : { where }),
    hint: 'the manifest was not written by airlock or was damaged; recreate the snapshot or the bundle',
  });
}

/**
 * Decode and fully validate a canonical tree: shape, ids, sizes, modes, safe paths,
 * strict order, no file that is also a directory, and canonical bytes (every element
 * in its smallest encoding and nothing after the value, so one tree has exactly one id).
 *
 * Untrusted bytes are read one row at a time (CanonicalReader): a declared row count is
 * checked before any row is read (against `expectedRows` when the caller knows it), and
 * each row is checked as it is read, so hostile bytes cannot make this hold more than the
 * rows they really contain. `checkCount` sees the declared row count before any row is
 * read (a bundle reader compares it with its header), and may throw.
 */
export function decodeTree(encoded: Uint8Array, checkCount?: (rows: number) => void): Tree {
  return decodeEntries(encoded, checkCount).tree;
}

function decodeEntries(encoded: Uint8Array, checkCount?: (rows: number) => void): { tree: Tree; objects: TreeObjects } {
  return guarded(() => {
    const reader = new CanonicalReader(encoded);
    readTreePreamble(reader);
    const count = reader.arrayLength();
    checkCount?.(count);
    const entries: TreeEntry[] = [];
    for (let index = 0; index < count; index++) entries.push(readEntry(reader, index));
    reader.end();
    return { tree: { entries }, objects: validateTree(entries, true) };
  });
}

function readTreePreamble(reader: CanonicalReader): void {
  const magicMissing = () => invalid('the manifest does not start with the airlock-tree magic');
  if (reader.atEnd()) throw new CanonicalFormError('the manifest is empty', 0);
  if (reader.peekType() !== 'array' || reader.arrayLength() !== 3) throw magicMissing();
  if (reader.peekType() !== 'string' || reader.string() !== TREE_MAGIC) throw magicMissing();
  const type = reader.peekType();
  const format = type === 'uint' ? reader.uint() : type === 'string' ? JSON.stringify(reader.string()) : type;
  if (format !== TREE_FORMAT) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `manifest format ${String(format)} is not supported (this airlock reads format ${TREE_FORMAT})`, {
      hint: 'upgrade airlock on this host to the version that wrote the bundle',
    });
  }
  if (reader.peekType() !== 'array') throw invalid('the manifest entry list is not an array');
}

function readEntry(reader: CanonicalReader, index: number): TreeEntry {
  const where = `manifest entry ${index}`;
  if (reader.peekType() !== 'array' || reader.arrayLength() !== 4) throw invalid('an entry is not [path, id, size, mode]', where);
  if (reader.peekType() !== 'string') throw invalid('an entry path is not a string', where);
  const path = reader.string();
  const id = reader.peekType() === 'bin' ? reader.binHex(32) : undefined;
  if (id === undefined) throw invalid(`entry ${path} has no 32-byte object id`, where);
  const size = readUintField(reader);
  if (size === undefined) throw invalid(`entry ${path} has an invalid size`, where);
  const mode = readUintField(reader);
  if (mode !== FILE_MODE && mode !== EXECUTABLE_MODE) throw invalid(`entry ${path} has mode ${mode ?? 'that is not an integer'}; only 0644 and 0755 are allowed`, where);
  return { path, id, size, mode };
}

/**
 * The rows of a tree already verified (its bytes hash to the id it was recorded under, so they
 * are the bytes airlock validated then), walked in place and decoded only when asked: a diff of
 * two trees that mostly agree compares rows as bytes (one tree has one encoding, so equal rows
 * are equal bytes) and decodes only the few that differ. Malformed bytes still throw
 * MANIFEST_INVALID, as decodeTree's do.
 */
export class TreeRows {
  /** The tree's bytes, as a Buffer to compare ranges of without a view each. */
  readonly bytes: Buffer;
  /** The current row: its index, its bytes [start, end), its path's UTF-8 bytes [pathStart, pathEnd). */
  index = -1;
  start = 0;
  end = 0;
  pathStart = 0;
  pathEnd = 0;
  private readonly reader: CanonicalReader;
  private left: number;

  constructor(encoded: Uint8Array) {
    this.bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    this.reader = new CanonicalReader(encoded);
    this.left = guarded(() => {
      readTreePreamble(this.reader);
      return this.reader.arrayLength();
    });
  }

  /** Moves to the next row: false after the last. */
  next(): boolean {
    const reader = this.reader;
    try {
      if (this.left === 0) {
        reader.end();
        return false;
      }
      this.left--;
      this.index++;
      this.start = reader.position;
      reader.expectArray(4);
      const pathBytes = reader.skipString();
      this.pathEnd = reader.position;
      this.pathStart = this.pathEnd - pathBytes;
      reader.skipBin();
      reader.uint();
      reader.uint();
      this.end = reader.position;
      return true;
    } catch (err) {
      throw asManifestError(err);
    }
  }

  /** The current row, decoded and checked as decodeTree checks each. */
  entry(): TreeEntry {
    return guarded(() => readEntry(new CanonicalReader(this.bytes.subarray(this.start, this.end)), this.index));
  }
}

/** Runs a read of tree bytes, turning the reader's complaint into MANIFEST_INVALID. */
function guarded<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw asManifestError(err);
  }
}

/** The reader's complaint about tree bytes as MANIFEST_INVALID; any other error as it is. */
function asManifestError(err: unknown): unknown {
  if (!(err instanceof CanonicalFormError)) return err;
  return invalid(err.nonCanonical ? `the manifest is not in canonical form (${err.message})` : `the manifest is not valid msgpack (${err.message})`);
}

/**
 * An unsigned integer field, or undefined for anything else. A valid integer in a longer
 * form than the smallest (a float 5.0 included) throws as not canonical.
 */
function readUintField(reader: CanonicalReader): number | undefined {
  const type = reader.peekType();
  if (type === 'float') {
    const start = reader.position;
    const value = reader.float();
    if (isUint(value)) throw new CanonicalFormError(`the integer ${value} is written as a float`, start, true);
    return undefined;
  }
  if (type !== 'uint') return undefined;
  try {
    return reader.uint();
  } catch (err) {
    if (err instanceof CanonicalFormError && !err.nonCanonical) return undefined;
    throw err;
  }
}

/**
 * Throws on the first rule a list of entries breaks; used on every tree we build or read.
 * `idsFromBytes`: the ids were made here from 32-byte values (a decoded tree), so their
 * form needs no second look. Returns the tree's distinct objects (distinctObjects), which
 * the check of their sizes gathers anyway: at a million files a second map is 100 MB.
 */
export function validateTree(entries: readonly TreeEntry[], idsFromBytes = false): TreeObjects {
  const objects = new TreeObjects(entries);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const problem = pathProblem(entry.path);
    if (problem) throw invalid(`unsafe path ${JSON.stringify(entry.path)}: ${problem}`, `manifest entry ${i}`);
    if (!idsFromBytes && !isObjectId(entry.id)) throw invalid(`entry ${entry.path} has an invalid object id`, `manifest entry ${i}`);
    if (i > 0 && comparePaths(entries[i - 1]!.path, entry.path) >= 0) {
      throw invalid(`entries are not in strict path order at ${JSON.stringify(entry.path)}`, `manifest entry ${i}`);
    }
    const other = objects.add(i);
    if (other !== -1) throw invalid(`entry ${entry.path} gives object ${entry.id.slice(0, 12)} a size of ${entry.size}, another entry ${entries[other]!.size}`, `manifest entry ${i}`);
  }
  const directories = directoriesOf(entries.map((e) => e.path));
  for (const entry of entries) {
    if (directories.has(entry.path)) throw invalid(`${entry.path} is both a file and a directory`);
  }
  return objects;
}

export function sortEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}

export function treeTotals(tree: Tree): { files: number; bytes: number } {
  let bytes = 0;
  for (const e of tree.entries) bytes += e.size;
  return { files: tree.entries.length, bytes };
}

/** Each distinct object of the tree once, with its size, in the order of first appearance. */
export function distinctObjects(tree: Tree): ReadonlyMap<ObjectId, number> {
  return TreeObjects.of(tree.entries);
}

/** The record with the highest sequence: what `latest` names. */
export function newestRecord(records: readonly SnapshotRecord[]): SnapshotRecord | undefined {
  return records.reduce<SnapshotRecord | undefined>((best, r) => (!best || r.sequence > best.sequence ? r : best), undefined);
}
