import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAILPOINTS } from '../../src/fs/failpoint.js';
import { Random } from '../../fixtures/random.js';
import { airlock, airlockBin, airlockJson, airlockOk, type RunResult } from '../helpers/cli.js';
import { readTree, tempDir } from '../helpers/fixtures.js';

// The store's threads even for these small trees (they start only for 5,000 files or more by default),
// and every downloaded body written on them (by default only bodies of 1 MiB or more).
process.env.AIRLOCK_STORE_THREADS_FROM = '0';
process.env.AIRLOCK_STREAM_THREADS_FROM = '0';

/**
 * The promise of apply: whatever kills it (SIGKILL at any moment), the data dir path
 * shows the old tree or the new one, exactly, and the next command finishes or
 * discards the interrupted work. Kills land at every failpoint (named step boundaries)
 * and at spread-out moments in time.
 */

function writeTree(root: string, files: Map<string, Buffer>): void {
  for (const [path, bytes] of files) {
    fs.mkdirSync(dirname(join(root, path)), { recursive: true });
    fs.writeFileSync(join(root, path), bytes);
  }
}

/** About 2,500 files in 50 directories; v2 changes 5%, removes some and adds some. */
function versions(): [Map<string, Buffer>, Map<string, Buffer>] {
  const rng = new Random(42);
  const v1 = new Map<string, Buffer>();
  for (let d = 0; d < 50; d++) for (let f = 0; f < 50; f++) v1.set(`v3/src/contrib/d${d}/pkg${f}_1.0.tar.gz`, rng.bytes(rng.int(10, 3000)));
  v1.set('v3/src/contrib/PACKAGES', Buffer.from('Package: a\nVersion: 1.0\n'.repeat(200)));
  const v2 = new Map(v1);
  let i = 0;
  for (const path of v1.keys()) {
    if (i % 20 === 0) v2.set(path, rng.bytes(rng.int(10, 3000)));
    if (i % 97 === 0) v2.delete(path);
    i++;
  }
  for (let n = 0; n < 40; n++) v2.set(`v3/src/contrib/new/pkg${n}_0.1.tar.gz`, rng.bytes(500));
  return [v1, v2];
}

function sameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): boolean {
  if (actual.size !== expected.size) return false;
  for (const [p, b] of expected) if (!actual.get(p)?.equals(b)) return false;
  return true;
}

