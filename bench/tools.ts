import { spawnSync } from 'node:child_process';

/**
 * The peer tools the bench compares airlock with, and the helpers it measures with.
 * Each is probed by running it; a missing one is reported with what it costs the
 * bench, and the comparisons that need it are printed as "not measured", never faked.
 */
export type ToolName = 'tar' | 'zstd' | 'rsync' | 'b3sum' | 'curl' | 'nginx' | 'time' | 'hyperfine';

export interface ToolStatus {
  name: ToolName;
  command: string;
  available: boolean;
  version: string | null;
  /** What the bench uses it for, and what is lost without it. */
  role: string;
  ifMissing: string;
}

interface ToolSpec {
  name: ToolName;
  command: string;
  role: string;
  ifMissing: string;
  install: string;
  /** How to ask its version (default --version). */
  versionArgs?: string[];
}

const SPECS: readonly ToolSpec[] = [
  { name: 'tar', command: 'tar', role: 'peer: tar -cf - | zstd -T0 (full copy)', ifMissing: 'the tar|zstd comparison is skipped', install: 'tar' },
  { name: 'zstd', command: 'zstd', role: 'peer: tar -cf - | zstd -T0 (full copy)', ifMissing: 'the tar|zstd comparison is skipped', install: 'zstd' },
  { name: 'rsync', command: 'rsync', role: 'peer: rsync --only-write-batch (delta)', ifMissing: 'the rsync batch comparison is skipped', install: 'rsync' },
  { name: 'b3sum', command: 'b3sum', role: 'peer: BLAKE3 hashing of the tree', ifMissing: 'the hashing comparison is skipped', install: 'b3sum' },
  {
    name: 'curl',
    command: 'curl',
    role: 'peer: curl --parallel and xargs -P N curl (download from the fixture server)',
    ifMissing: 'the download comparison measures airlock alone, its ratios are n/a',
    install: 'curl',
  },
  {
    name: 'nginx',
    command: 'nginx',
    role: 'the upstream for a second download comparison, and the peer of airlock serve',
    ifMissing: 'the downloads are measured from the fixture server only',
    install: 'nginx-light',
    versionArgs: ['-v'],
  },
  { name: 'time', command: '/usr/bin/time', role: 'peak RSS of each command (GNU time -f %M)', ifMissing: 'peak RSS is reported as n/a', install: 'time' },
  {
    name: 'hyperfine',
    command: 'hyperfine',
    role: 'optional; not used (one timed run per step: repeats would meet a warm store)',
    ifMissing: 'nothing',
    install: 'hyperfine',
  },
];

export function probeTools(): Map<ToolName, ToolStatus> {
  const tools = new Map<ToolName, ToolStatus>();
  for (const spec of SPECS) {
    const version = probeVersion(spec.command, spec.versionArgs);
    tools.set(spec.name, {
      name: spec.name,
      command: spec.command,
      available: version !== null,
      version,
      role: spec.role,
      ifMissing: `${spec.ifMissing} (install: apt-get install -y ${spec.install})`,
    });
  }
  return tools;
}

function probeVersion(command: string, args = ['--version']): string | null {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.error || run.status !== 0) return null;
  // GNU time and nginx print their version on stderr; the others on stdout.
  const first = `${run.stdout}\n${run.stderr}`.split('\n').find((line) => line.trim() !== '');
  return first?.trim() ?? '';
}

export function describeTools(tools: Map<ToolName, ToolStatus>): string[] {
  return [...tools.values()].map((t) =>
    t.available ? `  ok       ${t.name.padEnd(9)} ${t.version ?? ''}  [${t.role}]` : `  MISSING  ${t.name.padEnd(9)} ${t.ifMissing}`,
  );
}

export function has(tools: Map<ToolName, ToolStatus>, ...names: ToolName[]): boolean {
  return names.every((n) => tools.get(n)?.available === true);
}
