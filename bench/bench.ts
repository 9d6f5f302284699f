import * as fs from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { runAirlockSuite, runSmallFilesSuite, suitePaths } from './airlockSuite.js';
import { describeBuild, identifyBuild, type BuildIdentity } from './build.js';
import { loadConfig, type BenchConfig } from './config.js';
import { corpusParams, ensureCorpus, type Corpus } from './corpus.js';
import { downloadReport, runDownloadSuite, type DownloadResults } from './download.js';
import { contentDiff, type ContentDiff } from './files.js';
import { mb } from './format.js';
import { StepRunner, timeAsync } from './measure.js';
import { runPeerSuite, runTinyPeer } from './peerSuite.js';
import { runServeSuite, type ServeResults } from './serve.js';
import { settleAfterRemoval } from './settle.js';
import { runStartupSuite } from './startup.js';
import { computeRatios, downloadRatios, millionRatios, ratiosTable, stepsTable, type Ratio } from './report.js';
import { guard, StepLog } from './steps.js';
import { ensureTinyTree, millionParams, tinyParams, type TinyTree } from './tinyTree.js';
import { describeTools, has, probeTools, type ToolName, type ToolStatus } from './tools.js';

/**
 * airlock against its peers on a CRAN-like corpus of about 2 GB (see config.ts for the
 * knobs): times snapshot, bundle, verify and apply, then tar|zstd, rsync batch and
 * b3sum on the same trees; checks memory on 200,000 small files; compares `get cran`
 * with parallel curl downloading from the fixture upstream server (download.ts). Prints a
 * table, the project's aims marked MET / NOT MET, and results.json in the work dir. Run
 * with `npm run bench` (builds first); BENCH_ONLY picks parts.
 */
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const config = loadConfig();
  log(`airlock bench: work dir ${config.workDir}, scale ${config.scale}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`);
  log(`parts: ${[...config.parts].join(', ') || 'none'}`);
  const build = identifyBuild(config.airlockBin);
  log(`airlock under test: ${describeBuild(build)}`);
  const tools = probeTools();
  log('tools:');
  for (const line of describeTools(tools)) log(line);

  const earlier = fs.existsSync(config.runDir);
  if (earlier) log(`removing the scratch of an earlier run (${config.runDir})`);
  fs.rmSync(config.runDir, { recursive: true, force: true });
  fs.mkdirSync(config.runDir, { recursive: true });
  if (earlier) await settleAfterRemoval(config.runDir, 'the earlier scratch', log);
  const { corpus, tiny, diff, setupSeconds: corpusSeconds } = await prepareInputs(config);
  const million = config.parts.has('1m') ? await timeAsync(() => ensureTinyTree(config.workDir, millionParams(), log)) : null;
  if (million) log(`million-file tree ${million.value.reused ? 'reused' : `generated in ${million.seconds.toFixed(0)} s`}: ${million.value.stats.files} files, ${mb(million.value.stats.bytes)} MB`);
  const inputSeconds = corpusSeconds + (million?.seconds ?? 0);

  const runner = new StepRunner(join(config.runDir, 'scratch'), has(tools, 'time'));
  log(`peak RSS: ${runner.rssMethod}`);
  log('page cache: `sync` runs (untimed) before each step; caches are not dropped, so the corpus is likely in RAM for every tool alike.');
  const steps = new StepLog();
  if (corpus && config.parts.has('corpus')) {
    await guard(steps, 'airlock snapshot/bundle/verify/apply', log, () => runAirlockSuite(runner, config.airlockBin, corpus, suitePaths(config.runDir), steps, log));
    await runPeerSuite(runner, tools, corpus, config.runDir, steps, log);
  }
  if (tiny) {
    await guard(steps, '200k-file memory check', log, () => runSmallFilesSuite(runner, config.airlockBin, tiny, config.runDir, 'tiny', steps, log));
    await runTinyPeer(runner, tools, tiny, config.runDir, 'tiny', steps, log);
  }
  if (million) {
    await guard(steps, 'million-file case', log, () => runSmallFilesSuite(runner, config.airlockBin, million.value, config.runDir, 'million', steps, log));
    await runTinyPeer(runner, tools, million.value, config.runDir, 'million', steps, log);
  }
  if (config.parts.has('startup')) await guard(steps, 'start-up', log, () => runStartupSuite(runner, config.airlockBin, config.runDir, steps, log));
  const download = config.parts.has('download') ? await runDownloadSuite(runner, config, tools, steps, log) : null;
  let serve: ServeResults | null = null;
  if (corpus && config.parts.has('serve')) {
    await guard(steps, 'airlock serve against nginx', log, async () => {
      serve = await runServeSuite(config.airlockBin, corpus, config.runDir, log);
    });
  }
  const setupSeconds = inputSeconds + (download?.setupSeconds ?? 0);

  const ratios = [
    ...computeRatios(steps, diff, !config.parts.has('200k')).filter((r) => (r.key.startsWith('tiny-') ? config.parts.has('200k') : config.parts.has('corpus'))),
    ...(million ? millionRatios(steps) : []),
    ...(download ? downloadRatios(steps, download.corpora, !has(tools, 'curl')) : []),
  ];
  const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rebuilt = identifyBuild(config.airlockBin).distFingerprint !== build.distFingerprint;
  printReport(corpus, tiny, diff, download, steps, ratios, tools);
  for (const line of (serve as ServeResults | null)?.lines ?? []) log(line);
  if (rebuilt) log(`\nWARNING: airlock's dist/ changed during the run (rebuilt?): these numbers may mix two versions of the code`);
  writeResults(config, { build, rebuilt, corpus, tiny, diff, download, serve, steps, ratios, tools, rssMethod: runner.rssMethod, setupSeconds, totalSeconds });
  if (!config.keep) {
    // About 20 GB and 450,000 files (stores, bundles, deployments, every download round): worth not leaving behind.
    log(`removing this run's scratch (${config.runDir}); BENCH_KEEP=1 keeps it`);
    fs.rmSync(config.runDir, { recursive: true, force: true });
  }
  if (steps.failures.length > 0) process.exitCode = 1;
  log(`\nresults written to ${config.resultsPath}; whole run ${totalSeconds.toFixed(0)} s (of which ${setupSeconds.toFixed(0)} s corpus preparation)`);
}

