import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { Argv, CommandModule } from '../program/types.js';
import { diffSnapshots } from '../../repository/diffSnapshots.js';
import { createSnapshot } from '../../repository/createSnapshot.js';
import { Repository } from '../../repository/repository.js';
import { formatBytes, short } from '../format.js';
import { runCommand } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';
import { listChangesOption, type ListArgs } from './options.js';
import { describeDiff } from '../present.js';

interface RepoArgs extends GlobalArgs {
  repo: string;
}

const repoOption = (y: Argv) => y.option('repo', { type: 'string', demandOption: true, describe: 'the airlock repository directory' });

const create: CommandModule<RepoArgs & { from: string; label?: string }> = {
  command: 'create',
  describe: 'record a directory tree as a snapshot (only changed files are read again)',
  builder: (y) =>
    repoOption(y)
      .option('from', { type: 'string', demandOption: true, describe: 'the directory to record, e.g. the output of rspm-offline-downloader' })
      .option('label', { type: 'string', describe: 'a name for the snapshot, e.g. the upstream date 2026-11-24' })
      .example('$0 snapshot create --repo /srv/airlock --from /srv/rspm-data --label 2026-11-24', 'record today\'s download'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo, { create: true });
      const result = await repo.locked('snapshot create', () => createSnapshot(repo, { from: args.from, label: args.label ?? null, progress: ctx.progress }));
      const r = result.record;
      ctx.result({ snapshot: r, recorded: result.recorded, hashedFiles: result.hashedFiles, hashedBytes: result.hashedBytes, cachedFiles: result.cachedFiles }, () => [
        `${result.recorded ? 'recorded' : 'unchanged:'} snapshot ${namedSnapshot(r.id, r.label)}, sequence ${r.sequence}`,
        `  ${count(r.files, 'file')}, ${formatBytes(r.bytes)}; read ${count(result.hashedFiles, 'file')} (${formatBytes(result.hashedBytes)}), ${result.cachedFiles} unchanged since the last scan`,
      ]);
    }),
};

const list: CommandModule<RepoArgs> = {
  command: 'list',
  describe: 'list the snapshots of a repository',
  builder: (y) => repoOption(y).example('$0 snapshot list --repo /srv/airlock', 'every snapshot: sequence, id, date, files, size, label'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo);
      const records = await repo.snapshots.records();
      ctx.result({ snapshots: records }, () =>
        records.length === 0
          ? ['no snapshots yet']
          : [
              `${'seq'.padStart(4)}  ${'id'.padEnd(12)}  ${'recorded'.padEnd(24)}  ${'files'.padStart(14)}  ${'size'.padStart(10)}  label`,
              ...records.map((r) => `${String(r.sequence).padStart(4)}  ${short(r.id)}  ${r.createdAt}  ${String(r.files).padStart(8)} files  ${formatBytes(r.bytes).padStart(10)}  ${r.label ?? ''}`),
            ],
      );
    }),
};

const show: CommandModule<RepoArgs & { snapshot: string; files: boolean }> = {
  command: 'show <snapshot>',
  describe: 'describe one snapshot (by label, id, id prefix, sequence number or "latest")',
  builder: (y) =>
    repoOption(y)
      .positional('snapshot', { type: 'string', demandOption: true })
      .option('files', { type: 'boolean', default: false, describe: 'list every file' })
      .example('$0 snapshot show --repo /srv/airlock 2026-11-24', 'one snapshot, by its label')
      .example('$0 snapshot show --repo /srv/airlock latest --files', 'the newest one, with every file'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo);
      const record = await repo.snapshots.resolve(args.snapshot);
      const tree = await repo.snapshots.loadTree(record.id);
      ctx.result({ snapshot: record, ...(args.files ? { files: tree.entries } : {}) }, () => [
        `snapshot ${record.id}`,
        `  label     ${record.label ?? '-'}`,
        `  sequence  ${record.sequence}`,
        `  parent    ${record.parent ?? '-'}`,
        `  created   ${record.createdAt}`,
        `  files     ${record.files} (${formatBytes(record.bytes)})`,
        ...(args.files ? tree.entries.map((e) => `  ${e.id.slice(0, 12)} ${e.mode.toString(8)} ${String(e.size).padStart(12)} ${e.path}`) : []),
      ]);
    }),
};

const diff: CommandModule<RepoArgs & ListArgs & { from: string; to: string }> = {
  command: 'diff <from> <to>',
  describe: 'files and packages added, changed and removed between two snapshots',
  builder: (y) =>
    listChangesOption(repoOption(y))
      .positional('from', { type: 'string', demandOption: true })
      .positional('to', { type: 'string', demandOption: true })
      .example('$0 snapshot diff --repo /srv/airlock 2026-11-01 latest', 'what changed this month, in counts per repository')
      .example('$0 snapshot diff --repo /srv/airlock 2026-11-01 latest --list', 'every file and package'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const repo = await Repository.open(args.repo);
      const d = await diffSnapshots(repo, args.from, args.to);
      ctx.result(
        {
          from: d.from.id,
          to: d.to.id,
          files: { added: d.files.added.map((e) => e.path), changed: d.files.changed.map((c) => c.after.path), removed: d.files.removed.map((e) => e.path) },
          packages: d.packages,
          largest: d.largest,
        },
        () => [`from ${namedSnapshot(d.from.id, d.from.label)}`, `to   ${namedSnapshot(d.to.id, d.to.label)}`, ...describeDiff(d.files, d.packages, d.largest, args.list)],
      );
    }),
};

export const snapshotCommand: CommandModule<GlobalArgs> = {
  command: 'snapshot <command>',
  describe: 'record and compare snapshots in a repository',
  builder: (y) =>
    y
      .command(create)
      .command(list)
      .command(show)
      .command(diff)
      .example('$0 snapshot create --repo /srv/airlock --from /srv/rspm-data --label 2026-11-24', 'record a tree downloaded some other way')
      .example('$0 snapshot list --repo /srv/airlock', 'every snapshot, oldest first')
      .example('$0 snapshot diff --repo /srv/airlock 2026-11-01 latest', 'which packages changed'),
  handler: () => undefined,
};
