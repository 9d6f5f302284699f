import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { volumeFileName } from '../../src/core/bundle/volume.js';
import { airlock, airlockJson } from '../helpers/cli.js';
import { onlineScenario, type Scenario } from '../helpers/fixtures.js';

/**
 * A bundle write killed with SIGKILL (issue "Admin-proof", items 5 and 6): the drive never
 * holds what looks like a finished bundle, a set of volumes appears whole or not at all (the
 * first volume is renamed last), and the next run removes what the killed one left (temp files
 * of a process that is gone, volumes of a set that never got its first) and writes the bundle.
 */
let s: Scenario;

beforeAll(async () => {
  s = await onlineScenario(1, { packages: 40, payloadMedian: 100_000 });
}, 60_000);

const left = (dir: string) => fs.readdirSync(dir).sort();

describe('bundle create killed', () => {
  it('between the renames of a volume set: no first volume, then the re-run replaces the set and leaves no temp file', () => {
    const dir = join(s.media, 'volumes');
    fs.mkdirSync(dir);
    const out = join(dir, 'full.airlock');
    const killed = airlock(['bundle', 'create', '--repo', s.repo, '--volume-size', '1M', '--output', out], { AIRLOCK_FAILPOINT: 'volumes-between-renames:2' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(volumeFileName(out, 1))).toBe(false);
    expect(left(dir).some((n) => /^full\.airlock\.\d{3}$/.test(n))).toBe(true); // the interrupted set's later volumes
    expect(left(dir).some((n) => n.startsWith('.tmp-'))).toBe(true);
    const again = airlockJson<{ volumes: string[] }>(['bundle', 'create', '--repo', s.repo, '--volume-size', '1M', '--output', out]);
    expect(left(dir)).toEqual(again.volumes.map((v) => v.slice(dir.length + 1)).sort());
    expect(airlockJson<{ verified: boolean }>(['bundle', 'verify', ...again.volumes]).verified).toBe(true);
  });

  it('while writing a single file: nothing under the bundle name, and the re-run removes the temp file', () => {
    const dir = join(s.media, 'single');
    fs.mkdirSync(dir);
    const out = join(dir, 'full.airlock');
    const killed = airlock(['bundle', 'create', '--repo', s.repo, '--output', out], { AIRLOCK_FAILPOINT: 'bundle-mid-write:20' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(out)).toBe(false);
    const temps = left(dir).filter((n) => n.startsWith('.tmp-full.airlock-'));
    expect(temps).toHaveLength(1);
    expect(fs.statSync(join(dir, temps[0]!)).size).toBeGreaterThan(0);
    const again = airlock(['bundle', 'create', '--repo', s.repo, '--output', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`removed ${join(dir, temps[0]!)}, left by an interrupted bundle write`);
    expect(left(dir)).toEqual(['full.airlock']);
  });
});
