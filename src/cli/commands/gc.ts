import type { CommandModule } from 'yargs';
import { collectGarbage } from '../../offline/gc.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand, type GlobalArgs } from '../context.js';
import { formatBytes, short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const gcCommand: CommandModule<GlobalArgs, DataDirArgs & { keep: number }> = {
  command: 'gc',
  describe: 'remove old deployments beyond the newest N, and the objects only they used',
  builder: (y) =>
    dataDirOption(y)
      .option('keep', { type: 'number', demandOption: true, describe: 'deployments to keep, the current one included' })
      .example('$0 gc --data-dir /var/lib/rspm-offline-data --keep 3', 'keep the current and two earlier snapshots'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await withOfflineSession(args['data-dir'], 'gc', (s) => collectGarbage(s, args.keep, ctx.progress));
      ctx.result({ gc: r }, () => [
        `kept ${r.kept.length} deployments: ${r.kept.map(short).join(', ')}`,
        `removed ${r.removedDeployments.length} deployments and ${r.removedObjects} objects, freeing ${formatBytes(r.freedBytes)}`,
      ]);
    }),
};
