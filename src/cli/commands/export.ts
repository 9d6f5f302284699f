import type { CommandModule } from '../program/types.js';
import { exportBundle } from '../../offline/export.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { describeWrittenBundle } from '../present.js';
import { bundleFormatOption, bundleWriteOptions, dataDirOption, listChangesOption, type DataDirArgs, type ListArgs } from './options.js';

interface ExportArgs extends DataDirArgs, ListArgs {
  output: string;
  snapshot?: string;
  'starting-snapshot'?: string;
  sign?: string;
  'volume-size'?: string;
  'bundle-format'?: number;
}

export const exportCommand: CommandModule<ExportArgs> = {
  command: 'export',
  describe: 'write a bundle from this data dir (its current snapshot by default) for another offline host: validate on staging, then hand on to production',
  builder: (y) =>
    bundleFormatOption(listChangesOption(dataDirOption(y)))
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the bundle file to write' })
      .option('snapshot', { type: 'string', describe: 'the snapshot to carry (label, id or id prefix held here); default: the one the data dir shows' })
      .option('starting-snapshot', { type: 'string', describe: 'what the receiving host holds: a snapshot held here (label or id), or a receipt file written there by `airlock receipt`' })
      .option('sign', { type: 'string', describe: 'sign the bundle with this NAME.key; the receiving host must trust NAME.pub' })
      .option('volume-size', { type: 'string', describe: 'cut the bundle into OUTPUT.001, .002, ... each at most this size: 4G, 700M, fat32, dvd' })
      .example('$0 export --data-dir /var/lib/rspm-offline-data --output /media/usb/staging-full.airlock', 'everything the staging host shows, for a new production host')
      .example(
        '$0 export --data-dir /var/lib/rspm-offline-data --starting-snapshot /media/usb/production.receipt --sign /root/staging-signing.key --output /media/usb/to-production.airlock',
        'only what production lacks (its receipt), signed with a key production trusts',
      )
      .example('$0 export --data-dir /var/lib/rspm-offline-data --starting-snapshot 2026-11-24 --volume-size fat32 --output /media/usb/delta.airlock', 'a delta from a snapshot held here, in FAT32-sized volumes'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await withOfflineSession(args['data-dir'], 'export', (session) => exportBundle(session, bundleWriteOptions(args, ctx.progress)));
      ctx.result(
        {
          bundle: r.path,
          volumes: r.volumes,
          header: r.header,
          bundleBytes: r.bundleBytes,
          rawObjects: r.rawObjects,
          compressedObjects: r.compressedObjects,
          packedObjects: r.packedObjects,
          packs: r.packs,
          changes: r.changes,
          dataDir: r.dataDir,
          signed: args.sign !== undefined,
          recovered: r.recovered,
        },
        () => [
          ...describeWrittenBundle(r, `exported ${r.header.kind} bundle ${r.path} from ${r.dataDir}`, args.sign !== undefined, args.list),
          ...r.recovered.map((note) => `recovered: ${note}`),
          `  on the receiving host: airlock apply ${r.volumes.length > 0 ? `${r.path}.*` : r.path} --data-dir /var/lib/rspm-offline-data`,
        ],
      );
    }),
};
