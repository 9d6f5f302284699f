import * as fs from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../errors.js';
import { pathProblem } from '../core/paths.js';

export interface WalkedFile {
  /** Relative, '/'-separated. */
  path: string;
  size: number;
  mode: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Set by the stat cache once the file's object id is known and safe to remember. */
  rememberedId?: string;
}

/**
 * Lists every regular file below `root`. Synchronous on purpose: a tree of 200,000
 * files is walked in about a second this way, several times faster than one awaited
 * lstat at a time. Anything that is not a directory or a regular file is refused with
 * its path, because a snapshot can only carry files (a symlink in an R repository tree
 * is a mistake of the copy, not data).
 */
export function walkTree(root: string, skip: (relative: string) => boolean = () => false): WalkedFile[] {
  const files: WalkedFile[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relDir = pending.pop()!;
    const absDir = relDir ? join(root, relDir) : root;
    for (const dirent of fs.readdirSync(absDir, { withFileTypes: true })) {
      const rel = relDir ? `${relDir}/${dirent.name}` : dirent.name;
      if (skip(rel)) continue;
      const problem = pathProblem(rel);
      if (problem) throw badTree(`cannot record ${JSON.stringify(rel)}: ${problem}`, join(root, rel));
      if (dirent.isDirectory()) {
        pending.push(rel);
      } else if (dirent.isFile()) {
        const st = fs.lstatSync(join(root, rel));
        files.push({ path: rel, size: st.size, mode: st.mode, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
      } else {
        const kind = dirent.isSymbolicLink() ? 'a symbolic link' : 'not a regular file (device, socket or fifo)';
        throw badTree(`${rel} is ${kind}; snapshots hold only regular files and directories`, join(root, rel));
      }
    }
  }
  return files;
}

function badTree(message: string, where: string): AirlockError {
  return new AirlockError('BAD_SOURCE_TREE', message, {
    where,
    hint: 'replace links with the files they point to (cp -L) or remove them, then run the command again',
  });
}
