import { AirlockError } from '../../errors.js';
import { decodeMsgpack, encodeMsgpack, isRecord, isUint } from '../canonical.js';
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

export function decodeChanges(bytes: Uint8Array): BundleChanges {
  const bad = () =>
    new AirlockError('BUNDLE_CORRUPT', 'the change list is malformed', { where: ENTRY_CHANGES, hint: 'copy the bundle again from the online host' });
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch {
    throw bad();
  }
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[0]) || !Array.isArray(raw[1])) throw bad();
  const [counts, packages] = raw as [unknown[], unknown[]];
  if (counts.length !== 4 || !counts.every(isUint)) throw bad();
  const [added, changed, removed, addedBytes] = counts as number[];
  return {
    files: { added: added!, changed: changed!, removed: removed!, addedBytes: addedBytes! },
    packages: packages.map((row) => {
      if (!Array.isArray(row) || row.length !== 5 || isRecord(row)) throw bad();
      const [kind, repository, name, from, to] = row as unknown[];
      if ((kind !== 'added' && kind !== 'updated' && kind !== 'removed') || typeof repository !== 'string' || typeof name !== 'string') throw bad();
      if ((from !== null && typeof from !== 'string') || (to !== null && typeof to !== 'string')) throw bad();
      return { kind, repository, name, from, to };
    }),
  };
}
