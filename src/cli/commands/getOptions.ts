import { join } from 'node:path';
import type { Argv } from '../program/types.js';
import { AirlockError } from '../../errors.js';
import type { HttpOptions } from '../../upstream/http.js';
import type { BundleRequest } from '../../online/get.js';
import { parseVolumeSize } from '../../core/bundle/volume.js';
import { BUNDLE_FORMAT, PACKED_BUNDLE_FORMAT } from '../../core/bundle/format.js';
import { parseBundleFormat } from './options.js';
import type { GlobalArgs } from '../globalOptions.js';

/**
 * The flags `get` shares with the seed's rspm-offline-downloader, and their checks. Lists
 * are given the seed's way (`--r-versions=4.4,4.5`) or by repeating the flag.
 */
export interface DownloadArgs extends GlobalArgs {
  destination: string;
  'base-url'?: string;
  'sysreqs-url'?: string;
  concurrency: number;
  dryrun: boolean;
  verbose: boolean;
  'outbound-proxy'?: string;
  timeout: number;
  retries: number;
  label?: string;
  bundle?: string;
  'starting-snapshot'?: string;
  sign?: string;
  'volume-size'?: string;
  'bundle-format'?: number;
  'rspm-version'?: string;
}

export function downloadOptions(y: Argv) {
  return y
    .option('destination', { type: 'string', demandOption: true, describe: 'the airlock repository to download into (created if new); the newest download is visible as DESTINATION/current' })
    .option('base-url', { type: 'string', describe: 'the upstream to download from (see docs/sources.md)' })
    .option('sysreqs-url', { type: 'string', describe: 'the r-system-requirements repository, in GitHub contents-API form; none to skip them (sysreqs/ stays as the last snapshot had it)' })
    .option('concurrency', { type: 'number', default: 8, describe: 'downloads at once (connections per host)' })
    .option('dryrun', { type: 'boolean', default: false, describe: 'only report what would be fetched (files and bytes); nothing is saved' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'print every request and retry' })
    .option('outbound-proxy', { type: 'string', describe: 'HTTP proxy for all requests: URL or host:port' })
    .option('timeout', { type: 'number', default: 60, describe: 'seconds a connection may stay silent before it is retried' })
    .option('retries', { type: 'number', default: 5, describe: 'retries per file for 5xx, resets, timeouts and bad bodies' })
    .option('label', { type: 'string', describe: 'a name for the new snapshot, e.g. 2026-11-24' })
    .option('bundle', { type: 'string', describe: 'after downloading, write the bundle of the new snapshot to this file' })
    .option('starting-snapshot', { type: 'string', describe: 'make the bundle a delta from what the offline side holds: a snapshot, or a receipt file from `airlock receipt`; without --bundle it is written to DESTINATION/bundles/' })
    .option('sign', { type: 'string', describe: 'with --bundle: sign it with this NAME.key' })
    .option('volume-size', { type: 'string', describe: 'with --bundle: cut it into volumes of at most this size (4G, 700M, fat32, dvd)' })
    .option('bundle-format', { type: 'number', describe: `with --bundle: ${PACKED_BUNDLE_FORMAT} (default; packs small files) or ${BUNDLE_FORMAT} (for a receiving airlock older than packs)` })
    .option('rspm-version', { type: 'string', describe: 'accepted as Posit\'s downloader takes it (the Package Manager version the data is for); recorded in v3/snapshot.json, no other effect' });
}

export function httpOptionsFrom(args: DownloadArgs, log: ((line: string) => void) | undefined, onRetry?: (url: string, why: string) => void): HttpOptions {
  positiveInteger('--concurrency', args.concurrency);
  positiveInteger('--timeout', args.timeout);
  if (!Number.isInteger(args.retries) || args.retries < 0) usage(`--retries must be 0 or more, not ${args.retries}`, 'for example --retries 5');
  return {
    connections: args.concurrency,
    timeoutMs: args.timeout * 1000,
    retries: args.retries,
    proxy: args['outbound-proxy'],
    // 1 s, 2 s, 4 s...: about 30 s of patience with the default 5 retries. Tests shorten it.
    retryBaseMs: Number(process.env.AIRLOCK_RETRY_BASE_MS ?? 1000),
    ...(log ? { log } : {}),
    ...(onRetry ? { onRetry } : {}),
  };
}

export function bundleRequest(args: DownloadArgs): BundleRequest | null {
  for (const flag of ['sign', 'volume-size', 'bundle-format'] as const) {
    if (args[flag] !== undefined && args.bundle === undefined && args['starting-snapshot'] === undefined) usage(`--${flag} only makes sense with --bundle`, 'add --bundle FILE to write the bundle of the download');
  }
  const volumeSize = args['volume-size'] === undefined ? undefined : parseVolumeSize(args['volume-size']);
  const format = parseBundleFormat(args['bundle-format']);
  // The seed's guide updates a drive with `--destination D --starting-snapshot S` and no --bundle:
  // the delta is then written into the destination, DESTINATION/bundles/<label or time>.airlock.
  if (args.bundle === undefined) {
    if (args['starting-snapshot'] === undefined || args.dryrun) return null;
    const name = args.label ?? new Date().toISOString().slice(0, 19).replaceAll(':', '');
    return { output: join(args.destination, 'bundles', `${name}.airlock`), startingSnapshot: args['starting-snapshot'], signWith: args.sign, volumeSize, format, inDestination: true };
  }
  return { output: args.bundle, startingSnapshot: args['starting-snapshot'], signWith: args.sign, volumeSize, format };
}

/** `4.4,4.5` or repeated flags (`--r-versions 4.4 --r-versions 4.5`), trimmed, empty items dropped, each checked against `pattern`. */
export function listOption(flag: string, value: readonly string[] | undefined, pattern: RegExp, example: string): string[] {
  if (value === undefined) return [];
  const items = value.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  for (const item of items) if (!pattern.test(item)) usage(`${flag} has ${JSON.stringify(item)}, which is not valid`, `for example ${flag}=${example}`);
  return [...new Set(items)];
}

function positiveInteger(flag: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) usage(`${flag} must be a whole number above 0, not ${value}`, `for example ${flag} 8`);
}

export function usage(message: string, hint: string): never {
  throw new AirlockError('USAGE', message, { hint });
}
