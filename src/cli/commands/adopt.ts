import type { CommandModule } from 'yargs';
import { adopt } from '../../deploy/adopt.js';
import { parseOwner } from '../../deploy/owner.js';
import { withOfflineSession } from '../../deploy/session.js';
import { runCommand, type GlobalArgs } from '../context.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const adoptCommand: CommandModule<GlobalArgs, DataDirArgs & { label?: string; owner?: string }> = {
  command: 'adopt',
  describe: 'make a data dir copied by hand the old way into a managed one, without copying its bytes',
  builder: (y) =>
    dataDirOption(y)
      .option('label', { type: 'string', describe: 'a label for the adopted snapshot' })
      .option('owner', { type: 'string', describe: 'user:group to own the files, e.g. rstudio-pm:rstudio-pm' })
      .example('$0 adopt --data-dir /var/lib/rspm-offline-data --label hand-copy-2026-10', ''),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const r = await withOfflineSession(args['data-dir'], 'adopt', (s) => adopt(s, args.label ?? null, owner, ctx.progress), { create: true });
      ctx.result({ adopted: r }, () => [
        `adopted ${args['data-dir']} as snapshot ${r.snapshot.id}${r.snapshot.label ? ` (${r.snapshot.label})` : ''}`,
        `  ${r.files} files hashed in place; deployment of ${r.linked} hardlinks and ${r.copied} copies; nothing was copied twice`,
        `  the online side can make delta bundles from it: bundle create --starting-snapshot ${r.snapshot.id}`,
      ]);
    }),
};
