import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateUpstream, loadUpstreamManifest, upstreamLayout, upstreamMatches, type UpstreamOptions } from '../fixtures/upstream/universe.js';
import { AirlockCli } from './airlock.js';
import type { BenchConfig, DownloadServer } from './config.js';
import { listFiles } from './files.js';
import { startNginx } from './nginx.js';
import { fixed, mb, MB, rate, table } from './format.js';
import { flushDirtyPages, timeAsync, type RunResult, type StepRunner } from './measure.js';
import { guard, type StepLog, type StepResult } from './steps.js';
import { has, type ToolName, type ToolStatus } from './tools.js';

/**
 * Download throughput: `airlock get cran` from the fixture upstream (a plain CRAN mirror
 * on loopback, served by its own Node process) and from nginx serving the same files,
 * against curl fetching the same URLs with the same number of connections, on two
 * corpora: thousands of small archives and a few large ones. nginx is the faster server,
 * so the client's share of the time shows plainly; it serves the archives and the index
 * only, so airlock runs with --sysreqs-url none and curl's list has no sysreqs files. Both clients start from an empty directory; airlock makes its objects
 * durable (syncfs batches) and verifies each MD5, so curl is also timed with a `sync -f`
 * of its output. Rounds are repeated with the order of the clients rotated, and the best
 * round of each is reported. Around every run the server's CPU time (whole process and
 * its main thread, from /proc) and the machine's busy share are sampled, to tell which
 * side limited the transfer.
 */
export type DownloadTool = 'airlock' | 'curl-parallel' | 'xargs-curl';

export interface DownloadCorpusSpec {
  name: string;
  title: string;
  options: UpstreamOptions;
}

const MiB = 1024 * 1024;
/** One snapshot and one binary configuration: `get cran` reads neither, and they would only make generation slow. */
const LEAN: UpstreamOptions = { snapshots: ['2026-01-05'], distributions: ['jammy'], rVersions: ['4.4'], architectures: ['x86_64'] };

export const DOWNLOAD_CORPORA: readonly DownloadCorpusSpec[] = [
  // Log-normal payloads (sigma 1.2) around 8 kB: a few kB to ~60 kB, a rare one larger.
  { name: 'small', title: '3000 small files', options: { ...LEAN, packages: 3000, payloadMedian: 8_000 } },
  // Eight tiny packages beside six of 96 MiB: about 600 MB, generated in half a minute.
  { name: 'large', title: '6 large files', options: { ...LEAN, packages: 8, largePackages: { count: 6, size: 96 * MiB } } },
];

export interface DownloadCorpus {
  /** The corpus (small, large), and `-nginx` after it when nginx served it. */
  name: string;
  title: string;
  server: DownloadServer;
  root: string;
  reused: boolean;
  generationSeconds: number;
  /** Paths (below the server's URL) of what curl fetches: PACKAGES.gz, every archive, the sysreqs files. */
  paths: string[];
  /** Files and bytes of `paths`: what both clients download. */
  files: number;
  bytes: number;
  /** What airlock's result must report as downloaded (PACKAGES.gz it stores as an index, not a download). */
  airlockDownloads: { files: number; bytes: number };
  /** The sysreqs files among `paths` (nginx serves none: the listing is an API). */
  sysreqs: { files: number; bytes: number };
  archiveSizes: { count: number; min: number; median: number; p95: number; max: number; large: number };
}

export interface DownloadRun {
  corpus: string;
  round: number;
  tool: DownloadTool;
  seconds: number;
  /** `sync -f` of curl's output after it finished; null for airlock, which syncs as it goes. */
  syncSeconds: number | null;
  clientCpuSeconds: number | null;
  /** airlock's main thread (event loop and all JavaScript), from a preload that reads /proc at exit; null for curl. */
  clientMainThreadSeconds: number | null;
  peakRssBytes: number | null;
  serverCpuSeconds: number | null;
  serverMainThreadSeconds: number | null;
  /** Share of all the machine's CPUs busy during the transfer (0..1), from /proc/stat. */
  machineBusy: number | null;
  loadBefore: number;
}

