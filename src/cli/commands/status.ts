import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import { loadAccount } from '../../deployment/accounts.js';
import { readStatus } from '../../offline/status.js';
import { withOfflineSession } from '../../offline/session.js';
import { runCommand } from '../context.js';
import { formatBytes, short } from '../format.js';
import { dataDirOption, type DataDirArgs } from './options.js';

export const statusCommand: CommandModule<DataDirArgs & { 'server-user'?: string }> = {
  command: 'status',
  describe: 'what the data dir shows now, which snapshots are kept for rollback, any cleanup done, and whether the server account can read it',
  builder: (y) =>
    dataDirOption(y)
      .option('server-user', {
        type: 'string',
        describe: 'the account Package Manager runs as, to check it can read the data: a name from /etc/passwd, or UID:GID (default: rstudio-pm, or any other user when it does not exist)',
      })
      .example('$0 status --data-dir /var/lib/rspm-offline-data', 'what is live, what is kept, and warnings if rstudio-pm could not read it')
      .example('$0 status --data-dir /var/lib/rspm-offline-data --server-user rspm --json', 'the same for a server running as rspm, as JSON'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const server = loadAccount(args['server-user']);
      const s = await withOfflineSession(args['data-dir'], 'status', (session) => readStatus(session, server, ctx.progress), { readOnlyWhenBusy: true });
      ctx.result({ status: s }, () => [
        `data dir   ${s.dataDir} (${s.kind})`,
        `state      ${s.stateDir}`,
        s.current
          ? `current    ${namedSnapshot(s.current.id, s.current.label)}, sequence ${s.current.sequence}, ${count(s.current.files, 'file')}, ${formatBytes(s.current.bytes)}`
          : 'current    (none)',
        `highest sequence applied: ${s.highestSequence}`,
        `deployments kept (${s.deployments.length}):`,
        ...s.deployments.map((d) => `  ${d.current ? '*' : ' '} ${short(d.snapshot.id)} ${'label' in d.snapshot && d.snapshot.label ? d.snapshot.label : ''}`),
        ...(s.access ? [`server     ${s.access.account.description}: ${s.warnings.length === 0 ? `can read all ${count(s.access.files, 'file')}` : `${count(s.warnings.length, 'problem')} (below)`}`] : []),
        ...s.recovered.map((note) => `recovered: ${note}`),
        ...(s.busy ? [`busy: ${s.busy.command} (pid ${s.busy.pid} on ${s.busy.host}) has been running since ${s.busy.since}; shown read-only`] : []),
        ...s.warnings.map((w) => `warning: ${w}`),
      ]);
    }),
};
