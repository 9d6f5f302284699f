import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type SourcePackageEntry, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRunJson } from '../helpers/cli.js';
import { rscript, rString } from '../helpers/r.js';
import { tempDir } from '../helpers/fixtures.js';

/**
 * R itself as the client of what airlock delivers: download from the fixture upstream, carry
 * a full bundle, apply it into an offline data dir, then point R at `file://<data dir>/...`
 * and have it list, install and load packages, as an air-gapped user would.
 */

const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };

let root: string;
let work: string;
let server: UpstreamServer | undefined;
let manifest: UpstreamManifest;
let dataDir: string;
/** The CRAN packages of the snapshot that was downloaded. */
let cran: SourcePackageEntry[];

function requireRscript(): void {
  const probe = spawnSync('Rscript', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `Rscript is not available (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr}`}): these tests need R as the client; install r-base-core (apt-get install r-base-core) and run them again`,
    );
  }
}

/** `name version` lines of what `available.packages` lists for `repos`. */
async function availablePackages(repos: string): Promise<string[]> {
  const out = await rscript(`ap <- available.packages(repos = ${rString(repos)}, type = "source"); cat(paste("PKG", ap[, "Package"], ap[, "Version"]), sep = "\\n")`);
  return out
    .split('\n')
    .filter((l) => l.startsWith('PKG '))
    .map((l) => l.slice(4))
    .sort();
}

/** A package and everything it imports, transitively. */
function closure(name: string, packages: SourcePackageEntry[]): Set<string> {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const i of byName.get(n)?.imports ?? []) visit(i);
  };
  visit(name);
  return seen;
}

beforeAll(async () => {
  requireRscript();
  root = tempDir('airlock-upstream-r-');
  work = tempDir('airlock-r-');
  manifest = await generateUpstream(root, { distributions: ['jammy'] });
  server = await startUpstreamServer({ root });
  cran = manifest.snapshots[0]!.packages;
  const dest = join(work, 'online');
  const bundle = join(work, 'full.airlock');
  dataDir = join(work, 'offline', 'rspm-offline-data');
  fs.mkdirSync(join(work, 'offline'));
  await airlockRunJson(['get', 'cran', '--destination', dest, '--base-url', `${server.url}/ppm`, '--sysreqs-url', `${server.url}/sysreqs`], ENV);
  await airlockRunJson(
    ['get', 'bioconductor', '--destination', dest, '--base-url', `${server.url}/bioc`, '--versions', 'release', '--sysreqs-url', `${server.url}/sysreqs`, '--bundle', bundle],
    ENV,
  );
  // From here on R reads files only: the upstream is gone, as on the offline side.
  await server.close();
  server = undefined;
  await airlockRunJson(['apply', bundle, '--data-dir', dataDir], ENV);
});

afterAll(async () => {
  await server?.close();
  for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('R as the client of an applied data dir', () => {
  it('available.packages lists exactly the snapshot\'s CRAN packages', async () => {
    const listed = await availablePackages(`file://${dataDir}/v3`);
    expect(listed).toEqual(cran.map((p) => `${p.name} ${p.version}`).sort());
  });

  it('install.packages installs a package with its dependencies, and the package works', async () => {
    // A package whose import imports another: three installs, each a real R CMD INSTALL.
    const candidates = cran
      .map((p) => ({ p, deps: closure(p.name, cran) }))
      .filter(({ deps }) => deps.size >= 2 && deps.size <= 3)
      .sort((a, b) => b.deps.size - a.deps.size || (a.p.name < b.p.name ? -1 : 1));
    expect(candidates.length, 'the fixture universe has a package with a chain of imports').toBeGreaterThan(0);
    const { p: target, deps } = candidates[0]!;
    const lib = join(work, `lib-${target.name}`);
    fs.mkdirSync(lib);
    const fn = `${target.name.replace(/\./g, '_')}_hello`;
    const out = await rscript(
      [
        `lib <- ${rString(lib)}`,
        `install.packages(${rString(target.name)}, lib = lib, repos = ${rString(`file://${dataDir}/v3`)}, type = "source", quiet = TRUE)`,
        '.libPaths(c(lib, .libPaths()))',
        `library(${rString(target.name)}, lib.loc = lib, character.only = TRUE)`,
        `cat("RESULT", ${fn}(), "\\n", sep = "|")`,
        'ip <- installed.packages(lib.loc = lib)',
        'cat(paste("INSTALLED", ip[, "Package"], ip[, "Version"]), sep = "\\n")',
      ].join('\n'),
    );
    expect(out).toContain(`RESULT|hello from ${target.name} ${target.version}|`);
    const installed = out
      .split('\n')
      .filter((l) => l.startsWith('INSTALLED '))
      .map((l) => l.slice('INSTALLED '.length))
      .sort();
    const byName = new Map(cran.map((p) => [p.name, p]));
    expect(installed).toEqual([...deps].map((n) => `${n} ${byName.get(n)!.version}`).sort());
    expect(target.imports.length).toBeGreaterThan(0);
  });

  it('available.packages reads the Bioconductor release repository', async () => {
    const release = manifest.bioc.release;
    const listed = await availablePackages(`file://${dataDir}/bioc/v3/${release}/bioc`);
    const expected = manifest.bioc.snapshots[manifest.snapshots[0]!.date]![release]!.bioc;
    expect(expected.length).toBeGreaterThan(0);
    expect(listed).toEqual(expected.map((p) => `${p.name} ${p.version}`).sort());
  });
});
