import { AirlockError, ExitCode, errnoCode, explainSystemError, type ExitCodeValue } from '../errors.js';

/**
 * The one place failures become text and exit codes. Known failures print what, where
 * and what next; anything else is a bug and prints its stack so it can be reported.
 */
export function reportError(failure: unknown, json: boolean): ExitCodeValue {
  const err = asAirlockError(failure);
  if (err instanceof AirlockError) {
    if (json) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, where: err.where ?? null, hint: err.hint ?? null } })}\n`);
    }
    const lines = [`airlock: error [${err.code}]: ${err.message}`];
    if (err.where) lines.push(`  where: ${err.where}`);
    if (err.hint) lines.push(`  next:  ${err.hint}`);
    process.stderr.write(`${lines.join('\n')}\n`);
    return err.exitCode;
  }
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: code ?? 'INTERNAL', message } })}\n`);
  process.stderr.write(`airlock: internal error: ${message}\n`);
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.stderr.write('  next:  this is a bug in airlock; please report it with the command you ran. The live data was not switched.\n');
  return ExitCode.failure;
}

/** Refusals of the operating system (no space, no permission) that reached here unexplained. */
function asAirlockError(err: unknown): unknown {
  const path = typeof err === 'object' && err !== null && 'path' in err ? String((err as { path: unknown }).path) : undefined;
  const syscall = typeof err === 'object' && err !== null && 'syscall' in err ? String((err as { syscall: unknown }).syscall) : 'an operation';
  if (path === undefined || errnoCode(err) === undefined) return err;
  try {
    explainSystemError(err, `${syscall} on ${path}`, path);
  } catch (explained) {
    return explained;
  }
  return err;
}
