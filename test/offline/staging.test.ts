import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import type { ObjectSink } from '../../src/bundle/readBundle.js';
import { Staging } from '../../src/offline/staging.js';
import { PLACE_LIMIT } from '../../src/repository/objectPlacer.js';
import { Repository } from '../../src/repository/repository.js';
import { cleanTempDirsAfterEach, patternBytes, tempDir } from '../repository/helpers.js';

cleanTempDirsAfterEach();

const idOf = (bytes: Uint8Array) => blake3(bytes).toString('hex');

/** Hands `bytes` to the staging as the bundle reader does once they checked out: open, write in pieces, finish. */
async function stage(staging: Staging, bytes: Buffer): Promise<boolean> {
  let sink: ObjectSink | undefined | Promise<ObjectSink | undefined> = staging.open(idOf(bytes), bytes.length);
  if (sink instanceof Promise) sink = await sink;
  if (sink === undefined) return false;
  for (let at = 0; at < bytes.length; at += 65_536) await sink.write(bytes.subarray(at, Math.min(bytes.length, at + 65_536)));
  await sink.finish();
  return true;
}

/** The object files in the store (names only). */
function storedObjects(repo: Repository): string[] {
  if (!fs.existsSync(repo.layout.objectsDir)) return [];
  return fs
    .readdirSync(repo.layout.objectsDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
    .map((e) => e.name)
    .sort();
}

// A bundle this large gets the store threads (StoreThreads.forWork).
const MANY = { count: 1_000_000, bytes: 10 * 1024 * 1024 * 1024 };

describe('Staging (apply’s import of verified objects)', () => {
  it('small objects placed by the threads and large ones staged here all become objects at commit; ones the store had are not counted', async () => {
    const repo = await Repository.open(tempDir(), { create: true });
    const had = patternBytes(5_000, 99);
    await repo.objects.addBuffer(had, 'test');
    await repo.objects.flush();
    const staging = new Staging(repo, false);
    staging.start(MANY);
    const objects = [...Array.from({ length: 900 }, (_, i) => patternBytes(50 + ((i * 7_919) % 20_000), i + 1)), patternBytes(PLACE_LIMIT + 1, 7), patternBytes(3 * PLACE_LIMIT, 8), had];
    for (const bytes of objects) await stage(staging, bytes);
    await staging.commit();
    expect(staging.committed).toBe(objects.length - 1);
    expect(storedObjects(repo)).toEqual(objects.map(idOf).sort());
    for (const bytes of objects) expect(fs.readFileSync(repo.objects.path(idOf(bytes))).equals(bytes)).toBe(true);
    await staging.discard();
    expect(fs.existsSync(repo.layout.tmpDir)).toBe(false);
  });

  it('a placement a thread could not make fails the commit with its system error, and undo leaves the store as it was', async () => {
    const repo = await Repository.open(tempDir(), { create: true });
    const objects = Array.from({ length: 700 }, (_, i) => patternBytes(100 + i, 3_000 + i));
    // A file where one object's fan-out directory would be: looking for that object there fails on its thread.
    const blocked = idOf(objects[450]!).slice(0, 2);
    fs.mkdirSync(repo.layout.objectsDir, { recursive: true });
    fs.writeFileSync(join(repo.layout.objectsDir, blocked), 'not a directory');
    const staging = new Staging(repo, false);
    staging.start(MANY);
    for (const bytes of objects) await stage(staging, bytes).catch(() => undefined);
    await expect(staging.commit()).rejects.toMatchObject({ code: 'ENOTDIR' });
    await staging.undo();
    expect(storedObjects(repo)).toEqual([]);
    expect(fs.existsSync(repo.layout.tmpDir)).toBe(false);
  });

  it('once interrupted, nothing more is imported: batches still out are ignored, later objects are not written', async () => {
    const repo = await Repository.open(tempDir(), { create: true });
    const staging = new Staging(repo, false);
    staging.start(MANY);
    const first = Array.from({ length: 600 }, (_, i) => patternBytes(300 + i, 7_000 + i));
    for (const bytes of first) await stage(staging, bytes);
    // The first batch's results are in; the next batches may still be on the threads.
    while (staging.committed === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const kept = staging.interrupt();
    const later = Array.from({ length: 300 }, (_, i) => patternBytes(300 + i, 8_000 + i));
    const sinks = await Promise.all(later.map((bytes) => staging.open(idOf(bytes), bytes.length)));
    expect(sinks.every((sink) => sink === undefined)).toBe(true);
    // What the interrupt handler does: make the imports so far durable.
    await repo.objects.flush();
    await new Promise((resolve) => setTimeout(resolve, 100)); // any batch still out answers meanwhile
    await repo.objects.flush();
    expect(kept).toBeGreaterThanOrEqual(256);
    expect(staging.committed).toBe(kept);
    expect(storedObjects(repo).length).toBe(kept);
    expect(storedObjects(repo)).toEqual(first.slice(0, kept).map(idOf).sort());
  });
});
