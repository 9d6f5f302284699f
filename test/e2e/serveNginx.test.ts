import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type SourcePackageEntry, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRunJson, projectRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { marked, rscript, rString } from '../helpers/r.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';

/**
 * Several `airlock serve` nodes on shared storage behind a caching reverse proxy: two serve
 * processes on one data dir, nginx in front with the configuration an admin copies
 * (`airlockNginxConf`). Dated URLs are cached (immutable), `latest` is never served stale,
 * binary URLs are cached per User-Agent (Vary), and a stopped node is skipped, with real R
 * installing through the proxy.
 */
const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };
const DATES = ['2026-01-05', '2026-02-02'];
/** R's User-Agent as Package Manager documents it, and another client's. */
const R_AGENT = 'R/4.4.1 R (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)';
const CURL_AGENT = 'curl/8.5.0';

interface AirlockNginxOptions {
  /** What `listen` takes: a port, or ADDRESS:PORT. */
  listen: string | number;
  /** The `airlock serve` nodes, HOST:PORT, all serving the same data dir (shared storage). */
  backends: [string, string];
  /** proxy_cache_path: a directory nginx's workers own, on a local disk. */
  cacheDir: string;
}

/**
 * The nginx configuration for the http context (/etc/nginx/conf.d/airlock.conf), as
 * docs/admin-guide.md gives it (a test below checks the guide shows exactly this). Caching follows what airlock serve says: dated and id URLs are
 * `immutable` for a year and are kept; `latest` is `max-age=0, must-revalidate`, which nginx
 * does not store, so every request for it reaches a node. Binary URLs answer by the client's
 * User-Agent and say `Vary: User-Agent`; nginx (1.7.7 and later) keeps one variant per
 * User-Agent under the same key, so the key need not name it.
 */
function airlockNginxConf(o: AirlockNginxOptions): string {
  return `# airlock serve nodes on shared storage behind a caching reverse proxy.
# In the http context: /etc/nginx/conf.d/airlock.conf

proxy_cache_path ${o.cacheDir} levels=1:2 keys_zone=airlock:50m
                 max_size=100g inactive=30d use_temp_path=off;

# For access_log ... airlock_cache: whether the cache answered, and which node.
log_format airlock_cache '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                         '"$http_user_agent" cache=$upstream_cache_status upstream=$upstream_addr '
                         'upstream_status=$upstream_status time=$request_time';

upstream airlock_serve {
    # A node that refuses or fails is skipped for fail_timeout, then tried again.
    server ${o.backends[0]} max_fails=1 fail_timeout=10s;
    server ${o.backends[1]} max_fails=1 fail_timeout=10s;
    keepalive 16;
    # Below airlock serve's own 5 s, so nginx never reuses a connection the node is closing.
    keepalive_timeout 4s;
}

server {
    listen ${o.listen};
    # server_name packages.example.org;
    server_tokens off;

    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 60s;
    keepalive_timeout 30s;
    client_max_body_size 1k;   # read-only: GET and HEAD

    location / {
        proxy_pass http://airlock_serve;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # The page at / writes its example URLs with the host the client used.
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

        proxy_connect_timeout 3s;
        proxy_send_timeout 30s;
        proxy_read_timeout 60s;
        # A stopped node (connection refused), one that hangs, or a 502/503: the other one.
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 15s;

        proxy_cache airlock;
        # No proxy_cache_valid: only the nodes' Cache-Control decides (dated: a year,
        # latest: not stored; errors say no-store). Vary: User-Agent on /cran/__linux__/
        # keeps one cached variant per User-Agent.
        proxy_cache_key $scheme$proxy_host$request_uri;
        proxy_cache_methods GET HEAD;
        # Many clients asking for the same archive at once: one request to a node.
        proxy_cache_lock on;
        proxy_cache_lock_timeout 30s;
        # An entry past its max-age is revalidated with If-None-Match (the ETag is the
        # content's BLAKE3, the same on every node); kept if both nodes are down.
        proxy_cache_revalidate on;
        proxy_cache_use_stale error timeout http_500 http_502 http_503 http_504;

        add_header X-Cache-Status $upstream_cache_status always;
    }
}
`;
}

