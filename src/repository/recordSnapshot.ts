import { AirlockError } from '../errors.js';
import { newestRecord, type SnapshotRecord } from '../core/manifest.js';
import type { Repository } from './repository.js';

/**
 * Appends a snapshot record for a saved tree: the next sequence (above `sequenceAbove`
 * too, when the offline side is known to be further along), the previous latest as
 * parent. Recording the same tree and label as the latest snapshot again is a no-op, so
 * re-running an unchanged download or snapshot leaves the history as it was.
 */
export async function recordSnapshot(
  repo: Repository,
  id: string,
  label: string | null,
  totals: { files: number; bytes: number },
  sequenceAbove = 0,
): Promise<{ record: SnapshotRecord; recorded: boolean }> {
  const records = await repo.snapshots.records();
  const latest = newestRecord(records);
  if (latest && latest.id === id && (label === null || latest.label === label)) return { record: latest, recorded: false };
  if (label !== null) {
    const holder = records.find((r) => r.label === label && r.id !== id);
    if (holder) {
      throw new AirlockError('LABEL_TAKEN', `label ${JSON.stringify(label)} already names snapshot ${holder.id.slice(0, 12)}`, {
        hint: 'labels name one tree each; choose another --label (for example with the date and time)',
      });
    }
  }
  const record: SnapshotRecord = {
    id,
    sequence: Math.max(latest?.sequence ?? 0, sequenceAbove) + 1,
    label,
    parent: latest?.id ?? null,
    createdAt: new Date().toISOString(),
    ...totals,
  };
  await repo.snapshots.append(record);
  return { record, recorded: true };
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
