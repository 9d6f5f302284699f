import { count } from '../../core/units.js';
import type { CommandModule } from '../program/types.js';
import { AirlockError } from '../../errors.js';
import { verifyDataDir } from '../../offline/verify.js';
import { withOfflineSession } from '../../offline/session.js';
import { verifyRepository } from '../../repository/verifyObjects.js';
import { runCommand } from '../context.js';
import { DEFAULT_DATA_DIR, type DataDirArgs } from './options.js';

interface VerifyArgs extends Omit<DataDirArgs, 'data-dir'> {
  'data-dir'?: string;
  repo?: string;
  deep: boolean;
}

export const verifyCommand: CommandModule<VerifyArgs> = {
  command: 'verify',
  describe: 'audit a data dir (or an online repository): quick checks presence and sizes, --deep re-hashes every file',
  builder: (y) =>
    y
      .option('data-dir', { type: 'string', describe: 'the offline data dir to check' })
      .option('repo', { type: 'string', describe: 'an online repository to check instead' })
      .option('deep', { type: 'boolean', default: false, describe: 're-hash every file (reads all the data)' })
      .conflicts('data-dir', 'repo')
      .example('$0 verify --data-dir /var/lib/rspm-offline-data', 'quick: every file present, with the right size, nothing extra')
      .example('$0 verify --data-dir /var/lib/rspm-offline-data --deep', 're-hash every file: reads all the data')
      .example('$0 verify --repo /srv/airlock --deep', 'the online repository\'s objects'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const report = args.repo
        ? await verifyRepository(args.repo, args.deep, ctx.progress)
        : await withOfflineSession(args['data-dir'] ?? DEFAULT_DATA_DIR, 'verify', (session) => verifyDataDir(session, args.deep, ctx.progress));
      ctx.progress.end();
      if (report.problems.length > 0) {
        if (!ctx.json) for (const p of report.problems) process.stderr.write(`  ${p.kind.padEnd(10)} ${p.path}: ${p.detail}\n`);
        throw new AirlockError('DATA_DIR_DAMAGED', `${count(report.problems.length, 'problem')} found in ${report.target} (${count(report.checked, 'file')} checked${args.deep ? ', deep' : ''})`, {
          where: report.target,
          hint: 'the files listed above were changed or lost: a full bundle of a newer snapshot applied with --force-full brings lost files back and replaces every stored object whose bytes differ from the bundle\'s (a file edited in place changed the stored object too); or `airlock rollback --to ID` to a kept snapshot that verifies',
        });
      }
      ctx.result({ verified: true, target: report.target, checked: report.checked, deep: args.deep }, () => [
        `OK ${report.target}: ${count(report.checked, 'file')} ${args.deep ? 're-hashed' : 'present with the right sizes'}`,
      ]);
    }),
};
