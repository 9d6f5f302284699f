import type { CommandModule } from 'yargs';
import { readStatus } from '../../deploy/status.js';
import { runCommand, type GlobalArgs } from '../context.js';
import { formatBytes, short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const statusCommand: CommandModule<GlobalArgs, DataDirArgs> = {
  command: 'status',
  describe: 'what the data dir shows now, which snapshots are kept for rollback, and any cleanup done',
  builder: (y) => dataDirOption(y).example('$0 status --data-dir /var/lib/rspm-offline-data', ''),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const s = await readStatus(args['data-dir']);
      ctx.result({ status: s }, () => [
        `data dir   ${s.dataDir} (${s.kind})`,
        `state      ${s.stateDir}`,
        s.current
          ? `current    ${s.current.id}${s.current.label ? ` (${s.current.label})` : ''}, sequence ${s.current.sequence}, ${s.current.files} files, ${formatBytes(s.current.bytes)}`
          : 'current    (none)',
        `highest sequence applied: ${s.highestSequence}`,
        `deployments kept (${s.deployments.length}):`,
        ...s.deployments.map((d) => `  ${d.current ? '*' : ' '} ${short(d.snapshot.id)} ${'label' in d.snapshot && d.snapshot.label ? d.snapshot.label : ''}`),
        ...s.recovered.map((note) => `recovered: ${note}`),
        ...(s.busy ? [`busy: ${s.busy.command} (pid ${s.busy.pid} on ${s.busy.host}) has been running since ${s.busy.since}; shown read-only`] : []),
      ]);
    }),
};
