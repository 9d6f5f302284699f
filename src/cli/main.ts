import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION } from '../version.js';
import { adoptCommand } from './commands/adopt.js';
import { applyCommand } from './commands/apply.js';
import { bundleCommand } from './commands/bundle.js';
import { exportCommand } from './commands/export.js';
import { gcCommand } from './commands/gc.js';
import { getCommand } from './commands/get.js';
import { keyCommand } from './commands/key.js';
import { pruneSchemaCommand } from './commands/pruneSchema.js';
import { receiptCommand } from './commands/receipt.js';
import { trustCommand } from './commands/trust.js';
import { rollbackCommand } from './commands/rollback.js';
import { serveCommand } from './commands/serve.js';
import { snapshotCommand } from './commands/snapshot.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { verifyCommand } from './commands/verify.js';
import { withGlobalOptions } from './context.js';
import { ExitCode } from '../errors.js';

/**
 * `airlock` has every command. Installed as `rspm-offline-downloader`, the same program
 * answers only the seed's `get` and `validate`, so an admin's existing scripts keep working.
 */
export type ProgramName = 'airlock' | 'rspm-offline-downloader';

export async function main(argv: string[], name: ProgramName = 'airlock'): Promise<void> {
  // `airlock snapshot list | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = withGlobalOptions(yargs(hideBin(argv))).scriptName(name);
  if (name === 'airlock') {
    program
      .usage('$0 <command>\n\nMove R package repositories across an air gap: download, snapshot, bundle, verify, apply, roll back.')
      .command(getCommand)
      .command(validateCommand)
      .command(snapshotCommand)
      .command(bundleCommand)
      .command(applyCommand)
      .command(rollbackCommand)
      .command(statusCommand)
      .command(verifyCommand)
      .command(gcCommand)
      .command(adoptCommand)
      .command(receiptCommand)
      .command(exportCommand)
      .command(pruneSchemaCommand)
      .command(serveCommand)
      .command(keyCommand)
      .command(trustCommand);
  } else {
    program.usage('$0 <command>\n\nairlock under the seed downloader\'s name: get and validate.').command(getCommand).command(validateCommand);
  }
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
