import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** An error response's body is read through up to this much (and its connection kept); a longer one is cut off. */
const DRAIN_LIMIT = 128 * 1024;
/** Chunks a response may hold unread before it is paused, and the level it is resumed below. */
const BODY_HIGH_WATER = 1024 * 1024;
const BODY_LOW_WATER = 256 * 1024;

/**
 * One request's answer, straight from undici's dispatcher: its status and headers once they
 * arrive, then its body as an async iterable of the chunks the socket gave. undici's
 * `request()` built a Node stream and its async iterator for every response (for 3,000 small
 * files, undici's own functions took 365 ms of the main thread with it, 212 ms without); this
 * holds a short queue instead, pausing the connection when the reader falls a MiB behind.
 */
export class Exchange implements Dispatcher.DispatchHandler, AsyncIterable<Buffer>, AsyncIterator<Buffer> {
  readonly started: Promise<{ status: number; headers: IncomingHttpHeaders }>;
  private resolveStart!: (start: { status: number; headers: IncomingHttpHeaders }) => void;
  private rejectStart!: (err: Error) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  /** stop() was called: nothing more is wanted, from this hop or a later one. */
  private stopped = false;
  private waiting: { resolve: (result: IteratorResult<Buffer>) => void; reject: (err: Error) => void } | undefined;

  constructor() {
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // dispatch() may fail the exchange before its caller awaits `started`; the caller still sees it.
    this.started.catch(() => undefined);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Stopped between two hops of a redirect: the next one is not wanted either.
    if (this.stopped) controller.abort(this.failure ?? new Error('the response was not wanted'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.controller = controller;
    // An interim answer (103 Early Hints): the real one follows on the same request. request() passed over these too.
    if (statusCode < 200) return;
    this.resolveStart({ status: statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.stopped) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= BODY_HIGH_WATER && !controller.paused) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.failure ??= err;
    this.rejectStart(err); // no effect once the response started
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      this.queuedBytes -= chunk.length;
      if (this.queuedBytes < BODY_LOW_WATER && this.controller?.paused) this.controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** The reader left the loop early (a break, or its own error): the rest is not wanted. */
  return(): Promise<IteratorResult<Buffer>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Reads the body through to its end, unless it runs past `limit` bytes or fails: then it is cut off. */
  async drain(limit = DRAIN_LIMIT): Promise<void> {
    let read = 0;
    try {
      for (let result = await this.next(); !result.done; result = await this.next()) {
        read += result.value.length;
        if (read > limit) break;
      }
    } catch {
      // Failing while being thrown away: the status is what gets reported.
    }
    this.stop();
  }

  /** Ends the exchange where it stands: a body not yet at its end is aborted, its connection closed. */
  stop(): void {
    this.stopped = true;
    this.chunks.length = 0;
    this.queuedBytes = 0;
    if (this.ended || this.failure) return;
    this.failure = new Error('the response was not read to its end');
    this.controller?.abort(this.failure);
  }
}
