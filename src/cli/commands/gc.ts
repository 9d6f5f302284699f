import type { CommandModule } from '../program/types.js';
import { collectGarbage } from '../../offline/gc.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { formatBytes, short } from '../format.js';
import { count } from '../../core/units.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const gcCommand: CommandModule<DataDirArgs & { keep: number; dryrun: boolean }> = {
  command: 'gc',
  describe: 'remove old deployments beyond the newest N, and the objects only they used',
  builder: (y) =>
    dataDirOption(y)
      .option('keep', { type: 'number', demandOption: true, describe: 'deployments to keep, the current one included' })
      .option('dryrun', { type: 'boolean', default: false, describe: 'list what would be removed, and remove nothing' })
      .example('$0 gc --data-dir /var/lib/rspm-offline-data --keep 3', 'keep the current and two earlier snapshots')
      .example('$0 gc --data-dir /var/lib/rspm-offline-data --keep 1 --dryrun', 'what keeping only the current snapshot would remove'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await withOfflineSession(args['data-dir'], 'gc', (s) => collectGarbage(s, args.keep, ctx.progress, args.dryrun));
      ctx.result({ gc: r }, () => [
        `${r.dryrun ? 'would keep' : 'kept'} ${count(r.kept.length, 'deployment')}: ${r.kept.map(short).join(', ')}`,
        `${r.dryrun ? 'would remove' : 'removed'} ${count(r.removedDeployments.length, 'deployment')}${r.removedDeployments.length > 0 ? ` (${r.removedDeployments.map(short).join(', ')})` : ''} and ${count(r.removedObjects, 'object')}, ${r.dryrun ? 'which would free' : 'freeing'} ${formatBytes(r.freedBytes)}${r.dryrun ? '; nothing was removed' : ''}`,
      ]);
    }),
};
