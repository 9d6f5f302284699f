import type { Argv } from '../program/types.js';
import type { BundleWriteOptions } from '../../bundle/createBundle.js';
import { parseVolumeSize } from '../../core/bundle/volume.js';
import { BUNDLE_FORMAT, PACKED_BUNDLE_FORMAT, type BundleFormat } from '../../core/bundle/format.js';
import { AirlockError } from '../../errors.js';
import type { Progress } from '../../core/progress.js';
import type { GlobalArgs } from '../globalOptions.js';

export interface DataDirArgs extends GlobalArgs {
  'data-dir': string;
}

export const DEFAULT_DATA_DIR = '/var/lib/rspm-offline-data';

export function dataDirOption(y: Argv) {
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
  'bundle-format'?: number;
}

/** --bundle-format: 2 (packs small files; the default), or 1 for a receiver whose airlock predates packs. */
export function bundleFormatOption(y: Argv) {
  return y.option('bundle-format', {
    type: 'number',
    describe: `the bundle format to write: ${PACKED_BUNDLE_FORMAT} (default; packs small files together) or ${BUNDLE_FORMAT} (for a receiving airlock older than packs; \`airlock --version\` there says which it reads)`,
  });
}

export function parseBundleFormat(raw: number | undefined): BundleFormat | undefined {
  if (raw === undefined) return undefined;
  if (raw === BUNDLE_FORMAT || raw === PACKED_BUNDLE_FORMAT) return raw;
  throw new AirlockError('USAGE', `--bundle-format must be ${BUNDLE_FORMAT} or ${PACKED_BUNDLE_FORMAT}, not ${String(raw)}`, {
    hint: `${PACKED_BUNDLE_FORMAT} unless the receiving host's airlock reads only format ${BUNDLE_FORMAT}`,
  });
}

export function bundleWriteOptions(args: BundleWriteArgs, progress: Progress): BundleWriteOptions {
  return {
    snapshot: args.snapshot,
    startingSnapshot: args['starting-snapshot'],
    output: args.output,
    progress,
    signWith: args.sign,
    volumeSize: args['volume-size'] === undefined ? undefined : parseVolumeSize(args['volume-size']),
    format: parseBundleFormat(args['bundle-format']),
  };
}

export interface ListArgs {
  list: boolean;
}

/** Summaries by default; every file and package with --list (--json always has everything). */
export function listChangesOption(y: Argv) {
  return y.option('list', { type: 'boolean', default: false, describe: 'list every package (and file) changed, not only the counts' });
}
