import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { parseOwner } from '../../deployment/accounts.js';
import { pruneSchema } from '../../offline/pruneSchema.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { formatBytes, short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

interface PruneSchemaArgs extends DataDirArgs {
  keep: string;
  dryrun: boolean;
  owner?: string;
}

export const pruneSchemaCommand: CommandModule<PruneSchemaArgs> = {
  command: 'prune-schema',
  describe: 'remove the directories of an old data schema (v2/, bioc/v2/) in a new snapshot, switched to atomically; rollback brings them back',
  builder: (y) =>
    dataDirOption(y)
      .option('keep', { type: 'string', demandOption: true, describe: 'the schema to keep: v3 (v3/, bioc/v3/, bin/, bindex/, sysreqs/ always stay)' })
      .option('dryrun', { type: 'boolean', default: false, describe: 'only list what would be removed (files and bytes per directory); nothing changes' })
      .option('owner', { type: 'string', describe: 'user:group to own the new deployment\'s directories, as given to apply (files keep theirs: they are the same hardlinks)' })
      .example('$0 prune-schema --data-dir /var/lib/rspm-offline-data --keep v3 --dryrun', 'what would go, with sizes')
      .example('$0 prune-schema --data-dir /var/lib/rspm-offline-data --keep v3 --owner rstudio-pm:rstudio-pm', 'remove v2/ and bioc/v2/ once the server reads v3')
      .example('$0 rollback --data-dir /var/lib/rspm-offline-data', 'bring them back'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const owner = args.owner === undefined ? undefined : parseOwner(args.owner);
      const r = await withOfflineSession(args['data-dir'], 'prune-schema', (s) => pruneSchema(s, { keep: args.keep, dryrun: args.dryrun, owner, progress: ctx.progress }));
      const from = `${namedSnapshot(short(r.from.id), r.from.label)}`;
      ctx.result({ pruned: r }, () => {
        if (r.removed.length === 0) return [`nothing to remove: snapshot ${from} holds no schema older than ${args.keep}; nothing was changed`];
        const width = Math.max(...r.removed.map((d) => d.path.length + 1));
        return [
          r.dryrun ? `would remove from snapshot ${from} (dry run; nothing was changed):` : `removed from snapshot ${from}:`,
          ...r.removed.map((d) => `  ${`${d.path}/`.padEnd(width)}  ${files(d.files)}  ${formatBytes(d.bytes).padStart(10)}`),
          `  ${'total'.padEnd(width)}  ${files(r.files)}  ${formatBytes(r.bytes).padStart(10)} (${formatBytes(r.unsharedBytes)} of it not shared with what stays)`,
          ...(r.snapshot
            ? [
                `${args['data-dir']} now shows snapshot ${namedSnapshot(short(r.snapshot.id), r.snapshot.label)}, sequence ${r.snapshot.sequence}`,
                `  bring them back: airlock rollback --data-dir ${args['data-dir']}`,
                `  the space is freed once the old deployment goes: airlock gc --data-dir ${args['data-dir']} --keep N`,
              ]
            : []),
        ];
      });
    }),
};

function files(n: number): string {
  return `${String(n).padStart(8)} ${n === 1 ? 'file ' : 'files'}`;
}
