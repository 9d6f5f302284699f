import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import { encodeVerifiedTree, newestRecord, sortEntries, treeTotals, validateTree, type SnapshotRecord, type Tree, type TreeEntry } from '../core/manifest.js';
import { forEachConcurrently } from '../core/workerPool.js';
import { assertBundleOutputFree, bundleSnapshot, loadSigner, type CreateBundleResult } from '../bundle/createBundle.js';
import { resolveStartingPoint, type StartingPoint } from '../bundle/startingPoint.js';
import type { BundleFormat } from '../core/bundle/format.js';
import { sectionOwns, type Section } from '../core/layout/rspmLayout.js';
import type { Progress } from '../core/progress.js';
import { sizeGuesser } from '../core/packages.js';
import { assertLabelAvailable, assertUsableLabel, recordSnapshot } from '../repository/recordSnapshot.js';
import { Repository } from '../repository/repository.js';
import { HttpClient, type HttpOptions } from '../upstream/http.js';
import type { Collected } from './collect.js';
import type { SelectionReport } from './subsetCran.js';
import { addToCranPart } from './cranAdditions.js';
import { DownloadLedger } from './downloadLedger.js';
import { downloadAll, type StoredFile } from './downloader.js';
import { ledgerKey, type FetchItem } from './fetchItem.js';
import { publishView, repositoryView } from './publishView.js';
import { assertPathsFit } from '../deployment/buildDeployment.js';

/**
 * `get cran|bioconductor`: read the upstream's indexes, download what the repository
 * lacks, and record the result as a new snapshot whose tree is the previous one with this
 * section replaced; then show it as `<destination>/current`, and write the bundle for the
 * drive when asked. Nothing is recorded unless every file arrived and matched its
 * checksum, so a failed run leaves the last snapshot as it was (and its downloads in the
 * store, for the next run).
 */
export interface GetOptions {
  destination: string;
  label: string | null;
  dryrun: boolean;
  http: HttpOptions;
  bundle: BundleRequest | null;
  progress: Progress;
}

export interface BundleRequest {
  output: string;
  startingSnapshot: string | undefined;
  signWith?: string | undefined;
  volumeSize?: number | undefined;
  format?: BundleFormat | undefined;
  /** Written into the destination's bundles/ (no --bundle given): the directory is made when the bundle is. */
  inDestination?: boolean;
}

export interface GetResult {
  source: Record<string, unknown>;
  notes: string[];
  files: number;
  /** Set unless --dryrun. */
  snapshot?: SnapshotRecord;
  recorded?: boolean;
  view?: string;
  downloaded: { files: number; bytes: number };
  reused: { files: number; bytes: number };
  /** With --dryrun: what a real run would fetch. Sizes come from HEAD requests. */
  wouldFetch?: { files: number; bytes: number; unknownSizes: number };
  bundle?: CreateBundleResult & { output: string; startingSnapshot: string | null };
  /** Binary configurations the previous snapshot had and this one does not. */
  droppedBinaries: string[];
  /** With --file-in: the packages selected and why. */
  selection?: SelectionReport;
}

export type Collector = (http: HttpClient) => Promise<Collected>;

export async function runGet(options: GetOptions, collect: Collector): Promise<GetResult> {
  if (options.label !== null) assertUsableLabel(options.label);
  // A bundle into the destination's bundles/ may find that directory still to be made.
  if (options.bundle && (!options.bundle.inDestination || fs.existsSync(dirname(options.bundle.output)))) assertBundleOutputFree(options.bundle.output, options.bundle.volumeSize, '--bundle');
  // A key that cannot be used should fail before hours of downloading; it is read once.
  const signer = loadSigner(options.bundle?.signWith);
  const http = new HttpClient(options.http);
  try {
    const existing = await openExisting(options.destination);
    if (options.dryrun) return await dryRun(existing, options, http, collect);
    const ref = options.bundle?.startingSnapshot;
    if (existing) {
      // Everything under the lock, so `latest` means the snapshot before this run, and wrong
      // arguments fail before hours of downloading, not after.
      return await existing.locked('get', async () => {
        const start = ref === undefined ? null : await resolveStartingPoint(existing, ref);
        await assertLabelAvailable(existing, options.label);
        options.progress.phase('reading upstream indexes');
        return getInto(existing, options, http, await collect(http), start, signer);
      });
    }
    // A first download: only a receipt can be a starting point (it carries its own tree).
    const start = ref === undefined ? null : await resolveStartingPoint(null, ref, () => noSnapshotsYet(options.destination, ref));
    options.progress.phase('reading upstream indexes');
    const collected = await collect(http);
    // Created only now, so a run that fails on its first request leaves no empty repository behind.
    const repo = await Repository.open(options.destination, { create: true });
    return await repo.locked('get', async () => {
      await assertLabelAvailable(repo, options.label);
      return getInto(repo, options, http, collected, start, signer);
    });
  } finally {
    await http.close();
  }
}

