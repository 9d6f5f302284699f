/**
 * Every failure airlock reports is an AirlockError: a stable code (for scripts and
 * docs), a message saying what is wrong, an optional `where` (file, entry, offset) and
 * a hint saying what to run next. The CLI turns them into text and exit codes in one
 * place (src/cli/reportError.ts); nothing else prints errors.
 */

/** Exit status by class of failure, documented in docs/admin-guide.md. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** A bundle or a data directory failed verification: the bytes are wrong. */
  integrity: 3,
  /** airlock refused on purpose (wrong base, lock held, would downgrade). */
  refused: 4,
  /** The environment stopped us: disk full, permissions, filesystem limits. */
  environment: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

type ErrorClass = Exclude<keyof typeof ExitCode, 'ok'>;

/** Stable codes; each belongs to one class of exit status. */
const codeClasses = {
  USAGE: 'usage',
  NOT_FOUND: 'usage',
  AMBIGUOUS_REF: 'usage',
  LABEL_TAKEN: 'usage',
  NOT_A_REPOSITORY: 'usage',
  BAD_SOURCE_TREE: 'usage',
  UPSTREAM_NOT_FOUND: 'usage',
  KEY_INVALID: 'usage',
  BUNDLE_CORRUPT: 'integrity',
  BUNDLE_TRUNCATED: 'integrity',
  BUNDLE_UNSAFE_ENTRY: 'integrity',
  OBJECT_CORRUPT: 'integrity',
  DATA_DIR_DAMAGED: 'integrity',
  MANIFEST_INVALID: 'integrity',
  FORMAT_UNSUPPORTED: 'integrity',
  UPSTREAM_INDEX_INVALID: 'integrity',
  DEPENDENCY_UNSATISFIED: 'integrity',
  UPSTREAM_CHECKSUM: 'integrity',
  LAYOUT_INVALID: 'integrity',
  SIGNATURE_INVALID: 'integrity',
  BASE_MISMATCH: 'refused',
  ALREADY_APPLIED: 'refused',
  LOCKED: 'refused',
  NOT_MANAGED: 'refused',
  ALREADY_MANAGED: 'refused',
  NOTHING_TO_ROLL_BACK: 'refused',
  UNSIGNED: 'refused',
  UNTRUSTED_KEY: 'refused',
  DOWNGRADE: 'refused',
  SCHEMA_MISSING: 'refused',
  DISK_FULL: 'environment',
  PERMISSION_DENIED: 'environment',
  CROSS_DEVICE: 'environment',
  FILESYSTEM: 'environment',
  UPSTREAM_UNAVAILABLE: 'environment',
  INTERNAL: 'failure',
} as const satisfies Record<string, ErrorClass>;

export type ErrorCode = keyof typeof codeClasses;

export interface AirlockErrorDetails {
  /** The file, entry or path the problem is in, with an offset when known. */
  where?: string;
  /** What the admin should do next: a command, preferably. */
  hint?: string;
  cause?: unknown;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly where: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: AirlockErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.where = details.where;
    this.hint = details.hint;
  }

  get exitCode(): ExitCodeValue {
    return ExitCode[codeClasses[this.code]];
  }
}

export function isAirlockError(err: unknown): err is AirlockError {
  return err instanceof AirlockError;
}

/** Node's system errors carry a string code such as ENOSPC; this narrows to them. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Translate the operating system's refusals into errors an admin can act on.
 * Anything else is rethrown unchanged so real bugs keep their stack.
 */
export function explainSystemError(err: unknown, action: string, path: string): never {
  if (isAirlockError(err)) throw err;
  const code = errnoCode(err);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      throw new AirlockError('DISK_FULL', `no space left on the device while ${action}`, {
        where: path,
        hint: 'free space on that filesystem (airlock gc --keep N removes old deployments), then run the same command again; the live data was not changed',
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      throw new AirlockError('PERMISSION_DENIED', `permission denied while ${action}`, {
        where: path,
        hint: 'run as the user that owns the data directory (often root), or fix the ownership of that path',
        cause: err,
      });
    case 'EXDEV':
      throw new AirlockError('CROSS_DEVICE', `cannot rename across filesystems while ${action}`, {
        where: path,
        hint: 'the data directory and its .airlock state directory must be on the same filesystem',
        cause: err,
      });
    case 'EMFILE':
    case 'ENFILE':
    case 'EIO':
      throw new AirlockError('FILESYSTEM', `the filesystem failed (${code}) while ${action}`, {
        where: path,
        hint: 'check the device (dmesg) and the open-file limit (ulimit -n), then run the command again',
        cause: err,
      });
    default:
      throw err;
  }
}
