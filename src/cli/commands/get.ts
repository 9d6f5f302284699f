import { count } from '../../core/units.js';
import { namedSnapshot } from '../../core/objectId.js';
import type { CommandModule } from '../program/types.js';
import type { Collector, GetResult } from '../../online/get.js';
import type { Wanted } from '../../online/wantedFiles.js';
import { DEFAULT_ARCHITECTURES, defaultBaseUrl } from '../../upstream/sources.js';
import type { SourceTypeChoice } from '../../upstream/detectSource.js';
import { binaryConfigName, type BinaryTarget, type DesktopTarget } from '../../core/layout/rspmLayout.js';
import { TOOL_NAME } from '../../version.js';
import { retryReport } from '../retryReport.js';
import { runCommand, type CliContext } from '../context.js';
import type { GlobalArgs } from '../globalOptions.js';
import { formatBytes, short } from '../format.js';
import { bundleRequest, downloadOptions, httpOptionsFrom, listOption, usage, type DownloadArgs } from './getOptions.js';

interface CranArgs extends DownloadArgs {
  snapshot: string;
  'source-type': SourceTypeChoice;
  'include-binaries': boolean;
  'r-versions'?: string[];
  distributions?: string[];
  architectures?: string[];
  'file-in'?: string[];
  suggests: boolean;
  'include-archive': boolean;
}

interface BiocArgs extends DownloadArgs {
  versions: string[];
  'file-in'?: string[];
  suggests: boolean;
  'cran-url'?: string;
}

const USER_AGENT = TOOL_NAME.replace(' ', '/');
// The download side (undici, yaml, the online modules) is imported when a get runs, so the
// offline commands do not pay for loading it at every start-up.

const cran: CommandModule<CranArgs> = {
  command: 'cran',
  describe: 'download CRAN (source packages, optionally Linux binaries) and sysreqs into a new snapshot',
  builder: (y) =>
    downloadOptions(y)
      .option('snapshot', { type: 'string', default: 'latest', describe: 'the upstream snapshot: a date (2026-11-24) or latest' })
      .option('source-type', { choices: ['auto', 'cran-mirror', 'package-manager'] as const, default: 'auto' as const, describe: 'what --base-url is; auto asks it' })
      .option('include-binaries', { type: 'boolean', default: false, describe: 'also download Linux binaries (needs --r-versions and --distributions)' })
      .option('r-versions', { type: 'string', array: true, describe: 'R versions for binaries, e.g. 4.4,4.5' })
      .option('distributions', { alias: 'linux-distros', type: 'string', array: true, describe: 'distributions for binaries, e.g. jammy,rhel9; windows and macos for CRAN\'s Windows and macOS binaries (--linux-distros, as older guides of Posit\'s downloader write it, is the same)' })
      .option('architectures', { type: 'string', array: true, describe: `architectures for binaries (default: ${DEFAULT_ARCHITECTURES.join(',')}; arm64 is aarch64)` })
      .option('file-in', { type: 'string', array: true, describe: 'download only the packages this file names, and everything they need: a package list (one per line), an renv.lock or a DESCRIPTION' })
      .option('include-archive', { type: 'boolean', default: false, describe: 'also every earlier version the upstream lists in src/contrib/Meta/archive.rds (CRAN mirrors; with --file-in, of the selected packages), for remotes::install_version()' })
      .option('suggests', { type: 'boolean', default: false, describe: 'with --file-in: also the Suggests of the listed packages, as install.packages(dependencies = TRUE)' })
      .example('$0 get cran --destination /srv/airlock', 'the newest CRAN, with sysreqs')
      .example('$0 get cran --destination /srv/airlock --snapshot 2026-11-24 --include-binaries --r-versions=4.4,4.5 --distributions=jammy,rhel9 --architectures=x86_64', 'a dated snapshot with binaries for two R versions on two distributions')
      .example('$0 get cran --destination /srv/airlock --label 2026-11-24 --starting-snapshot 2026-11-01 --bundle /media/usb/cran-2026-11-24.airlock', 'download, then write the delta for the drive in one step')
      .example('$0 get cran --destination /srv/airlock --dryrun', 'how much a run would fetch')
      .example('$0 get cran --destination /srv/airlock --include-binaries --r-versions=4.4 --distributions=windows,macos --architectures=x86_64,arm64', 'Windows and macOS binaries, laid out as CRAN does, for R on desktops inside the gap')
      .example('$0 get cran --destination /srv/airlock --include-binaries --r-versions=4.4 --linux-distros=jammy --architectures=arm64 --rspm-version 2024.11.0', "Posit's downloader's spellings: --linux-distros, arm64 (= aarch64), --rspm-version (recorded only)")
      .example('$0 get cran --destination /srv/airlock --base-url https://cran.mirror.example/ --sysreqs-url none', 'from a site mirror with no route to GitHub: no system requirements')
      .example('$0 get cran --destination /srv/airlock --base-url https://cran.mirror.example/ --include-archive', 'CRAN with every earlier version (tens of GB more) for remotes::install_version()')
      .example('$0 get cran --destination /srv/airlock --file-in packages.txt', 'only the packages listed (one per line) and their dependencies')
      .example('$0 get cran --destination /srv/airlock --file-in project/renv.lock --file-in pkg/DESCRIPTION --suggests', 'what a lockfile and a package need, with the Suggests of the listed packages'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const binaries = binaryTargets(args);
      const wanted = await wantedFrom(args);
      const { collectCran } = await import('../../online/collectCran.js');
      const collect: Collector = (http) =>
        collectCran(http, {
          baseUrl: args['base-url'] ?? defaultBaseUrl('cran', process.env),
          sourceType: args['source-type'],
          snapshot: args.snapshot,
          binaries: binaries.linux,
          desktop: binaries.desktop,
          sysreqsUrl: sysreqsUrl(args),
          userAgent: USER_AGENT,
          wanted,
          rspmVersion: args['rspm-version'] ?? null,
          includeArchive: args['include-archive'],
        });
      await getAndReport(ctx, args, collect);
    }),
};

