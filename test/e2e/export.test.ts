import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { fingerprint, onlineScenario, readTree, type Scenario } from '../helpers/fixtures.js';

/**
 * `airlock export`: a staging host that applied and validated a snapshot hands exactly that
 * snapshot on to production as a bundle (the seed's "validate on staging, then copy to
 * production", without a raw copy), signed with a key production trusts.
 */

interface ExportJson {
  bundle: string;
  volumes: string[];
  header: { kind: string; from: string | null; to: string; target: { sequence: number; label: string | null }; objects: { count: number } };
  dataDir: string;
  signed: boolean;
}

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; hint: string | null };
}

function failing(args: string[], exit: number, code: string): ErrorJson['error'] {
  const r = airlock([...args, '--json']);
  expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(exit);
  const parsed = JSON.parse(r.stdout) as ErrorJson;
  expect(parsed.error.code, parsed.error.message).toBe(code);
  expect(r.stderr).toContain(`[${code}]`);
  return parsed.error;
}

function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, bytes] of expected) expect(actual.get(path)?.equals(bytes), path).toBe(true);
}

describe('export: from a staging data dir to production', () => {
  let s: Scenario;
  let staging: string;
  let full1: string;
  let stagingKey: { privateKey: string; publicKey: string; keyId: string };
  let productions = 0;

  /** A production data dir: optionally at v1 (applied from the online full bundle), then trusting the staging key. */
  function production(atV1: boolean): string {
    const dataDir = join(s.root, `production-${productions++}`, 'rspm-offline-data');
    fs.mkdirSync(join(dataDir, '..'), { recursive: true });
    if (atV1) airlockOk(['apply', full1, '--data-dir', dataDir]);
    airlockOk(['trust', 'add', stagingKey.publicKey, '--data-dir', dataDir]);
    return dataDir;
  }

  beforeAll(async () => {
    // 40 packages of about 100 kB: bundles of several MiB, enough for 1 MiB volumes.
    s = await onlineScenario(2, { packages: 40, payloadMedian: 100_000 });
    full1 = join(s.media, 'full1.airlock');
    const delta12 = join(s.media, 'delta12.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full1]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta12]);
    staging = join(s.root, 'staging', 'rspm-offline-data');
    fs.mkdirSync(join(staging, '..'));
    airlockOk(['apply', full1, '--data-dir', staging]);
    airlockOk(['apply', delta12, '--data-dir', staging]);
    stagingKey = airlockJson(['key', 'generate', '--output', join(s.root, 'staging-signing')]);
  }, 120_000);

  it('exports the snapshot staging shows as a full signed bundle, which a new production host trusting the key applies byte for byte', () => {
    const out = join(s.media, 'staging-full.airlock');
    const r = airlockJson<ExportJson>(['export', '--data-dir', staging, '--output', out, '--sign', stagingKey.privateKey]);
    expect(r.header).toMatchObject({ kind: 'full', from: null, to: s.ids.v2, target: { sequence: 2, label: 'v2' } });
    expect(r.signed).toBe(true);
    const verify = airlockJson<{ signedBy: string[] }>(['bundle', 'verify', out, '--key', stagingKey.publicKey]);
    expect(verify.signedBy).toEqual([stagingKey.keyId]);
    const prod = production(false);
    const applied = airlockJson<{ applied: { to: string; signedBy: string[] } }>(['apply', out, '--data-dir', prod]);
    expect(applied.applied).toMatchObject({ to: s.ids.v2, signedBy: [stagingKey.keyId] });
    expectSameTree(readTree(prod), readTree(staging));
    airlockOk(['verify', '--data-dir', prod, '--deep']);
    const status = airlockJson<{ status: { current: { label: string; sequence: number }; highestSequence: number } }>(['status', '--data-dir', prod]);
    expect(status.status.current).toMatchObject({ label: 'v2', sequence: 2 });
    expect(status.status.highestSequence).toBe(2);
  });

  it('exports a delta from a snapshot held here, carrying exactly what bundle create carries online', () => {
    const byLabel = join(s.media, 'staging-delta-label.airlock');
    const r = airlockJson<ExportJson>(['export', '--data-dir', staging, '--starting-snapshot', 'v1', '--output', byLabel, '--sign', stagingKey.privateKey]);
    const online = airlockJson<{ header: ExportJson['header'] }>(['bundle', 'inspect', join(s.media, 'delta12.airlock')]);
    expect(r.header).toMatchObject({ kind: 'delta', from: s.ids.v1, to: s.ids.v2, target: { sequence: 2 } });
    expect(r.header.objects).toEqual(online.header.objects);
    // The same by id prefix.
    const byId = airlockJson<ExportJson>(['export', '--data-dir', staging, '--starting-snapshot', s.ids.v1!.slice(0, 12), '--output', join(s.media, 'staging-delta-id.airlock')]);
    expect(byId.header.from).toBe(s.ids.v1);
    const prod = production(true);
    const applied = airlockJson<{ applied: { from: string; to: string } }>(['apply', byLabel, '--data-dir', prod]);
    expect(applied.applied).toMatchObject({ from: s.ids.v1, to: s.ids.v2 });
    expectSameTree(readTree(prod), readTree(staging));
  });

  it('exports a delta against a receipt the production host wrote', () => {
    const prod = production(true);
    const receipt = join(s.media, 'production.receipt');
    airlockOk(['receipt', '--data-dir', prod, '--output', receipt]);
    const out = join(s.media, 'staging-delta-receipt.airlock');
    const r = airlockJson<ExportJson>(['export', '--data-dir', staging, '--starting-snapshot', receipt, '--output', out, '--sign', stagingKey.privateKey]);
    expect(r.header).toMatchObject({ kind: 'delta', from: s.ids.v1, to: s.ids.v2 });
    airlockOk(['apply', out, '--data-dir', prod]);
    expectSameTree(readTree(prod), readTree(staging));
    // The receipt of a host already there: nothing to carry, refused before writing.
    const after = join(s.media, 'production-after.receipt');
    airlockOk(['receipt', '--data-dir', prod, '--output', after]);
    failing(['export', '--data-dir', staging, '--starting-snapshot', after, '--output', join(s.media, 'never.airlock')], 4, 'BASE_MISMATCH');
    expect(fs.existsSync(join(s.media, 'never.airlock'))).toBe(false);
  });

  it('is refused unsigned by a production host that trusts a key, which stays exactly as it was', () => {
    const prod = production(true);
    const out = join(s.media, 'staging-unsigned.airlock');
    const r = airlockJson<ExportJson>(['export', '--data-dir', staging, '--starting-snapshot', 'v1', '--output', out]);
    expect(r.signed).toBe(false);
    const before = fingerprint(join(prod, '..'));
    const err = failing(['apply', out, '--data-dir', prod], 4, 'UNSIGNED');
    expect(err.hint).toMatch(/sign/);
    expect(fingerprint(join(prod, '..'))).toBe(before);
    expect(fs.readlinkSync(prod)).toContain(s.ids.v1);
  });

  it('cuts the export into volumes, which apply in any order', () => {
    const out = join(s.media, 'staging-volumes.airlock');
    const r = airlockJson<ExportJson>(['export', '--data-dir', staging, '--output', out, '--volume-size', '1M', '--sign', stagingKey.privateKey]);
    expect(r.volumes.length).toBeGreaterThan(2);
    expect(fs.existsSync(out)).toBe(false);
    for (const v of r.volumes) expect(fs.statSync(v).size).toBeLessThanOrEqual(1024 * 1024);
    const prod = production(false);
    airlockOk(['apply', ...[...r.volumes].reverse(), '--data-dir', prod]);
    expectSameTree(readTree(prod), readTree(staging));
  });

  it('verifies every object as it reads it: a damaged object in the staging store fails the export and leaves no file', () => {
    const copyRoot = join(s.root, 'staging-damaged');
    execFileSync('cp', ['-a', join(staging, '..'), copyRoot]);
    const copy = join(copyRoot, 'rspm-offline-data');
    // Damage the object behind v3/src/contrib/PACKAGES (same length, one byte flipped), as a disk error would.
    const packages = fs.realpathSync(join(copy, 'v3/src/contrib/PACKAGES'));
    fs.chmodSync(packages, 0o644);
    const bytes = fs.readFileSync(packages);
    bytes[0]! ^= 0x20;
    fs.writeFileSync(packages, bytes);
    const out = join(s.media, 'damaged.airlock');
    const err = failing(['export', '--data-dir', copy, '--output', out], 3, 'OBJECT_CORRUPT');
    expect(err.message).toMatch(/damaged/);
    expect(fs.readdirSync(s.media).filter((n) => n.startsWith('damaged'))).toEqual([]);
    // The lock is released and the state dir left clean.
    expect(fs.existsSync(join(`${copy}.airlock`, 'lock'))).toBe(false);
  });

  it('refuses clearly: an unmanaged data dir, an unknown snapshot, an existing output, a snapshot gc thinned', () => {
    const out = join(s.media, 'refused.airlock');
    failing(['export', '--data-dir', s.dataDir, '--output', out], 4, 'NOT_MANAGED');
    failing(['export', '--data-dir', staging, '--snapshot', 'no-such-label', '--output', out], 2, 'NOT_FOUND');
    failing(['export', '--data-dir', staging, '--output', join(s.media, 'staging-full.airlock')], 2, 'USAGE');
    // Never into the live deployment (the data dir is a link into it) or airlock's state.
    const live = fingerprint(join(staging, '..'));
    for (const inside of [join(staging, 'x.airlock'), join(`${staging}.airlock`, 'x.airlock')]) {
      const refused = failing(['export', '--data-dir', staging, '--output', inside], 2, 'USAGE');
      expect(refused.message).toMatch(/airlock manages/);
    }
    expect(fingerprint(join(staging, '..'))).toBe(live);
    airlockOk(['gc', '--data-dir', staging, '--keep', '1']);
    const err = failing(['export', '--data-dir', staging, '--snapshot', 'v1', '--output', out], 2, 'NOT_FOUND');
    expect(err.message).toMatch(/garbage-collected/);
    expect(fs.existsSync(out)).toBe(false);
    // The current snapshot still exports after gc.
    airlockOk(['export', '--data-dir', staging, '--output', out]);
  });
});
