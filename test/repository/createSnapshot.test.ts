import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { EXECUTABLE_MODE, FILE_MODE, type Tree } from '../../src/core/manifest.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { createSnapshot, type CreateSnapshotResult } from '../../src/repository/createSnapshot.js';
import { Repository } from '../../src/repository/repository.js';
import { cleanTempDirsAfterEach, collect, re, rejectsWith, sleep, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const b3 = (bytes: Uint8Array | string): string => blake3(Buffer.from(bytes)).toString('hex');

/** Longer than the stat cache's racy window (100 ms), so files written before it count as settled. */
const SETTLE_MS = 250;

async function newRepo(): Promise<Repository> {
  return Repository.open(join(tempDir(), 'repo'), { create: true });
}

function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(join(root, rel, '..'), { recursive: true });
    fs.writeFileSync(join(root, rel), content);
  }
}

/** A source tree whose files were written long enough ago to be remembered by the stat cache. */
async function settledSource(files: Record<string, string | Buffer>): Promise<string> {
  const root = tempDir('airlock-source-');
  writeFiles(root, files);
  await sleep(SETTLE_MS);
  return root;
}

async function snap(repo: Repository, from: string, label: string | null = null, progress: Progress = silentProgress): Promise<CreateSnapshotResult> {
  return createSnapshot(repo, { from, label, progress });
}

async function treeOf(repo: Repository, result: CreateSnapshotResult): Promise<Tree> {
  return repo.snapshots.loadTree(result.record.id);
}

const FILES = {
  'PACKAGES': 'Package: a\nVersion: 1.0\n',
  'src/contrib/a_1.0.tar.gz': 'archive of a, version one',
  'src/contrib/b_2.1.tar.gz': 'archive of b, version 2.1 (longer)',
  'bin/windows/contrib/4.4/c_0.1.zip': 'zip',
};

describe('createSnapshot: the first recording', () => {
  it('hashes every file, stores every object and records sequence 1 without parent', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    const result = await snap(repo, from, 'v1');

    expect(result.recorded).toBe(true);
    expect(result.hashedFiles).toBe(4);
    expect(result.cachedFiles).toBe(0);
    const totalBytes = Object.values(FILES).reduce((n, c) => n + Buffer.byteLength(c), 0);
    expect(result.hashedBytes).toBe(totalBytes);
    expect(result.record).toMatchObject({ sequence: 1, label: 'v1', parent: null, files: 4, bytes: totalBytes });
    expect(Number.isNaN(Date.parse(result.record.createdAt))).toBe(false);
    expect(await repo.snapshots.records()).toEqual([result.record]);

    const tree = await treeOf(repo, result);
    expect(tree.entries).toEqual([
      { path: 'PACKAGES', id: b3(FILES.PACKAGES), size: Buffer.byteLength(FILES.PACKAGES), mode: FILE_MODE },
      { path: 'bin/windows/contrib/4.4/c_0.1.zip', id: b3('zip'), size: 3, mode: FILE_MODE },
      { path: 'src/contrib/a_1.0.tar.gz', id: b3(FILES['src/contrib/a_1.0.tar.gz']), size: 25, mode: FILE_MODE },
      { path: 'src/contrib/b_2.1.tar.gz', id: b3(FILES['src/contrib/b_2.1.tar.gz']), size: 34, mode: FILE_MODE },
    ]);
    for (const e of tree.entries) {
      expect(fs.existsSync(repo.objects.path(e.id))).toBe(true);
      expect((await collect(repo.objects.readVerified(e.id, e.size))).toString()).toBe(FILES[e.path as keyof typeof FILES]);
    }
    // Nothing left in scratch space once recorded (its lanes, directories, may stay until the next command clears tmp/).
    const scratch = fs.existsSync(repo.layout.tmpDir) ? fs.readdirSync(repo.layout.tmpDir, { recursive: true, withFileTypes: true }) : [];
    expect(scratch.filter((entry) => !entry.isDirectory()).map((entry) => entry.name)).toEqual([]);
  });

  it('stores identical files once and records many files correctly', async () => {
    const repo = await newRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`d${i % 7}/f${i}.txt`] = `content ${i % 20}`;
    const from = await settledSource(files);
    const result = await snap(repo, from);
    const tree = await treeOf(repo, result);
    expect(tree.entries).toHaveLength(60);
    for (const e of tree.entries) expect(e.id).toBe(b3(files[e.path]!));
    const objects: string[] = [];
    for await (const id of repo.objects.list()) objects.push(id);
    expect(objects.sort()).toEqual([...new Set(Object.values(files).map((c) => b3(c)))].sort());
  });

  it('records an empty directory as an empty tree', async () => {
    const repo = await newRepo();
    const result = await snap(repo, tempDir('airlock-empty-'), 'empty');
    expect(result.recorded).toBe(true);
    expect(result.record).toMatchObject({ files: 0, bytes: 0, sequence: 1 });
    expect(await treeOf(repo, result)).toEqual({ entries: [] });
  });

  it('reports its phases and progress', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    const phases: { name: string; totals: { files?: number; bytes?: number } | undefined }[] = [];
    let files = 0;
    let bytes = 0;
    const progress: Progress = {
      phase: (name, totals) => phases.push({ name, totals }),
      advance: (f, b) => {
        files += f;
        bytes += b;
      },
      warn: () => undefined,
      end: () => undefined,
    };
    const result = await snap(repo, from, null, progress);
    expect(phases).toEqual([
      { name: 'scanning', totals: undefined },
      { name: 'hashing', totals: { files: 4, bytes: result.record.bytes } },
    ]);
    expect(files).toBe(4);
    expect(bytes).toBe(result.record.bytes);
  });
});

