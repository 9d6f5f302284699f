import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  fsyncDir,
  fsyncDirSync,
  isTempName,
  mkdirDurable,
  pathExists,
  readJsonIfExists,
  syncFilesystem,
  syncFilesystemAsync,
  tempName,
  TempFile,
  writeFileDurable,
  writeJsonDurable,
} from '../../src/fs/durable.js';
import { cleanTempDirsAfterEach, tempDir } from '../repository/helpers.js';

cleanTempDirsAfterEach();

describe('tempName', () => {
  it('names a hidden temp beside the final path, unique per call, recognised by isTempName', () => {
    const a = tempName('/data/dir/file.json');
    const b = tempName('/data/dir/file.json');
    expect(a).not.toBe(b);
    expect(a.startsWith('/data/dir/.tmp-file.json-')).toBe(true);
    expect(a).toContain(`-${process.pid}-`);
    expect(isTempName(basename(a))).toBe(true);
    expect(isTempName('file.json')).toBe(false);
    expect(isTempName('x.tmp-')).toBe(false);
  });

  it('stays beside the final path for a bare name, a file in / and a relative path, as path.join would put it', () => {
    for (const [finalPath, dir] of [
      ['file.json', '.'],
      ['/file.json', '/'],
      ['rel/dir/file.json', 'rel/dir'],
    ] as const) {
      const temp = tempName(finalPath);
      expect(dirname(temp)).toBe(dir);
      expect(temp).toBe(join(dir, basename(temp)));
      expect(basename(temp).startsWith('.tmp-file.json-')).toBe(true);
    }
  });
});

