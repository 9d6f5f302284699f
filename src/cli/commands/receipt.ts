import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { writeReceipt } from '../../offline/receipt.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { formatBytes } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const receiptCommand: CommandModule<DataDirArgs & { output: string }> = {
  command: 'receipt',
  describe: 'write what this data dir holds (snapshot, tree, highest sequence, trusted keys) to a small file the online side makes the next delta from',
  builder: (y) =>
    dataDirOption(y)
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the receipt file to write (never overwritten)' })
      .example('$0 receipt --data-dir /var/lib/rspm-offline-data --output /media/usb/offline.receipt', 'then online: bundle create --starting-snapshot /media/usb/offline.receipt'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await withOfflineSession(args['data-dir'], 'receipt', (session) => writeReceipt(session, args.output));
      const s = r.receipt.snapshot;
      const keys = r.receipt.trustedKeys;
      ctx.result(
        {
          receipt: r.output,
          bytes: r.bytes,
          snapshot: s,
          highestSequence: r.receipt.highestSequence,
          trustedKeys: keys,
          writtenAt: r.receipt.writtenAt,
          recovered: r.recovered,
        },
        () => [
          `wrote receipt ${r.output} (${formatBytes(r.bytes)})`,
          `  snapshot  ${namedSnapshot(s.id, s.label)}, sequence ${s.sequence}, ${count(s.files, 'file')}, ${formatBytes(s.bytes)}`,
          `  highest sequence applied: ${r.receipt.highestSequence}`,
          keys.length === 0 ? '  trusted keys: none (apply takes unsigned bundles)' : `  trusted keys: ${keys.map((k) => `${k.id.slice(0, 16)} (${k.name})`).join(', ')}`,
          ...r.recovered.map((note) => `recovered: ${note}`),
          `  online: airlock bundle create --repo R --starting-snapshot ${r.output} --output F`,
        ],
      );
    }),
};
