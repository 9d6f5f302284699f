import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRun, airlockRunJson, downloaderBin } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

/**
 * What users of Posit's downloader type (issue "Mirror what you need", section 3): its older
 * and newer flag spellings, the seed guide's update without --bundle, and sysreqs made optional.
 */
const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };
let root: string;
let server: UpstreamServer;
let manifest: UpstreamManifest;

beforeAll(async () => {
  root = tempDir('airlock-flags-');
  manifest = await generateUpstream(join(root, 'fixture'), { packages: 6 });
  server = await startUpstreamServer({ root: join(root, 'fixture') });
}, 60_000);

afterAll(async () => {
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const ppm = () => ['--base-url', `${server.url}/ppm`, '--sysreqs-url', `${server.url}/sysreqs`];

describe("Posit's downloader flags", () => {
  it('--linux-distros is --distributions, arm64 is aarch64 (one directory), --rspm-version is recorded and said to change nothing', async () => {
    const dest = join(root, 'spellings');
    const out = await airlockRunJson<{ notes: string[] }>(
      ['get', 'cran', '--destination', dest, ...ppm(), '--include-binaries', '--r-versions', '4.4', '--linux-distros', 'jammy', '--architectures', 'arm64,aarch64', '--rspm-version', '2024.08.0', '--json'],
      ENV,
    );
    const bin = fs.readdirSync(join(dest, 'current', 'bin'));
    expect(bin).toEqual(['4.4-jammy-aarch64']);
    const archives = fs.readdirSync(join(dest, 'current', 'bin', '4.4-jammy-aarch64', 'src', 'contrib')).filter((f) => f.endsWith('.tar.gz'));
    expect(archives.length).toBe(manifest.binaries.find((b) => b.distribution === 'jammy' && b.rVersion === '4.4' && b.arch === 'aarch64' && b.snapshot === manifest.snapshots[0]!.date)!.packages.length);
    const snapshotJson = JSON.parse(fs.readFileSync(join(dest, 'current', 'v3', 'snapshot.json'), 'utf8')) as { rspmVersion?: string };
    expect(snapshotJson.rspmVersion).toBe('2024.08.0');
    expect(out.notes.join('\n')).toMatch(/--rspm-version 2024\.08\.0 is recorded in v3\/snapshot\.json; it changes nothing else/);
  });

  it("the seed guide's update, --starting-snapshot without --bundle, writes the delta into the destination's bundles/", async () => {
    const dest = join(root, 'seed-guide');
    const first = await airlockRun(['get', 'cran', '--destination', dest, ...ppm(), '--label', 'first'], ENV, { bin: downloaderBin });
    expect(first.status, first.stderr).toBe(0);
    server.advance();
    const update = await airlockRun(['get', 'cran', '--destination', dest, ...ppm(), '--label', 'second', '--starting-snapshot', 'first'], ENV, { bin: downloaderBin });
    expect(update.status, update.stderr).toBe(0);
    const bundle = join(dest, 'bundles', 'second.airlock');
    expect(update.stdout).toContain(`wrote ${bundle}: delta from`);
    const inspect = await airlockRunJson<{ header: { kind: string; from: string; to: string } }>(['bundle', 'inspect', bundle, '--json'], ENV);
    const list = await airlockRunJson<{ snapshots: { id: string; label: string | null }[] }>(['snapshot', 'list', '--repo', dest, '--json'], ENV);
    expect(inspect.header.kind).toBe('delta');
    expect(inspect.header.from).toBe(list.snapshots.find((s) => s.label === 'first')!.id);
    expect(inspect.header.to).toBe(list.snapshots.find((s) => s.label === 'second')!.id);
    const verify = await airlockRun(['bundle', 'verify', bundle], ENV);
    expect(verify.status, verify.stderr).toBe(0);
  });
});

describe('--sysreqs-url none', () => {
  it('skips the system requirements; a sysreqs host that cannot be reached names the flag', async () => {
    const dest = join(root, 'no-sysreqs');
    const unreachable = await airlockRun(['get', 'cran', '--destination', dest, '--base-url', `${server.url}/cran`, '--source-type', 'cran-mirror', '--sysreqs-url', 'http://127.0.0.1:9/sysreqs', '--retries', '0'], ENV);
    expect(unreachable.status).toBe(5);
    expect(unreachable.stderr).toMatch(/system requirements, from http:\/\/127\.0\.0\.1:9\/sysreqs/);
    expect(unreachable.stderr).toMatch(/--sysreqs-url none/);
    server.clearRequests();
    const run = await airlockRun(['get', 'cran', '--destination', dest, '--base-url', `${server.url}/cran`, '--source-type', 'cran-mirror', '--sysreqs-url', 'none'], ENV);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/note: system requirements were not downloaded \(--sysreqs-url none\)/);
    expect(fs.existsSync(join(dest, 'current', 'sysreqs'))).toBe(false);
    expect(fs.readdirSync(join(dest, 'current', 'v3', 'src', 'contrib')).some((f) => f.endsWith('.tar.gz'))).toBe(true);
    expect(server.requests().some((r) => r.path.startsWith('/sysreqs'))).toBe(false);
    // validate knows the rules were skipped on purpose (v3/snapshot.json says so), and checks the rest.
    expect(JSON.parse(fs.readFileSync(join(dest, 'current', 'v3', 'snapshot.json'), 'utf8')).sysreqs).toBe('none');
    const valid = await airlockRun(['validate', 'cran', '--destination', dest, '--packages'], ENV);
    expect(valid.status, valid.stderr).toBe(0);
  });
});
