import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { blake3 } from '@napi-rs/blake-hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlockOk } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { openFiles, startServe, type ServeProcess } from '../helpers/serve.js';

/**
 * `airlock serve` sends a body in pieces it reads into buffers it uses again once the socket
 * has taken their bytes (src/serve/respond.ts). What could go wrong is another client's bytes
 * in a body (a piece reused too early), a body that stops at a piece's edge, a client that
 * leaves mid-body keeping a file open, or a client that stops reading making the server hold
 * the whole body in memory. Each is tried here against the real server, with bodies that end
 * on, before and after a piece's edge (256 KiB) and span many pieces.
 */
const KiB = 1024;
const PIECE = 256 * KiB;
const SIZES: Record<string, number> = {
  'one.bin': 1,
  'small.bin': 64 * KiB,
  'small-plus.bin': 64 * KiB + 1,
  'piece.bin': PIECE,
  'piece-plus.bin': PIECE + 1,
  'pieces.bin': 3 * PIECE + 17,
  'large.bin': 24 * PIECE + 5,
  // The size sysfs gives its files, which read back far shorter: a store that reads short.
  'page.bin': 4096,
};

let work: string;
let serve: ServeProcess;
const bodies = new Map<string, Buffer>();

/** Bytes that differ from file to file and from offset to offset, so a piece of another body shows. */
function content(name: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let s = [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const url = (name: string) => `${serve.url}/sysreqs/latest/${name}`;

async function get(name: string, range?: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url(name), range === undefined ? {} : { headers: { range } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** The files of the store the server has open (its sockets come and go with keep-alive, so they are not counted). */
function openObjects(pid: number): string[] {
  return openFiles(pid).filter((target) => target.includes('/objects/'));
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * A raw client: one request, or several pipelined on one connection (`names`), the last with
 * Connection: close; paused once `bytes` of the responses arrived (headers included).
 */
interface RawClient {
  socket: net.Socket;
  /** Bytes received so far. */
  received(): number;
  /** Reads on to the end of the response; resolves with every byte received. */
  finish(): Promise<number>;
}

function rawClient(names: string | string[], bytes: number, server: ServeProcess = serve): Promise<RawClient> {
  const asked = typeof names === 'string' ? [names] : names;
  const requests = asked.map((name, i) => `GET /sysreqs/latest/${name} HTTP/1.1\r\nHost: x\r\n${i === asked.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    let got = 0;
    let paused = false;
    const socket = net.connect(Number(port), hostname, () => socket.write(requests));
    const ended = new Promise<number>((done) => socket.on('close', () => done(got)));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (!paused && got >= bytes) {
        paused = true;
        socket.pause();
        resolve({
          socket,
          received: () => got,
          finish: () => {
            socket.resume();
            return ended;
          },
        });
      }
    });
  });
}

async function settles(check: () => boolean, what: string, withinMs = 5000): Promise<void> {
  for (const until = Date.now() + withinMs; Date.now() < until && !check(); ) await sleep(50);
  expect(check(), what).toBe(true);
}

beforeAll(async () => {
  work = tempDir('airlock-serve-bodies-');
  const tree = join(work, 'tree');
  fs.mkdirSync(join(tree, 'sysreqs'), { recursive: true });
  for (const [name, size] of Object.entries(SIZES)) {
    const body = content(name, size);
    bodies.set(name, body);
    fs.writeFileSync(join(tree, 'sysreqs', name), body);
  }
  const repo = join(work, 'repo');
  airlockOk(['snapshot', 'create', '--repo', repo, '--from', tree, '--label', '2026-01-05', '--quiet']);
  airlockOk(['bundle', 'create', '--repo', repo, '--output', join(work, 'full.airlock'), '--quiet']);
  fs.mkdirSync(join(work, 'offline'));
  const dataDir = join(work, 'offline', 'data');
  airlockOk(['apply', join(work, 'full.airlock'), '--data-dir', dataDir, '--quiet']);
  serve = await startServe(dataDir, ['--quiet']);
}, 120_000);

function dataDirOf(): string {
  return join(work, 'offline', 'data');
}

afterAll(async () => {
  await serve?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('airlock serve hostile: bodies sent in reused pieces', () => {
  it('sends every body whole, and ranges across the pieces’ edges byte for byte', async () => {
    for (const [name, body] of bodies) {
      const whole = await get(name);
      expect(whole.status, name).toBe(200);
      expect(whole.body.equals(body), `${name}: the body is the file`).toBe(true);
    }
    const large = bodies.get('large.bin')!;
    for (const [start, end] of [[PIECE - 3, PIECE + 3], [1, 5 * PIECE], [PIECE, 2 * PIECE - 1], [large.length - PIECE - 1, large.length - 1], [7, 7]] as const) {
      const part = await get('large.bin', `bytes=${start}-${end}`);
      expect(part.status).toBe(206);
      expect(part.body.equals(large.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
    }
  });

  it('gives each of many clients at once its own bytes', async () => {
    const names = [...bodies.keys()];
    const asks = Array.from({ length: 64 }, (_, i) => names[(i * 5) % names.length]!);
    const got = await Promise.all(asks.map(async (name) => ({ name, ...(await get(name)) })));
    for (const { name, status, body } of got) {
      expect(status).toBe(200);
      expect(body.equals(bodies.get(name)!), `${name}: another body's bytes, or a short one`).toBe(true);
    }
  });

  it('closes the file of a client that leaves mid-body, and goes on serving whole bodies', async () => {
    const pid = serve.child.pid!;
    // Clients that take a little of the large body (or nothing past the headers) and vanish.
    for (let round = 0; round < 3; round++) {
      const leaving = await Promise.all(Array.from({ length: 12 }, (_, i) => rawClient(i % 3 === 0 ? 'pieces.bin' : 'large.bin', i % 2 === 0 ? 100 : 300 * KiB)));
      for (const client of leaving) client.socket.destroy();
      const again = await get('large.bin');
      expect(again.body.equals(bodies.get('large.bin')!), 'a whole body after clients left mid-body').toBe(true);
    }
    await settles(() => openObjects(pid).length === 0, `the server still has ${openObjects(pid).length} files of the store open`);
  });

  it('closes the files of pipelined requests whose client leaves while their responses wait their turn', async () => {
    const pid = serve.child.pid!;
    // The second and third responses queue behind the first on their connection: they have no
    // socket of their own to hear it close.
    const leaving = await Promise.all(Array.from({ length: 5 }, () => rawClient(['large.bin', 'large.bin', 'pieces.bin'], 100 * KiB)));
    expect(openObjects(pid).length, 'the responses under way and those queued hold their files').toBeGreaterThan(leaving.length);
    for (const client of leaving) client.socket.destroy();
    await settles(() => openObjects(pid).length === 0, `the server still has ${openObjects(pid).length} files of the store open`);
    expect((await get('pieces.bin')).body.equals(bodies.get('pieces.bin')!)).toBe(true);
  });

  it('holds a piece, not the body, for a client that stops reading', async () => {
    const pid = serve.child.pid!;
    const large = bodies.get('large.bin')!;
    await get('large.bin');
    const before = rssBytes(pid);
    // Each stops reading after its first bytes; the server may send only what the sockets take.
    const stalled = await Promise.all(Array.from({ length: 24 }, () => rawClient('large.bin', 1)));
    await sleep(500);
    const grown = rssBytes(pid) - before;
    // Held whole, the bodies would be 24 x 6 MiB; held a piece each (and the kernel's socket
    // buffers, outside the process), a few MiB.
    expect(grown, `the server grew by ${(grown / 2 ** 20).toFixed(1)} MiB for 24 stalled clients`).toBeLessThan((24 * large.length) / 4);
    // Meanwhile others are served, and the stalled ones get their bodies whole once they read.
    expect((await get('pieces.bin')).body.equals(bodies.get('pieces.bin')!)).toBe(true);
    const received = await Promise.all(stalled.map((client) => client.finish()));
    // Headers and then the body in full.
    for (const n of received) expect(n).toBeGreaterThan(large.length);
    expect(Math.max(...received) - Math.min(...received), 'the same response to each').toBe(0);
  });

  it('closes the connection of a client that stops reading for the send timeout, and with it the file; a slow reader is not cut', async () => {
    const timeoutMs = 3000;
    const strict = await startServe(dataDirOf(), ['--quiet'], { AIRLOCK_SERVE_SEND_TIMEOUT_MS: String(timeoutMs) });
    try {
      const pid = strict.child.pid!;
      const large = bodies.get('large.bin')!;
      // A reader that pauses for a sixth of the timeout after each MiB (about 2 MB/s): the socket
      // takes a piece well within the timeout. (Node restarts the clock only when a write is
      // taken whole, so a client slower than the kernel's send buffer per timeout can be cut.)
      const slow = slowReader(strict, 'large.bin', 4 * PIECE, timeoutMs / 6);
      const stalled = await Promise.all(Array.from({ length: 4 }, () => rawClient('large.bin', 1, strict)));
      expect(openObjects(pid).length, 'the stalled responses hold their files').toBeGreaterThanOrEqual(stalled.length);
      const stalledAt = Date.now();
      await settles(() => openObjects(pid).length <= 1, `${openObjects(pid).length} files of the store still open after the send timeout`, 4 * timeoutMs);
      expect(Date.now() - stalledAt, 'not before the timeout').toBeGreaterThanOrEqual(timeoutMs - 300);
      // What the stalled clients get when they read again: what was in flight, then the end, short of the body.
      const received = await Promise.all(stalled.map((client) => client.finish()));
      for (const n of received) expect(n).toBeLessThan(large.length);
      const whole = await slow;
      expect(whole.equals(large), 'the slow reader got the body whole').toBe(true);
      await settles(() => openObjects(pid).length === 0, `the server still has ${openObjects(pid).length} files of the store open`);
    } finally {
      await strict.stop();
    }
  }, 60_000);
});

describe('airlock serve hostile: a store that reads short', () => {
  it('answers 500 naming the damage and the way out when an object reads short of its size, not a cut connection', async () => {
    const id = blake3(bodies.get('page.bin')!).toString('hex');
    const object = findFile(`${dataDirOf()}.airlock`, id);
    expect(object, 'the object of page.bin in the store').toBeDefined();
    // A sysfs file says 4,096 bytes and gives a few dozen: bound over the object, the store reads short.
    execFileSync('mount', ['--bind', '/sys/kernel/mm/transparent_hugepage/enabled', object!]);
    try {
      const answer = await fetch(url('page.bin'));
      expect(answer.status).toBe(500);
      expect(await answer.text()).toMatch(/ended before its recorded size.*airlock verify --deep/);
    } finally {
      execFileSync('umount', [object!]);
    }
    expect((await get('page.bin')).body.equals(bodies.get('page.bin')!)).toBe(true);
  });
});

function findFile(dir: string, name: string): string | undefined {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name && !path.includes('/deployments/')) return path;
  }
  return undefined;
}