const bioconductor: CommandModule<BiocArgs> = {
  command: 'bioconductor',
  describe: 'download Bioconductor versions (each in its own directory) and sysreqs into a new snapshot',
  builder: (y) =>
    downloadOptions(y)
      .option('versions', { type: 'string', array: true, demandOption: true, describe: 'Bioconductor versions: release, devel, or numbers like 3.19 (comma separated)' })
      .option('file-in', { type: 'string', array: true, describe: 'download only the packages this file names and everything they need (their CRAN dependencies go into the CRAN part): a package list, an renv.lock or a DESCRIPTION' })
      .option('suggests', { type: 'boolean', default: false, describe: 'with --file-in: also the Suggests of the listed packages' })
      .option('cran-url', { type: 'string', describe: 'with --file-in: the CRAN the selection takes CRAN dependencies from (default: as get cran)' })
      .example('$0 get bioconductor --destination /srv/airlock --versions=release --file-in bioc-packages.txt', 'only the listed Bioconductor packages, their dependencies, and the CRAN packages they need')
      .example('$0 get bioconductor --destination /srv/airlock --versions=3.20 --file-in renv.lock --cran-url https://cran.mirror.example/', 'a lockfile, with CRAN dependencies taken from a mirror')
      .example('$0 get bioconductor --destination /srv/airlock --versions=release,devel,3.19', 'the current release and devel, and 3.19'),
  handler: (args) =>
    runCommand(args, async (ctx) => {
      const versions = listOption('--versions', args.versions, /^(release|devel|\d+\.\d+)$/, 'release,devel,3.19');
      if (versions.length === 0) usage('--versions names no version', 'for example --versions=release,devel');
      const wanted = await wantedFrom(args);
      const { collectBioconductor } = await import('../../online/collectBioconductor.js');
      const collect: Collector = (http) =>
        collectBioconductor(http, {
          baseUrl: args['base-url'] ?? defaultBaseUrl('bioconductor', process.env),
          versions,
          sysreqsUrl: sysreqsUrl(args),
          userAgent: USER_AGENT,
          rspmVersion: args['rspm-version'] ?? null,
          wanted,
          cranUrl: args['cran-url'] ?? defaultBaseUrl('cran', process.env),
        });
      await getAndReport(ctx, args, collect);
    }),
};

