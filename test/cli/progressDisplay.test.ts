import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { airlockBin } from '../helpers/cli.js';
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
});