export interface DownloadResults {
  concurrency: number;
  rounds: number;
  cpus: number;
  xargsBatch: Record<string, number>;
  corpora: DownloadCorpus[];
  runs: DownloadRun[];
  setupSeconds: number;
}

interface SuiteContext {
  runner: StepRunner;
  config: BenchConfig;
  curl: boolean;
  servers: readonly DownloadServer[];
  steps: StepLog;
  log: (line: string) => void;
  results: DownloadResults;
}

export async function runDownloadSuite(
  runner: StepRunner,
  config: BenchConfig,
  tools: Map<ToolName, ToolStatus>,
  steps: StepLog,
  log: (line: string) => void,
): Promise<DownloadResults> {
  const results: DownloadResults = { concurrency: config.downloadConcurrency, rounds: config.downloadRuns, cpus: cpus().length, xargsBatch: {}, corpora: [], runs: [], setupSeconds: 0 };
  const servers = config.downloadServers.filter((server) => server !== 'nginx' || has(tools, 'nginx'));
  const ctx: SuiteContext = { runner, config, curl: has(tools, 'curl'), servers, steps, log, results };
  if (!ctx.curl) log('download: curl is missing, so airlock is measured alone and the download ratios are n/a');
  if (servers.length < config.downloadServers.length) log('download: nginx is missing, so the downloads are measured from the fixture server only (install: apt-get install -y nginx-light)');
  for (const spec of DOWNLOAD_CORPORA) {
    await guard(steps, `download comparison (${spec.title})`, log, () => runCorpus(ctx, spec));
  }
  return results;
}

async function runCorpus(ctx: SuiteContext, spec: DownloadCorpusSpec): Promise<void> {
  const { config, log, results } = ctx;
  const made = await timeAsync(() => ensureDownloadCorpus(config.workDir, spec, log));
  const corpus = made.value;
  results.setupSeconds += made.seconds;
  const s = corpus.archiveSizes;
  log(
    `download corpus ${spec.name} ${corpus.reused ? 'reused' : `generated in ${made.seconds.toFixed(0)} s`}: ${corpus.files} files, ${mb(corpus.bytes)} MB; ` +
      `${s.count} archives of ${kb(s.min)} to ${kb(s.max)} kB (median ${kb(s.median)} kB, 95th percentile ${kb(s.p95)} kB; ${s.large} of them over 1 MB)`,
  );
  for (const server of ctx.servers) {
    const served = server === 'fixture' ? corpus : fromNginx(corpus);
    await guard(ctx.steps, `download comparison (${served.title})`, log, () => runCase(ctx, served));
  }
}

/** The corpus as nginx serves it: the index and the archives, not the sysreqs listing. */
function fromNginx(corpus: DownloadCorpus): DownloadCorpus {
  return {
    ...corpus,
    name: `${corpus.name}-nginx`,
    title: `${corpus.title}, from nginx`,
    server: 'nginx',
    paths: corpus.paths.filter((p) => !p.startsWith('/sysreqs/')),
    files: corpus.files - corpus.sysreqs.files,
    bytes: corpus.bytes - corpus.sysreqs.bytes,
    airlockDownloads: { files: corpus.airlockDownloads.files - corpus.sysreqs.files, bytes: corpus.airlockDownloads.bytes - corpus.sysreqs.bytes },
    sysreqs: { files: 0, bytes: 0 },
  };
}