function runKilledAfter(args: string[], delayMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [airlockBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

describe('crash: SIGKILL at any moment of apply', { timeout: 600_000 }, () => {
  let v1: Map<string, Buffer>;
  let v2: Map<string, Buffer>;
  let full: string;
  let delta: string;
  let work: string;
  let cleanApplyMs = 0;
  let caseNumber = 0;

  beforeAll(() => {
    [v1, v2] = versions();
    work = tempDir('airlock-crash-');
    const repo = join(work, 'online');
    const t1 = join(work, 't1');
    const t2 = join(work, 't2');
    writeTree(t1, v1);
    writeTree(t2, v2);
    airlockOk(['snapshot', 'create', '--repo', repo, '--from', t1, '--label', 'v1']);
    airlockOk(['snapshot', 'create', '--repo', repo, '--from', t2, '--label', 'v2']);
    full = join(work, 'full.airlock');
    delta = join(work, 'delta.airlock');
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    const probe = freshDataDir();
    const started = Date.now();
    airlockOk(['apply', delta, '--data-dir', probe]);
    cleanApplyMs = Date.now() - started;
  });

  /** A data dir at v1: a `cp -a` of one applied for real (keeps the symlink and the hardlinks). */
  function freshDataDir(): string {
    const template = join(work, 'template');
    if (!fs.existsSync(template)) {
      fs.mkdirSync(template);
      airlockOk(['apply', full, '--data-dir', join(template, 'rspm-offline-data')]);
    }
    const caseDir = join(work, `case-${caseNumber++}`);
    execFileSync('cp', ['-a', template, caseDir]);
    return join(caseDir, 'rspm-offline-data');
  }

  /** The invariant, then recovery by the next command, then a clean re-run. */
  function assertRecovers(dataDir: string, before: Map<string, Buffer> | null, after: Map<string, Buffer>): 'old' | 'new' {
    const visible = readTree(dataDir);
    const shows = sameTree(visible, after) ? 'new' : before === null ? (visible.size === 0 ? 'old' : 'mixed') : sameTree(visible, before) ? 'old' : 'mixed';
    if (shows === 'mixed') throw new Error(`the data dir shows a mixed tree (${visible.size} files)`);
    const status = airlockJson<{ status: { recovered: string[] } }>(['status', '--data-dir', dataDir]);
    expect(Array.isArray(status.status.recovered)).toBe(true);
    const state = `${dataDir}.airlock`;
    expect(fs.existsSync(join(state, 'lock'))).toBe(false);
    expect(fs.existsSync(join(state, 'tmp')) ? fs.readdirSync(join(state, 'tmp')) : []).toEqual([]);
    const deployments = join(state, 'deployments');
    expect(fs.existsSync(deployments) ? fs.readdirSync(deployments).filter((n) => n.startsWith('.tmp-')) : []).toEqual([]);
    expect(fs.readdirSync(dirname(dataDir)).filter((n) => n.includes('airlock-link'))).toEqual([]);
    return shows;
  }

  function finishWithRerun(dataDir: string, bundle: string, after: Map<string, Buffer>): void {
    const rerun = airlock(['apply', bundle, '--data-dir', dataDir]);
    expect(rerun.status === 0 || rerun.stderr.includes('ALREADY_APPLIED'), rerun.stderr).toBe(true);
    expect(sameTree(readTree(dataDir), after)).toBe(true);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
  }

  const applyPoints = FAILPOINTS.filter((p) => p !== 'adopt-between-renames');

  it('survives a kill at every failpoint of a delta apply, at several hits each', () => {
    const reached = new Set<string>();
    for (const point of applyPoints) {
      for (const hit of [1, 3]) {
        const dataDir = freshDataDir();
        const run = airlock(['apply', delta, '--data-dir', dataDir], { AIRLOCK_FAILPOINT: `${point}:${hit}` });
        const killed = run.signal === 'SIGKILL';
        if (killed) reached.add(point);
        else expect(run.status, run.stderr).toBe(0); // the point is hit fewer times than `hit`
        const shows = assertRecovers(dataDir, v1, v2);
        // Before the switch's rename the old tree must show; after it, the new one.
        expect(shows).toBe(!killed || point === 'switch-after-rename' ? 'new' : 'old');
        finishWithRerun(dataDir, delta, v2);
      }
    }
    expect([...reached].sort()).toEqual([...applyPoints].sort());
  });

  it('survives kills at moments spread over the whole apply', async () => {
    expect(cleanApplyMs).toBeGreaterThan(0);
    // Timed again now, under whatever else the machine runs at this moment (the suite runs two
    // files at once), and spread a little past the end, so the last kills land after the switch.
    const probe = freshDataDir();
    const started = Date.now();
    airlockOk(['apply', delta, '--data-dir', probe]);
    const applyMs = Math.max(cleanApplyMs, Date.now() - started);
    const outcomes = { old: 0, new: 0, finished: 0 };
    const kills = 12;
    for (let i = 0; i < kills; i++) {
      const dataDir = freshDataDir();
      const delay = Math.round(((i + 0.5) / kills) * applyMs * 1.4);
      const run = await runKilledAfter(['apply', delta, '--data-dir', dataDir], delay);
      if (run.signal !== 'SIGKILL') {
        expect(run.status, run.stderr).toBe(0);
        outcomes.finished++;
      }
      outcomes[assertRecovers(dataDir, v1, v2)]++;
      finishWithRerun(dataDir, delta, v2);
    }
    // The kills really landed on both sides of the switch.
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.new).toBeGreaterThan(0);
  });

  it('resumes an apply killed while importing: objects already imported are not written again', () => {
    const dataDir = join(work, 'resume', 'rspm-offline-data');
    fs.mkdirSync(dirname(dataDir), { recursive: true });
    // A checkpoint every ~100 kB (about 65 of these objects), so a kill at the 400th import leaves over 300 durable ones.
    const env = { AIRLOCK_APPLY_CHECKPOINT_BYTES: '100000' };
    const killed = airlock(['apply', full, '--data-dir', dataDir], { ...env, AIRLOCK_FAILPOINT: 'apply-staged-object:400' });
    expect(killed.signal).toBe('SIGKILL');
    // What the kill left staged in tmp/ (objects imported since the last checkpoint, spread over its lanes), counted as files.
    const tmp = join(`${dataDir}.airlock`, 'tmp');
    const staged = fs.readdirSync(tmp, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
    expect(staged).toBeGreaterThan(0);
    expect(airlockJson<{ status: { recovered: string[] } }>(['status', '--data-dir', dataDir]).status.recovered).toContain(`removed ${staged} staged files of an interrupted run`);
    expect(assertRecovers(dataDir, null, v1)).toBe('old');
    const resumed = airlockJson<{ applied: { objectsImported: number; objectsAlreadyPresent: number } }>(['apply', full, '--data-dir', dataDir], env);
    expect(resumed.applied.objectsAlreadyPresent).toBeGreaterThanOrEqual(300);
    expect(resumed.applied.objectsAlreadyPresent).toBeLessThan(400);
    expect(resumed.applied.objectsImported + resumed.applied.objectsAlreadyPresent).toBe(new Set([...v1.values()].map((bytes) => bytes.toString('hex'))).size);
    expect(sameTree(readTree(dataDir), v1)).toBe(true);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
  });

  it('survives a kill during the very first apply onto an empty data dir', () => {
    for (const point of ['apply-staged-object', 'deploy-before-rename', 'switch-before-rename', 'switch-after-rename']) {
      const dataDir = join(work, `first-${point}`, 'rspm-offline-data');
      fs.mkdirSync(dirname(dataDir), { recursive: true });
      const run = airlock(['apply', full, '--data-dir', dataDir], { AIRLOCK_FAILPOINT: point });
      expect(run.signal).toBe('SIGKILL');
      expect(assertRecovers(dataDir, null, v1)).toBe(point === 'switch-after-rename' ? 'new' : 'old');
      finishWithRerun(dataDir, full, v1);
    }
  });

  it('survives a kill between the two renames of adopt: the next command finishes the adoption', () => {
    const dataDir = join(work, 'adopt', 'rspm-offline-data');
    writeTree(dataDir, v1);
    const run = airlock(['adopt', '--data-dir', dataDir], { AIRLOCK_FAILPOINT: 'adopt-between-renames' });
    expect(run.signal).toBe('SIGKILL');
    expect(fs.existsSync(dataDir)).toBe(false); // the one moment the path is missing
    const status = airlockJson<{ status: { recovered: string[]; kind: string } }>(['status', '--data-dir', dataDir]);
    expect(status.status.recovered.join(' ')).toMatch(/finished adopting/);
    expect(status.status.kind).toBe('managed');
    expect(sameTree(readTree(dataDir), v1)).toBe(true);
    finishWithRerun(dataDir, delta, v2);
  });
});
