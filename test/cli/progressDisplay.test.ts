import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startUpstreamServer } from '../../fixtures/upstream/server.js';
import { generateUpstream } from '../../fixtures/upstream/universe.js';
import { airlockBin, airlockRun } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

/**
 * Progress on a real terminal (a pseudo-terminal from util-linux's `script`): a phase without
 * a total (reading the upstream's indexes) turns a spinner beside its counts, never a bar
 * frozen at 0 %.
 */
describe('progress on a terminal', () => {
  it('a phase without a total shows a spinner and counts, not a bar at 0 %', () => {
    const dir = tempDir('airlock-tty-');
    const command = `${process.execPath} ${airlockBin} get cran --destination ${join(dir, 'repo')} --base-url http://127.0.0.1:9/ppm --source-type package-manager --retries 0`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw new Error(`script (util-linux) could not run: ${run.error.message}`);
    const screen = run.stdout;
    expect(screen).toMatch(/[|/\\-] reading upstream indexes: 0 files/);
    expect(screen).not.toMatch(/\d+% \| reading upstream indexes/);
    expect(screen).not.toMatch(/[░█]/);
    expect(screen).toMatch(/UPSTREAM_UNAVAILABLE/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a download shows percent and ETA by bytes, estimated from the last snapshot and marked as such', async () => {
    const dir = tempDir('airlock-tty-');
    await generateUpstream(join(dir, 'fixture'), { packages: 6 });
    const upstream = await startUpstreamServer({ root: join(dir, 'fixture') });
    try {
      const get = ['get', 'cran', '--destination', join(dir, 'repo'), '--base-url', `${upstream.url}/ppm`, '--sysreqs-url', `${upstream.url}/sysreqs`];
      const first = await airlockRun(get);
      expect(first.status, first.stderr).toBe(0);
      upstream.advance();
      // Asynchronously: the upstream answers from this very process.
      const run = await new Promise<{ stdout: string }>((resolve, reject) => {
        const child = spawn('script', ['-qec', [process.execPath, airlockBin, ...get].join(' '), '/dev/null']);
        let stdout = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.on('error', reject);
        child.on('close', () => resolve({ stdout }));
      });
      expect(run.stdout, run.stdout).toMatch(/\d+% \| downloading: \d+\/\d+ files, [\d.]+ (B|KiB)\/~[\d.]+ (B|KiB)/);
      expect(run.stdout).toMatch(/recorded snapshot/);
    } finally {
      await upstream.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
