import * as fs from 'node:fs';
import { join } from 'node:path';
import { Random } from '../fixtures/random.js';
import { readMarker, sameParams, type TreeStats } from './files.js';
import { putAside } from './settle.js';

/**
 * The small-file trees: 200,000 small files (a few hundred bytes each, all distinct, so
 * the store ends up with 200,000 objects) spread over 2,000 directories in 20 groups, as
 * a binary repository with many small PACKAGES files and sysreqs metadata looks; and
 * the million-file case, 1,000,000 such files in 10,000 directories of 100 in 100
 * groups (binaries for a few R versions and distributions put a real mirror past a
 * million files). Cached between runs like the corpus.
 */
export interface TinyParams {
  format: number;
  seed: number;
  files: number;
  directories: number;
  groups: number;
}

export interface TinyTree {
  root: string;
  params: TinyParams;
  stats: TreeStats;
  reused: boolean;
}

const TINY_FORMAT = 1;

export function tinyParams(): TinyParams {
  return { format: TINY_FORMAT, seed: 7, files: 200_000, directories: 2_000, groups: 20 };
}

export function millionParams(): TinyParams {
  return { format: TINY_FORMAT, seed: 11, files: 1_000_000, directories: 10_000, groups: 100 };
}

export function ensureTinyTree(workDir: string, params: TinyParams, log: (line: string) => void): TinyTree {
  const dir = join(workDir, `tiny-${params.files}`);
  const root = join(dir, 'tree');
  const markerPath = join(dir, 'tiny.json');
  const marker = readMarker<{ params: TinyParams; stats: TreeStats }>(markerPath);
  if (marker && sameParams(marker.params, params) && fs.existsSync(root)) return { root, params, stats: marker.stats, reused: true };
  fs.rmSync(dir, { recursive: true, force: true });
  log(`generating ${params.files} small files in ${params.directories} directories under ${root}`);
  const rng = new Random(params.seed);
  const perDirectory = Math.ceil(params.files / params.directories);
  let bytes = 0;
  let files = 0;
  for (let d = 0; d < params.directories && files < params.files; d++) {
    const directory = join(root, `group${String(d % params.groups).padStart(3, '0')}`, `dir${String(d).padStart(5, '0')}`);
    fs.mkdirSync(directory, { recursive: true });
    for (let f = 0; f < perDirectory && files < params.files; f++) {
      const content = smallFile(rng, d, f);
      fs.writeFileSync(join(directory, `file${String(f).padStart(3, '0')}.txt`), content);
      bytes += content.length;
      files++;
    }
    if ((d + 1) % Math.max(500, params.directories / 4) === 0) log(`  ${d + 1}/${params.directories} directories`);
  }
  const stats = { files, bytes };
  fs.writeFileSync(markerPath, `${JSON.stringify({ params, stats }, null, 2)}\n`);
  return { root, params, stats, reused: false };
}

/**
 * New files for an incremental snapshot (1 in 100, under _added/), moved out again by
 * `moveAddedOut` so the cached tree stays as generated.
 */
export function addFiles(tree: TinyTree, count: number): { files: number; bytes: number } {
  const rng = new Random(tree.params.seed + 1);
  const dir = join(tree.root, '_added');
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let f = 0; f < count; f++) {
    const content = smallFile(rng, -1, f);
    fs.writeFileSync(join(dir, `new${String(f).padStart(6, '0')}.txt`), content);
    bytes += content.length;
  }
  return { files: count, bytes };
}

/** The added files out of the tree, into the run's scratch (removed with it at the end: settle.ts). */
export function moveAddedOut(tree: TinyTree, scratch: string): void {
  putAside(join(tree.root, '_added'), scratch);
}

/** 200-600 bytes of text, unique by its first line. */
function smallFile(rng: Random, directory: number, file: number): Buffer {
  const body = rng.bytes(rng.int(110, 330)).toString('hex');
  return Buffer.from(`Package: dir${directory}file${file}\nData: ${body}\n`);
}
