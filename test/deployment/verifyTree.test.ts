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

// 6,000 files: enough for the store threads; 300: checked on the main thread by the same code.
const WHERE = [
  ['on the store threads', 6_000],
  ['on the main thread', 300],
] as const;

describe.each(WHERE)('verifyTreeOnDisk --deep (%s)', (_where, count) => {
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

// The quick check lstats every file on the store's threads or here, by the same code.
describe.each(WHERE)('verifyTreeOnDisk, quick (%s)', (_where, count) => {
  it('finds a missing file, another size, a directory and a link where files belong, a file changed after the build, and extra entries, in the tree’s order', async () => {
    const { root, tree } = writeTree(count);
    const builtAt = new Date(Date.now() - 60_000);
    for (const e of tree.entries) fs.utimesSync(join(root, e.path), builtAt, builtAt);
    const at = (i: number) => tree.entries[i]!;
    fs.rmSync(join(root, at(10).path));
    fs.truncateSync(join(root, at(20).path), at(20).size - 1);
    fs.rmSync(join(root, at(30).path));
    fs.mkdirSync(join(root, at(30).path));
    fs.rmSync(join(root, at(40).path));
    fs.symlinkSync(join(root, at(41).path), join(root, at(40).path));
    fs.utimesSync(join(root, at(count - 3).path), new Date(), new Date()); // same size, touched after the build
    fs.writeFileSync(join(root, 'd1', 'extra.bin'), 'not in the tree');
    fs.symlinkSync('/etc', join(root, 'd2', 'extra-link'));

    const progress = countingProgress();
    const problems = await verifyTreeOnDisk(root, tree, false, progress, new Date(builtAt.getTime() + 1000).toISOString());
    // The tree's files in its order, then what the walk found besides (in the directories' order).
    const extras = problems.filter((p) => p.kind === 'unexpected');
    expect(problems.slice(0, -extras.length).map((p) => ({ path: p.path, kind: p.kind }))).toEqual([
      { path: at(10).path, kind: 'missing' },
      { path: at(20).path, kind: 'wrong-size' },
      { path: at(30).path, kind: 'not-a-file' },
      { path: at(40).path, kind: 'not-a-file' },
      { path: at(count - 3).path, kind: 'altered' },
    ]);
    expect(extras.map((p) => p.path).sort()).toEqual(['d1/extra.bin', 'd2/extra-link']);
    expect(problems[1]!.detail).toBe(`${at(20).size - 1} bytes, expected ${at(20).size}`);
    expect(progress.files).toBe(count - 1); // the missing file is not counted
    const clean = writeTree(count);
    expect(await verifyTreeOnDisk(clean.root, clean.tree, false, countingProgress())).toEqual([]);
  });

  it('names a link put in place of a directory, even when the tree’s files are all there through it', async () => {
    // lstat follows a link before a path's last name: d3/... all check out through the link, so
    // only the link itself, found by the walk and by no path of the tree, shows the swap.
    // One extra file fewer than the files behind the link, so the walk finds as many entries in
    // all as the tree's paths showed: only files and other entries counted apart tell.
    const { root, tree } = writeTree(count);
    const moved = `${root}-d3-elsewhere`;
    fs.renameSync(join(root, 'd3'), moved);
    fs.symlinkSync(moved, join(root, 'd3'));
    const behindLink = tree.entries.filter((e) => e.path.startsWith('d3/')).length;
    const extras = Array.from({ length: behindLink - 1 }, (_, i) => `d4/extra-${i}.bin`);
    for (const extra of extras) fs.writeFileSync(join(root, extra), 'x');
    const problems = await verifyTreeOnDisk(root, tree, false, countingProgress());
    expect(problems.every((p) => p.kind === 'unexpected')).toBe(true);
    expect(problems.map((p) => p.path).sort()).toEqual(['d3', ...extras].sort());
  });

  it('reports files below a loop of links as missing, and the loop as extra, instead of failing', async () => {
    const { root, tree } = writeTree(count);
    const inD5 = tree.entries.filter((e) => e.path.startsWith('d5/')).map((e) => e.path);
    fs.rmSync(join(root, 'd5'), { recursive: true });
    fs.symlinkSync('d5', join(root, 'd5'));
    const problems = await verifyTreeOnDisk(root, tree, false, countingProgress());
    expect(problems.filter((p) => p.kind === 'missing').map((p) => p.path)).toEqual(inD5);
    expect(problems.filter((p) => p.kind !== 'missing').map((p) => ({ path: p.path, kind: p.kind }))).toEqual([{ path: 'd5', kind: 'unexpected' }]);
  });
});

describe.each(WHERE)('verifyTreeOnDisk, quick, hostile (%s)', (_where, count) => {
  it('walks the whole tree when links are about, so extra files cannot hide behind the files a link lets lstat reach', async () => {
    // d3 becomes a link to a directory outside, where one of its files is a link too. Its
    // other files check out through the link, and as many extra files are planted as that
    // makes the counts of files and of other entries come out even.
    const { root, tree } = writeTree(count);
    const inD3 = tree.entries.filter((e) => e.path.startsWith('d3/'));
    const moved = `${root}-d3-elsewhere`;
    fs.renameSync(join(root, 'd3'), moved);
    fs.symlinkSync(moved, join(root, 'd3'));
    const linked = inD3[0]!.path;
    fs.rmSync(join(moved, linked.slice(3)));
    fs.symlinkSync(join(moved, inD3[1]!.path.slice(3)), join(moved, linked.slice(3)));
    const extras = Array.from({ length: inD3.length - 1 }, (_, i) => `d4/planted-${i}.bin`);
    for (const extra of extras) fs.writeFileSync(join(root, extra), 'x');
    const problems = await verifyTreeOnDisk(root, tree, false, countingProgress());
    expect(problems.filter((p) => p.kind !== 'unexpected').map((p) => ({ path: p.path, kind: p.kind }))).toEqual([{ path: linked, kind: 'not-a-file' }]);
    expect(problems.filter((p) => p.kind === 'unexpected').map((p) => p.path).sort()).toEqual(['d3', ...extras].sort());
  });

  it('reports a file the system will not look at as not there, with the system’s reason, and goes on', async () => {
    // A path the manifest allows (4,095 bytes) but that is too long below this root.
    const { root, tree } = writeTree(count);
    const long = { path: Array.from({ length: 16 }, (_, i) => String.fromCharCode(0x61 + i).repeat(255)).join('/'), id: tree.entries[0]!.id, size: tree.entries[0]!.size, mode: 0o644 as const };
    const withLong = { entries: sortEntries([...tree.entries, long]) };
    fs.rmSync(join(root, tree.entries[1]!.path));
    const problems = await verifyTreeOnDisk(root, withLong, false, countingProgress());
    expect(problems.map((p) => ({ path: p.path, kind: p.kind }))).toEqual(
      [
        { path: long.path, kind: 'missing' },
        { path: tree.entries[1]!.path, kind: 'missing' },
      ].sort((a, b) => withLong.entries.findIndex((e) => e.path === a.path) - withLong.entries.findIndex((e) => e.path === b.path)),
    );
    expect(problems.find((p) => p.path === long.path)!.detail).toMatch(/^could not be looked at: ENAMETOOLONG/);
  });
});
