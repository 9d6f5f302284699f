import * as fs from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { DataDir } from './dataDir.js';
import { walkEntries } from '../fs/walk.js';
import { AccessFindings, describeProblems, writableByOthers, type AccessProblem, type Account } from '../core/access.js';
import type { Progress } from '../core/progress.js';
import { inTurn } from '../core/workerPool.js';
import { reportedError, STAT_BATCH, STAT_FIELDS, StatType } from '../repository/storeThreadMessages.js';
import { StoreThreads } from '../repository/storeThreads.js';

/** What `status` found about the server account's access to the current deployment. */
export interface ServerAccess {
  account: Account;
  /** The deployment checked (the real path behind the data dir's symlink). */
  deployment: string;
  /** The directories the server passes through to reach it, each of which it must be able to search. */
  path: string[];
  directories: number;
  files: number;
  problems: AccessProblem[];
  /** Directories this process could not list, so could not check below (status run as a user other than root). */
  unchecked: string[];
  /** One line per problem, with what to run. */
  warnings: string[];
}

/**
 * Checks, read-only, that `account` can reach and read the data dir's current deployment:
 * every directory the kernel looks a name up in on the way (from / through the data dir's
 * symlink to deployments/<id>) must be searchable, every directory of the deployment
 * listable, every file readable; and nothing in it may be writable by group or others, or
 * carry setuid, setgid or sticky bits. Each entry is lstat'ed once, on the store's threads
 * for a large tree (`files`, the deployment's count, decides), a batch of paths at a time:
 * at a million files the lstats were most of status's 8 seconds, with nothing shown.
 */
export async function checkServerAccess(dataDir: DataDir, account: Account, files: number, progress: Progress): Promise<ServerAccess> {
  const findings = new AccessFindings();
  const { passed, target } = resolvePath(dataDir.path);
  // Whoever can write these can swap what the server reads: airlock's own directories, and the
  // one holding the data dir's symlink (unless sticky, as /tmp is: then only its owner can).
  // Compared as real paths, since `passed` holds real paths (/var may itself be a link).
  const guarded = new Set([dataDir.stateDir, dataDir.deploymentsDir].map(realOrSelf));
  const linkParent = realOrSelf(dataDir.parent);
  for (const dir of passed) {
    const st = fs.statSync(dir);
    findings.checkPathDirectory(dir, st, account);
    const swappable = guarded.has(dir) || (dir === linkParent && (st.mode & 0o1000) === 0);
    if (swappable && writableByOthers(st.mode)) findings.add('writable-by-others', dir, st);
  }
  const unchecked: string[] = [];
  const shown = (rel: string) => (rel === '' ? `${dataDir.path}/` : `${dataDir.path}/${rel}`);
  findings.checkEntry(shown(''), fs.statSync(target), true, account);
  const unreadable = (rel: string, err: unknown) => {
    if (errnoCode(err) !== 'EACCES') return false;
    unchecked.push(shown(rel));
    return true;
  };
  progress.phase(`checking what ${account.description} can read`, { files });
  const pool = StoreThreads.forWork(files);
  // Judged in the walk's order whatever order the threads answer in, so the examples named are the same each run.
  const judged = inTurn();
  const judge = (paths: string[], stats: Float64Array) => {
    for (let k = 0; k < paths.length; k++) {
      const type = stats[k * STAT_FIELDS]!;
      // Gone since the walk listed it, or turned into something that is not data (`verify` reports that).
      if (type !== StatType.File && type !== StatType.Directory) continue;
      const inode = { mode: stats[k * STAT_FIELDS + 3]!, uid: stats[k * STAT_FIELDS + 4]!, gid: stats[k * STAT_FIELDS + 5]! };
      findings.checkEntry(shown(paths[k]!), inode, type === StatType.Directory, account);
      if (type === StatType.File) progress.advance(1, 0);
    }
  };
  const queue = pool.batches<string>(STAT_BATCH, (paths) =>
    judged(pool.stat(target, paths.length, paths.join('\0')), (reply) => {
      const failure = reply.errors[0];
      if (failure) throw reportedError(failure); // status names it in a warning and reports the rest
      judge(paths, new Float64Array(reply.stats));
    }),
  );
  try {
    for (const { path: child, dirent } of walkEntries(target, { unreadable })) {
      if (!dirent.isDirectory() && !dirent.isFile()) continue; // not data: `airlock verify` reports it
      const sent = queue.add(child);
      if (sent) await sent;
    }
    await queue.finish();
  } finally {
    await queue.settled();
    await pool.close();
  }
  const problems = findings.problems();
  const warnings = describeProblems(problems, account, dataDir.path);
  if (unchecked.length > 0) warnings.push(`could not check below ${unchecked.length} directories this user cannot list: ${unchecked.slice(0, 5).join(', ')}; run status as root`);
  return { account, deployment: target, path: passed, directories: findings.directories, files: findings.files, problems, unchecked, warnings };
}

function realOrSelf(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Resolves `path` as the kernel does, returning every directory a name was looked up in
 * (each must be searchable) and the final target. Symlinks along the way are followed
 * (their own modes do not matter; the directories holding them do).
 */
function resolvePath(path: string): { passed: string[]; target: string } {
  const passed: string[] = [];
  let current = '/';
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      current = join(current, '..');
      continue;
    }
    if (!passed.includes(current)) passed.push(current);
    const next = join(current, name);
    const st = fs.lstatSync(next);
    if (st.isSymbolicLink()) {
      if (++links > 40) throw Object.assign(new Error(`too many symbolic links resolving ${path}`), { code: 'ELOOP' });
      const text = fs.readlinkSync(next);
      if (text.startsWith('/')) current = '/';
      pending = [...text.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
    } else {
      current = next;
    }
  }
  return { passed, target: current };
}