/** What --file-in asks for, read before anything is fetched (a wrong file fails in a second); null without it. */
async function wantedFrom(args: { 'file-in'?: string[]; suggests: boolean }): Promise<Wanted | null> {
  if (args['file-in'] === undefined) {
    if (args.suggests) usage('--suggests only makes sense with --file-in', 'add --file-in FILE, the packages whose Suggests you want');
    return null;
  }
  const { readWanted } = await import('../../online/wantedFiles.js');
  return readWanted(args['file-in'], args.suggests);
}

/** `--sysreqs-url none` skips the system requirements (a site mirror with no route to GitHub). */
function sysreqsUrl(args: DownloadArgs): string | null {
  const given = args['sysreqs-url'];
  if (given !== undefined && given.trim().toLowerCase() === 'none') return null;
  return given ?? defaultBaseUrl('sysreqs', process.env);
}

/** `windows` and `macos` among --distributions: CRAN's Windows and macOS binaries, not Linux ones. */
const DESKTOP = new Set(['windows', 'macos']);

function binaryTargets(args: CranArgs): { linux: BinaryTarget[]; desktop: DesktopTarget[] } {
  const rVersions = listOption('--r-versions', args['r-versions'], /^\d+\.\d+$/, '4.4,4.5');
  const distributions = listOption('--distributions', args.distributions, /^[a-z0-9][a-z0-9._-]*$/, 'jammy,rhel9');
  const architectures = listOption('--architectures', args.architectures, /^[a-z0-9_]+$/, 'x86_64');
  if (!args['include-binaries']) {
    if (rVersions.length + distributions.length + architectures.length > 0) usage('--r-versions, --distributions and --architectures choose binaries', 'add --include-binaries, or drop them');
    return { linux: [], desktop: [] };
  }
  if (rVersions.length === 0 || distributions.length === 0) usage('--include-binaries needs --r-versions and --distributions', 'for example --include-binaries --r-versions=4.4,4.5 --distributions=jammy,rhel9');
  // Posit writes arm64 where R says aarch64: one architecture, one directory name.
  const archs = architectures.length > 0 ? [...new Set(architectures.map((a) => (a === 'arm64' ? 'aarch64' : a)))] : [...DEFAULT_ARCHITECTURES];
  const linux = distributions.filter((d) => !DESKTOP.has(d));
  return {
    linux: linux.flatMap((distribution) => rVersions.flatMap((rVersion) => archs.map((architecture) => ({ rVersion, distribution, architecture })))),
    desktop: [
      // Windows binaries are x86_64 only; macOS has one build per architecture.
      ...(distributions.includes('windows') ? rVersions.map((rVersion): DesktopTarget => ({ os: 'windows', rVersion, architecture: 'x86_64' })) : []),
      ...(distributions.includes('macos') ? rVersions.flatMap((rVersion) => archs.map((architecture): DesktopTarget => ({ os: 'macos', rVersion, architecture }))) : []),
    ],
  };
}

async function getAndReport(ctx: CliContext, args: DownloadArgs, collect: Collector): Promise<void> {
  const log = args.verbose ? (line: string) => process.stderr.write(`airlock: ${line}\n`) : undefined;
  const { runGet } = await import('../../online/get.js');
  // Retries are said (summed up) even without --verbose, which lists each one.
  const retries = retryReport((line) => ctx.progress.warn(line));
  let result: GetResult;
  try {
    result = await runGet(
      {
        destination: args.destination,
        label: args.label ?? null,
        dryrun: args.dryrun,
        http: httpOptionsFrom(args, log, (url, why) => retries.onRetry(url, why)),
        bundle: bundleRequest(args),
        progress: ctx.progress,
      },
      collect,
    );
  } finally {
    retries.flush();
  }
  // A dry run has said so already, before it asked for any size.
  if (!result.wouldFetch) for (const name of result.droppedBinaries) ctx.progress.warn(`binaries bin/${name}/ were in the previous snapshot and are not in this one (not requested this time); roll back or request them again to keep them`);
  ctx.result({ ...result }, () => describeGet(result, args.verbose));
}

