import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, ENTRY_HEADER, parseObjectEntryName } from '../../src/core/bundle/format.js';
import type { Tree } from '../../src/core/manifest.js';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { SnapshotStore } from '../../src/repository/snapshotStore.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { craftBundle, readEntries } from '../helpers/craftBundle.js';
import { fingerprint, onlineScenario, type Scenario } from '../helpers/fixtures.js';

/**
 * Blame (issue "Admin-proof", item 9): a delta whose tree names an object that neither the
 * bundle nor its base has is the bundle's fault (BUNDLE_CORRUPT, exit 3), not the store's; an
 * object the base had and the store lost is the store's (DATA_DIR_DAMAGED). Either way the live
 * data is left as it was, and a refused bundle leaves none of its objects behind.
 */
let s: Scenario;
let full: string;
let delta: string;
let v1: Tree;
let v2: Tree;

beforeAll(async () => {
  s = await onlineScenario(2, { packages: 20, updateShare: 0.4 });
  full = join(s.media, 'full.airlock');
  delta = join(s.media, 'delta.airlock');
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
  const trees = new SnapshotStore(new RepositoryLayout(s.repo));
  v1 = await trees.loadTree(s.ids.v1!);
  v2 = await trees.loadTree(s.ids.v2!);
}, 60_000);

function objectsIn(dataDir: string): number {
  const store = join(`${dataDir}.airlock`, 'objects', 'v1');
  return fs.readdirSync(store).reduce((n, fanout) => n + fs.readdirSync(join(store, fanout)).length, 0);
}

describe('a delta that lacks an object its tree needs', () => {
  it('is the bundle\'s fault when the base never had it: BUNDLE_CORRUPT, exit 3, nothing changed, no objects left', async () => {
    const entries = await readEntries(delta);
    const header = decodeHeader(entries.find((e) => e.name === ENTRY_HEADER)!.data);
    const sizes = new Map(v2.entries.map((e) => [e.id, e.size]));
    const dropped = entries.find((e) => parseObjectEntryName(e.name) !== undefined)!;
    const id = parseObjectEntryName(dropped.name)!.id;
    const altered = { ...header, objects: { count: header.objects.count - 1, bytes: header.objects.bytes - sizes.get(id)! } };
    const crafted = join(s.media, 'lacking.airlock');
    await craftBundle(
      crafted,
      entries.filter((e) => e !== dropped).map((e) => (e.name === ENTRY_HEADER ? { name: e.name, data: encodeHeader(altered) } : e)),
    );
    const dataDir = join(s.root, 'offline', 'bundle-fault', 'rspm-offline-data');
    fs.mkdirSync(join(dataDir, '..'), { recursive: true });
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const before = fingerprint(`${dataDir}.airlock`);
    const objects = objectsIn(dataDir);
    const run = airlock(['apply', crafted, '--data-dir', dataDir]);
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/BUNDLE_CORRUPT/);
    expect(run.stderr).toMatch(/does not carry 1 object /);
    expect(run.stderr).not.toMatch(/store lost/);
    expect(objectsIn(dataDir)).toBe(objects);
    expect(fingerprint(`${dataDir}.airlock`)).toBe(before);
    expect(airlockJson<{ status: { current: { id: string } } }>(['status', '--data-dir', dataDir]).status.current.id).toBe(s.ids.v1);
  });

  it('is the store\'s fault when the base had it: DATA_DIR_DAMAGED, and the live data is left as it was', () => {
    const dataDir = join(s.root, 'offline', 'store-fault', 'rspm-offline-data');
    fs.mkdirSync(join(dataDir, '..'), { recursive: true });
    airlockOk(['apply', full, '--data-dir', dataDir]);
    // An object both snapshots use (an unchanged file), so the delta does not carry it; lost from the store.
    const inV1 = new Set(v1.entries.map((e) => e.id));
    const shared = v2.entries.find((e) => inV1.has(e.id))!;
    fs.rmSync(join(`${dataDir}.airlock`, 'objects', 'v1', shared.id.slice(0, 2), shared.id));
    const run = airlock(['apply', delta, '--data-dir', dataDir]);
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/DATA_DIR_DAMAGED/);
    expect(run.stderr).toMatch(/the base [0-9a-f]{12} holds are missing/);
    expect(run.stderr).toMatch(/the store lost files/);
    expect(airlockJson<{ status: { current: { id: string } } }>(['status', '--data-dir', dataDir]).status.current.id).toBe(s.ids.v1);
  });
});