describe('writeFileDurable', () => {
  it('writes the content, leaves no temp file and uses mode 0644 by default', async () => {
    const dir = tempDir();
    const path = join(dir, 'index.json');
    await writeFileDurable(path, 'hello');
    expect(fs.readFileSync(path, 'utf8')).toBe('hello');
    expect(fs.readdirSync(dir)).toEqual(['index.json']);
    expect(fs.statSync(path).mode & 0o777).toBe(0o644);
  });

  it('writes bytes and honours the mode', async () => {
    const dir = tempDir();
    const bytes = Uint8Array.from([0, 1, 2, 255, 254]);
    await writeFileDurable(join(dir, 'tree'), bytes, 0o444);
    await writeFileDurable(join(dir, 'private'), 'secret', 0o600);
    expect(Buffer.from(fs.readFileSync(join(dir, 'tree'))).equals(Buffer.from(bytes))).toBe(true);
    expect(fs.statSync(join(dir, 'tree')).mode & 0o777).toBe(0o444);
    expect(fs.statSync(join(dir, 'private')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['private', 'tree']);
  });

  it('replaces an existing file as a whole (new inode, new mode)', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    fs.writeFileSync(path, 'a much longer old content that must not survive');
    const oldInode = fs.statSync(path).ino;
    await writeFileDurable(path, 'new', 0o640);
    expect(fs.readFileSync(path, 'utf8')).toBe('new');
    expect(fs.statSync(path).ino).not.toBe(oldInode);
    expect(fs.statSync(path).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(dir)).toEqual(['f']);
  });

  it('throws when the target directory is missing, and leaves no temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'missing', 'f');
    await expect(writeFileDurable(path, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('when the rename fails (target is a directory), removes its temp file and keeps the target', async () => {
    const dir = tempDir();
    const target = join(dir, 'target');
    fs.mkdirSync(target);
    fs.writeFileSync(join(target, 'inside'), 'kept');
    await expect(writeFileDurable(target, 'x')).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual(['target']);
    expect(fs.readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
  });
});

describe('JSON helpers and pathExists', () => {
  it('writeJsonDurable writes pretty JSON with a final newline; readJsonIfExists reads it back', async () => {
    const dir = tempDir();
    const path = join(dir, 'marker.json');
    await writeJsonDurable(path, { format: 'x', version: 1 });
    expect(fs.readFileSync(path, 'utf8')).toBe('{\n  "format": "x",\n  "version": 1\n}\n');
    expect(await readJsonIfExists<{ format: string; version: number }>(path)).toEqual({ format: 'x', version: 1 });
  });

  it('readJsonIfExists returns undefined for a missing file and names a damaged one', async () => {
    const dir = tempDir();
    expect(await readJsonIfExists(join(dir, 'none.json'))).toBeUndefined();
    fs.writeFileSync(join(dir, 'bad.json'), '{ not json');
    await expect(readJsonIfExists(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'MANIFEST_INVALID', where: join(dir, 'bad.json') });
  });

  it('pathExists sees files, directories and dangling symlinks', async () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'f'), '');
    fs.symlinkSync('nowhere', join(dir, 'dangling'));
    expect(await pathExists(dir)).toBe(true);
    expect(await pathExists(join(dir, 'f'))).toBe(true);
    expect(await pathExists(join(dir, 'dangling'))).toBe(true);
    expect(await pathExists(join(dir, 'nope'))).toBe(false);
  });
});

describe('mkdirDurable', () => {
  it('creates nested directories', async () => {
    const dir = tempDir();
    const nested = join(dir, 'a', 'b', 'c');
    await mkdirDurable(nested);
    expect(fs.statSync(nested).isDirectory()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['a']);
    expect(fs.readdirSync(join(dir, 'a'))).toEqual(['b']);
  });

  it('is a no-op on an existing directory and extends a partly existing path', async () => {
    const dir = tempDir();
    fs.mkdirSync(join(dir, 'a'));
    fs.writeFileSync(join(dir, 'a', 'keep'), 'k');
    await mkdirDurable(join(dir, 'a'));
    await mkdirDurable(join(dir, 'a', 'x', 'y'));
    expect(fs.statSync(join(dir, 'a', 'x', 'y')).isDirectory()).toBe(true);
    expect(fs.readdirSync(join(dir, 'a')).sort()).toEqual(['keep', 'x']);
  });

  it('fails when a path component is a file', async () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'file'), '');
    await expect(mkdirDurable(join(dir, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('syncing', () => {
  it('syncFilesystem, fsyncDir and fsyncDirSync succeed on a real directory', async () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'f'), 'x');
    expect(() => syncFilesystem(dir)).not.toThrow();
    expect(() => fsyncDirSync(dir)).not.toThrow();
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
  });

  it('syncFilesystem falls back to a global sync for a path that does not exist', () => {
    expect(() => syncFilesystem(join(tempDir(), 'missing'))).not.toThrow();
  });

  /**
   * A stand-in for coreutils' sync: with --file-system it complains as `complaint` says and
   * exits 1; called plainly (the fallback to sync(2)) it leaves a mark and succeeds.
   */
  function fakeSync(dir: string, complaint: string): { program: string; fellBack: () => boolean } {
    const program = join(dir, 'sync');
    const mark = join(dir, 'plain-sync-ran');
    fs.writeFileSync(program, `#!/bin/sh\nif [ "$1" = --file-system ]; then echo "sync: ${complaint}" >&2; exit 1; fi\ntouch '${mark}'\n`, { mode: 0o755 });
    return { program, fellBack: () => fs.existsSync(mark) };
  }

  it('syncFilesystem reports an error the disk gave syncfs, instead of falling back to a sync(2) that would hide it', async () => {
    const dir = tempDir();
    const sync = fakeSync(dir, `error syncing '${dir}': Input/output error`);
    expect(() => syncFilesystem(dir, sync.program)).toThrow(/could not flush the filesystem of .*sync exited 1: sync: error syncing .*Input\/output error/);
    await expect(syncFilesystemAsync(dir, sync.program)).rejects.toMatchObject({ code: 'FILESYSTEM', message: expect.stringMatching(/Input\/output error/) });
    expect(sync.fellBack()).toBe(false);
  });

  it('syncFilesystem falls back to sync(2) when sync cannot open the path or has no --file-system', async () => {
    for (const complaint of ["error opening 'x': No such file or directory", "unrecognized option '--file-system'"]) {
      const sync = fakeSync(tempDir(), complaint);
      expect(() => syncFilesystem('/x', sync.program)).not.toThrow();
      expect(sync.fellBack()).toBe(true);
      const again = fakeSync(tempDir(), complaint);
      await expect(syncFilesystemAsync('/x', again.program)).resolves.toBeUndefined();
      expect(again.fellBack()).toBe(true);
    }
  });

  it('fsyncDir fails for a missing directory', async () => {
    await expect(fsyncDir(join(tempDir(), 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => fsyncDirSync(join(tempDir(), 'missing'))).toThrow(/ENOENT/);
  });
});

describe('TempFile.wrote (the disk writes while a large file is still being produced)', () => {
  /** FileHandle's prototype, for a spy on datasync: the class itself is not exported. */
  async function fileHandlePrototype(dir: string): Promise<{ datasync: () => Promise<void> }> {
    const handle = await fs.promises.open(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
    await handle.close();
    return prototype;
  }

  it('starts a data sync every 64 MiB written, one at a time, and the file commits whole', async () => {
    const dir = tempDir();
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync');
    try {
      const file = await TempFile.create(join(dir, 'big'));
      const piece = Buffer.alloc(8 * 1024 * 1024, 7);
      for (let i = 0; i < 25; i++) {
        await file.handle.write(piece, 0, piece.length, i * piece.length);
        file.wrote(piece.length);
      }
      // 200 MiB: a sync started at 64 MiB, and again each 64 MiB after it once the one before was done.
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(datasync.mock.calls.length).toBeLessThanOrEqual(3);
      await file.commit();
      expect(fs.statSync(join(dir, 'big')).size).toBe(25 * piece.length);
      expect(fs.readdirSync(dir).sort()).toEqual(['big', 'probe']);
    } finally {
      datasync.mockRestore();
    }
  });

  it('a background sync that fails fails the commit with its own error, and the temp file can still be discarded', async () => {
    const dir = tempDir();
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync').mockRejectedValue(eio);
    try {
      const file = await TempFile.create(join(dir, 'big'));
      const piece = Buffer.alloc(65 * 1024 * 1024, 1);
      await file.handle.write(piece, 0, piece.length, 0);
      file.wrote(piece.length);
      expect(datasync).toHaveBeenCalledTimes(1);
      await expect(file.commit()).rejects.toBe(eio);
      expect(fs.existsSync(join(dir, 'big'))).toBe(false);
      await file.discard();
      expect(fs.readdirSync(dir)).toEqual(['probe']);
    } finally {
      datasync.mockRestore();
    }
  });
});
