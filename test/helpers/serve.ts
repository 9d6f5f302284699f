import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';
import { airlockBin } from './cli.js';

/** `airlock serve` as an admin starts it: the real binary, its URL read from the first line it prints. */
export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Access-log and other stderr lines so far. */
  stderr: string[];
  /** The first stderr line that passes `test`, waiting for it up to 5 s (a line is written once its response is sent). */
  logLine(test: (line: string) => boolean): Promise<string>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<number | null>;
}

export async function startServe(dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [airlockBin, 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`airlock serve exited ${code} before printing its URL:\n${stderr.join('\n')}`)));
  });
  const url = (JSON.parse(first) as { url: string }).url;
  return {
    url,
    child,
    stderr,
    logLine: async (test) => {
      for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
        const line = stderr.find(test);
        if (line !== undefined) return line;
      }
      throw new Error(`no such line on airlock serve's stderr within 5 s; it printed:\n${stderr.join('\n')}`);
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** What a process has open, as /proc/PID/fd names it (a deleted file ends in " (deleted)"). */
export function openFiles(pid: number): string[] {
  const open: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      open.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return open;
}
