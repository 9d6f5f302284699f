import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyRejected, HttpClient } from '../../src/upstream/http.js';

/**
 * HttpClient against a real server on loopback: bodies arrive whole and in order however
 * slowly they are read, a reader that stops early or a refused status leaves the client
 * able to go on, and failures mid-body are retried.
 */
// More than loopback's socket buffers hold (at most 4 MiB sent and 6 MiB received), so a body cut off cannot count as sent whole.
const BIG = Buffer.alloc(24 * 1024 * 1024 + 12_345);
for (let i = 0; i + 4 <= BIG.length; i += 4) BIG.writeUInt32LE((i * 2654435761) >>> 0, i);

let server: http.Server;
let base: string;
const seen: string[] = [];
let resetsLeft = 0;
let connections = 0;
/** How each response of /big ended: sent whole, or cut off by the client. */
const bigEndings: string[] = [];
let busyLeft = 0;
const arrivals: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const url = req.url ?? '';
    if (url === '/big') {
      res.on('close', () => bigEndings.push(res.writableFinished ? 'sent whole' : 'cut off'));
      res.writeHead(200, { 'content-length': String(BIG.length) });
      // In pieces, so the client sees many chunks and has to pause and resume.
      let at = 0;
      const more = () => {
        while (at < BIG.length) {
          const piece = BIG.subarray(at, at + 64 * 1024);
          at += piece.length;
          if (!res.write(piece)) return res.once('drain', more);
        }
        res.end();
      };
      more();
    } else if (url === '/small') {
      res.writeHead(200, { 'content-length': '5' });
      res.end('hello');
    } else if (url === '/hints') {
      res.writeEarlyHints({ link: '</small>; rel=preload' });
      res.writeHead(200, { 'content-length': '5' });
      res.end('hello');
    } else if (url === '/missing') {
      // An error page that is still coming when the status is read.
      const page = Buffer.alloc(20_000, 'not found ');
      res.writeHead(404, { 'content-length': String(page.length) });
      res.flushHeaders();
      setTimeout(() => res.end(page), 30);
    } else if (url === '/moved') {
      res.writeHead(302, { location: '/small', 'content-length': '0' });
      res.end();
    } else if (url === '/busy-once') {
      arrivals.push(Date.now());
      if (busyLeft-- > 0) {
        res.writeHead(503, { 'retry-after': '1', 'content-length': '4' });
        res.end('busy');
      } else {
        res.writeHead(200, { 'content-length': '5' });
        res.end('ready');
      }
    } else if (url === '/reset-once') {
      if (resetsLeft > 0) {
        resetsLeft--;
        res.writeHead(200, { 'content-length': String(BIG.length) });
        res.write(BIG.subarray(0, 100_000), () => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { 'content-length': String(BIG.length) });
      res.end(BIG);
    } else {
      res.writeHead(500);
      res.end();
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(connectionsPerOrigin = 2): HttpClient {
  return new HttpClient({ connections: connectionsPerOrigin, timeoutMs: 10_000, retries: 2, retryBaseMs: 10 });
}

/** `path`'s body as text, fetched by a client of its own (closed afterwards). */
async function fetchText(path: string): Promise<string> {
  const web = client();
  try {
    return (await web.fetchSmall({ url: `${base}${path}`, userAgent: 'test' }, 100)).toString();
  } finally {
    await web.close();
  }
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('HttpClient', () => {
  it('hands over a body read slowly whole and in order, its length as announced', async () => {
    const web = client();
    try {
      const got = await web.fetch({ url: `${base}/big`, userAgent: 'test' }, async (response) => {
        const chunks: Buffer[] = [];
        let reads = 0;
        for await (const chunk of response.body) {
          chunks.push(chunk);
          // A slow disk: the server gets ahead, so the client holds the connection back.
          if (++reads % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return { length: response.length, body: Buffer.concat(chunks), reads };
      });
      expect(got.length).toBe(BIG.length);
      expect(got.body.length).toBe(BIG.length);
      expect(sha(got.body)).toBe(sha(BIG));
      expect(got.reads).toBeGreaterThan(1);
    } finally {
      await web.close();
    }
  });

  it('goes on after a reader that stopped early, with its error, and after a refused status', async () => {
    // One connection: a body left coming (paused a MiB in) would hold it, and every request after would wait.
    const web = client(1);
    try {
      bigEndings.length = 0;
      const stopped = web.fetch({ url: `${base}/big`, userAgent: 'test' }, async (response) => {
        for await (const chunk of response.body) throw new Error(`enough after ${chunk.length} bytes`);
        return 'read to the end';
      });
      await expect(stopped).rejects.toThrow(/enough after \d+ bytes/);
      // The rest of a body nobody wants is not downloaded: the client cut it off.
      for (let waited = 0; bigEndings.length === 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(bigEndings).toEqual(['cut off']);
      await expect(web.fetchSmall({ url: `${base}/missing`, userAgent: 'test' }, 100)).rejects.toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
      expect((await web.fetchSmall({ url: `${base}/small`, userAgent: 'test' }, 100)).toString()).toBe('hello');
      expect(await web.contentLength({ url: `${base}/big`, userAgent: 'test' })).toBe(BIG.length);
    } finally {
      await web.close();
    }
  });

  it('reads a short error page through, so its connection serves the next request', async () => {
    const web = client(1);
    try {
      const before = connections;
      await expect(web.fetchSmall({ url: `${base}/missing`, userAgent: 'test' }, 100)).rejects.toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
      expect((await web.fetchSmall({ url: `${base}/small`, userAgent: 'test' }, 100)).toString()).toBe('hello');
      expect(connections - before).toBe(1);
    } finally {
      await web.close();
    }
  });

  it("waits as long as a 503's Retry-After asks before trying again, though its own pause is shorter", async () => {
    busyLeft = 1;
    arrivals.length = 0;
    expect(await fetchText('/busy-once')).toBe('ready');
    expect(arrivals).toHaveLength(2);
    // Retry-After: 1 against a backoff of about 10 ms (a whole second is not always a full 1000 ms of timers).
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  it('passes over an interim 103 answer and takes the real one after it', async () => {
    expect(await fetchText('/hints')).toBe('hello');
  });

  it('does not retry through a proxy that refuses the tunnel (407): only the admin can fix that', async () => {
    let connects = 0;
    const proxy = http.createServer();
    proxy.on('connect', (_req, socket) => {
      connects++;
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="site"\r\n\r\n');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const web = new HttpClient({ connections: 1, timeoutMs: 10_000, retries: 2, retryBaseMs: 10, proxy: `127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    try {
      await expect(web.fetchSmall({ url: `${base}/small`, userAgent: 'test' }, 100)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: expect.stringContaining('through the proxy') });
      expect(connects).toBe(1);
    } finally {
      await web.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('follows a redirect', async () => {
    expect(await fetchText('/moved')).toBe('hello');
  });

  it('retries a body cut off mid-way and a body its reader refused, then hands over the whole one', async () => {
    const retried: string[] = [];
    const withLog = new HttpClient({ connections: 2, timeoutMs: 10_000, retries: 2, retryBaseMs: 10, onRetry: (url, why) => retried.push(`${url.slice(base.length)}: ${why}`) });
    try {
      resetsLeft = 1;
      seen.length = 0;
      let refusals = 1;
      const body = await withLog.fetch({ url: `${base}/reset-once`, userAgent: 'test' }, async (response) => {
        const chunks: Buffer[] = [];
        for await (const chunk of response.body) chunks.push(chunk);
        const all = Buffer.concat(chunks);
        if (refusals-- > 0) throw new BodyRejected('checksum mismatch (test)', 'checksum');
        return all;
      });
      expect(sha(body)).toBe(sha(BIG));
      expect(seen.filter((line) => line === 'GET /reset-once')).toHaveLength(3);
      expect(retried).toHaveLength(2);
      expect(retried[1]).toContain('checksum mismatch (test)');
    } finally {
      await withLog.close();
    }
  });
});
