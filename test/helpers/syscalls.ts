import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './cli.js';

/**
 * Tests that count what reaches the kernel: a command run under strace, its system calls one
 * line each (every thread's, in the order they were made).
 */
export function straced(dir: string, argv: string[], calls = 'openat,fdatasync,close,execve'): string[] {
  const trace = join(dir, `trace-${process.hrtime.bigint()}`);
  const run = spawnSync('strace', ['-f', '-qq', '-e', `trace=${calls}`, '-o', trace, ...argv], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} under strace exited ${run.status}:\n${run.stderr}`);
  return fs.readFileSync(trace, 'utf8').split('\n');
}

/** A module script run by node under strace; `imports` are compiled modules (paths below dist/), imported as `m0`, `m1`, ... */
export function stracedScript(dir: string, imports: string[], body: string): string[] {
  const loads = imports.map((path, i) => `const m${i} = await import(${JSON.stringify(pathToFileURL(join(projectRoot, 'dist', path)).href)});`);
  return straced(dir, [process.execPath, '--input-type=module', '-e', `${loads.join('\n')}\n${body}`]);
}

/** The descriptor `path` was created as, and the line it was created on. */
export function created(lines: string[], path: string): { fd: number; at: number } {
  const at = lines.findIndex((l) => l.includes(`"${path}"`) && l.includes('O_CREAT'));
  const fd = Number(/= (\d+)$/.exec(lines[at]?.trim() ?? '')?.[1]);
  if (at < 0 || !Number.isInteger(fd)) throw new Error(`no creation of ${path} in the trace`);
  return { fd, at };
}

/** After line `from`: each second descriptor of `fd` opened through /proc (EarlyWriteback's), and the line each was synced on. */
export function earlySyncs(lines: string[], fd: number, from: number): { reopened: number[]; synced: number[] } {
  const reopened: number[] = [];
  const synced: number[] = [];
  lines.forEach((l, i) => {
    if (i <= from || !l.includes(`"/proc/self/fd/${fd}"`)) return;
    reopened.push(i);
    const own = Number(/= (\d+)$/.exec(l.trim())?.[1]);
    const sync = lines.findIndex((m, j) => j > i && new RegExp(`fdatasync\\(${own}[,)]`).test(m));
    if (sync > 0) synced.push(sync);
  });
  return { reopened, synced };
}

/** The line, after `from`, where `fd` was closed. */
export function closedAt(lines: string[], fd: number, from: number): number {
  return lines.findIndex((l, i) => i > from && new RegExp(`close\\(${fd}\\)\\s+= 0`).test(l));
}

/** Whether `fd` itself was ever synced. */
export function syncedItself(lines: string[], fd: number): boolean {
  return lines.some((l) => new RegExp(`fdatasync\\(${fd}\\)`).test(l));
}
