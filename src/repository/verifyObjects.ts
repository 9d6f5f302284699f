import * as fs from 'node:fs';
import type { Tree } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';
import { hashFile } from './objectStore.js';
import { Repository } from './repository.js';

export type ProblemKind = 'missing' | 'not-a-file' | 'wrong-size' | 'altered' | 'unexpected';

export interface Problem {
  kind: ProblemKind;
  path: string;
  detail: string;
}

export interface VerifyReport {
  target: string;
  checked: number;
  problems: Problem[];
}

/** `verify --repo`: every object every snapshot of the repository refers to. */
export async function verifyRepository(path: string, deep: boolean, progress: Progress): Promise<VerifyReport> {
  const repo = await Repository.open(path);
  const records = await repo.snapshots.records();
  const trees = await Promise.all([...new Set(records.map((r) => r.id))].map((id) => repo.snapshots.loadTree(id)));
  const problems = await verifyObjects(repo, trees, deep, progress);
  const checked = new Set(trees.flatMap((t) => t.entries.map((e) => e.id))).size;
  return { target: path, checked, problems };
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
