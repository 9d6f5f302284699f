import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeOwnerLink, encodeOwnerLink, isAlive, Lock, MAX_LINK_TARGET_BYTES, readLockOwner, withLock, type LockOwner } from '../../src/fs/lock.js';
import { cleanTempDirsAfterEach, re, rejectsWith, tempDir } from '../repository/helpers.js';

cleanTempDirsAfterEach();

/** Far above Linux's pid_max default (and the 2^22 maximum), so no process has it. */
const DEAD_PID = 2 ** 22 + 12345;

function lockPath(): string {
  return join(tempDir(), 'lock');
}

function readOwner(path: string): LockOwner {
  return JSON.parse(fs.readFileSync(path, 'utf8')) as LockOwner;
}

function plantLock(path: string, owner: Partial<LockOwner>): void {
  const full: LockOwner = { pid: DEAD_PID, host: hostname(), command: 'apply', since: '2026-01-01T00:00:00.000Z', ...owner };
  fs.writeFileSync(path, JSON.stringify(full));
}

describe('Lock.acquire', () => {
  it('creates the lock file with pid, host, command and time; release removes it', async () => {
    const path = lockPath();
    const before = Date.now();
    const lock = await Lock.acquire(path, 'snapshot create');
    const owner = readOwner(path);
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(hostname());
    expect(owner.command).toBe('snapshot create');
    expect(Date.parse(owner.since)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(owner.since)).toBeLessThanOrEqual(Date.now());
    expect(await readLockOwner(path)).toEqual(owner);
    await lock.release();
    expect(fs.existsSync(path)).toBe(false);
    await expect(lock.release()).resolves.toBeUndefined();
  });

  it('a second acquire while held is LOCKED naming the holder (command and pid)', async () => {
    const path = lockPath();
    const lock = await Lock.acquire(path, 'apply');
    const err = await rejectsWith(Lock.acquire(path, 'gc'), 'LOCKED', re(`apply, pid ${process.pid} on ${hostname()}`));
    expect(err.where).toBe(path);
    expect(err.exitCode).toBe(4);
    // The holder's lock file is untouched.
    expect(readOwner(path).command).toBe('apply');
    await lock.release();
    const again = await Lock.acquire(path, 'gc');
    expect(readOwner(path).command).toBe('gc');
    await again.release();
  });

  it('takes over a lock left by a dead process on this host', async () => {
    const path = lockPath();
    plantLock(path, { pid: DEAD_PID });
    const lock = await Lock.acquire(path, 'bundle');
    const owner = readOwner(path);
    expect(owner.pid).toBe(process.pid);
    expect(owner.command).toBe('bundle');
    await lock.release();
    expect(fs.existsSync(path)).toBe(false);
  });

  it('respects a lock held by a live process (another pid)', async () => {
    const path = lockPath();
    plantLock(path, { pid: process.ppid, command: 'rollback' });
    await rejectsWith(Lock.acquire(path, 'apply'), 'LOCKED', re(`rollback, pid ${process.ppid}`));
    expect(readOwner(path).pid).toBe(process.ppid);
  });

  it('respects a lock from another host, even with a pid that is dead here', async () => {
    const path = lockPath();
    plantLock(path, { pid: DEAD_PID, host: 'some-other-host.example' });
    await rejectsWith(Lock.acquire(path, 'apply'), 'LOCKED', /some-other-host\.example/);
    expect(readOwner(path).host).toBe('some-other-host.example');
  });

  it('fails (not a lock error) when the directory of the lock does not exist', async () => {
    const path = join(tempDir(), 'missing', 'lock');
    await expect(Lock.acquire(path, 'apply')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the lock as a symbolic link (what a full disk leaves room for)', () => {
  it('is read with readlink, never followed: a live holder is LOCKED, a dead one is taken over', async () => {
    const path = lockPath();
    fs.symlinkSync(encodeOwnerLink({ pid: process.pid, since: '2026-12-06T02:00:00.000Z', command: 'gc', host: hostname() }), path);
    expect(await readLockOwner(path)).toEqual({ pid: process.pid, host: hostname(), command: 'gc', since: '2026-12-06T02:00:00.000Z' });
    await rejectsWith(Lock.acquire(path, 'apply'), 'LOCKED', re(`gc, pid ${process.pid}`));
    fs.rmSync(path);
    fs.symlinkSync(encodeOwnerLink({ pid: DEAD_PID, since: new Date(0).toISOString(), command: 'gc', host: hostname() }), path);
    const lock = await Lock.acquire(path, 'apply');
    expect(readOwner(path).command).toBe('apply');
    await lock.release();
  });

  it('fits in an ext4 inode (59 bytes) whatever the host and command; a long host is kept as a tag that still identifies it', () => {
    const owner: LockOwner = { pid: 4_194_303, since: '2026-12-06T02:00:00.123Z', command: 'prune-schema --keep v3', host: 'package-manager-node-17.analytics.corp.example.com' };
    const target = encodeOwnerLink(owner);
    expect(Buffer.byteLength(target)).toBeLessThanOrEqual(MAX_LINK_TARGET_BYTES);
    const back = decodeOwnerLink(target)!;
    expect(back).toMatchObject({ pid: owner.pid, since: owner.since, command: 'prune-schema' });
    expect(back.host).toMatch(/^#[0-9a-f]{8}$/);
    expect(isAlive({ ...back, pid: DEAD_PID })).toBe(true); // another host's tag: cannot tell, so alive
    const here = decodeOwnerLink(encodeOwnerLink({ ...owner, host: hostname(), pid: DEAD_PID }))!;
    expect(isAlive(here)).toBe(false); // this host, by name or by tag: the pid decides
  });

  it("a symlink to someone's file is not read as a lock, and never written through", async () => {
    const path = lockPath();
    const victim = join(tempDir(), 'victim.json');
    fs.writeFileSync(victim, JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'apply' }));
    fs.symlinkSync(victim, path);
    expect(await readLockOwner(path)).toBeUndefined();
    const old = new Date(Date.now() - 60_000);
    fs.lutimesSync(path, old, old);
    const lock = await Lock.acquire(path, 'gc');
    await lock.release();
    expect(JSON.parse(fs.readFileSync(victim, 'utf8')).command).toBe('apply');
  });
});

describe('isAlive', () => {
  it('is true for this process and for other hosts, false for a dead pid here', () => {
    expect(isAlive({ pid: process.pid, host: hostname(), command: 'x', since: '' })).toBe(true);
    expect(isAlive({ pid: DEAD_PID, host: hostname(), command: 'x', since: '' })).toBe(false);
    expect(isAlive({ pid: DEAD_PID, host: 'elsewhere', command: 'x', since: '' })).toBe(true);
  });
});

describe('withLock', () => {
  it('holds the lock during the work and releases it on success', async () => {
    const path = lockPath();
    const result = await withLock(path, 'status', async () => {
      expect(readOwner(path).command).toBe('status');
      await rejectsWith(Lock.acquire(path, 'other'), 'LOCKED', /status/);
      return 'done';
    });
    expect(result).toBe('done');
    expect(fs.existsSync(path)).toBe(false);
  });

  it('releases the lock when the work throws, and passes the error on', async () => {
    const path = lockPath();
    const failure = new Error('work failed');
    await expect(withLock(path, 'apply', async () => {
      expect(fs.existsSync(path)).toBe(true);
      throw failure;
    })).rejects.toBe(failure);
    expect(fs.existsSync(path)).toBe(false);
  });

  it('does not run the work when the lock is held', async () => {
    const path = lockPath();
    const lock = await Lock.acquire(path, 'apply');
    let ran = false;
    await rejectsWith(withLock(path, 'gc', async () => {
      ran = true;
    }), 'LOCKED', /apply/);
    expect(ran).toBe(false);
    expect(fs.existsSync(path)).toBe(true);
    await lock.release();
  });
});

// --- several processes racing for one lock -------------------------------------------

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Writes a racer script that imports the real, built lock (`npm test` builds dist/ before
 * vitest runs), so separate node processes run exactly what the CLI runs: the lock's
 * promise is about processes. Each racer reads lock paths on stdin, one a line; for each
 * it tries Lock.acquire, holds the lock for `holdMs`, releases it, and answers one JSON line.
 */
function writeRacer(dir: string): string {
  const lockModule = pathToFileURL(join(projectRoot, 'dist', 'src', 'fs', 'lock.js')).href;
  if (!fs.existsSync(fileURLToPath(lockModule))) throw new Error('dist/ is missing: run `npm test`, which builds before testing');
  const racer = join(dir, 'racer.mjs');
  fs.writeFileSync(
    racer,
    `import { createInterface } from 'node:readline';
import { Lock } from ${JSON.stringify(lockModule)};
const holdMs = Number(process.argv[2]);
process.stdout.write('ready\\n');
for await (const path of createInterface({ input: process.stdin })) {
  let result;
  try {
    const lock = await Lock.acquire(path, 'racer ' + process.pid);
    const acquired = Date.now();
    await new Promise((r) => setTimeout(r, holdMs));
    const released = Date.now();
    await lock.release();
    result = { got: true, acquired, released };
  } catch (err) {
    result = { got: false, code: err.code ?? String(err) };
  }
  process.stdout.write(JSON.stringify(result) + '\\n');
}
`,
  );
  return racer;
}

type RaceResult = { got: true; acquired: number; released: number } | { got: false; code: string };

interface Racer {
  child: ChildProcessWithoutNullStreams;
  nextLine(): Promise<string>;
}

function startRacer(script: string, holdMs: number): Racer {
  const child = spawn(process.execPath, [script, String(holdMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  child.on('close', (code) => {
    for (const waiter of waiting.splice(0)) waiter(JSON.stringify({ got: false, code: `racer exited ${code}: ${stderr}` }));
  });
  return {
    child,
    nextLine: () => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r))),
  };
}

describe('Lock across processes', () => {
  it('a lock file whose owner is still being written (created, not yet filled) is not taken over', async () => {
    // Lock.acquire creates the file with O_EXCL and only then writes its owner: this is
    // the state another command is in for that moment. Removing the file as "stale" here
    // lets both commands believe they hold the repository.
    const path = lockPath();
    const other = await fsp.open(path, 'wx', 0o644);
    try {
      const err = await rejectsWith(Lock.acquire(path, 'gc'), 'LOCKED', /./);
      expect(err.where).toBe(path);
      // The other command's file is still the lock file.
      expect(fs.statSync(path).ino).toBe((await other.stat()).ino);
    } finally {
      await other.close();
    }
  });

  it('never has two holders at once when several processes race for it', async () => {
    const script = writeRacer(tempDir('airlock-lock-racer-'));
    const PROCESSES = 8;
    const ROUNDS = 60;
    const racers = Array.from({ length: PROCESSES }, () => startRacer(script, 100));
    const overlaps: string[] = [];
    try {
      expect(await Promise.all(racers.map((r) => r.nextLine()))).toEqual(Array(PROCESSES).fill('ready'));
      for (let round = 0; round < ROUNDS && overlaps.length === 0; round++) {
        const lock = lockPath();
        for (const r of racers) r.child.stdin.write(`${lock}\n`);
        const results = (await Promise.all(racers.map((r) => r.nextLine()))).map((line) => JSON.parse(line) as RaceResult);
        const held: { acquired: number; released: number }[] = [];
        for (const r of results) {
          if (r.got) held.push(r);
          else expect(r.code).toBe('LOCKED');
        }
        expect(held.length).toBeGreaterThanOrEqual(1);
        for (let i = 0; i < held.length; i++) {
          for (let j = i + 1; j < held.length; j++) {
            const [a, b] = [held[i]!, held[j]!];
            if (a.acquired < b.released && b.acquired < a.released) {
              overlaps.push(`round ${round}: [${a.acquired}, ${a.released}] and [${b.acquired}, ${b.released}]`);
            }
          }
        }
        expect(fs.existsSync(lock)).toBe(false);
      }
    } finally {
      for (const r of racers) r.child.stdin.end();
    }
    expect(overlaps, 'two processes held the lock at the same time').toEqual([]);
  });
});