describe('createSnapshot: the stat cache', () => {
  it('a second recording of an unchanged tree hashes nothing and records nothing', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    const first = await snap(repo, from, 'v1');
    const second = await snap(repo, from, 'v1');
    expect(second.hashedFiles).toBe(0);
    expect(second.hashedBytes).toBe(0);
    expect(second.cachedFiles).toBe(4);
    expect(second.recorded).toBe(false);
    expect(second.record).toEqual(first.record);
    expect(await repo.snapshots.records()).toEqual([first.record]);

    // Without a label it is also "unchanged" (the latest already holds this tree).
    const third = await snap(repo, from, null);
    expect(third.recorded).toBe(false);
    expect(third.hashedFiles).toBe(0);
    expect(await repo.snapshots.records()).toHaveLength(1);
  });

  it('after one file changes, exactly that file is hashed again', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    const first = await snap(repo, from, 'v1');
    const changed = join(from, 'src/contrib/a_1.0.tar.gz');
    const before = fs.statSync(changed);
    // Same size, new bytes, and an mtime that certainly differs from the old one.
    const newContent = 'archive of a, VERSION ONE';
    expect(Buffer.byteLength(newContent)).toBe(before.size);
    fs.writeFileSync(changed, newContent);
    const newMtime = new Date(before.mtimeMs - 3_600_000);
    fs.utimesSync(changed, newMtime, newMtime);
    expect(fs.statSync(changed).mtimeMs).not.toBe(before.mtimeMs);
    await sleep(SETTLE_MS);

    const second = await snap(repo, from, 'v2');
    expect(second.hashedFiles).toBe(1);
    expect(second.hashedBytes).toBe(before.size);
    expect(second.cachedFiles).toBe(3);
    expect(second.recorded).toBe(true);
    const oldTree = await treeOf(repo, first);
    const newTree = await treeOf(repo, second);
    const changedEntries = newTree.entries.filter((e, i) => e.id !== oldTree.entries[i]!.id);
    expect(changedEntries).toEqual([{ path: 'src/contrib/a_1.0.tar.gz', id: b3(newContent), size: before.size, mode: FILE_MODE }]);

    const third = await snap(repo, from, 'v2');
    expect(third.hashedFiles).toBe(0);
    expect(third.recorded).toBe(false);
  });

  it('a change that restores size and mtime is still noticed (by ctime)', async () => {
    const repo = await newRepo();
    const from = tempDir('airlock-source-');
    writeFiles(from, FILES);
    const path = join(from, 'PACKAGES');
    const fixedSeconds = Math.floor(Date.now() / 1000) - 86_400; // whole seconds: restorable exactly
    fs.utimesSync(path, fixedSeconds, fixedSeconds);
    await sleep(SETTLE_MS);
    await snap(repo, from);
    const before = fs.statSync(path);
    fs.writeFileSync(path, FILES.PACKAGES.replace('1.0', '2.0'));
    fs.utimesSync(path, fixedSeconds, fixedSeconds);
    expect(fs.statSync(path).mtimeMs).toBe(before.mtimeMs);
    expect(fs.statSync(path).size).toBe(before.size);
    await sleep(SETTLE_MS);
    const second = await snap(repo, from);
    expect(second.hashedFiles).toBe(1);
    expect(second.recorded).toBe(true);
    const entry = (await treeOf(repo, second)).entries.find((e) => e.path === 'PACKAGES');
    expect(entry?.id).toBe(b3(FILES.PACKAGES.replace('1.0', '2.0')));
  });

  it('a file replaced by another (new inode) is hashed again', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    await snap(repo, from);
    const path = join(from, 'bin/windows/contrib/4.4/c_0.1.zip');
    const before = fs.statSync(path);
    const replacement = join(from, 'replacement.tmp');
    fs.writeFileSync(replacement, 'ZIP');
    fs.utimesSync(replacement, before.atime, before.mtime);
    fs.renameSync(replacement, path);
    expect(fs.statSync(path).ino).not.toBe(before.ino);
    await sleep(SETTLE_MS);
    const second = await snap(repo, from);
    expect(second.hashedFiles).toBe(1);
    expect((await treeOf(repo, second)).entries.find((e) => e.path.endsWith('c_0.1.zip'))?.id).toBe(b3('ZIP'));
  });

  it('a file written within the racy window is not remembered, so the next recording hashes it again', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'old-1': 'x', 'old-2': 'yy' });
    const first = await snap(repo, from);
    expect(first.hashedFiles).toBe(2);

    fs.writeFileSync(join(from, 'fresh'), 'fresh, 17 bytes!!');
    const second = await snap(repo, from); // immediately: 'fresh' is racy
    expect(second.hashedFiles).toBe(1);
    expect(second.hashedBytes).toBe(17);

    await sleep(SETTLE_MS);
    const third = await snap(repo, from);
    expect(third.hashedFiles).toBe(1);
    expect(third.hashedBytes).toBe(17);
    expect(third.recorded).toBe(false);

    const fourth = await snap(repo, from);
    expect(fourth.hashedFiles).toBe(0);
  });

  it('when the cached object was deleted from the store, the file is read again and the object restored', async () => {
    const repo = await newRepo();
    const from = await settledSource(FILES);
    const first = await snap(repo, from);
    const id = b3(FILES['src/contrib/b_2.1.tar.gz']);
    await repo.objects.remove(id);
    expect(repo.objects.hasSync(id)).toBe(false);

    const second = await snap(repo, from);
    expect(second.hashedFiles).toBe(1);
    expect(second.hashedBytes).toBe(34);
    expect(second.record.id).toBe(first.record.id);
    expect(second.recorded).toBe(false);
    expect((await collect(repo.objects.readVerified(id, 34))).toString()).toBe(FILES['src/contrib/b_2.1.tar.gz']);
  });

  it('a large file the cache knows is not read while its object is in the store, and streamed again once it is gone', async () => {
    const repo = await newRepo();
    const large = Buffer.alloc(5 * 1024 * 1024 + 3, 7); // above the threads' whole-file limit
    const from = await settledSource({ ...FILES, 'big/large.bin': large });
    const first = await snap(repo, from);
    expect(first.hashedFiles).toBe(5);
    const unchanged = await snap(repo, from);
    expect(unchanged.hashedFiles).toBe(0);
    expect(unchanged.cachedFiles).toBe(5);
    await repo.objects.remove(b3(large));
    const again = await snap(repo, from);
    expect(again.hashedFiles).toBe(1);
    expect(again.hashedBytes).toBe(large.length);
    expect(again.record.id).toBe(first.record.id);
    expect(repo.objects.hasSync(b3(large))).toBe(true);
  });

  it('the cache belongs to the source directory: another directory with the same names is hashed', async () => {
    const repo = await newRepo();
    const one = await settledSource(FILES);
    const two = await settledSource(FILES);
    await snap(repo, one);
    const fromTwo = await snap(repo, two);
    expect(fromTwo.hashedFiles).toBe(4);
    // Reached through a symlink, the same directory shares its cache (the real path is the key).
    const link = join(tempDir('airlock-link-'), 'mirror');
    fs.symlinkSync(one, link);
    const viaLink = await snap(repo, link);
    expect(viaLink.hashedFiles).toBe(0);
  });
});

