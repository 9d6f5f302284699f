import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One temp root per run (TMPDIR), removed when the run ends.
    globalSetup: ['test/helpers/tempRoot.ts'],
    // End-to-end tests spawn the real binary and write real trees; give them room on a 2-core CI machine.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
