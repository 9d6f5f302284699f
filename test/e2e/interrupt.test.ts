import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream } from '../../fixtures/upstream/universe.js';
import { airlockBin, airlockJson, airlockOk, airlockRunJson } from '../helpers/cli.js';
import { fingerprint, onlineScenario, tempDir, type Scenario } from '../helpers/fixtures.js';

// The store's threads even for these small trees (they start only for 5,000 files or more by default),
// and every downloaded body written on them (by default only bodies of 1 MiB or more).
process.env.AIRLOCK_STORE_THREADS_FROM = '0';
process.env.AIRLOCK_STREAM_THREADS_FROM = '0';

/**
 * Ctrl-C and SIGTERM (issue "Admin-proof", item 5): the command stops with 130 or 143 and one
 * line saying what was kept, releases its lock, removes its temp files, keeps what is durable
 * (downloads, imported objects) for the next run, and the live data is as it was.
 */
interface Stopped {
  status: number | null;
  stderr: string;
}

/**
 * Runs airlock, sends `signal` once stderr shows `when` and `ready()` holds (polled), and waits
 * for it to end.
 */
function stopWhen(args: string[], when: RegExp, signal: NodeJS.Signals, env: Record<string, string> = {}, ready: () => boolean = () => true): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [airlockBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    const lines: string[] = [];
    let seen = false;
    let timer: NodeJS.Timeout | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      if (seen || !when.test(line)) return;
      seen = true;
      timer = setInterval(() => {
        if (!ready()) return;
        clearInterval(timer);
        child.kill(signal);
      }, 10);
    });
    child.on('error', reject);
    child.on('close', (status) => {
      clearInterval(timer);
      resolve({ status, stderr: lines.join('\n') });
    });
  });
}

/** Objects in a data dir's store. */
function storedObjects(dataDir: string): number {
  const store = join(`${dataDir}.airlock`, 'objects', 'v1');
  return fs.readdirSync(store).reduce((n, fanout) => n + fs.readdirSync(join(store, fanout)).length, 0);
}

let s: Scenario;

beforeAll(async () => {
  // Large, incompressible packages: writing and importing them takes long enough to be interrupted.
  s = await onlineScenario(2, { packages: 40, payloadMedian: 3_000_000, updateShare: 0.9 });
}, 120_000);

describe('interrupted', () => {
  it('bundle create, by Ctrl-C: exit 130, no bundle and no temp file on the drive, the repository unlocked', async () => {
    const dir = join(s.media, 'interrupted');
    fs.mkdirSync(dir);
    const run = await stopWhen(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(dir, 'full.airlock')], /writing bundle/, 'SIGINT');
    expect(run.status, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/airlock: stopped by SIGINT/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.existsSync(join(s.repo, 'lock'))).toBe(false);
  });

  it('apply, by SIGTERM: exit 143, the data dir as it was and unlocked, the imports kept for the next run', async () => {
    const full = join(s.media, 'full.airlock');
    const delta = join(s.media, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    const live = fingerprint(s.dataDir);
    // Stopped once the first imports were made durable (a checkpoint every ~1 MB), well before the end.
    const before = storedObjects(s.dataDir);
    const run = await stopWhen(['apply', delta, '--data-dir', s.dataDir], /verifying bundle/, 'SIGTERM', { AIRLOCK_APPLY_CHECKPOINT_BYTES: '1000000' }, () => storedObjects(s.dataDir) > before + 2);
    expect(run.status, run.stderr).toBe(143);
    expect(run.stderr).toMatch(/airlock: stopped by SIGTERM; kept the \d+ objects imported so far/);
    expect(fingerprint(s.dataDir)).toBe(live);
    expect(fs.existsSync(join(`${s.dataDir}.airlock`, 'lock'))).toBe(false);
    const kept = Number(/kept the (\d+) objects/.exec(run.stderr)![1]);
    const again = airlockJson<{ applied: { objectsAlreadyPresent: number; to: string } }>(['apply', delta, '--data-dir', s.dataDir]);
    expect(again.applied.to).toBe(s.ids.v2);
    expect(again.applied.objectsAlreadyPresent).toBeGreaterThanOrEqual(kept);
    expect(kept).toBeGreaterThan(0);
  });
});

describe('get interrupted', () => {
  let root: string;
  let upstream: UpstreamServer;

  beforeAll(async () => {
    root = tempDir('airlock-interrupt-get-');
    await generateUpstream(join(root, 'upstream'), { packages: 30 });
    upstream = await startUpstreamServer({ root: join(root, 'upstream') });
  }, 60_000);

  afterAll(async () => {
    await upstream?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('by Ctrl-C while downloading: exit 130, what arrived is kept, and the next run fetches only the rest', async () => {
    const dest = join(root, 'repo');
    // Every archive slow, so the download is under way for a while.
    upstream.setFaults([{ kind: 'slow', match: '.tar.gz', delayMs: 150 }]);
    const args = ['get', 'cran', '--destination', dest, '--base-url', `${upstream.url}/ppm`, '--sysreqs-url', `${upstream.url}/sysreqs`, '--concurrency', '2'];
    const run = await new Promise<Stopped>((resolve, reject) => {
      const child = spawn(process.execPath, [airlockBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      const lines: string[] = [];
      createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
      // Interrupted once several archives have arrived.
      const timer = setInterval(() => {
        if (upstream.requests().filter((r) => r.path.endsWith('.tar.gz') && r.status === 200).length >= 6) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 20);
      child.on('error', reject);
      child.on('close', (status) => {
        clearInterval(timer);
        resolve({ status, stderr: lines.join('\n') });
      });
    });
    expect(run.status, run.stderr).toBe(130);
    const kept = Number(/kept the (\d+) files downloaded so far/.exec(run.stderr)?.[1]);
    expect(kept, run.stderr).toBeGreaterThan(0);
    expect(fs.existsSync(join(dest, 'lock'))).toBe(false);
    upstream.clearFaults();
    // Asynchronously: the upstream runs in this process and must keep answering.
    const again = await airlockRunJson<{ reused: { files: number } }>(args);
    expect(again.reused.files).toBeGreaterThanOrEqual(kept);
  });
});
