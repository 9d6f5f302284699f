import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { AirlockError, errnoCode, explainSystemError } from '../errors.js';
import { fsyncDir, processAlive, tempName } from './durable.js';
import { cannotLink } from './links.js';
import { onInterrupt } from './interrupt.js';

/**
 * An exclusive lock file holding the owner's pid, host, command and start time.
 *
 * The owner is written to a private file first and then hardlinked to the lock name:
 * link(2) fails when the name exists, and the lock is never visible empty (a reader
 * would take an empty lock for a dead one). A lock whose process no longer exists
 * (killed, power loss) is stale and taken over, so a crash never leaves an admin locked
 * out at 2 a.m.; the takeover renames it aside and checks that what it moved is the
 * stale lock it judged, not a fresh one another process made meanwhile.
 *
 * On a full disk the owner cannot be written (the lock would be refused, and with it
 * `gc`, the cure). The lock is then a symbolic link whose target is the owner itself:
 * symlink(2) is exclusive like link(2), and a short target is kept in the inode (ext4's
 * and xfs's fast symlinks, tmpfs's inline ones), so it takes no data block. It is only
 * ever read with readlink, never followed.
 */
export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** An unreadable lock younger than this is someone's lock being born, not a broken one. */
const UNREADABLE_GRACE_MS = 10_000;
const ATTEMPTS = 20;

export class Lock {
  private constructor(
    private readonly path: string,
    private readonly owner: LockOwner,
  ) {}

  static async acquire(path: string, command: string): Promise<Lock> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const made = await tryCreate(path, owner);
      if (made) return new Lock(path, made);
      const holder = await readLockOwner(path);
      if (holder === undefined) {
        if (await isBrokenLock(path)) await takeOver(path, undefined);
        else await pause(50);
        continue;
      }
      if (isAlive(holder)) throw lockedBy(holder, path);
      await takeOver(path, holder);
    }
    throw new AirlockError('LOCKED', 'could not take the lock: other airlock commands keep taking it', { where: path, hint: 'wait for them to finish, then run the command again' });
  }

  /** Removes the lock only if it is still ours. */
  async release(): Promise<void> {
    const holder = await readLockOwner(this.path);
    if (holder && sameOwner(holder, this.owner)) await fsp.rm(this.path, { force: true });
  }
}

/** The owner as the lock now records it (a symlink lock holds it shortened), or null when the lock exists. */
async function tryCreate(path: string, owner: LockOwner): Promise<LockOwner | null> {
  const temp = tempName(path);
  try {
    try {
      await writeOwner(temp, owner, 'wx');
    } catch (err) {
      if (!isOutOfSpace(err)) throw err;
      const target = encodeOwnerLink(owner);
      await fsp.symlink(target, path);
      await fsyncDir(dirname(path));
      return decodeOwnerLink(target)!;
    }
    try {
      await fsp.link(temp, path);
    } catch (err) {
      // A filesystem without hardlinks (FAT, exFAT): create the lock in place instead. The
      // lock is then empty for an instant, which the grace period for unreadable locks covers.
      if (!cannotLink(err)) throw err;
      await writeOwner(path, owner, 'wx');
    }
    await fsyncDir(dirname(path));
    return owner;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return null;
    explainSystemError(err, 'taking the lock', path);
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

function isOutOfSpace(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * ext4 keeps a symlink target of at most 59 bytes in the inode (60 with its NUL); a longer one
 * needs a data block, which a full disk does not have. The owner is written to fit: the time in
 * base 36, the command's first word, and the host as `#` and 8 hex digits of its SHA-256 when
 * the name would not fit (a fully qualified one).
 */
export const MAX_LINK_TARGET_BYTES = 59;

export function encodeOwnerLink(owner: LockOwner): string {
  const head = `airlock:${owner.pid}:${Date.parse(owner.since).toString(36)}:${(owner.command.split(' ')[0] ?? '').replaceAll(':', '').slice(0, 12)}:`;
  const full = `${head}${owner.host}`;
  return Buffer.byteLength(full) <= MAX_LINK_TARGET_BYTES ? full : `${head}${hostTag(owner.host)}`;
}

export function decodeOwnerLink(target: string): LockOwner | undefined {
  const match = /^airlock:(\d+):([0-9a-z]+):([^:]*):(.+)$/.exec(target);
  if (!match) return undefined;
  return { pid: Number(match[1]), since: new Date(parseInt(match[2]!, 36)).toISOString(), command: match[3] || 'unknown', host: match[4]! };
}

function hostTag(host: string): string {
  return `#${createHash('sha256').update(host).digest('hex').slice(0, 8)}`;
}

async function writeOwner(path: string, owner: LockOwner, flag: string): Promise<void> {
  const handle = await fsp.open(path, flag, 0o644);
  try {
    await handle.writeFile(JSON.stringify(owner));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves a dead lock aside; if what moved turns out to be someone's fresh lock, puts it back. */
async function takeOver(path: string, judged: LockOwner | undefined): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(path, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  const moved = await readLockOwner(aside);
  const wasJudged = judged === undefined ? moved === undefined : moved !== undefined && sameOwner(moved, judged);
  if (!wasJudged) await fsp.link(aside, path).catch(() => undefined); // link never overwrites a newer lock
  await fsp.rm(aside, { force: true });
}

async function isBrokenLock(path: string): Promise<boolean> {
  try {
    return Date.now() - (await fsp.lstat(path)).mtimeMs > UNREADABLE_GRACE_MS;
  } catch {
    return false;
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since;
}

function lockedBy(holder: LockOwner, path: string): AirlockError {
  return new AirlockError('LOCKED', `another airlock command (${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.since}) is working on this repository`, {
    where: path,
    hint: 'wait for it to finish; if that process is gone (for example on another host), remove the lock file and run the command again',
  });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function readLockOwner(path: string): Promise<LockOwner | undefined> {
  try {
    if ((await fsp.lstat(path)).isSymbolicLink()) return decodeOwnerLink(await fsp.readlink(path));
    const handle = await fsp.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    let text: string;
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.since !== 'string') return undefined;
    return { pid: value.pid, host: value.host, since: value.since, command: typeof value.command === 'string' ? value.command : 'unknown' };
  } catch {
    return undefined;
  }
}

export function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname() && owner.host !== hostTag(hostname())) return true; // cannot tell; assume it is
  return processAlive(owner.pid);
}

export async function withLock<T>(path: string, command: string, work: () => Promise<T>): Promise<T> {
  const lock = await Lock.acquire(path, command);
  const forget = onInterrupt(() => lock.release());
  try {
    return await work();
  } finally {
    forget();
    await lock.release();
  }
}
