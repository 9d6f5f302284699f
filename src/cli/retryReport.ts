import { count } from '../core/units.js';
/**
 * Retries as an admin sees them: `retrying 3 files after HTTP 503`, at most one line every
 * few seconds whatever the number of requests, and the last count said before the command's
 * result. Without it, a struggling upstream looks like a stalled download.
 */
export interface RetryReport {
  onRetry(url: string, why: string): void;
  /** Says what is still untold (before the result is printed). */
  flush(): void;
}

const INTERVAL_MS = 3000;

export function retryReport(say: (line: string) => void, intervalMs = INTERVAL_MS): RetryReport {
  const pending = new Map<string, Set<string>>();
  let timer: NodeJS.Timeout | undefined;
  let lastSaid = 0;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [why, urls] of pending) say(`retrying ${count(urls.size, 'file')} after ${why}`);
    pending.clear();
    lastSaid = Date.now();
  };
  return {
    onRetry(url, why) {
      const urls = pending.get(why) ?? new Set<string>();
      urls.add(url);
      pending.set(why, urls);
      if (Date.now() - lastSaid >= intervalMs) flush();
      else if (!timer) {
        timer = setTimeout(flush, intervalMs - (Date.now() - lastSaid));
        timer.unref();
      }
    },
    flush: () => {
      if (pending.size > 0) flush();
    },
  };
}
