import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../fixtures/random.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { fingerprint, readTree, tempDir } from '../helpers/fixtures.js';

/**
 * `airlock prune-schema --keep v3`: the old schema's directories (v2/, bioc/v2/) leave the
 * data dir in a new local snapshot, switched to atomically and undone by `rollback`; the
 * next online bundle still applies, and the pruned snapshot can be exported to production.
 */

/** The seed downloader's tree after a schema upgrade, both schemas side by side; each step updates v3 only. */
function legacyTree(step: number): Map<string, Buffer> {
  const rng = new Random(11);
  const files = new Map<string, Buffer>();
  const text = (s: string) => Buffer.from(s);
  for (let i = 0; i < 15; i++) {
    const archive = rng.bytes(rng.int(2_000, 20_000));
    files.set(`v3/src/contrib/pkg${i}_1.0.tar.gz`, archive);
    if (i < 10) files.set(`v2/src/contrib/pkg${i}_1.0.tar.gz`, archive); // the same archive in both schemas
  }
  files.set('v2/src/contrib/legacy_0.9.tar.gz', rng.bytes(5_000));
  files.set('v2/src/contrib/PACKAGES', text('Package: legacy\nVersion: 0.9\n'));
  files.set('v3/version.txt', text('3\n'));
  files.set('v3/src/contrib/PACKAGES', text(`Package: pkg0\nVersion: 1.0\n\n# step ${step}\n`));
  files.set('bioc/v2/3.18/bioc/src/contrib/PACKAGES', text('Package: BiocOld\nVersion: 1.0\n'));
  files.set('bioc/v2/3.18/bioc/src/contrib/BiocOld_1.0.tar.gz', rng.bytes(8_000));
  files.set('bioc/v3/config.yaml', text('release_version: "3.20"\n'));
  files.set('bioc/v3/3.20/version.json', text('{"version": "3.20"}\n'));
  files.set('bioc/v3/3.20/bioc/src/contrib/PACKAGES', text('Package: BiocNew\nVersion: 2.0\n'));
  files.set('bioc/v3/3.20/bioc/src/contrib/BiocNew_2.0.tar.gz', rng.bytes(9_000));
  files.set('bin/4.4-jammy/src/contrib/PACKAGES', text('Package: pkg0\nVersion: 1.0\n'));
  files.set('bin/4.4-jammy/src/contrib/pkg0_1.0.tar.gz', rng.bytes(7_000));
  files.set('bindex/4.4-jammy.json', text('{"name": "4.4-jammy"}\n'));
  files.set('distros/distributions.json', text('[]\n'));
  files.set('sysreqs/systems.json', text('{}\n'));
  files.set('sysreqs/rules/libxml2.json', text('{"patterns": ["xml2"]}\n'));
  for (let s = 2; s <= step; s++) files.set(`v3/src/contrib/new${s}_1.0.tar.gz`, new Random(100 + s).bytes(6_000));
  return files;
}

function writeTree(root: string, files: Map<string, Buffer>): void {
  fs.rmSync(root, { recursive: true, force: true });
  for (const [path, bytes] of files) {
    fs.mkdirSync(dirname(join(root, path)), { recursive: true });
    fs.writeFileSync(join(root, path), bytes);
  }
}

function withoutOldSchema(files: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...files].filter(([p]) => !p.startsWith('v2/') && !p.startsWith('bioc/v2/')));
}

function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, bytes] of expected) expect(actual.get(path)?.equals(bytes), path).toBe(true);
}

/** What `--dryrun` must list: files and bytes per removed directory. */
function expectedRemoval(files: Map<string, Buffer>): { path: string; files: number; bytes: number }[] {
  return ['bioc/v2', 'v2'].map((dir) => {
    const inside = [...files].filter(([p]) => p.startsWith(`${dir}/`));
    return { path: dir, files: inside.length, bytes: inside.reduce((n, [, b]) => n + b.length, 0) };
  });
}

