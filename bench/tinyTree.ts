import * as fs from 'node:fs';
import { join } from 'node:path';
import { Random } from '../fixtures/random.js';
import { readMarker, sameParams, type TreeStats } from './files.js';

/**
 * The memory check's input: 200,000 small files (a few hundred bytes each, all
 * distinct, so the store ends up with 200,000 objects) spread over 2,000 directories
 * in 20 groups, as a binary repository with many small PACKAGES files and sysreqs
 * metadata looks. Cached between runs like the corpus.
 */
export interface TinyParams {
  format: number;
  seed: number;
  files: number;
  directories: number;
}

export interface TinyTree {
  root: string;
  params: TinyParams;
  stats: TreeStats;
  reused: boolean;
}

const TINY_FORMAT = 1;
const GROUPS = 20;

export function tinyParams(): TinyParams {
  return { format: TINY_FORMAT, seed: 7, files: 200_000, directories: 2_000 };
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
    const directory = join(root, `group${String(d % GROUPS).padStart(2, '0')}`, `dir${String(d).padStart(4, '0')}`);
    fs.mkdirSync(directory, { recursive: true });
    for (let f = 0; f < perDirectory && files < params.files; f++) {
      const content = smallFile(rng, d, f);
      fs.writeFileSync(join(directory, `file${String(f).padStart(3, '0')}.txt`), content);
      bytes += content.length;
      files++;
    }
    if ((d + 1) % 500 === 0) log(`  ${d + 1}/${params.directories} directories`);
  }
  const stats = { files, bytes };
  fs.writeFileSync(markerPath, `${JSON.stringify({ params, stats }, null, 2)}\n`);
  return { root, params, stats, reused: false };
}

/** 200-600 bytes of text, unique by its first line. */
function smallFile(rng: Random, directory: number, file: number): Buffer {
  const body = rng.bytes(rng.int(110, 330)).toString('hex');
  return Buffer.from(`Package: dir${directory}file${file}\nData: ${body}\n`);
}
