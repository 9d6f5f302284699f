import { AirlockError, isAirlockError } from '../errors.js';
import type { SnapshotRecord, Tree } from '../core/manifest.js';
import { shortId, namedSnapshot } from '../core/objectId.js';
import type { Repository } from '../repository/repository.js';
import type { DecodedReceipt } from '../core/receipt.js';
import { fileKind, readReceipt } from './receiptFile.js';
import { judgeSequence } from '../core/antiRollback.js';

export interface StartingPoint {
  /** What the admin typed: a snapshot reference or a receipt's path. */
  ref: string;
  /** What the offline side holds: a record of this repository, or one built from a receipt. */
  base: SnapshotRecord;
  baseTree: Tree;
  /** Set when `--starting-snapshot` named a receipt file. */
  receipt?: DecodedReceipt;
}

/**
 * `--starting-snapshot` is a snapshot of this repository (label, id, prefix, `latest`)
 * or a receipt file written on the offline side (`airlock receipt`). A receipt carries
 * the tree it describes, so the delta is planned against it whether or not this
 * repository ever held that snapshot (or exists yet: `repo` null, and `noRepository` says
 * why a snapshot name cannot be resolved). Resolved once per command and handed down.
 */
export async function resolveStartingPoint(repo: Repository | null, ref: string, noRepository?: () => AirlockError): Promise<StartingPoint> {
  const kind = await fileKind(ref);
  if (kind === 'receipt') {
    const receipt = await readReceipt(ref);
    return { ref, base: receipt.snapshot, baseTree: receipt.tree, receipt };
  }
  if (repo === null) {
    throw noRepository?.() ?? new AirlockError('NOT_FOUND', `--starting-snapshot ${ref}: there is no repository to find it in`, { where: ref, hint: 'give a receipt file written by `airlock receipt`, or drop --starting-snapshot for a full bundle' });
  }
  let base: SnapshotRecord;
  try {
    base = await repo.snapshots.resolve(ref);
  } catch (err) {
    if (kind === 'other-file' && isAirlockError(err) && err.code === 'NOT_FOUND') {
      throw new AirlockError('MANIFEST_INVALID', `--starting-snapshot ${ref} is a file, but not an airlock receipt (it does not start with "airlock-receipt"), and no snapshot here is named so`, {
        where: ref,
        hint: 'give the receipt `airlock receipt --data-dir D --output R` wrote on the offline host, or a snapshot label or id (`airlock snapshot list`)',
      });
    }
    throw err;
  }
  return { ref, base, baseTree: await repo.snapshots.loadTree(base.id) };
}

/**
 * Before a bundle is written: a receipt that shows the offline side already at or past the
 * target is refused, as apply would refuse the bundle (already applied, or a downgrade).
 */
export function checkStartAgainstTarget(start: StartingPoint, target: SnapshotRecord): void {
  if (start.receipt) checkReceiptAgainstTarget(start.receipt, target, start.ref);
}

function describe(record: SnapshotRecord): string {
  return `${namedSnapshot(shortId(record.id), record.label)}, sequence ${record.sequence}`;
}

/**
 * A bundle the offline side would refuse (already applied, or a downgrade) is refused here,
 * before it is written. The delta's base is the receipt's snapshot, so a target at the same
 * sequence is accepted exactly when apply would take it (judgeSequence: a local snapshot, such
 * as a staging host's prune-schema, built on what the receiving side shows).
 */
function checkReceiptAgainstTarget(receipt: DecodedReceipt, target: SnapshotRecord, ref: string): void {
  const held = receipt.snapshot;
  if (held.id !== target.id && judgeSequence(target.sequence, held.id, held, receipt.highestSequence) === 'same-level') return;
  if (held.id === target.id || held.sequence >= target.sequence) {
    throw new AirlockError('BASE_MISMATCH', `the offline side is already at or past snapshot ${describe(target)}: receipt ${ref} says it holds ${describe(held)}`, {
      where: ref,
      hint:
        held.id === target.id
          ? 'nothing to carry: the offline side has this snapshot'
          : 'bundle a newer snapshot (`airlock snapshot list --repo R` shows the sequences; they count per online repository, so a repository started afresh begins again at 1)',
    });
  }
  if (receipt.highestSequence >= target.sequence) {
    throw new AirlockError('DOWNGRADE', `the offline side has already applied sequence ${receipt.highestSequence} (receipt ${ref}), and snapshot ${describe(target)} is not newer: apply would refuse it as a downgrade`, {
      where: ref,
      hint: 'it was rolled back since; to return to a kept snapshot run `airlock rollback --to ID` there, or bundle a snapshot newer than sequence ' + `${receipt.highestSequence}`,
    });
  }
}