interface PrunedJson {
  pruned: {
    from: { id: string; label: string | null; sequence: number };
    removed: { path: string; files: number; bytes: number }[];
    files: number;
    bytes: number;
    unsharedBytes: number;
    dryrun: boolean;
    snapshot: { id: string; label: string | null; sequence: number; parent: string } | null;
  };
}

interface StatusJson {
  status: {
    current: { id: string; label: string | null; sequence: number; parent: string | null } | null;
    highestSequence: number;
    snapshots: { id: string }[];
    history: { snapshot: string; action: string }[];
  };
}

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; hint: string | null };
}

function failing(args: string[], exit: number, code: string): ErrorJson['error'] & { stderr: string } {
  const r = airlock([...args, '--json']);
  expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(exit);
  const parsed = JSON.parse(r.stdout) as ErrorJson;
  expect(parsed.error.code, parsed.error.message).toBe(code);
  return { ...parsed.error, stderr: r.stderr };
}

const status = (dataDir: string) => airlockJson<StatusJson>(['status', '--data-dir', dataDir]).status;

describe('prune-schema', () => {
  const root = tempDir('airlock-prune-');
  const repo = join(root, 'online');
  const media = join(root, 'media');
  const t = [new Map<string, Buffer>(), legacyTree(1), legacyTree(2)];
  const ids: string[] = [];
  let full1 = '';
  let delta12 = '';
  let places = 0;
  /** A new data dir path in a directory of its own. */
  const place = () => {
    const dir = join(root, `offline-${places++}`);
    fs.mkdirSync(dir);
    return join(dir, 'rspm-offline-data');
  };
  const dataDir = join(root, 'staging', 'rspm-offline-data');
  let pruned = '';

  beforeAll(() => {
    fs.mkdirSync(media);
    fs.mkdirSync(join(root, 'staging'));
    // Online, the legacy tree was recorded as it is (`get cran` keeps v2/ in it): L1, then L2.
    for (let step = 1; step <= 2; step++) {
      writeTree(join(root, 'tree'), t[step]!);
      ids[step] = airlockJson<{ snapshot: { id: string } }>(['snapshot', 'create', '--repo', repo, '--from', join(root, 'tree'), '--label', `L${step}`]).snapshot.id;
    }
    full1 = join(media, 'full1.airlock');
    delta12 = join(media, 'delta12.airlock');
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'L1', '--output', full1]);
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'L2', '--starting-snapshot', 'L1', '--output', delta12]);
    airlockOk(['apply', full1, '--data-dir', dataDir]);
  }, 120_000);

  it('--dryrun lists each removed directory with its files and bytes, and changes nothing', () => {
    const before = fingerprint(join(dataDir, '..'));
    const r = airlockJson<PrunedJson>(['prune-schema', '--data-dir', dataDir, '--keep', 'v3', '--dryrun']).pruned;
    expect(r.dryrun).toBe(true);
    expect(r.snapshot).toBeNull();
    expect(r.removed).toEqual(expectedRemoval(t[1]!));
    expect(r.files).toBe(r.removed[0]!.files + r.removed[1]!.files);
    // The ten archives v2/ shares with v3/ stay in use; the rest is what gc can free.
    const shared = [...t[1]!].filter(([p]) => /^v2\/src\/contrib\/pkg\d_/.test(p)).reduce((n, [, b]) => n + b.length, 0);
    expect(r.unsharedBytes).toBe(r.bytes - shared);
    const human = airlockOk(['prune-schema', '--data-dir', dataDir, '--keep', 'v3', '--dryrun']).stdout;
    expect(human).toMatch(/would remove .*dry run/);
    expect(human).toMatch(/^ {2}v2\/ +12 files/m);
    expect(human).toMatch(/^ {2}bioc\/v2\/ +2 files/m);
    expect(fingerprint(join(dataDir, '..'))).toBe(before);
    expect(status(dataDir).current!.id).toBe(ids[1]);
  });

  it('refuses --keep v2 (it would remove v3) and anything but v3, changing nothing', () => {
    const before = fingerprint(join(dataDir, '..'));
    const err = failing(['prune-schema', '--data-dir', dataDir, '--keep', 'v2'], 2, 'USAGE');
    expect(err.message).toMatch(/would remove v3\/ and bioc\/v3\//);
    expect(err.hint).toContain('--keep v3');
    expect(failing(['prune-schema', '--data-dir', dataDir, '--keep', 'v4'], 2, 'USAGE').hint).toContain('--keep v3');
    expect(fingerprint(join(dataDir, '..'))).toBe(before);
  });

  it('removes exactly v2/ and bioc/v2/ in a new snapshot; everything else stays byte for byte, the sequence is not raised', () => {
    const kept = new Map([...readTree(dataDir)].filter(([p]) => !p.startsWith('v2/') && !p.startsWith('bioc/v2/')));
    const r = airlockJson<PrunedJson>(['prune-schema', '--data-dir', dataDir, '--keep', 'v3']).pruned;
    expect(r.removed).toEqual(expectedRemoval(t[1]!));
    expect(r.snapshot).toMatchObject({ label: 'L1+pruned-v2', sequence: 1, parent: ids[1] });
    pruned = r.snapshot!.id;
    expect(fs.readlinkSync(dataDir)).toBe(`rspm-offline-data.airlock/deployments/${pruned}`);
    const after = readTree(dataDir);
    expectSameTree(after, withoutOldSchema(t[1]!));
    expectSameTree(after, kept);
    for (const dir of ['v3/', 'bioc/v3/', 'bin/', 'bindex/', 'sysreqs/', 'distros/']) expect([...after.keys()].some((p) => p.startsWith(dir)), dir).toBe(true);
    expect(fs.existsSync(join(dataDir, 'v2'))).toBe(false);
    expect(fs.existsSync(join(dataDir, 'bioc', 'v2'))).toBe(false);
    const s = status(dataDir);
    expect(s.current).toMatchObject({ id: pruned, label: 'L1+pruned-v2', sequence: 1, parent: ids[1] });
    expect(s.highestSequence).toBe(1);
    expect(s.history.at(-1)).toMatchObject({ snapshot: pruned, action: 'prune-schema' });
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
    const human = airlockOk(['status', '--data-dir', dataDir]).stdout;
    expect(human).toContain('L1+pruned-v2');
  });

  it('says so and records nothing when there is nothing to remove', () => {
    const before = fingerprint(join(dataDir, '..'));
    const r = airlockJson<PrunedJson>(['prune-schema', '--data-dir', dataDir, '--keep', 'v3']).pruned;
    expect(r.removed).toEqual([]);
    expect(r.snapshot).toBeNull();
    expect(airlockOk(['prune-schema', '--data-dir', dataDir, '--keep', 'v3']).stdout).toMatch(/nothing to remove/);
    expect(fingerprint(join(dataDir, '..'))).toBe(before);
  });

  it('writes a receipt of the pruned snapshot, from which the online side makes the next delta', () => {
    const receipt = join(media, 'pruned.receipt');
    const r = airlockJson<{ snapshot: { id: string; label: string; sequence: number; parent: string }; highestSequence: number }>(['receipt', '--data-dir', dataDir, '--output', receipt]);
    expect(r.snapshot).toMatchObject({ id: pruned, label: 'L1+pruned-v2', sequence: 1, parent: ids[1] });
    expect(r.highestSequence).toBe(1);
    const delta = airlockJson<{ header: { from: string; to: string } }>(['bundle', 'create', '--repo', repo, '--snapshot', 'L2', '--starting-snapshot', receipt, '--output', join(media, 'from-pruned.airlock')]);
    expect(delta.header).toMatchObject({ from: pruned, to: ids[2] });
  });

  it('exports the pruned snapshot to production hosts that hold its parent (applied, or adopted from a hand copy)', () => {
    const out = join(media, 'pruned-export.airlock');
    const e = airlockJson<{ header: { from: string; to: string; target: { sequence: number; label: string } } }>([
      'export', '--data-dir', dataDir, '--starting-snapshot', 'L1', '--output', out,
    ]);
    expect(e.header).toMatchObject({ from: ids[1], to: pruned, target: { sequence: 1, label: 'L1+pruned-v2' } });
    // Applied: the parent is at sequence 1, the highest applied; the export is at the same sequence, built on it.
    // This one by its receipt, which export checks against the pruned target with apply's rule.
    const applied = place();
    airlockOk(['apply', full1, '--data-dir', applied]);
    const receipt = join(media, 'production-applied.receipt');
    airlockOk(['receipt', '--data-dir', applied, '--output', receipt]);
    const byReceipt = join(media, 'pruned-export-receipt.airlock');
    const r = airlockJson<{ header: { from: string; to: string } }>(['export', '--data-dir', dataDir, '--starting-snapshot', receipt, '--output', byReceipt]);
    expect(r.header).toMatchObject({ from: ids[1], to: pruned });
    airlockOk(['apply', byReceipt, '--data-dir', applied]);
    expectSameTree(readTree(applied), withoutOldSchema(t[1]!));
    expect(status(applied)).toMatchObject({ current: { id: pruned, label: 'L1+pruned-v2' }, highestSequence: 1 });
    // Adopted: the old way's hand copy has the same tree id as L1.
    const adopted = place();
    writeTree(adopted, t[1]!);
    airlockOk(['adopt', '--data-dir', adopted, '--label', 'hand-copy']);
    expect(fs.readlinkSync(adopted)).toContain(ids[1]);
    airlockOk(['apply', out, '--data-dir', adopted]);
    expectSameTree(readTree(adopted), withoutOldSchema(t[1]!));
    // And the next online delta, made from the unpruned L1, applies on both.
    for (const production of [applied, adopted]) {
      const r = airlock(['apply', delta12, '--data-dir', production]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/holds but does not show/);
      expectSameTree(readTree(production), t[2]!);
      expect(status(production).highestSequence).toBe(2);
    }
  });

  it('rollback brings v2/ and bioc/v2/ back; pruning again gives the same snapshot', () => {
    const r = airlockJson<{ rolledBack: { from: string; to: { id: string } } }>(['rollback', '--data-dir', dataDir]);
    expect(r.rolledBack).toMatchObject({ from: pruned, to: { id: ids[1] } });
    expectSameTree(readTree(dataDir), t[1]!);
    const again = airlockJson<PrunedJson>(['prune-schema', '--data-dir', dataDir, '--keep', 'v3']).pruned;
    expect(again.snapshot!.id).toBe(pruned);
    expectSameTree(readTree(dataDir), withoutOldSchema(t[1]!));
    // One record for the pruned tree, however often it is made.
    expect(status(dataDir).snapshots.filter((s) => s.id === pruned)).toHaveLength(1);
  });

  it('takes the next online delta, made from the unpruned parent, with a warning; rollback returns to the pruned snapshot', () => {
    const r = airlock(['apply', delta12, '--data-dir', dataDir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`updates snapshot ${ids[1]!.slice(0, 12)}, which this data dir holds but does not show`));
    expect(r.stderr).toContain(pruned.slice(0, 12));
    expectSameTree(readTree(dataDir), t[2]!);
    expect(status(dataDir)).toMatchObject({ current: { id: ids[2] }, highestSequence: 2 });
    airlockOk(['rollback', '--data-dir', dataDir]);
    expect(status(dataDir).current!.id).toBe(pruned);
    airlockOk(['rollback', '--data-dir', dataDir, '--to', 'L2']);
  });

  it('leaves the old tree or the new one when killed mid-prune, and the next command cleans up', () => {
    // (deploy-batch is not reached: the tree has fewer files than a batch.)
    for (const point of ['deploy-before-rename', 'switch-before-rename', 'switch-after-rename']) {
      const target = place();
      airlockOk(['apply', full1, '--data-dir', target]);
      const run = airlock(['prune-schema', '--data-dir', target, '--keep', 'v3'], { AIRLOCK_FAILPOINT: point });
      expect(run.signal, `${point}: ${run.stderr}`).toBe('SIGKILL');
      const shows = readTree(target);
      const expected = point === 'switch-after-rename' ? withoutOldSchema(t[1]!) : t[1]!;
      expectSameTree(shows, expected);
      const s = status(target);
      expect(fs.existsSync(join(`${target}.airlock`, 'lock'))).toBe(false);
      expect(fs.readdirSync(join(`${target}.airlock`, 'deployments')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect(fs.readdirSync(dirname(target)).filter((n) => n.includes('airlock-link'))).toEqual([]);
      expect(s.highestSequence).toBe(1);
      if (point === 'switch-after-rename') {
        expect(s.current!.id).toBe(pruned);
        expect(s.history.at(-1)?.action).toBe('recovered');
      } else {
        // Run again: it completes.
        const again = airlockJson<PrunedJson>(['prune-schema', '--data-dir', target, '--keep', 'v3']).pruned;
        expect(again.snapshot!.id).toBe(pruned);
      }
      expectSameTree(readTree(target), withoutOldSchema(t[1]!));
      airlockOk(['verify', '--data-dir', target, '--deep']);
    }
  });
});

describe('apply from a base the data dir holds but does not show', () => {
  const root = tempDir('airlock-heldbase-');
  const media = join(root, 'media');
  const ids: string[] = [];
  const trees: Map<string, Buffer>[] = [];
  let full1 = '';
  let delta12 = '';
  let delta23 = '';

  beforeAll(() => {
    fs.mkdirSync(media);
    const repo = join(root, 'online');
    for (let step = 1; step <= 3; step++) {
      trees[step] = withoutOldSchema(legacyTree(step));
      writeTree(join(root, 'tree'), trees[step]!);
      ids[step] = airlockJson<{ snapshot: { id: string } }>(['snapshot', 'create', '--repo', repo, '--from', join(root, 'tree'), '--label', `S${step}`]).snapshot.id;
    }
    full1 = join(media, 'full1.airlock');
    delta12 = join(media, 'delta12.airlock');
    delta23 = join(media, 'delta23.airlock');
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'S1', '--output', full1]);
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'S2', '--starting-snapshot', 'S1', '--output', delta12]);
    airlockOk(['bundle', 'create', '--repo', repo, '--snapshot', 'S3', '--starting-snapshot', 'S2', '--output', delta23]);
  }, 120_000);

  function atS2RolledBackToS1(name: string): string {
    const dataDir = join(root, name, 'rspm-offline-data');
    fs.mkdirSync(join(root, name));
    airlockOk(['apply', full1, '--data-dir', dataDir]);
    airlockOk(['apply', delta12, '--data-dir', dataDir]);
    airlockOk(['rollback', '--data-dir', dataDir]);
    expect(fs.readlinkSync(dataDir)).toContain(ids[1]);
    return dataDir;
  }

  it('rolled back from S2 to S1, applies the delta S2 -> S3', () => {
    const dataDir = atS2RolledBackToS1('rolled-back');
    const r = airlock(['apply', delta23, '--data-dir', dataDir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/holds but does not show/);
    expect((JSON.parse(r.stdout) as { applied: { from: string; to: string } }).applied).toMatchObject({ from: ids[1], to: ids[3] });
    expectSameTree(readTree(dataDir), trees[3]!);
    expect(status(dataDir).highestSequence).toBe(3);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
  });

  it('still refuses a replay of S1 -> S2 onto S1 after that rollback (DOWNGRADE)', () => {
    const dataDir = atS2RolledBackToS1('replay');
    const before = fingerprint(join(dataDir, '..'));
    failing(['apply', delta12, '--data-dir', dataDir], 4, 'DOWNGRADE');
    expect(fingerprint(join(dataDir, '..'))).toBe(before);
  });

  it('refuses the delta once gc removed what only S2 had: BASE_MISMATCH, saying so', () => {
    const dataDir = atS2RolledBackToS1('collected');
    airlockOk(['gc', '--data-dir', dataDir, '--keep', '1']);
    const before = fingerprint(join(dataDir, '..'));
    const err = failing(['apply', delta23, '--data-dir', dataDir], 4, 'BASE_MISMATCH');
    expect(err.message).toMatch(/garbage-collected/);
    expect(err.hint).toMatch(/airlock receipt --data-dir/);
    expect(fingerprint(join(dataDir, '..'))).toBe(before);
  });
});
