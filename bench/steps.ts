import type { RunResult } from './measure.js';

/** One timed command and what it processed, as it appears in the report and in results.json. */
export interface StepResult {
  /** Stable key, used by the ratios and in results.json. */
  key: string;
  label: string;
  tool: 'airlock' | 'peer';
  seconds: number;
  /** The bytes the step works through, for MB/s (null: a rate would mean nothing). */
  inputBytes: number | null;
  outputBytes: number | null;
  peakRssBytes: number | null;
  cpuSeconds: number | null;
  loadBefore: number;
  note: string;
}

export interface StepInit {
  key: string;
  label: string;
  tool: StepResult['tool'];
  inputBytes: number | null;
  outputBytes?: number | null;
  note?: string;
}

export function stepFrom(init: StepInit, run: RunResult): StepResult {
  return {
    key: init.key,
    label: init.label,
    tool: init.tool,
    seconds: run.seconds,
    inputBytes: init.inputBytes,
    outputBytes: init.outputBytes ?? null,
    peakRssBytes: run.peakRssBytes,
    cpuSeconds: run.cpuSeconds,
    loadBefore: run.loadBefore,
    note: init.note ?? '',
  };
}

/** A part of the bench that failed: its remaining steps were not run. */
export interface Failure {
  part: string;
  error: string;
}

/** Steps by key; a step that was skipped (tool missing) or never reached (failure) is simply absent. */
export class StepLog {
  private readonly byKey = new Map<string, StepResult>();
  readonly failures: Failure[] = [];

  add(step: StepResult): StepResult {
    this.byKey.set(step.key, step);
    return step;
  }

  get(key: string): StepResult | undefined {
    return this.byKey.get(key);
  }

  all(): StepResult[] {
    return [...this.byKey.values()];
  }
}

/**
 * Runs one part of the bench; a failure (an airlock command exiting non-zero, say) is
 * recorded and reported rather than ending the run, so the other parts still measure.
 */
export async function guard(steps: StepLog, part: string, log: (line: string) => void, work: () => Promise<void> | void): Promise<void> {
  try {
    await work();
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    steps.failures.push({ part, error });
    log(`FAILED: ${part}: ${error}`);
  }
}
