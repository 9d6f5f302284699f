/**
 * A release that cannot be built or does not run: what is wrong (naming the file or
 * command) and what to do next. scripts/release.ts prints it the way the CLI prints an
 * AirlockError (`error: ...` then `next: ...`); this is build tooling, not the product,
 * so it keeps out of src/errors.ts and its exit codes.
 */
export class ReleaseError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ReleaseError';
  }
}
