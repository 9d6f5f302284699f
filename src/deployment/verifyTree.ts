import * as fs from 'node:fs';
import { join } from 'node:path';
import { hashFile } from '../repository/objectStore.js';
import type { Problem } from '../repository/verifyObjects.js';
import { walkEntries } from '../fs/walk.js';
import type { Tree } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';

/**
 * Checks a tree on disk against its manifest. Quick: every file is present, a regular
 * file of the right size, not modified after the deployment was built, and nothing extra is there. Deep: also re-hashes every
 * file (an edited file keeps its size more often than not).
 */
export async function verifyTreeOnDisk(root: string, tree: Tree, deep: boolean, progress: Progress, deployedAt?: string): Promise<Problem[]> {
  // A file modified after its deployment was built was edited in place: hardlinked, so the stored object changed too.
  const builtMs = deployedAt === undefined ? Infinity : Date.parse(deployedAt);
  const problems: Problem[] = [];
  const expected = new Set<string>();
  let totalBytes = 0;
  for (const e of tree.entries) totalBytes += e.size;
  progress.phase(deep ? 're-hashing every file' : 'checking presence and sizes', { files: tree.entries.length, bytes: deep ? totalBytes : 0 });
  for (const entry of tree.entries) {
    expected.add(entry.path);
    const path = join(root, entry.path);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path);
    } catch {
      problems.push({ kind: 'missing', path: entry.path, detail: 'the file is missing' });
      continue;
    }
    if (!st.isFile()) {
      problems.push({ kind: 'not-a-file', path: entry.path, detail: 'not a regular file' });
    } else if (st.size !== entry.size) {
      problems.push({ kind: 'wrong-size', path: entry.path, detail: `${st.size} bytes, expected ${entry.size}` });
    } else if (st.mtimeMs > builtMs) {
      problems.push({ kind: 'altered', path: entry.path, detail: `modified at ${st.mtime.toISOString()}, after its deployment was built (${new Date(builtMs).toISOString()}): edited in place` });
    } else if (deep) {
      const actual = await hashFile(path);
      if (actual !== entry.id) problems.push({ kind: 'altered', path: entry.path, detail: `content hashes to ${actual?.slice(0, 12)}, expected ${entry.id.slice(0, 12)}` });
    }
    progress.advance(1, deep ? entry.size : 0);
  }
  for (const extra of listFiles(root).filter((p) => !expected.has(p))) {
    problems.push({ kind: 'unexpected', path: extra, detail: 'not part of the snapshot' });
  }
  return problems;
}

/** Everything below `root` that is not a directory: files, and links or devices no deployment holds. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const { path, dirent } of walkEntries(root)) if (!dirent.isDirectory()) out.push(path);
  return out;
}
