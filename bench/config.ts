import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the bench works and how big it makes things. Everything it writes lives under
 * the work dir (default <project>/.bench, gitignored), never in the repository.
 *
 *   BENCH_DIR=/path     work dir (corpora are cached there between runs)
 *   BENCH_SCALE=0.25    scales the CRAN-like corpus (1 = about 2 GB, 4000 packages)
 *   BENCH_SKIP_200K=1   skips the 200,000-file memory check
 *   BENCH_ONLY=parts    runs only these parts, comma separated: corpus (airlock and its
 *                       peers on the CRAN-like corpus), 200k (the memory check), download
 *                       (airlock get cran against parallel curl from the fixture server), serve
 *                       (airlock serve against nginx on the corpus and 2,000 small files),
 *                       startup (--version, a help and a read-only command, against node alone),
 *                       1m (a million small files through every command: time and peak RSS;
 *                       not in the default set, it takes a while and about 10 GB of disk)
 *   BENCH_DOWNLOAD_RUNS=3         rounds of the download comparison (best one reported)
 *   BENCH_DOWNLOAD_CONCURRENCY=8  connections, for airlock and curl alike
 *   BENCH_DOWNLOAD_SERVERS=fixture,nginx  the upstreams the downloads are measured from: the
 *                       fixture server (its own node process) and nginx serving the same files
 *                       (a faster server, so the client's share shows plainly; needs nginx-light)
 *   BENCH_KEEP=1        keeps the run's repositories, bundles and data dirs afterwards
 *   BENCH_AIRLOCK=path  the bin/airlock.js to measure (default this checkout's): a frozen
 *                       copy of a commit gives stable numbers while the tree is edited
 */
export type BenchPart = 'corpus' | '200k' | 'download' | 'serve' | 'startup' | '1m';
export const BENCH_PARTS: readonly BenchPart[] = ['corpus', '200k', 'download', 'serve', 'startup', '1m'];
/** Run only when BENCH_ONLY names them. */
const ON_REQUEST: readonly BenchPart[] = ['1m'];

export interface BenchConfig {
  projectRoot: string;
  airlockBin: string;
  workDir: string;
  /** Scratch for one run: removed before the run, and after it unless `keep`. */
  runDir: string;
  resultsPath: string;
  scale: number;
  skip200k: boolean;
  keep: boolean;
  /** The parts to run: BENCH_ONLY, or all of them (less 200k with BENCH_SKIP_200K=1). */
  parts: ReadonlySet<BenchPart>;
  downloadRuns: number;
  downloadConcurrency: number;
  downloadServers: readonly DownloadServer[];
}

export type DownloadServer = 'fixture' | 'nginx';
const DOWNLOAD_SERVERS: readonly DownloadServer[] = ['fixture', 'nginx'];

/** dist/bench/config.js -> the project root two levels up. */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const workDir = resolve(env.BENCH_DIR ?? join(projectRoot, '.bench'));
  return {
    projectRoot,
    airlockBin: resolve(env.BENCH_AIRLOCK ?? join(projectRoot, 'bin', 'airlock.js')),
    workDir,
    runDir: join(workDir, 'run'),
    resultsPath: join(workDir, 'results.json'),
    scale: parseScale(env.BENCH_SCALE),
    skip200k: env.BENCH_SKIP_200K === '1',
    keep: env.BENCH_KEEP === '1',
    parts: parseParts(env.BENCH_ONLY, env.BENCH_SKIP_200K === '1'),
    downloadRuns: parseCount('BENCH_DOWNLOAD_RUNS', env.BENCH_DOWNLOAD_RUNS, 3),
    downloadConcurrency: parseCount('BENCH_DOWNLOAD_CONCURRENCY', env.BENCH_DOWNLOAD_CONCURRENCY, 8),
    downloadServers: parseServers(env.BENCH_DOWNLOAD_SERVERS),
  };
}

function parseParts(raw: string | undefined, skip200k: boolean): ReadonlySet<BenchPart> {
  const all = BENCH_PARTS.filter((p) => !(skip200k && p === '200k') && !ON_REQUEST.includes(p));
  if (raw === undefined || raw.trim() === '') return new Set(all);
  const named = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of named) {
    if (!(BENCH_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY names ${JSON.stringify(p)}; the parts are ${BENCH_PARTS.join(', ')}`);
  }
  return new Set((named as BenchPart[]).filter((p) => !(skip200k && p === '200k')));
}

function parseCount(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a whole number above 0, got ${JSON.stringify(raw)}`);
  return n;
}

function parseScale(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BENCH_SCALE must be a positive number, got ${JSON.stringify(raw)}`);
  return scale;
}

function parseServers(raw: string | undefined): readonly DownloadServer[] {
  if (raw === undefined || raw.trim() === '') return DOWNLOAD_SERVERS;
  const named = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of named) {
    if (!(DOWNLOAD_SERVERS as readonly string[]).includes(p)) throw new Error(`BENCH_DOWNLOAD_SERVERS names ${JSON.stringify(p)}; the servers are ${DOWNLOAD_SERVERS.join(', ')}`);
  }
  return named as DownloadServer[];
}
