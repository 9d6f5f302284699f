import { describe, expect, it } from 'vitest';
import { forEachConcurrently, forEachWithCallbacks, inTurn } from '../../src/core/workerPool.js';

/** Work that finishes after a few ms, counting how many run at once; item `failAt` fails. */
function counted(failAt: number) {
  const state = { running: 0, most: 0, started: [] as number[], afterFailure: 0, failed: false };
  const start = (item: number, done: (error: unknown) => void) => {
    if (state.failed) state.afterFailure++;
    state.started.push(item);
    state.running++;
    state.most = Math.max(state.most, state.running);
    setTimeout(() => {
      state.running--;
      if (item === failAt) {
        state.failed = true;
        done(new Error(`item ${item} failed`));
      } else done(null);
    }, 1 + (item % 4) * 2);
  };
  return { state, start };
}

describe('forEachWithCallbacks', () => {
  it('runs every item, in order of start, at most `concurrency` at once, and settles when the last is done', async () => {
    const { state, start } = counted(-1);
    await forEachWithCallbacks(new Set(Array.from({ length: 25 }, (_, i) => i)), 4, start);
    expect(state.started).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(state.most).toBe(4);
    expect(state.running).toBe(0);
  });

  it('after a failure starts nothing, waits for the work under way, then rejects with the first error', async () => {
    const { state, start } = counted(6);
    await expect(forEachWithCallbacks(Array.from({ length: 40 }, (_, i) => i), 5, start)).rejects.toThrow('item 6 failed');
    expect(state.running).toBe(0);
    expect(state.afterFailure).toBe(0);
    expect(state.started.length).toBeLessThan(40);
  });

  it('a start that throws fails its item; a done called twice counts once; no items resolves at once', async () => {
    await expect(
      forEachWithCallbacks([1, 2, 3], 2, (item, done) => {
        if (item === 2) throw new Error('thrown by 2');
        done(null);
        done(null);
      }),
    ).rejects.toThrow('thrown by 2');
    await expect(forEachWithCallbacks([], 3, () => undefined)).resolves.toBeUndefined();
  });
});

describe('forEachConcurrently', () => {
  it('passes each item its index, keeps the window, and rejects with the first failure once all are done', async () => {
    const seen: Array<[string, number]> = [];
    let running = 0;
    let most = 0;
    const work = async (item: string, index: number) => {
      seen.push([item, index]);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (item === 'd') throw new Error('d failed');
    };
    await expect(forEachConcurrently(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 3, work)).rejects.toThrow('d failed');
    expect(running).toBe(0);
    expect(most).toBe(3);
    for (const [item, index] of seen) expect(item.charCodeAt(0) - 97).toBe(index);
  });
});

describe('inTurn', () => {
  it('takes the steps in the order given, whatever order their inputs are ready in', async () => {
    const take = inTurn();
    const order: number[] = [];
    const resolvers: Array<(v: number) => void> = [];
    const steps = [0, 1, 2].map((n) => take(new Promise<number>((resolve) => resolvers.push(resolve)), (v) => void order.push(v * 10 + n)));
    resolvers[2]!(2);
    resolvers[0]!(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([0]); // step 2 waits for step 1
    resolvers[1]!(1);
    await Promise.all(steps);
    expect(order).toEqual([0, 11, 22]);
  });

  it('fails every later step with the first failure, and an input failing before its turn is no unhandled rejection', async () => {
    const take = inTurn();
    const taken: string[] = [];
    let release!: () => void;
    const first = take(new Promise<void>((resolve) => (release = resolve)), () => {
      throw new Error('first step failed');
    });
    const early = take(Promise.reject(new Error('input failed early')), () => void taken.push('early'));
    const later = take(Promise.resolve(), () => void taken.push('later'));
    await new Promise((r) => setTimeout(r, 5));
    release();
    await expect(first).rejects.toThrow('first step failed');
    await expect(early).rejects.toThrow('first step failed');
    await expect(later).rejects.toThrow('first step failed');
    expect(taken).toEqual([]);
  });
});
