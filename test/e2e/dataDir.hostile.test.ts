import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { fingerprint, onlineScenario, readTree, tempDir, type Scenario } from '../helpers/fixtures.js';

/**
 * Paths that are not what they seem (issue "Admin-proof", items 1 and 2): a deployment is
 * never trusted by its name (a stray directory, one thinned by hand, a link planted in its
 * place), and a --data-dir that is not airlock's (a file, someone else's link, a path inside
 * another data dir's live tree) is refused and left exactly as it was.
 */
let s: Scenario;
let full: string;
let delta: string;
let state: string;

beforeEach(async () => {
  s = await onlineScenario(2);
  full = join(s.media, 'full.airlock');
  delta = join(s.media, 'delta.airlock');
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
  state = `${s.dataDir}.airlock`;
}, 60_000);

describe('hostile deployments: never switched to unchecked', () => {
  it('a stray directory named like the snapshot is not the live tree: the deployment is built from the store', () => {
    const stray = join(state, 'deployments', s.ids.v1!);
    fs.mkdirSync(stray, { recursive: true });
    fs.writeFileSync(join(stray, 'planted.txt'), 'not part of any snapshot');
    const out = airlock(['apply', full, '--data-dir', s.dataDir]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/does not match its snapshot/);
    expect(fs.existsSync(join(s.dataDir, 'planted.txt'))).toBe(false);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
  });

  it('a kept deployment thinned by hand is rebuilt before a rollback switches to it', () => {
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    airlockOk(['apply', delta, '--data-dir', s.dataDir]);
    const kept = join(state, 'deployments', s.ids.v1!);
    const victim = [...readTree(kept).keys()].find((p) => p.endsWith('.tar.gz'))!;
    fs.rmSync(join(kept, victim));
    const out = airlock(['rollback', '--data-dir', s.dataDir]);
    expect(out.status, out.stderr).toBe(0);
    expect(fs.existsSync(join(s.dataDir, victim))).toBe(true);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
  });

  it('a link planted as a kept deployment is never followed: --owner does not reach outside, and the live tree is a real directory', () => {
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    airlockOk(['apply', delta, '--data-dir', s.dataDir]);
    const outside = tempDir('airlock-outside-');
    fs.writeFileSync(join(outside, 'precious'), 'someone else\'s file');
    const before = fs.statSync(join(outside, 'precious'));
    const kept = join(state, 'deployments', s.ids.v1!);
    fs.rmSync(kept, { recursive: true, force: true });
    fs.symlinkSync(outside, kept);
    const out = airlock(['rollback', '--data-dir', s.dataDir, '--owner', '65534:65534']);
    expect(out.status, out.stderr).toBe(0);
    const after = fs.statSync(join(outside, 'precious'));
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    expect(fs.readFileSync(join(outside, 'precious'), 'utf8')).toBe('someone else\'s file');
    expect(fs.lstatSync(kept).isDirectory()).toBe(true);
    expect(fs.lstatSync(kept).uid).toBe(65534);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
    fs.rmSync(outside, { recursive: true, force: true });
  });
});