async function runCase(ctx: SuiteContext, corpus: DownloadCorpus): Promise<void> {
  const { config, log, results } = ctx;
  results.corpora.push(corpus);
  const work = join(config.runDir, 'download', corpus.name);
  fs.mkdirSync(work, { recursive: true });
  const server = await startServer(config, corpus, work);
  try {
    log(`download ${corpus.name}: ${corpus.server} at ${server.url} (pid ${server.pid}, its own process)`);
    const urls = corpus.paths.map((p) => `${server.url}${p}`);
    const urlList = join(work, 'urls.txt');
    fs.writeFileSync(urlList, `${urls.join('\n')}\n`);
    const curlConfig = join(work, 'curl.conf');
    fs.writeFileSync(curlConfig, urls.map((u) => `url = "${u}"\n`).join(''));
    const n = config.downloadConcurrency;
    // Batches of up to 50 URLs per curl process (one connection each, reused within the batch),
    // but at least four batches per parallel slot, so a few large files still spread over N processes.
    const batch = Math.max(1, Math.min(50, Math.floor(urls.length / (4 * n))));
    results.xargsBatch[corpus.name] = batch;

    await warmUp(ctx, corpus, urls, work);
    const tools: DownloadTool[] = ctx.curl ? ['airlock', 'curl-parallel', 'xargs-curl'] : ['airlock'];
    const cli = new AirlockCli(ctx.runner, config.airlockBin);
    for (let round = 0; round < config.downloadRuns; round++) {
      // Rotated each round, so neither client always runs first (cold server) or last.
      const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
      for (const tool of order) {
        const dir = join(work, `${tool}-${round + 1}`);
        let run: DownloadRun;
        if (tool === 'airlock') {
          const threadFile = join(work, 'main-thread-cpu.txt');
          fs.rmSync(threadFile, { force: true });
          const nodeArgs = ['--import', `${pathToFileURL(MAIN_THREAD_CPU).href}?out=${encodeURIComponent(threadFile)}`];
          run = measure(corpus.name, round, tool, server.pids, () => {
            const sysreqs = corpus.server === 'nginx' ? 'none' : `${server.url}/sysreqs`;
            const got = cli.getCran(dir, `${server.url}/cran`, sysreqs, n, { flush: false, nodeArgs });
            checkAirlock(got.out, corpus);
            return got.run;
          });
          run.clientMainThreadSeconds = readTicks(threadFile);
        } else {
          fs.mkdirSync(dir);
          const command =
            tool === 'curl-parallel'
              ? () => ctx.runner.run('curl', [...CURL_FLAGS, '--parallel', '--parallel-immediate', '--parallel-max', String(n), '--remote-name-all', '--config', curlConfig], { cwd: dir, flush: false })
              : () => ctx.runner.shell(`xargs -P ${n} -n ${batch} curl ${CURL_FLAGS.join(' ')} --remote-name-all < ${q(urlList)}`, { cwd: dir, flush: false });
          run = measure(corpus.name, round, tool, server.pids, command);
          checkCurl(dir, corpus, tool);
          // The same durability airlock gives its objects: a syncfs of the filesystem holding the output.
          run.syncSeconds = ctx.runner.run('sync', ['-f', dir], { flush: false }).seconds;
        }
        results.runs.push(run);
        log(`  round ${round + 1} ${tool.padEnd(13)} ${run.seconds.toFixed(2)} s${run.syncSeconds === null ? '' : ` + sync ${run.syncSeconds.toFixed(2)} s`}`);
        // Kept, and removed with the run's scratch after the last timed step: a round that
        // starts within minutes of a removal times the removal too (settle.ts).
      }
    }
  } finally {
    await server.stop();
  }
  addSteps(ctx, corpus);
}

/** The preload that reports airlock's main-thread CPU time (compiled beside this file). */
const MAIN_THREAD_CPU = join(dirname(fileURLToPath(import.meta.url)), 'mainThreadCpu.js');

function readTicks(path: string): number | null {
  try {
    const [user, system] = fs.readFileSync(path, 'utf8').trim().split(' ').map(Number);
    return user !== undefined && system !== undefined && Number.isFinite(user + system) ? (user + system) / ticksPerSecond() : null;
  } catch {
    return null;
  }
}

const CURL_FLAGS = ['--silent', '--show-error', '--fail', '--no-progress-meter'];

/**
 * Untimed: the served files are read once (page cache), and, with curl, fetched once to
 * /dev/null, so the server's code is warm before either client is timed.
 */
