import { AirlockError } from '../errors.js';
import { decodeMsgpack, encodeMsgpack, isUint } from './canonical.js';
import { hashBytes, isObjectId, type ObjectId } from './objectId.js';
import { comparePaths, parentDirectories, pathProblem } from './paths.js';

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

export function encodeTree(tree: Tree): Buffer {
  const rows = tree.entries.map((e) => [e.path, Buffer.from(e.id, 'hex'), e.size, e.mode]);
  return encodeMsgpack([TREE_MAGIC, TREE_FORMAT, rows]);
}

export function treeId(encoded: Uint8Array): SnapshotId {
  return hashBytes(encoded);
}

function invalid(message: string, where?: string): AirlockError {
  return new AirlockError('MANIFEST_INVALID', message, {
    ...(where === undefined ? {} : { where }),
    hint: 'the manifest was not written by airlock or was damaged; recreate the snapshot or the bundle',
  });
}

/**
 * Decode and fully validate a canonical tree: shape, ids, sizes, modes, safe paths,
 * strict order, no file that is also a directory, and canonical bytes (re-encoding
 * gives the same bytes, so one tree has exactly one id).
 */
export function decodeTree(encoded: Uint8Array): Tree {
  let raw: unknown;
  try {
    raw = decodeMsgpack(encoded);
  } catch (err) {
    throw invalid(`the manifest is not valid msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length !== 3 || raw[0] !== TREE_MAGIC) {
    throw invalid('the manifest does not start with the airlock-tree magic');
  }
  if (raw[1] !== TREE_FORMAT) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `manifest format ${typeof raw[1] === 'string' ? JSON.stringify(raw[1]) : String(raw[1])} is not supported (this airlock reads format ${TREE_FORMAT})`, {
      hint: 'upgrade airlock on this host to the version that wrote the bundle',
    });
  }
  if (!Array.isArray(raw[2])) throw invalid('the manifest entry list is not an array');
  const entries = (raw[2] as unknown[]).map((row, index) => decodeEntry(row, index));
  validateTree(entries);
  const tree = { entries };
  if (Buffer.compare(encodeTree(tree), Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength)) !== 0) {
    throw invalid('the manifest is not in canonical form');
  }
  return tree;
}

function decodeEntry(row: unknown, index: number): TreeEntry {
  const where = `manifest entry ${index}`;
  if (!Array.isArray(row) || row.length !== 4) throw invalid('an entry is not [path, id, size, mode]', where);
  const [path, id, size, mode] = row as unknown[];
  if (typeof path !== 'string') throw invalid('an entry path is not a string', where);
  if (!(id instanceof Uint8Array) || id.length !== 32) throw invalid(`entry ${path} has no 32-byte object id`, where);
  if (!isUint(size)) throw invalid(`entry ${path} has an invalid size`, where);
  if (mode !== FILE_MODE && mode !== EXECUTABLE_MODE) throw invalid(`entry ${path} has mode ${String(mode)}; only 0644 and 0755 are allowed`, where);
  return { path, id: Buffer.from(id).toString('hex'), size, mode };
}

/** Throws on the first rule a list of entries breaks; used on every tree we build or read. */
export function validateTree(entries: readonly TreeEntry[]): void {
  const directories = new Set<string>();
  const sizes = new Map<ObjectId, number>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const problem = pathProblem(entry.path);
    if (problem) throw invalid(`unsafe path ${JSON.stringify(entry.path)}: ${problem}`, `manifest entry ${i}`);
    if (!isObjectId(entry.id)) throw invalid(`entry ${entry.path} has an invalid object id`, `manifest entry ${i}`);
    if (i > 0 && comparePaths(entries[i - 1]!.path, entry.path) >= 0) {
      throw invalid(`entries are not in strict path order at ${JSON.stringify(entry.path)}`, `manifest entry ${i}`);
    }
    const known = sizes.get(entry.id);
    if (known === undefined) sizes.set(entry.id, entry.size);
    else if (known !== entry.size) throw invalid(`entry ${entry.path} gives object ${entry.id.slice(0, 12)} a size of ${entry.size}, another entry ${known}`, `manifest entry ${i}`);
    for (const dir of parentDirectories(entry.path)) directories.add(dir);
  }
  for (const entry of entries) {
    if (directories.has(entry.path)) throw invalid(`${entry.path} is both a file and a directory`);
  }
}

export function sortEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}

export function treeTotals(tree: Tree): { files: number; bytes: number } {
  let bytes = 0;
  for (const e of tree.entries) bytes += e.size;
  return { files: tree.entries.length, bytes };
}

/** Each distinct object of the tree once, in the order of first appearance. */
export function distinctObjects(tree: Tree): Map<ObjectId, number> {
  const sizes = new Map<ObjectId, number>();
  for (const e of tree.entries) if (!sizes.has(e.id)) sizes.set(e.id, e.size);
  return sizes;
}

/** The record with the highest sequence: what `latest` names. */
export function newestRecord(records: readonly SnapshotRecord[]): SnapshotRecord | undefined {
  return records.reduce<SnapshotRecord | undefined>((best, r) => (!best || r.sequence > best.sequence ? r : best), undefined);
}