describe('hostile --data-dir: refused, and left as it was', () => {
  it('a regular file is refused (exit 4) and nothing is created beside it', () => {
    fs.writeFileSync(s.dataDir, 'an admin\'s notes');
    const out = airlock(['apply', full, '--data-dir', s.dataDir]);
    expect(out.status).toBe(4);
    expect(out.stderr).toMatch(/NOT_MANAGED/);
    expect(out.stderr).toMatch(/it is a file/);
    expect(fs.readFileSync(s.dataDir, 'utf8')).toBe('an admin\'s notes');
    expect(fs.existsSync(state)).toBe(false);
  });

  it('a link airlock did not make is refused (exit 4) and neither it nor what it points to changes', () => {
    const elsewhere = tempDir('airlock-elsewhere-');
    fs.writeFileSync(join(elsewhere, 'x'), 'x');
    fs.symlinkSync(elsewhere, s.dataDir);
    const before = fingerprint(elsewhere);
    const out = airlock(['apply', full, '--data-dir', s.dataDir]);
    expect(out.status).toBe(4);
    expect(out.stderr).toMatch(/symlink airlock did not make/);
    expect(fs.readlinkSync(s.dataDir)).toBe(elsewhere);
    expect(fingerprint(elsewhere)).toBe(before);
    expect(fs.existsSync(state)).toBe(false);
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  it('a --data-dir inside another data dir\'s live tree is refused (exit 4) and that data dir is untouched', () => {
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    const before = fingerprint(state);
    for (const inner of [join(s.dataDir, 'v3', 'inner-data'), join(state, 'deployments', 'inner-data')]) {
      const out = airlock(['apply', delta, '--data-dir', inner]);
      expect(out.status, inner).toBe(4);
      expect(out.stderr).toMatch(/airlock manages/);
    }
    expect(fingerprint(state)).toBe(before);
    expect(airlockJson<{ status: { current: { id: string } } }>(['status', '--data-dir', s.dataDir]).status.current.id).toBe(s.ids.v1);
  });
});

describe('a refused first apply', () => {
  it('onto a new path leaves nothing behind: no state directory beside it', () => {
    const fresh = join(s.root, 'offline', 'fresh', 'rspm-offline-data');
    fs.mkdirSync(join(fresh, '..'), { recursive: true });
    const out = airlock(['apply', delta, '--data-dir', fresh]);
    expect(out.status).toBe(4);
    expect(out.stderr).toMatch(/BASE_MISMATCH/);
    expect(fs.readdirSync(join(fresh, '..'))).toEqual([]);
  });
});

describe('a tree path longer than the filesystem allows under the data dir', () => {
  /** A snapshot whose one file sits 3,900 bytes deep: valid in a tree, too deep below a long data dir path. */
  function deepBundle(): string {
    const root = tempDir();
    const source = join(root, 'deep');
    const rel = [...Array.from({ length: 15 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(248)}`), 'f'.repeat(135)].join('/');
    expect(Buffer.byteLength(rel)).toBe(3900);
    fs.mkdirSync(join(source, rel, '..'), { recursive: true });
    fs.writeFileSync(join(source, rel), 'deep');
    airlockOk(['snapshot', 'create', '--repo', join(root, 'repo'), '--from', source, '--label', 'deep']);
    const bundle = join(root, 'deep.airlock');
    airlockOk(['bundle', 'create', '--repo', join(root, 'repo'), '--snapshot', 'deep', '--output', bundle]);
    return bundle;
  }

  it('is refused before anything is recorded, with how much shorter the data dir must be; a short data dir takes it', () => {
    const bundle = deepBundle();
    const longDir = join(tempDir(), 'x'.repeat(100), 'rspm-offline-data');
    fs.mkdirSync(join(longDir, '..'));
    airlockOk(['apply', full, '--data-dir', longDir]);
    const before = fingerprint(`${longDir}.airlock`);
    const live = readTree(longDir);
    const refused = airlock(['apply', bundle, '--data-dir', longDir, '--allow-downgrade', '--force-full']);
    expect(refused.status, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('[FILESYSTEM]');
    expect(refused.stderr).toMatch(/holds a path of 3900 bytes, too long to be laid out under/);
    expect(refused.stderr).toMatch(/at least \d+ bytes shorter than/);
    expect(refused.stderr).not.toMatch(/internal error/);
    expect(fingerprint(`${longDir}.airlock`)).toBe(before);
    expect(readTree(longDir)).toEqual(live);
    // A fresh data dir there is refused too, and leaves nothing behind.
    const fresh = join(longDir, '..', 'fresh');
    const refusedFresh = airlock(['apply', bundle, '--data-dir', fresh]);
    expect(refusedFresh.status).toBe(5);
    expect(refusedFresh.stderr).toContain('[FILESYSTEM]');
    expect(fs.existsSync(`${fresh}.airlock`)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(false);
    // Near the root it fits.
    const short = join(fs.mkdtempSync('/tmp/d'), 'd');
    try {
      airlockOk(['apply', bundle, '--data-dir', short]);
      expect([...readTree(short).values()].map(String)).toEqual(['deep']);
    } finally {
      fs.rmSync(join(short, '..'), { recursive: true, force: true });
    }
  });
});
