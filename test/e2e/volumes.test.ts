import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../fixtures/random.js';
import { parseVolumeSize, partCapacity, volumeFileName } from '../../src/core/bundle/volume.js';
import { airlock, airlockJson, airlockOk } from '../helpers/cli.js';
import { fingerprint, onlineScenario, readTree, type Scenario } from '../helpers/fixtures.js';

/**
 * Bundles cut into volumes for media with a file size limit: each volume a tar of its
 * own, checkable alone right after it is copied; applied from the volumes in any order;
 * a missing or damaged volume named by its number.
 */
const VOLUME = 1024 * 1024;

let s: Scenario;
let base: string;
let volumes: string[];

beforeAll(async () => {
  // About 40 packages with 100 kB of incompressible payload each: a bundle of several MiB.
  s = await onlineScenario(1, { packages: 40, payloadMedian: 100_000 });
  base = join(s.media, 'full.airlock');
  const out = airlockJson<{ volumes: string[]; bundleBytes: number }>(['bundle', 'create', '--repo', s.repo, '--output', base, '--volume-size', '1M']);
  volumes = out.volumes;
  expect(volumes.length).toBe(Math.ceil(out.bundleBytes / partCapacity(VOLUME)));
}, 120_000);

describe('bundle volumes', () => {
  it('writes F.001... each at most the volume size, each a tar naming the bundle, its number and the total', () => {
    expect(volumes.length).toBeGreaterThan(2);
    volumes.forEach((v, i) => {
      expect(v).toBe(volumeFileName(base, i + 1));
      expect(fs.statSync(v).size).toBeLessThanOrEqual(VOLUME);
      expect(execFileSync('tar', ['tf', v], { encoding: 'utf8' }).trim().split('\n')).toEqual(['airlock-volume.json', 'airlock-bundle.part']);
      const descriptor = JSON.parse(execFileSync('tar', ['xOf', v, 'airlock-volume.json'], { encoding: 'utf8' })) as { volume: number; volumes: number };
      expect(descriptor).toMatchObject({ volume: i + 1, volumes: volumes.length });
    });
    expect(fs.existsSync(base)).toBe(false);
  });

  it('joins back into exactly the single-file bundle', () => {
    const single = join(s.media, 'single.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--output', single]);
    const parts = volumes.map((v) => execFileSync('tar', ['xOf', v, 'airlock-bundle.part'], { maxBuffer: 64 * 1024 * 1024 }));
    const joined = Buffer.concat(parts);
    // Same entries and content; only the header's creation time may differ between two writes.
    expect(joined.length).toBe(fs.statSync(single).size);
    expect(execFileSync('tar', ['t'], { input: joined, encoding: 'utf8' })).toBe(execFileSync('tar', ['tf', single], { encoding: 'utf8' }));
    // And the joined parts are a bundle that verifies byte by byte.
    const rejoined = join(s.media, 'rejoined.airlock');
    fs.writeFileSync(rejoined, joined);
    expect(airlockJson<{ verified: boolean }>(['bundle', 'verify', rejoined]).verified).toBe(true);
  });

  it('verifies each volume on its own, and the whole bundle from all of them', () => {
    for (const v of volumes) expect(airlockJson<{ verified: string; volume: number }>(['bundle', 'verify', v])).toMatchObject({ verified: 'volume' });
    const whole = airlockJson<{ verified: boolean; objects: number }>(['bundle', 'verify', ...volumes]);
    expect(whole.verified).toBe(true);
  });

  it('applies from the volumes given in any order', () => {
    const shuffled = [...volumes];
    const rng = new Random(9);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const dataDir = join(s.root, 'offline', 'shuffled', 'rspm-offline-data');
    fs.mkdirSync(join(dataDir, '..'), { recursive: true });
    airlockOk(['apply', ...shuffled, '--data-dir', dataDir]);
    const expected = readTree(s.mirror);
    const applied = readTree(dataDir);
    expect([...applied.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, bytes] of expected) expect(applied.get(path)!.equals(bytes)).toBe(true);
  });

  it('names missing volumes by number and changes nothing', () => {
    const dataDir = join(s.root, 'offline', 'missing', 'rspm-offline-data');
    fs.mkdirSync(join(dataDir, '..'), { recursive: true });
    const given = volumes.filter((_, i) => i !== 1 && i !== volumes.length - 1);
    const before = fingerprint(join(dataDir, '..'));
    const run = airlock(['apply', ...given, '--data-dir', dataDir]);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain(`volumes 2, ${volumes.length} of ${volumes.length} are missing`);
    expect(fingerprint(join(dataDir, '..')).split('\n').filter((l) => !l.includes('.airlock')).join('\n')).toBe(before);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('finds a damaged volume alone and within the set, naming it', () => {
    const damaged = join(s.media, 'damaged');
    fs.mkdirSync(damaged);
    const copies = volumes.map((v) => {
      const copy = join(damaged, v.split('/').pop()!);
      fs.copyFileSync(v, copy);
      return copy;
    });
    const victim = copies[1]!;
    const fd = fs.openSync(victim, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, 4096);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, 4096);
    fs.closeSync(fd);
    const alone = airlock(['bundle', 'verify', victim]);
    expect(alone.status).toBe(3);
    expect(alone.stderr).toMatch(/volume 2's part does not match/);
    const together = airlock(['bundle', 'verify', ...copies]);
    expect(together.status).toBe(3);
    expect(together.stderr).toContain(victim);
    fs.truncateSync(copies[2]!, 1000);
    const short = airlock(['bundle', 'verify', copies[2]!]);
    expect(short.status).toBe(3);
    expect(short.stderr).toMatch(/cut short: it is 1000 bytes/);
  });

  it('refuses volumes of two different bundles, and a volume given twice', () => {
    const other = join(s.media, 'other.airlock');
    const out = airlockJson<{ volumes: string[] }>(['bundle', 'create', '--repo', s.repo, '--output', other, '--volume-size', '1M']);
    const mixed = airlock(['bundle', 'verify', volumes[0]!, ...out.volumes.slice(1)]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/belongs to another bundle/);
    const twice = airlock(['bundle', 'verify', ...volumes, volumes[0]!]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/volume 1 is given twice/);
  });

  it('reads the sizes admins use', () => {
    expect(parseVolumeSize('fat32')).toBe(4 * 1024 ** 3 - 1);
    expect(parseVolumeSize('700M')).toBe(700 * 1024 ** 2);
    expect(parseVolumeSize('4G')).toBe(4 * 1024 ** 3);
    expect(parseVolumeSize('dvd')).toBeLessThan(4_700_372_992);
    expect(partCapacity(parseVolumeSize('fat32')) % 512).toBe(0);
    const bad = airlock(['bundle', 'create', '--repo', s.repo, '--output', join(s.media, 'x.airlock'), '--volume-size', '10k']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/at least 1M/);
  });
});