async function warmUp(ctx: SuiteContext, corpus: DownloadCorpus, urls: string[], work: string): Promise<void> {
  for (const file of servedFiles(corpus)) fs.readFileSync(file);
  if (!ctx.curl) return;
  const config = join(work, 'warm-up.conf');
  fs.writeFileSync(config, urls.map((u) => `url = "${u}"\noutput = "/dev/null"\n`).join(''));
  ctx.runner.run('curl', [...CURL_FLAGS, '--parallel', '--parallel-max', String(ctx.config.downloadConcurrency), '--config', config], { flush: false });
}

function servedFiles(corpus: DownloadCorpus): string[] {
  const manifest = loadUpstreamManifest(corpus.root);
  const snapshot = manifest.snapshots[0]!;
  const contrib = upstreamLayout.source(corpus.root, snapshot.date);
  return [join(contrib, 'PACKAGES.gz'), ...snapshot.packages.map((p) => join(contrib, p.file))];
}

function measure(corpus: string, round: number, tool: DownloadTool, server: ServerProcesses, command: () => RunResult): DownloadRun {
  // Earlier runs' dirty pages are flushed before the counters start, not during the run.
  flushDirtyPages();
  const before = sampleCpu(server);
  const run = command();
  const after = sampleCpu(server);
  const machineTicks = after.machine && before.machine ? after.machine.total - before.machine.total : 0;
  return {
    corpus,
    round: round + 1,
    tool,
    seconds: run.seconds,
    syncSeconds: null,
    clientCpuSeconds: run.cpuSeconds,
    clientMainThreadSeconds: null,
    peakRssBytes: run.peakRssBytes,
    serverCpuSeconds: after.server && before.server ? after.server.total - before.server.total : null,
    serverMainThreadSeconds: after.server?.main != null && before.server?.main != null ? after.server.main - before.server.main : null,
    machineBusy: after.machine && before.machine && machineTicks > 0 ? (after.machine.busy - before.machine.busy) / machineTicks : null,
    loadBefore: run.loadBefore,
  };
}

function checkAirlock(out: { downloaded: { files: number; bytes: number } }, corpus: DownloadCorpus): void {
  const want = corpus.airlockDownloads;
  if (out.downloaded.files !== want.files || out.downloaded.bytes !== want.bytes) {
    throw new Error(`airlock get cran downloaded ${out.downloaded.files} files (${out.downloaded.bytes} bytes); the upstream has ${want.files} (${want.bytes})`);
  }
}

function checkCurl(dir: string, corpus: DownloadCorpus, tool: DownloadTool): void {
  const files = listFiles(dir);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  if (files.length !== corpus.files || bytes !== corpus.bytes) {
    throw new Error(`${tool} left ${files.length} files (${bytes} bytes) in ${dir}; the URL list has ${corpus.files} (${corpus.bytes})`);
  }
}

// ---------------------------------------------------------------------------------------------
// The corpora: fixture upstream universes, cached in the work dir like the CRAN-like corpus.

