import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Corpus } from './corpus.js';
import { linkTree } from './files.js';
import type { StepRunner } from './measure.js';
import { guard, stepFrom, type StepLog } from './steps.js';
import type { TinyTree } from './tinyTree.js';
import { has, type ToolName, type ToolStatus } from './tools.js';

/**
 * What an admin would use without airlock, on the same trees: tar | zstd -T0 for the
 * full copy, rsync's batch mode for the delta, b3sum for hashing. A peer whose tool is
 * missing is skipped with a note; nothing is estimated in its place.
 */
interface PeerContext {
  runner: StepRunner;
  corpus: Corpus;
  dir: string;
  steps: StepLog;
  log: (line: string) => void;
}

export async function runPeerSuite(runner: StepRunner, tools: Map<ToolName, ToolStatus>, corpus: Corpus, runDir: string, steps: StepLog, log: (line: string) => void): Promise<void> {
  const ctx: PeerContext = { runner, corpus, dir: join(runDir, 'peers'), steps, log };
  fs.mkdirSync(ctx.dir, { recursive: true });
  const peers: [string, ToolName[], (c: PeerContext) => void][] = [
    ['plain tar', ['tar'], plainTar],
    ['tar | zstd -T0', ['tar', 'zstd'], tarZstd],
    ['rsync batch', ['rsync'], rsyncBatch],
    ['b3sum', ['b3sum'], b3sum],
  ];
  for (const [name, needs, run] of peers) {
    if (!has(tools, ...needs)) {
      log(`peer ${name} skipped: ${needs.filter((n) => !has(tools, n)).join(', ')} missing`);
      continue;
    }
    await guard(steps, `peer ${name}`, log, () => run(ctx));
  }
}

/**
 * The I/O floor: reading the tree and writing 2 GB, with no compression or hashing.
 * On a VM whose buffered writes run at a few hundred MB/s, this bounds every tool that
 * writes a full copy (tar|zstd, bundle create, apply).
 */
function plainTar({ runner, corpus, dir, steps, log }: PeerContext): void {
  const out = join(dir, 'full.tar');
  log('peer: tar -cf full.tar -C v1 . (no compression: the write floor)');
  const run = runner.run('tar', ['-cf', out, '-C', corpus.v1, '.']);
  steps.add(stepFrom({ key: 'tar-plain', label: 'tar -cf full.tar v1 (I/O floor)', tool: 'peer', inputBytes: corpus.stats.v1.bytes, outputBytes: fs.statSync(out).size, note: 'no compression, no fsync' }, run));
  // Only its time matters; the space is better left to the outputs that follow.
  fs.rmSync(out);
}

function tarZstd({ runner, corpus, dir, steps, log }: PeerContext): void {
  const out = join(dir, 'full.tar.zst');
  log('peer: tar -cf - -C v1 . | zstd -T0 -q -o full.tar.zst');
  const run = runner.shell(`tar -cf - -C ${q(corpus.v1)} . | zstd -T0 -q -o ${q(out)}`);
  steps.add(stepFrom({ key: 'tar-zstd', label: 'tar -cf - v1 | zstd -T0', tool: 'peer', inputBytes: corpus.stats.v1.bytes, outputBytes: fs.statSync(out).size, note: 'no fsync of the output' }, run));
  // airlock fsyncs its bundle before renaming it into place; this gives the peer the same durability.
  const fsync = runner.run('sync', [out], { flush: false });
  steps.add(stepFrom({ key: 'tar-zstd-fsync', label: '  + sync full.tar.zst (durable)', tool: 'peer', inputBytes: null, note: 'time to fsync the output just written' }, fsync));
}

function rsyncBatch({ runner, corpus, dir, steps, log }: PeerContext): void {
  // rsync needs a destination to compare with; a hardlink copy of v1 costs nothing, and
  // --only-write-batch leaves it untouched anyway.
  const dest = join(dir, 'rsync-dest');
  linkTree(corpus.v1, dest);
  const batch = join(dir, 'rsync.batch');
  log('peer: rsync -a --only-write-batch=rsync.batch v2/ v1copy/');
  const run = runner.run('rsync', ['-a', `--only-write-batch=${batch}`, `${corpus.v2}/`, `${dest}/`]);
  steps.add(
    stepFrom(
      { key: 'rsync-batch', label: 'rsync -a --only-write-batch v2/ v1copy/', tool: 'peer', inputBytes: corpus.stats.v2.bytes, outputBytes: fs.statSync(batch).size, note: 'moved files (to Archive/) are sent again in full' },
      run,
    ),
  );
}

function b3sum({ runner, corpus, steps, log }: PeerContext): void {
  log('peer: find v1 -type f -print0 | xargs -0 b3sum > /dev/null');
  const run = runner.shell(`find ${q(corpus.v1)} -type f -print0 | xargs -0 b3sum > /dev/null`);
  steps.add(stepFrom({ key: 'b3sum', label: 'b3sum over all v1 files', tool: 'peer', inputBytes: corpus.stats.v1.bytes, note: 'hash only, nothing written' }, run));
}

/**
 * tar | zstd -T0 on the 200,000 small files: per-entry overhead (a 512-byte header and
 * padding per object) dominates there, which a stream compressor squeezes out and a
 * bundle of individually framed objects cannot.
 */
export async function runTinyPeer(runner: StepRunner, tools: Map<ToolName, ToolStatus>, tiny: TinyTree, runDir: string, prefix: string, steps: StepLog, log: (line: string) => void): Promise<void> {
  if (!has(tools, 'tar', 'zstd')) return;
  await guard(steps, `peer tar | zstd -T0 (${tiny.stats.files} files)`, log, () => {
    const out = join(runDir, 'peers', `${prefix}.tar.zst`);
    fs.mkdirSync(join(runDir, 'peers'), { recursive: true });
    log(`peer: tar -cf - ${tiny.stats.files} small files | zstd -T0`);
    const run = runner.shell(`tar -cf - -C ${q(tiny.root)} . | zstd -T0 -q -o ${q(out)}`);
    steps.add(
      stepFrom({ key: `${prefix}-tar-zstd`, label: `tar | zstd -T0 of ${tiny.stats.files} small files`, tool: 'peer', inputBytes: tiny.stats.bytes, outputBytes: fs.statSync(out).size, note: 'no fsync' }, run),
    );
  });
}

/** Single-quotes a path for bash. */
function q(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
