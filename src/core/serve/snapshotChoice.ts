import type { SnapshotId, SnapshotRecord } from '../manifest.js';
import { shortId } from '../objectId.js';

/**
 * Which kept snapshot a URL names: `latest` (what the data dir shows now), a label, a date
 * `YYYY-MM-DD` (the newest kept snapshot on or before that day), or a snapshot id or a
 * unique prefix of one. A snapshot's day is its label when the label is a date, else the
 * UTC day it was recorded online. Pure: the caller lists what is kept.
 */
export interface KeptSnapshot {
  id: SnapshotId;
  /** The newest record of this tree (null: kept but never recorded, which airlock does not do). */
  record: SnapshotRecord | null;
  /** YYYY-MM-DD, or null when there is no record to tell. */
  day: string | null;
  /** When it was recorded, as HTTP's Last-Modified says it (made once, not per request). */
  lastModified: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function keptSnapshot(id: SnapshotId, record: SnapshotRecord | null): KeptSnapshot {
  const day = record === null ? null : record.label !== null && DATE.test(record.label) ? record.label : record.createdAt.slice(0, 10);
  return { id, record, day, lastModified: new Date(record?.createdAt ?? 0).toUTCString() };
}

/** Oldest first: by day, then sequence, then the time recorded. */
export function orderKept(kept: KeptSnapshot[]): KeptSnapshot[] {
  const key = (k: KeptSnapshot) => [k.day ?? '', k.record?.sequence ?? 0, k.record?.createdAt ?? ''] as const;
  return [...kept].sort((a, b) => {
    const [da, sa, ca] = key(a);
    const [db, sb, cb] = key(b);
    return da !== db ? (da < db ? -1 : 1) : sa !== sb ? sa - sb : ca < cb ? -1 : ca > cb ? 1 : 0;
  });
}

export type SnapshotChoice =
  | {
      found: true;
      snapshot: KeptSnapshot;
      /**
       * Whether what the URL names can never change: false for `latest` (the next apply or
       * rollback changes it) and for a date on or after the newest kept snapshot's day (the next
       * apply may bring a newer snapshot for that day).
       */
      immutable: boolean;
    }
  | { found: false; message: string };

/** `kept` oldest first (orderKept); `current` is the snapshot the data dir shows. */
export function chooseSnapshot(ref: string, kept: KeptSnapshot[], current: SnapshotId | undefined): SnapshotChoice {
  const notFound = (why: string): SnapshotChoice => ({ found: false, message: `${why}; kept snapshots: ${describeKept(kept)}` });
  if (ref === 'latest') {
    const shown = kept.find((k) => k.id === current);
    return shown ? { found: true, snapshot: shown, immutable: false } : notFound('the data dir shows no snapshot');
  }
  const labelled = kept.filter((k) => k.record?.label === ref).at(-1);
  if (labelled) return { found: true, snapshot: labelled, immutable: true };
  if (DATE.test(ref)) {
    const onOrBefore = kept.filter((k) => k.day !== null && k.day <= ref).at(-1);
    const settled = kept.some((k) => k.day !== null && k.day > ref);
    return onOrBefore ? { found: true, snapshot: onOrBefore, immutable: settled } : notFound(`no kept snapshot is from ${ref} or before`);
  }
  if (/^[0-9a-f]{4,64}$/.test(ref)) {
    const ids = [...new Set(kept.filter((k) => k.id.startsWith(ref)).map((k) => k.id))];
    if (ids.length === 1) return { found: true, snapshot: kept.find((k) => k.id === ids[0])!, immutable: true };
    if (ids.length > 1) return notFound(`${ref} names ${ids.length} kept snapshots (${ids.map(shortId).join(', ')}); give more digits`);
  }
  return notFound(`no kept snapshot is named ${JSON.stringify(ref)} (not latest, a label, a date YYYY-MM-DD or an id)`);
}

/** `2026-11-24 (label, 3f2a9c1e4b5d)`, newest first, for messages. */
export function describeKept(kept: KeptSnapshot[]): string {
  if (kept.length === 0) return 'none';
  return [...kept]
    .reverse()
    .map((k) => `${k.day ?? '?'} (${k.record?.label && k.record.label !== k.day ? `${k.record.label}, ` : ''}${shortId(k.id)})`)
    .join(', ');
}
