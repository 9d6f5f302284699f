import { expect } from 'vitest';
import { AirlockError, type ErrorCode } from '../../src/errors.js';

/** Runs `fn`, asserts it threw an AirlockError with `code` and a matching message, and returns it. */
export function expectAirlockError(fn: () => unknown, code: ErrorCode, message: RegExp): AirlockError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AirlockError);
  const err = caught as AirlockError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}
