import type { RunOptions, RunResult, StepRunner } from './measure.js';

/**
 * The airlock CLI as an admin runs it (`node bin/airlock.js ... --json`), through the
 * step runner so each call is timed and its peak RSS taken. --json keeps progress
 * output off and gives the figures the report needs (sizes, files read).
 */
export interface SnapshotCreateOutput {
  snapshot: { id: string; files: number; bytes: number };
  recorded: boolean;
  hashedFiles: number;
  hashedBytes: number;
  cachedFiles: number;
}

export interface BundleCreateOutput {
  bundleBytes: number;
  rawObjects: number;
  compressedObjects: number;
  /** Absent from airlock versions before packs. */
  packedObjects?: number;
  packs?: number;
  header: { objects: { count: number; bytes: number } };
}

export interface BundleVerifyOutput {
  objects: number;
  bundleBytes: number;
}

export interface ApplyOutput {
  applied: { objectsImported: number; objectsAlreadyPresent: number; files: number; linked: number; copied: number };
}

export interface DiffOutput {
  files: { added: string[]; changed: string[]; removed: string[] };
}

export interface VerifyOutput {
  checked?: number;
}

export interface GetOutput {
  files: number;
  downloaded: { files: number; bytes: number };
  reused: { files: number; bytes: number };
  snapshot: { files: number; bytes: number };
}

export class AirlockCli {
  constructor(
    private readonly runner: StepRunner,
    private readonly bin: string,
  ) {}

  snapshotCreate(repo: string, from: string, label: string): { run: RunResult; out: SnapshotCreateOutput } {
    return this.call(['snapshot', 'create', '--repo', repo, '--from', from, '--label', label]);
  }

  bundleCreate(repo: string, snapshot: string, output: string, startingSnapshot?: string): { run: RunResult; out: BundleCreateOutput } {
    const base = startingSnapshot === undefined ? [] : ['--starting-snapshot', startingSnapshot];
    return this.call(['bundle', 'create', '--repo', repo, '--snapshot', snapshot, ...base, '--output', output]);
  }

  bundleVerify(file: string): { run: RunResult; out: BundleVerifyOutput } {
    return this.call(['bundle', 'verify', file]);
  }

  apply(bundle: string, dataDir: string): { run: RunResult; out: ApplyOutput } {
    return this.call(['apply', bundle, '--data-dir', dataDir]);
  }

  snapshotDiff(repo: string, from: string, to: string): { run: RunResult; out: DiffOutput } {
    return this.call(['snapshot', 'diff', '--repo', repo, from, to]);
  }

  verifyDeep(dataDir: string): { run: RunResult; out: VerifyOutput } {
    return this.call(['verify', '--data-dir', dataDir, '--deep']);
  }

  /** `get cran` from a plain CRAN mirror (the fixture server), into a repository of its own. */
  getCran(destination: string, baseUrl: string, sysreqsUrl: string, concurrency: number, options: RunOptions & { nodeArgs?: string[] } = {}): { run: RunResult; out: GetOutput } {
    const args = ['get', 'cran', '--destination', destination, '--base-url', baseUrl, '--sysreqs-url', sysreqsUrl, '--source-type', 'cran-mirror', '--concurrency', String(concurrency), '--quiet'];
    return this.call(args, options, options.nodeArgs);
  }

  /** `airlock --version`: node start-up plus loading every module, the floor under every command's time. */
  startup(): RunResult {
    return this.runner.run(process.execPath, [this.bin, '--version']);
  }

  private call<T>(args: string[], options: RunOptions = {}, nodeArgs: string[] = []): { run: RunResult; out: T } {
    const run = this.runner.run(process.execPath, [...nodeArgs, this.bin, ...args, '--json'], options);
    const parsed = JSON.parse(run.stdout) as { ok?: unknown };
    if (parsed.ok !== true) throw new Error(`airlock ${args.join(' ')} did not report ok:\n${run.stdout.slice(0, 2000)}`);
    return { run, out: parsed as T };
  }
}