export async function ensureDownloadCorpus(workDir: string, spec: DownloadCorpusSpec, log: (line: string) => void): Promise<DownloadCorpus> {
  const root = join(workDir, `upstream-${spec.name}`);
  const reused = upstreamMatches(root, spec.options);
  let generationSeconds = 0;
  if (!reused) {
    log(`generating the ${spec.title} upstream under ${root}`);
    generationSeconds = (await timeAsync(() => generateUpstream(root, spec.options))).seconds;
  }
  const manifest = loadUpstreamManifest(root);
  const snapshot = manifest.snapshots[0]!;
  const packagesGz = fs.statSync(join(upstreamLayout.source(root, snapshot.date), 'PACKAGES.gz')).size;
  const sysreqs = [...manifest.sysreqs.rules, manifest.sysreqs.systems];
  const archiveBytes = snapshot.packages.reduce((sum, p) => sum + p.size, 0);
  const sysreqsBytes = sysreqs.reduce((sum, f) => sum + f.size, 0);
  const paths = [
    '/cran/src/contrib/PACKAGES.gz',
    ...snapshot.packages.map((p) => `/cran/src/contrib/${p.file.split('/').map(encodeURIComponent).join('/')}`),
    ...sysreqs.map((f) => `/sysreqs/raw/${f.path.split('/').map(encodeURIComponent).join('/')}`),
  ];
  const basenames = new Set(paths.map((p) => p.slice(p.lastIndexOf('/') + 1)));
  if (basenames.size !== paths.length) throw new Error(`two URLs of the ${spec.title} corpus end in the same file name: curl --remote-name-all would overwrite one`);
  const sizes = snapshot.packages.map((p) => p.size).sort((a, b) => a - b);
  const at = (share: number) => sizes[Math.min(sizes.length - 1, Math.floor(sizes.length * share))]!;
  return {
    name: spec.name,
    title: spec.title,
    server: 'fixture',
    root,
    reused,
    generationSeconds,
    paths,
    files: paths.length,
    bytes: packagesGz + archiveBytes + sysreqsBytes,
    airlockDownloads: { files: snapshot.packages.length + sysreqs.length, bytes: archiveBytes + sysreqsBytes },
    sysreqs: { files: sysreqs.length, bytes: sysreqsBytes },
    archiveSizes: { count: sizes.length, min: sizes[0]!, median: at(0.5), p95: at(0.95), max: sizes.at(-1)!, large: sizes.filter((size) => size > 1_000_000).length },
  };
}

// ---------------------------------------------------------------------------------------------
// The fixture server, as a process of its own.

interface FixtureServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The processes whose CPU time is the server's, and the one whose main thread is its event loop (none for nginx). */
interface ServerProcesses {
  all(): number[];
  loop: number | null;
}

interface RunningServer {
  url: string;
  pid: number;
  pids: ServerProcesses;
  stop(): Promise<void>;
}

async function startServer(config: BenchConfig, corpus: DownloadCorpus, work: string): Promise<RunningServer> {
  if (corpus.server === 'fixture') {
    const server = await startFixtureServer(join(config.projectRoot, 'dist', 'fixtures', 'upstream', 'serve.js'), corpus.root);
    return { ...server, pids: { all: () => [server.pid], loop: server.pid } };
  }
  const snapshot = loadUpstreamManifest(corpus.root).snapshots[0]!;
  const nginx = await startNginx(join(work, 'nginx'), { '/cran/src/contrib/': upstreamLayout.source(corpus.root, snapshot.date) });
  const master = nginx.child.pid!;
  // nginx's work is done by its worker processes, the master's children.
  const workers = () => fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number);
  return { url: nginx.url, pid: master, pids: { all: () => [master, ...workers()], loop: null }, stop: nginx.stop };
}

