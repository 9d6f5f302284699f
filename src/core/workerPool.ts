/**
 * Runs `work` over `items` with at most `concurrency` at a time: a fixed window pulling the
 * next item, so memory stays flat however many items there are (a promise per item made
 * up front would not). After the first failure no item is started, but each under way
 * finishes, so nothing is still running when the failure is thrown.
 */
export function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let index = 0;
  return forEachWithCallbacks(items, concurrency, (item, done) => {
    work(item, index++).then(
      () => done(null),
      (error: unknown) => done(error ?? new Error('the work failed without a reason')),
    );
  });
}

/**
 * forEachConcurrently for work that reports by callback (Node's fs callbacks, whose `done`
 * it can be): no promise or async frame per item, which is what a flush of 200,000 renames
 * needs. `start` may also throw, which counts as its item failing. Items are taken from
 * `items` as they start, so a Map's entries or any iterator works without a copy.
 */
export function forEachWithCallbacks<T>(items: Iterable<T>, concurrency: number, start: (item: T, done: (error: unknown) => void) => void): Promise<void> {
  const pending = items[Symbol.iterator]();
  const limit = Math.max(1, concurrency);
  return new Promise((resolve, reject) => {
    let running = 0;
    let failure: { error: unknown } | undefined;
    let settled = false;
    const fill = (): void => {
      while (running < limit && failure === undefined) {
        const next = pending.next();
        if (next.done) break;
        running++;
        let called = false;
        const done = (error: unknown): void => {
          if (called) return;
          called = true;
          running--;
          if (error !== null && error !== undefined) failure ??= { error };
          fill();
        };
        try {
          start(next.value, done);
        } catch (error) {
          done(error ?? new Error('the work failed without a reason'));
        }
      }
      if (running > 0 || settled) return;
      settled = true;
      if (failure) reject(failure.error);
      else resolve();
    };
    fill();
  });
}

/**
 * Steps taken one after another in the order they were given, each once its input is ready,
 * whatever order the inputs become ready in (a thread's answers to batches sent in turn):
 * `take(ready, step)` gives a promise of that step. After a step fails, every later one fails
 * with it. An input that fails before its turn is not an unhandled rejection: it is taken then.
 */
export function inTurn(): <T>(ready: Promise<T>, step: (value: T) => Promise<void> | void) => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return (ready, step) => {
    ready.catch(() => undefined);
    const turn = last.then(async () => step(await ready));
    last = turn;
    return turn;
  };
}
