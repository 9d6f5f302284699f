import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlockJson, airlockOk } from '../helpers/cli.js';
import { fingerprint, onlineScenario, type Scenario } from '../helpers/fixtures.js';

/** `rollback --to` a newer snapshot goes forward, and says so. */
let s: Scenario;

beforeAll(async () => {
  s = await onlineScenario(2);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(s.media, 'full.airlock')]);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', join(s.media, 'delta.airlock')]);
  airlockOk(['apply', join(s.media, 'full.airlock'), '--data-dir', s.dataDir]);
  airlockOk(['apply', join(s.media, 'delta.airlock'), '--data-dir', s.dataDir]);
}, 60_000);

describe('rollback says which way it went', () => {
  it('"rolled back" to an older snapshot, "switched forward" to a newer one', () => {
    expect(airlockOk(['rollback', '--data-dir', s.dataDir]).stdout).toMatch(/^rolled back .* to [0-9a-f]{12} \(v1\)/);
    expect(airlockOk(['rollback', '--data-dir', s.dataDir, '--to', 'v2']).stdout).toMatch(/^switched forward .* to [0-9a-f]{12} \(v2\)/);
  });
});

describe('gc --dryrun', () => {
  it('lists what would go and removes nothing', () => {
    const state = `${s.dataDir}.airlock`;
    const before = fingerprint(state);
    const out = airlockOk(['gc', '--data-dir', s.dataDir, '--keep', '1', '--dryrun']).stdout;
    expect(out).toMatch(/^would keep 1 deployment: [0-9a-f]{12}$/m);
    expect(out).toMatch(/^would remove 1 deployment \([0-9a-f]{12}\) and \d+ objects?, which would free .*; nothing was removed$/m);
    expect(fingerprint(state)).toBe(before);
    const real = airlockJson<{ gc: { removedDeployments: string[]; dryrun: boolean } }>(['gc', '--data-dir', s.dataDir, '--keep', '1']);
    expect(real.gc.dryrun).toBe(false);
    expect(real.gc.removedDeployments).toHaveLength(1);
  });
});

describe('snapshot list and show', () => {
  it('list has a header; show takes the sequence number the list shows', () => {
    const lines = airlockOk(['snapshot', 'list', '--repo', s.repo]).stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*seq\s+id\s+recorded\s+files\s+size\s+label$/);
    expect(lines).toHaveLength(3);
    const second = airlockJson<{ snapshot: { id: string; sequence: number } }>(['snapshot', 'show', '--repo', s.repo, '2']);
    expect(second.snapshot).toMatchObject({ id: s.ids.v2, sequence: 2 });
  });
});

describe('summaries, not floods', () => {
  it('diff and inspect print counts per repository by default, and every file and package with --list', () => {
    const summary = airlockOk(['snapshot', 'diff', '--repo', s.repo, 'v1', 'v2']).stdout;
    expect(summary).toMatch(/^ {2}packages: \d+ added, \d+ updated, \d+ removed$/m);
    expect(summary).toMatch(/^ {4}v3\/src\/contrib: \d+ added, \d+ updated, \d+ removed$/m);
    expect(summary).not.toMatch(/^ {4}[AMD] /m);
    expect(summary).not.toMatch(/^ {6}[+~-] /m);
    const full = airlockOk(['snapshot', 'diff', '--repo', s.repo, 'v1', 'v2', '--list']).stdout;
    expect(full).toMatch(/^ {4}[AMD] v3\/src\/contrib\//m);
    expect(full).toMatch(/^ {6}~ \S+ \S+ -> \S+$/m);
    expect(full.split('\n').length).toBeGreaterThan(summary.split('\n').length);
    const inspect = airlockOk(['bundle', 'inspect', join(s.media, 'delta.airlock')]).stdout;
    expect(inspect).not.toMatch(/^ {6}[+~-] /m);
    expect(airlockOk(['bundle', 'inspect', join(s.media, 'delta.airlock'), '--list']).stdout).toMatch(/^ {6}~ /m);
  });

  it('the largest changes by size, in diff, inspect and apply; apply also counts what changed and names both labels', () => {
    for (const out of [airlockOk(['snapshot', 'diff', '--repo', s.repo, 'v1', 'v2']).stdout, airlockOk(['bundle', 'inspect', join(s.media, 'delta.airlock')]).stdout]) {
      const sizes = [...out.matchAll(/^ {4}\s*([\d.]+) (B|KiB|MiB)  \S+\/\S+ \S+/gm)].map((m) => Number(m[1]) * { B: 1, KiB: 1024, MiB: 1024 ** 2 }[m[2] as 'B']);
      expect(out).toMatch(/^ {2}largest changes \(new archive sizes\):$/m);
      expect(sizes.length).toBeGreaterThan(0);
      expect(sizes.length).toBeLessThanOrEqual(10);
      expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    }
    const dataDir = join(s.root, 'labels-data');
    airlockOk(['apply', join(s.media, 'full.airlock'), '--data-dir', dataDir]);
    const json = airlockJson<{ applied: { changes: { packages: unknown[] }; fromLabel: string } }>(['apply', join(s.media, 'delta.airlock'), '--data-dir', dataDir]);
    const diff = airlockJson<{ packages: unknown[] }>(['snapshot', 'diff', '--repo', s.repo, 'v1', 'v2']);
    expect(json.applied.fromLabel).toBe('v1');
    expect(json.applied.changes.packages).toEqual(diff.packages);
    const textDir = join(s.root, 'labels-text');
    airlockOk(['apply', join(s.media, 'full.airlock'), '--data-dir', textDir]);
    const applied = airlockOk(['apply', join(s.media, 'delta.airlock'), '--data-dir', textDir]).stdout;
    expect(applied).toMatch(/^applied [0-9a-f]{12} \(v2\) to .* \(was [0-9a-f]{12} \(v1\)\)$/m);
    expect(applied).toMatch(/^ {2}files: \d+ added, \d+ changed, \d+ removed/m);
    expect(applied).toMatch(/^ {4}v3\/src\/contrib: \d+ added, \d+ updated, \d+ removed$/m);
    expect(applied).toMatch(/^ {2}largest changes/m);
    airlockOk(['rollback', '--data-dir', dataDir]);
    expect(airlockOk(['rollback', '--data-dir', dataDir, '--to', 'v2']).stdout).toMatch(/from [0-9a-f]{12} \(v1\) to [0-9a-f]{12} \(v2\)/);
  });
});
