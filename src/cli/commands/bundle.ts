import type { CommandModule } from 'yargs';
import { createBundle } from '../../bundle/createBundle.js';
import { readBundle } from '../../bundle/readBundle.js';
import { verifyBundle } from '../../bundle/verifyBundle.js';
import { Repository } from '../../repository/repository.js';
import { formatBytes, short } from '../format.js';
import { runCommand, type GlobalArgs } from '../context.js';
import { describeChanges } from '../present.js';
import type { BundleHeader } from '../../core/bundle/format.js';

interface CreateArgs extends GlobalArgs {
  repo: string;
  snapshot: string;
  'starting-snapshot'?: string;
  output: string;
  sign?: string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'write a bundle: the whole snapshot, or only what --starting-snapshot lacks',
  builder: (y) =>
    y
      .option('repo', { type: 'string', demandOption: true, describe: 'the online airlock repository' })
      .option('snapshot', { type: 'string', default: 'latest', describe: 'the snapshot to carry (label, id, prefix or "latest")' })
      .option('starting-snapshot', { type: 'string', describe: 'the snapshot the offline side holds now; only newer objects are carried' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the bundle file to write' })
      .option('sign', { type: 'string', describe: 'sign the bundle with this NAME.key (see `airlock key generate`)' })
      .example('$0 bundle create --repo /srv/airlock --output /media/usb/full.airlock', 'first bundle: everything')
      .example('$0 bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --sign /root/airlock-signing.key --output /media/usb/delta.airlock', 'signed, for a host that trusts the key')
      .example('$0 bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --output /media/usb/delta.airlock', 'later: only what changed'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo);
      const r = await repo.locked('bundle create', () =>
        createBundle(repo, { snapshot: args.snapshot, startingSnapshot: args['starting-snapshot'], output: args.output, progress: ctx.progress, signWith: args.sign }),
      );
      ctx.result(
        { bundle: r.path, header: r.header, bundleBytes: r.bundleBytes, rawObjects: r.rawObjects, compressedObjects: r.compressedObjects, changes: r.changes },
        () => [
          `wrote ${r.header.kind} bundle ${r.path} (${formatBytes(r.bundleBytes)})`,
          `  from ${r.header.from ?? '(nothing: full bundle)'}`,
          `  to   ${r.header.to}${r.header.target.label ? ` (${r.header.target.label})` : ''}, sequence ${r.header.target.sequence}`,
          `  ${r.header.objects.count} objects (${formatBytes(r.header.objects.bytes)}): ${r.rawObjects} stored raw, ${r.compressedObjects} zstd-compressed`,
          ...describeChanges(r.changes),
        ],
      );
    }),
};

function headerLines(h: BundleHeader): string[] {
  return [
    `  kind      ${h.kind}`,
    `  from      ${h.from ?? '(nothing: full bundle)'}`,
    `  to        ${h.to}${h.target.label ? ` (${h.target.label})` : ''}`,
    `  sequence  ${h.target.sequence}, snapshot made ${h.target.createdAt}`,
    `  created   ${h.createdAt} by ${h.tool}`,
    `  target    ${h.target.files} files, ${formatBytes(h.target.bytes)}`,
    `  carries   ${h.objects.count} objects, ${formatBytes(h.objects.bytes)} uncompressed`,
  ];
}

const inspect: CommandModule<GlobalArgs, GlobalArgs & { file: string }> = {
  command: 'inspect <file>',
  describe: 'show what a bundle holds and changes, without reading its objects',
  builder: (y) => y.positional('file', { type: 'string', demandOption: true }).example('$0 bundle inspect /media/usb/delta.airlock', ''),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await readBundle(args.file, { stopAfterChanges: true });
      ctx.result({ bundle: args.file, header: r.header, changes: r.changes, verified: false }, () => [
        `bundle ${args.file}`,
        ...headerLines(r.header),
        ...describeChanges(r.changes),
        `(not verified: run \`airlock bundle verify ${args.file}\` to check every byte)`,
      ]);
    }),
};

const verify: CommandModule<GlobalArgs, GlobalArgs & { file: string; key?: string[] }> = {
  command: 'verify <file>',
  describe: 'check every byte of a bundle (every object against its id, then the seal, and with --key its signature) without applying it',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('key', { type: 'string', array: true, describe: 'require a valid signature by this NAME.pub (repeatable)' })
      .example('$0 bundle verify /media/usb/delta.airlock', 'right after copying it to the drive')
      .example('$0 bundle verify /media/usb/delta.airlock --key airlock-signing.pub', 'and check who signed it'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const { read: r, signatures, signers } = await verifyBundle(args.file, args.key ?? [], ctx.progress);
      ctx.result({ bundle: args.file, verified: true, header: r.header, objects: r.objects, bundleBytes: r.bundleBytes, signers, signedBy: signatures.validBy }, () => [
        `OK ${args.file}: sealed, ${r.objects} objects verified, ${formatBytes(r.bundleBytes)} read`,
        `  ${r.header.kind} bundle to ${short(r.header.to)}${r.header.target.label ? ` (${r.header.target.label})` : ''}${r.header.from ? ` from ${short(r.header.from)}` : ''}, sequence ${r.header.target.sequence}`,
        signatures.validBy.length > 0
          ? `  signature valid: key ${signatures.validBy.map((k) => k.slice(0, 16)).join(', ')}`
          : signers.length > 0
            ? `  signed by ${signers.map((k) => k.slice(0, 16)).join(', ')} (not checked: give --key NAME.pub)`
            : '  not signed',
      ]);
    }),
};

export const bundleCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'bundle <command>',
  describe: 'write, inspect and verify bundles',
  builder: (y) => y.command(create).command(inspect).command(verify).demandCommand(1),
  handler: () => undefined,
};
