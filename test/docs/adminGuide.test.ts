import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/cli.js';
import { readGuideBlocks, type GuideBlock, type GuideCommand, type Host } from './guideBlocks.js';
import type { UpstreamManifest } from '../../fixtures/upstream/universe.js';

/**
 * The admin guide, run. Every `sh` block of docs/admin-guide.md runs in order, with bash,
 * on the host it names, against the fixture upstream, so the guide cannot drift from the
 * tool. Each host is a folder of its own under one temporary root: the absolute paths the
 * guide uses (/srv, /var/lib, /opt, /usr/local, /root, /etc) are rewritten into that host's
 * folder, and /media/usb, the drive, is one folder all hosts share.
 *
 * The online host runs the checkout's airlock, pointed at the fixture upstream through
 * AIRLOCK_CRAN_URL and friends (docs/sources.md), so the guide's `get` commands run as
 * written. The air-gapped hosts have only what the guide carries over on the drive: their
 * PATH holds node, coreutils and whatever the guide installs into /usr/local/bin (the
 * release), HOME is empty and npm is offline; they never see the checkout.
 *
 * One substitution: `npm run release` runs the compiled release script directly, because
 * `npm test` has already compiled and recompiling under running tests would swap files
 * beneath them.
 */

const GUIDE = join(projectRoot, 'docs', 'admin-guide.md');
const SERVER_ACCOUNT = 'rstudio-pm';
const HOST_PREFIXES = ['/srv', '/var/lib', '/opt', '/usr/local', '/root', '/etc'];

let root: string;
let upstream: ChildProcess | undefined;
let url: string;

function hostRoot(host: Host): string {
  return join(root, host);
}

