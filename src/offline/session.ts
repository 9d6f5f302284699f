import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { isTempName } from '../fs/durable.js';
import { readLockOwner, withLock, type LockOwner } from '../fs/lock.js';
import { AirlockError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import { DataDir, type DataDirState } from '../deployment/dataDir.js';
import { finishAdoption } from './adopt.js';

export interface OfflineSession {
  dataDir: DataDir;
  repo: Repository;
  state: DataDirState;
  /** What recovery cleaned or finished, for the command to report. */
  recovered: string[];
  /** Set when the session was opened read-only because another command holds the lock (status). */
  busy: LockOwner | null;
}

export interface SessionOptions {
  /** Create the state directory (apply, trust: a data dir may start with them). */
  create?: boolean;
  /**
   * While another command holds the lock (an apply at 2 a.m.), open read-only instead of
   * refusing: no recovery, nothing written, `busy` names that command.
   */
  readOnlyWhenBusy?: boolean;
}

/**
 * Every offline command runs inside one of these: it takes the data dir's lock, then
 * finishes or discards whatever a killed run left behind, so each command starts from
 * a clean, consistent state.
 */
export async function withOfflineSession<T>(path: string, command: string, work: (session: OfflineSession) => Promise<T>, options: SessionOptions = {}): Promise<T> {
  try {
    return await withServerReadableUmask(() => session(path, command, work, options));
  } catch (err) {
    if (!(options.readOnlyWhenBusy && err instanceof AirlockError && err.code === 'LOCKED')) throw err;
  }
  const dataDir = new DataDir(path);
  const repo = await Repository.open(dataDir.stateDir);
  return work({ dataDir, repo, state: await dataDir.readState(), recovered: [], busy: (await readLockOwner(dataDir.lockPath)) ?? null });
}

/**
 * The data is for the server account to read, so what an offline command creates must not
 * depend on the admin's umask: with the hardened 027 or 077 many hosts set for root, new
 * objects would be 0400 or 0440 and directories 0700 or 0750, unreadable for rstudio-pm.
 * 022 gives exactly the modes airlock asks for (objects 0444, directories 0755, state
 * files 0644), and never anything writable by group or others. The umask belongs to the
 * process, so worker threads (which may not change it) keep it as it is.
 */
const SESSION_UMASK = 0o022;

async function withServerReadableUmask<T>(body: () => Promise<T>): Promise<T> {
  if (!isMainThread) return body();
  const previous = process.umask(SESSION_UMASK);
  try {
    return await body();
  } finally {
    process.umask(previous);
  }
}

async function session<T>(path: string, command: string, work: (session: OfflineSession) => Promise<T>, options: SessionOptions): Promise<T> {
  const dataDir = new DataDir(path);
  dataDir.assertReplaceable();
  dataDir.assertOwnPlace();
  // A file or a link airlock did not make is refused before anything is created beside it.
  if (['file', 'foreign-link'].includes(dataDir.kind())) dataDir.assertManaged();
  const createdHere = options.create === true && !fs.existsSync(dataDir.stateDir);
  if (options.create) await fsp.mkdir(dataDir.stateDir, { recursive: true });
  else if (!fs.existsSync(join(dataDir.stateDir, 'airlock-repository.json'))) dataDir.assertManaged();
  try {
    return await withLock(dataDir.lockPath, command, async () => {
      const hasRepo = fs.existsSync(join(dataDir.stateDir, 'airlock-repository.json'));
      const repo = await Repository.open(dataDir.stateDir, { create: options.create === true && !hasRepo, allowExisting: true });
      const recovered = await recover(dataDir, repo);
      const state = await dataDir.readState();
      const reconciled = await reconcileHistory(dataDir, repo, state);
      if (reconciled) recovered.push(reconciled);
      return work({ dataDir, repo, state, recovered, busy: null });
    });
  } catch (err) {
    // A first command refused on a new path (a delta onto nothing, say) leaves nothing behind;
    // one refused because another holds the lock must not touch what that one is making.
    const locked = err instanceof AirlockError && err.code === 'LOCKED';
    if (createdHere && !locked && dataDir.currentDeployment() === undefined) await fsp.rm(dataDir.stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** The files in tmp/, its lanes included (ObjectStore.tmpDirForWriters); links are counted, never followed. */
async function stagedFiles(tmpDir: string): Promise<number> {
  const entries = await fsp.readdir(tmpDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).length;
}

async function recover(dataDir: DataDir, repo: Repository): Promise<string[]> {
  const notes: string[] = [];
  if (fs.existsSync(repo.layout.tmpDir)) {
    const leftovers = await stagedFiles(repo.layout.tmpDir);
    await fsp.rm(repo.layout.tmpDir, { recursive: true, force: true });
    if (leftovers > 0) notes.push(`removed ${leftovers} staged files of an interrupted run`);
  }
  if (fs.existsSync(dataDir.deploymentsDir)) {
    for (const name of await fsp.readdir(dataDir.deploymentsDir)) {
      if (!isTempName(name)) continue;
      await fsp.rm(join(dataDir.deploymentsDir, name), { recursive: true, force: true });
      notes.push(`removed the unfinished deployment ${name}`);
    }
  }
  for (const name of await fsp.readdir(dataDir.parent)) {
    if (!name.startsWith(dataDir.tempLinkPrefix)) continue;
    await fsp.rm(join(dataDir.parent, name), { force: true });
    notes.push(`removed the unused switch link ${name}`);
  }
  const adoption = await finishAdoption(dataDir);
  if (adoption) notes.push(adoption);
  return notes;
}

/** A run killed between the switch and the state update: record the switch it made. */
async function reconcileHistory(dataDir: DataDir, repo: Repository, state: DataDirState): Promise<string | undefined> {
  const current = dataDir.currentDeployment();
  const last = state.history.at(-1);
  if (current === undefined || last?.snapshot === current) return undefined;
  const record = await repo.snapshots.newestRecordOf(current);
  if (record) state.highestSequence = Math.max(state.highestSequence, record.sequence);
  state.history.push({ snapshot: current, action: 'recovered', at: new Date().toISOString() });
  await dataDir.writeState(state);
  return `recorded the switch to ${current.slice(0, 12)} that an interrupted run made`;
}
