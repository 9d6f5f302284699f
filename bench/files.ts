import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Small file-tree helpers shared by the corpus builders and the checks. */
export interface FileInfo {
  /** Relative to the listed root, '/'-separated. */
  path: string;
  size: number;
  ino: number;
}

export interface TreeStats {
  files: number;
  bytes: number;
}

export function listFiles(root: string): FileInfo[] {
  const dirents = fs.readdirSync(root, { recursive: true, withFileTypes: true });
  const files: FileInfo[] = [];
  for (const d of dirents) {
    if (!d.isFile()) continue;
    const abs = join(d.parentPath, d.name);
    const st = fs.statSync(abs);
    files.push({ path: relative(root, abs), size: st.size, ino: st.ino });
  }
  return files;
}

export function treeStats(root: string): TreeStats {
  let bytes = 0;
  const files = listFiles(root);
  for (const f of files) bytes += f.size;
  return { files: files.length, bytes };
}

export interface ContentDiff {
  /** Distinct contents of `after` that `before` does not hold anywhere. */
  newContents: number;
  newBytes: number;
  hashedBytes: number;
}

/**
 * The bytes that are really new in `after`: the sizes of the distinct file contents
 * (SHA-256, independent of airlock's BLAKE3) that appear nowhere in `before`. This is
 * the floor for any delta that carries whole files. Files that share an inode with a
 * `before` file are known to hold `before` content and are not hashed twice.
 */
export function contentDiff(before: string, after: string): ContentDiff {
  const known = new Set<string>();
  const beforeInodes = new Set<number>();
  let hashedBytes = 0;
  const hashOnce = new Map<number, string>();
  const hash = (root: string, f: FileInfo): string => {
    let digest = hashOnce.get(f.ino);
    if (digest === undefined) {
      digest = createHash('sha256').update(fs.readFileSync(join(root, f.path))).digest('hex');
      hashOnce.set(f.ino, digest);
      hashedBytes += f.size;
    }
    return digest;
  };
  for (const f of listFiles(before)) {
    beforeInodes.add(f.ino);
    known.add(hash(before, f));
  }
  const fresh = new Map<string, number>();
  for (const f of listFiles(after)) {
    if (beforeInodes.has(f.ino)) continue;
    const digest = hash(after, f);
    if (!known.has(digest)) fresh.set(digest, f.size);
  }
  let newBytes = 0;
  for (const size of fresh.values()) newBytes += size;
  return { newContents: fresh.size, newBytes, hashedBytes };
}

/** A parameters file beside a generated tree: the tree is reused only when it matches exactly. */
export function readMarker<T>(path: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function sameParams(a: object, b: object): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `cp -al`: a tree of hardlinks, so a scratch copy of the corpus costs no bytes. */
export function linkTree(source: string, target: string): void {
  for (const f of listFiles(source)) {
    const to = join(target, f.path);
    fs.mkdirSync(dirname(to), { recursive: true });
    fs.linkSync(join(source, f.path), to);
  }
}

/**
 * Brings `mirror` to the content of `source` the way rsync -a updates a mirror: a file
 * that is the same inode is left alone (so its stat, and airlock's stat cache entry,
 * stay valid), any other file is replaced by a fresh copy (new inode, source mtime),
 * and files `source` lacks are removed. It never writes into an existing inode, so
 * hardlinks into the corpus are safe.
 */
export function syncInPlace(source: string, mirror: string): { copied: number; removed: number } {
  const wanted = new Map(listFiles(source).map((f) => [f.path, f]));
  let removed = 0;
  for (const f of listFiles(mirror)) {
    if (wanted.has(f.path)) continue;
    fs.rmSync(join(mirror, f.path));
    removed++;
  }
  let copied = 0;
  for (const [path, f] of wanted) {
    const to = join(mirror, path);
    if (fs.existsSync(to) && fs.statSync(to).ino === f.ino) continue;
    const from = join(source, path);
    fs.mkdirSync(dirname(to), { recursive: true });
    fs.rmSync(to, { force: true });
    fs.copyFileSync(from, to);
    const st = fs.statSync(from);
    fs.utimesSync(to, st.atime, st.mtime);
    copied++;
  }
  return { copied, removed };
}
