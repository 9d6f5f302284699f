import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { TreeObjects } from '../../src/core/treeObjects.js';

interface Row {
  id: string;
  size: number;
}

const hexId = (seed: string): string => createHash('sha256').update(seed).digest('hex');

/** The same answer the plain way: a Map in order of first appearance, the first size kept. */
function expectedOf(rows: Row[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const row of rows) if (!map.has(row.id)) map.set(row.id, row.size);
  return map;
}

function expectSameAsMap(objects: TreeObjects, rows: Row[]): void {
  const expected = expectedOf(rows);
  expect(objects.size).toBe(expected.size);
  expect([...objects]).toEqual([...expected]);
  expect([...objects.keys()]).toEqual([...expected.keys()]);
  expect([...objects.values()]).toEqual([...expected.values()]);
  const seen: [string, number][] = [];
  objects.forEach((size, id, map) => {
    expect(map).toBe(objects);
    seen.push([id, size]);
  });
  expect(seen).toEqual([...expected]);
  let place = 0;
  for (const [id, size] of expected) {
    expect(objects.get(id)).toBe(size);
    expect(objects.has(id)).toBe(true);
    // Ordinals number the objects in order of first appearance, as a reader's marks need.
    expect(objects.ordinal(id)).toBe(place);
    expect(objects.sizeAt(place)).toBe(size);
    expect(objects.idAt(place)).toBe(id);
    place++;
  }
}

describe('TreeObjects', () => {
  it('answers as a Map of each distinct id to its first size, in order of first appearance, for a tree with repeats', () => {
    // 5,000 rows naming 1,200 objects, each repeat with its object's size.
    const rows: Row[] = [];
    for (let i = 0; i < 5000; i++) {
      const n = (i * 7919 + (i >> 3)) % 1200;
      rows.push({ id: hexId(`object ${n}`), size: n * 3 });
    }
    const objects = TreeObjects.of(rows);
    expectSameAsMap(objects, rows);
    expect(objects.size).toBeGreaterThan(1000);
    for (let n = 1200; n < 1300; n++) {
      expect(objects.get(hexId(`object ${n}`))).toBeUndefined();
      expect(objects.has(hexId(`object ${n}`))).toBe(false);
      expect(objects.ordinal(hexId(`object ${n}`))).toBe(-1);
    }
  });

  it('keeps apart ids that share the digits that pick their slot, including ones that wrap around the end of the table', () => {
    // Every id starts with the same seven digits, so all of them probe from one slot: the
    // full comparison must tell them apart. 'fffffff' starts them at the table's last slot.
    const same = (prefix: string, n: number) => prefix + hexId(`x${n}`).slice(prefix.length);
    for (const prefix of ['0000000', 'fffffff', 'abcdef0']) {
      const rows: Row[] = Array.from({ length: 40 }, (_, n) => ({ id: same(prefix, n % 30), size: n % 30 }));
      const objects = TreeObjects.of(rows);
      expect(objects.size).toBe(30);
      expectSameAsMap(objects, rows);
      expect(objects.get(same(prefix, 31))).toBeUndefined();
    }
  });

  it('add() names the first entry that gave the same object another size, and counts the object once', () => {
    const a = hexId('a');
    const b = hexId('b');
    const rows: Row[] = [
      { id: a, size: 4 },
      { id: b, size: 3 },
      { id: a, size: 4 },
      { id: a, size: 5 },
    ];
    const objects = new TreeObjects(rows);
    expect(objects.add(0)).toBe(-1);
    expect(objects.add(1)).toBe(-1);
    expect(objects.add(2)).toBe(-1);
    expect(objects.add(3)).toBe(0);
    expect(objects.size).toBe(2);
    expect(objects.get(a)).toBe(4);
  });

  it('finds nothing, and throws nothing, for a looked-up name that is not a lowercase id', () => {
    const rows: Row[] = [{ id: hexId('a'), size: 1 }];
    const objects = TreeObjects.of(rows);
    for (const name of ['', 'x', hexId('a').toUpperCase(), `${hexId('a')}0`, hexId('a').slice(0, 63), 'zzzzzzzzzz']) {
      expect(objects.get(name)).toBeUndefined();
      expect(objects.has(name)).toBe(false);
    }
  });

  it('is empty for no entries', () => {
    const objects = TreeObjects.of([]);
    expect(objects.size).toBe(0);
    expect([...objects]).toEqual([]);
    expect(objects.get(hexId('a'))).toBeUndefined();
  });
});

describe('TreeObjects, hostile ids', () => {
  it('gives way to a Map when ids crafted to share their first digits would make every look pass all the others, and still answers as a Map', () => {
    // 3,000 ids with the same first 20 digits: every one keys to the same slot.
    const rows: Row[] = Array.from({ length: 3000 }, (_, n) => ({ id: `${'a'.repeat(20)}${hexId(`h${n % 2500}`).slice(20)}`, size: n % 2500 }));
    const objects = TreeObjects.of(rows);
    expect(objects.fellBack).toBe(true);
    expectSameAsMap(objects, rows);
    expect(objects.get(`${'a'.repeat(20)}${hexId('stranger').slice(20)}`)).toBeUndefined();
    const conflicting = new TreeObjects([...rows, { id: rows[7]!.id, size: rows[7]!.size + 1 }]);
    for (let i = 0; i < rows.length; i++) conflicting.add(i);
    expect(conflicting.add(rows.length)).toBe(7);
  });

  it('keeps the table for honest ids', () => {
    const rows: Row[] = Array.from({ length: 20_000 }, (_, n) => ({ id: hexId(`honest ${n}`), size: n }));
    const objects = TreeObjects.of(rows);
    expect(objects.fellBack).toBe(false);
    expectSameAsMap(objects, rows);
  });
});
