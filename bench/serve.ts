import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { startNginx } from './nginx.js';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Random } from '../fixtures/random.js';
import type { Corpus } from './corpus.js';
import { MB, mb } from './format.js';

/**
 * `airlock serve` against nginx serving the same files from the same deployment, side by side
 * in one run: 32 concurrent clients (`curl --parallel --parallel-max 32`, one client for both
 * servers) fetching every archive of the corpus, then 2,000 small files. Reports MB/s of each,
 * the ratio (aim: at least 0.7x nginx) and airlock's peak RSS (aim: under 150 MB).
 */
export interface ServeRow {
  set: string;
  server: 'nginx' | 'airlock';
  files: number;
  bytes: number;
  seconds: number;
}

export interface ServeResults {
  rows: ServeRow[];
  airlockPeakRssMb: number;
  ratios: { set: string; ratio: number; aim: number; met: boolean }[];
  lines: string[];
}

const CLIENTS = 32;
/** The aim, in MB of 10^6 bytes (the stricter reading; until this session the bench read it as MiB). */
const SERVE_RSS_LIMIT_MB = 150;
const SMALL_FILES = 2000;
const RUNS = 2;

export async function runServeSuite(airlockBin: string, corpus: Corpus, runDir: string, log: (line: string) => void): Promise<ServeResults> {
  const work = join(runDir, 'serve');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const tree = join(work, 'tree');
  execFileSync('cp', ['-al', corpus.v1, tree]);
  const small = smallFiles(join(tree, 'sysreqs', 'rules'));
  const airlock = (...args: string[]) => execFileSync(process.execPath, [airlockBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  log('serve: recording, bundling and applying the corpus (untimed)');
  airlock('snapshot', 'create', '--repo', join(work, 'repo'), '--from', tree, '--label', '2026-01-05', '--quiet');
  airlock('bundle', 'create', '--repo', join(work, 'repo'), '--output', join(work, 'full.airlock'), '--quiet');
  fs.mkdirSync(join(work, 'offline'));
  const dataDir = join(work, 'offline', 'data');
  airlock('apply', join(work, 'full.airlock'), '--data-dir', dataDir, '--quiet');
  fs.rmSync(join(work, 'full.airlock'));

  const archives = fs.readdirSync(join(tree, 'v3', 'src', 'contrib')).filter((n) => n.endsWith('.tar.gz'));
  const sets = [
    { set: `${archives.length} archives`, paths: archives.map((n) => `cran/latest/src/contrib/${n}`), bytes: sum(archives.map((n) => fs.statSync(join(tree, 'v3', 'src', 'contrib', n)).size)) },
    { set: `${SMALL_FILES} small files`, paths: small.names.map((n) => `sysreqs/latest/rules/${n}`), bytes: small.bytes },
  ];
  const served = await startAirlock(airlockBin, dataDir);
  const nginx = await startNginx(join(work, 'nginx'), { '/cran/latest/src/contrib/': join(dataDir, 'v3', 'src', 'contrib'), '/sysreqs/latest/': join(dataDir, 'sysreqs') });
  const rows: ServeRow[] = [];
  try {
    for (const s of sets) {
      for (const [server, base] of [['nginx', nginx.url], ['airlock', served.url]] as const) {
        const conf = join(work, `${server}-${s.paths.length}.curl`);
        fs.writeFileSync(conf, s.paths.map((p) => `url = "${base}/${p}"\noutput = "/dev/null"\n`).join(''));
        fetchAll(conf); // warm: page cache, airlock's tree
        let best = Infinity;
        for (let i = 0; i < RUNS; i++) {
          const started = process.hrtime.bigint();
          fetchAll(conf);
          best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
        }
        rows.push({ set: s.set, server, files: s.paths.length, bytes: s.bytes, seconds: best });
      }
    }
  } finally {
    await nginx.stop();
  }
  const peakRss = peakRssBytes(served.child.pid!);
  const airlockPeakRssMb = peakRss / MB;
  served.child.kill('SIGTERM');
  const ratios = sets.map((s) => {
    const rate = (server: string) => {
      const row = rows.find((r) => r.set === s.set && r.server === server)!;
      return row.bytes / row.seconds;
    };
    const ratio = rate('airlock') / rate('nginx');
    return { set: s.set, ratio, aim: 0.7, met: ratio >= 0.7 };
  });
  const lines = [
    `serve: ${CLIENTS} concurrent clients (curl --parallel), best of ${RUNS} runs after a warm-up, from one deployment`,
    ...rows.map((r) => `  ${r.set.padEnd(20)} ${r.server.padEnd(8)} ${(r.bytes / 1e6 / r.seconds).toFixed(1).padStart(8)} MB/s  ${(r.files / r.seconds).toFixed(0).padStart(7)} files/s  ${r.seconds.toFixed(2)} s`),
    ...ratios.map((r) => `  airlock serve / nginx, ${r.set}: ${r.ratio.toFixed(2)}x (aim >= ${r.aim}x) ${r.met ? 'MET' : 'NOT MET'}`),
    `  airlock serve peak RSS: ${mb(peakRss)} MB, ${(peakRss / (1024 * 1024)).toFixed(1)} MiB (aim < ${SERVE_RSS_LIMIT_MB} MB) ${airlockPeakRssMb < SERVE_RSS_LIMIT_MB ? 'MET' : 'NOT MET'}`,
  ];
  for (const line of lines) log(line);
  return { rows, airlockPeakRssMb, ratios, lines };
}

function fetchAll(conf: string): void {
  execFileSync('curl', ['--fail', '--silent', '--show-error', '--parallel', '--parallel-immediate', '--parallel-max', String(CLIENTS), '--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** 2,000 JSON files of 200 B to 4 KB, as sysreqs rules are. */
function smallFiles(dir: string): { names: string[]; bytes: number } {
  fs.mkdirSync(dir, { recursive: true });
  const random = new Random(7);
  const names: string[] = [];
  let bytes = 0;
  for (let i = 0; i < SMALL_FILES; i++) {
    const name = `rule-${String(i).padStart(4, '0')}.json`;
    const body = JSON.stringify({ name, patterns: [random.bytes(random.int(100, 2000)).toString('hex')] });
    fs.writeFileSync(join(dir, name), body);
    names.push(name);
    bytes += body.length;
  }
  return { names, bytes };
}

async function startAirlock(airlockBin: string, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [airlockBin, 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`airlock serve exited ${code}`)));
  });
  return { url: (JSON.parse(first) as { url: string }).url, child };
}

/** Peak RSS in bytes (VmHWM counts KiB); the aim reads MB as 10^6 bytes, as every RSS aim of the bench does (report.ts). */
function peakRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
