import * as fs from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { blake3 } from '@napi-rs/blake-hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream, type UpstreamManifest } from '../../fixtures/upstream/universe.js';
import { airlockRun, airlockRunJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { openFiles, startServe, type ServeProcess } from '../helpers/serve.js';

/**
 * `airlock serve` racing the commands that change the data dir under it. Four dated CRAN
 * snapshots are downloaded from the fixture upstream and carried as a full bundle and three
 * deltas; the first two are applied, then serve starts and 200 downloads (at most 50 at a time)
 * of `latest` and dated URLs run while `apply`, `rollback`, `apply` and `gc --keep 2` run beside
 * it through the real CLI. Every answer must be a 200 whose body is, byte for byte, what one
 * snapshot that URL could name at that moment holds at that path, with ETag = BLAKE3 of the body.
 *
 * Before each command a few downloads are started and held after their headers until the
 * command has finished, so a download that straddles each switch (and the gc that deletes the
 * files it is reading) is not left to timing. The snapshots of the first and third day come from
 * a universe with one large package more than the others: the gc that removes them deletes a
 * 6 MiB file while held downloads of it are open, more than the kernel's socket buffers take
 * in (about 4 MiB on loopback), so the server is still reading it when it goes.
 */
const ENV = { AIRLOCK_RETRY_BASE_MS: '20' };
const DATES = ['2026-01-05', '2026-02-02', '2026-03-02', '2026-04-06'];
const MiB = 1024 * 1024;
const DOWNLOADS = 200;
const IN_FLIGHT = 50;
/** Each free-running download reads at most this fast, so the large ones last across a switch. */
const READ_RATE = 4 * MiB;
/** Gap between starting two downloads of a group, so they spread over the command that runs. */
const PACE_MS = 15;
/** Each download must be complete within this (twice this for one held across a command). */
const TIMEOUT_MS = 30_000;
/** In the snapshots of days 0 and 2 only: gc --keep 2 deletes it. */
const LARGE_GC = 'Largepkg3_1.0.0.tar.gz';

/** One snapshot as its tree names it: the files of src/contrib and their BLAKE3. */
interface Snap {
  date: string;
  id: string;
  /** `PACKAGES`, `PACKAGES.gz`, `Foo_1.0.0.tar.gz` -> BLAKE3 hex of the bytes the tree holds. */
  files: Map<string, string>;
  /** The archives its PACKAGES lists. */
  listed: string[];
}

/** What the data dir shows and keeps between two commands (indexes into snaps, oldest first). */
interface State {
  current: number;
  kept: number[];
}

/** Before the race, then after each command of OPS. */
const STATES: State[] = [
  { current: 1, kept: [0, 1] },
  { current: 2, kept: [0, 1, 2] },
  { current: 1, kept: [0, 1, 2] },
  { current: 3, kept: [0, 1, 2, 3] },
  // gc --keep 2: the current one and the one used most recently before it (the rollback's).
  { current: 3, kept: [1, 3] },
];

let root: string;
let work: string;
/** Two universes, alike but for a third large package: the snapshots of days 0 and 2 come from the first. */
let upstreams: UpstreamServer[] = [];
let manifests: UpstreamManifest[];
let dataDir: string;
let bundles: string[];
let snaps: Snap[];
let serve: ServeProcess;

const hex = (data: Buffer): string => blake3(data).toString('hex');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const objectPath = (id: string): string => join(`${dataDir}.airlock`, 'objects', 'v1', id.slice(0, 2), id);

/** Which snapshot a URL's snapshot part names in a state: as serve chooses (`latest`, or the newest kept on or before a day). */
function resolveRef(ref: string, state: State): number | undefined {
  if (ref === 'latest') return state.current;
  return state.kept.filter((i) => DATES[i]! <= ref).at(-1);
}

function contribFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) if (d.isFile()) files.set(d.name, hex(fs.readFileSync(join(dir, d.name))));
  return files;
}

