import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { afterEach, describe, expect, it } from 'vitest';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { ObjectPlacer, PLACE_LIMIT } from '../../src/repository/objectPlacer.js';
import { OBJECT_MODE, ObjectStore } from '../../src/repository/objectStore.js';
import { StoreThreads } from '../../src/repository/storeThreads.js';
import type { PlaceRequest, PlaceResult } from '../../src/repository/storeThreadMessages.js';

/** A result with the object it is for, as the placer hands them over. */
type Placed = PlaceResult & { id: string; size: number };
import { cleanTempDirsAfterEach, patternBytes, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const opened: StoreThreads[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/** Two threads (work enough for them), or none. */
function pool(threaded: boolean): StoreThreads {
  const made = threaded ? StoreThreads.forWork(1_000_000, 0, 2) : StoreThreads.forWork(0, 0);
  opened.push(made);
  return made;
}

/** Records each batch sent to the threads: how many objects, how many bytes, and the memory it went in. */
function watched(threads: StoreThreads): Array<{ count: number; bytes: number; memory: ArrayBuffer }> {
  const batches: Array<{ count: number; bytes: number; memory: ArrayBuffer }> = [];
  const place = threads.place.bind(threads);
  threads.place = (request: Omit<PlaceRequest, 'kind' | 'batch'>) => {
    batches.push({ count: request.count, bytes: request.sizes.reduce((a, b) => a + b, 0), memory: request.bytes });
    return place(request);
  };
  return batches;
}

function newStore(): ObjectStore {
  return new ObjectStore(new RepositoryLayout(tempDir()));
}

const idOf = (bytes: Uint8Array) => blake3(bytes).toString('hex');

/** A placer whose results (each with the object it is for) are recorded in `results`. */
function recordingPlacer(store: ObjectStore, threads: StoreThreads): { placer: ObjectPlacer; results: Placed[] } {
  const results: Placed[] = [];
  const placer = new ObjectPlacer(store, threads, (object, result) => {
    results.push({ ...result, ...object });
    return undefined;
  });
  return { placer, results };
}

/** Feeds `bytes` to the placer as the bundle reader would: opened, written in uneven pieces, then committed or dropped. */
async function feed(placer: ObjectPlacer, bytes: Buffer, outcome: 'commit' | 'drop'): Promise<void> {
  const room = placer.open(bytes.length);
  if (room) await room;
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.min(bytes.length - at, 1 + ((i * 7919) % 70_000));
    placer.write(bytes.subarray(at, at + n));
    at += n;
  }
  if (outcome === 'commit') placer.commit(idOf(bytes));
  else placer.drop();
}

describe.each([
  ['on two store threads', true],
  ['on the main thread', false],
])('ObjectPlacer (a bundle’s verified small objects placed into the store, %s)', (_where, threaded) => {
  it('writes each committed object to a temp holding exactly its bytes, read-only, in batches of at most 256 objects and 4 MiB; dropped ones leave nothing; present ones are named', async () => {
    const store = newStore();
    const threads = pool(threaded);
    const batches = watched(threads);
    const { placer, results } = recordingPlacer(store, threads);
    // 700 objects: most small, a run of large ones (batches full by bytes), some at the limit, some
    // empty; every 9th given up halfway; every 13th in the store already.
    const size = (i: number) => (i >= 300 && i < 330 ? 900_000 + i : i % 150 === 7 ? PLACE_LIMIT - (i % 2) : i % 31 === 0 ? 0 : 100 + ((i * 104_729) % 9_000));
    const objects = Array.from({ length: 700 }, (_, i) => patternBytes(size(i), i + 1));
    const present = new Set<string>();
    for (let i = 0; i < objects.length; i += 13) {
      if (objects[i]!.length === 0 || i % 9 === 4) continue;
      const added = await store.addBuffer(objects[i]!, 'test');
      present.add(added.id);
    }
    await store.flush();
    const kept: Buffer[] = [];
    for (let i = 0; i < objects.length; i++) {
      const drop = i % 9 === 4;
      await feed(placer, objects[i]!, drop ? 'drop' : 'commit');
      if (!drop) kept.push(objects[i]!);
    }
    await placer.finish();

    expect(results.map((r) => (r.kind === 'error' ? r.message : r.id))).toEqual(kept.map(idOf));
    for (const [i, result] of results.entries()) {
      const id = idOf(kept[i]!);
      if (present.has(id)) {
        expect(result).toEqual({ kind: 'present', id, size: kept[i]!.length });
        continue;
      }
      if (result.kind !== 'written') throw new Error(`object ${i}: ${JSON.stringify(result)}`);
      expect(result.size).toBe(kept[i]!.length);
      expect(result.temp.startsWith(`${store.layout.tmpDir}/lane-`)).toBe(true);
      expect(fs.readFileSync(result.temp).equals(kept[i]!)).toBe(true);
      expect(fs.statSync(result.temp).mode & 0o777).toBe(OBJECT_MODE);
    }
    // Nothing but the written temps in tmp/: a dropped object never reached a thread.
    const temps = fs.readdirSync(store.layout.tmpDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(temps.length).toBe(results.filter((r) => r.kind === 'written').length);
    expect(batches.length).toBeGreaterThan(3);
    expect(batches.reduce((sum, b) => sum + b.count, 0)).toBe(kept.length);
    for (const batch of batches) {
      expect(batch.count).toBeLessThanOrEqual(256);
      expect(batch.bytes).toBeLessThanOrEqual(4 * PLACE_LIMIT);
    }
    expect(batches.some((b) => b.count === 256)).toBe(true);
    expect(batches.some((b) => b.bytes > 3 * PLACE_LIMIT)).toBe(true);
    if (!threaded) {
      // Here the memory comes back as it went: one batch out and one filling are all ever made.
      expect(new Set(batches.map((b) => b.memory)).size).toBeLessThanOrEqual(2);
    }
  });

  it('refuses an object over the limit, more bytes than an object was opened for, and a commit of fewer', () => {
    const placer = new ObjectPlacer(newStore(), pool(threaded), () => undefined);
    expect(() => placer.open(PLACE_LIMIT + 1)).toThrow(RangeError);
    placer.open(10);
    placer.write(Buffer.alloc(6));
    expect(() => placer.write(Buffer.alloc(5))).toThrow(/more than the 10 bytes/);
    expect(() => placer.commit('a'.repeat(64))).toThrow(/opened for 10 bytes but got 6/);
  });

  it('an object opened and then neither committed nor dropped does not shift the objects after it', async () => {
    const store = newStore();
    const { placer, results } = recordingPlacer(store, pool(threaded));
    const before = patternBytes(700, 1);
    const abandoned = patternBytes(900, 2);
    const after = patternBytes(800, 3);
    await feed(placer, before, 'commit');
    placer.open(abandoned.length);
    placer.write(abandoned.subarray(0, 500)); // the reader gave up on it without a word
    await feed(placer, after, 'commit');
    await placer.finish();
    expect(results.map((r) => (r.kind === 'written' ? fs.readFileSync(r.temp).toString('hex') : r.kind))).toEqual([before.toString('hex'), after.toString('hex')]);
  });

  it('an object that cannot be placed comes back as an error result with its code, in its place, and the others still go through', async () => {
    const store = newStore();
    const { placer, results } = recordingPlacer(store, pool(threaded));
    const objects = Array.from({ length: 600 }, (_, i) => patternBytes(200 + i, 1000 + i));
    // A file where the 300th object's fan-out directory would be: looking for that object there fails.
    const blocked = idOf(objects[299]!);
    fs.mkdirSync(store.layout.objectsDir, { recursive: true });
    fs.writeFileSync(join(store.layout.objectsDir, blocked.slice(0, 2)), 'not a directory');
    const fails = objects.map((bytes) => idOf(bytes).slice(0, 2) === blocked.slice(0, 2));
    for (const bytes of objects) await feed(placer, bytes, 'commit');
    await placer.finish();
    expect(results.map((r) => (r.kind === 'error' ? r.code : r.kind))).toEqual(fails.map((f) => (f ? 'ENOTDIR' : 'written')));
    expect(results.filter((r) => r.kind === 'written').map((r) => (r.kind === 'written' ? r.id : ''))).toEqual(objects.filter((_, i) => !fails[i]).map(idOf));
  });

  it('results are taken one batch after another, in order, each waited for before the next (a checkpoint covers what was counted before it)', async () => {
    const store = newStore();
    const order: string[] = [];
    let waits = 0;
    const threads = pool(threaded);
    const placer = new ObjectPlacer(store, threads, (object, result) => {
      order.push(result.kind === 'error' ? result.message : object.id);
      // Every 50th result waits, as a checkpoint's flush does: nothing after it may be taken meanwhile.
      if (order.length % 50 !== 0) return undefined;
      const before = order.length;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          expect(order.length).toBe(before);
          waits++;
          resolve();
        }, 5),
      );
    });
    const objects = Array.from({ length: 1200 }, (_, i) => patternBytes(64 + (i % 500), 5000 + i));
    // The first batch's answer comes late, after later batches': results still come in the objects' order.
    const place = threads.place.bind(threads);
    let calls = 0;
    threads.place = (request: Omit<PlaceRequest, 'kind' | 'batch'>) => {
      const reply = place(request);
      return calls++ === 0 ? reply.then((r) => new Promise((resolve) => setTimeout(() => resolve(r), 100))) : reply;
    };
    for (const bytes of objects) await feed(placer, bytes, 'commit');
    await placer.finish();
    expect(order).toEqual(objects.map(idOf));
    expect(waits).toBe(24);
  });
});
