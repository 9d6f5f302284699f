/**
 * Which failures are worth another try, and how long to wait first. A transient failure
 * (a 5xx, a reset, a timeout, a body cut short or with wrong bytes) is retried with
 * exponential backoff and jitter, so many workers hitting a struggling mirror spread out;
 * anything else (a 404, a refused proxy, a local disk error) fails at once.
 */
export type FailureKind = 'transient' | 'fatal';

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Longest pause between two attempts. */
const MAX_BACKOFF_MS = 30_000;

export function classifyFailure(err: unknown): FailureKind {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, status, code } = e as { name?: unknown; status?: unknown; code?: unknown };
    if (name === 'HttpStatusError' && typeof status === 'number') return TRANSIENT_STATUS.has(status) ? 'transient' : 'fatal';
    if (name === 'BodyRejected') return 'transient';
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return 'transient';
  }
  return 'fatal';
}

/** Pause before retry number `attempt` (1-based): base, 2x base, 4x base..., each within ±25%. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (attempt - 1));
  return Math.round(nominal * (0.75 + random() * 0.5));
}
