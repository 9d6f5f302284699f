import * as fs from 'node:fs';
import { join } from 'node:path';
import { hashFile } from '../repository/objectStore.js';
import type { Tree } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from '../repository/repository.js';

export type ProblemKind = 'missing' | 'not-a-file' | 'wrong-size' | 'altered' | 'unexpected';

export interface Problem {
  kind: ProblemKind;
  path: string;
  detail: string;
}

/**
 * Checks a tree on disk against its manifest. Quick: every file is present, a regular
 * file and of the right size, and nothing extra is there. Deep: also re-hashes every
 * file (an edited file keeps its size more often than not).
 */
export async function verifyTreeOnDisk(root: string, tree: Tree, deep: boolean, progress: Progress): Promise<Problem[]> {
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

function listFiles(root: string): string[] {
  const out: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    for (const d of fs.readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) pending.push(child);
      else out.push(child);
    }
  }
  return out;
}

/** Checks the objects of a repository: presence and size, or (deep) the hash of each. */
export async function verifyObjects(repo: Repository, trees: Tree[], deep: boolean, progress: Progress): Promise<Problem[]> {
  const sizes = new Map<string, number>();
  for (const tree of trees) for (const e of tree.entries) sizes.set(e.id, e.size);
  let total = 0;
  for (const size of sizes.values()) total += size;
  progress.phase(deep ? 're-hashing objects' : 'checking objects', { files: sizes.size, bytes: deep ? total : 0 });
  const problems: Problem[] = [];
  for (const [id, size] of sizes) {
    const path = repo.objects.path(id);
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch {
      problems.push({ kind: 'missing', path, detail: `object ${id.slice(0, 12)} is missing` });
      continue;
    }
    if (st.size !== size) problems.push({ kind: 'wrong-size', path, detail: `${st.size} bytes, expected ${size}` });
    else if (deep && (await hashFile(path)) !== id) problems.push({ kind: 'altered', path, detail: `object ${id.slice(0, 12)} no longer matches its hash` });
    progress.advance(1, deep ? size : 0);
  }
  return problems;
}