describe('airlock serve hostile: a stop with a client that stopped reading', () => {
  it('waits for it no longer than the send timeout, and exits 0', async () => {
    const timeoutMs = 3000;
    const strict = await startServe(dataDirOf(), ['--quiet'], { AIRLOCK_SERVE_SEND_TIMEOUT_MS: String(timeoutMs) });
    const stalled = await rawClient('large.bin', 1, strict);
    const asked = Date.now();
    const code = await strict.stop();
    expect(code).toBe(0);
    expect(Date.now() - asked, 'the stop waited for the response under way, up to the timeout').toBeGreaterThanOrEqual(timeoutMs - 300);
    // Node checks the clock a timeout after the last write started: the cut comes one to two timeouts in.
    expect(Date.now() - asked).toBeLessThan(3 * timeoutMs + 2000);
    stalled.socket.destroy();
  }, 30_000);
});

/** Reads a body `step` bytes at a time, pausing `pauseMs` between steps (never as long as the send timeout); resolves with the body. */
function slowReader(server: ServeProcess, name: string, step: number, pauseMs: number): Promise<Buffer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sinceStep = 0;
    const socket = net.connect(Number(port), hostname, () => socket.write(`GET /sysreqs/latest/${name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      sinceStep += chunk.length;
      if (sinceStep >= step) {
        sinceStep = 0;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
  });
}
