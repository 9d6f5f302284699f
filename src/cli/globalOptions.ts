import type { Declared } from './program/commandSpec.js';

/** The options every command has, kept apart from context.ts so that `--version` loads neither it nor the progress display. */
export interface GlobalArgs {
  json: boolean;
  quiet: boolean;
}

export const GLOBAL_OPTIONS: readonly Declared[] = [
  { name: 'json', global: true, type: 'boolean', default: false, describe: 'print the result as one JSON object on stdout' },
  { name: 'quiet', global: true, alias: 'q', type: 'boolean', default: false, describe: 'no progress output; warnings and errors only' },
];