async function getInto(repo: Repository, options: GetOptions, http: HttpClient, collected: Collected, start: StartingPoint | null, signer: KeyObject | undefined): Promise<GetResult> {
  const ledger = DownloadLedger.load(repo);
  const items = uniqueByPath(collected.items);
  // The small files go in first: the download's final checkpoint then makes everything durable in one flush.
  const parent = await latestTree(repo);
  const added = collected.cranAdditions ? await addToCranPart(repo, parent?.tree ?? null, collected.cranAdditions) : null;
  const fixed = new Map<string, StoredFile>();
  for (const file of [...collected.files, ...(added?.files ?? [])]) fixed.set(file.path, await repo.objects.addBuffer(file.data, file.path));
  // Before hours of downloading: the paths the new tree adds must fit below the repository's view
  // (what the last snapshot holds there already fits).
  assertPathsFit(repositoryView(repo), [...items, ...collected.files, ...(added?.files ?? [])].map((f) => f.path));
  const summary = await downloadAll(repo, ledger, http, items, { concurrency: options.http.connections, progress: options.progress, guessSize: sizeGuesser(parent?.tree ?? null) });
  const stored = new Map([...summary.stored, ...fixed]);
  const tree = composeTree(parent?.tree ?? null, collected.section, stored, added?.drop);
  const verified = encodeVerifiedTree(tree);
  const id = await repo.snapshots.saveTree(verified);
  // From a receipt, count on from what the offline side has applied: a repository started
  // afresh would otherwise begin again at 1, and the offline side refuse that as a downgrade.
  const sequenceAbove = start?.receipt ? Math.max(start.receipt.highestSequence, start.base.sequence) : 0;
  const { record, recorded } = await recordSnapshot(repo, { kind: 'next', id, label: options.label, totals: treeTotals(tree), sequenceAbove });
  const view = await publishView(repo, record.id, tree, options.progress);
  const result: GetResult = {
    source: collected.source,
    notes: collected.notes,
    ...(collected.selection ? { selection: collected.selection } : {}),
    files: tree.entries.length,
    snapshot: record,
    recorded,
    view,
    downloaded: { files: summary.downloadedFiles, bytes: summary.downloadedBytes },
    reused: { files: summary.reusedFiles, bytes: summary.reusedBytes },
    droppedBinaries: droppedBinaryConfigs(parent?.tree ?? null, tree),
  };
  if (options.bundle) {
    if (options.bundle.inDestination) await fsp.mkdir(dirname(options.bundle.output), { recursive: true });
    const bundle = await bundleSnapshot(repo, { record, verified }, start, { ...options.bundle, progress: options.progress }, signer);
    result.bundle = { ...bundle, output: options.bundle.output, startingSnapshot: start?.base.id ?? null };
  }
  return result;
}

