import { basename } from 'node:path';
import type { CommandModule } from '../program/types.js';
import { withOfflineSession } from '../../offline/session.js';
import { loadPublicKey } from '../../trust/keys.js';
import { TrustStore } from '../../trust/trustStore.js';
import { runCommand } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';
import { dataDirOption, type DataDirArgs } from './options.js';

const add: CommandModule<DataDirArgs & { key: string }> = {
  command: 'add <key>',
  describe: 'trust a NAME.pub: from now on apply takes only bundles signed by a trusted key',
  builder: (y) =>
    dataDirOption(y)
      .positional('key', { type: 'string', demandOption: true })
      .example('$0 trust add /media/usb/airlock-signing.pub --data-dir /var/lib/rspm-offline-data', 'compare the key id it prints with the one `key generate` printed online'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const key = loadPublicKey(args.key);
      const r = await withOfflineSession(args['data-dir'], 'trust add', ({ dataDir }) => new TrustStore(dataDir.trustPath).add(key, basename(args.key)), { create: true });
      ctx.result({ added: r.added, key: { id: r.key.id, name: r.key.name, addedAt: r.key.addedAt } }, () => [
        `${r.added ? 'trusted' : 'already trusted:'} key ${r.key.id} (${r.key.name})`,
        '  apply now refuses unsigned bundles and bundles signed by other keys (--allow-unsigned overrides)',
      ]);
    }),
};

const list: CommandModule<DataDirArgs> = {
  command: 'list',
  describe: 'the keys this data dir takes bundles from',
  builder: (y) => dataDirOption(y).example('$0 trust list --data-dir /var/lib/rspm-offline-data', 'the keys apply takes bundles from'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      // Keys may be trusted before the first apply, so list works on a data dir with nothing applied yet.
      const keys = await withOfflineSession(args['data-dir'], 'trust list', ({ dataDir }) => new TrustStore(dataDir.trustPath).list(), { create: true });
      ctx.result({ keys: keys.map(({ id, name, addedAt }) => ({ id, name, addedAt })) }, () =>
        keys.length === 0 ? ['no trusted keys: apply takes unsigned bundles'] : keys.map((k) => `${k.id}  ${k.addedAt}  ${k.name}`),
      );
    }),
};

const remove: CommandModule<DataDirArgs & { keyid: string }> = {
  command: 'remove <keyid>',
  describe: 'stop trusting a key (by id or a unique prefix of at least 8 digits)',
  builder: (y) => dataDirOption(y).positional('keyid', { type: 'string', demandOption: true }).example('$0 trust remove 3f2a9c1e --data-dir /var/lib/rspm-offline-data', 'stop trusting a key, named by the first digits of its id'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await withOfflineSession(args['data-dir'], 'trust remove', ({ dataDir }) => new TrustStore(dataDir.trustPath).remove(args.keyid));
      ctx.result({ removed: { id: r.id, name: r.name } }, () => [`no longer trusted: key ${r.id} (${r.name})`]);
    }),
};

export const trustCommand: CommandModule<GlobalArgs> = {
  command: 'trust <command>',
  describe: 'the signing keys an offline data dir accepts',
  builder: (y) =>
    y
      .command(add)
      .command(list)
      .command(remove)
      .example('$0 trust add /media/usb/airlock-signing.pub --data-dir /var/lib/rspm-offline-data', 'once: from now on only signed bundles')
      .example('$0 trust list --data-dir /var/lib/rspm-offline-data', 'the keys trusted here'),
  handler: () => undefined,
};
