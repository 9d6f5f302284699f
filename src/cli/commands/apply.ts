import type { CommandModule } from 'yargs';
import { applyBundle } from '../../deploy/applyBundle.js';
import { parseOwner } from '../../deploy/owner.js';
import { withOfflineSession } from '../../deploy/session.js';
import { runCommand, type GlobalArgs } from '../context.js';
import { short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

interface ApplyArgs extends DataDirArgs {
  bundle: string;
  owner?: string;
  'force-full': boolean;
}

export const applyCommand: CommandModule<GlobalArgs, ApplyArgs> = {
  command: 'apply <bundle>',
  describe: 'verify a bundle completely, then switch the data dir to its snapshot in one atomic step',
  builder: (y) =>
    dataDirOption(y)
      .positional('bundle', { type: 'string', demandOption: true })
      .option('owner', { type: 'string', describe: 'user:group to own the new files, e.g. rstudio-pm:rstudio-pm' })
      .option('force-full', { type: 'boolean', default: false, describe: 'apply a full bundle over a data dir that already holds a snapshot' })
      .example('$0 apply /media/usb/delta.airlock --data-dir /var/lib/rspm-offline-data --owner rstudio-pm:rstudio-pm', ''),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const r = await withOfflineSession(args['data-dir'], 'apply', (session) => applyBundle(session, { bundle: args.bundle, forceFull: args['force-full'], owner, progress: ctx.progress }), { create: true });
      ctx.result({ applied: r }, () => [
        `applied ${short(r.to)}${r.label ? ` (${r.label})` : ''} to ${args['data-dir']} (was ${r.from ? short(r.from) : 'empty'})`,
        `  ${r.objectsImported} objects imported, ${r.objectsAlreadyPresent} already present; ${r.files} files (${r.linked} hardlinked, ${r.copied} copied)`,
      ]);
    }),
};