beforeAll(async () => {
  root = tempDir('airlock-serve-race-upstream-');
  work = tempDir('airlock-serve-race-');
  manifests = [];
  for (const large of [3, 2]) {
    const dir = join(root, `large-${large}`);
    const options = { packages: 30, payloadMedian: 200_000, largePackages: { count: large, size: 6 * MiB }, snapshots: DATES, distributions: ['jammy'], rVersions: ['4.4'], architectures: ['x86_64'] };
    manifests.push(await generateUpstream(dir, options));
    upstreams.push(await startUpstreamServer({ root: dir }));
  }
  const dest = join(work, 'online');
  dataDir = join(work, 'offline', 'rspm-offline-data');
  fs.mkdirSync(join(work, 'offline'));
  bundles = [];
  snaps = [];
  for (const [i, date] of DATES.entries()) {
    const upstream = upstreams[i % 2]!;
    upstream.setToday(date);
    const bundle = join(work, `${date}.airlock`);
    const got = await airlockRunJson<{ snapshot: { id: string }; view: string }>(
      [
        'get', 'cran', '--destination', dest, '--base-url', `${upstream.url}/ppm`, '--snapshot', date, '--sysreqs-url', `${upstream.url}/sysreqs`,
        '--label', date, '--bundle', bundle, ...(i > 0 ? ['--starting-snapshot', DATES[i - 1]!] : []),
      ],
      ENV,
    );
    // What the snapshot's tree holds, read from the online view of it before the next get replaces it.
    const files = contribFiles(join(got.view, 'v3', 'src', 'contrib'));
    const listed = manifests[i % 2]!.snapshots[i]!.packages.map((p) => p.file);
    for (const f of ['PACKAGES', ...listed]) expect(files.has(f), `${date}: the tree has src/contrib/${f}`).toBe(true);
    snaps.push({ date, id: got.snapshot.id, files, listed });
    bundles.push(bundle);
  }
  // From here on everything is read from the data dir, as inside the gap.
  for (const u of upstreams) await u.close();
  upstreams = [];
  expect(snaps.map((s) => s.files.has(LARGE_GC))).toEqual([true, false, true, false]);
  for (const bundle of bundles.slice(0, 2)) await airlockRunJson(['apply', bundle, '--data-dir', dataDir], ENV);
  serve = await startServe(dataDir);
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  for (const u of upstreams) await u.close();
  for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Downloads.

interface Target {
  ref: string;
  file: string;
  /** Set on a download held across command `held`: the snapshot it must come from. */
  held?: { op: number; snapshot: number };
}

interface Outcome extends Target {
  url: string;
  status: number;
  etag: string | null;
  contentLength: string | null;
  body: Buffer;
  t0: number;
  tHeaders: number;
  tEnd: number;
  error?: string;
}

interface Running {
  /** Settles once the answer's headers are in (or the download failed). */
  headers: Promise<void>;
  done: Promise<Outcome>;
}

class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * GETs one file with http.get on a fresh connection. A held download stops reading after the
 * headers until `hold` settles; a free one reads at READ_RATE at most.
 */
function download(slots: Slots, target: Target, hold?: Promise<void>): Running {
  const url = `${serve.url}/cran/${target.ref}/src/contrib/${target.file}`;
  let headersSeen!: () => void;
  const headers = new Promise<void>((resolve) => (headersSeen = resolve));
  const done = (async (): Promise<Outcome> => {
    await slots.acquire();
    const out: Outcome = { ...target, url, status: 0, etag: null, contentLength: null, body: Buffer.alloc(0), t0: performance.now(), tHeaders: NaN, tEnd: NaN };
    let deadline: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(url, { agent: false }, (res) => {
          out.tHeaders = performance.now();
          out.status = res.statusCode ?? 0;
          out.etag = res.headers.etag ?? null;
          out.contentLength = res.headers['content-length'] ?? null;
          headersSeen();
          const chunks: Buffer[] = [];
          let received = 0;
          let started = performance.now();
          if (hold) {
            res.pause();
            void hold.then(() => {
              started = performance.now();
              res.resume();
            });
          }
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            if (hold) return;
            const ahead = (received / READ_RATE) * 1000 - (performance.now() - started);
            if (ahead > 5) {
              res.pause();
              setTimeout(() => res.resume(), ahead);
            }
          });
          res.on('end', () => {
            out.body = Buffer.concat(chunks);
            resolve();
          });
          res.on('aborted', () => reject(new Error(`the answer broke off after ${received} bytes`)));
          res.on('error', reject);
        });
        const limit = TIMEOUT_MS + (hold ? TIMEOUT_MS : 0);
        deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${limit} ms`)), limit);
        req.on('error', reject);
      });
    } catch (err) {
      out.error = (err as Error).message;
    } finally {
      clearTimeout(deadline);
      out.tEnd = performance.now();
      headersSeen();
      slots.release();
    }
    return out;
  })();
  return { headers, done };
}

/** The object ids a process holds open whose files were deleted (from /proc/PID/fd). */
function openDeletedFiles(pid: number): string[] {
  return openFiles(pid).flatMap((target) => /\/objects\/v1\/[0-9a-f]{2}\/([0-9a-f]{64}) \(deleted\)$/.exec(target)?.[1] ?? []);
}

/** A small deterministic generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------------

describe('airlock serve race: downloads while apply, rollback, apply and gc --keep 2 change the data dir', () => {
  it('answers every download whole from one kept snapshot (ETag = BLAKE3, never a 404), and latest follows each switch', async () => {
    const ops: { name: string; args: string[] }[] = [
      { name: `apply ${DATES[2]}`, args: ['apply', bundles[2]!, '--data-dir', dataDir] },
      { name: 'rollback', args: ['rollback', '--data-dir', dataDir] },
      // A delta from the snapshot the rollback left: held complete here, so it applies.
      { name: `apply ${DATES[3]}`, args: ['apply', bundles[3]!, '--data-dir', dataDir] },
      { name: 'gc --keep 2', args: ['gc', '--keep', '2', '--data-dir', dataDir] },
    ];
    expect(ops.length).toBe(STATES.length - 1);
    const refs = ['latest', ...DATES];
    const isLarge = (file: string) => file.startsWith('Largepkg');

    // Free-running downloads: only (URL, file) pairs every state answers with a 200, so any
    // other status is the server's fault. D1's dated URL covers every archive its PACKAGES lists.
    const always = refs.flatMap((ref) => {
      const first = resolveRef(ref, STATES[0]!);
      if (first === undefined) return [];
      return [...snaps[first]!.files.keys()].filter((file) => STATES.every((s) => snaps[resolveRef(ref, s) ?? -1]?.files.has(file))).map((file) => ({ ref, file }));
    });
    const d1 = DATES[1]!;
    expect(STATES.every((s) => resolveRef(d1, s) === 1)).toBe(true);
    const coverage: Target[] = ['PACKAGES', ...snaps[1]!.listed].map((file) => ({ ref: d1, file }));
    expect(always.filter((t) => t.ref === 'latest').map((t) => t.file)).toContain('PACKAGES');

    // Held downloads, started before each command while nothing changes, each from a known
    // snapshot: by `latest`, the current PACKAGES, the largest archive the switch takes away (or
    // changes), and a large package; by each kept snapshot's date, its largest archive that the
    // final gc deletes (or, for a snapshot kept to the end, that the other one kept lacks).
    const sizeOf = new Map(manifests.flatMap((m) => m.snapshots.flatMap((s) => s.packages.map((p) => [p.file, p.size] as const))));
    const finalKept = STATES.at(-1)!.kept;
    const largestApartFrom = (i: number, others: number[]): string => {
      const apart = (f: string) => (others.every((j) => snaps[j]!.files.get(f) !== snaps[i]!.files.get(f)) ? 1 : 0);
      return [...snaps[i]!.listed].sort((a, b) => apart(b) - apart(a) || sizeOf.get(b)! - sizeOf.get(a)!)[0]!;
    };
    const heldFor = (op: number): Target[] => {
      const state = STATES[op]!;
      const current = state.current;
      const largeHere = snaps[current]!.listed.filter(isLarge);
      const targets: Target[] = [
        { ref: 'latest', file: 'PACKAGES', held: { op, snapshot: current } },
        { ref: 'latest', file: largestApartFrom(current, [STATES[op + 1]!.current].filter((j) => j !== current)), held: { op, snapshot: current } },
        { ref: 'latest', file: largeHere[op % largeHere.length]!, held: { op, snapshot: current } },
      ];
      for (const i of state.kept) targets.push({ ref: DATES[i]!, file: largestApartFrom(i, finalKept.filter((j) => j !== i)), held: { op, snapshot: i } });
      return targets;
    };
    // Held across gc: the 6 MiB package only the removed snapshots have, by both their dates.
    expect(heldFor(ops.length - 1).filter((t) => t.file === LARGE_GC).map((t) => t.ref)).toEqual([DATES[0], DATES[2]]);
    const heldCount = ops.reduce((n, _, k) => n + heldFor(k).length, 0);
    const freeCount = DOWNLOADS - heldCount;
    const next = random(2026);
    // Large packages last across a switch; the indexes are what differ from snapshot to snapshot.
    const large = always.filter((t) => isLarge(t.file));
    const indexes = always.filter((t) => t.file.startsWith('PACKAGES'));
    const free: Target[] = [...coverage];
    while (free.length < freeCount) {
      const draw = next();
      const pool = draw < 0.2 ? large : draw < 0.4 ? indexes : always;
      free.push(pool[Math.floor(next() * pool.length)]!);
    }
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    // One group runs before the first command, one during each command.
    const groups = Array.from({ length: ops.length + 1 }, (_, g) => free.filter((_, i) => i % (ops.length + 1) === g));

    const slots = new Slots(IN_FLIGHT);
    const running: Promise<Outcome>[] = [];
    const feed = async (group: Target[]) => {
      for (const t of group) {
        running.push(download(slots, t).done);
        await sleep(PACE_MS);
      }
    };
    const times: { start: number; end: number; status: number | null; stdout: string; stderr: string }[] = [];
    const latestAfter: { op: string; expected: string; got: string; status: number }[] = [];
    // The objects only the snapshots gc removes hold, with the files that name them.
    const removed = STATES.at(-2)!.kept.filter((i) => !finalKept.includes(i));
    expect(removed).toEqual([0, 2]);
    const collected = new Map<string, string>();
    for (const i of removed) for (const [file, id] of snaps[i]!.files) if (!finalKept.some((j) => snaps[j]!.files.get(file) === id)) collected.set(id, `${snaps[i]!.date} ${file}`);
    expect(collected.size).toBeGreaterThan(0);

    let openDeleted: string[] = [];
    const raceStart = performance.now();
    const feeding = [feed(groups[0]!)];
    for (const [k, op] of ops.entries()) {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const held = heldFor(k).map((t) => download(slots, t, gate));
      await Promise.all(held.map((h) => h.headers));
      for (const h of held) running.push(h.done);
      if (k === ops.length - 1) for (const [id, what] of collected) expect(fs.existsSync(objectPath(id)), `${what} (object ${id}) is in the store before gc`).toBe(true);
      const start = performance.now();
      feeding.push(feed(groups[k + 1]!));
      const run = await airlockRun([...op.args, '--json'], ENV);
      const end = performance.now();
      // While the held downloads wait: which deleted files the server still has open (Linux).
      if (k === ops.length - 1) openDeleted = openDeletedFiles(serve.child.pid!);
      release();
      times.push({ start, end, status: run.status, stdout: run.stdout, stderr: run.stderr });
      expect(run.status, `${op.name} exited ${run.status}:\n${run.stderr}`).toBe(0);
      // latest follows the switch, with no restart.
      const answer = await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES`);
      const body = Buffer.from(await answer.arrayBuffer());
      latestAfter.push({ op: op.name, expected: snaps[STATES[k + 1]!.current]!.files.get('PACKAGES')!, got: hex(body), status: answer.status });
    }
    await Promise.all(feeding);
    const outcomes = await Promise.all(running);
    const raceEnd = performance.now();

    // Each state may be what the server saw from the start of the command that makes it to the end of the next.
    const visible = (k: number): [number, number] => [k === 0 ? -Infinity : times[k - 1]!.start, k === ops.length ? Infinity : times[k]!.end];
    const at = (t: number) => `${((t - raceStart) / 1000).toFixed(3)}s`;
    const timeline = ops.map((op, k) => `${op.name} ${at(times[k]!.start)}..${at(times[k]!.end)}`).join(', ');
    const failures: string[] = [];
    for (const o of outcomes) {
      const where = `GET ${o.url.slice(serve.url.length)} (${o.held ? `held across ${ops[o.held.op]!.name}, ` : ''}sent ${at(o.t0)}, headers ${at(o.tHeaders)}, done ${at(o.tEnd)})`;
      if (o.error !== undefined) {
        failures.push(`${where}: ${o.error} (status ${o.status})`);
        continue;
      }
      if (o.status !== 200) {
        failures.push(`${where}: status ${o.status}: ${o.body.toString('utf8').trim().slice(0, 300)}`);
        continue;
      }
      const digest = hex(o.body);
      if (o.etag !== `"${digest}"`) failures.push(`${where}: ETag ${o.etag} is not the BLAKE3 of the ${o.body.length}-byte body ("${digest}")`);
      if (o.contentLength !== String(o.body.length)) failures.push(`${where}: Content-Length ${o.contentLength}, body ${o.body.length} bytes`);
      const possible = o.held
        ? [o.held.snapshot]
        : STATES.map((s, k) => ({ s, k }))
            .filter(({ k }) => visible(k)[0] <= o.tHeaders && visible(k)[1] >= o.t0)
            .map(({ s }) => resolveRef(o.ref, s)!);
      const expected = new Set(possible.map((i) => snaps[i]!.files.get(o.file)));
      if (!expected.has(digest)) {
        const named = snaps.filter((s) => s.files.get(o.file) === digest).map((s) => s.date);
        failures.push(`${where}: the body (${digest.slice(0, 12)}) is not what ${possible.map((i) => DATES[i]).join(' or ')} holds at ${o.file}${named.length ? ` (it is ${named.join(', ')}'s)` : ' (no snapshot holds it: a mix or a damaged body)'}`);
      }
    }
    expect(outcomes).toHaveLength(DOWNLOADS);
    expect(failures, `commands: ${timeline}`).toEqual([]);
    expect(latestAfter.filter((l) => l.status !== 200 || l.got !== l.expected)).toEqual([]);

    // The race really raced: downloads open before each command finished after it.
    for (const [k, op] of ops.entries()) {
      const straddling = outcomes.filter((o) => o.tHeaders < times[k]!.start && o.tEnd > times[k]!.end);
      expect(straddling.length, `downloads straddling ${op.name}`).toBeGreaterThanOrEqual(heldFor(k).length);
    }
    const freeDuring = outcomes.filter((o) => !o.held && times.some((t) => o.t0 < t.end && o.tEnd > t.start));
    expect(freeDuring.length, 'free-running downloads overlapping a command').toBeGreaterThan(freeCount / 2);
    // Every archive D1's PACKAGES lists answered 200 at its dated URL while the data dir changed.
    const d1Answers = new Set(outcomes.filter((o) => o.ref === d1 && o.status === 200 && !o.error).map((o) => o.file));
    expect(snaps[1]!.listed.filter((f) => !d1Answers.has(f))).toEqual([]);

    // gc kept the current snapshot and the one rolled back to, and deleted the others' files,
    // including those held downloads were reading (which still came whole, above).
    const gc = JSON.parse(times[3]!.stdout) as { gc: { kept: string[]; removedDeployments: string[]; removedObjects: number } };
    expect(new Set(gc.gc.kept)).toEqual(new Set(STATES.at(-1)!.kept.map((i) => snaps[i]!.id)));
    expect(new Set(gc.gc.removedDeployments)).toEqual(new Set(removed.map((i) => snaps[i]!.id)));
    expect([...collected.keys()].filter((id) => fs.existsSync(objectPath(id))).map((id) => collected.get(id))).toEqual([]);
    const heldOnCollected = outcomes.filter((o) => o.held?.op === 3 && collected.has(snaps[o.held.snapshot]!.files.get(o.file)!));
    expect(heldOnCollected.length, 'held downloads of files gc deleted').toBeGreaterThan(0);
    // ... and the server was still reading the large one when gc deleted it: its file was open.
    expect(openDeleted, 'objects gc deleted that serve still had open').toContain(snaps[0]!.files.get(LARGE_GC));

    // The final state: latest lists what status says is current; each kept snapshot's dated
    // URL answers every archive its PACKAGES lists; a removed snapshot's date no longer answers.
    const status = (await airlockRunJson<{ status: { current: { id: string }; deployments: { snapshot: { id: string } }[] } }>(['status', '--data-dir', dataDir])).status;
    const current = snaps.findIndex((s) => s.id === status.current.id);
    expect(current).toBe(STATES.at(-1)!.current);
    expect(new Set(status.deployments.map((d) => d.snapshot.id))).toEqual(new Set(STATES.at(-1)!.kept.map((i) => snaps[i]!.id)));
    const packages = Buffer.from(await (await fetch(`${serve.url}/cran/latest/src/contrib/PACKAGES`)).arrayBuffer());
    expect(hex(packages)).toBe(snaps[current]!.files.get('PACKAGES'));
    const listedNow = [...packages.toString('utf8').matchAll(/^Package: (\S+)\nVersion: (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(listedNow).toEqual(manifests[current % 2]!.snapshots[current]!.packages.map((p) => `${p.name} ${p.version}`).sort());
    for (const i of STATES.at(-1)!.kept) {
      for (const file of snaps[i]!.listed) {
        const answer = await fetch(`${serve.url}/cran/${DATES[i]}/src/contrib/${file}`);
        const body = Buffer.from(await answer.arrayBuffer());
        expect([answer.status, hex(body)], `${DATES[i]} ${file}`).toEqual([200, snaps[i]!.files.get(file)]);
      }
    }
    expect((await fetch(`${serve.url}/cran/${DATES[0]}/src/contrib/PACKAGES`)).status).toBe(404);
    console.log(
      `serve race: ${outcomes.length} downloads (${(outcomes.reduce((n, o) => n + o.body.length, 0) / MiB).toFixed(0)} MiB) in ${((raceEnd - raceStart) / 1000).toFixed(1)} s, ` +
        `${freeDuring.length} of ${freeCount} free-running ones overlapping a command; ${timeline}`,
    );
  }, 120_000);
});
