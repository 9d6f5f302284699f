import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { onlineScenario, readTree, tempDir, type Scenario } from '../helpers/fixtures.js';
import { bundleContents } from '../helpers/bundleContents.js';
import { blake3 } from '@napi-rs/blake-hash';

// The store's threads even for these small trees (they start only for 5,000 files or more by default),
// and every downloaded body written on them (by default only bodies of 1 MiB or more).
process.env.AIRLOCK_STORE_THREADS_FROM = '0';
process.env.AIRLOCK_STREAM_THREADS_FROM = '0';

function b3(bytes: Buffer): string {
  return blake3(bytes).toString('hex');
}

/** Distinct contents of `after` that `before` does not have: what a delta must carry. */
function newContents(before: Map<string, Buffer>, after: Map<string, Buffer>): Set<string> {
  const old = new Set([...before.values()].map(b3));
  return new Set([...after.values()].map(b3).filter((id) => !old.has(id)));
}

function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, bytes] of expected) expect(actual.get(path)?.equals(bytes), path).toBe(true);
}

describe('the admin workflow, end to end through the real binary', () => {
  let s: Scenario;
  let v1Files: Map<string, Buffer>;
  let v2Files: Map<string, Buffer>;
  let full: string;
  let delta: string;

  beforeAll(async () => {
    s = await onlineScenario(1);
    v1Files = readTree(s.mirror);
    // The mirror advances in place, as a downloader updates its destination.
    const { advanceUniverse, writeCranTree } = await import('../../fixtures/cranTree.js');
    const v2 = advanceUniverse(s.versions[0]!, s.options, 2);
    await writeCranTree(s.mirror, v2, s.options);
    v2Files = readTree(s.mirror);
    full = join(s.media, 'full.airlock');
    delta = join(s.media, 'delta.airlock');
  });

  it('records a second snapshot reading only the files that changed', () => {
    const changed = [...v2Files].filter(([p, b]) => !v1Files.get(p)?.equals(b)).length;
    const out = airlockJson<{ snapshot: { id: string; sequence: number; parent: string }; hashedFiles: number; cachedFiles: number }>([
      'snapshot', 'create', '--repo', s.repo, '--from', s.mirror, '--label', 'v2',
    ]);
    s.ids.v2 = out.snapshot.id;
    expect(out.snapshot.sequence).toBe(2);
    expect(out.snapshot.parent).toBe(s.ids.v1);
    expect(out.hashedFiles).toBe(changed);
    expect(out.cachedFiles).toBe(v2Files.size - changed);
  });

  it('gives an identical tree the same id, wherever it lives', () => {
    const copy = join(tempDir(), 'copy');
    fs.cpSync(s.mirror, copy, { recursive: true });
    const other = join(tempDir(), 'repo');
    const out = airlockJson<{ snapshot: { id: string } }>(['snapshot', 'create', '--repo', other, '--from', copy]);
    expect(out.snapshot.id).toBe(s.ids.v2);
  });

  it('lists, shows and diffs snapshots, down to package versions', () => {
    const list = airlockJson<{ snapshots: { label: string }[] }>(['snapshot', 'list', '--repo', s.repo]);
    expect(list.snapshots.map((r) => r.label)).toEqual(['v1', 'v2']);
    const show = airlockJson<{ snapshot: { id: string }; files: { path: string }[] }>(['snapshot', 'show', '--repo', s.repo, s.ids.v1!.slice(0, 10), '--files']);
    expect(show.snapshot.id).toBe(s.ids.v1);
    expect(show.files.map((f) => f.path).sort()).toEqual([...v1Files.keys()].sort());
    const diff = airlockJson<{ packages: { kind: string; name: string; from: string | null; to: string | null }[]; files: { added: string[] } }>([
      'snapshot', 'diff', '--repo', s.repo, 'v1', 'v2',
    ]);
    const updated = s.versions[0]!.filter((p) => v2Files.has(`v3/src/contrib/Archive/${p.name}/${p.name}_${p.version}.tar.gz`));
    expect(updated.length).toBeGreaterThan(0);
    for (const p of updated) {
      const change = diff.packages.find((c) => c.name === p.name);
      expect(change?.kind).toBe('updated');
      expect(change?.from).toBe(p.version);
    }
    expect(diff.files.added).toEqual(expect.arrayContaining([...v2Files.keys()].filter((k) => !v1Files.has(k))));
  });

  it('writes a full bundle that tar can list, and a delta that carries only new contents', () => {
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    const listing = execFileSync('tar', ['tvf', full], { encoding: 'utf8' });
    expect(listing).toContain('airlock-bundle/header');
    expect(listing).toContain('airlock-bundle/seal');
    const out = airlockJson<{ header: { kind: string; from: string; objects: { count: number } } }>([
      'bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta,
    ]);
    expect(out.header.kind).toBe('delta');
    expect(out.header.from).toBe(s.ids.v1);
    const expected = newContents(v1Files, v2Files);
    expect(out.header.objects.count).toBe(expected.size);
    const contents = bundleContents(delta);
    expect(contents.carried).toEqual(expected);
    expect(contents.alone.length + contents.packed.size).toBe(expected.size);
  });

  it('stores package tarballs raw in entries of their own and packs the small text indices, compressed', () => {
    const names = execFileSync('tar', ['tf', full], { encoding: 'utf8' }).split('\n');
    const idOf = (path: string) => b3(v1Files.get(path)!);
    const contents = bundleContents(full);
    expect(names).toContain('packs/00000001.zst');
    expect(contents.packed.has(idOf('v3/src/contrib/PACKAGES'))).toBe(true);
    const tarball = [...v1Files.keys()].find((k) => k.endsWith('.tar.gz'))!;
    expect(names).toContain(`objects/${idOf(tarball)}`);
    expect(contents.packed.has(idOf(tarball))).toBe(false);
    // The pack is compressed: smaller than the text it carries.
    const pack = contents.packs[0]!;
    const packEntry = /(\d+) 1970-01-01 00:00 packs\/00000001\.zst/.exec(execFileSync('tar', ['tvf', full], { encoding: 'utf8' }))!;
    expect(Number(packEntry[1])).toBeLessThan(pack.content.length);
  });

  it('writes format 1, every object in an entry of its own, with --bundle-format 1 (for a receiver older than packs)', () => {
    const old = join(s.media, 'format1.airlock');
    const out = airlockJson<{ header: { format: number }; packs: number; compressedObjects: number }>(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', old, '--bundle-format', '1']);
    expect(out.header.format).toBe(1);
    expect(out.packs).toBe(0);
    const idOf = (path: string) => b3(v1Files.get(path)!);
    expect(execFileSync('tar', ['tf', old], { encoding: 'utf8' }).split('\n')).toContain(`objects/${idOf('v3/src/contrib/PACKAGES')}.zst`);
    expect(bundleContents(old).carried).toEqual(bundleContents(full).carried);
    expect(airlockJson<{ verified: boolean }>(['bundle', 'verify', old]).verified).toBe(true);
    const bad = airlock(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(s.media, 'format3.airlock'), '--bundle-format', '3']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--bundle-format must be 1 or 2/);
  });

  it('inspects and verifies bundles without a data dir', () => {
    const inspect = airlockJson<{ header: { to: string }; changes: { packages: { kind: string }[] } }>(['bundle', 'inspect', delta]);
    expect(inspect.header.to).toBe(s.ids.v2);
    expect(inspect.changes.packages.some((p) => p.kind === 'updated')).toBe(true);
    const verify = airlockJson<{ verified: boolean }>(['bundle', 'verify', full]);
    expect(verify.verified).toBe(true);
  });

  it('applies the full bundle to an empty data dir: a symlink to a tree of hardlinks', () => {
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    expect(fs.lstatSync(s.dataDir).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(s.dataDir)).toBe(`rspm-offline-data.airlock/deployments/${s.ids.v1}`);
    expectSameTree(readTree(s.dataDir), v1Files);
    const packages = join(s.dataDir, 'v3/src/contrib/PACKAGES');
    const object = join(`${s.dataDir}.airlock`, 'objects', 'v1', b3(fs.readFileSync(packages)).slice(0, 2), b3(fs.readFileSync(packages)));
    expect(fs.statSync(packages).ino).toBe(fs.statSync(object).ino);
    expect(fs.statSync(packages).mode & 0o777).toBe(0o444);
  });

  it('refuses to apply the same snapshot twice', () => {
    const again = airlock(['apply', full, '--data-dir', s.dataDir]);
    expect(again.status).toBe(4);
    expect(again.stderr).toContain('ALREADY_APPLIED');
  });

  it('applies the delta, and the data dir then equals the new tree', () => {
    const out = airlockJson<{ applied: { from: string; to: string; objectsImported: number } }>(['apply', delta, '--data-dir', s.dataDir]);
    expect(out.applied.from).toBe(s.ids.v1);
    expect(out.applied.to).toBe(s.ids.v2);
    expect(out.applied.objectsImported).toBe(newContents(v1Files, v2Files).size);
    expectSameTree(readTree(s.dataDir), v2Files);
    const verify = airlockJson<{ checked: number }>(['verify', '--data-dir', s.dataDir, '--deep']);
    expect(verify.checked).toBe(v2Files.size);
  });

  it('reports status with the current snapshot and the kept deployments', () => {
    const out = airlockJson<{ status: { current: { id: string; label: string }; highestSequence: number; deployments: { current: boolean }[] } }>([
      'status', '--data-dir', s.dataDir,
    ]);
    expect(out.status.current.id).toBe(s.ids.v2);
    expect(out.status.current.label).toBe('v2');
    expect(out.status.highestSequence).toBe(2);
    expect(out.status.deployments).toHaveLength(2);
  });

  it('rolls back to the previous snapshot and forward again with --to', () => {
    airlockOk(['rollback', '--data-dir', s.dataDir]);
    expectSameTree(readTree(s.dataDir), v1Files);
    const none = airlock(['rollback', '--data-dir', s.dataDir]);
    expect(none.status).toBe(4);
    expect(none.stderr).toContain('NOTHING_TO_ROLL_BACK');
    airlockOk(['rollback', '--data-dir', s.dataDir, '--to', 'v2']);
    expectSameTree(readTree(s.dataDir), v2Files);
  });

  it('verifies the online repository, quick and deep', () => {
    expect(airlockJson<{ verified: boolean }>(['verify', '--repo', s.repo, '--deep']).verified).toBe(true);
  });

  it('collects garbage: old deployments and the objects only they used', () => {
    const out = airlockJson<{ gc: { removedDeployments: string[]; removedObjects: number } }>(['gc', '--data-dir', s.dataDir, '--keep', '1']);
    expect(out.gc.removedDeployments).toEqual([s.ids.v1]);
    const onlyInV1 = newContents(v2Files, v1Files);
    expect(out.gc.removedObjects).toBe(onlyInV1.size);
    expect(fs.existsSync(join(`${s.dataDir}.airlock`, 'deployments', s.ids.v1!))).toBe(false);
    expectSameTree(readTree(s.dataDir), v2Files);
    const back = airlock(['rollback', '--data-dir', s.dataDir, '--to', 'v1']);
    expect(back.status).not.toBe(0);
    expect(back.stderr).toMatch(/garbage-collected/);
  });

  it('hashes the same content with the same id as b3sum-compatible BLAKE3', () => {
    const packages = fs.readFileSync(join(s.dataDir, 'v3/src/contrib/PACKAGES'));
    const show = airlockJson<{ files: { path: string; id: string }[] }>(['snapshot', 'show', '--repo', s.repo, 'v2', '--files']);
    expect(show.files.find((f) => f.path === 'v3/src/contrib/PACKAGES')?.id).toBe(b3(packages));
    // and the MD5 in PACKAGES still matches each archive, as R will check
    const text = packages.toString('utf8');
    for (const record of text.split('\n\n')) {
      const name = /^Package: (.*)$/m.exec(record)![1];
      const version = /^Version: (.*)$/m.exec(record)![1];
      const md5 = /^MD5sum: (.*)$/m.exec(record)![1];
      const archive = fs.readFileSync(join(s.dataDir, 'v3/src/contrib', `${name}_${version}.tar.gz`));
      expect(createHash('md5').update(archive).digest('hex')).toBe(md5);
    }
  });
});
