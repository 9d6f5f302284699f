import type { CommandModule } from '../program/types.js';
import { startServer } from '../../serve/server.js';
import { runCommand } from '../context.js';
import { dataDirOption, type DataDirArgs } from './options.js';

interface ServeArgs extends DataDirArgs {
  listen: string;
}

export const serveCommand: CommandModule<ServeArgs> = {
  command: 'serve',
  describe: 'serve the kept snapshots to R, renv, pak and BiocManager over HTTP, with the URLs Posit Package Manager uses (read-only; apply and rollback run beside it)',
  builder: (y) =>
    dataDirOption(y)
      .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'HOST:PORT to listen on (port 0 picks a free one; 0.0.0.0 for every interface)' })
      .example('$0 serve --data-dir /var/lib/rspm-offline-data', 'on 127.0.0.1:8080; in R: options(repos = c(CRAN = "http://127.0.0.1:8080/cran/latest"))')
      .example('$0 serve --data-dir /var/lib/rspm-offline-data --listen 0.0.0.0:8080 --quiet', 'for the whole network, without the access log'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const server = await startServer({ dataDir: args['data-dir'], listen: args.listen, log: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`) });
      ctx.result({ url: server.url, dataDir: args['data-dir'] }, () => [
        `serving ${args['data-dir']} at ${server.url}`,
        `  in R: options(repos = c(CRAN = "${server.url}/cran/latest")); the snapshots and more lines to paste: ${server.url}/`,
      ], { oneLine: true });
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      process.stderr.write(`airlock serve: ${signal}: stopping (requests under way finish first)\n`);
      await server.close();
    }, { ownSignals: true }),
};
