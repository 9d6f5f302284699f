import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { sortEntries, type Tree } from '../../src/core/manifest.js';
import type { Progress } from '../../src/core/progress.js';
import { verifyTreeOnDisk } from '../../src/deployment/verifyTree.js';
import { tempDir } from '../helpers/fixtures.js';
import { patternBytes } from '../repository/helpers.js';

/** A tree of `count` small files (and one over the batch limit) written under a new directory. */
function writeTree(count: number): { root: string; tree: Tree } {
  const root = tempDir();
  const entries = [];
  for (let i = 0; i < count; i++) {
    const path = `d${i % 37}/f${i}.bin`;
    const bytes = patternBytes(i === 5 ? 5 * 1024 * 1024 : 20 + (i % 900), i + 1);
    fs.mkdirSync(join(root, dirname(path)), { recursive: true });
    fs.writeFileSync(join(root, path), bytes);
    entries.push({ path, id: blake3(bytes).toString('hex'), size: bytes.length, mode: 0o644 as const });
  }
  return { root, tree: { entries: sortEntries(entries) } };
}

/** Counts what the progress is told, to check every file is counted once. */
function countingProgress(): Progress & { files: number; bytes: number } {
  const p = {
    files: 0,
    bytes: 0,
    phase: () => undefined,
    advance: (files: number, bytes: number) => {
      p.files += files;
      p.bytes += bytes;
    },
    warn: () => undefined,
  };
  return p as unknown as Progress & { files: number; bytes: number };
}

// 6,000 files: enough for the store threads; 300: re-hashed on the main thread by the same code.
describe.each([
  ['on the store threads', 6_000],
  ['on the main thread', 300],
])('verifyTreeOnDisk --deep (%s)', (_where, count) => {
  it('finds a same-size edit, a cut file, a missing one and an extra one, in the tree’s order; every file is counted once', async () => {
    const { root, tree } = writeTree(count);
    const edited = [tree.entries[3]!, tree.entries[count - 2]!, tree.entries.find((e) => e.size > 4 * 1024 * 1024)!];
    for (const entry of edited) {
      const path = join(root, entry.path);
      const bytes = fs.readFileSync(path);
      bytes[bytes.length - 1] ^= 0xff;
      const { mtime } = fs.statSync(path);
      fs.writeFileSync(path, bytes);
      fs.utimesSync(path, mtime, mtime); // edited, with its time put back: only the hash can tell
    }
    const missing = tree.entries[10]!;
    fs.rmSync(join(root, missing.path));
    const cut = tree.entries[20]!;
    fs.truncateSync(join(root, cut.path), cut.size - 1);
    fs.writeFileSync(join(root, 'd0', 'extra.bin'), 'not in the tree');

    const progress = countingProgress();
    const problems = await verifyTreeOnDisk(root, tree, true, progress);
    const expected = [
      ...[...edited.map((e) => ({ path: e.path, kind: 'altered' })), { path: missing.path, kind: 'missing' }, { path: cut.path, kind: 'wrong-size' }].sort(
        (a, b) => tree.entries.findIndex((e) => e.path === a.path) - tree.entries.findIndex((e) => e.path === b.path),
      ),
      { path: 'd0/extra.bin', kind: 'unexpected' },
    ];
    expect(problems.map((p) => ({ path: p.path, kind: p.kind }))).toEqual(expected);
    expect(problems.find((p) => p.path === edited[0]!.path)!.detail).toMatch(/^content hashes to [0-9a-f]{12}, expected [0-9a-f]{12}$/);
    expect(progress.files).toBe(count - 1); // the missing file is not counted
    // An untouched tree: nothing found.
    const clean = writeTree(count);
    expect(await verifyTreeOnDisk(clean.root, clean.tree, true, countingProgress())).toEqual([]);
  });
});
