import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockCli } from './airlock.js';
import type { Corpus } from './corpus.js';
import { linkTree, syncInPlace, treeStats } from './files.js';
import { mb } from './format.js';
import type { RunResult, StepRunner } from './measure.js';
import { stepFrom, type StepLog } from './steps.js';
import { addFiles, moveAddedOut, type TinyTree } from './tinyTree.js';

/**
 * The airlock side of the bench: the online host records v1 and v2 and writes a full
 * and a delta bundle; the offline host verifies and applies them. The online source is
 * a mirror directory (a hardlink copy of v1) updated in place to v2, as
 * rspm-offline-downloader or rsync keeps one, so the second snapshot meets its stat
 * cache; v2 is also recorded from its own directory, the worst case where every file
 * is read again.
 */
export interface SuitePaths {
  repo: string;
  mirror: string;
  media: string;
  dataDir: string;
  fullBundle: string;
  deltaBundle: string;
}

export function suitePaths(runDir: string): SuitePaths {
  const media = join(runDir, 'media');
  return {
    repo: join(runDir, 'online-repo'),
    mirror: join(runDir, 'mirror'),
    media,
    dataDir: join(runDir, 'offline', 'rspm-offline-data'),
    fullBundle: join(media, 'full.airlock'),
    deltaBundle: join(media, 'delta.airlock'),
  };
}

/**
 * airlock's stat cache does not remember files changed within 100 ms of a scan
 * (git's racy-clean rule); the mirror's hardlinks were just made, which touches
 * their ctime, so wait past that window or the incremental snapshot would re-read all.
 */
const RACY_WINDOW_MS = 1100;

export async function runAirlockSuite(runner: StepRunner, bin: string, corpus: Corpus, paths: SuitePaths, steps: StepLog, log: (line: string) => void): Promise<void> {
  const cli = new AirlockCli(runner, bin);
  const { v1: v1Stats, v2: v2Stats } = corpus.stats;
  fs.mkdirSync(paths.media, { recursive: true });
  fs.mkdirSync(join(paths.dataDir, '..'), { recursive: true });
  linkTree(corpus.v1, paths.mirror);
  await sleep(RACY_WINDOW_MS);

  steps.add(stepFrom({ key: 'startup', label: 'airlock --version (start-up floor)', tool: 'airlock', inputBytes: null, note: 'node start-up + module loading, in every command below' }, cli.startup()));

  log('airlock snapshot create v1 (cold: empty repository, no stat cache)');
  const s1 = cli.snapshotCreate(paths.repo, paths.mirror, 'v1');
  steps.add(stepFrom({ key: 'snapshot-v1', label: 'snapshot create v1 (cold)', tool: 'airlock', inputBytes: v1Stats.bytes, note: snapshotNote(s1.out) }, s1.run));

  const synced = syncInPlace(corpus.v2, paths.mirror);
  log(`mirror updated in place to v2 (untimed: the download's job): ${synced.copied} files copied, ${synced.removed} removed`);
  log('airlock snapshot create v2 (incremental: same mirror, stat cache)');
  const s2 = cli.snapshotCreate(paths.repo, paths.mirror, 'v2');
  steps.add(stepFrom({ key: 'snapshot-v2-incremental', label: 'snapshot create v2 (mirror, incremental)', tool: 'airlock', inputBytes: v2Stats.bytes, note: snapshotNote(s2.out) }, s2.run));

  log('airlock snapshot create v2 from its own directory (no stat cache: every file read again)');
  const s3 = cli.snapshotCreate(paths.repo, corpus.v2, 'v2');
  if (s3.out.snapshot.id !== s2.out.snapshot.id) throw new Error('v2 recorded from the mirror and from its own directory gave different trees');
  steps.add(stepFrom({ key: 'snapshot-v2-full-read', label: 'snapshot create v2 (own dir, re-read all)', tool: 'airlock', inputBytes: v2Stats.bytes, note: snapshotNote(s3.out) }, s3.run));

  log('airlock bundle create (full, v1)');
  const full = cli.bundleCreate(paths.repo, 'v1', paths.fullBundle);
  steps.add(stepFrom({ key: 'bundle-full', label: 'bundle create full (v1)', tool: 'airlock', inputBytes: v1Stats.bytes, outputBytes: full.out.bundleBytes, note: bundleNote(full.out) }, full.run));

  log('airlock bundle create (delta, v1 -> v2)');
  const delta = cli.bundleCreate(paths.repo, 'v2', paths.deltaBundle, 'v1');
  steps.add(
    stepFrom(
      { key: 'bundle-delta', label: 'bundle create delta (v1->v2)', tool: 'airlock', inputBytes: delta.out.header.objects.bytes, outputBytes: delta.out.bundleBytes, note: bundleNote(delta.out) },
      delta.run,
    ),
  );

  log('airlock bundle verify (full)');
  const verify = cli.bundleVerify(paths.fullBundle);
  steps.add(stepFrom({ key: 'verify-full', label: 'bundle verify full', tool: 'airlock', inputBytes: verify.out.bundleBytes, note: `${verify.out.objects} objects checked` }, verify.run));

  log('airlock apply (full bundle, empty data dir)');
  const applyFull = cli.apply(paths.fullBundle, paths.dataDir);
  steps.add(stepFrom({ key: 'apply-full', label: 'apply full (empty data dir)', tool: 'airlock', inputBytes: full.out.bundleBytes, note: applyNote(applyFull.out) }, applyFull.run));
  checkDeployed(paths.dataDir, v1Stats, 'v1');

  log('airlock apply (delta on top)');
  const applyDelta = cli.apply(paths.deltaBundle, paths.dataDir);
  steps.add(stepFrom({ key: 'apply-delta', label: 'apply delta (on v1)', tool: 'airlock', inputBytes: delta.out.bundleBytes, note: applyNote(applyDelta.out) }, applyDelta.run));
  checkDeployed(paths.dataDir, v2Stats, 'v2');
}