describe('createSnapshot: records', () => {
  it('chains parent and sequence across three snapshots', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'a': '1' });
    const s1 = await snap(repo, from, 'one');
    fs.writeFileSync(join(from, 'b'), '2');
    const s2 = await snap(repo, from, 'two');
    fs.writeFileSync(join(from, 'c'), '3');
    const s3 = await snap(repo, from, null);

    expect([s1, s2, s3].map((s) => s.recorded)).toEqual([true, true, true]);
    expect(new Set([s1.record.id, s2.record.id, s3.record.id]).size).toBe(3);
    expect(s1.record).toMatchObject({ sequence: 1, parent: null, label: 'one', files: 1 });
    expect(s2.record).toMatchObject({ sequence: 2, parent: s1.record.id, label: 'two', files: 2 });
    expect(s3.record).toMatchObject({ sequence: 3, parent: s2.record.id, label: null, files: 3 });
    expect(await repo.snapshots.records()).toEqual([s1.record, s2.record, s3.record]);
    expect(await repo.snapshots.resolve('latest')).toEqual(s3.record);
    expect(await repo.snapshots.resolve('one')).toEqual(s1.record);
    expect(await repo.snapshots.nextSequence()).toBe(4);
  });

  it('reusing a label for a different tree is LABEL_TAKEN, naming the label and its snapshot', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'a': '1' });
    const s1 = await snap(repo, from, 'release');
    fs.writeFileSync(join(from, 'a'), '2');
    const err = await rejectsWith(snap(repo, from, 'release'), 'LABEL_TAKEN', /"release"/);
    expect(err.message).toContain(s1.record.id.slice(0, 12));
    expect(await repo.snapshots.records()).toEqual([s1.record]);
  });

  it('a label held by an older snapshot is refused even when the latest has none', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'a': '1' });
    const s1 = await snap(repo, from, 'v1');
    fs.writeFileSync(join(from, 'a'), '2');
    const s2 = await snap(repo, from, null);
    const err = await rejectsWith(snap(repo, from, 'v1'), 'LABEL_TAKEN', /"v1"/);
    expect(err.message).toContain(s1.record.id.slice(0, 12));
    expect(await repo.snapshots.records()).toEqual([s1.record, s2.record]);
  });

  it('the same tree with a new label is recorded again with the next sequence', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'a': '1' });
    const s1 = await snap(repo, from, 'candidate');
    const s2 = await snap(repo, from, 'final');
    expect(s2.recorded).toBe(true);
    expect(s2.record).toMatchObject({ id: s1.record.id, sequence: 2, parent: s1.record.id, label: 'final' });
    expect(await repo.snapshots.resolve('candidate')).toEqual(s1.record);
    expect(await repo.snapshots.resolve('final')).toEqual(s2.record);
  });

  it('going back to an older tree records it again (its label stays valid)', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'a': '1' });
    const s1 = await snap(repo, from, 'v1');
    fs.writeFileSync(join(from, 'a'), '2');
    const s2 = await snap(repo, from, 'v2');
    fs.writeFileSync(join(from, 'a'), '1');
    const s3 = await snap(repo, from, 'v1');
    expect(s3.recorded).toBe(true);
    expect(s3.record).toMatchObject({ id: s1.record.id, sequence: 3, parent: s2.record.id, label: 'v1' });
    expect(await repo.snapshots.resolve('v1')).toEqual(s3.record);
  });
});