function describeGet(r: GetResult, verbose: boolean): string[] {
  const lines: string[] = [];
  if (r.selection) {
    const listed = r.selection.packages.filter((p) => p.reason === 'listed').length;
    const archived = r.selection.packages.filter((p) => p.archived).length;
    const files = r.selection.files.map((f) => `${f.path} (${f.kind}, ${count(f.packages, 'package')})`).join(', ');
    lines.push(`selected ${count(r.selection.packages.length, 'package')} from ${files}: ${listed} listed, ${r.selection.packages.length - listed} needed by them${archived > 0 ? `; ${archived} pinned to an archived version` : ''}`);
    if (verbose) for (const p of r.selection.packages) lines.push(`  ${p.name} ${p.version}${p.archived ? ' (archive)' : ''}: ${p.reason}`);
  }
  if (r.wouldFetch) {
    lines.push(`dry run: would fetch ${r.wouldFetch.files} of the ${count(r.files, 'file')} this download lists (${formatBytes(r.wouldFetch.bytes)}${r.wouldFetch.unknownSizes ? `, plus ${r.wouldFetch.unknownSizes} of unknown size` : ''}); ${r.reused.files} already in the repository; nothing was saved`);
  } else if (r.snapshot) {
    const s = r.snapshot;
    lines.push(`${r.recorded ? 'recorded' : 'unchanged:'} snapshot ${namedSnapshot(s.id, s.label)}, sequence ${s.sequence}: ${count(s.files, 'file')}, ${formatBytes(s.bytes)}`);
    lines.push(`  downloaded ${count(r.downloaded.files, 'file')} (${formatBytes(r.downloaded.bytes)}); ${r.reused.files} already in the repository (${formatBytes(r.reused.bytes)})`);
    lines.push(`  the tree is at ${r.view}`);
  }
  lines.push(`  source: ${describeSource(r.source)}`);
  if (r.bundle) {
    const b = r.bundle;
    lines.push(`  wrote ${b.output}: ${b.startingSnapshot ? `delta from ${short(b.startingSnapshot)}` : 'full bundle'}, ${count(b.header.objects.count, 'object')}, ${formatBytes(b.bundleBytes)}`);
  }
  for (const note of r.notes) lines.push(`  note: ${note}`);
  return lines;
}

function describeSource(source: Record<string, unknown>): string {
  return Object.entries(source)
    .map(([key, value]) => `${key} ${describeValue(value)}`)
    .join(', ');
}

/** Binary targets and Bioconductor versions read better as names than as JSON. */
function describeValue(value: unknown): string {
  if (!Array.isArray(value)) return typeof value === 'string' ? value : JSON.stringify(value);
  if (value.length === 0) return 'none';
  return value
    .map((v: unknown) =>
      typeof v === 'string' ? v : typeof v !== 'object' || v === null ? String(v) : 'distribution' in v ? binaryConfigName(v as unknown as BinaryTarget) : 'version' in v ? `${String(v.version)}${'alias' in v && v.alias ? ` (${String(v.alias)})` : ''}` : JSON.stringify(v),
    )
    .join(' ');
}

export const getCommand: CommandModule<GlobalArgs> = {
  command: 'get <source>',
  describe: 'download from upstream into a repository snapshot (as rspm-offline-downloader get)',
  builder: (y) =>
    y
      .command(cran)
      .command(bioconductor)
      .example('$0 get cran --destination /srv/airlock --include-binaries --r-versions=4.4,4.5 --distributions=jammy,rhel9', 'CRAN with Linux binaries, and sysreqs')
      .example('$0 get bioconductor --destination /srv/airlock --versions=release,devel', 'Bioconductor release and devel'),
  handler: () => undefined,
};
