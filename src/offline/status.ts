import * as fs from 'node:fs';
import type { SnapshotRecord } from '../core/manifest.js';
import { isObjectId } from '../core/objectId.js';
import type { LockOwner } from '../fs/lock.js';
import type { DataDirKind, HistoryEntry } from '../deployment/dataDir.js';
import type { Account } from '../core/access.js';
import { checkServerAccess, type ServerAccess } from '../deployment/serverAccess.js';
import type { OfflineSession } from './session.js';
import type { Progress } from '../core/progress.js';

export interface DeploymentStatus {
  snapshot: SnapshotRecord | { id: string };
  current: boolean;
}

export interface DataDirStatus {
  dataDir: string;
  stateDir: string;
  kind: DataDirKind;
  current: SnapshotRecord | null;
  highestSequence: number;
  deployments: DeploymentStatus[];
  /** Snapshots whose tree is held (roll-back targets when their objects are kept). */
  snapshots: SnapshotRecord[];
  history: HistoryEntry[];
  recovered: string[];
  /** Set when another command (an apply, say) holds the lock: nothing was cleaned up then. */
  busy: LockOwner | null;
  /** Whether the server account can reach and read the current deployment (null: nothing is current). */
  access: ServerAccess | null;
  /** What would stop the server reading the data, or lets others change it: one line each, with what to run. */
  warnings: string[];
}

/**
 * What the data dir shows and keeps. Run in a session opened with readOnlyWhenBusy: normally
 * it holds the lock and recovered first; while another command holds the lock (an apply at
 * 2 a.m.), it reports read-only instead of refusing, and names that command.
 */
export async function readStatus(session: OfflineSession, server: Account, progress: Progress): Promise<DataDirStatus> {
  const { dataDir, repo, state, recovered, busy } = session;
  const records = await repo.snapshots.records();
  const recordOf = (id: string) => records.findLast((r) => r.id === id);
  const currentId = dataDir.currentDeployment();
  const deployments = fs.existsSync(dataDir.deploymentsDir) ? fs.readdirSync(dataDir.deploymentsDir).filter(isObjectId) : [];
  // Read-only: reports what would stop the server, never changes a mode or an owner.
  let access: ServerAccess | null = null;
  let warnings: string[] = [];
  if (currentId) {
    try {
      access = await checkServerAccess(dataDir, server, recordOf(currentId)?.files ?? 0, progress);
      warnings = access.warnings;
    } catch (err) {
      // A deployment gone from under its link, say: status still reports the rest; `verify` says what is wrong.
      warnings = [`could not check what ${server.description} can read: ${(err as Error).message}; run \`airlock verify --data-dir ${dataDir.path}\``];
    }
  }
  return {
    dataDir: dataDir.path,
    stateDir: dataDir.stateDir,
    kind: dataDir.kind(),
    current: currentId ? (recordOf(currentId) ?? null) : null,
    highestSequence: state.highestSequence,
    deployments: deployments.map((id) => ({ snapshot: recordOf(id) ?? { id }, current: id === currentId })),
    snapshots: records,
    history: state.history,
    recovered,
    busy,
    access,
    warnings,
  };
}
