import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { SnapshotStore } from '../../src/repository/snapshotStore.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { onlineScenario, type Scenario } from '../helpers/fixtures.js';

/**
 * A file edited in place in the live tree (issue "Admin-proof", item 3). Deployments are
 * hardlinks into the store, so the edit changes the stored object that every snapshot sharing
 * it uses. The quick verify sees it (the file changed after its deployment was built), and a
 * full bundle applied with --force-full replaces every object whose bytes differ from the
 * bundle's, so the next snapshot is whole again.
 */
let s: Scenario;
let shared: { path: string; size: number };

beforeAll(async () => {
  s = await onlineScenario(2, { packages: 16, updateShare: 0.3 });
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(s.media, 'v1-full.airlock')]);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--output', join(s.media, 'v2-full.airlock')]);
  const trees = new SnapshotStore(new RepositoryLayout(s.repo));
  const v1 = await trees.loadTree(s.ids.v1!);
  const inV2 = new Map((await trees.loadTree(s.ids.v2!)).entries.map((e) => [e.path, e.id]));
  // A package archive both snapshots hold unchanged, at the same path: the edit reaches v2's object too.
  const entry = v1.entries.find((e) => inV2.get(e.path) === e.id && e.path.endsWith('.tar.gz'))!;
  shared = { path: entry.path, size: entry.size };
}, 60_000);

describe('a file edited in place in the live tree', () => {
  it('is found by the quick verify, and a full bundle applied with --force-full repairs the store', async () => {
    airlockOk(['apply', join(s.media, 'v1-full.airlock'), '--data-dir', s.dataDir]);
    airlockOk(['verify', '--data-dir', s.dataDir]);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a later mtime than the build, on any clock granularity
    const live = join(s.dataDir, shared.path);
    const original = fs.readFileSync(live);
    fs.writeFileSync(live, Buffer.alloc(shared.size, 0x41)); // same size, other bytes, same inode
    expect(fs.statSync(live).size).toBe(original.length);

    const quick = airlock(['verify', '--data-dir', s.dataDir]);
    expect(quick.status).toBe(3);
    expect(quick.stderr).toContain(shared.path);
    expect(quick.stderr).toMatch(/edited in place/);

    const repaired = airlockJson<{ applied: { objectsRepaired: number } }>(['apply', join(s.media, 'v2-full.airlock'), '--data-dir', s.dataDir, '--force-full']);
    expect(repaired.applied.objectsRepaired).toBe(1);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
    expect(fs.readFileSync(join(s.dataDir, shared.path)).equals(original)).toBe(true);
  });
});
