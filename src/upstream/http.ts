import type { Dispatcher } from 'undici';
import { AirlockError } from '../errors.js';
import { Exchange } from './exchange.js';
import { Agent, proxyAgentClass, redirect } from './undiciParts.js';
import { backoffMs, classifyFailure, type FailureKind } from './retryPolicy.js';

/**
 * The one way airlock talks HTTP: an undici pool with keep-alive and a bounded number of
 * connections per origin, an optional outbound proxy, idle timeouts, and retries with
 * backoff for the failures that are worth retrying (5xx, resets, timeouts, truncated or
 * corrupted bodies). A failure that survives every retry becomes one AirlockError that
 * names the URL, what happened and how many times it was tried.
 */
export interface HttpOptions {
  /** Connections per origin: the download concurrency. */
  connections: number;
  /** Idle time allowed waiting for headers or between body chunks. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** `http://proxy:3128`, or `host:port` (http assumed). */
  proxy?: string | undefined;
  /** Shortest pause before a retry; doubled each time. */
  retryBaseMs?: number;
  /** Told about each request and retry, for --verbose. */
  log?: (line: string) => void;
  /** Told about each retry (the URL, and why in a few words: `HTTP 503`), so an admin sees them. */
  onRetry?: (url: string, why: string) => void;
}

export interface RequestSpec {
  url: string;
  userAgent: string;
  method?: 'GET' | 'HEAD';
}

export interface ResponseStart {
  status: number;
  /** Content-Length when the server sent one. */
  length: number | null;
  body: AsyncIterable<Buffer>;
}

/** Thrown by a consumer of a body to say the bytes were wrong (the attempt may be retried). */
export class BodyRejected extends Error {
  constructor(
    message: string,
    readonly kind: 'truncated' | 'checksum',
  ) {
    super(message);
    this.name = 'BodyRejected';
  }
}

export class HttpClient {
  private readonly dispatcher: Dispatcher;
  /** Named in errors: a refused connection may be the proxy's, not the source's. */
  private readonly proxy: string | undefined;
  private readonly options: Required<Omit<HttpOptions, 'proxy' | 'log' | 'onRetry'>> & Pick<HttpOptions, 'log' | 'onRetry'>;

  constructor(options: HttpOptions) {
    this.options = { retryBaseMs: 1000, ...options };
    this.dispatcher = makeDispatcher(options);
    this.proxy = options.proxy === undefined ? undefined : proxyUri(options.proxy);
  }

  /**
   * Runs `consume` on a successful response, retrying the whole request when the request
   * or the consumer fails in a retryable way. `consume` must undo its own partial work
   * before it throws (the object store removes its temp file).
   */
  async fetch<T>(spec: RequestSpec, consume: (response: ResponseStart) => Promise<T>): Promise<T> {
    const attempts = this.options.retries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(spec, consume);
      } catch (err) {
        const kind = classifyFailure(err);
        if (kind === 'fatal' || attempt >= attempts) throw finalError(spec.url, err, kind, attempt, this.proxy);
        const pause = Math.max(backoffMs(attempt, this.options.retryBaseMs), retryAfter(err));
        this.options.log?.(`retry ${attempt}/${this.options.retries} in ${pause} ms: ${spec.url}: ${describeFailure(err)}`);
        this.options.onRetry?.(spec.url, describeFailure(err));
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /**
   * The whole body of a small document (an index, a config file), refusing anything larger
   * than `maxBytes`. `check` may throw BodyRejected to have a damaged body fetched again.
   */
  async fetchSmall(spec: RequestSpec, maxBytes: number, check?: (body: Buffer) => void): Promise<Buffer> {
    return this.fetch(spec, async (response) => {
      if (response.length !== null && response.length > maxBytes) throw tooLarge(spec.url, response.length, maxBytes);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > maxBytes) throw tooLarge(spec.url, size, maxBytes);
        chunks.push(chunk);
      }
      checkLength(spec.url, response.length, size);
      const body = Buffer.concat(chunks);
      check?.(body);
      return body;
    });
  }

  /** Content-Length from a HEAD request, or null when the server does not say. */
  async contentLength(spec: RequestSpec): Promise<number | null> {
    return this.fetch({ ...spec, method: 'HEAD' }, async (response) => response.length);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async once<T>(spec: RequestSpec, consume: (response: ResponseStart) => Promise<T>): Promise<T> {
    const method = spec.method ?? 'GET';
    const url = new URL(spec.url);
    const exchange = new Exchange();
    this.dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers: { 'user-agent': spec.userAgent, accept: '*/*' },
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      },
      exchange,
    );
    try {
      const { status, headers } = await exchange.started;
      this.options.log?.(`${method} ${spec.url} -> ${status}`);
      if (status < 200 || status > 299) {
        await exchange.drain(); // a short error page read through keeps its connection for the next request
        throw new HttpStatusError(status, parseRetryAfter(headers['retry-after']));
      }
      const header = headers['content-length'];
      const length = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : null;
      return await consume({ status, length, body: exchange });
    } finally {
      // A consumer that stopped early (or a refused status) must not leave the body coming.
      exchange.stop();
    }
  }
}

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    /** What the server asked for in Retry-After, if anything. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return null;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Fails when fewer (or more) bytes arrived than the server announced. */
export function checkLength(url: string, announced: number | null, received: number): void {
  if (announced !== null && announced !== received) {
    throw new BodyRejected(`the body of ${url} ended after ${received} of ${announced} bytes`, 'truncated');
  }
}

