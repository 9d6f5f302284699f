import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream } from '../../fixtures/upstream/universe.js';
import { airlockRun } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

/**
 * A hostile upstream whose PACKAGES.gz is a decompression bomb: a few hundred kilobytes that
 * inflate to hundreds of megabytes. It is refused as not an index (exit 3), at once (a bomb is
 * not fetched again), before it can take memory, and nothing is recorded (issue "Admin-proof",
 * item 7).
 */
let root: string;
let fixture: UpstreamServer;
let bomb: http.Server;
let bombUrl: string;
let requests = 0;

beforeAll(async () => {
  root = tempDir('airlock-bomb-');
  await generateUpstream(join(root, 'fixture'), { packages: 4 });
  fixture = await startUpstreamServer({ root: join(root, 'fixture') });
  const body = gzipSync(Buffer.alloc(300 * 1024 * 1024), { level: 9 });
  bomb = http.createServer((req, res) => {
    if (req.url?.endsWith('/src/contrib/PACKAGES.gz')) {
      requests++;
      res.setHeader('Content-Length', body.length);
      res.end(body);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => bomb.listen(0, '127.0.0.1', resolve));
  bombUrl = `http://127.0.0.1:${(bomb.address() as AddressInfo).port}/cran`;
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await new Promise((resolve) => bomb?.close(resolve));
  fs.rmSync(root, { recursive: true, force: true });
});

describe('a PACKAGES.gz that is a decompression bomb', () => {
  it('is refused as not an index before it is unpacked past the cap, fetched once, and nothing is recorded', async () => {
    const dest = join(root, 'repo');
    const run = await airlockRun(['get', 'cran', '--destination', dest, '--base-url', bombUrl, '--source-type', 'cran-mirror', '--sysreqs-url', `${fixture.url}/sysreqs`], {
      AIRLOCK_RETRY_BASE_MS: '20',
      NODE_OPTIONS: '--max-old-space-size=256',
    });
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/UPSTREAM_INDEX_INVALID/);
    expect(run.stderr).toMatch(/unpacks to more than/);
    expect(requests).toBe(1);
    expect(fs.existsSync(join(dest, 'snapshots'))).toBe(false);
  });
});
