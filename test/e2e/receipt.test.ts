import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlock, airlockJson, airlockOk, airlockRun, airlockRunJson, type RunResult } from '../helpers/cli.js';
import { onlineScenario, readTree, tempDir, type Scenario } from '../helpers/fixtures.js';

/**
 * Receipts: the offline side writes what it holds (`airlock receipt`), the drive carries
 * it back, and the online side makes the next delta from it, even in a repository that
 * never held the offline side's snapshot.
 */

interface ReceiptJson {
  receipt: string;
  bytes: number;
  snapshot: { id: string; sequence: number; label: string | null; files: number };
  highestSequence: number;
  trustedKeys: { id: string; name: string }[];
}

interface HeaderJson {
  kind: string;
  from: string | null;
  to: string;
  target: { sequence: number };
  objects: { count: number; bytes: number };
}

interface ErrorJson {
  ok: false;
  error: { code: string; message: string };
}

/** A failed `--json` run: exit status and error code checked, the error returned. */
function failing(args: string[], exit: number, code: string): ErrorJson['error'] & { stderr: string } {
  const r = airlock([...args, '--json']);
  expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(exit);
  const parsed = JSON.parse(r.stdout) as ErrorJson;
  expect(parsed.error.code, parsed.error.message).toBe(code);
  expect(r.stderr).toContain(`[${code}]`);
  return { ...parsed.error, stderr: r.stderr };
}

function objectIds(repo: string, snapshot: string): Set<string> {
  const show = airlockJson<{ files: { id: string }[] }>(['snapshot', 'show', '--repo', repo, snapshot, '--files']);
  return new Set(show.files.map((f) => f.id));
}

function flipByte(from: string, to: string, offset: number): void {
  const bytes = fs.readFileSync(from);
  bytes[offset]! ^= 0x20;
  fs.writeFileSync(to, bytes);
}

