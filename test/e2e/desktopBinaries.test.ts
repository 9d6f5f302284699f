import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRun, airlockRunJson, airlockRunOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { marked, rscript, rString } from '../helpers/r.js';
import { startServe } from '../helpers/serve.js';

/**
 * Windows and macOS binaries (issue "Mirror what you need", section 3): `--distributions
 * windows,macos` fetches them from Package Manager or a CRAN mirror and lays them out as CRAN
 * does, so R's own contrib.url finds them, in the applied data and through `airlock serve`.
 * Linux R asks for them by type ("win.binary", "mac.binary.big-sur-arm64"), for the R version
 * it is, which the fixture is made to have.
 */
const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };
let root: string;
let server: UpstreamServer;
let manifest: UpstreamManifest;
let rVersion: string;

beforeAll(async () => {
  root = tempDir('airlock-desktop-');
  rVersion = marked(await rscript('cat("RV", R.version$major, sub("\\\\..*", "", R.version$minor), "\\n")'), 'RV')[0]!.trim().replace(' ', '.');
  manifest = await generateUpstream(join(root, 'fixture'), { packages: 5, rVersions: [rVersion], distributions: ['jammy'] });
  server = await startUpstreamServer({ root: join(root, 'fixture') });
}, 60_000);

afterAll(async () => {
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const names = () => manifest.snapshots[0]!.packages.map((p) => p.name).sort();

async function rSees(repos: string, type: string): Promise<string[]> {
  const out = await rscript(`ap <- available.packages(contriburl = contrib.url(${rString(repos)}, ${rString(type)}), type = ${rString(type)}); cat("PKGS", sort(rownames(ap)), "\\n")`);
  return marked(out, 'PKGS')[0]!.trim().split(' ');
}

describe('--distributions windows,macos', () => {
  it('from Package Manager: laid out as CRAN does, R finds them by type; served at the same paths after a bundle and an apply', async () => {
    const dest = join(root, 'ppm');
    const run = await airlockRun(
      ['get', 'cran', '--destination', dest, '--base-url', `${server.url}/ppm`, '--sysreqs-url', `${server.url}/sysreqs`, '--include-binaries', '--r-versions', rVersion, '--distributions', 'windows,macos,jammy', '--architectures', 'x86_64,arm64'],
      ENV,
    );
    expect(run.status, run.stderr).toBe(0);
    const v3 = join(dest, 'current', 'v3');
    const count = (dir: string, ext: string) => fs.readdirSync(join(v3, dir)).filter((f) => f.endsWith(ext)).length;
    expect(count(`bin/windows/contrib/${rVersion}`, '.zip')).toBe(names().length);
    expect(count(`bin/macosx/big-sur-x86_64/contrib/${rVersion}`, '.tgz')).toBe(names().length);
    expect(count(`bin/macosx/big-sur-arm64/contrib/${rVersion}`, '.tgz')).toBe(names().length);
    expect(fs.readdirSync(join(dest, 'current', 'bin'))).toEqual(expect.arrayContaining([`${rVersion}-jammy`, `${rVersion}-jammy-aarch64`]));
    expect(await rSees(`file://${v3}`, 'win.binary')).toEqual(names());
    expect(await rSees(`file://${v3}`, 'mac.binary.big-sur-arm64')).toEqual(names());
    // validate reads their indexes too: every .zip and .tgz against its MD5sum.
    const valid = await airlockRunJson<{ archivesChecked: number }>(['validate', 'cran', '--destination', dest, '--packages', '--json'], ENV);
    expect(valid.archivesChecked).toBe(names().length * (1 + 3 + 2));

    const bundle = join(root, 'desktop.airlock');
    await airlockRunOk(['bundle', 'create', '--repo', dest, '--snapshot', 'latest', '--output', bundle], ENV);
    const dataDir = join(root, 'offline', 'rspm-offline-data');
    fs.mkdirSync(join(root, 'offline'));
    await airlockRunOk(['apply', bundle, '--data-dir', dataDir], ENV);
    const serve = await startServe(dataDir);
    try {
      expect(await rSees(`${serve.url}/cran/latest`, 'win.binary')).toEqual(names());
      expect(await rSees(`${serve.url}/cran/latest`, 'mac.binary.big-sur-x86_64')).toEqual(names());
      const zip = await fetch(`${serve.url}/cran/latest/bin/windows/contrib/${rVersion}/${manifest.snapshots[0]!.packages[0]!.name}_${manifest.snapshots[0]!.packages[0]!.version}.zip`);
      expect(zip.status).toBe(200);
      expect(await zip.text()).toMatch(/^zip binary of /);
    } finally {
      await serve.stop();
    }
  });

  it('from a plain CRAN mirror, Windows only, with --file-in selecting the same packages there', async () => {
    const dest = join(root, 'mirror');
    const pick = manifest.snapshots[0]!.packages.find((p) => p.imports.length > 0) ?? manifest.snapshots[0]!.packages[0]!;
    const list = join(root, 'list.txt');
    fs.writeFileSync(list, `${pick.name}\n`);
    const run = await airlockRun(
      ['get', 'cran', '--destination', dest, '--base-url', `${server.url}/cran`, '--source-type', 'cran-mirror', '--sysreqs-url', 'none', '--include-binaries', '--r-versions', rVersion, '--distributions', 'windows', '--file-in', list],
      ENV,
    );
    expect(run.status, run.stderr).toBe(0);
    const v3 = join(dest, 'current', 'v3');
    const sources = await rSees(`file://${v3}`, 'source');
    const closure = await rscript(`db <- available.packages(contriburl = ${rString(`${server.url}/cran/src/contrib`)}); d <- tools::package_dependencies(${rString(pick.name)}, db = db, recursive = TRUE); cat("PKGS", sort(intersect(c(${rString(pick.name)}, unlist(d)), rownames(db))), "\\n")`);
    expect(sources).toEqual(marked(closure, 'PKGS')[0]!.trim().split(' '));
    expect(await rSees(`file://${v3}`, 'win.binary')).toEqual(sources);
    expect(fs.existsSync(join(v3, 'bin', 'macosx'))).toBe(false);
  });
});
