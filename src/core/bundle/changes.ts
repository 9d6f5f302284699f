import { AirlockError } from '../../errors.js';
import { CanonicalFormError, CanonicalReader, encodeMsgpack } from '../canonical.js';
import type { TreeDiff } from '../diff.js';
import type { PackageChange } from '../packages.js';
import { ENTRY_CHANGES } from './format.js';

/**
 * What a bundle changes, computed when it is made so `bundle inspect` can tell an
 * admin what is on the drive without the base snapshot at hand.
 */
export interface BundleChanges {
  files: { added: number; changed: number; removed: number; addedBytes: number };
  packages: PackageChange[];
}

export function summariseChanges(diff: TreeDiff, packages: PackageChange[]): BundleChanges {
  let addedBytes = 0;
  for (const e of diff.added) addedBytes += e.size;
  for (const c of diff.changed) addedBytes += c.after.size;
  return {
    files: { added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length, addedBytes },
    packages,
  };
}

export function encodeChanges(changes: BundleChanges): Buffer {
  return encodeMsgpack([
    [changes.files.added, changes.files.changed, changes.files.removed, changes.files.addedBytes],
    changes.packages.map((p) => [p.kind, p.repository, p.name, p.from, p.to]),
  ]);
}

/** A change list checked by every rule, its package rows counted but not kept. */
export interface ChangeSummary {
  files: BundleChanges['files'];
  packageRows: number;
}

/**
 * Checks a change list by every rule without materialising its rows: what apply and
 * verify need (the list is informational), in memory that does not grow with the list.
 */
export function checkChanges(bytes: Uint8Array): ChangeSummary {
  return walkChanges(bytes);
}

/** The whole change list, for `bundle inspect`. */
export function decodeChanges(bytes: Uint8Array): BundleChanges {
  const packages: PackageChange[] = [];
  const summary = walkChanges(bytes, (row) => packages.push(row));
  return { files: summary.files, packages };
}

const KINDS = ['added', 'updated', 'removed'] as const;
const KIND_BYTES = KINDS.map((k) => Buffer.from(k));

/**
 * One pass over the canonical bytes, row by row (CanonicalReader), so a hostile list
 * cannot declare 2^30 rows and have them allocated before the first is checked. Each
 * package row stands for at least one added, changed or removed path, so the rows may
 * not outnumber the file counts.
 */
function walkChanges(bytes: Uint8Array, onRow?: (row: PackageChange) => void): ChangeSummary {
  const reader = new CanonicalReader(bytes);
  try {
    if (reader.peekType() !== 'array') throw malformed('it is not an array');
    reader.expectArray(2);
    if (reader.peekType() !== 'array') throw malformed('the file counts are not an array');
    reader.expectArray(4);
    const [added, changed, removed, addedBytes] = [0, 1, 2, 3].map(() => readCount(reader)) as [number, number, number, number];
    if (reader.peekType() !== 'array') throw malformed('the package rows are not an array');
    const rows = reader.arrayLength();
    if (rows > added + changed + removed) throw malformed(`${rows} package rows for ${added + changed + removed} changed paths`);
    for (let i = 0; i < rows; i++) readRow(reader, i, onRow);
    reader.end();
    return { files: { added, changed, removed, addedBytes }, packageRows: rows };
  } catch (err) {
    if (err instanceof CanonicalFormError) throw malformed(err.message);
    throw err;
  }
}

function readCount(reader: CanonicalReader): number {
  if (reader.peekType() !== 'uint') throw malformed('a file count is not an unsigned integer');
  return reader.uint();
}

function readRow(reader: CanonicalReader, index: number, onRow: ((row: PackageChange) => void) | undefined): void {
  const bad = (what: string) => malformed(`package row ${index} ${what}`);
  if (reader.peekType() !== 'array' || reader.arrayLength() !== 5) throw bad('is not [kind, repository, name, from, to]');
  if (reader.peekType() !== 'string') throw bad('has a kind that is not a string');
  const kindBytes = reader.stringBytes();
  const kind = KINDS[KIND_BYTES.findIndex((k) => k.equals(kindBytes))];
  if (kind === undefined) throw bad('has an unknown kind');
  const field = (name: string, nullable: boolean): string | null => {
    if (nullable && reader.nil()) return null;
    if (reader.peekType() !== 'string') throw bad(`has a ${name} that is ${nullable ? 'neither nil nor' : 'not'} a string`);
    return reader.string();
  };
  const repository = field('repository', false)!;
  const name = field('name', false)!;
  const from = field('from', true);
  const to = field('to', true);
  // Checked (UTF-8 included) either way; kept only when asked for.
  onRow?.({ kind, repository, name, from, to });
}

function malformed(detail: string): AirlockError {
  return new AirlockError('BUNDLE_CORRUPT', `the change list is malformed: ${detail}`, { where: ENTRY_CHANGES, hint: 'copy the bundle again from the online host' });
}
