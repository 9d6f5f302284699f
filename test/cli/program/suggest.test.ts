import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../../src/cli/program/suggest.js';

describe('suggestions for a mistyped word', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('apply', 'apply')).toBe(0);
    expect(editDistance('aply', 'apply')).toBe(1);
    expect(editDistance('craete', 'create')).toBe(1);
    expect(editDistance('', 'gc')).toBe(2);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the nearest only when it is near', () => {
    expect(closest('aply', ['apply', 'adopt', 'status'])).toBe('apply');
    expect(closest('--ownr', ['--owner', '--data-dir'])).toBe('--owner');
    expect(closest('xyzzy', ['apply', 'adopt', 'status'])).toBeNull();
    expect(closest('gx', ['gc', 'get'])).toBe('gc');
    expect(closest('ab', ['gc'])).toBeNull();
    expect(closest('x'.repeat(65), ['x'.repeat(65)])).toBeNull();
    expect(closest('x'.repeat(64), ['x'.repeat(63)])).toBe('x'.repeat(63));
  });
});
