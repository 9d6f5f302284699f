import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { onlineScenario, readTree, type Scenario } from '../helpers/fixtures.js';
import { isRoot } from '../helpers/mounts.js';

describe('adopt, ownership and file modes', () => {
  let s: Scenario;
  let v1Files: Map<string, Buffer>;

  beforeAll(async () => {
    s = await onlineScenario(2);
  });

  it('adopts a data dir copied by hand without copying its bytes, with the same snapshot id as online', () => {
    // The "old way": a plain copy of the download, here restored from the online repository's v1.
    const full = join(s.media, 'full1.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    const scratch = join(s.root, 'scratch', 'rspm-offline-data');
    fs.mkdirSync(join(s.root, 'scratch'));
    airlockOk(['apply', full, '--data-dir', scratch]);
    v1Files = readTree(scratch);
    const plain = s.dataDir;
    fs.mkdirSync(plain, { recursive: true });
    for (const [path, bytes] of v1Files) {
      fs.mkdirSync(join(plain, path, '..'), { recursive: true });
      fs.writeFileSync(join(plain, path), bytes);
    }
    const inodeBefore = fs.statSync(join(plain, 'v3/src/contrib/PACKAGES')).ino;

    const out = airlockJson<{ adopted: { snapshot: { id: string }; files: number } }>(['adopt', '--data-dir', plain, '--label', 'hand-copy']);
    expect(out.adopted.snapshot.id).toBe(s.ids.v1);
    expect(out.adopted.files).toBe(v1Files.size);
    expect(fs.lstatSync(plain).isSymbolicLink()).toBe(true);
    // Same inode: the file was linked into the store and the deployment, not copied.
    expect(fs.statSync(join(plain, 'v3/src/contrib/PACKAGES')).ino).toBe(inodeBefore);
    const tree = readTree(plain);
    expect(tree.size).toBe(v1Files.size);
    for (const [p, b] of v1Files) expect(tree.get(p)?.equals(b)).toBe(true);
    // The original directory is gone from the state dir once adopted.
    expect(fs.readdirSync(`${plain}.airlock`).filter((n) => n.startsWith('adopted-original'))).toEqual([]);
  });

  it('takes delta bundles from the online side right after adoption', () => {
    const delta = join(s.media, 'delta12.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
    airlockOk(['apply', delta, '--data-dir', s.dataDir]);
    expect(fs.readlinkSync(s.dataDir)).toContain(s.ids.v2!);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
  });

  it('refuses to adopt twice', () => {
    const again = airlock(['adopt', '--data-dir', s.dataDir]);
    expect(again.status).toBe(4);
    expect(again.stderr).toContain('[ALREADY_MANAGED]');
  });

  it('keeps executable files executable, in their own inode, and others read-only hardlinks', () => {
    const tree = join(s.root, 'exec-tree');
    fs.mkdirSync(join(tree, 'bin'), { recursive: true });
    fs.writeFileSync(join(tree, 'bin', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    fs.writeFileSync(join(tree, 'README'), 'read me\n');
    const repo = join(s.root, 'exec-repo');
    airlockOk(['snapshot', 'create', '--repo', repo, '--from', tree]);
    const bundle = join(s.media, 'exec.airlock');
    airlockOk(['bundle', 'create', '--repo', repo, '--output', bundle]);
    const dataDir = join(s.root, 'exec-offline', 'rspm-offline-data');
    fs.mkdirSync(join(s.root, 'exec-offline'));
    airlockOk(['apply', bundle, '--data-dir', dataDir]);
    expect(fs.statSync(join(dataDir, 'bin/run.sh')).mode & 0o777).toBe(0o555);
    expect(fs.statSync(join(dataDir, 'bin/run.sh')).nlink).toBe(1);
    expect(fs.statSync(join(dataDir, 'README')).mode & 0o777).toBe(0o444);
    expect(fs.statSync(join(dataDir, 'README')).nlink).toBe(2);
  });

  it.runIf(isRoot)('--owner makes the server account own the deployment', () => {
    const full = join(s.media, 'full1.airlock');
    const dataDir = join(s.root, 'owned', 'rspm-offline-data');
    fs.mkdirSync(join(s.root, 'owned'));
    airlockOk(['apply', full, '--data-dir', dataDir, '--owner', 'nobody:nogroup']);
    const nobody = 65534;
    for (const path of ['', 'v3', 'v3/src/contrib', 'v3/src/contrib/PACKAGES']) {
      const st = fs.statSync(join(dataDir, path));
      expect([st.uid, st.gid], path).toEqual([nobody, nobody]);
      expect(st.mode & 0o022, `${path} must not be writable by group or others`).toBe(0);
    }
  });

  it.runIf(isRoot)('rollback --owner gives a deployment that had to be rebuilt the same owner', () => {
    const full = join(s.media, 'full1.airlock');
    const delta = join(s.media, 'delta12.airlock');
    const dataDir = join(s.root, 'owned-rollback', 'rspm-offline-data');
    fs.mkdirSync(join(s.root, 'owned-rollback'));
    airlockOk(['apply', full, '--data-dir', dataDir, '--owner', 'nobody:nogroup']);
    airlockOk(['apply', delta, '--data-dir', dataDir, '--owner', 'nobody:nogroup']);
    // The v1 deployment directory is gone (removed by hand), its objects are still in the store.
    fs.rmSync(join(`${dataDir}.airlock`, 'deployments', s.ids.v1!), { recursive: true });
    const rollback = airlockJson<{ rolledBack: { rebuilt: boolean } }>(['rollback', '--data-dir', dataDir, '--to', 'v1', '--owner', 'nobody:nogroup']);
    expect(rollback.rolledBack.rebuilt).toBe(true);
    for (const path of ['', 'v3', 'v3/src/contrib']) {
      const st = fs.statSync(join(dataDir, path));
      expect([st.uid, st.gid], path).toEqual([65534, 65534]);
    }
  });
});