/** The corpus (and the really-new bytes of v2) for the corpus part, the 200k-file tree for the memory check. */
async function prepareInputs(config: BenchConfig): Promise<{ corpus: Corpus | null; tiny: TinyTree | null; diff: ContentDiff | null; setupSeconds: number }> {
  if (!config.parts.has('corpus') && !config.parts.has('serve')) return { corpus: null, diff: null, ...(await prepareTiny(config)) };
  const params = corpusParams(config.scale);
  const made = await timeAsync(() => ensureCorpus(config.workDir, params, log));
  const corpus = made.value;
  log(`corpus ${corpus.reused ? 'reused' : `generated in ${made.seconds.toFixed(0)} s`}: v1 ${corpus.stats.v1.files} files, ${mb(corpus.stats.v1.bytes)} MB; v2 ${corpus.stats.v2.files} files, ${mb(corpus.stats.v2.bytes)} MB`);
  const { tiny, setupSeconds: tinySeconds } = await prepareTiny(config);
  const hashed = await timeAsync(() => contentDiff(corpus.v1, corpus.v2));
  const diff = hashed.value;
  log(`really new in v2 (SHA-256 of every file, ${hashed.seconds.toFixed(1)} s): ${diff.newContents} contents, ${mb(diff.newBytes)} MB`);
  return { corpus, tiny, diff, setupSeconds: made.seconds + tinySeconds + hashed.seconds };
}