async function startFixtureServer(serveJs: string, root: string): Promise<FixtureServer> {
  const child = spawn(process.execPath, [serveJs, '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      out += text;
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      try {
        resolve(String((JSON.parse(out.slice(0, newline)) as { url: unknown }).url));
      } catch {
        reject(new Error(`the fixture server printed ${JSON.stringify(out.slice(0, 200))}, not {"url": ...}`));
      }
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the fixture server exited (${child.exitCode ?? child.signalCode}) before listening:\n${stderr.trim()}`)));
  });
  if (child.pid === undefined) throw new Error('the fixture server has no pid');
  const pid = child.pid;
  return {
    url,
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CPU counters from /proc (Linux): null elsewhere, and the report says n/a.

interface CpuSample {
  server: { total: number; main: number | null } | null;
  machine: { busy: number; total: number } | null;
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const run = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(run.stdout?.trim());
    clockTicks = run.status === 0 && Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** utime + stime in seconds from a /proc stat file (fields 14 and 15; the name in parentheses may hold spaces). */
function statCpuSeconds(path: string): number {
  const text = fs.readFileSync(path, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

function sampleCpu(processes: ServerProcesses): CpuSample {
  let server: CpuSample['server'] = null;
  let machine: CpuSample['machine'] = null;
  try {
    // The process line sums every thread (libuv's pool reads the files); the task line is the event loop's thread.
    const total = processes.all().reduce((sum, pid) => sum + statCpuSeconds(`/proc/${pid}/stat`), 0);
    const loop = processes.loop;
    server = { total, main: loop === null ? null : statCpuSeconds(`/proc/${loop}/task/${loop}/stat`) };
  } catch {
    server = null;
  }
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
    const total = user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!;
    machine = Number.isFinite(total) ? { busy: total - idle! - iowait!, total } : null;
  } catch {
    machine = null;
  }
  return { server, machine };
}

// ---------------------------------------------------------------------------------------------
// Steps and report.

const LABELS: Record<DownloadTool, (n: number, batch: number) => string> = {
  airlock: (n) => `airlock get cran --concurrency ${n}`,
  'curl-parallel': (n) => `curl --parallel --parallel-max ${n}`,
  'xargs-curl': (n, batch) => `xargs -P ${n} -n ${batch} curl`,
};

function best(runs: DownloadRun[]): DownloadRun | undefined {
  return runs.reduce<DownloadRun | undefined>((a, r) => (a === undefined || total(r) < total(a) ? r : a), undefined);
}

function total(run: DownloadRun): number {
  return run.seconds + (run.syncSeconds ?? 0);
}

function addSteps(ctx: SuiteContext, corpus: DownloadCorpus): void {
  const { results, steps } = ctx;
  const n = results.concurrency;
  const batch = results.xargsBatch[corpus.name] ?? 0;
  for (const tool of ['airlock', 'curl-parallel', 'xargs-curl'] as const) {
    const runs = results.runs.filter((r) => r.corpus === corpus.name && r.tool === tool);
    const b = best(runs);
    if (!b) continue;
    const key = `download-${corpus.name}-${tool === 'airlock' ? 'airlock' : tool === 'curl-parallel' ? 'curl' : 'xargs'}`;
    const all = runs.map((r) => total(r).toFixed(2)).join(', ');
    const server = `server ${fixed(b.serverCpuSeconds, 2)} CPU s (event loop ${pct(share(b.serverMainThreadSeconds, b.seconds))} busy)`;
    const note =
      tool === 'airlock'
        ? `${corpus.title}; best of ${runs.length} (${all} s); verifies MD5s, syncs, builds the tree; ${server}`
        : `best of ${runs.length} by time + sync (${all} s); no fsync; ${server}`;
    steps.add(step({ key, label: `${corpus.name}: ${LABELS[tool](n, batch)}`, tool: tool === 'airlock' ? 'airlock' : 'peer', inputBytes: corpus.bytes, note }, b, b.seconds));
    if (b.syncSeconds !== null) {
      steps.add(step({ key: `${key}-sync`, label: '  + sync -f of its output (durable)', tool: 'peer', inputBytes: null, note: 'syncfs, as airlock makes its objects durable' }, b, b.syncSeconds, false));
    }
  }
}

function step(init: { key: string; label: string; tool: StepResult['tool']; inputBytes: number | null; note: string }, run: DownloadRun, seconds: number, withUsage = true): StepResult {
  return {
    ...init,
    seconds,
    outputBytes: null,
    peakRssBytes: withUsage ? run.peakRssBytes : null,
    cpuSeconds: withUsage ? run.clientCpuSeconds : null,
    loadBefore: run.loadBefore,
  };
}

function share(part: number | null, whole: number): number | null {
  return part === null || whole <= 0 ? null : part / whole;
}

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(0)}%`;
}

function kb(bytes: number): string {
  return (bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0);
}

/** Every timed run, then for each corpus which resource limited the best airlock and curl runs. */
export function downloadReport(results: DownloadResults): string[] {
  const lines: string[] = [];
  const rows = results.runs.map((r) => {
    const bytes = results.corpora.find((c) => c.name === r.corpus)?.bytes ?? null;
    return [
      r.corpus,
      String(r.round),
      r.tool,
      fixed(r.seconds, 2),
      fixed(r.syncSeconds, 2),
      fixed(rate(bytes, total(r)), 0),
      fixed(r.clientCpuSeconds, 2),
      pct(share(r.tool === 'curl-parallel' ? r.clientCpuSeconds : r.clientMainThreadSeconds, r.seconds)),
      fixed(r.serverCpuSeconds, 2),
      pct(share(r.serverMainThreadSeconds, r.seconds)),
      pct(r.machineBusy),
      fixed(r.peakRssBytes === null ? null : r.peakRssBytes / MB, 0),
    ];
  });
  lines.push(
    `download runs (concurrency ${results.concurrency} for every client; ${results.cpus} CPUs shared by client and server; MB/s counts the sync;`,
    '"loop" = share of the wall time the main thread was on a CPU: the event loop for airlock and the server, the one thread of curl --parallel):',
    table(['corpus', 'round', 'client', 'wall s', 'sync s', 'MB/s', 'client CPU s', 'client loop', 'server CPU s', 'server loop', 'machine busy', 'RSS MB'], rows, new Set([0, 2])),
  );
  for (const corpus of results.corpora) {
    const cost: string[] = [];
    for (const tool of ['airlock', 'curl-parallel', 'xargs-curl'] as const) {
      const b = best(results.runs.filter((r) => r.corpus === corpus.name && r.tool === tool));
      if (!b) continue;
      if (tool !== 'xargs-curl') lines.push(`${corpus.name}, best ${tool} run: ${limitOf(b, results.cpus)}`);
      cost.push(`${tool} ${fixed(b.clientCpuSeconds, 2)} CPU s (server ${fixed(b.serverCpuSeconds, 2)})`);
    }
    lines.push(`${corpus.name}, CPU time to move the ${mb(corpus.bytes)} MB in the best runs: ${cost.join(', ')}`);
  }
  return lines;
}

/**
 * Which resource was saturated: the server's event loop (one thread), the client's main
 * thread (airlock's JavaScript, curl --parallel's only thread), or all the machine's CPUs
 * (client, server and everything else: kernel writeback and loopback TCP work, other
 * processes); if none, the run was waiting on the disk (fsync) or on round trips.
 */
export function limitOf(run: DownloadRun, cpuCount: number): string {
  const loop = share(run.serverMainThreadSeconds, run.seconds);
  const client = share(run.clientCpuSeconds, run.seconds);
  // curl --parallel does all its work on one thread; airlock's JavaScript thread is measured apart.
  const clientThread = run.tool === 'curl-parallel' ? client : share(run.clientMainThreadSeconds, run.seconds);
  const server = share(run.serverCpuSeconds, run.seconds);
  const machine = run.machineBusy === null ? null : run.machineBusy * cpuCount;
  const rest = machine === null || client === null || server === null ? null : Math.max(0, machine - client - server);
  const facts =
    `client ${fixed(client, 2)} CPUs${run.tool === 'airlock' ? ` (main thread ${pct(clientThread)} busy)` : ''}, server ${fixed(server, 2)} CPUs (event loop ${pct(loop)} busy), ` +
    `everything else ${fixed(rest, 2)} CPUs; ${fixed(machine, 2)} of ${cpuCount} CPUs busy`;
  let verdict: string;
  if (loop !== null && loop >= 0.85) verdict = 'limited by the server (its single event loop is saturated)';
  else if (clientThread !== null && clientThread >= 0.85) verdict = `limited by the client (its ${run.tool === 'airlock' ? 'JavaScript' : 'only'} thread is saturated)`;
  else if (run.machineBusy !== null && run.machineBusy >= 0.9) verdict = `limited by CPU: the machine is saturated, the largest share ${largest({ client, server, 'everything else': rest })}`;
  else verdict = 'no CPU saturated: waiting on the disk (sync) or on round trips';
  return `${facts}: ${verdict}`;
}

function largest(shares: Record<string, number | null>): string {
  const [name, value] = Object.entries(shares).reduce((a, b) => ((b[1] ?? -1) > (a[1] ?? -1) ? b : a));
  return `${name} (${fixed(value, 2)} CPUs)`;
}

/** Single-quotes a path for bash. */
function q(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
