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
