import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION } from '../version.js';
import { withGlobalOptions } from './context.js';
import { ExitCode } from '../errors.js';

/**
 * `airlock` has every command. Installed as `rspm-offline-downloader`, the same program
 * answers only the seed's `get` and `validate`, so an admin's existing scripts keep working.
 */
export type ProgramName = 'airlock' | 'rspm-offline-downloader';

/* eslint-disable @typescript-eslint/no-explicit-any -- each command has its own argument type; yargs takes them all */
type AnyCommand = CommandModule<any, any>;

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
  const args = hideBin(argv);
  const program = withGlobalOptions(yargs(args)).scriptName(name);
  program.usage(
    name === 'airlock'
      ? '$0 <command>\n\nMove R package repositories across an air gap: download, snapshot, bundle, verify, apply, roll back.'
      : "$0 <command>\n\nairlock under the seed downloader's name: get and validate.",
  );
  for (const command of await commandsFor(args, name === 'airlock' ? Object.keys(COMMANDS) : DOWNLOADER_COMMANDS)) program.command(command);
  skipHelpCache(program);
  await program
    .demandCommand(1, `name a command; \`${name} --help\` lists them`)
    .strict()
    .recommendCommands()
    .version(VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, err) => {
      if (err) throw err;
      process.stderr.write(`${name}: error [USAGE]: ${message}\n  next:  run \`${name} --help\` or \`${name} <command> --help\`\n`);
      process.exit(ExitCode.usage);
    })
    .parseAsync();
}

/**
 * yargs renders the whole help text right after it starts a command's handler, in case the
 * handler asks for it (ours never do; a usage error prints its own line): 70 to 100 ms of a
 * core on every run, while the command's first requests are in flight. Through yargs'
 * internal methods, so a yargs without them is left as it is.
 */
function skipHelpCache(program: object): void {
  type Usage = { cacheHelpMessage?: () => void };
  const internal = program as { getInternalMethods?: () => { getUsageInstance?: () => Usage | undefined } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}
