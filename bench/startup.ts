import * as fs from 'node:fs';
import { join } from 'node:path';
import type { StepRunner } from './measure.js';
import { stepFrom, type StepLog } from './steps.js';

/** Runs of each start-up measure; the fastest counts (the others carry the machine's noise). */
const RUNS = 7;

/**
 * Start-up: what a command costs before it does anything. Node alone is the floor; `--version`
 * loads the CLI and no command; `status --help` one command's definition; `snapshot list` one
 * read-only command doing a small real job.
 */
export function runStartupSuite(runner: StepRunner, airlockBin: string, runDir: string, steps: StepLog, log: (line: string) => void): void {
  const dir = join(runDir, 'startup');
  fs.mkdirSync(join(dir, 'tree'), { recursive: true });
  fs.writeFileSync(join(dir, 'tree', 'one.txt'), 'one\n');
  const repo = join(dir, 'repo');
  runner.run(process.execPath, [airlockBin, 'snapshot', 'create', '--repo', repo, '--from', join(dir, 'tree'), '--quiet']);
  const measures: [key: string, label: string, args: string[]][] = [
    ['startup-node', 'start-up: node -e 0 (the floor)', ['-e', '0']],
    ['startup-version', 'start-up: airlock --version', [airlockBin, '--version']],
    ['startup-help', 'start-up: airlock status --help', [airlockBin, 'status', '--help']],
    ['startup-snapshot-list', 'start-up: airlock snapshot list (1 snapshot)', [airlockBin, 'snapshot', 'list', '--repo', repo]],
  ];
  for (const [key, label, args] of measures) {
    const runs = Array.from({ length: RUNS }, () => runner.run(process.execPath, args, { flush: false }));
    const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    steps.add(stepFrom({ key, label, tool: 'airlock', inputBytes: null, note: `fastest of ${RUNS}` }, best));
    log(`${label}: ${best.seconds.toFixed(3)} s (fastest of ${RUNS}), peak RSS ${best.peakRssBytes === null ? 'n/a' : `${(best.peakRssBytes / 2 ** 20).toFixed(0)} MiB`}`);
  }
}
