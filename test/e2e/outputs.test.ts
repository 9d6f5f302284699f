import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlock, airlockOk } from '../helpers/cli.js';
import { onlineScenario, type Scenario } from '../helpers/fixtures.js';

/**
 * An output whose directory does not exist (a typo, a drive not mounted) is refused before
 * any work, as a usage error naming the directory: never an internal error with a stack
 * trace, and for `get` before a single request is made (issue "Admin-proof", item 8).
 */
let s: Scenario;

beforeAll(async () => {
  s = await onlineScenario(1);
  airlockOk(['bundle', 'create', '--repo', s.repo, '--output', join(s.media, 'full.airlock')]);
  airlockOk(['apply', join(s.media, 'full.airlock'), '--data-dir', s.dataDir]);
}, 60_000);

describe('an output in a directory that does not exist', () => {
  const missing = '/no/such/dir';
  const cases: [string, () => string[]][] = [
    ['bundle create', () => ['bundle', 'create', '--repo', s.repo, '--output', `${missing}/f.airlock`]],
    ['bundle create --volume-size', () => ['bundle', 'create', '--repo', s.repo, '--volume-size', '1M', '--output', `${missing}/f.airlock`]],
    ['export', () => ['export', '--data-dir', s.dataDir, '--output', `${missing}/f.airlock`]],
    ['receipt', () => ['receipt', '--data-dir', s.dataDir, '--output', `${missing}/r.receipt`]],
    ['key generate', () => ['key', 'generate', '--output', `${missing}/signing`]],
    // An upstream nobody listens on: had get started downloading, it would fail with an upstream error instead.
    ['get --bundle', () => ['get', 'cran', '--destination', join(s.root, 'new-repo'), '--base-url', 'http://127.0.0.1:9/ppm', '--bundle', `${missing}/f.airlock`]],
  ];
  for (const [name, args] of cases) {
    it(`${name}: exit 2, the directory named, no stack trace`, () => {
      const run = airlock(args());
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/USAGE/);
      expect(run.stderr).toContain(`${missing}, does not exist`);
      expect(run.stderr).toMatch(/mkdir -p \/no\/such\/dir/);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    });
  }
});
