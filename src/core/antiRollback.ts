import type { SnapshotId } from './manifest.js';

/**
 * The anti-rollback rule (docs/security.md, docs/layout.md "Sequences of local snapshots"),
 * in one place for `apply` and for the receipt check of `bundle create` / `export`.
 *
 * A data dir remembers the highest bundle sequence it ever applied. A bundle is taken when
 * its target's sequence is higher (`newer`). It is also taken at exactly that sequence
 * (`same-level`) when it is built on exactly the snapshot the data dir shows and that
 * snapshot is itself at that sequence: such a bundle carries a local snapshot derived from
 * what the host holds now (made by `prune-schema`, which records its snapshot with its
 * parent's sequence), and cannot be the replay of anything older. An empty data dir that
 * never applied anything (sequence 0) likewise takes a full bundle of sequence 0 (an adopted
 * tree exported from another host). Everything else is `not-newer` (`DOWNGRADE`).
 */
export type SequenceVerdict = 'newer' | 'same-level' | 'not-newer';

export interface ShownSnapshot {
  id: SnapshotId;
  /** The sequence the data dir recorded for it (its newest record). */
  sequence: number;
}

export function judgeSequence(target: number, from: SnapshotId | null, shown: ShownSnapshot | null, highest: number): SequenceVerdict {
  if (target > highest) return 'newer';
  if (target === highest && from === (shown?.id ?? null) && (shown?.sequence ?? 0) === target) return 'same-level';
  return 'not-newer';
}
