import { VERSION } from '../version.js';
import { GLOBAL_OPTIONS } from './globalOptions.js';
import { ExitCode } from '../errors.js';
import type { CommandModule } from './program/types.js';
import { specOf } from './program/commandSpec.js';
import { parseCommandLine } from './program/parseCommandLine.js';
import { helpText } from './program/helpText.js';

/**
 * `airlock` has every command. Installed as `rspm-offline-downloader`, the same program
 * answers only the seed's `get` and `validate`, so an admin's existing scripts keep working.
 */
export type ProgramName = 'airlock' | 'rspm-offline-downloader';

/** Each command has its own argument type; the parser takes them all. */
type AnyCommand = CommandModule<never>;

/**
 * Each command's module, loaded only when needed: a run of one command loads that command
 * (and what it uses), `--version` loads none; help, and a mistyped command (for suggestions),
 * load them all. Order is the order `--help` lists them in.
 */
const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  get: async () => (await import('./commands/get.js')).getCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  snapshot: async () => (await import('./commands/snapshot.js')).snapshotCommand,
  bundle: async () => (await import('./commands/bundle.js')).bundleCommand,
  apply: async () => (await import('./commands/apply.js')).applyCommand,
  rollback: async () => (await import('./commands/rollback.js')).rollbackCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
  adopt: async () => (await import('./commands/adopt.js')).adoptCommand,
  receipt: async () => (await import('./commands/receipt.js')).receiptCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  'prune-schema': async () => (await import('./commands/pruneSchema.js')).pruneSchemaCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  key: async () => (await import('./commands/key.js')).keyCommand,
  trust: async () => (await import('./commands/trust.js')).trustCommand,
};
const DOWNLOADER_COMMANDS = ['get', 'validate'];

/** What `--help` says each program is. */
const DESCRIPTIONS: Record<ProgramName, string> = {
  airlock: 'Move R package repositories across an air gap: download, snapshot, bundle, verify, apply, roll back.',
  'rspm-offline-downloader': "airlock under the seed downloader's name: get and validate.",
};

/** The commands to register for these arguments: the one named, none for --version, else all. */
async function commandsFor(args: string[], available: string[]): Promise<AnyCommand[]> {
  const first = args[0];
  if (first !== undefined && available.includes(first)) return [await COMMANDS[first]!()];
  if (args.length === 1 && first === '--version') return [];
  return Promise.all(available.map((name) => COMMANDS[name]!()));
}

export async function main(argv: string[], name: ProgramName = 'airlock'): Promise<void> {
  // `airlock snapshot list | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const args = argv.slice(2);
  const commands = await commandsFor(args, name === 'airlock' ? Object.keys(COMMANDS) : DOWNLOADER_COMMANDS);
  // The program is a command whose subcommands are the commands: it only ever needs one of them.
  const root = specOf({ command: `${name} <command>`, describe: DESCRIPTIONS[name], builder: (y) => commands.reduce((b, c) => b.command(c), y), handler: () => undefined }, GLOBAL_OPTIONS);
  const outcome = parseCommandLine(root, args);
  switch (outcome.kind) {
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case 'help':
      process.stdout.write(helpText(outcome.spec, { program: name, path: outcome.path, width: Math.min(110, process.stdout.columns || 100) }));
      return;
    case 'error': {
      const command = [name, ...outcome.path].join(' ');
      process.stderr.write(`${name}: error [USAGE]: ${outcome.message}\n  next:  run \`${command} --help\`${outcome.path.length === 0 ? ` or \`${name} <command> --help\`` : ''}\n`);
      process.exitCode = ExitCode.usage;
      return;
    }
    case 'run':
      await (outcome.spec.handler as (args: Record<string, unknown>) => void | Promise<void>)(outcome.args);
  }
}
