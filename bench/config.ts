import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the bench works and how big it makes things. Everything it writes lives under
 * the work dir (default <project>/.bench, gitignored), never in the repository.
 *
 *   BENCH_DIR=/path     work dir (corpora are cached there between runs)
 *   BENCH_SCALE=0.25    scales the CRAN-like corpus (1 = about 2 GB, 4000 packages)
 *   BENCH_SKIP_200K=1   skips the 200,000-file memory check
 *   BENCH_KEEP=1        keeps the run's repositories, bundles and data dirs afterwards
 *   BENCH_AIRLOCK=path  the bin/airlock.js to measure (default this checkout's): a frozen
 *                       copy of a commit gives stable numbers while the tree is edited
 */
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
}

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
  };
}

function parseScale(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BENCH_SCALE must be a positive number, got ${JSON.stringify(raw)}`);
  return scale;
}
