import type { Argv } from 'yargs';
import type { BundleWriteOptions } from '../../bundle/createBundle.js';
import { parseVolumeSize } from '../../core/bundle/volume.js';
import type { Progress } from '../../core/progress.js';
import type { GlobalArgs } from '../context.js';

export interface DataDirArgs extends GlobalArgs {
  'data-dir': string;
}

export const DEFAULT_DATA_DIR = '/var/lib/rspm-offline-data';

export function dataDirOption<T>(y: Argv<T>) {
  return y.option('data-dir', {
    type: 'string',
    default: DEFAULT_DATA_DIR,
    describe: 'the path Package Manager reads (ManifestURL = file://<this path>)',
  });
}

/** The flags `bundle create` and `export` share: what to carry, from where, how to sign and cut it. */
export interface BundleWriteArgs {
  snapshot?: string;
  'starting-snapshot'?: string;
  output: string;
  sign?: string;
  'volume-size'?: string;
}

export function bundleWriteOptions(args: BundleWriteArgs, progress: Progress): BundleWriteOptions {
  return {
    snapshot: args.snapshot,
    startingSnapshot: args['starting-snapshot'],
    output: args.output,
    progress,
    signWith: args.sign,
    volumeSize: args['volume-size'] === undefined ? undefined : parseVolumeSize(args['volume-size']),
  };
}

export interface ListArgs {
  list: boolean;
}

/** Summaries by default; every file and package with --list (--json always has everything). */
export function listChangesOption<T>(y: Argv<T>) {
  return y.option('list', { type: 'boolean', default: false, describe: 'list every package (and file) changed, not only the counts' });
}
