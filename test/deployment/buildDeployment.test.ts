import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeployment, deploymentMismatch } from '../../src/deployment/buildDeployment.js';
import { DataDir } from '../../src/deployment/dataDir.js';
import { sortEntries, type TreeEntry } from '../../src/core/manifest.js';
import type { Progress } from '../../src/core/progress.js';
import { Repository } from '../../src/repository/repository.js';
import { tempDir } from '../helpers/fixtures.js';
import { hasTool, isRoot, mountExfat, unmount } from '../helpers/mounts.js';

function recordingProgress(): Progress & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, phase: () => undefined, advance: () => undefined, end: () => undefined, warn: (m) => warnings.push(m) };
}

async function storeTree(repo: Repository, files: Record<string, string>): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  for (const [path, content] of Object.entries(files)) {
    const { id, size } = await repo.objects.addStream((async function* () {
      yield Buffer.from(content);
    })(), path);
    entries.push({ path, id, size, mode: 0o644 });
  }
  await repo.objects.flush();
  return sortEntries(entries);
}

/** A data dir (not there yet) and its store, with `files` in the store as a tree's entries. */
async function dataDirWith(files: Record<string, string>): Promise<{ root: string; dataDir: DataDir; repo: Repository; entries: TreeEntry[] }> {
  const root = tempDir();
  const dataDir = new DataDir(join(root, 'rspm-offline-data'));
  const repo = await Repository.open(dataDir.stateDir, { create: true });
  return { root, dataDir, repo, entries: await storeTree(repo, files) };
}

describe('buildDeployment', () => {
  it('links every file to its object on a filesystem with hardlinks', async () => {
    const { dataDir, repo, entries } = await dataDirWith({ 'v3/src/contrib/PACKAGES': 'Package: a\n', 'v3/src/contrib/a_1.0.tar.gz': 'tarball', 'v3/other/same.txt': 'tarball' });
    const progress = recordingProgress();
    const built = await buildDeployment(repo, dataDir, 'a'.repeat(64), { entries }, undefined, progress);
    expect(built).toMatchObject({ reused: false, linked: 3, copied: 0 });
    expect(progress.warnings).toEqual([]);
    for (const e of entries) expect(fs.statSync(join(built.path, e.path)).ino).toBe(fs.statSync(repo.objects.path(e.id)).ino);
    expect(fs.readdirSync(dataDir.deploymentsDir)).toEqual(['a'.repeat(64)]);
    // A second build of the same snapshot reuses the complete deployment.
    expect((await buildDeployment(repo, dataDir, 'a'.repeat(64), { entries }, undefined, progress)).reused).toBe(true);
  });

  it('makes every directory of a tree spread over many, on the store threads, 0755 under a hardened umask, executables copied in directories a batch has not made yet', async () => {
    const { dataDir, repo, entries: stored } = await dataDirWith({ one: 'one', two: 'two', script: '#!/bin/sh\n' });
    const [one, script, two] = stored; // sorted by path: one, script, two
    // Enough entries for the store threads (StoreThreads.forWork), over nested directories.
    const entries: TreeEntry[] = [];
    for (let i = 0; i < 6000; i++) {
      const object = i % 2 === 0 ? one! : two!;
      entries.push({ path: `d${i % 37}/s${i % 5}/deep${i % 3}/f${i}.txt`, id: object.id, size: object.size, mode: 0o644 });
    }
    for (let d = 0; d < 37; d += 6) entries.push({ path: `d${d}/s0/deep0/run.sh`, id: script!.id, size: script!.size, mode: 0o755 });
    entries.push({ path: 'late/first/run.sh', id: script!.id, size: script!.size, mode: 0o755 });
    sortEntries(entries);
    const previous = process.umask(0o077);
    let built;
    try {
      built = await buildDeployment(repo, dataDir, 'c'.repeat(64), { entries }, undefined, recordingProgress());
    } finally {
      process.umask(previous);
    }
    expect(built).toMatchObject({ reused: false, linked: 6000, copied: 8 });
    const directories = new Set<string>();
    for (const e of entries) {
      const st = fs.statSync(join(built.path, e.path));
      if (e.mode === 0o755) expect(st.mode & 0o7777).toBe(0o555);
      else expect(st.ino).toBe(fs.statSync(repo.objects.path(e.id)).ino);
      for (let dir = e.path; dir.includes('/'); ) directories.add((dir = dir.slice(0, dir.lastIndexOf('/'))));
    }
    expect(directories.size).toBe(37 + 37 * 5 + 37 * 5 * 3 + 2);
    for (const dir of ['', ...directories]) expect((fs.statSync(join(built.path, dir)).mode & 0o7777).toString(8), dir).toBe('755');
    expect(await deploymentMismatch(built.path, { entries }, recordingProgress())).toBeUndefined();
  });

  describe.runIf(isRoot && hasTool('mount.exfat-fuse'))('on exFAT, which refuses hardlinks', () => {
    const root = tempDir();
    const mnt = join(root, 'usb');
    let loop = '';

    beforeAll(() => {
      loop = mountExfat(mnt, join(root, 'usb.img')).loop;
    });
    afterAll(() => unmount(mnt, loop));

    it('copies instead, says so once, and the tree is complete', async () => {
      const dataDir = new DataDir(join(mnt, 'rspm-offline-data'));
      const repo = await Repository.open(dataDir.stateDir, { create: true });
      const files = { 'v3/src/contrib/PACKAGES': 'Package: a\nVersion: 1.0\n', 'v3/src/contrib/a_1.0.tar.gz': 'not really gzip', 'v3/README': 'hello' };
      const entries = await storeTree(repo, files);
      const progress = recordingProgress();
      const built = await buildDeployment(repo, dataDir, 'b'.repeat(64), { entries }, undefined, progress);
      expect(built).toMatchObject({ linked: 0, copied: 3 });
      expect(progress.warnings).toHaveLength(1);
      expect(progress.warnings[0]).toMatch(/refuses hardlinks/);
      for (const [path, content] of Object.entries(files)) expect(fs.readFileSync(join(built.path, path), 'utf8')).toBe(content);
    });
  });
});

describe('deploymentMismatch', () => {
  it('accepts the exact tree, and otherwise names the first problem in the tree’s order and how many more; a link is never followed', async () => {
    const { root, dataDir, repo, entries } = await dataDirWith({ 'a/one.txt': 'one', 'b/two.txt': 'two!', 'c/three.txt': 'three' });
    const built = await buildDeployment(repo, dataDir, 'b'.repeat(64), { entries }, undefined, recordingProgress());
    expect(await deploymentMismatch(built.path, { entries }, recordingProgress())).toBeUndefined();

    fs.rmSync(join(built.path, 'c/three.txt'));
    fs.writeFileSync(join(built.path, 'a/planted.txt'), 'x');
    fs.rmSync(join(built.path, 'b/two.txt'));
    fs.writeFileSync(join(built.path, 'b/two.txt'), 'two!!');
    expect(await deploymentMismatch(built.path, { entries }, recordingProgress())).toBe('b/two.txt: 5 bytes, expected 4; 2 more problems');

    const link = join(root, 'link');
    fs.symlinkSync(built.path, link);
    expect(await deploymentMismatch(link, { entries }, recordingProgress())).toBe('it is a symbolic link');
  });
});
