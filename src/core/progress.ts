/**
 * How long-running work reports itself. The core and repository code only call these
 * methods; the CLI decides whether that becomes a live bar on a terminal, plain lines
 * in a pipe, or nothing (--quiet, --json).
 */
export interface Progress {
  /** Starts a named phase; totals are known up front when possible. */
  phase(name: string, totals?: PhaseTotals): void;
  /** Adds work done in the current phase. */
  advance(files: number, bytes: number): void;
  /** Something the admin should notice, printed even when progress is quiet. */
  warn(message: string): void;
  end(): void;
}

export interface PhaseTotals {
  files?: number;
  bytes?: number;
  /** The byte total is an estimate (sizes guessed from the last snapshot), shown as such. */
  estimated?: boolean;
}

export const silentProgress: Progress = {
  phase: () => undefined,
  advance: () => undefined,
  warn: () => undefined,
  end: () => undefined,
};