function makeDispatcher(options: HttpOptions): Dispatcher {
  const pool = { connections: options.connections, keepAliveTimeout: 30_000, connect: { timeout: options.timeoutMs } };
  const base = options.proxy ? new (proxyAgentClass())({ uri: proxyUri(options.proxy), ...pool }) : new Agent(pool);
  return base.compose(redirect({ maxRedirections: 5 }));
}

/** `--outbound-proxy` accepts a URL or the bare `host:port` admins put in http_proxy. */
export function proxyUri(proxy: string): string {
  const uri = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
  try {
    new URL(uri);
  } catch {
    throw new AirlockError('USAGE', `--outbound-proxy ${JSON.stringify(proxy)} is not a URL or host:port`, {
      hint: 'give it as http://proxy.example.org:3128 or proxy.example.org:3128',
    });
  }
  return uri;
}

/** A server's own Retry-After is honoured, up to a minute (longer waits are better spent failing clearly). */
function retryAfter(err: unknown): number {
  return err instanceof HttpStatusError && err.retryAfterMs !== null ? Math.min(err.retryAfterMs, 60_000) : 0;
}

function tooLarge(url: string, size: number, maxBytes: number): AirlockError {
  return new AirlockError('UPSTREAM_INDEX_INVALID', `${url} is ${size} bytes, more than the ${maxBytes} an index may have`, {
    where: url,
    hint: 'check that --base-url points at a CRAN-like repository',
  });
}

function describeFailure(err: unknown): string {
  if (err instanceof HttpStatusError) return `HTTP ${err.status}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function finalError(url: string, err: unknown, kind: FailureKind, attempts: number, proxy: string | undefined): unknown {
  if (err instanceof AirlockError) return err;
  const tried = attempts === 1 ? 'once' : `${attempts} times`;
  if (err instanceof HttpStatusError && (err.status === 404 || err.status === 410)) {
    return new AirlockError('UPSTREAM_NOT_FOUND', `${url} answered HTTP ${err.status}: not found`, {
      where: url,
      hint: 'check --base-url, --snapshot and the distribution/version names; the source may not publish this file',
      cause: err,
    });
  }
  if (err instanceof BodyRejected && err.kind === 'checksum') {
    return new AirlockError('UPSTREAM_CHECKSUM', `${err.message} (tried ${tried})`, {
      where: url,
      hint: 'the source serves bytes that do not match its own index; try again later or another mirror (--base-url). Nothing wrong was recorded',
      cause: err,
    });
  }
  const via = proxy === undefined ? '' : `, through the proxy ${proxy}`;
  return new AirlockError('UPSTREAM_UNAVAILABLE', `${url} failed: ${describeFailure(err)} (tried ${tried}${via}${kind === 'fatal' ? '' : ', giving up'})`, {
    where: url,
    hint: 'check the network, the proxy (--outbound-proxy) and the source, then run the same command again: what was downloaded is kept and only the rest is fetched',
    cause: err,
  });
}