async function prepareTiny(config: BenchConfig): Promise<{ tiny: TinyTree | null; setupSeconds: number }> {
  let tiny: TinyTree | null = null;
  let tinySeconds = 0;
  if (config.skip200k) {
    log('200k-file memory check skipped (BENCH_SKIP_200K=1)');
  } else if (!config.parts.has('200k')) {
    log('200k-file memory check skipped (not in BENCH_ONLY)');
  } else {
    const t = await timeAsync(() => ensureTinyTree(config.workDir, tinyParams(), log));
    tiny = t.value;
    tinySeconds = t.seconds;
    log(`small-file tree ${tiny.reused ? 'reused' : `generated in ${t.seconds.toFixed(0)} s`}: ${tiny.stats.files} files, ${mb(tiny.stats.bytes)} MB`);
  }
  return { tiny, setupSeconds: tinySeconds };
}

function printReport(
  corpus: Corpus | null,
  tiny: TinyTree | null,
  diff: ContentDiff | null,
  download: DownloadResults | null,
  steps: StepLog,
  ratios: Ratio[],
  tools: Map<ToolName, ToolStatus>,
): void {
  log('');
  if (corpus && diff) log(`corpus: v1 ${corpus.stats.v1.files} files / ${mb(corpus.stats.v1.bytes)} MB, v2 ${corpus.stats.v2.files} files / ${mb(corpus.stats.v2.bytes)} MB, really new ${mb(diff.newBytes)} MB`);
  if (tiny) log(`small-file tree: ${tiny.stats.files} files / ${mb(tiny.stats.bytes)} MB`);
  for (const c of download?.corpora ?? []) log(`download ${c.name}: ${c.files} files / ${mb(c.bytes)} MB from ${c.server === 'nginx' ? 'nginx' : 'the fixture server (its own node process)'} on loopback`);
  log('MB = 10^6 bytes; MB/s = "in MB" / wall time; CPU s = user + system time of the command and its children;');
  log('RSS = peak resident set of the command (for a pipeline, its largest process); load = 1-min load average before the step');
  log(`(it includes the bench's own previous steps; well above ${cpus().length}, the number of CPUs, other work was competing)\n`);
  log(stepsTable(steps.all()));
  log('');
  log(ratiosTable(ratios));
  if (download && download.runs.length > 0) {
    log('');
    for (const line of downloadReport(download)) log(line);
  }
  const missing = [...tools.values()].filter((t) => !t.available);
  for (const t of missing) log(`note: ${t.name} is missing: ${t.ifMissing}`);
  for (const f of steps.failures) log(`\nFAILED: ${f.part} (its later steps were not run):\n  ${f.error.split('\n').join('\n  ')}`);
}

interface Results {
  build: BuildIdentity;
  rebuilt: boolean;
  corpus: Corpus | null;
  tiny: TinyTree | null;
  diff: ContentDiff | null;
  download: DownloadResults | null;
  serve: ServeResults | null;
  steps: StepLog;
  ratios: Ratio[];
  tools: Map<ToolName, ToolStatus>;
  rssMethod: string;
  setupSeconds: number;
  totalSeconds: number;
}

function writeResults(config: BenchConfig, r: Results): void {
  const json = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryBytes: totalmem(), node: process.version },
    config: { workDir: config.workDir, scale: config.scale, skip200k: config.skip200k, parts: [...config.parts], downloadRuns: config.downloadRuns, downloadConcurrency: config.downloadConcurrency },
    airlock: { ...r.build, rebuiltDuringRun: r.rebuilt },
    tools: [...r.tools.values()],
    rssMethod: r.rssMethod,
    corpus: r.corpus ? { params: r.corpus.params, stats: r.corpus.stats, reused: r.corpus.reused, reallyNew: r.diff } : null,
    tiny: r.tiny ? { params: r.tiny.params, stats: r.tiny.stats, reused: r.tiny.reused } : null,
    download: r.download ? { ...r.download, corpora: r.download.corpora.map(({ paths: _paths, ...c }) => c) } : null,
    serve: r.serve ? { rows: r.serve.rows, airlockPeakRssMb: r.serve.airlockPeakRssMb, ratios: r.serve.ratios } : null,
    steps: r.steps.all(),
    failures: r.steps.failures,
    ratios: r.ratios,
    setupSeconds: r.setupSeconds,
    totalSeconds: r.totalSeconds,
  };
  fs.writeFileSync(config.resultsPath, `${JSON.stringify(json, null, 2)}\n`);
}

await main();
