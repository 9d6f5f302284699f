import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/access.js';
import type { Progress } from '../../src/core/progress.js';
import { DataDir } from '../../src/deployment/dataDir.js';
import { checkServerAccess } from '../../src/deployment/serverAccess.js';
import { switchDeployment } from '../../src/deployment/switchDeployment.js';
import { tempDir } from '../helpers/fixtures.js';

/** An account that owns nothing here: only the "other" bits let it in. */
const stranger: Account = { name: 'stranger', uid: 54321, gid: 54321, ownerSpec: 'stranger:stranger', groups: [54321], description: 'stranger (uid 54321)' };

function countingProgress(): Progress & { files: number } {
  const p = { files: 0, phase: () => undefined, advance: (files: number) => void (p.files += files), warn: () => undefined, end: () => undefined };
  return p;
}

/** A data dir whose current deployment holds `count` readable files in 40 directories, with a few made wrong. */
function dataDirWithProblems(count: number): { dataDir: DataDir; bad: Record<string, string[]> } {
  const root = tempDir();
  fs.chmodSync(root, 0o755);
  const dataDir = new DataDir(join(root, 'rspm-offline-data'));
  const id = 'c'.repeat(64);
  const deployment = dataDir.deploymentPath(id);
  fs.mkdirSync(deployment, { recursive: true, mode: 0o755 });
  for (const dir of [dataDir.stateDir, dataDir.deploymentsDir, deployment]) fs.chmodSync(dir, 0o755);
  for (let i = 0; i < count; i++) {
    const dir = join(deployment, `d${String(i % 40).padStart(2, '0')}`);
    if (i < 40) fs.mkdirSync(dir, { mode: 0o755 });
    fs.writeFileSync(join(dir, `f${i}.txt`), 'x', { mode: 0o444 });
  }
  const unreadable = ['d03/f43.txt', 'd07/f7.txt', 'd11/f91.txt'];
  for (const path of unreadable) fs.chmodSync(join(deployment, path), 0o400);
  fs.chmodSync(join(deployment, 'd20'), 0o777);
  fs.chmodSync(join(deployment, 'd05/f5.txt'), 0o4444);
  switchDeployment(dataDir, id);
  return { dataDir, bad: { unreadable, writable: ['d20'], setId: ['d05/f5.txt'] } };
}

describe('checkServerAccess', () => {
  it('finds the same problems, named by the same examples, whether its lstats run on the store threads or here', async () => {
    const { dataDir, bad } = dataDirWithProblems(6_000);
    // 6,000 files as the deployment's count puts the lstats on the threads; 10, here.
    const threaded = countingProgress();
    const onThreads = await checkServerAccess(dataDir, stranger, 6_000, threaded);
    const here = await checkServerAccess(dataDir, stranger, 10, countingProgress());
    expect(onThreads.problems).toEqual(here.problems);
    expect(onThreads.warnings).toEqual(here.warnings);
    const byKind = Object.fromEntries(onThreads.problems.map((p) => [p.kind, p]));
    expect(byKind['file-unreadable']!.count).toBe(bad.unreadable!.length);
    expect(byKind['file-unreadable']!.examples.map((e) => e.split(' (')[0]!.slice(dataDir.path.length + 1)).sort()).toEqual([...bad.unreadable!].sort());
    expect(byKind['writable-by-others']!.examples.map((e) => e.split(' (')[0]!.slice(dataDir.path.length + 1))).toEqual(bad.writable);
    expect(byKind['set-id']!.examples.map((e) => e.split(' (')[0]!.slice(dataDir.path.length + 1))).toEqual(bad.setId);
    expect(onThreads.files).toBe(6_000);
    expect(onThreads.directories).toBe(41); // the deployment and its 40 directories
    expect(threaded.files).toBe(6_000);
  });
});
