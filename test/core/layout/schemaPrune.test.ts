import { describe, expect, it } from 'vitest';
import { sortEntries, validateTree, type Tree, type TreeEntry } from '../../../src/core/manifest.js';
import { hashBytes } from '../../../src/core/objectId.js';
import { MUST_STAY, parseKeptSchema, planSchemaPrune, prunedLabel } from '../../../src/core/layout/schemaPrune.js';
import { expectAirlockError } from '../../helpers/errors.js';

function tree(files: Record<string, string>): Tree {
  const entries: TreeEntry[] = Object.entries(files).map(([path, content]) => ({ path, id: hashBytes(Buffer.from(content)), size: Buffer.byteLength(content), mode: 0o644 }));
  sortEntries(entries);
  validateTree(entries);
  return { entries };
}

/** The seed downloader's layout after a schema upgrade: both schemas side by side. */
const legacy = {
  'v2/src/contrib/PACKAGES': 'Package: a\n',
  'v2/src/contrib/a_1.0.tar.gz': 'archive a 1.0',
  'v2/src/contrib/old_0.1.tar.gz': 'only in v2',
  'v3/version.txt': '3\n',
  'v3/src/contrib/PACKAGES': 'Package: a\nVersion: 1.0\n',
  'v3/src/contrib/a_1.0.tar.gz': 'archive a 1.0',
  'bioc/v2/3.18/bioc/src/contrib/PACKAGES': 'Package: B\n',
  'bioc/v3/config.yaml': 'release_version: "3.20"\n',
  'bioc/v3/3.20/bioc/src/contrib/PACKAGES': 'Package: B\nVersion: 2\n',
  'bin/4.4-jammy/src/contrib/PACKAGES': 'Package: a\n',
  'bindex/4.4-jammy.json': '{}\n',
  'distros/distributions.json': '[]\n',
  'sysreqs/systems.json': '{}\n',
  'sysreqs/rules/v2.json': '{"a rule named like a schema": true}\n',
  'notes/v2/readme.txt': 'a v2 deeper down is not a schema directory',
};

describe('planSchemaPrune', () => {
  it('removes v2/ and bioc/v2/ with their files and bytes, and keeps everything else exactly', () => {
    const before = tree(legacy);
    const plan = planSchemaPrune(before, 'v3');
    const size = (paths: string[]) => paths.reduce((n, p) => n + Buffer.byteLength(legacy[p as keyof typeof legacy]), 0);
    const v2 = Object.keys(legacy).filter((p) => p.startsWith('v2/'));
    const biocV2 = Object.keys(legacy).filter((p) => p.startsWith('bioc/v2/'));
    expect(plan.removed).toEqual([
      { path: 'bioc/v2', files: biocV2.length, bytes: size(biocV2) },
      { path: 'v2', files: v2.length, bytes: size(v2) },
    ]);
    expect(plan.files).toBe(v2.length + biocV2.length);
    expect(plan.bytes).toBe(size(v2) + size(biocV2));
    // Content also under a kept path stays in use (the archive in v3/, the index bytes bin/ has too): only the rest is freed by gc.
    expect(plan.unsharedBytes).toBe(plan.bytes - Buffer.byteLength('archive a 1.0') - Buffer.byteLength('Package: a\n'));
    expect(plan.schemas).toEqual(['v2']);
    const kept = before.entries.filter((e) => !e.path.startsWith('v2/') && !e.path.startsWith('bioc/v2/'));
    expect(plan.tree.entries).toEqual(kept);
    validateTree(plan.tree.entries);
    for (const dir of MUST_STAY) expect(plan.tree.entries.some((e) => e.path.startsWith(`${dir}/`)), dir).toBe(true);
    expect(plan.tree.entries.map((e) => e.path)).toEqual(expect.arrayContaining(['notes/v2/readme.txt', 'sysreqs/rules/v2.json', 'distros/distributions.json']));
  });

  it('removes every older schema, v1 as well, and names them in the label', () => {
    const plan = planSchemaPrune(tree({ 'v1/x': '1', 'v2/y': '2', 'v3/z': '3', 'bioc/v1/a': 'a', 'bioc/v3/b': 'b' }), 'v3');
    expect(plan.removed.map((d) => d.path)).toEqual(['bioc/v1', 'v1', 'v2']);
    expect(plan.schemas).toEqual(['v1', 'v2']);
    expect(prunedLabel('2026-11-24', plan.schemas)).toBe('2026-11-24+pruned-v1-v2');
    expect(prunedLabel(null, plan.schemas)).toBeNull();
    expect(plan.tree.entries.map((e) => e.path)).toEqual(['bioc/v3/b', 'v3/z']);
  });

  it('leaves a file named like a schema alone: only directories are schemas', () => {
    const plan = planSchemaPrune(tree({ v1: 'a file', 'v3/version.txt': '3\n' }), 'v3');
    expect(plan.removed).toEqual([]);
  });

  it('has nothing to remove from a tree airlock get wrote', () => {
    const plan = planSchemaPrune(tree({ 'v3/version.txt': '3\n', 'bioc/v3/config.yaml': 'x', 'sysreqs/systems.json': '{}' }), 'v3');
    expect(plan.removed).toEqual([]);
    expect(plan.files).toBe(0);
    expect(plan.bytes).toBe(0);
    expect(plan.tree.entries).toHaveLength(3);
  });

  it('refuses to remove a schema whose successor is not there', () => {
    expectAirlockError(() => planSchemaPrune(tree({ 'v2/src/contrib/PACKAGES': 'x', 'bioc/v3/config.yaml': 'y' }), 'v3'), 'SCHEMA_MISSING', /has v2\/ but no v3\//);
    expectAirlockError(() => planSchemaPrune(tree({ 'v3/version.txt': '3', 'bioc/v2/3.18/x': 'y' }), 'v3'), 'SCHEMA_MISSING', /has bioc\/v2\/ but no bioc\/v3\//);
  });
});

describe('parseKeptSchema', () => {
  it('takes v3 only', () => {
    expect(parseKeptSchema('v3')).toBe(3);
  });

  it('refuses a schema that would remove v3, naming what must stay', () => {
    const err = expectAirlockError(() => parseKeptSchema('v2'), 'USAGE', /--keep v2 would remove v3\/ and bioc\/v3\//);
    expect(err.hint).toContain('--keep v3');
  });

  it('refuses anything else with a hint', () => {
    for (const keep of ['v4', '3', 'V3', 'v03', 'bioc/v3', '']) {
      const err = expectAirlockError(() => parseKeptSchema(keep), 'USAGE', /is not a schema airlock knows/);
      expect(err.hint).toContain('--keep v3');
    }
  });
});
