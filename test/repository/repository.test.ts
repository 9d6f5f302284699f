import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { REPOSITORY_FORMAT, REPOSITORY_MARKER, REPOSITORY_VERSION } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
import { cleanTempDirsAfterEach, re, rejectsWith, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

function readMarker(root: string): unknown {
  return JSON.parse(fs.readFileSync(join(root, REPOSITORY_MARKER), 'utf8'));
}

describe('Repository.open', () => {
  it('creates a repository in a new directory: marker, objects/v1 and snapshots/v1', async () => {
    const root = join(tempDir(), 'nested', 'repo');
    const repo = await Repository.open(root, { create: true });
    expect(repo.root).toBe(root);
    expect(REPOSITORY_MARKER).toBe('airlock-repository.json');
    expect(readMarker(root)).toEqual({ format: 'airlock-repository', version: 1 });
    expect(fs.statSync(join(root, 'objects', 'v1')).isDirectory()).toBe(true);
    expect(fs.statSync(join(root, 'snapshots', 'v1')).isDirectory()).toBe(true);
    expect(repo.layout.objectsDir).toBe(join(root, 'objects', 'v1'));
    expect(repo.objects.layout).toBe(repo.layout);
    expect(repo.snapshots.layout).toBe(repo.layout);
    expect(await repo.snapshots.records()).toEqual([]);
    // No temp files left beside the marker.
    expect(fs.readdirSync(root).sort()).toEqual(['airlock-repository.json', 'objects', 'snapshots']);
  });

  it('creates a repository in an existing empty directory', async () => {
    const root = tempDir();
    await Repository.open(root, { create: true });
    expect(readMarker(root)).toEqual({ format: REPOSITORY_FORMAT, version: REPOSITORY_VERSION });
  });

  it('opens an existing repository with or without create, keeping its content', async () => {
    const root = tempDir();
    const created = await Repository.open(root, { create: true });
    await created.snapshots.writeIndex([{ id: 'a'.repeat(64), sequence: 1, label: 'x', parent: null, createdAt: '2026-01-01T00:00:00.000Z', files: 0, bytes: 0 }]);
    const markerBefore = fs.statSync(join(root, REPOSITORY_MARKER)).ino;
    for (const options of [{}, { create: true }]) {
      const repo = await Repository.open(root, options);
      expect((await repo.snapshots.resolve('x')).sequence).toBe(1);
    }
    expect(fs.statSync(join(root, REPOSITORY_MARKER)).ino).toBe(markerBefore);
  });

  it('opening a directory that is not a repository is NOT_A_REPOSITORY naming it', async () => {
    const empty = tempDir();
    const err = await rejectsWith(Repository.open(empty), 'NOT_A_REPOSITORY', re(`${empty} is not an airlock repository`));
    expect(err.where).toBe(empty);
    expect(fs.readdirSync(empty)).toEqual([]);

    const missing = join(tempDir(), 'missing');
    await rejectsWith(Repository.open(missing), 'NOT_A_REPOSITORY', re(missing));
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('creating in a non-empty directory that is not a repository is NOT_A_REPOSITORY, and writes nothing', async () => {
    const root = tempDir();
    fs.writeFileSync(join(root, 'precious.txt'), 'do not touch');
    const err = await rejectsWith(Repository.open(root, { create: true }), 'NOT_A_REPOSITORY', re(`${root} exists, is not empty`));
    expect(err.where).toBe(root);
    expect(fs.readdirSync(root)).toEqual(['precious.txt']);
  });

  it('allowExisting creates a repository in a non-empty directory', async () => {
    const root = tempDir();
    fs.writeFileSync(join(root, 'precious.txt'), 'kept');
    await Repository.open(root, { create: true, allowExisting: true });
    expect(readMarker(root)).toEqual({ format: REPOSITORY_FORMAT, version: REPOSITORY_VERSION });
    expect(fs.readFileSync(join(root, 'precious.txt'), 'utf8')).toBe('kept');
  });

  it('a marker with another version is FORMAT_UNSUPPORTED naming the marker', async () => {
    const root = tempDir();
    fs.writeFileSync(join(root, REPOSITORY_MARKER), JSON.stringify({ format: 'airlock-repository', version: 2 }));
    for (const options of [{}, { create: true }]) {
      const err = await rejectsWith(Repository.open(root, options), 'FORMAT_UNSUPPORTED', /v2 is not supported/);
      expect(err.where).toBe(join(root, REPOSITORY_MARKER));
    }
    // It was not overwritten by the create attempt.
    expect(readMarker(root)).toEqual({ format: 'airlock-repository', version: 2 });
  });

  it('a damaged marker (not JSON) is reported as an AirlockError naming the marker, not as an internal error', async () => {
    // errors.ts: "Every failure airlock reports is an AirlockError"; anything else is
    // printed by the CLI as "internal error ... this is a bug in airlock".
    const root = tempDir();
    const marker = join(root, REPOSITORY_MARKER);
    fs.writeFileSync(marker, '{"format": "airlock-repos');
    let caught: unknown;
    try {
      await Repository.open(root);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AirlockError);
    const err = caught as AirlockError;
    expect(['NOT_A_REPOSITORY', 'FORMAT_UNSUPPORTED', 'MANIFEST_INVALID']).toContain(err.code);
    expect(err.where).toBe(marker);
  });

  it('a marker of another format is FORMAT_UNSUPPORTED', async () => {
    const root = tempDir();
    fs.writeFileSync(join(root, REPOSITORY_MARKER), JSON.stringify({ format: 'something-else', version: 1 }));
    await rejectsWith(Repository.open(root), 'FORMAT_UNSUPPORTED', /something-else/);
  });
});

describe('Repository.locked', () => {
  it('removes tmp/ leftovers before the work and holds the lock during it', async () => {
    const root = tempDir();
    const repo = await Repository.open(root, { create: true });
    fs.mkdirSync(join(repo.layout.tmpDir, 'sub'), { recursive: true });
    fs.writeFileSync(join(repo.layout.tmpDir, '.tmp-object-123-deadbeef'), 'half-written object');
    fs.writeFileSync(join(repo.layout.tmpDir, 'sub', 'x'), 'x');
    const result = await repo.locked('snapshot create', async () => {
      expect(fs.existsSync(repo.layout.tmpDir)).toBe(false);
      const owner = JSON.parse(fs.readFileSync(repo.layout.lockPath, 'utf8')) as { pid: number; command: string };
      expect(owner.pid).toBe(process.pid);
      expect(owner.command).toBe('snapshot create');
      return 42;
    });
    expect(result).toBe(42);
    expect(fs.existsSync(repo.layout.lockPath)).toBe(false);
  });

  it('refuses with LOCKED while another command holds the repository, and leaves its scratch alone', async () => {
    const repo = await Repository.open(tempDir(), { create: true });
    await repo.locked('first', async () => {
      fs.mkdirSync(repo.layout.tmpDir, { recursive: true });
      fs.writeFileSync(join(repo.layout.tmpDir, 'in-use'), 'x');
      const err = await rejectsWith(repo.locked('second', async () => 'ran'), 'LOCKED', re(`first, pid ${process.pid} on ${hostname()}`));
      expect(err.where).toBe(repo.layout.lockPath);
      expect(fs.existsSync(join(repo.layout.tmpDir, 'in-use'))).toBe(true);
    });
    expect(fs.existsSync(repo.layout.lockPath)).toBe(false);
  });

  it('releases the lock when the work throws', async () => {
    const repo = await Repository.open(tempDir(), { create: true });
    await expect(repo.locked('failing', async () => {
      throw new Error('work failed');
    })).rejects.toThrow('work failed');
    expect(fs.existsSync(repo.layout.lockPath)).toBe(false);
    expect(await repo.locked('again', async () => 'ok')).toBe('ok');
  });
});