describe('receipts: the offline side tells the online side what it holds', () => {
  let s: Scenario;
  let fresh: string;
  let receiptV1: string;
  let delta: string;

  beforeAll(async () => {
    s = await onlineScenario(2);
    fresh = join(s.root, 'fresh-online');
    receiptV1 = join(s.media, 'v1.receipt');
    delta = join(s.media, 'from-receipt.airlock');
  });

  it('refuses a data dir airlock does not manage (exit 4), and writes nothing', () => {
    const unmanaged = join(s.root, 'offline', 'elsewhere');
    const out = join(s.media, 'never.receipt');
    const err = failing(['receipt', '--data-dir', unmanaged, '--output', out], 4, 'NOT_MANAGED');
    expect(err.message).toContain('not a data directory managed by airlock');
    expect(fs.existsSync(out)).toBe(false);
    // A state dir with only trusted keys (trust add before the first apply) is not managed either.
    const keyBase = join(s.root, 'early-key');
    airlockOk(['key', 'generate', '--output', keyBase]);
    airlockOk(['trust', 'add', `${keyBase}.pub`, '--data-dir', unmanaged]);
    failing(['receipt', '--data-dir', unmanaged, '--output', out], 4, 'NOT_MANAGED');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('writes a receipt of the applied snapshot, and never overwrites one', () => {
    const full = join(s.media, 'full-v1.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['apply', full, '--data-dir', s.dataDir]);
    const r = airlockJson<ReceiptJson>(['receipt', '--data-dir', s.dataDir, '--output', receiptV1]);
    expect(r.receipt).toBe(receiptV1);
    expect(r.snapshot).toMatchObject({ id: s.ids.v1, sequence: 1, label: 'v1' });
    expect(r.highestSequence).toBe(1);
    expect(r.trustedKeys).toEqual([]);
    const bytes = fs.readFileSync(receiptV1);
    expect(bytes.length).toBe(r.bytes);
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('airlock-receipt\n');
    // Small: the tree (compressed) and a few hundred bytes more, none of the data.
    const stored = fs.statSync(join(`${s.dataDir}.airlock`, 'snapshots', 'v1', `${s.ids.v1}.tree`)).size;
    expect(bytes.length).toBeLessThan(stored + 1024);

    const again = failing(['receipt', '--data-dir', s.dataDir, '--output', receiptV1], 2, 'USAGE');
    expect(again.message).toContain('already exists');
    expect(fs.readFileSync(receiptV1).equals(bytes)).toBe(true);
    // The human form names what to run online.
    const human = airlockOk(['receipt', '--data-dir', s.dataDir, '--output', join(s.media, 'human.receipt')]);
    expect(human.stdout).toContain(`snapshot  ${s.ids.v1} (v1), sequence 1`);
    expect(human.stdout).toContain('--starting-snapshot');
  });

  it('a fresh online repository that never held v1 makes a delta from the receipt carrying only what v1 lacks', () => {
    // The mirror is at v2 now. A new online repository records it; an unrelated first snapshot
    // puts v2 at sequence 2, above what the offline side has applied (sequences count per repository).
    const seed = join(s.root, 'seed-tree');
    fs.mkdirSync(seed);
    fs.writeFileSync(join(seed, 'README'), 'a first snapshot of another tree\n');
    airlockOk(['snapshot', 'create', '--repo', fresh, '--from', seed, '--label', 'seed']);
    const v2 = airlockJson<{ snapshot: { id: string; sequence: number } }>(['snapshot', 'create', '--repo', fresh, '--from', s.mirror, '--label', 'v2']);
    expect(v2.snapshot).toEqual(expect.objectContaining({ id: s.ids.v2, sequence: 2 }));
    const held = airlockJson<{ snapshots: { id: string }[] }>(['snapshot', 'list', '--repo', fresh]).snapshots.map((r) => r.id);
    expect(held).not.toContain(s.ids.v1);
    expect(fs.existsSync(join(fresh, 'snapshots', 'v1', `${s.ids.v1}.tree`))).toBe(false);

    const fullV2 = join(s.media, 'full-v2.airlock');
    const full = airlockJson<{ header: HeaderJson }>(['bundle', 'create', '--repo', fresh, '--snapshot', 'v2', '--output', fullV2]);
    airlockJson(['bundle', 'create', '--repo', fresh, '--snapshot', 'v2', '--starting-snapshot', receiptV1, '--output', delta]);
    const inspected = airlockJson<{ header: HeaderJson }>(['bundle', 'inspect', delta]).header;
    expect(inspected).toMatchObject({ kind: 'delta', from: s.ids.v1, to: s.ids.v2 });
    const v1Objects = objectIds(s.repo, 'v1');
    const expected = [...objectIds(fresh, 'v2')].filter((id) => !v1Objects.has(id));
    expect(expected.length).toBeGreaterThan(0);
    expect(inspected.objects.count).toBe(expected.length);
    expect(inspected.objects.count).toBeLessThan(full.header.objects.count);
    // The same delta as the original repository makes from its own v1.
    const byLabel = airlockJson<{ header: HeaderJson }>(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', join(s.media, 'by-label.airlock')]);
    expect(byLabel.header.objects).toEqual(inspected.objects);
  });

  it('the delta applies to the offline data dir and verifies deep', () => {
    airlockOk(['apply', delta, '--data-dir', s.dataDir]);
    expect(fs.readlinkSync(s.dataDir)).toContain(s.ids.v2!);
    airlockOk(['verify', '--data-dir', s.dataDir, '--deep']);
    const status = airlockJson<{ status: { current: { id: string }; highestSequence: number } }>(['status', '--data-dir', s.dataDir]);
    expect(status.status.current.id).toBe(s.ids.v2);
    expect(status.status.highestSequence).toBe(2);
    const online = readTree(s.mirror);
    const offline = readTree(s.dataDir);
    expect([...offline.keys()].sort()).toEqual([...online.keys()].sort());
    for (const [path, bytes] of online) expect(offline.get(path)?.equals(bytes), path).toBe(true);
  });

  it('a receipt whose snapshot the online repository also holds works the same', () => {
    const out = join(s.media, 'same-repo.airlock');
    const r = airlockJson<{ header: HeaderJson }>(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', receiptV1, '--output', out]);
    const byLabel = airlockJson<{ header: HeaderJson }>(['bundle', 'inspect', join(s.media, 'by-label.airlock')]);
    expect(r.header).toMatchObject({ kind: 'delta', from: s.ids.v1, to: s.ids.v2 });
    expect(r.header.objects).toEqual(byLabel.header.objects);
  });

  it('refuses a damaged receipt (exit 3) and writes nothing', () => {
    const size = fs.statSync(receiptV1).size;
    for (const [name, offset] of [['middle', Math.floor(size / 2)], ['magic', 3], ['checksum', size - 1]] as const) {
      const damaged = join(s.media, `damaged-${name}.receipt`);
      flipByte(receiptV1, damaged, offset);
      const out = join(s.media, `never-${name}.airlock`);
      const err = failing(['bundle', 'create', '--repo', fresh, '--snapshot', 'v2', '--starting-snapshot', damaged, '--output', out], 3, 'MANIFEST_INVALID');
      expect(err.message).toMatch(name === 'magic' ? /not an airlock receipt/ : /receipt is damaged/);
      expect(fs.existsSync(out)).toBe(false);
    }
    const truncated = join(s.media, 'truncated.receipt');
    fs.writeFileSync(truncated, fs.readFileSync(receiptV1).subarray(0, size - 100));
    failing(['bundle', 'create', '--repo', fresh, '--starting-snapshot', truncated, '--output', join(s.media, 'never-truncated.airlock')], 3, 'MANIFEST_INVALID');
    expect(fs.readdirSync(s.media).filter((n) => n.startsWith('never-'))).toEqual([]);
  });

  it('refuses a receipt that shows the offline side at or past the target (exit 4)', () => {
    const receiptV2 = join(s.media, 'v2.receipt');
    airlockOk(['receipt', '--data-dir', s.dataDir, '--output', receiptV2]);
    const toV2 = join(s.media, 'never-v2.airlock');
    const same = failing(['bundle', 'create', '--repo', fresh, '--snapshot', 'v2', '--starting-snapshot', receiptV2, '--output', toV2], 4, 'BASE_MISMATCH');
    expect(same.message).toContain('already at or past');
    const toV1 = join(s.media, 'never-v1.airlock');
    const older = failing(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--starting-snapshot', receiptV2, '--output', toV1], 4, 'BASE_MISMATCH');
    expect(older.message).toContain('already at or past');
    expect(fs.existsSync(toV2) || fs.existsSync(toV1)).toBe(false);
  });

  it('after a rollback, a receipt still refuses a bundle the offline side would refuse as a downgrade', () => {
    airlockOk(['rollback', '--data-dir', s.dataDir]);
    const receipt = join(s.media, 'rolled-back.receipt');
    const r = airlockJson<ReceiptJson>(['receipt', '--data-dir', s.dataDir, '--output', receipt]);
    expect(r.snapshot.id).toBe(s.ids.v1);
    expect(r.highestSequence).toBe(2);
    const out = join(s.media, 'never-downgrade.airlock');
    const err = failing(['bundle', 'create', '--repo', fresh, '--snapshot', 'v2', '--starting-snapshot', receipt, '--output', out], 4, 'DOWNGRADE');
    expect(err.message).toContain('sequence 2');
    expect(fs.existsSync(out)).toBe(false);
    airlockOk(['rollback', '--data-dir', s.dataDir, '--to', s.ids.v2!]);
  });

  it('a file that is not a receipt and names no snapshot is refused as such', () => {
    const other = join(s.media, 'notes.txt');
    fs.writeFileSync(other, 'not a receipt\n');
    const err = failing(['bundle', 'create', '--repo', fresh, '--starting-snapshot', other, '--output', join(s.media, 'never-notes.airlock')], 3, 'MANIFEST_INVALID');
    expect(err.message).toContain('not an airlock receipt');
  });

  it('carries the trusted key ids', () => {
    const keyBase = join(s.root, 'signing');
    const key = airlockJson<{ keyId: string }>(['key', 'generate', '--output', keyBase]);
    airlockOk(['trust', 'add', `${keyBase}.pub`, '--data-dir', s.dataDir]);
    const out = join(s.media, 'with-key.receipt');
    const r = airlockJson<ReceiptJson>(['receipt', '--data-dir', s.dataDir, '--output', out]);
    expect(r.trustedKeys).toEqual([expect.objectContaining({ id: key.keyId, name: 'signing.pub' })]);
    // In the file, not only in the command's output.
    expect(fs.readFileSync(out).includes(Buffer.from(key.keyId, 'latin1'))).toBe(true);
  });
});

describe('get --bundle --starting-snapshot RECEIPT', () => {
  let root: string;
  let work: string;
  let server: UpstreamServer;
  let manifest: UpstreamManifest;
  const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };

  beforeAll(async () => {
    root = tempDir('airlock-upstream-');
    work = tempDir('airlock-receipt-get-');
    manifest = await generateUpstream(root, { distributions: ['jammy'] });
    server = await startUpstreamServer({ root });
  });

  afterAll(async () => {
    await server?.close();
    for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cranArgs = (dest: string, ...extra: string[]) => ['get', 'cran', '--destination', dest, '--base-url', `${server.url}/ppm`, '--sysreqs-url', `${server.url}/sysreqs`, ...extra];

  async function failingRun(args: string[], exit: number, code: string): Promise<RunResult> {
    const r = await airlockRun([...args, '--json'], ENV);
    expect(r.status, r.stderr).toBe(exit);
    expect((JSON.parse(r.stdout) as ErrorJson).error.code).toBe(code);
    return r;
  }

  it('a first download into a new destination writes a delta from an adopted data dir\'s receipt', async () => {
    const dates = manifest.snapshots.map((x) => x.date);
    // An old online host got January; its tree was copied to the offline host by hand and adopted there.
    const old = join(work, 'old-online');
    server.setToday(dates[0]!);
    await airlockRunJson(cranArgs(old), ENV);
    const dataDir = join(work, 'offline', 'rspm-offline-data');
    fs.mkdirSync(dataDir, { recursive: true });
    for (const [path, bytes] of readTree(join(old, 'current'))) {
      fs.mkdirSync(join(dataDir, path, '..'), { recursive: true });
      fs.writeFileSync(join(dataDir, path), bytes);
    }
    airlockOk(['adopt', '--data-dir', dataDir]);
    const receipt = join(work, 'adopted.receipt');
    const r = airlockJson<ReceiptJson>(['receipt', '--data-dir', dataDir, '--output', receipt]);
    expect(r.snapshot.sequence).toBe(0);

    // A damaged receipt fails before anything is downloaded.
    const damaged = join(work, 'damaged.receipt');
    flipByte(receipt, damaged, 40);
    server.setToday(dates[1]!);
    server.clearRequests();
    const never = join(work, 'never.airlock');
    await failingRun(cranArgs(join(work, 'never-online'), '--bundle', never, '--starting-snapshot', damaged), 3, 'MANIFEST_INVALID');
    expect(server.requests()).toEqual([]);
    expect(fs.existsSync(never) || fs.existsSync(join(work, 'never-online'))).toBe(false);

    // A new online host: its first get writes a delta from the receipt.
    const dest = join(work, 'new-online');
    const delta = join(work, 'feb.airlock');
    const got = await airlockRunJson<{ snapshot: { id: string }; bundle: { startingSnapshot: string; header: HeaderJson } }>(
      cranArgs(dest, '--bundle', delta, '--starting-snapshot', receipt),
      ENV,
    );
    expect(got.bundle.startingSnapshot).toBe(r.snapshot.id);
    expect(got.bundle.header).toMatchObject({ kind: 'delta', from: r.snapshot.id, to: got.snapshot.id });
    const full = airlockJson<{ header: HeaderJson }>(['bundle', 'create', '--repo', dest, '--output', join(work, 'feb-full.airlock')]);
    expect(got.bundle.header.objects.count).toBeLessThan(full.header.objects.count);
    airlockOk(['apply', delta, '--data-dir', dataDir]);
    airlockOk(['verify', '--data-dir', dataDir, '--deep']);
    const online = readTree(join(dest, 'current'));
    const offline = readTree(dataDir);
    expect([...offline.keys()].sort()).toEqual([...online.keys()].sort());
    for (const [path, bytes] of online) expect(offline.get(path)?.equals(bytes), path).toBe(true);

    // The online host is rebuilt again from nothing: its sequences would restart at 1, which the
    // offline side (sequence 1 applied) would refuse as a downgrade. A get from the receipt
    // continues counting from the sequence the receipt shows instead.
    server.setToday(dates[2]!);
    const receipt2 = join(work, 'after-feb.receipt');
    const held = airlockJson<ReceiptJson>(['receipt', '--data-dir', dataDir, '--output', receipt2]);
    const rebuilt = join(work, 'rebuilt-online');
    const delta2 = join(work, 'mar.airlock');
    const again = await airlockRunJson<{ snapshot: { id: string; sequence: number }; bundle: { header: HeaderJson } }>(
      cranArgs(rebuilt, '--bundle', delta2, '--starting-snapshot', receipt2),
      ENV,
    );
    expect(held.highestSequence).toBe(1);
    expect(again.snapshot.sequence).toBe(2);
    expect(again.bundle.header).toMatchObject({ kind: 'delta', from: held.snapshot.id, to: again.snapshot.id });
    airlockOk(['apply', delta2, '--data-dir', dataDir]);
    expect(airlockJson<{ status: { highestSequence: number } }>(['status', '--data-dir', dataDir]).status.highestSequence).toBe(2);
  });
});
