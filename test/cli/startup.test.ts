import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { airlockBin } from '../helpers/cli.js';
import { straced } from '../helpers/syscalls.js';

/**
 * What a command loads at start-up, read from the files node opens under strace: `--version`
 * loads no package at all, and a command that only reads loads none of what downloading,
 * decompressing or parsing YAML needs. (Timings are `npm run bench`'s, not a test's.)
 */
const work = fs.mkdtempSync(join(tmpdir(), 'airlock-startup-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The packages under node_modules a run of airlock opened a file of; `exitCode` is the run's expected end. */
function packagesOpened(args: string[], exitCode = 0): string[] {
  const lines = straced(work, [process.execPath, airlockBin, ...args], 'openat', [exitCode]);
  const found = new Set<string>();
  for (const line of lines) {
    const m = /node_modules\/((?:@[^/"]+\/)?[^/"]+)/.exec(line);
    if (m && !line.includes('ENOENT')) found.add(m[1]!);
  }
  return [...found].sort();
}

describe('start-up loads only what the command uses', () => {
  it('--version opens no package', () => {
    expect(packagesOpened(['--version'])).toEqual([]);
  });

  it('help and a usage error load no HTTP client', () => {
    expect(packagesOpened(['status', '--help'])).not.toContain('undici');
    expect(packagesOpened(['apply'], 2)).not.toContain('undici');
  });

  it('get loads the parts of undici it uses, not the whole package (fetch, WebSocket, caches, mocks)', () => {
    // Nothing listens on port 1: the first request fails (exit 5, retried without a pause) after the modules are loaded.
    const lines = straced(work, ['env', 'AIRLOCK_RETRY_BASE_MS=1', process.execPath, airlockBin, 'get', 'cran', '--destination', join(work, 'get'), '--base-url', 'http://127.0.0.1:1/cran', '--sysreqs-url', 'none'], 'openat', [5]);
    const undici = [...new Set(lines.map((l) => /node_modules\/undici\/([^"]+)"/.exec(l)?.[1]).filter((f) => f !== undefined))];
    expect(undici).toContain('lib/dispatcher/agent.js');
    expect(undici).toContain('lib/interceptor/redirect.js');
    for (const unused of ['index.js', 'lib/web/fetch/index.js', 'lib/web/websocket/websocket.js', 'lib/mock/mock-agent.js', 'lib/cache/memory-cache-store.js']) expect(undici).not.toContain(unused);
  });

  it('a read-only offline command loads no HTTP client, no zstd and no YAML parser', () => {
    // A data dir not there yet (exit 4): the command's modules are all loaded by then.
    const opened = packagesOpened(['status', '--data-dir', join(work, 'absent')], 4);
    expect(opened).toContain('msgpackr');
    for (const heavy of ['undici', 'zstd-napi', 'yaml', 'tar-stream']) expect(opened).not.toContain(heavy);
  });
});
