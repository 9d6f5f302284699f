import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { parseOwner } from '../../deployment/accounts.js';
import { rollback } from '../../offline/rollback.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const rollbackCommand: CommandModule<DataDirArgs & { to?: string; owner?: string }> = {
  command: 'rollback',
  describe: 'switch the data dir back to an earlier snapshot (default: the one before the current)',
  builder: (y) =>
    dataDirOption(y)
      .option('to', { type: 'string', describe: 'the snapshot to go back to (label, id or id prefix)' })
      .option('owner', { type: 'string', describe: 'user:group for a deployment that must be rebuilt (after gc), as given to apply' })
      .example('$0 rollback --data-dir /var/lib/rspm-offline-data', 'undo the last apply')
      .example('$0 rollback --data-dir /var/lib/rspm-offline-data --to 2026-11-01 --owner rstudio-pm:rstudio-pm', 'back to a kept snapshot by its label, owned by the server account'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const r = await withOfflineSession(args['data-dir'], 'rollback', (s) => rollback(s, args.to, owner, ctx.progress));
      ctx.result({ rolledBack: { from: r.from, to: r.to, rebuilt: r.rebuilt } }, () => [
        `${r.direction === 'forward' ? 'switched forward' : 'rolled back'} ${args['data-dir']} from ${namedSnapshot(short(r.from), r.fromLabel)} to ${namedSnapshot(short(r.to.id), r.to.label)}${r.rebuilt ? ' (deployment rebuilt from the store)' : ''}`,
      ]);
    }),
};
