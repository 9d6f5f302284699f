import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, basename } from 'node:path';
import { AirlockError, explainSystemError } from '../errors.js';
import { prefixUnder } from '../core/paths.js';
import { onInterrupt } from './interrupt.js';

/**
 * The careful write, as restic's local backend does it: temp name in the same
 * directory, write, fsync, close, rename, fsync the directory, remove the temp on any
 * error. Every small state file airlock owns goes through here. Bulk writers (the object
 * store, deployments) keep the same order but batch the flushes into one syncFilesystem
 * per batch. pnpm and cacache skip the fsyncs; we cannot, because apply promises to
 * survive power loss.
 */

let tempCounter = 0;
/** Drawn once per process: a random draw per name costs more than the write it names. */
const tempNonce = randomBytes(4).toString('hex');

/**
 * A name no other writer uses: pid and a per-process counter make it unique on this host
 * (random bits alone collide once hundreds of thousands of temps wait for one flush);
 * the random part keeps names from different hosts apart on shared storage.
 */
export function tempName(finalPath: string): string {
  tempCounter++;
  // Next to the final path, by concatenation (one temp per object: no path.join each time).
  return `${prefixUnder(dirname(finalPath))}.tmp-${basename(finalPath)}-${process.pid}-${tempNonce}-${tempCounter}`;
}

/**
 * What `tempName` made a name from: the final file name and the writer's pid (so a leftover of
 * a process that is gone can be told from a file another process is still writing). Undefined
 * for any other name.
 */
export function parseTempName(name: string): { final: string; pid: number } | undefined {
  const m = /^\.tmp-(.+)-(\d+)-[0-9a-f]{8}-\d+$/.exec(name);
  return m ? { final: m[1]!, pid: Number(m[2]) } : undefined;
}

/** Whether process `pid` exists on this host (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isTempName(name: string): boolean {
  return name.startsWith('.tmp-');
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileDurable(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  let file: TempFile | undefined;
  try {
    file = await TempFile.create(path, mode);
    await file.handle.writeFile(data);
    await file.commit();
  } catch (err) {
    await file?.discard();
    explainSystemError(err, 'writing a file', path);
  }
}

/** A TempFile starts syncing its data in the background every this many bytes written (wrote()). */
const WRITEBACK_BYTES = 64 * 1024 * 1024;

/**
 * A file written under a temp name in its final directory, put in place only once it is
 * complete and durable: the careful write for writers that stream (a bundle, its volumes)
 * as for small state files (writeFileDurable). The steps are separate so a set of files
 * can be made durable one by one and then renamed together (volumes: F.001... appear only
 * as a complete set).
 */
export class TempFile {
  private closed = false;
  private renamed = false;
  /** Bytes written since the last early sync was started (wrote()). */
  private unsynced = 0;
  /** The early sync under way, if any; its failure is kept for seal(). */
  private syncing: Promise<void> | undefined;
  private syncFailure: unknown;
  /** Until committed or discarded, an interrupt removes the file (fs/interrupt.ts). */
  private readonly forget: () => void;

  private constructor(
    readonly handle: fsp.FileHandle,
    readonly temp: string,
    readonly path: string,
  ) {
    this.forget = onInterrupt(() => {
      fs.rmSync(this.temp, { force: true });
    });
  }

  static async create(path: string, mode = 0o644): Promise<TempFile> {
    const temp = tempName(path);
    return new TempFile(await fsp.open(temp, 'wx', mode), temp, path);
  }

  /**
   * Told after each write: every WRITEBACK_BYTES, a data sync is started in the background
   * (one at a time), so the disk writes while the rest is produced. Otherwise a large file
   * sits in the page cache until seal(), whose sync then takes as long as the disk needs for
   * all of it, after the progress has shown 100 % (a 1.9 GB bundle: 1.4 s here; on a USB
   * drive, minutes).
   */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < WRITEBACK_BYTES || this.syncing) return;
    this.unsynced = 0;
    this.syncing = this.handle.datasync().then(
      () => {
        this.syncing = undefined;
      },
      (err: unknown) => {
        this.syncFailure ??= err;
        this.syncing = undefined;
      },
    );
  }

  /** Makes the bytes durable and closes the file, still under its temp name. */
  async seal(): Promise<void> {
    await this.syncing;
    if (this.syncFailure !== undefined) throw this.syncFailure;
    await this.handle.sync();
    await this.handle.close();
    this.closed = true;
  }

  /** Puts it under its final name; the caller fsyncs the directory (once for a set). */
  async rename(): Promise<void> {
    await fsp.rename(this.temp, this.path);
    this.renamed = true;
    this.forget();
  }

  /** One file: seal, rename, fsync the directory. */
  async commit(): Promise<void> {
    await this.seal();
    await this.rename();
    await fsyncDir(dirname(this.path));
  }

  /** Closes it and removes what was written, under whichever name it has by now. */
  async discard(): Promise<void> {
    this.forget();
    await this.syncing; // settles either way
    if (!this.closed) await this.handle.close().catch(() => undefined);
    this.closed = true;
    await fsp.rm(this.renamed ? this.path : this.temp, { force: true });
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // Written only through writeFileDurable, so a torn file means damage from outside.
    throw new AirlockError('MANIFEST_INVALID', `${basename(path)} is damaged: it is not valid JSON`, {
      where: path,
      hint: 'restore this file from a backup; `airlock verify` shows whether the data itself is intact',
    });
  }
}