/**
 * What only the test adds around it: nginx in the foreground as a child process, with its pid,
 * logs and temp paths in `dir`. As root (CI), workers run as root too, so they can enter the
 * test's 0700 temp dir; as anyone else nginx keeps the current user and needs no `user`.
 */
function harnessConf(dir: string, site: string): string {
  const asRoot = process.getuid?.() === 0;
  return `daemon off;
master_process on;
worker_processes 1;
${asRoot ? 'user root;\n' : ''}pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;

events {
    worker_connections 256;
}

http {
    client_body_temp_path ${dir}/tmp/client_body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;

${site.replace(/^(?=.)/gm, '    ')}
    access_log ${dir}/access.log airlock_cache;
}
`;
}

interface NginxProcess {
  url: string;
  dir: string;
  errorLog: string;
  child: ChildProcess;
  stderr: string[];
  stop(): Promise<number | null>;
}

function nginxBinary(): string {
  for (const candidate of [process.env.NGINX, 'nginx', '/usr/sbin/nginx'].filter((c): c is string => !!c)) {
    const probe = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return candidate;
  }
  throw new Error('nginx is not available (neither $NGINX, nginx on PATH nor /usr/sbin/nginx runs): install nginx-light (apt-get install nginx-light) and run this test again');
}

function requireRscript(): void {
  const probe = spawnSync('Rscript', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`Rscript is not available: install r-base-core (${probe.error?.message ?? probe.stderr})`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startNginx(binary: string, dir: string, backends: [string, string]): Promise<NginxProcess> {
  fs.mkdirSync(join(dir, 'tmp'), { recursive: true });
  const errorLog = join(dir, 'error.log');
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  fs.writeFileSync(conf, harnessConf(dir, airlockNginxConf({ listen: `127.0.0.1:${port}`, backends, cacheDir: join(dir, 'cache') })));
  const test = spawnSync(binary, ['-t', '-p', dir, '-c', conf, '-e', errorLog], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refuses the configuration:\n${test.stderr}\n${fs.readFileSync(conf, 'utf8')}`);
  const child = spawn(binary, ['-p', dir, '-c', conf, '-e', errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString('utf8')));
  child.stdout!.on('data', (c: Buffer) => stderr.push(c.toString('utf8')));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    const log = () => (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited ${child.exitCode ?? child.signalCode} before listening:\n${stderr.join('')}\n${log()}`);
    if (Date.now() > deadline) throw new Error(`nginx did not listen on 127.0.0.1:${port} within 15 s:\n${stderr.join('')}\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    errorLog,
    child,
    stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        // SIGQUIT: graceful shutdown (workers finish what they serve).
        child.kill('SIGQUIT');
      }),
  };
}

let root: string;
let work: string;
let upstream: UpstreamServer | undefined;
let manifest: UpstreamManifest;
let dataDir: string;
let bundles: string[];
let backends: ServeProcess[] = [];
let nginx: NginxProcess | undefined;
/** The backend stopped in the failover test, HOST:PORT. */
let stoppedBackend: string | undefined;

const cranAt = (i: number): SourcePackageEntry[] => manifest.snapshots[i]!.packages;
const versionsAt = (i: number): string[] => cranAt(i).map((p) => `${p.name} ${p.version}`).sort();
const hostOf = (url: string): string => new URL(url).host;

/** `name version` of each stanza of a PACKAGES file. */
function packagesListed(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((stanza) => {
      const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
      const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
      return name && version ? `${name} ${version}` : '';
    })
    .filter((l) => l !== '')
    .sort();
}

/** A package without imports whose version changed between the two snapshots. */
function changedPackage(): { name: string; old: string; now: string } {
  const now = new Map(cranAt(1).map((p) => [p.name, p]));
  const changed = cranAt(0).filter((p) => now.has(p.name) && now.get(p.name)!.version !== p.version && p.imports.length === 0 && now.get(p.name)!.imports.length === 0);
  expect(changed.length, 'the fixture updates a package without imports between the two snapshots').toBeGreaterThan(0);
  const p = changed[0]!;
  return { name: p.name, old: p.version, now: now.get(p.name)!.version };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Access-log lines a backend wrote for GET requests. */
const getsServedBy = (b: ServeProcess): string[] => b.stderr.filter((l) => l.includes('"GET /'));

beforeAll(async () => {
  const binary = nginxBinary();
  requireRscript();
  root = tempDir('airlock-nginx-upstream-');
  work = tempDir('airlock-nginx-');
  manifest = await generateUpstream(root, { snapshots: DATES, distributions: ['jammy'], rVersions: ['4.4'], architectures: ['x86_64'] });
  upstream = await startUpstreamServer({ root });
  const dest = join(work, 'online');
  dataDir = join(work, 'offline', 'rspm-offline-data');
  fs.mkdirSync(join(work, 'offline'));
  bundles = [];
  for (const [i, date] of DATES.entries()) {
    upstream.setToday(date);
    const bundle = join(work, `${date}.airlock`);
    await airlockRunJson(
      [
        'get', 'cran', '--destination', dest, '--base-url', `${upstream.url}/ppm`, '--snapshot', date, '--sysreqs-url', `${upstream.url}/sysreqs`,
        '--label', date, '--bundle', bundle, ...(i > 0 ? ['--starting-snapshot', DATES[i - 1]!] : []),
      ],
      ENV,
    );
    bundles.push(bundle);
  }
  await upstream.close();
  upstream = undefined;
  await airlockRunJson(['apply', bundles[0]!, '--data-dir', dataDir], ENV);
  // Two nodes on the same (shared) data dir.
  backends = [await startServe(dataDir), await startServe(dataDir)];
  nginx = await startNginx(binary, join(work, 'nginx'), [hostOf(backends[0]!.url), hostOf(backends[1]!.url)]);
}, 180_000);

afterAll(async () => {
  await nginx?.stop();
  for (const b of backends) await b.stop();
  await upstream?.close();
  for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('two airlock serve nodes behind nginx', () => {
  it('docs/admin-guide.md shows exactly the configuration this test runs (with example addresses)', () => {
    const doc = fs.readFileSync(join(projectRoot, 'docs', 'admin-guide.md'), 'utf8');
    const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBe(airlockNginxConf({ listen: 80, backends: ['10.0.0.11:8080', '10.0.0.12:8080'], cacheDir: '/var/cache/nginx/airlock' }));
  });

  it('caches a dated archive: the second answer is a HIT with the same bytes and ETag', async () => {
    const p = cranAt(0)[0]!;
    const url = `${nginx!.url}/cran/${DATES[0]}/src/contrib/${p.file}`;
    const first = await get(url);
    const second = await get(url);
    expect([first.status, first.headers.get('x-cache-status')]).toEqual([200, 'MISS']);
    expect([second.status, second.headers.get('x-cache-status')]).toEqual([200, 'HIT']);
    expect(second.body.equals(first.body)).toBe(true);
    expect(first.body.length).toBe(p.size);
    const etag = `"${blake3(first.body).toString('hex')}"`;
    expect([first.headers.get('etag'), second.headers.get('etag')]).toEqual([etag, etag]);
    expect(second.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // What a node answers directly is what the cache holds.
    const direct = await get(`${backends[1]!.url}/cran/${DATES[0]}/src/contrib/${p.file}`);
    expect([direct.body.equals(first.body), direct.headers.get('etag')]).toEqual([true, etag]);
    // Conditional and range requests are answered from the cache.
    const unchanged = await fetch(url, { headers: { 'if-none-match': etag } });
    expect([unchanged.status, unchanged.headers.get('x-cache-status')]).toEqual([304, 'HIT']);
    const part = await get(url, { range: 'bytes=10-19' });
    expect([part.status, part.headers.get('x-cache-status'), part.body.equals(first.body.subarray(10, 20))]).toEqual([206, 'HIT', true]);
  });

  it('keeps one cached variant per User-Agent on binary URLs (nginx honours Vary)', async () => {
    const url = `${nginx!.url}/cran/__linux__/jammy/${DATES[0]}/src/contrib/PACKAGES`;
    const statuses: string[] = [];
    for (const agent of [R_AGENT, R_AGENT, CURL_AGENT, CURL_AGENT, R_AGENT]) {
      const answer = await get(url, { 'user-agent': agent });
      expect([answer.status, answer.headers.get('vary')]).toEqual([200, 'User-Agent']);
      statuses.push(answer.headers.get('x-cache-status')!);
    }
    // Another User-Agent is not given the first one's cached answer.
    expect(statuses).toEqual(['MISS', 'HIT', 'MISS', 'HIT', 'HIT']);
  });

  it('never serves latest stale: after an apply, latest through nginx lists the new versions', async () => {
    const url = `${nginx!.url}/cran/latest/src/contrib/PACKAGES`;
    for (let i = 0; i < 4; i++) {
      const before = await get(url);
      expect(before.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
      expect(before.headers.get('x-cache-status')).not.toBe('HIT');
      expect(packagesListed(before.body.toString('utf8'))).toEqual(versionsAt(0));
    }
    // Round robin: both nodes answered.
    for (const b of backends) expect(getsServedBy(b).some((l) => l.includes('/cran/latest/src/contrib/PACKAGES'))).toBe(true);
    await airlockRunJson(['apply', bundles[1]!, '--data-dir', dataDir], ENV);
    expect(versionsAt(1)).not.toEqual(versionsAt(0));
    for (let i = 0; i < 4; i++) {
      const after = await get(url);
      expect(after.headers.get('x-cache-status')).not.toBe('HIT');
      expect(packagesListed(after.body.toString('utf8'))).toEqual(versionsAt(1));
    }
    // R reads PACKAGES.rds or PACKAGES.gz first: those follow too.
    const out = await rscript(`ap <- available.packages(repos = ${rString(`${nginx!.url}/cran/latest`)}, type = "source"); cat(paste("PKG", ap[, "Package"], ap[, "Version"]), sep = "\\n")`);
    expect(marked(out, 'PKG').sort()).toEqual(versionsAt(1));
    // The dated URL of the first snapshot still answers it, from the cache or not.
    const dated = await get(`${nginx!.url}/cran/${DATES[0]}/src/contrib/PACKAGES`);
    expect(packagesListed(dated.body.toString('utf8'))).toEqual(versionsAt(0));
  });

  it('skips a stopped node: R installs through nginx with one node left', async () => {
    const stopped = backends[1]!;
    stoppedBackend = hostOf(stopped.url);
    expect(await stopped.stop()).toBe(0);
    // Enough requests that round robin tries the stopped node: each still succeeds.
    for (let i = 0; i < 4; i++) {
      const answer = await get(`${nginx!.url}/cran/latest/src/contrib/PACKAGES`);
      expect(answer.status).toBe(200);
    }
    const p = changedPackage();
    const lib = join(work, 'lib');
    fs.mkdirSync(lib);
    const out = await rscript(
      [
        `install.packages(${rString(p.name)}, lib = ${rString(lib)}, repos = ${rString(`${nginx!.url}/cran/latest`)}, type = "source")`,
        `cat("VERSION", as.character(packageVersion(${rString(p.name)}, lib.loc = ${rString(lib)})), "\\n")`,
      ].join('\n'),
    );
    expect(marked(out, 'VERSION')[0]?.trim()).toBe(p.now);
    const log = fs.readFileSync(nginx!.errorLog, 'utf8');
    expect(log, 'nginx tried the stopped node and was refused').toMatch(new RegExp(`connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*upstream: "http://${stoppedBackend.replace(/\./g, '\\.')}/`));
  });

  it('nginx logs no error but the refused connections to the stopped node', () => {
    expect(stoppedBackend).toBeDefined();
    const upstreamIs = `upstream: "http://${stoppedBackend}/`;
    const expected = [/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream/, /\[warn\] .*upstream server temporarily disabled while connecting to upstream/];
    const lines = fs.readFileSync(nginx!.errorLog, 'utf8').split('\n');
    const serious = lines.filter((l) => /\[(warn|error|crit|alert|emerg)\]/.test(l));
    const unexpected = serious.filter((l) => !(l.includes(upstreamIs) && expected.some((re) => re.test(l))));
    expect(unexpected, `unexpected lines in ${nginx!.errorLog}`).toEqual([]);
    expect(serious.length).toBeGreaterThan(0);
  });
});
