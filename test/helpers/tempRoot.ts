import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest's global setup: every test run gets its own temporary root, set as TMPDIR
 * before the test workers start, so every temp dir a test makes (tempDir, R's tempdir,
 * the airlock processes the end-to-end tests spawn) lives under it; the teardown removes
 * it whole. A run used to leave about 7 GB behind in /tmp.
 * AIRLOCK_TEST_KEEP=1 keeps it for a look after a failure.
 */
export default function setup(): () => void {
  const root = fs.mkdtempSync(join(tmpdir(), 'airlock-tests-'));
  // As /tmp is: every account can reach what tests make below it (permission tests check
  // what the server account can read), no one can remove another's files.
  fs.chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => {
    if (process.env.AIRLOCK_TEST_KEEP === '1') {
      console.log(`test files kept in ${root}`);
      return;
    }
    try {
      fs.rmSync(root, { recursive: true, force: true });
    } catch (err) {
      // A mount a test failed to undo, or a directory it left unreadable: say so, do not fail the run.
      console.warn(`could not remove the test files under ${root}: ${(err as Error).message}`);
    }
  };
}
