import * as fs from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressBuffer } from '../../src/core/zstd.js';
import { encodeChanges } from '../../src/core/bundle/changes.js';
import { BUNDLE_FORMAT, BUNDLE_MAGIC, encodeHeader, type BundleHeader } from '../../src/core/bundle/format.js';
import { encodeTree, treeId, type TreeEntry } from '../../src/core/manifest.js';
import { hashBytes } from '../../src/core/objectId.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { craftBundle, readEntries, type CraftEntry } from '../helpers/craftBundle.js';
import { onlineScenario, tempDir, type Scenario } from '../helpers/fixtures.js';
import { liveView } from '../helpers/live.js';

/** Every refusal: a clear message naming the problem, a non-zero exit, and the live data exactly as it was. */
function expectRefusal(args: string[], dataDir: string, exit: number, code: string, ...mentions: (string | RegExp)[]): string {
  const before = liveView(dataDir);
  const result = airlock(args);
  expect(result.status, result.stderr).toBe(exit);
  expect(result.stderr).toContain(`[${code}]`);
  expect(result.stderr).toMatch(/next: {2}\S/);
  for (const m of mentions) expect(result.stderr).toMatch(m);
  expect(liveView(dataDir)).toBe(before);
  return result.stderr;
}

/** A one-file full bundle whose manifest says whatever we like, sealed correctly. */
function hostileFullBundle(entries: TreeEntry[], objects: CraftEntry[], overrides: Partial<BundleHeader> = {}): CraftEntry[] {
  const encoded = encodeTree({ entries });
  const header: BundleHeader = {
    magic: BUNDLE_MAGIC,
    format: BUNDLE_FORMAT,
    kind: 'full',
    from: null,
    to: treeId(encoded),
    target: { label: 'evil', parent: null, createdAt: new Date().toISOString(), sequence: 99, files: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0) },
    createdAt: new Date().toISOString(),
    tool: 'test',
    objects: { count: objects.length, bytes: objects.reduce((n, o) => n + o.data.length, 0) },
    ...overrides,
  };
  return [
    { name: 'airlock-bundle/header', data: encodeHeader(header) },
    { name: 'airlock-bundle/tree.zst', data: compressBuffer(encoded) },
    { name: 'airlock-bundle/changes.zst', data: compressBuffer(encodeChanges({ files: { added: 0, changed: 0, removed: 0, addedBytes: 0 }, packages: [] })) },
    ...objects,
  ];
}

