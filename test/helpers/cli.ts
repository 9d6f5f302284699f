import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real binary, as an admin runs it (built by `npm test` before vitest starts). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const airlockBin = join(projectRoot, 'bin', 'airlock.js');

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function airlock(args: string[], env: Record<string, string> = {}): RunResult {
  const run = spawnSync(process.execPath, [airlockBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

/** Runs airlock and fails the test with its stderr when it does not exit 0. */
export function airlockOk(args: string[], env: Record<string, string> = {}): RunResult {
  const result = airlock(args, env);
  if (result.status !== 0) throw new Error(`airlock ${args.join(' ')} exited ${result.status}:\n${result.stderr}\n${result.stdout}`);
  return result;
}

/** `--json` output parsed. */
export function airlockJson<T = Record<string, unknown>>(args: string[], env: Record<string, string> = {}): T {
  return JSON.parse(airlockOk([...args, '--json'], env).stdout) as T;
}

export function airlockAsync(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [airlockBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export const downloaderBin = join(projectRoot, 'bin', 'rspm-offline-downloader.js');

export interface RunOptions {
  /** The launcher to run; default bin/airlock.js. */
  bin?: string;
  /** Called with the child once spawned (to signal it mid-run). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * Like `airlock()`, but without blocking the event loop: for tests whose upstream (an HTTP
 * server, a proxy) runs inside the test process and must keep answering while the CLI runs.
 */
export function airlockRun(args: string[], env: Record<string, string> = {}, options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [options.bin ?? airlockBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolvePromise({ status, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }),
    );
    options.onSpawn?.(child);
  });
}

/** `airlockRun` that fails with the output when the exit status is not 0. */
export async function airlockRunOk(args: string[], env: Record<string, string> = {}, options: RunOptions = {}): Promise<RunResult> {
  const result = await airlockRun(args, env, options);
  if (result.status !== 0) throw new Error(`airlock ${args.join(' ')} exited ${result.status} (${result.signal ?? 'no signal'}):\n${result.stderr}\n${result.stdout}`);
  return result;
}

/** `airlockRun` with `--json`, exit 0 required, stdout parsed. */
export async function airlockRunJson<T = Record<string, unknown>>(args: string[], env: Record<string, string> = {}, options: RunOptions = {}): Promise<T> {
  return JSON.parse((await airlockRunOk([...args, '--json'], env, options)).stdout) as T;
}
