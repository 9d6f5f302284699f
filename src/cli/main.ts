import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION } from '../version.js';
import { adoptCommand } from './commands/adopt.js';
import { applyCommand } from './commands/apply.js';
import { bundleCommand } from './commands/bundle.js';
import { gcCommand } from './commands/gc.js';
import { rollbackCommand } from './commands/rollback.js';
import { snapshotCommand } from './commands/snapshot.js';
import { statusCommand } from './commands/status.js';
import { verifyCommand } from './commands/verify.js';
import { withGlobalOptions } from './context.js';
import { ExitCode } from '../errors.js';

export async function main(argv: string[]): Promise<void> {
  // `airlock snapshot list | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  await withGlobalOptions(yargs(hideBin(argv)))
    .scriptName('airlock')
    .usage('$0 <command>\n\nMove R package repositories across an air gap: snapshot, bundle, verify, apply, roll back.')
    .command(snapshotCommand)
    .command(bundleCommand)
    .command(applyCommand)
    .command(rollbackCommand)
    .command(statusCommand)
    .command(verifyCommand)
    .command(gcCommand)
    .command(adoptCommand)
    .demandCommand(1, 'name a command; `airlock --help` lists them')
    .strict()
    .version(VERSION)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, err) => {
      if (err) throw err;
      process.stderr.write(`airlock: error [USAGE]: ${message}\n  next:  run \`airlock --help\` or \`airlock <command> --help\`\n`);
      process.exit(ExitCode.usage);
    })
    .parseAsync();
}
