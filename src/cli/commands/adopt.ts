import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { adopt } from '../../offline/adopt.js';
import { parseOwner } from '../../deployment/accounts.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const adoptCommand: CommandModule<DataDirArgs & { label?: string; owner?: string }> = {
  command: 'adopt',
  describe: 'make a data dir copied by hand the old way into a managed one, without copying its bytes',
  builder: (y) =>
    dataDirOption(y)
      .option('label', { type: 'string', describe: 'a label for the adopted snapshot' })
      .option('owner', { type: 'string', describe: 'user:group to own the deployment, e.g. rstudio-pm:rstudio-pm (without it files keep the hand copy\'s owner)' })
      .example('$0 adopt --data-dir /var/lib/rspm-offline-data --label hand-copy-2026-10', 'once, for a directory copied by hand the old way')
      .example('$0 adopt --data-dir /var/lib/rspm-offline-data --owner rstudio-pm:rstudio-pm', 'and give the deployment to the server account'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const r = await withOfflineSession(args['data-dir'], 'adopt', (s) => adopt(s, args.label ?? null, owner, ctx.progress), { create: true });
      ctx.result({ adopted: r }, () => [
        `adopted ${args['data-dir']} as snapshot ${namedSnapshot(r.snapshot.id, r.snapshot.label)}`,
        `  ${count(r.files, 'file')} hashed in place; deployment of ${r.linked} hardlinks and ${r.copied} copies; nothing was copied twice`,
        ...(r.modesNormalised.count > 0
          ? [
              `  modes normalised: ${r.modesNormalised.count} ${r.modesNormalised.count === 1 ? 'file' : 'files'} of the hand copy ${r.modesNormalised.count === 1 ? 'was' : 'were'} writable by group or others or had setuid, setgid or sticky bits ` +
                `(${r.modesNormalised.examples.join(', ')}${r.modesNormalised.count > r.modesNormalised.examples.length ? ', ...' : ''}); the deployment has them read-only, 0444 (executables 0555)`,
            ]
          : []),
        ...(r.executable.count > 0 ? [`  ${r.executable.count} ${r.executable.count === 1 ? 'file' : 'files'} kept executable (0755 in the snapshot, 0555 on disk), each in its own copy`] : []),
        `  the online side can make delta bundles from it: bundle create --starting-snapshot ${r.snapshot.id}`,
      ]);
    }),
};