describe('createSnapshot: modes and refusals', () => {
  it('executable files get mode 0755 in the tree, others 0644', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'run.sh': '#!/bin/sh\n', 'owner-exec': 'x', 'plain': 'p', 'private': 'q' });
    fs.chmodSync(join(from, 'run.sh'), 0o755);
    fs.chmodSync(join(from, 'owner-exec'), 0o700);
    fs.chmodSync(join(from, 'plain'), 0o644);
    fs.chmodSync(join(from, 'private'), 0o600);
    const result = await snap(repo, from);
    const modes = Object.fromEntries((await treeOf(repo, result)).entries.map((e) => [e.path, e.mode]));
    expect(modes).toEqual({ 'owner-exec': EXECUTABLE_MODE, 'plain': FILE_MODE, 'private': FILE_MODE, 'run.sh': EXECUTABLE_MODE });
    expect(EXECUTABLE_MODE).toBe(0o755);
    expect(FILE_MODE).toBe(0o644);
  });

  it('a mode change alone makes a new tree', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'tool': 'x' });
    const s1 = await snap(repo, from);
    fs.chmodSync(join(from, 'tool'), 0o755);
    const s2 = await snap(repo, from);
    expect(s2.recorded).toBe(true);
    expect(s2.record.id).not.toBe(s1.record.id);
    expect((await treeOf(repo, s2)).entries).toEqual([{ path: 'tool', id: b3('x'), size: 1, mode: EXECUTABLE_MODE }]);
  });

  it('a symlink in the source is BAD_SOURCE_TREE naming its path, and nothing is recorded', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'src/contrib/a_1.0.tar.gz': 'a' });
    fs.symlinkSync('a_1.0.tar.gz', join(from, 'src/contrib/latest.tar.gz'));
    const err = await rejectsWith(snap(repo, from), 'BAD_SOURCE_TREE', /src\/contrib\/latest\.tar\.gz is a symbolic link/);
    expect(err.where).toBe(join(fs.realpathSync(from), 'src/contrib/latest.tar.gz'));
    expect(await repo.snapshots.records()).toEqual([]);
  });

  it('a missing --from directory is NOT_FOUND naming it', async () => {
    const repo = await newRepo();
    const missing = join(tempDir(), 'no-such-mirror');
    const err = await rejectsWith(snap(repo, missing), 'NOT_FOUND', re(missing));
    expect(err.where).toBe(missing);
  });

  it('--from pointing at a file is BAD_SOURCE_TREE naming it', async () => {
    const repo = await newRepo();
    const file = join(tempDir(), 'PACKAGES');
    fs.writeFileSync(file, 'x');
    const err = await rejectsWith(snap(repo, file), 'BAD_SOURCE_TREE', re(`${file} is not a directory`));
    expect(err.where).toBe(file);
  });

  it('skip leaves paths out of the tree', async () => {
    const repo = await newRepo();
    const from = await settledSource({ 'keep': 'k', '.airlock/state': 's', '.airlock/deep/more': 'm' });
    fs.symlinkSync('keep', join(from, '.airlock/link')); // would be refused if walked
    const result = await createSnapshot(repo, { from, label: null, progress: silentProgress, skip: (rel) => rel === '.airlock' });
    expect((await treeOf(repo, result)).entries.map((e) => e.path)).toEqual(['keep']);
  });
});

describe('labels that would be misread', () => {
  it('refuses "latest" and hex-looking labels before reading anything', async () => {
    const { Repository } = await import('../../src/repository/repository.js');
    const { createSnapshot } = await import('../../src/repository/createSnapshot.js');
    const { silentProgress } = await import('../../src/core/progress.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = mkdtempSync(join(tmpdir(), 'airlock-label-'));
    writeFileSync(join(root, 'file'), 'x');
    const repo = await Repository.open(join(root, 'repo'), { create: true });
    for (const label of ['latest', 'abcd1234', '']) {
      await expect(createSnapshot(repo, { from: root, label, progress: silentProgress })).rejects.toMatchObject({ code: 'USAGE' });
    }
    expect(await repo.snapshots.records()).toEqual([]);
  });
});