/**
 * A small-file tree through every command, in a repository and data dir of its own: the
 * 200,000-file memory check and the million-file case. Keys start with `prefix`
 * (tiny-..., million-...). The incremental snapshot adds 1 file in 100 (removed again
 * afterwards, so the cached tree stays as generated); the delta carries those.
 */
export async function runSmallFilesSuite(runner: StepRunner, bin: string, tree: TinyTree, runDir: string, prefix: string, steps: StepLog, log: (line: string) => void): Promise<void> {
  const cli = new AirlockCli(runner, bin);
  const dir = join(runDir, prefix);
  const repo = join(dir, 'repo');
  const dataDir = join(dir, 'offline', 'rspm-offline-data');
  fs.mkdirSync(join(dir, 'media'), { recursive: true });
  fs.mkdirSync(join(dir, 'offline'), { recursive: true });
  const n = tree.stats.files;
  const what = `${n.toLocaleString('en-US')} small files`;
  const add = (key: string, label: string, run: RunResult, inputBytes: number | null, note: string, outputBytes?: number) =>
    steps.add(stepFrom({ key: `${prefix}-${key}`, label, tool: 'airlock', inputBytes, ...(outputBytes === undefined ? {} : { outputBytes }), note }, run));

  // The snapshot is the first step to read the tree, tar|zstd the last: read once first, untimed,
  // both find it in the page cache (read cold, the 200k tree takes 16 s where warm takes 3).
  log(`reading the ${what} once (untimed), so the snapshot and tar|zstd both find them in the page cache`);
  warmPageCache(tree.root);
  log(`airlock snapshot create (${what})`);
  const snap = cli.snapshotCreate(repo, tree.root, 'small');
  add('snapshot', `snapshot create ${what}`, snap.run, tree.stats.bytes, snapshotNote(snap.out));
  try {
    const added = addFiles(tree, Math.ceil(n / 100));
    await sleep(RACY_WINDOW_MS);
    log(`airlock snapshot create, incremental (${added.files} files added)`);
    const again = cli.snapshotCreate(repo, tree.root, 'small-2');
    add('snapshot-incremental', `snapshot create incremental (+1%, ${what})`, again.run, tree.stats.bytes + added.bytes, snapshotNote(again.out));
    const fullBundle = join(dir, 'media', 'full.airlock');
    log(`airlock bundle create (${what})`);
    const bundle = cli.bundleCreate(repo, 'small', fullBundle);
    add('bundle', `bundle create ${what}`, bundle.run, tree.stats.bytes, bundleNote(bundle.out), bundle.out.bundleBytes);
    log('airlock bundle verify');
    const verify = cli.bundleVerify(fullBundle);
    add('verify', `bundle verify ${what}`, verify.run, verify.out.bundleBytes, `${verify.out.objects} objects checked`);
    log('airlock apply (full, empty data dir)');
    const applyFull = cli.apply(fullBundle, dataDir);
    add('apply', `apply full ${what}`, applyFull.run, bundle.out.bundleBytes, applyNote(applyFull.out));
    const deltaBundle = join(dir, 'media', 'delta.airlock');
    log('airlock bundle create (delta: the 1% added)');
    const delta = cli.bundleCreate(repo, 'small-2', deltaBundle, 'small');
    add('bundle-delta', `bundle create delta (+1%, ${what})`, delta.run, delta.out.header.objects.bytes, bundleNote(delta.out), delta.out.bundleBytes);
    log('airlock apply (delta on top)');
    const applyDelta = cli.apply(deltaBundle, dataDir);
    add('apply-delta', `apply delta (+1%, ${what})`, applyDelta.run, delta.out.bundleBytes, applyNote(applyDelta.out));
    log('airlock snapshot diff');
    const diff = cli.snapshotDiff(repo, 'small', 'small-2');
    add('diff', `snapshot diff (+1%, ${what})`, diff.run, null, `${diff.out.files.added.length} added`);
    log('airlock verify --deep');
    const deep = cli.verifyDeep(dataDir);
    add('verify-deep', `verify --deep ${what}`, deep.run, tree.stats.bytes, `${deep.out.checked ?? n} files re-hashed`);
  } finally {
    // Out of the tree after every timed step, and into the run's scratch rather than removed:
    // a step that creates files within minutes of a removal pays for it (settle.ts).
    moveAddedOut(tree, runDir);
  }
}