export async function writeJsonDurable(path: string, value: unknown): Promise<void> {
  await writeFileDurable(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** mkdir -p, then fsync each parent that gained an entry, so new directories survive a crash. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  let current = dir;
  while (current.length >= first.length) {
    await fsyncDir(dirname(current));
    if (current === first) break;
    current = dirname(current);
  }
}

/**
 * Flushes every written byte and directory entry of the filesystem holding `path`,
 * with syncfs(2) (via coreutils `sync --file-system`, as Node has no binding for it).
 * Bulk writers (ingest, staging, deployments) write thousands of files without an
 * fsync each and then call this once: one journal commit instead of thousands, the
 * way OSTree batches its commits. Where `sync` cannot use syncfs on that path (a sync
 * without the flag, a path that is gone) it falls back to sync(2), which on Linux also
 * waits; an error the disk gave the flush itself is never passed over that way.
 * `sync` is the program to run (coreutils', syncCommand, unless a test gives another).
 */
export function syncFilesystem(path: string, sync = syncCommand()): void {
  const result = spawnSync(sync, ['--file-system', path], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: C_LOCALE });
  if (result.status === 0) return;
  if (refusedByDisk(result.stderr)) throw flushFailed(path, result.status, result.stderr);
  const fallback = spawnSync(sync, [], { stdio: 'ignore' });
  if (fallback.status !== 0) throw flushFailed(path, fallback.status);
}

/**
 * The same flush without blocking the event loop: a download or a bundle read keeps
 * moving bytes while the kernel writes the last batch out.
 */
export async function syncFilesystemAsync(path: string, sync = syncCommand()): Promise<void> {
  const flushed = await run(sync, ['--file-system', path]);
  if (flushed.status === 0) return;
  if (refusedByDisk(flushed.stderr)) throw flushFailed(path, flushed.status, flushed.stderr);
  const { status } = await run(sync, []);
  if (status !== 0) throw flushFailed(path, status);
}

/** sync's messages in English, whatever the admin's locale, so refusedByDisk can read them. */
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

/**
 * Whether sync's complaint is that syncfs itself failed (coreutils: "error syncing"): the
 * disk refused written bytes (EIO, or space it could not find). Any other complaint (the
 * path could not be opened, the flag is unknown) is about the way of asking, not the data.
 */
function refusedByDisk(stderr: string | null | undefined): boolean {
  return typeof stderr === 'string' && stderr.includes('error syncing');
}

/**
 * coreutils' sync by its absolute path where it has one, so a minimal PATH (a service
 * unit, the release run with only node on it) does not decide whether data is flushed;
 * otherwise whichever `sync` is on PATH.
 */
const SYNC_CANDIDATES = ['/usr/bin/sync', '/bin/sync'];
let syncPath: string | undefined;

function syncCommand(): string {
  if (syncPath !== undefined) return syncPath;
  const found = SYNC_CANDIDATES.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  // Elsewhere (NixOS keeps coreutils in the store), the one on PATH; flushFailed says if none.
  syncPath = found ?? 'sync';
  return syncPath;
}

/** `status` null: sync could not be run at all (spawn failed). `said`: what sync printed, if it matters. */
function flushFailed(path: string, status: number | null, said = ''): AirlockError {
  if (status === null) {
    return new AirlockError('FILESYSTEM', `cannot flush written data to disk: no sync program at ${SYNC_CANDIDATES.join(' or ')} or on PATH`, {
      where: path,
      hint: 'install coreutils (every Linux distribution ships it), then run the command again',
    });
  }
  const detail = said.trim() === '' ? '' : `: ${said.trim().split('\n')[0]}`;
  return new AirlockError('FILESYSTEM', `could not flush the filesystem of ${path} (sync exited ${status}${detail})`, {
    where: path,
    hint: 'check the disk (dmesg may show I/O errors), then run the command again',
  });
}

/** Runs a program to its end: its exit status (null: it could not be started) and what it wrote to stderr. */
function run(command: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: C_LOCALE });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < 4096) stderr += text;
    });
    child.once('error', () => resolve({ status: null, stderr }));
    child.once('close', (code) => resolve({ status: code, stderr }));
  });
}
