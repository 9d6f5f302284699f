import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/**
 * Runs one command the way a benchmark step is timed: dirty pages of earlier steps are
 * flushed first (`sync`, untimed) so no step pays for its predecessor's writes; the wall
 * time is process.hrtime around spawnSync; peak RSS comes from GNU time's %M (the
 * child's ru_maxrss, in KiB, from wait4), which sees the whole life of the process and
 * needs no polling. Caches are not dropped: the corpus fits in RAM, so every tool
 * alike reads it mostly from the page cache.
 */
export interface RunResult {
  seconds: number;
  /** Peak resident set in bytes, or null when GNU time is not installed. */
  peakRssBytes: number | null;
  /** User + system CPU seconds of the command and its children (GNU time %U + %S), or null. */
  cpuSeconds: number | null;
  /** The machine's 1-minute load average just before the step: other work competing for the CPUs shows here. */
  loadBefore: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Flush dirty pages before starting the clock (default true). */
  flush?: boolean;
}

const GNU_TIME = '/usr/bin/time';
const MAX_OUTPUT = 512 * 1024 * 1024;

export class StepRunner {
  private readonly rssFile: string;

  constructor(
    scratchDir: string,
    private readonly gnuTime: boolean,
  ) {
    fs.mkdirSync(scratchDir, { recursive: true });
    this.rssFile = join(scratchDir, 'peak-rss.txt');
  }

  get rssMethod(): string {
    return this.gnuTime ? 'GNU time -f "%M %U %S" (ru_maxrss and CPU times of the child from wait4)' : 'not measured: GNU time (/usr/bin/time) is missing';
  }

  run(command: string, args: readonly string[], options: RunOptions = {}): RunResult {
    if (options.flush !== false) flushDirtyPages();
    fs.rmSync(this.rssFile, { force: true });
    const loadBefore = loadavg()[0]!;
    const [file, argv] = this.gnuTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', this.rssFile, command, ...args]] : [command, [...args]];
    const started = process.hrtime.bigint();
    const child = spawnSync(file, argv, { encoding: 'utf8', maxBuffer: MAX_OUTPUT, ...(options.cwd ? { cwd: options.cwd } : {}) });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (child.error) throw child.error;
    if (child.status !== 0) {
      throw new Error(`${command} ${args.join(' ')} exited with ${child.status ?? child.signal}:\n${child.stderr.trim()}\n${child.stdout.trim().slice(0, 2000)}`);
    }
    const usage = this.gnuTime ? this.readUsage() : { peakRssBytes: null, cpuSeconds: null };
    return { seconds, ...usage, loadBefore, stdout: child.stdout, stderr: child.stderr };
  }

  /** A shell pipeline, failing if any stage fails. */
  shell(script: string, options: RunOptions = {}): RunResult {
    return this.run('bash', ['-o', 'pipefail', '-c', script], options);
  }

  private readUsage(): { peakRssBytes: number | null; cpuSeconds: number | null } {
    // GNU time writes "Command exited with non-zero status N" before the format on failure;
    // the figures are always on the last line.
    const lines = fs.readFileSync(this.rssFile, 'utf8').trim().split('\n');
    const [kib, user, system] = (lines.at(-1) ?? '').split(' ').map(Number);
    return {
      peakRssBytes: kib !== undefined && Number.isFinite(kib) ? kib * 1024 : null,
      cpuSeconds: user !== undefined && system !== undefined && Number.isFinite(user + system) ? user + system : null,
    };
  }
}

export function flushDirtyPages(): void {
  spawnSync('sync');
}

/** Times an in-process step (corpus generation, hashing): no RSS, the bench's own process. */
export async function timeAsync<T>(work: () => Promise<T> | T): Promise<{ value: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
