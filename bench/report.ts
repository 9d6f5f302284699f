import type { ContentDiff } from './files.js';
import { fixed, mb, MB, rate, table } from './format.js';
import type { StepLog, StepResult } from './steps.js';

/**
 * The project's aims, each computed from measured steps and marked MET / NOT MET; a
 * ratio without an aim is printed as "info". A ratio whose inputs were not measured
 * (tool missing, check skipped) is "n/a" with the reason.
 */
export interface Ratio {
  key: string;
  label: string;
  value: number | null;
  /** e.g. ">= 0.8x"; null for information only. */
  aim: string | null;
  status: 'MET' | 'NOT MET' | 'info' | 'n/a';
  note: string;
}

type Comparator = '>=' | '<=' | '<';

interface AimSpec {
  comparator: Comparator;
  target: number;
  unit: string;
}

function ratio(key: string, label: string, value: number | null, aim: AimSpec | null, note: string, missing = 'not measured'): Ratio {
  if (value === null || !Number.isFinite(value)) return { key, label, value: null, aim: aim ? describeAim(aim) : null, status: 'n/a', note: missing };
  if (aim === null) return { key, label, value, aim: null, status: 'info', note };
  const met = aim.comparator === '>=' ? value >= aim.target : aim.comparator === '<=' ? value <= aim.target : value < aim.target;
  return { key, label, value, aim: describeAim(aim), status: met ? 'MET' : 'NOT MET', note };
}

function describeAim(aim: AimSpec): string {
  return `${aim.comparator} ${aim.target}${aim.unit}`;
}

