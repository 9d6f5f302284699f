import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './cli.js';

/**
 * Tests that count what reaches the kernel: a command run under strace, its system calls one
 * line each, every thread's, in the order they were made. With -y each descriptor is printed
 * with the path it is open on, so a call is attributed by path, not by a number that is reused.
 * The command must exit with one of `exitCodes`.
 */
export function straced(dir: string, argv: string[], calls = 'openat,fdatasync,close,execve', exitCodes: readonly number[] = [0]): string[] {
  const trace = join(dir, `trace-${process.hrtime.bigint()}`);
  const run = spawnSync('strace', ['-f', '-qq', '-y', '-e', `trace=${calls}`, '-o', trace, ...argv], { encoding: 'utf8' });
  if (!exitCodes.includes(run.status ?? -1)) throw new Error(`${argv.join(' ')} under strace exited ${run.status}:\n${run.stderr}`);
  return fs.readFileSync(trace, 'utf8').split('\n');
}

/** A module script run by node under strace; `imports` are compiled modules (paths below dist/), imported as `m0`, `m1`, ... */
export function stracedScript(dir: string, imports: string[], body: string): string[] {
  const loads = imports.map((path, i) => `const m${i} = await import(${JSON.stringify(pathToFileURL(join(projectRoot, 'dist', path)).href)});`);
  return straced(dir, [process.execPath, '--input-type=module', '-e', `${loads.join('\n')}\n${body}`]);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The descriptor a writer created `path` as, and the line it did so on. */
export function created(lines: string[], path: string): { fd: number; at: number } {
  const at = lines.findIndex((l) => l.includes(`"${path}"`) && l.includes('O_CREAT'));
  const fd = Number(new RegExp(`= (\\d+)<${escape(path)}>`).exec(lines[at] ?? '')?.[1]);
  if (at < 0 || !Number.isInteger(fd)) throw new Error(`no creation of ${path} in the trace`);
  return { fd, at };
}

/**
 * EarlyWriteback's work on `path`, whose writer holds descriptor `fd`: the lines where a
 * second descriptor of it was opened through /proc, and the lines where a data sync of it
 * started (the line of a call another thread interrupted is its `<unfinished ...>` one) on
 * any descriptor, and on the writer's own.
 */
export function earlySyncs(lines: string[], path: string, fd: number): { reopened: number[]; synced: number[]; syncedOwn: number[] } {
  const sync = new RegExp(`fdatasync\\((\\d+)<${escape(path)}>`);
  const result = { reopened: [] as number[], synced: [] as number[], syncedOwn: [] as number[] };
  lines.forEach((l, i) => {
    if (l.includes(`"/proc/self/fd/${fd}"`) && resultOf(lines, i).endsWith(`<${path}>`)) result.reopened.push(i);
    if (l.includes('resumed>')) return; // the end of a call already counted at its start
    const m = sync.exec(l);
    if (!m) return;
    result.synced.push(i);
    if (Number(m[1]) === fd) result.syncedOwn.push(i);
  });
  return result;
}

/** What the call on line `at` returned: on its own line, or, when another thread interrupted it, on its thread's `resumed>` line. */
function resultOf(lines: string[], at: number): string {
  const line = lines[at]!;
  if (!line.includes('<unfinished ...>')) return line.slice(line.lastIndexOf('= ')).trim();
  const pid = line.split(' ')[0];
  const resumed = lines.find((l, i) => i > at && l.startsWith(`${pid} `) && l.includes('resumed>'));
  return resumed === undefined ? '' : resumed.slice(resumed.lastIndexOf('= ')).trim();
}

/** The line, after `from`, where the writer's descriptor `fd` of `path` was closed. */
export function closedAt(lines: string[], path: string, fd: number, from: number): number {
  const close = new RegExp(`close\\(${fd}<${escape(path)}>\\)`);
  return lines.findIndex((l, i) => i > from && close.test(l));
}

/** The line of the first (failed) open of `path`: a marker a script leaves between its phases. */
export function markerAt(lines: string[], path: string): number {
  return lines.findIndex((l) => l.includes(`"${path}"`));
}

/** How many of this process's descriptors are open on `path` (read from /proc/self/fd). */
export function descriptorsOf(path: string): number {
  return fs.readdirSync('/proc/self/fd').filter((n) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${n}`) === path;
    } catch {
      return false; // the descriptor readdir itself used, closed since
    }
  }).length;
}
