import { describe, it, expect } from 'vitest';
import { hashBytes, type ObjectId } from '../../../src/core/objectId.js';
import { EXECUTABLE_MODE, FILE_MODE, sortEntries, type SnapshotRecord, type Tree, type TreeEntry } from '../../../src/core/manifest.js';
import { planBundle } from '../../../src/core/bundle/plan.js';
import { Random } from '../../../fixtures/random.js';

const record = (id: string, sequence: number): SnapshotRecord => ({ id, sequence, label: null, parent: null, createdAt: '2026-12-07T00:00:00Z', files: 0, bytes: 0 });
const idOf = (n: number): ObjectId => hashBytes(Buffer.from(`object ${n}`));
const sizeOf = (n: number) => 100 + n;
const entry = (path: string, n: number, mode: TreeEntry['mode'] = FILE_MODE): TreeEntry => ({ path, id: idOf(n), size: sizeOf(n), mode });
const tree = (...entries: TreeEntry[]): Tree => ({ entries: sortEntries(entries) });

/** What a bundle must carry, by its definition: every distinct object of the target, first appearance first, less those the base holds anywhere. */
function carried(target: Tree, base: Tree): Array<[ObjectId, number]> {
  const inBase = new Set(base.entries.map((e) => e.id));
  const seen = new Map<ObjectId, number>();
  for (const e of target.entries) if (!inBase.has(e.id) && !seen.has(e.id)) seen.set(e.id, e.size);
  return [...seen];
}

describe('planBundle', () => {
  it('carries only what the base lacks: not a file moved or copied from elsewhere in the base, not a mode change; a new object once', () => {
    const base = tree(entry('a/keep', 1), entry('a/moved-from', 2), entry('b/mode', 3), entry('b/old', 4));
    const target = tree(
      entry('a/keep', 1),
      entry('c/moved-to', 2), // moved: the base has the object at another path
      entry('b/mode', 3, EXECUTABLE_MODE),
      entry('b/old', 1), // changed to an object the base holds elsewhere
      entry('d/new-1', 5),
      entry('d/new-2', 5), // the same new object twice
      entry('e/changed', 6),
    );
    const plan = planBundle(record('t', 2), target, record('b', 1), base);
    expect([...plan.objects]).toEqual([
      [idOf(5), sizeOf(5)],
      [idOf(6), sizeOf(6)],
    ]);
    expect(plan.objectBytes).toBe(sizeOf(5) + sizeOf(6));
  });

  it('carries every distinct object of the target when there is no base', () => {
    const target = tree(entry('x', 7), entry('y', 8), entry('z', 7));
    const plan = planBundle(record('t', 1), target, null, null);
    expect([...plan.objects]).toEqual([
      [idOf(7), sizeOf(7)],
      [idOf(8), sizeOf(8)],
    ]);
  });

  it('agrees with the definition on random trees and changes, order included', () => {
    const rng = new Random(2026);
    for (let round = 0; round < 200; round++) {
      const pool = rng.int(5, 60);
      const baseEntries = new Map<string, TreeEntry>();
      for (let i = rng.int(0, 40); i > 0; i--) {
        const path = `d${rng.int(0, 5)}/f${rng.int(0, 30)}`;
        baseEntries.set(path, entry(path, rng.int(0, pool)));
      }
      const targetEntries = new Map<string, TreeEntry>();
      for (const [path, e] of baseEntries) {
        const roll = rng.int(0, 9);
        if (roll === 0) continue; // removed
        targetEntries.set(path, roll === 1 ? entry(path, rng.int(0, pool * 2)) : roll === 2 ? { ...e, mode: EXECUTABLE_MODE } : e);
      }
      for (let i = rng.int(0, 15); i > 0; i--) {
        const path = `n${rng.int(0, 3)}/g${rng.int(0, 20)}`;
        targetEntries.set(path, entry(path, rng.int(0, pool * 2)));
      }
      const base = tree(...baseEntries.values());
      const target = tree(...targetEntries.values());
      const plan = planBundle(record('t', 2), target, record('b', 1), base);
      expect([...plan.objects], `round ${round}`).toEqual(carried(target, base));
    }
  });
});
