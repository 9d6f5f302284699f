import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { advanceUniverse, initialUniverse, writeCranTree, type UniverseOptions } from '../fixtures/cranTree.js';

/**
 * The main job end to end on the embedded default: two versions of a CRAN-like tree are
 * generated under fixtures/generated/, then snapshot, full bundle, apply, delta bundle,
 * apply and rollback run through the real airlock binary, each step saying what it did.
 */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const airlock = join(projectRoot, 'bin', 'airlock.js');
const work = join(projectRoot, 'fixtures', 'generated', 'demo');
const online = join(work, 'online-repo');
const media = join(work, 'usb-drive');
const dataDir = join(work, 'offline-host', 'rspm-offline-data');

function step(title: string, args: string[], expectFailure = false): string {
  process.stdout.write(`\n=== ${title}\n$ airlock ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [airlock, ...args], { encoding: 'utf8' });
  process.stdout.write(run.stdout);
  if (run.stderr) process.stdout.write(run.stderr.replace(/^(?=.)/gm, '  (stderr) '));
  if ((run.status === 0) === expectFailure) {
    process.stderr.write(`demo: step "${title}" ${expectFailure ? 'should have failed' : `failed with exit ${run.status}`}\n`);
    process.exit(1);
  }
  return run.stdout;
}

async function main(): Promise<void> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(media, { recursive: true });
  fs.mkdirSync(dirname(dataDir), { recursive: true });
  const options: UniverseOptions = { seed: 2026, packages: 40, updateShare: 0.1 };
  const v1 = initialUniverse(options);
  const v2 = advanceUniverse(v1, options, 1);
  // One mirror directory, updated in place between the two runs, as a downloader keeps it.
  const mirror = join(work, 'upstream-mirror');
  const first = await writeCranTree(mirror, v1, options);
  process.stdout.write(`generated a CRAN-like mirror (2026-11-01) at ${mirror}: ${first.archives} package archives\n`);

  step('online: record the first download as a snapshot', ['snapshot', 'create', '--repo', online, '--from', mirror, '--label', '2026-11-01']);
  step('online: write a full bundle onto the drive', ['bundle', 'create', '--repo', online, '--snapshot', '2026-11-01', '--output', join(media, 'full.airlock')]);
  step('anywhere: verify the bundle on the drive', ['bundle', 'verify', join(media, 'full.airlock')]);
  step('offline: apply the full bundle', ['apply', join(media, 'full.airlock'), '--data-dir', dataDir]);
  const second = await writeCranTree(mirror, v2, options);
  process.stdout.write(`\nthe mirror advanced to 2026-11-24: ${second.written} files written, ${second.removed} removed\n`);
  step('online: record the next download (unchanged files are not read again)', ['snapshot', 'create', '--repo', online, '--from', mirror, '--label', '2026-11-24']);
  step('online: what changed', ['snapshot', 'diff', '--repo', online, '2026-11-01', '2026-11-24']);
  step('online: write the delta bundle', ['bundle', 'create', '--repo', online, '--snapshot', '2026-11-24', '--starting-snapshot', '2026-11-01', '--output', join(media, 'delta.airlock')]);
  step('anywhere: what the delta carries', ['bundle', 'inspect', join(media, 'delta.airlock')]);
  step('offline: a bundle applied twice is refused', ['apply', join(media, 'full.airlock'), '--data-dir', dataDir], true);
  step('offline: apply the delta', ['apply', join(media, 'delta.airlock'), '--data-dir', dataDir]);
  step('offline: status', ['status', '--data-dir', dataDir]);
  step('offline: deep audit of the data dir', ['verify', '--data-dir', dataDir, '--deep']);
  step('offline: roll back to yesterday', ['rollback', '--data-dir', dataDir]);
  step('offline: status after rollback', ['status', '--data-dir', dataDir]);
  process.stdout.write(`\ndemo complete. The data dir ${dataDir} is a symlink to ${fs.readlinkSync(dataDir)}\n`);
}

await main();
