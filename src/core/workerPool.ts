/**
 * Runs `work` over `items` with at most `concurrency` at a time: a fixed set of workers
 * pulling the next index, so memory stays flat however many items there are (a promise
 * per item would not). After the first failure no worker starts another item, but each
 * finishes the one it has, so nothing is still running when the failure is thrown.
 */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
}
