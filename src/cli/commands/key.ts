import type { CommandModule } from '../program/types.js';
import { generateKeyFiles } from '../../trust/keys.js';
import { runCommand } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';

const generate: CommandModule<GlobalArgs & { output: string }> = {
  command: 'generate',
  describe: 'make an Ed25519 key pair: NAME.key (private, mode 0600) signs bundles, NAME.pub is trusted offline',
  builder: (y) =>
    y
      .option('output', { type: 'string', demandOption: true, describe: 'NAME: writes NAME.key and NAME.pub' })
      .example('$0 key generate --output /root/airlock-signing', 'then keep airlock-signing.key on the online host and carry airlock-signing.pub across'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await generateKeyFiles(args.output);
      ctx.result({ keyId: r.keyId, privateKey: r.privatePath, publicKey: r.publicPath }, () => [
        `wrote ${r.privatePath} (private, 0600: keep it on the online host) and ${r.publicPath}`,
        `  key id ${r.keyId}`,
        `  offline: airlock trust add ${r.publicPath} --data-dir /var/lib/rspm-offline-data`,
      ]);
    }),
};

export const keyCommand: CommandModule<GlobalArgs> = {
  command: 'key <command>',
  describe: 'signing keys for bundles',
  builder: (y) =>
    y
      .command(generate)
      .example('$0 key generate --output /root/airlock-signing', 'once, on the online host: writes airlock-signing.key and airlock-signing.pub'),
  handler: () => undefined,
};
