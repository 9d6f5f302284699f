import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { advanceUniverse, initialUniverse, type PackageState, type UniverseOptions } from '../fixtures/cranTree.js';
import { Random } from '../fixtures/random.js';
import { buildSourcePackage, type RPackageSpec } from '../fixtures/rPackage.js';
import { readMarker, sameParams, treeStats, type TreeStats } from './files.js';

/**
 * The CRAN-like corpus: v1 (a rspm-offline-data tree, v3/src/contrib with PACKAGES,
 * PACKAGES.gz and gzip package archives of incompressible payload with log-normal
 * sizes) and v2 (the next week: updateShare of the packages updated, their old
 * archives moved to Archive/<name>/, one package added, one removed), as fixtures'
 * universe model describes them.
 *
 * fixtures' writeCranTree cannot be used as is: it holds the whole tree in memory
 * (2 GB here) and syncs one directory in place, while the bench needs v1 and v2 side
 * by side. So the archives are written one at a time, and v2 hardlinks every archive
 * whose bytes v1 already has (same package and version: the fixtures are deterministic).
 * Hardlinks are safe because nothing ever writes into a corpus file; they keep the
 * corpus at 2 GB on disk instead of 4.
 */
export interface CorpusParams {
  /** Bumped whenever generation changes, so an old cached corpus is rebuilt. */
  format: number;
  seed: number;
  packages: number;
  payloadMedian: number;
  updateShare: number;
}

export interface Corpus {
  dir: string;
  v1: string;
  v2: string;
  params: CorpusParams;
  stats: { v1: TreeStats; v2: TreeStats };
  /** True when an earlier run's corpus was reused. */
  reused: boolean;
}

interface Marker {
  params: CorpusParams;
  stats: { v1: TreeStats; v2: TreeStats };
}

const CORPUS_FORMAT = 2; // 2: payload archives gzip level 1 (was 0)
/** At scale 1: 4000 packages x ~2.05 x 240 kB mean (log-normal, sigma 1.2) = about 2 GB. */
const BASE_PACKAGES = 4000;
const PAYLOAD_MEDIAN = 240_000;
const CONTRIB = join('v3', 'src', 'contrib');

export function corpusParams(scale: number): CorpusParams {
  return { format: CORPUS_FORMAT, seed: 2026, packages: Math.max(10, Math.round(BASE_PACKAGES * scale)), payloadMedian: PAYLOAD_MEDIAN, updateShare: 0.02 };
}

export async function ensureCorpus(workDir: string, params: CorpusParams, log: (line: string) => void): Promise<Corpus> {
  const dir = join(workDir, `corpus-${params.packages}`);
  const markerPath = join(dir, 'corpus.json');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  const marker = readMarker<Marker>(markerPath);
  if (marker && sameParams(marker.params, params) && fs.existsSync(v1) && fs.existsSync(v2)) {
    return { dir, v1, v2, params, stats: marker.stats, reused: true };
  }
  // Anything else there is a partial or outdated corpus: start over. The marker is
  // written last, so an interrupted generation is never mistaken for a complete one.
  fs.rmSync(dir, { recursive: true, force: true });
  const options: UniverseOptions = { seed: params.seed, packages: params.packages, payloadMedian: params.payloadMedian, updateShare: params.updateShare };
  const state1 = initialUniverse(options);
  const state2 = advanceUniverse(state1, options, 1);
  log(`generating corpus v1 (${state1.length} packages) in ${v1}`);
  const written1 = await writeVersion(v1, state1, options, new Map(), log);
  log(`generating corpus v2 (${state2.length} packages, hardlinking unchanged archives from v1)`);
  await writeVersion(v2, state2, options, written1, log);
  const stats = { v1: treeStats(v1), v2: treeStats(v2) };
  fs.writeFileSync(markerPath, `${JSON.stringify({ params, stats } satisfies Marker, null, 2)}\n`);
  return { dir, v1, v2, params, stats, reused: false };
}

/** An archive already on disk: where, and its MD5 for PACKAGES. */
interface WrittenArchive {
  path: string;
  md5: string;
}

async function writeVersion(
  root: string,
  state: PackageState[],
  options: UniverseOptions,
  previous: Map<string, WrittenArchive>,
  log: (line: string) => void,
): Promise<Map<string, WrittenArchive>> {
  const contrib = join(root, CONTRIB);
  const written = new Map<string, WrittenArchive>();
  const records: string[] = [];
  const place = async (p: PackageState, version: string, relPath: string): Promise<WrittenArchive> => {
    const key = `${p.name}@${version}`;
    const target = join(contrib, relPath);
    fs.mkdirSync(dirname(target), { recursive: true });
    const earlier = previous.get(key);
    let archive: WrittenArchive;
    if (earlier) {
      fs.linkSync(earlier.path, target);
      archive = { path: target, md5: earlier.md5 };
    } else {
      const bytes = await buildSourcePackage(packageSpec(p, version, options));
      fs.writeFileSync(target, bytes);
      archive = { path: target, md5: createHash('md5').update(bytes).digest('hex') };
    }
    written.set(key, archive);
    return archive;
  };
  for (const [i, p] of state.entries()) {
    const current = await place(p, p.version, `${p.name}_${p.version}.tar.gz`);
    records.push(packagesRecord(p, current.md5));
    for (const old of p.archived) await place(p, old, join('Archive', p.name, `${p.name}_${old}.tar.gz`));
    if ((i + 1) % 500 === 0) log(`  ${i + 1}/${state.length} packages`);
  }
  const packages = `${records.join('\n\n')}\n`;
  fs.writeFileSync(join(contrib, 'PACKAGES'), packages);
  fs.writeFileSync(join(contrib, 'PACKAGES.gz'), gzipSync(packages, { level: 9 }));
  return written;
}

/** As fixtures/cranTree.ts builds a package (not exported there): the payload is seeded by name@version. */
function packageSpec(p: PackageState, version: string, options: UniverseOptions): RPackageSpec {
  const payload = p.payloadSize > 0 ? new Random(hashSeed(`${p.name}@${version}`) ^ options.seed).bytes(p.payloadSize) : undefined;
  return { name: p.name, version, imports: p.imports, title: `Tools for ${p.name}`, ...(payload ? { payload } : {}) };
}

function hashSeed(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

/** A PACKAGES record as tools::write_PACKAGES writes it, as in fixtures/cranTree.ts. */
function packagesRecord(p: PackageState, md5: string): string {
  const lines = [`Package: ${p.name}`, `Version: ${p.version}`];
  if (p.imports.length > 0) lines.push(`Imports: ${p.imports.join(', ')}`);
  lines.push('License: MIT + file LICENSE', `MD5sum: ${md5}`, 'NeedsCompilation: no');
  return lines.join('\n');
}
