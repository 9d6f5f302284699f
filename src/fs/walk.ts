import * as fs from 'node:fs';
import { join, normalize } from 'node:path';
import { AirlockError } from '../errors.js';
import { pathProblem, prefixUnder } from '../core/paths.js';

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

export interface WalkEntry {
  /** Relative to the root, '/'-separated. */
  path: string;
  dirent: fs.Dirent;
}

export interface WalkOptions {
  /** Relative paths to pass over (a directory so named is not entered). */
  skip?: (relative: string) => boolean;
  /** A directory that cannot be listed: return true to go on without it, false (the default) to throw. */
  unreadable?: (relative: string, err: unknown) => boolean;
}

/**
 * Every entry below `root`, each directory's entries after the directory itself. A
 * symbolic link is reported as what it is (dirent.isSymbolicLink()) and never followed
 * or entered, so a walk cannot leave the tree it was given. The one tree walk of airlock:
 * snapshots, ownership, the server's access and the check of a deployment all use it.
 * Synchronous on purpose: a tree of 200,000 files is walked in about a second this way,
 * several times faster than one awaited readdir at a time.
 */
export function* walkEntries(root: string, options: WalkOptions = {}): Generator<WalkEntry> {
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relDir = pending.pop()!;
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(relDir ? join(root, relDir) : root, { withFileTypes: true });
    } catch (err) {
      if (options.unreadable?.(relDir, err)) continue;
      throw err;
    }
    for (const dirent of dirents) {
      const rel = relDir ? `${relDir}/${dirent.name}` : dirent.name;
      if (options.skip?.(rel)) continue;
      yield { path: rel, dirent };
      if (dirent.isDirectory()) pending.push(rel);
    }
  }
}

/**
 * Lists every regular file below `root`. Anything that is not a directory or a regular
 * file is refused with its path, because a snapshot can only carry files (a symlink in an
 * R repository tree is a mistake of the copy, not data).
 */
export function walkTree(root: string, skip: (relative: string) => boolean = () => false): WalkedFile[] {
  const files: WalkedFile[] = [];
  const under = pathsUnder(root);
  for (const { path: rel, dirent } of walkEntries(root, { skip })) {
    const problem = pathProblem(rel);
    if (problem) throw badTree(`cannot record ${JSON.stringify(rel)}: ${problem}`, join(root, rel));
    if (dirent.isDirectory()) continue;
    if (dirent.isFile()) {
      const st = fs.lstatSync(under(rel));
      files.push({ path: rel, size: smallInteger(st.size), mode: smallInteger(st.mode), mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: smallInteger(st.ino) });
    } else {
      const kind = dirent.isSymbolicLink() ? 'a symbolic link' : 'not a regular file (device, socket or fifo)';
      throw badTree(`${rel} is ${kind}; snapshots hold only regular files and directories`, join(root, rel));
    }
  }
  return files;
}

/** Names checked relative paths under `root` (normalised once) by concatenation: see prefixUnder. */
export function pathsUnder(root: string): (relative: string) => string {
  const prefix = prefixUnder(normalize(root));
  return (relative) => prefix + relative;
}

/**
 * The same number, as V8's small integer when it fits. A Stats object's fields come out of a
 * Float64Array, so each is a boxed double of 16 bytes, even 644 or 347; kept per walked file
 * that is 48 bytes of boxes for size, mode and inode, 48 MB at a million files.
 */
function smallInteger(n: number): number {
  return n >= 0 && n <= 0x7fff_ffff ? n | 0 : n;
}

function badTree(message: string, where: string): AirlockError {
  return new AirlockError('BAD_SOURCE_TREE', message, {
    where,
    hint: 'replace links with the files they point to (cp -L) or remove them, then run the command again',
  });
}
