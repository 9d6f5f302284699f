import { count } from '../../core/units.js';
import type { CommandModule } from '../program/types.js';
import type { ValidateKind } from '../../online/validateLayout.js';
import { runCommand } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';

interface ValidateArgs extends GlobalArgs {
  destination: string;
  packages: boolean;
}

function validateKind(kind: ValidateKind): CommandModule<ValidateArgs> {
  return {
    command: kind,
    describe: `check that a ${kind === 'cran' ? 'CRAN' : 'Bioconductor'} layout is complete (--packages: every archive against PACKAGES)`,
    builder: (y) =>
      y
        .option('destination', { type: 'string', demandOption: true, describe: 'an airlock repository (its current tree is checked) or any layout directory, such as the offline data dir' })
        .option('packages', { type: 'boolean', default: false, describe: 'also check that every archive listed in every PACKAGES exists with the right size and MD5sum' })
        .example(`$0 validate ${kind} --destination /srv/airlock`, 'the directories, markers and indexes of the newest download')
        .example(`$0 validate ${kind} --destination /var/lib/rspm-offline-data --packages`, 'every package archive of the offline data, byte by byte'),
    handler: (args) =>
      runCommand(args, async (ctx) => {
        // Imported on use: validate pulls in the YAML parser, which other commands do not need.
        const { assertValid, validateLayout } = await import('../../online/validateLayout.js');
        const { layoutRootOf } = await import('../../online/publishView.js');
        const root = await layoutRootOf(args.destination);
        const report = await validateLayout({ root, kind, packages: args.packages, progress: ctx.progress });
        assertValid(report, kind);
        ctx.result({ valid: true, ...report }, () => [
          `OK ${root}: ${kind} layout complete, ${report.indexes} package indexes${args.packages ? `, ${count(report.archivesChecked, 'archive')} match their MD5sum` : ' (add --packages to check every archive)'}`,
        ]);
      }),
  };
}

export const validateCommand: CommandModule<GlobalArgs> = {
  command: 'validate <source>',
  describe: 'check a downloaded or applied layout (as rspm-offline-downloader validate)',
  builder: (y) =>
    y
      .command(validateKind('cran'))
      .command(validateKind('bioconductor'))
      .example('$0 validate cran --destination /srv/airlock --packages', 'the newest download, every archive against PACKAGES')
      .example('$0 validate bioconductor --destination /var/lib/rspm-offline-data', 'the offline data\'s Bioconductor layout'),
  handler: () => undefined,
};
