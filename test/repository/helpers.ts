import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { AirlockError, type ErrorCode } from '../../src/errors.js';

const created: string[] = [];

/** A fresh directory under the system temp dir, removed after each test. */
export function tempDir(prefix = 'airlock-repo-test-'): string {
  const dir = fs.mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Registers the cleanup hook; call once at the top level of a test file. */
export function cleanTempDirsAfterEach(): void {
  afterEach(() => {
    for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** Awaits `promise`, asserts it rejected with an AirlockError with `code` and a message matching `message`. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<AirlockError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected the promise to reject with an AirlockError').toBeInstanceOf(AirlockError);
  const err = caught as AirlockError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}

/** Runs `fn`, asserts it threw an AirlockError with `code` and a message matching `message`. */
export function throwsWith(fn: () => unknown, code: ErrorCode, message: RegExp): AirlockError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an AirlockError to be thrown').toBeInstanceOf(AirlockError);
  const err = caught as AirlockError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}

/** Concatenates every chunk of an async iterable. */
export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Escapes a string for use inside a RegExp. */
export function re(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** Deterministic pseudo-random bytes (not all the same byte, so chunk boundaries matter). */
export function patternBytes(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}
