import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import { largestChanges } from '../../core/packages.js';
import type { CommandModule } from '../program/types.js';
import { createBundle } from '../../bundle/createBundle.js';
import { readBundle } from '../../bundle/readBundle.js';
import { verifyBundle } from '../../bundle/verifyBundle.js';
import { Repository } from '../../repository/repository.js';
import { formatBytes, short } from '../format.js';
import { runCommand } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';
import { describeChanges, describeWrittenBundle } from '../present.js';
import { bundleFormatOption, bundleWriteOptions, listChangesOption, type ListArgs } from './options.js';
import type { BundleHeader } from '../../core/bundle/format.js';

interface CreateArgs extends GlobalArgs, ListArgs {
  repo: string;
  snapshot: string;
  'starting-snapshot'?: string;
  output: string;
  sign?: string;
  'volume-size'?: string;
  'bundle-format'?: number;
}

const create: CommandModule<CreateArgs> = {
  command: 'create',
  describe: 'write a bundle: the whole snapshot, or only what --starting-snapshot lacks',
  builder: (y) =>
    bundleFormatOption(listChangesOption(y))
      .option('repo', { type: 'string', demandOption: true, describe: 'the online airlock repository' })
      .option('snapshot', { type: 'string', default: 'latest', describe: 'the snapshot to carry (label, id, prefix or "latest")' })
      .option('starting-snapshot', { type: 'string', describe: 'what the offline side holds: a snapshot (label or id), or a receipt file written there by `airlock receipt`' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the bundle file to write' })
      .option('sign', { type: 'string', describe: 'sign the bundle with this NAME.key (see `airlock key generate`)' })
      .option('volume-size', { type: 'string', describe: 'cut the bundle into OUTPUT.001, .002, ... each at most this size: 4G, 700M, fat32, dvd' })
      .example('$0 bundle create --repo /srv/airlock --output /media/usb/full.airlock', 'first bundle: everything')
      .example('$0 bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --sign /root/airlock-signing.key --output /media/usb/delta.airlock', 'signed, for a host that trusts the key')
      .example('$0 bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --output /media/usb/delta.airlock', 'later: only what changed'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo);
      const r = await repo.locked('bundle create', () => createBundle(repo, { ...bundleWriteOptions(args, ctx.progress), snapshot: args.snapshot }));
      ctx.result(
        { bundle: r.path, volumes: r.volumes, header: r.header, bundleBytes: r.bundleBytes, rawObjects: r.rawObjects, compressedObjects: r.compressedObjects, packedObjects: r.packedObjects, packs: r.packs, changes: r.changes },
        () => describeWrittenBundle(r, `wrote ${r.header.kind} bundle ${r.path}`, args.sign !== undefined, args.list),
      );
    }),
};

function headerLines(h: BundleHeader): string[] {
  return [
    `  kind      ${h.kind}`,
    `  from      ${h.from ?? '(nothing: full bundle)'}`,
    `  to        ${namedSnapshot(h.to, h.target.label)}`,
    `  sequence  ${h.target.sequence}, snapshot made ${h.target.createdAt}`,
    `  created   ${h.createdAt} by ${h.tool}`,
    `  target    ${count(h.target.files, 'file')}, ${formatBytes(h.target.bytes)}`,
    `  carries   ${count(h.objects.count, 'object')}, ${formatBytes(h.objects.bytes)} uncompressed`,
  ];
}

const inspect: CommandModule<GlobalArgs & ListArgs & { files: string[] }> = {
  command: 'inspect <files..>',
  describe: 'show what a bundle holds and changes, without reading its objects (volumes: give them all)',
  builder: (y) => listChangesOption(y.positional('files', { type: 'string', array: true, demandOption: true })).example('$0 bundle inspect /media/usb/delta.airlock', 'what it carries and how many packages it changes, without reading its objects')
      .example('$0 bundle inspect /media/usb/delta.airlock --list', 'and every package it adds, updates or removes')
      .example('$0 bundle inspect /media/usb/full.airlock.*', 'a bundle in volumes: give them all'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const r = await readBundle(args.files, { stopAfterChanges: true });
      const name = args.files.join(' ');
      const changes = { files: r.changes.files, packages: r.packages ?? [] };
      const largest = largestChanges(changes.packages, r.tree);
      ctx.result({ bundle: name, header: r.header, changes, largest, verified: false }, () => [
        `bundle ${name}`,
        ...headerLines(r.header),
        ...describeChanges(changes, largest, args.list),
        `(not verified: run \`airlock bundle verify ${name}\` to check every byte)`,
      ]);
    }),
};

const verify: CommandModule<GlobalArgs & { files: string[]; key?: string[] }> = {
  command: 'verify <files..>',
  describe: 'check every byte of a bundle (every object against its id, then the seal, and with --key its signature) without applying it',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true })
      .option('key', { type: 'string', array: true, describe: 'require a valid signature by this NAME.pub' })
      .example('$0 bundle verify /media/usb/delta.airlock', 'right after copying it to the drive')
      .example('$0 bundle verify /media/usb/delta.airlock --key airlock-signing.pub', 'and check who signed it')
      .example('$0 bundle verify /media/usb/full.airlock.003', 'one volume, right after copying it')
      .example('$0 bundle verify /media/usb/full.airlock.*', 'all volumes: the whole bundle'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const verified = await verifyBundle(args.files, args.key ?? [], ctx.progress);
      if (verified.kind === 'volume') {
        const volume = verified.volume;
        ctx.result({ bundle: args.files[0], volume: volume.volume, volumes: volume.volumes, verified: 'volume' }, () => [
          `OK ${args.files[0]}: volume ${volume.volume} of ${volume.volumes} is intact (${formatBytes(volume.length)} of bundle ${volume.bundle.slice(0, 8)})`,
          '  the bundle as a whole (objects, seal, signature) is checked when all its volumes are given',
        ]);
        return;
      }
      const { read: r, signatures, signers } = verified;
      const file = args.files.join(' ');
      ctx.result({ bundle: file, verified: true, header: r.header, objects: r.objects, bundleBytes: r.bundleBytes, signers, signedBy: signatures.validBy }, () => [
        `OK ${file}: sealed, ${count(r.objects, 'object')} verified, ${formatBytes(r.bundleBytes)} read${r.volumes > 0 ? ` from ${count(r.volumes, 'volume')}` : ''}`,
        `  ${r.header.kind} bundle to ${namedSnapshot(short(r.header.to), r.header.target.label)}${r.header.from ? ` from ${short(r.header.from)}` : ''}, sequence ${r.header.target.sequence}`,
        signatures.validBy.length > 0
          ? `  signature valid: key ${signatures.validBy.map((k) => k.slice(0, 16)).join(', ')}`
          : signers.length > 0
            ? `  signed by ${signers.map((k) => k.slice(0, 16)).join(', ')} (not checked: give --key NAME.pub)`
            : '  not signed',
      ]);
    }),
};

export const bundleCommand: CommandModule<GlobalArgs> = {
  command: 'bundle <command>',
  describe: 'write, inspect and verify bundles',
  builder: (y) =>
    y
      .command(create)
      .command(inspect)
      .command(verify)
      .example('$0 bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --output /media/usb/delta.airlock', 'online: what the offline side lacks')
      .example('$0 bundle verify /media/usb/delta.airlock', 'check every byte of the copy on the drive')
      .example('$0 bundle inspect /media/usb/delta.airlock', 'offline: what it carries and changes, before applying'),
  handler: () => undefined,
};