function divide(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

function minus(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a - b;
}

function throughput(step: StepResult | undefined): number | null {
  return step ? rate(step.inputBytes, step.seconds) : null;
}

/** The aim is 300 MB; read as 10^6 bytes, the stricter reading. */
const RSS_LIMIT_MB = 300;

/** `diff` is null when the corpus part did not run (BENCH_ONLY): its ratios are then n/a. */
export function computeRatios(steps: StepLog, diff: ContentDiff | null, skipped200k: boolean): Ratio[] {
  const s = (key: string) => steps.get(key);
  const tarZstd = s('tar-zstd');
  const fullBundle = s('bundle-full');
  const snapshotV1 = s('snapshot-v1');
  const b3 = s('b3sum');
  const seconds = (step: StepResult | undefined) => step?.seconds ?? null;
  const both = snapshotV1 && fullBundle ? { seconds: snapshotV1.seconds + fullBundle.seconds, inputBytes: fullBundle.inputBytes } : undefined;
  const durableTar = tarZstd && s('tar-zstd-fsync') ? tarZstd.seconds + s('tar-zstd-fsync')!.seconds : null;
  const ratios: Ratio[] = [
    ratio('full-throughput-vs-tar-zstd', 'full bundle throughput / tar|zstd -T0', divide(throughput(fullBundle), throughput(tarZstd)), { comparator: '>=', target: 1.0, unit: 'x' }, 'bundle create alone (from the store); tar|zstd without fsync'),
    ratio('full-size-vs-tar-zstd', 'full bundle size / tar|zstd size', divide(fullBundle?.outputBytes, tarZstd?.outputBytes), { comparator: '<=', target: 1.01, unit: 'x' }, 'both at zstd level 3'),
    ratio('tar-zstd-vs-plain-tar-size', '  tar|zstd size / plain tar size', divide(tarZstd?.outputBytes, s('tar-plain')?.outputBytes), null, 'what zstd finds in level-0 gzip archives (inner tar headers)'),
    ratio('delta-size-vs-new', 'delta bundle size / really new bytes', divide(s('bundle-delta')?.outputBytes, diff?.newBytes), { comparator: '<=', target: 1.05, unit: 'x' }, diff ? `${diff.newContents} new contents, ${mb(diff.newBytes)} MB (SHA-256)` : ''),
    ratio('delta-apply-vs-full-apply', 'delta apply time / full apply time', divide(seconds(s('apply-delta')), seconds(s('apply-full'))), { comparator: '<=', target: 0.05, unit: 'x' }, 'both include node start-up'),
    ratio('delta-apply-vs-full-apply-net', '  the same, start-up floor subtracted', divide(minus(seconds(s('apply-delta')), seconds(s('startup'))), minus(seconds(s('apply-full')), seconds(s('startup')))), null, 'what the apply work itself scales like'),
    ratio('full-throughput-vs-plain-tar', 'full bundle throughput / plain tar (I/O floor)', divide(throughput(fullBundle), throughput(s('tar-plain'))), null, 'how far bundle create is from just copying the bytes'),
    ratio('full-durable-vs-tar-zstd-durable', 'full bundle throughput / tar|zstd + fsync', divide(throughput(fullBundle), rate(tarZstd?.inputBytes, durableTar)), null, 'like for like: airlock fsyncs its bundle'),
    ratio('snapshot-bundle-vs-tar-zstd', '(snapshot v1 + full bundle) throughput / tar|zstd', divide(rate(both?.inputBytes, both?.seconds), throughput(tarZstd)), null, 'end to end from the source tree'),
    ratio('rsync-batch-vs-new', 'rsync batch size / really new bytes', divide(s('rsync-batch')?.outputBytes, diff?.newBytes), null, 'rsync re-sends files moved to Archive/'),
    ratio('delta-vs-rsync-batch', 'delta bundle size / rsync batch size', divide(s('bundle-delta')?.outputBytes, s('rsync-batch')?.outputBytes), null, ''),
    ratio('snapshot-hash-vs-b3sum', 'snapshot v1 (cold) MB/s / b3sum MB/s', divide(throughput(snapshotV1), throughput(b3)), null, 'snapshot also copies every file into the store, durably'),
    ratio('snapshot-reread-vs-b3sum', 'snapshot v2 (re-read all) MB/s / b3sum MB/s', divide(throughput(s('snapshot-v2-full-read')), throughput(b3)), null, 'objects already stored: hashing + discarded copy'),
    ratio('verify-vs-b3sum', 'bundle verify MB/s / b3sum MB/s', divide(throughput(s('verify-full')), throughput(b3)), null, 'verify reads one file; b3sum reads thousands'),
  ];
  const skippedNote = skipped200k ? 'skipped (BENCH_SKIP_200K=1 or BENCH_ONLY)' : 'not measured (see FAILED below)';
  ratios.push(...smallFileRatios(steps, 'tiny', '200k files', skippedNote));
  for (const [key, label] of [
    ['tiny-snapshot', 'peak RSS, snapshot create of 200k files'],
    ['tiny-bundle', 'peak RSS, bundle create of 200k files'],
  ] as const) {
    const rss = s(key)?.peakRssBytes ?? null;
    ratios.push(ratio(`${key}-rss`, label, rss === null ? null : rss / MB, { comparator: '<', target: RSS_LIMIT_MB, unit: ' MB' }, `${fixed(rss === null ? null : rss / (1024 * 1024), 0)} MiB`, skippedNote));
  }
  return ratios;
}

/** A small-file tree against tar | zstd -T0 of the same files: time and size. */
function smallFileRatios(steps: StepLog, prefix: string, what: string, missing: string): Ratio[] {
  const s = (key: string) => steps.get(`${prefix}-${key}`);
  const tar = s('tar-zstd');
  return [
    ratio(`${prefix}-snapshot-vs-tar-zstd`, `${what}: snapshot create time / tar|zstd time`, divide(s('snapshot')?.seconds, tar?.seconds), { comparator: '<=', target: 2, unit: 'x' }, 'snapshot writes one object per file, durably; tar writes one file', missing),
    ratio(`${prefix}-bundle-vs-tar-zstd`, `${what}: bundle create time / tar|zstd time`, divide(s('bundle')?.seconds, tar?.seconds), { comparator: '<=', target: 2, unit: 'x' }, 'both read every file once', missing),
    ratio(`${prefix}-bundle-size-vs-tar-zstd`, `${what}: bundle size / tar|zstd size`, divide(s('bundle')?.outputBytes, tar?.outputBytes), { comparator: '<=', target: 1.2, unit: 'x' }, 'the tree (path + 32-byte id per file) travels too', missing),
    ratio(`${prefix}-delta-apply-vs-full-apply`, `${what}: delta apply (+1%) / full apply`, divide(s('apply-delta')?.seconds, s('apply')?.seconds), { comparator: '<=', target: 0.05, unit: 'x' }, 'a delta costs its objects plus one link per file', missing),
  ];
}

/** The million-file case: peak RSS of every command under 1 GB, and how it grew from 200k files. */
export function millionRatios(steps: StepLog): Ratio[] {
  const ratios = smallFileRatios(steps, 'million', '1M files', 'not measured (see FAILED below)');
  for (const key of ['snapshot', 'snapshot-incremental', 'bundle', 'verify', 'apply', 'bundle-delta', 'apply-delta', 'diff', 'verify-deep']) {
    const rss = steps.get(`million-${key}`)?.peakRssBytes ?? null;
    const small = steps.get(`tiny-${key}`)?.peakRssBytes ?? null;
    const growth = rss !== null && small !== null ? ` (${fixed(rss / small, 2)}x the 200k run's)` : '';
    ratios.push(ratio(`million-${key}-rss`, `peak RSS at 1M files, ${key}`, rss === null ? null : rss / MB, { comparator: '<', target: 1000, unit: ' MB' }, `${fixed(rss === null ? null : rss / (1024 * 1024), 0)} MiB${growth}`, 'not measured (see FAILED below)'));
  }
  return ratios;
}

/**
 * Download throughput, per corpus: curl's time over airlock's for the same URLs, so above
 * 1 means airlock moved the bytes faster. The aim compares like with like: one curl
 * process with the same number of connections, plus a sync of its output (airlock's
 * downloads are durable when it exits).
 */
export function downloadRatios(steps: StepLog, corpora: readonly { name: string; title: string }[], curlMissing: boolean): Ratio[] {
  const seconds = (key: string) => steps.get(key)?.seconds ?? null;
  const plus = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
  const missing = curlMissing ? 'curl is missing' : 'not measured (see FAILED below)';
  return corpora.flatMap(({ name, title }) => {
    const airlock = seconds(`download-${name}-airlock`);
    const curl = seconds(`download-${name}-curl`);
    const xargs = seconds(`download-${name}-xargs`);
    return [
      ratio(`download-${name}-vs-curl`, `download ${title}: airlock / curl --parallel + sync`, divide(plus(curl, seconds(`download-${name}-curl-sync`)), airlock), { comparator: '>=', target: 1, unit: 'x' }, 'throughput, same URLs and connections; curl time / airlock time', missing),
      ratio(`download-${name}-vs-curl-nosync`, '  the same, curl without sync', divide(curl, airlock), null, 'curl leaves its files in the page cache', missing),
      ratio(`download-${name}-vs-xargs`, '  airlock / xargs -P N curl + sync', divide(plus(xargs, seconds(`download-${name}-xargs-sync`)), airlock), null, 'N curl processes: the client work spread over CPUs', missing),
    ];
  });
}

export function stepsTable(steps: StepResult[]): string {
  const rows = steps.map((s) => [
    s.label,
    s.tool,
    fixed(s.seconds, 2),
    fixed(rate(s.inputBytes, s.seconds), 0),
    mb(s.inputBytes),
    mb(s.outputBytes),
    fixed(s.cpuSeconds, 2),
    fixed(s.peakRssBytes === null ? null : s.peakRssBytes / MB, 0),
    fixed(s.loadBefore, 1),
    s.note,
  ]);
  return table(['step', 'tool', 'wall s', 'MB/s', 'in MB', 'out MB', 'CPU s', 'RSS MB', 'load', 'note'], rows, new Set([0, 1, 9]));
}

export function ratiosTable(ratios: Ratio[]): string {
  const rows = ratios.map((r) => [r.label, r.key.endsWith('-rss') ? fixed(r.value, 0, ' MB') : fixed(r.value, 3, 'x'), r.aim ?? '-', r.status, r.note]);
  return table(['ratio', 'value', 'aim', 'status', 'note'], rows, new Set([0, 3, 4]));
}
