import { expect } from 'vitest';
import { AirlockError, type ErrorCode } from '../../src/errors.js';

function checkAirlockError(caught: unknown, code: ErrorCode, message: RegExp): AirlockError {
  expect(caught, 'expected an AirlockError').toBeInstanceOf(AirlockError);
  const err = caught as AirlockError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}

/** Runs `fn`, asserts it threw an AirlockError with `code` and a matching message, and returns it. */
export function expectAirlockError(fn: () => unknown, code: ErrorCode, message: RegExp): AirlockError {
  try {
    fn();
  } catch (err) {
    return checkAirlockError(err, code, message);
  }
  return checkAirlockError(undefined, code, message);
}

/** Awaits `promise`, asserts it rejected with an AirlockError with `code` and a matching message. */
export async function expectAirlockRejection(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<AirlockError> {
  try {
    await promise;
  } catch (err) {
    return checkAirlockError(err, code, message);
  }
  return checkAirlockError(undefined, code, message);
}