describe('failures an admin will hit', () => {
  let s: Scenario;
  const bundles: Record<string, string> = {};

  beforeAll(async () => {
    s = await onlineScenario(3);
    const make = (name: string, snapshot: string, from?: string) => {
      bundles[name] = join(s.media, `${name}.airlock`);
      airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', snapshot, ...(from ? ['--starting-snapshot', from] : []), '--output', bundles[name]!]);
    };
    make('full1', 'v1');
    make('full2', 'v2');
    make('delta12', 'v2', 'v1');
    make('delta23', 'v3', 'v2');
    airlockOk(['apply', bundles.full1!, '--data-dir', s.dataDir]);
  });

  it('a delta whose base is not the current snapshot names both ids and the command that makes the right bundle', () => {
    const stderr = expectRefusal(['apply', bundles.delta23!, '--data-dir', s.dataDir], s.dataDir, 4, 'BASE_MISMATCH', new RegExp(s.ids.v2!), new RegExp(s.ids.v1!));
    expect(stderr).toContain(`--starting-snapshot ${s.ids.v1}`);
  });

  it('a delta onto an empty data dir asks for a full bundle first', () => {
    const empty = join(tempDir(), 'rspm-offline-data');
    expectRefusal(['apply', bundles.delta12!, '--data-dir', empty], empty, 4, 'BASE_MISMATCH', /full bundle first/);
    expect(fs.existsSync(empty)).toBe(false);
  });

  it('a full bundle over an existing snapshot needs --force-full', () => {
    expectRefusal(['apply', bundles.full2!, '--data-dir', s.dataDir], s.dataDir, 4, 'BASE_MISMATCH', /--force-full/);
  });

  it('a truncated bundle (the copy did not finish)', () => {
    const cut = join(s.media, 'cut.airlock');
    const bytes = fs.readFileSync(bundles.delta12!);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expectRefusal(['apply', cut, '--data-dir', s.dataDir], s.dataDir, 3, 'BUNDLE_TRUNCATED', /copy the whole bundle again/);
    expect(airlock(['bundle', 'verify', cut]).status).toBe(3);
  });

  it('a flipped byte inside an object names the entry', () => {
    const bad = join(s.media, 'flipped.airlock');
    const bytes = Buffer.from(fs.readFileSync(bundles.delta12!));
    const at = bytes.indexOf(Buffer.from('objects/')) + 512 + 100; // inside the first object's data
    bytes[at] = bytes[at]! ^ 0x01;
    fs.writeFileSync(bad, bytes);
    expectRefusal(['apply', bad, '--data-dir', s.dataDir], s.dataDir, 3, 'BUNDLE_CORRUPT', /entry \d+ \(objects\/[0-9a-f]{64}/);
  });

  it('a bundle without its seal', async () => {
    const unsealed = join(s.media, 'unsealed.airlock');
    await craftBundle(unsealed, await readEntries(bundles.delta12!), { seal: false });
    expectRefusal(['apply', unsealed, '--data-dir', s.dataDir], s.dataDir, 3, 'BUNDLE_TRUNCATED', /no seal/);
  });

  it('an object entry whose size disagrees with the manifest', async () => {
    const entries = await readEntries(bundles.delta12!);
    const raw = entries.find((e) => /^objects\/[0-9a-f]{64}$/.test(e.name))!;
    raw.data = Buffer.concat([raw.data, Buffer.from('extra')]);
    const bad = join(s.media, 'size.airlock');
    await craftBundle(bad, entries);
    expectRefusal(['apply', bad, '--data-dir', s.dataDir], s.dataDir, 3, 'BUNDLE_CORRUPT', /bytes but the manifest says/, new RegExp(raw.name));
  });

  it('a header whose object count disagrees with what the bundle carries', async () => {
    const data = Buffer.from('R is a language for statistics\n');
    const id = hashBytes(data);
    const entries = hostileFullBundle([{ path: 'a.txt', id, size: data.length, mode: 0o644 }], [{ name: `objects/${id}`, data }], {
      objects: { count: 2, bytes: data.length },
    });
    const bad = join(s.media, 'count.airlock');
    await craftBundle(bad, entries);
    const empty = join(tempDir(), 'rspm-offline-data');
    expectRefusal(['apply', bad, '--data-dir', empty], empty, 3, 'BUNDLE_CORRUPT', /header announces 2/);
  });

  it('a full bundle that leaves out an object its tree needs', async () => {
    const a = Buffer.from('first file\n');
    const b = Buffer.from('second file\n');
    const entries = hostileFullBundle(
      [
        { path: 'a.txt', id: hashBytes(a), size: a.length, mode: 0o644 },
        { path: 'b.txt', id: hashBytes(b), size: b.length, mode: 0o644 },
      ],
      [{ name: `objects/${hashBytes(a)}`, data: a }],
      { target: { label: 'short', parent: null, createdAt: 'now', sequence: 5, files: 2, bytes: a.length + b.length } },
    );
    const bad = join(s.media, 'incomplete.airlock');
    await craftBundle(bad, entries);
    expect(airlock(['bundle', 'verify', bad]).stderr).toMatch(/carries 1 of the 2 objects/);
    const dataDir = join(tempDir(), 'rspm-offline-data');
    expectRefusal(['apply', bad, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /carries 1 of the 2 objects/);
    const index = join(`${dataDir}.airlock`, 'snapshots', 'v1', 'index.json');
    expect(fs.existsSync(index) ? JSON.parse(fs.readFileSync(index, 'utf8')).records : []).toEqual([]);
  });

  it('a header whose file count or size disagrees with the manifest', async () => {
    const data = Buffer.from('x');
    const id = hashBytes(data);
    const entries = hostileFullBundle([{ path: 'a', id, size: 1, mode: 0o644 }], [{ name: `objects/${id}`, data }], {
      target: { label: 'lies', parent: null, createdAt: 'now', sequence: 5, files: 40000, bytes: 1 },
    });
    const bad = join(s.media, 'totals.airlock');
    await craftBundle(bad, entries);
    const dataDir = join(tempDir(), 'rspm-offline-data');
    expectRefusal(['apply', bad, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_CORRUPT', /describes 40000 files/);
  });

  for (const [what, path] of [
    ['an absolute path', '/etc/cron.d/airlock'],
    ['a .. path', '../outside.txt'],
    ['a .. in the middle', 'v3/../../outside.txt'],
  ] as const) {
    it(`a manifest with ${what} is refused before anything is written`, async () => {
      const data = Buffer.from('* * * * * root echo owned\n');
      const id = hashBytes(data);
      const bad = join(s.media, 'path.airlock');
      await craftBundle(bad, hostileFullBundle([{ path, id, size: data.length, mode: 0o644 }], [{ name: `objects/${id}`, data }]));
      const root = tempDir();
      const dataDir = join(root, 'rspm-offline-data');
      expectRefusal(['apply', bad, '--data-dir', dataDir], dataDir, 3, 'MANIFEST_INVALID', /unsafe path/);
      expect(fs.existsSync(join(root, 'outside.txt'))).toBe(false);
    });
  }

  for (const type of ['symlink', 'link', 'character-device', 'directory'] as const) {
    it(`a ${type} entry in the tar stream is refused`, async () => {
      const data = Buffer.from('x');
      const id = hashBytes(data);
      const entries = hostileFullBundle([{ path: 'a', id, size: 1, mode: 0o644 }], [{ name: `objects/${id}`, data, type, linkname: '/etc/passwd' }]);
      const bad = join(s.media, `${type}.airlock`);
      await craftBundle(bad, entries);
      const dataDir = join(tempDir(), 'rspm-offline-data');
      expectRefusal(['apply', bad, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_UNSAFE_ENTRY', /not a regular file/);
    });
  }

  it('an entry named outside objects/ is refused', async () => {
    const data = Buffer.from('x');
    const id = hashBytes(data);
    const entries = hostileFullBundle([{ path: 'a', id, size: 1, mode: 0o644 }], [{ name: '../../etc/passwd', data }]);
    const bad = join(s.media, 'name.airlock');
    await craftBundle(bad, entries);
    const dataDir = join(tempDir(), 'rspm-offline-data');
    expectRefusal(['apply', bad, '--data-dir', dataDir], dataDir, 3, 'BUNDLE_UNSAFE_ENTRY', /unexpected entry name/);
  });

  it('a directory or a missing path given as the bundle', () => {
    expectRefusal(['apply', s.media, '--data-dir', s.dataDir], s.dataDir, 2, 'USAGE', /is not a file/);
    expectRefusal(['bundle', 'verify', join(s.media, 'no-such.airlock')], s.dataDir, 2, 'NOT_FOUND', /does not exist/);
  });

  it('a file that is not a bundle at all', () => {
    const notBundle = join(s.media, 'notes.txt');
    fs.writeFileSync(notBundle, 'these are not the bytes you are looking for\n'.repeat(100));
    expectRefusal(['apply', notBundle, '--data-dir', s.dataDir], s.dataDir, 3, 'BUNDLE_CORRUPT', /notes\.txt/);
  });

  it('a data dir copied by hand is not overwritten: adopt is suggested', () => {
    const plain = join(tempDir(), 'rspm-offline-data');
    fs.mkdirSync(join(plain, 'v3'), { recursive: true });
    fs.writeFileSync(join(plain, 'v3', 'PACKAGES'), 'Package: x\n');
    expectRefusal(['apply', bundles.full1!, '--data-dir', plain], plain, 4, 'NOT_MANAGED', /airlock adopt/);
  });

  it('a second apply while one is running is refused by the lock', () => {
    fs.writeFileSync(join(`${s.dataDir}.airlock`, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'apply', since: 'now' }));
    try {
      expectRefusal(['apply', bundles.delta12!, '--data-dir', s.dataDir], s.dataDir, 4, 'LOCKED', new RegExp(`pid ${process.pid}`));
      // status still answers, read-only, and names the busy command
      const status = airlockJson<{ status: { busy: { pid: number; command: string }; current: { id: string } } }>(['status', '--data-dir', s.dataDir]);
      expect(status.status.busy).toMatchObject({ pid: process.pid, command: 'apply' });
      expect(status.status.current.id).toBe(s.ids.v1);
    } finally {
      fs.rmSync(join(`${s.dataDir}.airlock`, 'lock'));
    }
  });

  it('a lock left by a killed process is taken over', () => {
    fs.writeFileSync(join(`${s.dataDir}.airlock`, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'apply', since: 'then' }));
    airlockOk(['status', '--data-dir', s.dataDir]);
    expect(fs.existsSync(join(`${s.dataDir}.airlock`, 'lock'))).toBe(false);
  });

  it('a bad --owner names the missing user', () => {
    expectRefusal(['apply', bundles.delta12!, '--data-dir', s.dataDir, '--owner', 'no-such-user-here:nogroup'], s.dataDir, 2, 'USAGE', /no-such-user-here does not exist/);
  });
});
