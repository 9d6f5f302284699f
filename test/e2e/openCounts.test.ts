import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlockBin, airlockJson, airlockOk } from '../helpers/cli.js';
import { onlineScenario, type Scenario } from '../helpers/fixtures.js';
import { straced } from '../helpers/syscalls.js';

/**
 * Each value computed once per command: one `apply` of a signed delta in volumes, run by the
 * real binary under strace, opens each volume exactly once (the early seal check, the set's
 * checks and the full read share one open file) and reads the snapshot index once. Counted
 * from the system calls, not from the code.
 */
interface Counts {
  volumeOpens: number[];
  indexReads: number;
}

function count(trace: string[], volumes: string[], index: string): Counts {
  const lines = trace.filter((l) => /open(at)?\(/.test(l) && !/= -1 /.test(l));
  const opens = (path: string) => lines.filter((l) => l.includes(`"${path}"`)).length;
  return { volumeOpens: volumes.map(opens), indexReads: opens(index) };
}

let s: Scenario;
let volumes: string[];

beforeAll(async () => {
  s = await onlineScenario(2, { packages: 40, payloadMedian: 100_000, updateShare: 0.8 });
  const key = join(s.root, 'signing');
  airlockOk(['key', 'generate', '--output', key]);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', join(s.media, 'full.airlock')]);
  airlockOk(['trust', 'add', `${key}.pub`, '--data-dir', s.dataDir]);
  airlockOk(['apply', join(s.media, 'full.airlock'), '--data-dir', s.dataDir, '--allow-unsigned']);
  const out = airlockJson<{ volumes: string[] }>([
    'bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--sign', `${key}.key`, '--volume-size', '1M', '--output', join(s.media, 'delta.airlock'),
  ]);
  volumes = out.volumes;
}, 120_000);

describe('apply of a signed volume set', () => {
  it('opens each volume once and reads the snapshot index once', () => {
    expect(volumes.length).toBeGreaterThan(1);
    const trace = straced(s.root, [process.execPath, airlockBin, 'apply', ...volumes, '--data-dir', s.dataDir], 'openat,open');
    const counts = count(trace, volumes, join(`${s.dataDir}.airlock`, 'snapshots', 'v1', 'index.json'));
    process.stderr.write(`airlock apply of ${volumes.length} volumes: opens per volume ${counts.volumeOpens.join(',')}; snapshot index read ${counts.indexReads} times\n`);
    expect(counts.volumeOpens).toEqual(volumes.map(() => 1));
    expect(counts.indexReads).toBe(1);
  });
});
