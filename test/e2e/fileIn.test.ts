import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { parseDcf } from '../../src/core/dcf.js';
import { airlockRun, airlockRunJson, airlockRunOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { marked, rscript, rString } from '../helpers/r.js';

/**
 * `get cran --file-in` (issue "Mirror what you need", section 1): the snapshot holds the
 * listed packages and exactly the dependencies R's own tools::package_dependencies finds,
 * their index records verbatim, on the fixture and on a real index written by
 * tools::write_PACKAGES from the DESCRIPTION files of packages installed on this machine.
 */
let root: string;
let fixture: UpstreamServer;
let manifest: UpstreamManifest;
let real: http.Server;
let realUrl: string;

const SITE_LIBRARY = '/usr/lib/R/site-library';

beforeAll(async () => {
  root = tempDir('airlock-file-in-');
  manifest = await generateUpstream(join(root, 'fixture'), { packages: 14 });
  fixture = await startUpstreamServer({ root: join(root, 'fixture') });
  // Serve the newest snapshot: it has an archive of superseded versions.
  fixture.setToday(manifest.snapshots.at(-1)!.date);
  // A real index: each installed package's DESCRIPTION in <pkg>/DESCRIPTION of a tarball, then R's write_PACKAGES.
  const contrib = join(root, 'real', 'src', 'contrib');
  fs.mkdirSync(contrib, { recursive: true });
  for (const name of fs.readdirSync(SITE_LIBRARY)) {
    const description = join(SITE_LIBRARY, name, 'DESCRIPTION');
    if (!fs.existsSync(description)) continue;
    const version = parseDcf(fs.readFileSync(description, 'latin1'), description)[0]?.get('Version');
    const stage = join(root, 'stage', name);
    fs.mkdirSync(stage, { recursive: true });
    fs.copyFileSync(description, join(stage, 'DESCRIPTION'));
    execFileSync('tar', ['-czf', join(contrib, `${name}_${version}.tar.gz`), '-C', join(root, 'stage'), name]);
  }
  await rscript(`tools::write_PACKAGES(${rString(contrib)}, type = "source")`);
  real = http.createServer((req, res) => {
    const file = join(root, 'real', decodeURIComponent((req.url ?? '/').replace(/^\/cran/, '')));
    if (!file.startsWith(join(root, 'real')) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Length', fs.statSync(file).size);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve));
  realUrl = `http://127.0.0.1:${(real.address() as AddressInfo).port}/cran`;
}, 120_000);

afterAll(async () => {
  await fixture?.close();
  await new Promise((resolve) => real?.close(resolve));
  fs.rmSync(root, { recursive: true, force: true });
});

function mirrorArgs(dest: string, base: string): string[] {
  return ['get', 'cran', '--destination', dest, '--base-url', base, '--source-type', 'cran-mirror', '--sysreqs-url', `${fixture.url}/sysreqs`];
}

/** What R installs for `wanted`: the packages and their recursive hard dependencies that the index has. */
async function rClosure(contribUrl: string, wanted: string[]): Promise<string[]> {
  const out = await rscript(`
    db <- available.packages(contriburl = ${rString(contribUrl)})
    wanted <- c(${wanted.map(rString).join(', ')})
    deps <- tools::package_dependencies(wanted, db = db, recursive = TRUE, which = c("Depends", "Imports", "LinkingTo"))
    for (p in sort(intersect(unique(c(wanted, unlist(deps))), rownames(db)))) cat("PKG", p, "\\n")
  `);
  return marked(out, 'PKG').map((l) => l.trim());
}

function indexIn(dest: string): { names: string[]; text: string } {
  const text = fs.readFileSync(join(dest, 'current', 'v3', 'src', 'contrib', 'PACKAGES'), 'latin1');
  return { names: parseDcf(text, 'PACKAGES').map((r) => r.get('Package')!).sort(), text };
}

function recordsOf(text: string): string[] {
  return text.split(/\n\s*\n/).map((r) => r.trim()).filter((r) => r !== '');
}

describe('get cran --file-in', () => {
  it('selects the listed packages and exactly the dependencies R finds, records verbatim, on the fixture', async () => {
    const latest = manifest.snapshots.at(-1)!;
    const hub = [...latest.packages].sort((a, b) => b.imports.length - a.imports.length)[0]!;
    const leaf = latest.packages.find((p) => p.imports.length === 0 && p.depends.every((d) => d.startsWith('R ')) && p.name !== hub.name)!;
    const list = join(root, 'fixture-list.txt');
    fs.writeFileSync(list, `# what our projects use\n${hub.name}\n\n${leaf.name}  # and this\n`);
    const dest = join(root, 'fixture-repo');
    const run = await airlockRun([...mirrorArgs(dest, `${fixture.url}/cran`), '--file-in', list]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`selected \\d+ packages from ${list} \\(package list, 2 packages\\): 2 listed`));
    const expected = await rClosure(`${fixture.url}/cran/src/contrib`, [hub.name, leaf.name]);
    expect(expected.length).toBeGreaterThan(2);
    expect(expected.length).toBeLessThan(latest.packages.length);
    const { names, text } = indexIn(dest);
    expect(names).toEqual(expected);
    const upstream = recordsOf(await (await fetch(`${fixture.url}/cran/src/contrib/PACKAGES`)).text());
    for (const record of recordsOf(text)) expect(upstream).toContain(record);
    const archives = fs.readdirSync(join(dest, 'current', 'v3', 'src', 'contrib')).filter((f) => f.endsWith('.tar.gz'));
    expect(archives.map((f) => f.split('_')[0]).sort()).toEqual(expected);
    // R sees exactly the subset, and installs from it with nothing else reachable (a package
    // with the fewest imports: compiling the whole closure would only make the test slow).
    const small = latest.packages.filter((p) => p.imports.length > 0 && expected.includes(p.name)).sort((a, b) => a.imports.length - b.imports.length)[0]!;
    const lib = join(root, 'lib-fixture');
    fs.mkdirSync(lib);
    const repos = `file://${join(dest, 'current', 'v3')}`;
    const out = await rscript(`
      ap <- available.packages(repos = ${rString(repos)}, type = "source")
      cat("SEEN", sort(rownames(ap)), "\\n")
      install.packages(${rString(small.name)}, lib = ${rString(lib)}, repos = ${rString(repos)}, type = "source", quiet = TRUE)
      cat("LOADED", requireNamespace(${rString(small.name)}, lib.loc = ${rString(lib)}, quietly = TRUE), "\\n")
    `);
    expect(marked(out, 'SEEN')[0]!.trim().split(' ')).toEqual(expected);
    expect(marked(out, 'LOADED')[0]!.trim()).toBe('TRUE');
  });

  it('on a real index written by tools::write_PACKAGES: desc and futile.logger, as R resolves them; --dryrun --verbose says why', async () => {
    const list = join(root, 'real-list.txt');
    fs.writeFileSync(list, 'desc\nfutile.logger\n');
    const dest = join(root, 'real-repo');
    const dry = await airlockRun([...mirrorArgs(dest, realUrl), '--file-in', list, '--dryrun', '--verbose']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^ {2}desc \S+: listed$/m);
    expect(dry.stdout).toMatch(/^ {2}R6 \S+: needed by desc$/m);
    expect(dry.stdout).toMatch(/^ {2}lambda\.r \S+: needed by futile\.logger$/m);
    expect(dry.stdout).toMatch(/dry run: would fetch/);
    expect(fs.existsSync(join(dest, 'snapshots'))).toBe(false);
    const json = await airlockRunJson<{ selection: { packages: { name: string }[] } }>([...mirrorArgs(dest, realUrl), '--file-in', list, '--json']);
    const expected = await rClosure(`${realUrl}/src/contrib`, ['desc', 'futile.logger']);
    expect(expected).toEqual(expect.arrayContaining(['desc', 'cli', 'R6', 'rprojroot', 'futile.logger', 'lambda.r', 'futile.options']));
    expect(json.selection.packages.map((p) => p.name).sort()).toEqual([...expected].sort());
    expect(indexIn(dest).names).toEqual([...expected].sort());
  });

  it('a dependency no index satisfies stops the run before anything is recorded, naming the chain (exit 3)', async () => {
    const description = join(root, 'DESCRIPTION');
    fs.writeFileSync(description, 'Package: ourtool\nVersion: 0.1\nImports: futile.logger, desc (>= 99.0)\n');
    const dest = join(root, 'refused-repo');
    const run = await airlockRun([...mirrorArgs(dest, realUrl), '--file-in', description]);
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/\[DEPENDENCY_UNSATISFIED\]: desc \(>= 99\.0\): .*PACKAGES has \d/);
    expect(fs.existsSync(join(dest, 'snapshots'))).toBe(false);
    fs.writeFileSync(description, 'Package: ourtool\nVersion: 0.1\nImports: futile.logger,\n  nosuchpkg (>= 1.0)\n');
    const missing = await airlockRun([...mirrorArgs(dest, realUrl), '--file-in', description]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toMatch(/nosuchpkg \(>= 1\.0\): not in /);
    expect(missing.stdout).toBe('');
  });

  it('an renv.lock pins versions: one no longer current comes from the CRAN archive, checked by its DESCRIPTION', async () => {
    const latest = manifest.snapshots.at(-1)!;
    const archived = latest.archived[0]!;
    const current = latest.packages.find((p) => p.name === archived.name);
    const plain = latest.packages.find((p) => p.imports.length === 0 && p.name !== archived.name)!;
    const lock = join(root, 'renv.lock');
    fs.writeFileSync(
      lock,
      JSON.stringify({
        R: { Version: '4.4.1', Repositories: [{ Name: 'CRAN', URL: 'https://cran.example' }] },
        Packages: {
          [archived.name]: { Package: archived.name, Version: archived.version, Source: 'Repository', Repository: 'CRAN' },
          [plain.name]: { Package: plain.name, Version: plain.version, Source: 'Repository', Repository: 'CRAN' },
          mytool: { Package: 'mytool', Version: '1.0.0', Source: 'GitHub', RemoteUsername: 'someone' },
        },
      }),
    );
    const dest = join(root, 'renv-repo');
    const run = await airlockRun([...mirrorArgs(dest, `${fixture.url}/cran`), '--file-in', lock]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`(renv.lock, 2 packages)`);
    expect(run.stdout).toMatch(/mytool 1\.0\.0 comes from GitHub/);
    const file = join(dest, 'current', 'v3', 'src', 'contrib', 'Archive', archived.name, `${archived.name}_${archived.version}.tar.gz`);
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.statSync(file).size).toBe(archived.size);
    // The archived version is not in the index (R finds it in the archive); the current one is not fetched.
    expect(indexIn(dest).names).not.toContain(archived.name);
    expect(indexIn(dest).names).toContain(plain.name);
    expect(fs.existsSync(join(dest, 'current', 'v3', 'src', 'contrib', `${plain.name}_${plain.version}.tar.gz`))).toBe(true);
    if (current) expect(fs.existsSync(join(dest, 'current', 'v3', 'src', 'contrib', `${current.name}_${current.version}.tar.gz`))).toBe(false);
  });

  it('hostile: an archived file whose DESCRIPTION names another version, or that is not a tarball, is refused and nothing is recorded', async () => {
    const archive = join(root, 'real', 'src', 'contrib', 'Archive', 'desc');
    fs.mkdirSync(archive, { recursive: true });
    const stage = join(root, 'liar');
    fs.mkdirSync(join(stage, 'desc'), { recursive: true });
    fs.writeFileSync(join(stage, 'desc', 'DESCRIPTION'), 'Package: desc\nVersion: 9.9.9\n');
    execFileSync('tar', ['-czf', join(archive, 'desc_1.0.0.tar.gz'), '-C', stage, 'desc']);
    fs.writeFileSync(join(archive, 'desc_1.0.1.tar.gz'), '<html>not found</html>');
    for (const [version, why] of [['1.0.0', /is desc 9\.9\.9 by its DESCRIPTION, not desc 1\.0\.0/], ['1.0.1', /is not a gzip tar archive/]] as const) {
      const lock = join(root, `liar-${version}.lock`);
      fs.writeFileSync(lock, JSON.stringify({ R: { Version: '4.4.1' }, Packages: { desc: { Package: 'desc', Version: version, Source: 'Repository' } } }));
      const dest = join(root, `liar-repo-${version}`);
      const run = await airlockRun([...mirrorArgs(dest, realUrl), '--file-in', lock, '--retries', '0']);
      expect(run.status, run.stderr).toBe(3);
      expect(run.stderr).toMatch(why);
      // The repository was made for the download, but holds no snapshot and no tree.
      const list = await airlockRunJson<{ snapshots: unknown[] }>(['snapshot', 'list', '--repo', dest, '--json']);
      expect(list.snapshots).toEqual([]);
      expect(fs.existsSync(join(dest, 'current'))).toBe(false);
    }
  });
});

describe('get cran --include-archive', () => {
  it('fetches every archived version Meta/archive.rds lists, each checked; remotes::install_version installs an old one from the result; a re-run fetches none again', async () => {
    const latest = manifest.snapshots.at(-1)!;
    expect(latest.archived.length).toBeGreaterThan(0);
    const dest = join(root, 'archive-repo');
    const run = await airlockRunJson<{ downloaded: { files: number } }>([...mirrorArgs(dest, `${fixture.url}/cran`), '--include-archive', '--json']);
    const contrib = join(dest, 'current', 'v3', 'src', 'contrib');
    for (const a of latest.archived) {
      const file = join(contrib, a.file);
      expect(fs.statSync(file).size, a.file).toBe(a.size);
    }
    expect(fs.existsSync(join(contrib, 'Meta', 'archive.rds'))).toBe(true);
    expect(run.downloaded.files).toBeGreaterThanOrEqual(latest.packages.length + latest.archived.length);
    const old = latest.archived.find((a) => { const p = latest.packages.find((x) => x.name === a.name)!; return p.imports.length === 0; }) ?? latest.archived[0]!;
    const lib = join(root, 'lib-archive');
    fs.mkdirSync(lib);
    const out = await rscript(`
      .libPaths(c(${rString(lib)}, .libPaths()))
      options(repos = c(CRAN = ${rString(`file://${join(dest, 'current', 'v3')}`)}))
      remotes::install_version(${rString(old.name)}, version = ${rString(old.version)}, lib = ${rString(lib)}, upgrade = "never", quiet = TRUE, dependencies = FALSE)
      cat("VERSION", as.character(packageVersion(${rString(old.name)}, lib.loc = ${rString(lib)})), "\\n")
    `);
    expect(marked(out, 'VERSION')[0]!.trim()).toBe(old.version);
    fixture.clearRequests();
    const again = await airlockRun([...mirrorArgs(dest, `${fixture.url}/cran`), '--include-archive']);
    expect(again.status, again.stderr).toBe(0);
    expect(fixture.requests().filter((r) => r.path.includes('/Archive/'))).toEqual([]);
  });

  it('with --file-in, only the archive of the selected packages, and a listing of just those', async () => {
    const latest = manifest.snapshots.at(-1)!;
    const archivedPkg = latest.archived[0]!.name;
    const list = join(root, 'archive-list.txt');
    fs.writeFileSync(list, `${archivedPkg}\n`);
    const dest = join(root, 'archive-subset');
    const run = await airlockRun([...mirrorArgs(dest, `${fixture.url}/cran`), '--include-archive', '--file-in', list]);
    expect(run.status, run.stderr).toBe(0);
    const selected = indexIn(dest).names;
    expect(selected).toEqual(await rClosure(`${fixture.url}/cran/src/contrib`, [archivedPkg]));
    expect(latest.archived.some((a) => !selected.includes(a.name))).toBe(true); // so the subset is a real cut
    const archiveDir = join(dest, 'current', 'v3', 'src', 'contrib', 'Archive');
    const held = fs.readdirSync(archiveDir).sort();
    expect(held).toEqual([...new Set(latest.archived.filter((a) => selected.includes(a.name)).map((a) => a.name))].sort());
    const out = await rscript(`a <- readRDS(${rString(join(dest, 'current', 'v3', 'src', 'contrib', 'Meta', 'archive.rds'))}); cat("NAMES", sort(names(a)), "\\n")`);
    expect(marked(out, 'NAMES')[0]!.trim().split(' ')).toEqual(held);
  });
});


describe('get bioconductor --file-in', () => {
  it("selects over BiocManager's repositories and CRAN as R does; the CRAN dependencies join the snapshot's CRAN part, which R installs from with nothing else reachable", async () => {
    const release = manifest.bioc.release;
    const dest = join(root, 'bioc-repo');
    // A CRAN part made earlier from a short list: the Bioconductor selection adds to it, never shrinks it.
    const cranList = join(root, 'cran-first.txt');
    const leaf = manifest.snapshots.at(-1)!.packages.find((p) => p.imports.length === 0)!;
    fs.writeFileSync(cranList, `${leaf.name}\n`);
    const first = await airlockRun([...mirrorArgs(dest, `${fixture.url}/cran`), '--file-in', cranList]);
    expect(first.status, first.stderr).toBe(0);
    const list = join(root, 'bioc-list.txt');
    fs.writeFileSync(list, 'PeakFinder\nrnaseqWorkflow\n');
    const run = await airlockRun(['get', 'bioconductor', '--destination', dest, '--base-url', `${fixture.url}/bioc`, '--versions', 'release', '--sysreqs-url', `${fixture.url}/sysreqs`, '--cran-url', `${fixture.url}/cran`, '--file-in', list]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/CRAN packages? the selection needs (is|are) added to the snapshot's CRAN part/);
    const biocRepos = ['bioc', 'data/annotation', 'data/experiment', 'workflows', 'books'].map((r) => `${fixture.url}/bioc/packages/${release}/${r}`);
    const out = await rscript(`
      repos <- c(${biocRepos.map(rString).join(', ')}, ${rString(`${fixture.url}/cran`)})
      db <- available.packages(repos = repos, type = "source")
      deps <- tools::package_dependencies(c("PeakFinder", "rnaseqWorkflow"), db = db, recursive = TRUE, which = c("Depends", "Imports", "LinkingTo"))
      for (p in sort(intersect(unique(c("PeakFinder", "rnaseqWorkflow", unlist(deps))), rownames(db)))) cat("PKG", p, db[p, "Repository"], "\\n")
    `);
    const expected = marked(out, 'PKG').map((l) => l.trim().split(' ') as [string, string]);
    const cranExpected = expected.filter(([, repo]) => repo.includes('/cran/')).map(([name]) => name);
    const biocExpected = expected.filter(([, repo]) => !repo.includes('/cran/')).map(([name]) => name);
    expect(cranExpected.length).toBeGreaterThan(0);
    const current = join(dest, 'current');
    const names = (dir: string) => parseDcf(fs.readFileSync(join(current, dir, 'PACKAGES'), 'latin1'), dir).map((r) => r.get('Package')!);
    const biocHeld = ['bioc', 'data/annotation', 'data/experiment', 'workflows', 'books'].flatMap((r) => (fs.existsSync(join(current, 'bioc', 'v3', release, r, 'src', 'contrib', 'PACKAGES')) ? names(`bioc/v3/${release}/${r}/src/contrib`) : []));
    expect(biocHeld.sort()).toEqual([...biocExpected].sort());
    expect(names('v3/src/contrib').sort()).toEqual([...new Set([leaf.name, ...cranExpected])].sort());
    const lib = join(root, 'lib-bioc');
    fs.mkdirSync(lib);
    const local = ['bioc', 'workflows'].map((r) => `file://${join(current, 'bioc', 'v3', release, r)}`);
    const installed = await rscript(`
      install.packages("PeakFinder", lib = ${rString(lib)}, repos = c(${local.map(rString).join(', ')}, ${rString(`file://${join(current, 'v3')}`)}), type = "source", quiet = TRUE)
      cat("LOADED", requireNamespace("PeakFinder", lib.loc = ${rString(lib)}, quietly = TRUE), "\\n")
    `);
    expect(marked(installed, 'LOADED')[0]!.trim()).toBe('TRUE');
  });
});

describe('done when (issue "Mirror what you need")', () => {
  it('a list against a plain mirror with no other host: one get, the bundle carried across and applied, R installs both; a longer list later fetches only what is new, and its delta carries just that; with --include-archive, install_version gets an old version', async () => {
    const latest = manifest.snapshots.at(-1)!;
    const withImports = latest.packages.filter((p) => p.imports.length > 0).sort((a, b) => a.imports.length - b.imports.length);
    // b has an archived version: --include-archive must bring it.
    const [a, b] = [withImports[0]!, latest.packages.find((p) => p.name === latest.archived.find((x) => x.name !== withImports[0]!.name)!.name)!];
    const list = join(root, 'done-list.txt');
    fs.writeFileSync(list, `${a.name}\n${b.name}\n`);
    const dest = join(root, 'done-repo');
    const get = (...extra: string[]) => airlockRun(['get', 'cran', '--destination', dest, '--base-url', `${fixture.url}/cran`, '--source-type', 'cran-mirror', '--sysreqs-url', 'none', '--file-in', list, ...extra]);
    fixture.clearRequests();
    const first = await get('--label', 'one', '--include-archive');
    expect(first.status, first.stderr).toBe(0);
    expect(fixture.requests().every((r) => r.path.startsWith('/cran/'))).toBe(true);
    const full = join(root, 'done-full.airlock');
    await airlockRunOk(['bundle', 'create', '--repo', dest, '--snapshot', 'one', '--output', full]);
    const dataDir = join(root, 'done-offline', 'rspm-offline-data');
    fs.mkdirSync(join(root, 'done-offline'));
    await airlockRunOk(['apply', full, '--data-dir', dataDir]);
    const lib = join(root, 'lib-done');
    fs.mkdirSync(lib);
    const repos = `file://${join(dataDir, 'v3')}`;
    const out = await rscript(`
      install.packages(c(${rString(a.name)}, ${rString(b.name)}), lib = ${rString(lib)}, repos = ${rString(repos)}, type = "source", quiet = TRUE)
      cat("LOADED", sapply(c(${rString(a.name)}, ${rString(b.name)}), requireNamespace, lib.loc = ${rString(lib)}, quietly = TRUE), "\\n")
    `);
    expect(marked(out, 'LOADED')[0]!.trim()).toBe('TRUE TRUE');
    const old = latest.archived.find((x) => x.name === b.name)!;
    {
      const lib2 = join(root, 'lib-done-old');
      fs.mkdirSync(lib2);
      const installed = await rscript(`
        .libPaths(c(${rString(lib2)}, ${rString(lib)}, .libPaths()))
        options(repos = c(CRAN = ${rString(repos)}))
        remotes::install_version(${rString(old.name)}, version = ${rString(old.version)}, lib = ${rString(lib2)}, upgrade = "never", quiet = TRUE, dependencies = FALSE)
        cat("VERSION", as.character(packageVersion(${rString(old.name)}, lib.loc = ${rString(lib2)})), "\\n")
      `);
      expect(marked(installed, 'VERSION')[0]!.trim()).toBe(old.version);
    }
    // A longer list: only the new package and what it newly needs are fetched and carried.
    const before = new Set(indexIn(dest).names);
    const added = latest.packages.filter((p) => !before.has(p.name)).sort((x, y) => y.imports.length - x.imports.length)[0]!;
    fs.appendFileSync(list, `${added.name}\n`);
    const second = await airlockRunJson<{ downloaded: { files: number } }>(['get', 'cran', '--destination', dest, '--base-url', `${fixture.url}/cran`, '--source-type', 'cran-mirror', '--sysreqs-url', 'none', '--file-in', list, '--include-archive', '--label', 'two', '--json']);
    const now = indexIn(dest).names;
    expect(now).toEqual(await rClosure(`${fixture.url}/cran/src/contrib`, [a.name, b.name, added.name]));
    const fresh = now.filter((n) => !before.has(n));
    expect(fresh).toContain(added.name);
    const freshArchived = latest.archived.filter((x) => fresh.includes(x.name)).length;
    expect(second.downloaded.files).toBe(fresh.length + freshArchived);
    const delta = join(root, 'done-delta.airlock');
    await airlockRunOk(['bundle', 'create', '--repo', dest, '--snapshot', 'two', '--starting-snapshot', 'one', '--output', delta]);
    const inspect = await airlockRunJson<{ changes: { packages: { kind: string; name: string }[] } }>(['bundle', 'inspect', delta, '--json']);
    expect(inspect.changes.packages.filter((p) => p.kind === 'added').map((p) => p.name).sort()).toEqual([...fresh].sort());
    expect(inspect.changes.packages.filter((p) => p.kind !== 'added')).toEqual([]);
  });
});
