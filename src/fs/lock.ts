import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { AirlockError, errnoCode, explainSystemError } from '../errors.js';
import { fsyncDir } from './durable.js';
import { dirname } from 'node:path';

/**
 * An exclusive lock file created with O_EXCL and holding the owner's pid and host.
 * A lock left by a process that no longer exists (killed, power loss) is stale and
 * taken over, so a crash never leaves an admin locked out at 2 a.m.
 */
export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export class Lock {
  private constructor(private readonly path: string) {}

  static async acquire(path: string, command: string): Promise<Lock> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await fsp.open(path, 'wx', 0o644);
        await handle.writeFile(JSON.stringify(owner));
        await handle.sync();
        await handle.close();
        await fsyncDir(dirname(path));
        return new Lock(path);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') explainSystemError(err, 'taking the lock', path);
      }
      const holder = await readLockOwner(path);
      if (holder && isAlive(holder)) {
        throw new AirlockError('LOCKED', `another airlock command (${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.since}) is working on this repository`, {
          where: path,
          hint: 'wait for it to finish; if that process is gone (for example on another host), remove the lock file and run the command again',
        });
      }
      await fsp.rm(path, { force: true });
    }
    throw new AirlockError('LOCKED', 'could not take the lock after removing a stale one', { where: path, hint: 'run the command again' });
  }

  async release(): Promise<void> {
    await fsp.rm(this.path, { force: true });
  }
}

export async function readLockOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

export function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot tell; assume it is
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export async function withLock<T>(path: string, command: string, work: () => Promise<T>): Promise<T> {
  const lock = await Lock.acquire(path, command);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
