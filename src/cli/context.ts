import type { GlobalArgs } from './globalOptions.js';
import type { Progress } from '../core/progress.js';
import { createProgress } from './progressDisplay.js';
import { reportError } from './reportError.js';
import { handleInterrupts } from '../fs/interrupt.js';

export interface CliContext {
  json: boolean;
  progress: Progress;
  /**
   * Prints the command's result: `human` lines normally, `data` as one JSON object with --json
   * (on one line with `oneLine`, for a command that goes on running, such as serve).
   */
  result(data: Record<string, unknown>, human: () => string[], options?: { oneLine?: boolean }): void;
}


/**
 * With AIRLOCK_PARSE_ONLY=1 a command line is parsed and checked as usual
 * (unknown flags, missing or conflicting options exit 2) and the parsed arguments are
 * printed instead of running the command: how the tests prove every `--help` example is
 * a command line airlock accepts (`--help` itself skips those checks).
 */
export const PARSE_ONLY_ENV = 'AIRLOCK_PARSE_ONLY';

/**
 * Runs a command body with a context, turning any failure into a message and an exit code.
 * Ctrl-C and SIGTERM stop it the same way for every command (fs/interrupt.ts): what it holds
 * is cleaned up, one line says what was kept, exit 130 or 143. A command that stops on these
 * signals as its normal end (serve) handles them itself (`ownSignals`).
 */
export async function runCommand(args: GlobalArgs, body: (ctx: CliContext) => Promise<void>, options: { ownSignals?: boolean } = {}): Promise<void> {
  if (process.env[PARSE_ONLY_ENV] === '1') {
    process.stdout.write(`${JSON.stringify({ parsed: args })}\n`);
    return;
  }
  const progress = createProgress(args);
  if (!options.ownSignals) {
    handleInterrupts((signal, kept) => {
      progress.end();
      process.stderr.write(`airlock: stopped by ${signal}${kept.length > 0 ? `; ${kept.join('; ')}` : ''}; the live data is as \`airlock status\` shows it; run the same command again to go on\n`);
    });
  }
  const ctx: CliContext = {
    json: args.json,
    progress,
    result(data, human, options) {
      progress.end();
      if (args.json) process.stdout.write(`${JSON.stringify({ ok: true, ...data }, null, options?.oneLine ? undefined : 2)}\n`);
      else process.stdout.write(`${human().join('\n')}\n`);
    },
  };
  try {
    await body(ctx);
  } catch (err) {
    progress.end();
    process.exitCode = reportError(err, args.json);
  }
}
