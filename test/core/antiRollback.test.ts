import { describe, expect, it } from 'vitest';
import { judgeSequence } from '../../src/core/antiRollback.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('judgeSequence', () => {
  it('takes any bundle newer than the highest applied, from any base', () => {
    expect(judgeSequence(3, B, { id: A, sequence: 1 }, 2)).toBe('newer');
    expect(judgeSequence(1, null, null, 0)).toBe('newer');
  });

  it('takes a local snapshot at the same sequence built on exactly the snapshot shown', () => {
    // production shows B (sequence 2, the highest); staging pruned B and exported the result from B
    expect(judgeSequence(2, B, { id: B, sequence: 2 }, 2)).toBe('same-level');
    // an adopted tree exported to an empty data dir
    expect(judgeSequence(0, null, null, 0)).toBe('same-level');
  });

  it('refuses a replay of the newest bundle onto the snapshot a rollback went back to', () => {
    // applied A (1) and A->B (2), rolled back to A: replaying A->B must stay a downgrade
    expect(judgeSequence(2, A, { id: A, sequence: 1 }, 2)).toBe('not-newer');
  });

  it('refuses a same-sequence bundle from another base, and anything older', () => {
    expect(judgeSequence(2, A, { id: B, sequence: 2 }, 2)).toBe('not-newer');
    expect(judgeSequence(2, null, { id: B, sequence: 2 }, 2)).toBe('not-newer');
    expect(judgeSequence(1, B, { id: B, sequence: 1 }, 2)).toBe('not-newer');
    expect(judgeSequence(0, null, null, 3)).toBe('not-newer');
  });
});
