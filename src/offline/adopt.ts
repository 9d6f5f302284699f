import { count } from '../core/units.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors.js';
import { modeFromStat, sortEntries, treeTotals, validateTree, type SnapshotRecord, type TreeEntry } from '../core/manifest.js';
import { recordSnapshot } from '../repository/recordSnapshot.js';
import { fsyncDirSync, readJsonIfExists, writeJsonDurable } from '../fs/durable.js';
import { failpoint } from '../fs/failpoint.js';
import { walkTree } from '../fs/walk.js';
import type { Progress } from '../core/progress.js';
import { hashFile } from '../repository/objectStore.js';
import { buildDeployment } from '../deployment/buildDeployment.js';
import type { DataDir } from '../deployment/dataDir.js';
import type { Owner } from '../deployment/accounts.js';
import { probeFilesystem } from '../deployment/probeFilesystem.js';
import { unsafeBits } from '../core/access.js';
import type { OfflineSession } from './session.js';
import { switchDeployment } from '../deployment/switchDeployment.js';

export interface AdoptResult {
  snapshot: SnapshotRecord;
  files: number;
  linked: number;
  copied: number;
  /**
   * Files of the hand copy that were writable by group or others, or had setuid, setgid or
   * sticky bits: the deployment has them read-only (0444, executables 0555) like any other.
   */
  modesNormalised: FileSample;
  /** Files of the hand copy with an execute bit: recorded as executable (0755), so each gets its own copy. */
  executable: FileSample;
}

export interface FileSample {
  count: number;
  /** The first few, relative to the data dir. */
  examples: string[];
}

const SAMPLE = 5;

function sample(): FileSample {
  return { count: 0, examples: [] };
}

function note(s: FileSample, path: string): void {
  s.count++;
  if (s.examples.length < SAMPLE) s.examples.push(path);
}

interface AdoptJournal {
  snapshot: string;
  original: string;
}

const JOURNAL = 'adopt-journal.json';

/**
 * Turns a plain data directory (copied by hand, the old way) into a managed one without
 * copying its bytes: each file is hashed once and hardlinked into the object store, a
 * deployment is built from the store, and the directory is swapped for the symlink.
 * The swap is two renames (a directory cannot be atomically replaced by a symlink with
 * rename(2)); a journal written first lets the next command finish it after a crash.
 */
export async function adopt(session: OfflineSession, label: string | null, owner: Owner | undefined, progress: Progress): Promise<AdoptResult> {
  const { dataDir, repo } = session;
  const kind = dataDir.kind();
  if (kind === 'managed') {
    throw new AirlockError('ALREADY_MANAGED', `${dataDir.path} is already managed by airlock`, { hint: '`airlock status` shows what it holds' });
  }
  if (kind !== 'plain-directory') {
    throw new AirlockError('NOT_FOUND', `${dataDir.path} is not a directory with data in it; there is nothing to adopt`, {
      hint: `apply a full bundle instead: \`airlock apply BUNDLE --data-dir ${dataDir.path}\``,
    });
  }
  probeFilesystem(repo.layout.tmpDir);
  const files = walkTree(dataDir.path);
  let totalBytes = 0;
  for (const f of files) totalBytes += f.size;
  progress.phase('hashing files in place', { files: files.length, bytes: totalBytes });
  const entries: TreeEntry[] = [];
  let copiedIntoStore = 0;
  const modesNormalised = sample();
  const executable = sample();
  for (const file of files) {
    const source = join(dataDir.path, file.path);
    // A careless copy (cp as another user, a FAT drive, chmod -R 777) leaves modes no data needs.
    // The store takes each file read-only (linkExisting sets 0444, which drops these bits) and
    // the deployment is built from the store, so none of them reaches the server's tree.
    if (unsafeBits(file.mode)) note(modesNormalised, file.path);
    if ((file.mode & 0o111) !== 0) note(executable, file.path);
    const id = (await hashFile(source))!;
    if (!(await repo.objects.linkExisting(source, id))) {
      await repo.objects.addFile(source);
      copiedIntoStore++;
    }
    entries.push({ path: file.path, id, size: file.size, mode: modeFromStat(file.mode) });
    progress.advance(1, file.size);
  }
  if (copiedIntoStore > 0) progress.warn(`${count(copiedIntoStore, 'file')} could not be hardlinked into the store and were copied`);
  if (executable.count > 0) {
    progress.warn(
      `${executable.count} ${executable.count === 1 ? 'file' : 'files'} of the hand copy ${executable.count === 1 ? 'is' : 'are'} executable (${executable.examples.join(', ')}${executable.count > SAMPLE ? ', ...' : ''}): ` +
        'they are recorded as executable (0755) and each gets its own copy instead of a hardlink. If the copy did that (a FAT or NTFS ' +
        'drive makes every file executable), the snapshot will not match the one recorded online and deltas will not apply to it: ' +
        `apply a full bundle with --force-full, or run \`chmod -R a-x,a+X DIR\` on a hand copy before adopting it`,
    );
  }
  await repo.objects.flush();
  sortEntries(entries);
  validateTree(entries);
  const tree = { entries };
  const id = await repo.snapshots.saveTree(tree);
  const { record: snapshot } = await recordSnapshot(repo, { kind: 'local', id, label, totals: treeTotals(tree), parent: null });
  const built = await buildDeployment(repo, dataDir, id, tree, owner, progress);
  await swapIn(dataDir, id);
  await dataDir.recordSwitch(session.state, { snapshot: id, action: 'adopt', at: new Date().toISOString() }, built.builtAt);
  return { snapshot, files: entries.length, linked: built.linked, copied: built.copied, modesNormalised, executable };
}

async function swapIn(dataDir: DataDir, id: string): Promise<void> {
  const original = join(dataDir.stateDir, `adopted-original-${Date.now()}`);
  await writeJsonDurable(join(dataDir.stateDir, JOURNAL), { snapshot: id, original } satisfies AdoptJournal);
  fs.renameSync(dataDir.path, original);
  failpoint('adopt-between-renames');
  switchDeployment(dataDir, id);
  await finishAdoption(dataDir);
}

/** Completes an adoption a crash interrupted between its two renames; removes the journal and the original. */
export async function finishAdoption(dataDir: DataDir): Promise<string | undefined> {
  const journalPath = join(dataDir.stateDir, JOURNAL);
  const journal = await readJsonIfExists<AdoptJournal>(journalPath);
  if (!journal) return undefined;
  let note: string | undefined;
  if (dataDir.kind() === 'absent' && fs.existsSync(dataDir.deploymentPath(journal.snapshot))) {
    switchDeployment(dataDir, journal.snapshot);
    note = `finished adopting ${dataDir.path}, interrupted between its two renames`;
  } else if (dataDir.kind() === 'absent' && fs.existsSync(journal.original)) {
    fs.renameSync(journal.original, dataDir.path);
    fsyncDirSync(dataDir.parent);
    note = `put back ${dataDir.path}: an interrupted adoption had moved it aside`;
  }
  // The original's files are all hardlinked into the store; removing it frees no data.
  await fsp.rm(journal.original, { recursive: true, force: true });
  await fsp.rm(journalPath, { force: true });
  return note;
}
