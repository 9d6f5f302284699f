import * as fs from 'node:fs';
import type { SnapshotRecord } from '../core/manifest.js';
import { isObjectId } from '../core/objectId.js';
import type { DataDirKind, HistoryEntry } from './dataDir.js';
import type { OfflineSession } from './session.js';

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
}

export async function dataDirStatus(session: OfflineSession): Promise<DataDirStatus> {
  const { dataDir, repo, state } = session;
  const records = await repo.snapshots.records();
  const recordOf = (id: string) => [...records].reverse().find((r) => r.id === id);
  const currentId = dataDir.currentDeployment();
  const deployments = fs.existsSync(dataDir.deploymentsDir) ? fs.readdirSync(dataDir.deploymentsDir).filter(isObjectId) : [];
  return {
    dataDir: dataDir.path,
    stateDir: dataDir.stateDir,
    kind: dataDir.kind(),
    current: currentId ? (recordOf(currentId) ?? null) : null,
    highestSequence: state.highestSequence,
    deployments: deployments.map((id) => ({ snapshot: recordOf(id) ?? { id }, current: id === currentId })),
    snapshots: records,
    history: state.history,
    recovered: session.recovered,
  };
}
