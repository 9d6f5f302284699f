import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { applyBundle } from '../../offline/apply.js';
import { parseOwner } from '../../deployment/accounts.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { short } from '../format.js';
import { describeChanges } from '../present.js';
import { dataDirOption, listChangesOption, type DataDirArgs, type ListArgs } from './options.js';

interface ApplyArgs extends DataDirArgs, ListArgs {
  bundle: string[];
  owner?: string;
  'force-full': boolean;
  'allow-unsigned': boolean;
  'allow-downgrade': boolean;
}

export const applyCommand: CommandModule<ApplyArgs> = {
  command: 'apply <bundle..>',
  describe: 'verify a bundle completely, then switch the data dir to its snapshot in one atomic step',
  builder: (y) =>
    listChangesOption(dataDirOption(y))
      .positional('bundle', { type: 'string', array: true, demandOption: true, describe: 'the bundle file, or all its volumes (F.001 F.002 ... in any order)' })
      .option('owner', { type: 'string', describe: 'user:group to own the new files, e.g. rstudio-pm:rstudio-pm' })
      .option('force-full', { type: 'boolean', default: false, describe: 'apply a full bundle over a data dir that already holds a snapshot' })
      .option('allow-unsigned', { type: 'boolean', default: false, describe: 'apply a bundle no trusted key signed (only matters once a key is trusted)' })
      .option('allow-downgrade', { type: 'boolean', default: false, describe: 'apply a bundle whose snapshot is not newer than the newest applied here' })
      .example('$0 apply /media/usb/delta.airlock --data-dir /var/lib/rspm-offline-data --owner rstudio-pm:rstudio-pm', 'the usual update')
      .example('$0 apply /media/usb/full.airlock --data-dir /var/lib/rspm-offline-data --force-full', 're-apply everything over a damaged data dir')
      .example('$0 apply /media/usb/full.airlock.* --data-dir /var/lib/rspm-offline-data', 'a bundle in volumes'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const options = { bundle: args.bundle, forceFull: args['force-full'], owner, progress: ctx.progress, allowUnsigned: args['allow-unsigned'], allowDowngrade: args['allow-downgrade'] };
      const r = await withOfflineSession(args['data-dir'], 'apply', (session) => applyBundle(session, options), { create: true });
      ctx.result({ applied: r }, () => [
        `applied ${namedSnapshot(short(r.to), r.label)} to ${args['data-dir']} (was ${r.from ? namedSnapshot(short(r.from), r.fromLabel) : 'empty'})`,
        `  ${count(r.objectsImported, 'object')} imported${r.objectsRepaired > 0 ? ` (${r.objectsRepaired} of them replacing damaged ones in the store)` : ''}, ${r.objectsAlreadyPresent} already present; ${count(r.files, 'file')} (${r.linked} hardlinked, ${r.copied} copied)`,
        r.signedBy.length > 0 ? `  signed by trusted key ${r.signedBy.map((k) => k.slice(0, 16)).join(', ')}` : `  unsigned${r.unknownSigners.length > 0 ? ` by a trusted key (signed by ${r.unknownSigners.map((k) => k.slice(0, 16)).join(', ')}, not trusted here)` : ''}`,
        ...describeChanges(r.changes, r.largest, args.list),
      ]);
    }),
};
