import type { Argv } from 'yargs';
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
