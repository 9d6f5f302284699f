import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/cli/format.js';

describe('formatDuration', () => {
  it('rounds before it splits: never 1m60s or 59m60s', () => {
    expect(formatDuration(119.6)).toBe('2m00s');
    expect(formatDuration(59.6)).toBe('1m00s');
    expect(formatDuration(3599.7)).toBe('1h00m');
    expect(formatDuration(61)).toBe('1m01s');
    expect(formatDuration(7260)).toBe('2h01m');
    expect(formatDuration(0.4)).toBe('0s');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
