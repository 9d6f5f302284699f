import { AirlockError } from '../errors.js';
import { newestRecord, type SnapshotId, type SnapshotRecord } from '../core/manifest.js';
import type { Repository } from './repository.js';

/**
 * What is being recorded, and so which rules give its sequence, parent and label:
 *  - `next`: a snapshot made here (get, snapshot create): the next sequence (above
 *    `sequenceAbove` too, when the offline side is known to be further along), the previous
 *    latest as parent; a label another tree holds is an error. Recording the latest tree and
 *    label again records nothing, so re-running an unchanged download changes no history.
 *  - `received`: a snapshot a bundle carries, recorded as its header describes it; nothing
 *    when that tree is already recorded at that sequence.
 *  - `local`: a snapshot made on the offline side (adopt: no parent, sequence 0;
 *    prune-schema: its parent's sequence); nothing when that tree is already recorded with
 *    that parent; a label another tree holds is dropped (a label names one tree).
 */
export type RecordRequest =
  | { kind: 'next'; id: SnapshotId; label: string | null; totals: Totals; sequenceAbove?: number }
  | { kind: 'received'; record: SnapshotRecord }
  | { kind: 'local'; id: SnapshotId; label: string | null; totals: Totals; parent: SnapshotRecord | null };

interface Totals {
  files: number;
  bytes: number;
}

/** The one writer of snapshot records (see RecordRequest for the rules of each kind). */
export async function recordSnapshot(repo: Repository, request: RecordRequest): Promise<{ record: SnapshotRecord; recorded: boolean }> {
  const records = await repo.snapshots.records();
  const existing = alreadyRecorded(records, request);
  if (existing) return { record: existing, recorded: false };
  const record = newRecord(records, request);
  await repo.snapshots.append(record);
  return { record, recorded: true };
}

function alreadyRecorded(records: SnapshotRecord[], request: RecordRequest): SnapshotRecord | undefined {
  switch (request.kind) {
    case 'next': {
      const latest = newestRecord(records);
      return latest && latest.id === request.id && (request.label === null || latest.label === request.label) ? latest : undefined;
    }
    case 'received':
      return records.findLast((r) => r.id === request.record.id && r.sequence === request.record.sequence);
    case 'local':
      return records.findLast((r) => r.id === request.id && r.parent === (request.parent?.id ?? null));
  }
}

function newRecord(records: SnapshotRecord[], request: RecordRequest): SnapshotRecord {
  if (request.kind === 'received') return request.record;
  const createdAt = new Date().toISOString();
  const holder = request.label === null ? undefined : records.find((r) => r.label === request.label && r.id !== request.id);
  if (request.kind === 'local') {
    const parent = request.parent;
    return { id: request.id, sequence: parent?.sequence ?? 0, label: holder ? null : request.label, parent: parent?.id ?? null, createdAt, ...request.totals };
  }
  if (holder) {
    throw new AirlockError('LABEL_TAKEN', `label ${JSON.stringify(request.label)} already names snapshot ${holder.id.slice(0, 12)}`, {
      hint: 'labels name one tree each; choose another --label (for example with the date and time)',
    });
  }
  const latest = newestRecord(records);
  return { id: request.id, sequence: Math.max(latest?.sequence ?? 0, request.sequenceAbove ?? 0) + 1, label: request.label, parent: latest?.id ?? null, createdAt, ...request.totals };
}

/** A label must not be mistaken for the other ways of naming a snapshot (see SnapshotStore.resolve). */
export function assertUsableLabel(label: string): void {
  if (label === 'latest' || /^[0-9a-f]{4,64}$/.test(label) || label.trim() === '') {
    throw new AirlockError('USAGE', `--label ${JSON.stringify(label)} would be read as ${label === 'latest' ? 'the newest snapshot' : 'a snapshot id'}`, {
      hint: 'use a label with other characters too, such as the date: --label 2026-11-24',
    });
  }
}

/**
 * Checked before long work (a download of hours): a label that names an older snapshot
 * can never name a new tree. The latest snapshot's label stays usable, because a run that
 * finds the same tree again records nothing and is not an error.
 */
export async function assertLabelAvailable(repo: Repository, label: string | null): Promise<void> {
  if (label === null) return;
  assertUsableLabel(label);
  const records = await repo.snapshots.records();
  const latest = newestRecord(records);
  const holder = records.find((r) => r.label === label);
  if (holder && holder.id !== latest?.id) {
    throw new AirlockError('LABEL_TAKEN', `label ${JSON.stringify(label)} already names snapshot ${holder.id.slice(0, 12)} (sequence ${holder.sequence})`, {
      hint: 'labels name one tree each; choose another --label (for example with the date and time)',
    });
  }
}
