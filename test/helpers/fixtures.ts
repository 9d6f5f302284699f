import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { advanceUniverse, initialUniverse, writeCranTree, type PackageState, type UniverseOptions } from '../../fixtures/cranTree.js';
import { airlockJson } from './cli.js';

export function tempDir(prefix = 'airlock-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Scenario {
  root: string;
  mirror: string;
  repo: string;
  media: string;
  dataDir: string;
  options: UniverseOptions;
  versions: PackageState[][];
  /** Snapshot ids by label. */
  ids: Record<string, string>;
}

/**
 * A small online world: a CRAN-like mirror updated in place `steps` times, each state
 * recorded as a snapshot labelled v1, v2, ... in an online repository.
 */
export async function onlineScenario(steps = 2, options: Partial<UniverseOptions> = {}): Promise<Scenario> {
  const root = tempDir();
  const opts: UniverseOptions = { seed: 7, packages: 12, updateShare: 0.2, ...options };
  const s: Scenario = {
    root,
    mirror: join(root, 'mirror'),
    repo: join(root, 'online'),
    media: join(root, 'media'),
    dataDir: join(root, 'offline', 'rspm-offline-data'),
    options: opts,
    versions: [],
    ids: {},
  };
  fs.mkdirSync(s.media, { recursive: true });
  fs.mkdirSync(join(root, 'offline'), { recursive: true });
  let state = initialUniverse(opts);
  for (let i = 1; i <= steps; i++) {
    if (i > 1) state = advanceUniverse(state, opts, i);
    s.versions.push(state);
    await writeCranTree(s.mirror, state, opts);
    const out = airlockJson<{ snapshot: { id: string } }>(['snapshot', 'create', '--repo', s.repo, '--from', s.mirror, '--label', `v${i}`]);
    s.ids[`v${i}`] = out.snapshot.id;
  }
  return s;
}

/** Every regular file under `dir` with its bytes, for before/after comparisons. */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!fs.existsSync(dir)) return out;
  const base = fs.realpathSync(dir);
  for (const d of fs.readdirSync(base, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    if (d.isFile()) out.set(relative(base, join(d.parentPath, d.name)), fs.readFileSync(join(d.parentPath, d.name)));
  }
  return out;
}

/** A fingerprint of everything under a directory (names, types, sizes, link targets), to prove "nothing changed". */
export function fingerprint(dir: string): string {
  if (!fs.existsSync(dir)) return '(absent)';
  const lines: string[] = [];
  for (const d of (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).sort((a, b) =>
    join(a.parentPath, a.name) < join(b.parentPath, b.name) ? -1 : 1,
  )) {
    const p = join(d.parentPath, d.name);
    const st = fs.lstatSync(p);
    lines.push(`${p.slice(dir.length)} ${d.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : d.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs} ${st.ino}`}`);
  }
  return lines.join('\n');
}