/** Every file's bytes read once, through a pipe (tar skips reading when it writes to /dev/null itself). */
function warmPageCache(root: string): void {
  const result = spawnSync('sh', ['-c', 'tar -cf - -C "$1" . | cat > /dev/null', 'warm', root], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`reading ${root} to warm the page cache failed (exit ${result.status})`);
}

function snapshotNote(out: { hashedFiles: number; hashedBytes: number; cachedFiles: number; recorded: boolean }): string {
  return `read ${out.hashedFiles} files (${mb(out.hashedBytes)} MB), ${out.cachedFiles} from stat cache${out.recorded ? '' : '; same tree, not recorded again'}`;
}

function bundleNote(out: { header: { objects: { count: number } }; rawObjects: number; compressedObjects: number; packedObjects?: number; packs?: number }): string {
  return `${out.header.objects.count} objects: ${out.rawObjects} raw, ${out.compressedObjects} zstd${out.packs ? `, ${out.packedObjects} in ${out.packs} packs` : ''}`;
}

function applyNote(out: { applied: { objectsImported: number; files: number; linked: number; copied: number } }): string {
  const a = out.applied;
  return `${a.objectsImported} objects imported; ${a.files} files (${a.linked} linked, ${a.copied} copied)`;
}

/** The applied data dir must hold exactly the source tree's files and bytes; a bench of a broken apply means nothing. */
function checkDeployed(dataDir: string, expected: { files: number; bytes: number }, name: string): void {
  const actual = treeStats(fs.realpathSync(dataDir));
  if (actual.files !== expected.files || actual.bytes !== expected.bytes) {
    throw new Error(`after applying ${name}, ${dataDir} holds ${actual.files} files (${actual.bytes} bytes); ${name} has ${expected.files} (${expected.bytes})`);
  }
}
