import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkTree, type WalkedFile } from '../../src/fs/walk.js';
import { cleanTempDirsAfterEach, tempDir, throwsWith } from '../repository/helpers.js';

cleanTempDirsAfterEach();

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(join(root, rel, '..'), { recursive: true });
  fs.writeFileSync(join(root, rel), content);
}

function byPath(files: WalkedFile[]): WalkedFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

describe('walkTree', () => {
  it('lists nested regular files with sizes and relative / paths; directories are not listed', () => {
    const root = tempDir();
    write(root, 'PACKAGES', 'abc');
    write(root, 'src/contrib/a_1.0.tar.gz', '12345');
    write(root, 'src/contrib/4.4/deep/x', '');
    fs.mkdirSync(join(root, 'empty/dir'), { recursive: true });
    const files = byPath(walkTree(root));
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['PACKAGES', 3],
      ['src/contrib/4.4/deep/x', 0],
      ['src/contrib/a_1.0.tar.gz', 5],
    ]);
  });

  it('reports the stat of each file (mode, mtime, ctime, inode)', () => {
    const root = tempDir();
    write(root, 'dir/tool', '#!/bin/sh\n');
    fs.chmodSync(join(root, 'dir/tool'), 0o755);
    const [file] = walkTree(root);
    const st = fs.lstatSync(join(root, 'dir/tool'));
    expect(file).toEqual({ path: 'dir/tool', size: st.size, mode: st.mode, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    expect(file!.mode & 0o777).toBe(0o755);
  });

  it('returns nothing for an empty directory', () => {
    expect(walkTree(tempDir())).toEqual([]);
  });

  it('refuses a symlink to a file with BAD_SOURCE_TREE naming it', () => {
    const root = tempDir();
    write(root, 'real', 'r');
    fs.symlinkSync('real', join(root, 'link'));
    const err = throwsWith(() => walkTree(root), 'BAD_SOURCE_TREE', /link is a symbolic link/);
    expect(err.where).toBe(join(root, 'link'));
    expect(err.hint).toMatch(/cp -L/);
  });

  it('refuses a symlink to a directory (does not follow it)', () => {
    const root = tempDir();
    write(root, 'dir/inside', 'i');
    fs.symlinkSync('dir', join(root, 'sub-link'));
    const err = throwsWith(() => walkTree(root), 'BAD_SOURCE_TREE', /sub-link is a symbolic link/);
    expect(err.where).toBe(join(root, 'sub-link'));
  });

  it('refuses a fifo with BAD_SOURCE_TREE naming it', () => {
    const root = tempDir();
    write(root, 'ok', 'o');
    fs.mkdirSync(join(root, 'nested'));
    execFileSync('mkfifo', [join(root, 'nested', 'pipe')]);
    const err = throwsWith(() => walkTree(root), 'BAD_SOURCE_TREE', /nested\/pipe is not a regular file/);
    expect(err.where).toBe(join(root, 'nested', 'pipe'));
  });

  it('refuses names that cannot be recorded (backslash, control character)', () => {
    const withBackslash = tempDir();
    write(withBackslash, 'a\\b', 'x');
    throwsWith(() => walkTree(withBackslash), 'BAD_SOURCE_TREE', /backslash/);

    const withNewline = tempDir();
    write(withNewline, 'dir/bad\nname', 'x');
    const err = throwsWith(() => walkTree(withNewline), 'BAD_SOURCE_TREE', /control character/);
    expect(err.where).toBe(join(withNewline, 'dir/bad\nname'));
  });

  it('skip leaves out files and whole directories (whose contents are never looked at)', () => {
    const root = tempDir();
    write(root, 'keep/a', 'a');
    write(root, 'keep/skip-me', 'b');
    write(root, '.airlock/state', 's');
    fs.symlinkSync('state', join(root, '.airlock/link'));
    execFileSync('mkfifo', [join(root, '.airlock/fifo')]);
    const seen: string[] = [];
    const files = walkTree(root, (rel) => {
      seen.push(rel);
      return rel === '.airlock' || rel.endsWith('/skip-me');
    });
    expect(files.map((f) => f.path)).toEqual(['keep/a']);
    expect(seen.sort()).toEqual(['.airlock', 'keep', 'keep/a', 'keep/skip-me']);
  });

  it('fails for a root that does not exist', () => {
    expect(() => walkTree(join(tempDir(), 'missing'))).toThrow(/ENOENT/);
  });
});