/** The guide's absolute paths, moved into the host's folder (the drive into the shared one). */
function rewritePaths(text: string, host: Host): string {
  let out = text.replace(/(^|[\s='":])\/media\/usb\b/g, `$1${root}/media/usb`);
  for (const prefix of HOST_PREFIXES) {
    out = out.replace(new RegExp(`(^|[\\s='":])${prefix.replace(/\//g, '\\/')}(?=[/\\s'"]|$)`, 'g'), `$1${hostRoot(host)}${prefix}`);
  }
  return out;
}

function toShell(command: GuideCommand, host: Host): string {
  let text = rewritePaths(command.text, host);
  text = text.replace(/\bnpm run release\b/, `node ${join(projectRoot, 'dist', 'scripts', 'release.js')} --output release`);
  if (command.exit === 0) return text;
  // A command the guide says fails: it must fail with exactly that status.
  return `set +e\n${text}\nstatus=$?\nset -e\nif [ "$status" -ne ${command.exit} ]; then echo "expected exit ${command.exit}, got $status" >&2; exit 99; fi`;
}

function hostEnv(host: Host): Record<string, string> {
  const home = join(hostRoot(host), 'root');
  if (host === 'online') {
    return {
      PATH: `${join(root, 'online-tools')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      AIRLOCK_CRAN_URL: `${url}/ppm`,
      AIRLOCK_BIOCONDUCTOR_URL: `${url}/bioc`,
      AIRLOCK_SYSREQS_URL: `${url}/sysreqs`,
    };
  }
  return { PATH: `${join(hostRoot(host), 'usr', 'local', 'bin')}:${join(root, 'node-only')}:/usr/bin:/bin`, HOME: home, npm_config_offline: 'true' };
}

function hostCwd(host: Host): string {
  // Online, the guide's commands run in the airlock source folder (where `npm run release` writes).
  return host === 'online' ? join(root, 'online', 'airlock-source') : join(hostRoot(host), 'root');
}

function runBlock(block: GuideBlock): void {
  const script = ['set -euo pipefail', ...block.commands.map((c) => toShell(c, block.host))].join('\n');
  const run = spawnSync('bash', ['-c', script], { cwd: hostCwd(block.host), env: hostEnv(block.host), encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) {
    throw new Error(
      `admin guide line ${block.line} (${block.section}, ${block.host} host) exited ${run.status ?? run.signal}:\n` +
        `${block.commands.map((c) => `  $ ${c.text}`).join('\n')}\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`,
    );
  }
}

async function startUpstream(dir: string): Promise<string> {
  upstream = spawn(process.execPath, [join(projectRoot, 'dist', 'fixtures', 'upstream', 'serve.js'), '--root', dir, '--generate'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: upstream.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    upstream!.once('exit', (code) => reject(new Error(`the fixture upstream exited (${code}) before it listened`)));
  });
  return (JSON.parse(first) as { url: string }).url;
}

async function advanceUpstream(): Promise<void> {
  const response = await fetch(`${url}/__control__/today`, { method: 'POST', body: JSON.stringify({ advance: true }) });
  if (!response.ok) throw new Error(`could not advance the fixture upstream: HTTP ${response.status}`);
}

/**
 * The admin's own files the guide's "Only the packages your projects use" reads, made from the
 * fixture's packages: an renv.lock pinning one version the upstream has since archived (the
 * guide runs that section after the upstream moved on) and one current one, a package list, and
 * a list of Bioconductor packages.
 */
function writeProjectFiles(home: string): void {
  const manifest = JSON.parse(fs.readFileSync(join(root, 'upstream', 'universe.json'), 'utf8')) as UpstreamManifest;
  const [, later] = manifest.snapshots;
  const old = later!.archived[0]!;
  const current = later!.packages.find((p) => p.name !== old.name && p.imports.length === 0)!;
  const withImports = later!.packages.find((p) => p.imports.length > 0)!;
  fs.mkdirSync(join(home, 'project'), { recursive: true });
  const pin = (name: string, version: string) => ({ Package: name, Version: version, Source: 'Repository', Repository: 'CRAN' });
  fs.writeFileSync(join(home, 'project', 'renv.lock'), JSON.stringify({ R: { Version: '4.4.1' }, Packages: { [old.name]: pin(old.name, old.version), [current.name]: pin(current.name, current.version) } }, null, 2));
  fs.writeFileSync(join(home, 'packages.txt'), `# what our reports use\n${withImports.name}\n`);
  fs.writeFileSync(join(home, 'bioc-packages.txt'), 'PeakFinder\n');
}

function accountExists(name: string): boolean {
  return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[0] === name);
}

describe('docs/admin-guide.md, run from start to finish', () => {
  const blocks = readGuideBlocks(fs.readFileSync(GUIDE, 'utf8'));

  beforeAll(async () => {
    if (!accountExists(SERVER_ACCOUNT)) {
      throw new Error(`the guide gives --owner ${SERVER_ACCOUNT}:${SERVER_ACCOUNT}, so the account must exist: useradd --system --no-create-home ${SERVER_ACCOUNT} (.ci/run does)`);
    }
    root = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'airlock-guide-')));
    fs.chmodSync(root, 0o755); // as /var/lib is: the server account must be able to reach the data
    for (const host of ['online', 'offline', 'production'] as const) {
      fs.mkdirSync(join(hostRoot(host), 'root'), { recursive: true });
      // What every Linux host has; the guide creates the rest.
      for (const dir of [['var', 'lib'], ['srv'], ['etc']]) fs.mkdirSync(join(hostRoot(host), ...dir), { recursive: true });
    }
    fs.mkdirSync(join(root, 'online', 'airlock-source'), { recursive: true });
    fs.mkdirSync(join(root, 'media', 'usb'), { recursive: true });
    fs.mkdirSync(join(root, 'online-tools'));
    fs.symlinkSync(join(projectRoot, 'bin', 'airlock.js'), join(root, 'online-tools', 'airlock'));
    fs.mkdirSync(join(root, 'node-only'));
    fs.symlinkSync(process.execPath, join(root, 'node-only', 'node'));
    url = await startUpstream(join(root, 'upstream'));
    writeProjectFiles(join(hostRoot('online'), 'root'));
  }, 120_000);

  afterAll(() => {
    upstream?.kill('SIGTERM');
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('has runnable blocks for every host, in the three sections', () => {
    const sections = new Set(blocks.map((b) => b.section));
    for (const s of ['Initial setup', 'Regular updates', 'Upgrading']) expect(sections, `section ${s}`).toContain(s);
    for (const host of ['online', 'offline', 'production'] as const) expect(blocks.some((b) => b.host === host), host).toBe(true);
    expect(blocks.flatMap((b) => b.commands).length).toBeGreaterThan(25);
  });

  it('runs every command of the guide, in order, each on its own host', async () => {
    let advanced = false;
    for (const block of blocks) {
      if (block.section === 'Regular updates' && !advanced) {
        await advanceUpstream(); // a week later: the upstream has moved on
        advanced = true;
      }
      runBlock(block);
    }
    expect(advanced).toBe(true);

    // The air-gapped hosts ran the release the guide installed, not the checkout.
    for (const host of ['offline', 'production'] as const) {
      const installed = fs.realpathSync(join(hostRoot(host), 'usr', 'local', 'bin', 'airlock'));
      expect(installed.startsWith(join(hostRoot(host), 'opt') + '/'), `${host}: airlock is ${installed}`).toBe(true);
    }
    // Production ended up with exactly the snapshot staging handed on.
    const status = (host: Host) => {
      const run = spawnSync('airlock', ['status', '--data-dir', join(hostRoot(host), 'var', 'lib', 'rspm-offline-data'), '--json'], { env: hostEnv(host), encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { status: { current: { id: string } | null } };
    };
    expect(status('production').status.current?.id).toBe(status('offline').status.current?.id);
  }, 900_000);
});