async function dryRun(existing: Repository | null, options: GetOptions, http: HttpClient, collect: Collector): Promise<GetResult> {
  const ledger = existing ? DownloadLedger.load(existing) : undefined;
  options.progress.phase('reading upstream indexes');
  const collected = await collect(http);
  const items = uniqueByPath(collected.items);
  // Said before anything is fetched: binaries the last snapshot has that this run would drop.
  const previous = existing ? await latestTree(existing) : null;
  const droppedBinaries = collected.section.kind === 'cran' ? droppedBinaryConfigs(previous?.tree ?? null, { entries: [...items, ...collected.files].map((f) => ({ path: f.path, id: '', size: 0, mode: 0o644 })) }) : [];
  for (const name of droppedBinaries) options.progress.warn(`binaries bin/${name}/ are in the last snapshot and not requested this time: a real run would drop them (give the same binary flags as last time to keep them)`);
  const missing = items.filter((item) => !ledger?.lookup(ledgerKey(item.expected)));
  const reused = items.length - missing.length;
  let bytes = 0;
  let unknownSizes = 0;
  options.progress.phase('asking sizes', { files: missing.length });
  await forEachConcurrently(missing, options.http.connections, async (item: FetchItem) => {
    const length = await http.contentLength({ url: item.url, userAgent: item.userAgent });
    if (length === null) unknownSizes++;
    else bytes += length;
    options.progress.advance(1, 0);
  });
  return {
    source: collected.source,
    notes: collected.notes,
    ...(collected.selection ? { selection: collected.selection } : {}),
    files: items.length + collected.files.length,
    downloaded: { files: 0, bytes: 0 },
    reused: { files: reused, bytes: 0 },
    wouldFetch: { files: missing.length, bytes, unknownSizes },
    droppedBinaries,
  };
}

/**
 * The destination's repository, or null when the directory is absent or empty (a first
 * download, or a dry run, which changes nothing). Any other directory is refused.
 */
async function openExisting(destination: string): Promise<Repository | null> {
  try {
    return await Repository.open(destination);
  } catch (err) {
    if (!(isAirlockError(err) && err.code === 'NOT_A_REPOSITORY')) throw err;
  }
  if (fs.existsSync(destination) && fs.statSync(destination).isDirectory() && fs.readdirSync(destination).length > 0) {
    return Repository.open(destination, { create: true }); // refuses: not empty and not a repository
  }
  return null;
}

function noSnapshotsYet(destination: string, ref: string): AirlockError {
  return new AirlockError('NOT_FOUND', `--starting-snapshot ${ref}: ${destination} has no snapshots yet`, {
    where: destination,
    hint: 'the first download has nothing to start from: drop --starting-snapshot to write a full bundle',
  });
}

async function latestTree(repo: Repository): Promise<{ record: SnapshotRecord; tree: Tree } | null> {
  const record = newestRecord(await repo.snapshots.records());
  if (record === undefined) return null;
  return { record, tree: await repo.snapshots.loadTree(record.id) };
}

/** The previous tree without the section this download owns, plus everything it brought. */
/**
 * The previous tree with the section replaced. Files stored outside the section (the CRAN
 * packages a Bioconductor selection adds) replace the previous ones at their paths, and `drop`
 * removes what they supersede.
 */
export function composeTree(parent: Tree | null, section: Section, stored: Map<string, StoredFile>, drop: ReadonlySet<string> = new Set()): Tree {
  const entries: TreeEntry[] = (parent?.entries ?? []).filter((e) => !sectionOwns(section, e.path) && !stored.has(e.path) && !drop.has(e.path));
  for (const [path, file] of stored) entries.push({ path, id: file.id, size: file.size, mode: 0o644 });
  sortEntries(entries);
  validateTree(entries);
  return { entries };
}

/** Two indexes may list the same layout path (never with different checksums in a sane source). */
function uniqueByPath(items: FetchItem[]): FetchItem[] {
  const byPath = new Map<string, FetchItem>();
  for (const item of items) {
    const seen = byPath.get(item.path);
    if (seen && ledgerKey(seen.expected) !== ledgerKey(item.expected)) {
      throw new AirlockError('UPSTREAM_INDEX_INVALID', `two indexes list ${item.path} with different checksums (${seen.url} and ${item.url})`, {
        where: item.url,
        hint: 'the source is inconsistent; run again later or use another mirror',
      });
    }
    byPath.set(item.path, item);
  }
  return [...byPath.values()];
}

function binaryConfigs(tree: Tree | null): Set<string> {
  const names = new Set<string>();
  for (const e of tree?.entries ?? []) {
    const match = /^bin\/([^/]+)\//.exec(e.path);
    if (match) names.add(match[1]!);
  }
  return names;
}

function droppedBinaryConfigs(before: Tree | null, after: Tree): string[] {
  const now = binaryConfigs(after);
  return [...binaryConfigs(before)].filter((name) => !now.has(name)).sort();
}

