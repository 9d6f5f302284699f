import { describe, expect, it } from 'vitest';
import { airlock } from '../helpers/cli.js';

describe('help that helps', () => {
  it('-h is help on every command, as --help is', () => {
    for (const args of [['-h'], ['apply', '-h'], ['serve', '-h'], ['bundle', 'create', '-h']]) {
      const run = airlock(args);
      expect(run.status, args.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/Options:/);
    }
  });

  it('a mistyped command is a usage error that suggests the right one', () => {
    const run = airlock(['aply', 'x.airlock']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Did you mean apply\?/);
  });
});
