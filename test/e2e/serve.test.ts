import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type SourcePackageEntry, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRun, airlockRunJson } from '../helpers/cli.js';
import { fingerprint, tempDir } from '../helpers/fixtures.js';
import { marked, rscript, rString } from '../helpers/r.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';

/**
 * `airlock serve` with R itself as the client: three dated CRAN snapshots (with Linux binaries
 * for this host's R and Bioconductor) downloaded from the fixture upstream, carried as a full
 * bundle and two deltas, applied offline; then R, remotes and BiocManager install over HTTP
 * from the served data dir with the URLs they would use against Posit Package Manager.
 */
const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };
const DATES = ['2026-01-05', '2026-02-02', '2026-03-02'];

let root: string;
let work: string;
let upstream: UpstreamServer | undefined;
let manifest: UpstreamManifest;
let dataDir: string;
let bundles: string[];
let serve: ServeProcess;
/** This host's R, major.minor: the binaries are built for it, so R's own User-Agent picks them. */
let rVersion: string;

function hostR(): string {
  const probe = spawnSync('Rscript', ['-e', 'cat(R.version$major, ".", sub("\\\\..*", "", R.version$minor), sep = "")'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`Rscript is not available: install r-base-core, r-cran-remotes and r-cran-biocmanager (${probe.error?.message ?? probe.stderr})`);
  return probe.stdout.trim();
}

const cranAt = (i: number): SourcePackageEntry[] => manifest.snapshots[i]!.packages;
const versionsAt = (i: number): string[] => cranAt(i).map((p) => `${p.name} ${p.version}`).sort();

async function availableAt(repos: string): Promise<string[]> {
  const out = await rscript(`ap <- available.packages(repos = ${rString(repos)}, type = "source"); cat(paste("PKG", ap[, "Package"], ap[, "Version"]), sep = "\\n")`);
  return marked(out, 'PKG').sort();
}

/** A package whose version changed between the first and the last snapshot, with no imports. */
function changedPackage(): { name: string; old: string; now: string } {
  const now = new Map(cranAt(DATES.length - 1).map((p) => [p.name, p]));
  const changed = cranAt(0).filter((p) => now.has(p.name) && now.get(p.name)!.version !== p.version && p.imports.length === 0 && now.get(p.name)!.imports.length === 0);
  expect(changed.length, 'the fixture updates a package without imports between the first and the last snapshot').toBeGreaterThan(0);
  const p = changed[0]!;
  return { name: p.name, old: p.version, now: now.get(p.name)!.version };
}

beforeAll(async () => {
  rVersion = hostR();
  root = tempDir('airlock-serve-upstream-');
  work = tempDir('airlock-serve-');
  // Bioconductor for this R, so BiocManager accepts the version map.
  const major = rVersion.split('.')[0]!;
  const minor = Number(rVersion.split('.')[1]);
  manifest = await generateUpstream(root, {
    snapshots: DATES,
    distributions: ['jammy'],
    rVersions: [rVersion],
    architectures: ['x86_64'],
    // An out-of-date version too: BiocManager refuses a version map without one.
    bioc: { versions: ['3.89', '3.90', '3.91'], release: '3.90', devel: '3.91', rVersionFor: { '3.89': `${major}.${minor - 1}`, '3.90': rVersion, '3.91': `${major}.${minor + 1}` } },
  });
  upstream = await startUpstreamServer({ root });
  const dest = join(work, 'online');
  dataDir = join(work, 'offline', 'rspm-offline-data');
  fs.mkdirSync(join(work, 'offline'));
  bundles = [];
  for (const [i, date] of DATES.entries()) {
    upstream.setToday(date);
    await airlockRunJson(['get', 'bioconductor', '--destination', dest, '--base-url', `${upstream.url}/bioc`, '--versions', 'release', '--sysreqs-url', `${upstream.url}/sysreqs`], ENV);
    const bundle = join(work, `${date}.airlock`);
    await airlockRunJson(
      [
        'get', 'cran', '--destination', dest, '--base-url', `${upstream.url}/ppm`, '--snapshot', date, '--sysreqs-url', `${upstream.url}/sysreqs`,
        '--include-binaries', '--r-versions', rVersion, '--distributions', 'jammy', '--architectures', 'x86_64',
        '--label', date, '--bundle', bundle, ...(i > 0 ? ['--starting-snapshot', DATES[i - 1]!] : []),
      ],
      ENV,
    );
    bundles.push(bundle);
  }
  // From here on everything is read from the data dir: the upstream is gone, as inside the gap.
  await upstream.close();
  upstream = undefined;
  for (const bundle of bundles.slice(0, 2)) await airlockRunJson(['apply', bundle, '--data-dir', dataDir], ENV);
  serve = await startServe(dataDir);
}, 240_000);

afterAll(async () => {
  await serve?.stop();
  await upstream?.close();
  for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('airlock serve: R installs over HTTP from the kept snapshots', () => {
  it('available.packages lists each snapshot by date, latest, label and id', async () => {
    expect(await availableAt(`${serve.url}/cran/latest`)).toEqual(versionsAt(1));
    expect(await availableAt(`${serve.url}/cran/${DATES[0]}`)).toEqual(versionsAt(0));
    // A day between two snapshots names the newest one on or before it.
    expect(await availableAt(`${serve.url}/cran/2026-01-20`)).toEqual(versionsAt(0));
    expect(await availableAt(`${serve.url}/cran/2026-12-31`)).toEqual(versionsAt(1));
    const status = (await airlockRunJson<{ status: { current: { id: string } } }>(['status', '--data-dir', dataDir])).status;
    expect(await availableAt(`${serve.url}/cran/${status.current.id.slice(0, 10)}`)).toEqual(versionsAt(1));
    expect(versionsAt(0)).not.toEqual(versionsAt(1));
  });

  it('install.packages from a dated URL installs the version of that day', async () => {
    const p = changedPackage();
    const lib = join(work, 'lib-dated');
    fs.mkdirSync(lib);
    const out = await rscript(
      [
        `install.packages(${rString(p.name)}, lib = ${rString(lib)}, repos = ${rString(`${serve.url}/cran/${DATES[0]}`)}, type = "source", quiet = TRUE)`,
        `cat("VERSION", as.character(packageVersion(${rString(p.name)}, lib.loc = ${rString(lib)})), "\\n")`,
      ].join('\n'),
    );
    expect(marked(out, 'VERSION')[0]?.trim()).toBe(p.old);
  });

  it('remotes::install_version installs a version that has since been replaced, from the archive of latest', async () => {
    const p = changedPackage();
    const lib = join(work, 'lib-remotes');
    fs.mkdirSync(lib);
    const out = await rscript(
      [
        `remotes::install_version(${rString(p.name)}, ${rString(p.old)}, repos = ${rString(`${serve.url}/cran/latest`)}, lib = ${rString(lib)}, upgrade = "never", quiet = TRUE)`,
        `cat("VERSION", as.character(packageVersion(${rString(p.name)}, lib.loc = ${rString(lib)})), "\\n")`,
      ].join('\n'),
    );
    expect(marked(out, 'VERSION')[0]?.trim()).toBe(p.old);
  });

  it('Meta/archive.rds reads with readRDS as CRAN shapes it: a named list of data frames, row names <pkg>/<pkg>_<ver>.tar.gz', async () => {
    const out = await rscript(
      [
        'con <- gzcon(url(' + rString(`${serve.url}/cran/latest/src/contrib/Meta/archive.rds`) + ', "rb")); a <- readRDS(con); close(con)',
        'cat("CLASS", class(a), "\\n")',
        'for (n in names(a)) { d <- a[[n]]; cat("DF", n, class(d), paste(names(d), collapse = ","), "\\n"); cat(paste("ROW", rownames(d), d$size, format(d$mode), class(d$mtime)[1]), sep = "\\n") }',
      ].join('\n'),
    );
    expect(marked(out, 'CLASS')[0]?.trim()).toBe('list');
    const current = new Set(cranAt(1).map((p) => `${p.name} ${p.version}`));
    const archived = new Map<string, string[]>();
    for (const p of cranAt(0)) if (!current.has(`${p.name} ${p.version}`)) archived.set(p.name, [...(archived.get(p.name) ?? []), `${p.name}/${p.name}_${p.version}.tar.gz`]);
    const frames = marked(out, 'DF').map((l) => l.trim().split(' '));
    expect(frames.map((f) => f[0]).sort()).toEqual([...archived.keys()].sort());
    for (const f of frames) expect(f.slice(1)).toEqual(['data.frame', 'size,isdir,mode,mtime,ctime,atime,uid,gid,uname,grname']);
    const rows = marked(out, 'ROW').map((l) => l.split(' '));
    const sizes = new Map(cranAt(0).map((p) => [`${p.name}/${p.file}`, p.size]));
    expect(rows.map((r) => r[0]).sort()).toEqual([...archived.values()].flat().sort());
    for (const r of rows) expect(r.slice(1)).toEqual([String(sizes.get(r[0]!)), '644', 'POSIXct']);
  });

  it('BiocManager::install installs from the Bioconductor endpoint with no internet', async () => {
    const release = manifest.bioc.release;
    const bioc = manifest.bioc.snapshots[DATES[1]!]![release]!.bioc.filter((p) => p.imports.length === 0);
    expect(bioc.length).toBeGreaterThan(0);
    const target = bioc[0]!;
    const lib = join(work, 'lib-bioc');
    fs.mkdirSync(lib);
    const out = await rscript(
      [
        `options(repos = c(CRAN = ${rString(`${serve.url}/cran/latest`)}), BioC_mirror = ${rString(`${serve.url}/bioconductor/latest`)}, BIOCONDUCTOR_CONFIG_FILE = ${rString(`${serve.url}/bioconductor/latest/config.yaml`)})`,
        `BiocManager::install(${rString(target.name)}, lib = ${rString(lib)}, update = FALSE, ask = FALSE, type = "source")`,
        `cat("VERSION", as.character(packageVersion(${rString(target.name)}, lib.loc = ${rString(lib)})), "\\n")`,
      ].join('\n'),
      { R_BIOC_VERSION: '' },
    );
    expect(marked(out, 'VERSION')[0]?.trim()).toBe(target.version);
  });

  it('gives R, by its own User-Agent, the Linux binary; any other client the source package', async () => {
    const p = cranAt(1)[0]!;
    const dest = join(work, 'downloads');
    fs.mkdirSync(dest);
    // As Package Manager documents it: over libcurl, R sends its User-Agent only when it is set so.
    const userAgent = 'options(HTTPUserAgent = sprintf("R/%s R (%s)", getRversion(), paste(getRversion(), R.version["platform"], R.version["arch"], R.version["os"])))';
    const out = await rscript(`${userAgent}; d <- download.packages(${rString(p.name)}, destdir = ${rString(dest)}, repos = ${rString(`${serve.url}/cran/__linux__/jammy/latest`)}, type = "source", quiet = TRUE); cat("FILE", d[1, 2], "\\n")`);
    const file = marked(out, 'FILE')[0]!.trim();
    const listing = spawnSync('tar', ['tzf', file], { encoding: 'utf8' }).stdout;
    expect(listing).toContain(`${p.name}/BUILD-CONFIG`);
    const plain = await fetch(`${serve.url}/cran/__linux__/jammy/latest/src/contrib/${p.file}`, { headers: { 'user-agent': 'curl/8' } });
    expect(plain.headers.get('vary')).toBe('User-Agent');
    const source = Buffer.from(await plain.arrayBuffer());
    expect(blake3(source).toString('hex')).toBe(plain.headers.get('etag')!.replaceAll('"', ''));
    fs.writeFileSync(join(dest, 'source.tar.gz'), source);
    expect(spawnSync('tar', ['tzf', join(dest, 'source.tar.gz')], { encoding: 'utf8' }).stdout).not.toContain('BUILD-CONFIG');
  });
});

describe('airlock serve: HTTP', () => {
  it('answers HEAD, ranges, ETags (the BLAKE3 of the body) and conditional requests; dated URLs are immutable, latest is not', async () => {
    const p = cranAt(0)[0]!;
    const dated = `${serve.url}/cran/${DATES[0]}/src/contrib/${p.file}`;
    const whole = await fetch(dated);
    expect(whole.status).toBe(200);
    const body = Buffer.from(await whole.arrayBuffer());
    const etag = whole.headers.get('etag')!;
    expect(etag).toBe(`"${blake3(body).toString('hex')}"`);
    expect(whole.headers.get('content-length')).toBe(String(body.length));
    expect(whole.headers.get('content-type')).toBe('application/x-gzip');
    expect(whole.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Date(whole.headers.get('last-modified')!).getTime()).toBeGreaterThan(0);
    const head = await fetch(dated, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), head.headers.get('etag')]).toEqual([200, String(body.length), etag]);
    const part = await fetch(dated, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${body.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(body.subarray(10, 20))).toBe(true);
    const tail = await fetch(dated, { headers: { range: 'bytes=-5' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(body.length - 5))).toBe(true);
    const beyond = await fetch(dated, { headers: { range: `bytes=${body.length}-` } });
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, `bytes */${body.length}`]);
    const unchanged = await fetch(dated, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);
    const latest = await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES`);
    expect(latest.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
    // A date no kept snapshot is newer than may name a newer snapshot after the next apply; the
    // archive follows the kept set: both are revalidated. A date before the newest day is settled.
    const cacheControl = async (path: string) => (await fetch(`${serve.url}${path}`)).headers.get('cache-control');
    expect(await cacheControl(`/cran/${DATES[1]}/src/contrib/PACKAGES`)).toBe('public, max-age=31536000, immutable'); // a label: one tree, ever
    expect(await cacheControl('/cran/2026-12-31/src/contrib/PACKAGES')).toBe('public, max-age=0, must-revalidate');
    expect(await cacheControl('/cran/2026-01-20/src/contrib/PACKAGES')).toBe('public, max-age=31536000, immutable');
    expect(await cacheControl(`/cran/${DATES[0]}/src/contrib/Meta/archive.rds`)).toBe('public, max-age=0, must-revalidate');
    expect(latest.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('serves the sysreqs rules and the config.yaml of Bioconductor of a snapshot, byte for byte', async () => {
    for (const [url, path] of [
      [`/sysreqs/latest/systems.json`, 'sysreqs/systems.json'],
      [`/bioconductor/${DATES[0]}/config.yaml`, 'bioc/v3/config.yaml'],
    ] as const) {
      const answer = await fetch(`${serve.url}${url}`);
      expect(answer.status, url).toBe(200);
      const body = Buffer.from(await answer.arrayBuffer());
      expect(body.equals(fs.readFileSync(join(dataDir, path))), url).toBe(true);
      expect(answer.headers.get('etag')).toBe(`"${blake3(body).toString('hex')}"`);
    }
  });

  it('an unknown snapshot is a 404 that names the kept ones; only GET and HEAD are allowed', async () => {
    const missing = await fetch(`${serve.url}/cran/2025-01-01/src/contrib/PACKAGES`);
    expect(missing.status).toBe(404);
    const text = await missing.text();
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toContain(DATES[0]);
    expect(text).toContain(DATES[1]);
    const post = await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('hostile request targets: traversal, encoded slashes, backslashes, NUL, absolute forms each get 400 or 404 and nothing outside is read', async () => {
    const secret = fs.readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
    const state = fs.readFileSync(join(`${dataDir}.airlock`, 'state.json'), 'utf8');
    const targets = [
      '/cran/latest/src/contrib/../../../../../../etc/passwd',
      '/cran/latest/src/contrib/%2e%2e/%2e%2e/%2e%2e/state.json',
      '/cran/latest/src/contrib/..%2f..%2f..%2fstate.json',
      '/cran/latest/src/contrib/..%5c..%5cstate.json',
      '/cran/latest/src/contrib/..\\..\\state.json',
      '/cran/latest/src/contrib/PACKAGES%00.txt',
      '/cran/%2e%2e/src/contrib/PACKAGES',
      '/sysreqs/latest/../../../../etc/passwd',
      '/bioconductor/latest/packages/../../../etc/passwd',
      'http://127.0.0.1/etc/passwd',
      '//etc/passwd',
      '/etc/passwd',
      '/cran/latest/src/contrib//PACKAGES',
      '/cran/latest/src/contrib/%ff%fe',
    ];
    for (const target of targets) {
      const answer = await rawRequest(serve.url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      expect([400, 404], `${target} -> ${answer.split('\r\n')[0]}`).toContain(status);
      expect(answer).not.toContain(secret);
      expect(answer).not.toContain(state.slice(0, 40));
    }
  });

  it('serves the object the tree names, not what a link planted in a deployment points to', async () => {
    const p = cranAt(1)[0]!;
    const planted = join(fs.realpathSync(dataDir), 'v3', 'src', 'contrib', p.file);
    const original = fs.readFileSync(planted);
    fs.rmSync(planted);
    fs.symlinkSync('/etc/passwd', planted);
    try {
      const answer = await fetch(`${serve.url}/cran/latest/src/contrib/${p.file}`);
      expect(Buffer.from(await answer.arrayBuffer()).equals(original)).toBe(true);
    } finally {
      fs.rmSync(planted);
      fs.writeFileSync(planted, original, { mode: 0o444 });
    }
  });

  it('the page at / lists the kept snapshots, what changed and the lines to paste into R', async () => {
    const page = await fetch(`${serve.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    for (const date of DATES.slice(0, 2)) expect(html).toContain(`<td>${date}</td>`);
    expect(html).toContain(`options(repos = c(CRAN = &quot;${serve.url}/cran/latest&quot;))`);
    expect(html).toContain(`${serve.url}/cran/__linux__/jammy/latest`);
    expect(html).toContain('BiocManager::install');
    const p = changedPackage();
    expect(html).toMatch(new RegExp(`updated ${p.name.replace(/\./g, '\\.')} [^<]*&rarr;`));
    expect(html).not.toMatch(/<script|src="http|href="http/);
  });

  it('the page renders in a real browser (headless Chromium) with the snapshots and the R lines', () => {
    const profile = tempDir('airlock-chromium-');
    try {
      const run = spawnSync(
        'chromium',
        ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `${serve.url}/`],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (run.error) throw new Error(`chromium could not run (${run.error.message}): install Debian's chromium (.ci/run does)`);
      const dom = run.stdout;
      expect(dom).toContain('<table id="snapshots">');
      for (const date of DATES.slice(0, 2)) expect(dom).toContain(`<td>${date}</td>`);
      const rLines = /<pre id="r-lines">([\s\S]*?)<\/pre>/.exec(dom)?.[1] ?? '';
      // As the browser shows it: the text, unescaped.
      expect(rLines).toContain(`options(repos = c(CRAN = "${serve.url}/cran/latest"))`);
      expect(rLines).toContain(`${serve.url}/bioconductor/latest/config.yaml`);
    } finally {
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });

  it('drops a client that sends its headers too slowly, and answers the others meanwhile', async () => {
    const slow = await startServe(dataDir, ['--quiet'], { AIRLOCK_SERVE_HEADERS_TIMEOUT_MS: '1500' });
    try {
      const { hostname, port } = new URL(slow.url);
      const started = Date.now();
      const closed = new Promise<number>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => socket.write('GET /cran/latest/src/contrib/PACKAGES HTTP/1.1\r\nHost: x\r\n'));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        socket.on('error', () => undefined);
      });
      expect((await fetch(`${slow.url}/cran/latest/src/contrib/PACKAGES`)).status).toBe(200);
      const after = await closed;
      expect(after).toBeGreaterThanOrEqual(1400);
      expect(after).toBeLessThan(6000);
    } finally {
      await slow.stop();
    }
  });

  it('never writes to the data dir or its state while answering', async () => {
    const state = `${dataDir}.airlock`;
    const before = fingerprint(state);
    for (const path of ['/', '/cran/latest/src/contrib/PACKAGES', `/cran/${DATES[0]}/src/contrib/Meta/archive.rds`, '/bioconductor/latest/config.yaml', '/cran/nope/src/contrib/PACKAGES']) await (await fetch(`${serve.url}${path}`)).arrayBuffer();
    expect(fingerprint(state)).toBe(before);
  });

  it('writes one access-log line per request in the common log format, with the length each answer declared', async () => {
    const packages = await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES?log=1`);
    const size = (await packages.arrayBuffer()).byteLength;
    const line = await serve.logLine((l) => l.includes('"GET /cran/latest/src/contrib/PACKAGES?log=1 HTTP/1.1" 200'));
    expect(line).toMatch(/^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/cran\/latest\/src\/contrib\/PACKAGES\?log=1 HTTP\/1\.1" 200 \d+$/);
    expect(line.endsWith(` 200 ${size}`)).toBe(true);
    const refusal = await fetch(`${serve.url}/cran/nope/src/contrib/PACKAGES?log=2`);
    const refusalSize = (await refusal.arrayBuffer()).byteLength;
    expect(refusalSize).toBeGreaterThan(0);
    expect(await serve.logLine((l) => l.includes('?log=2 '))).toMatch(new RegExp(`" 404 ${refusalSize}$`));
    // No body: a 304, and a HEAD, log no length.
    await (await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES?log=3`, { headers: { 'If-None-Match': packages.headers.get('etag')! } })).arrayBuffer();
    expect(await serve.logLine((l) => l.includes('?log=3 '))).toMatch(/" 304 -$/);
    await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES?log=4`, { method: 'HEAD' });
    expect(await serve.logLine((l) => l.includes('?log=4 '))).toMatch(/" 200 -$/);
  });
});

describe('airlock serve while the data dir changes', () => {
  it('latest follows an apply and a rollback without a restart, and stops on SIGTERM with exit 0', async () => {
    await airlockRunJson(['apply', bundles[2]!, '--data-dir', dataDir], ENV);
    expect(await availableAt(`${serve.url}/cran/latest`)).toEqual(versionsAt(2));
    expect(await availableAt(`${serve.url}/cran/${DATES[1]}`)).toEqual(versionsAt(1));
    await airlockRunJson(['rollback', '--data-dir', dataDir], ENV);
    expect(await availableAt(`${serve.url}/cran/latest`)).toEqual(versionsAt(1));
    const quiet = await startServe(dataDir, ['--quiet']);
    await fetch(`${quiet.url}/cran/latest/src/contrib/PACKAGES`);
    expect(await quiet.stop()).toBe(0);
    expect(quiet.stderr.filter((l) => l.includes('GET /'))).toEqual([]);
  });

  it('refuses a data dir airlock does not manage, and a port in use, with a clear message', async () => {
    const plain = join(work, 'plain');
    fs.mkdirSync(plain);
    fs.writeFileSync(join(plain, 'x'), 'x');
    const refused = await airlockRun(['serve', '--data-dir', plain, '--listen', '127.0.0.1:0']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/NOT_MANAGED/);
    const port = new URL(serve.url).port;
    const taken = await airlockRun(['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`]);
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/in use/);
  });
});

/** One request written byte for byte (fetch would normalise the path), the raw answer back. */
function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

