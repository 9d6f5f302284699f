import * as fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { archiveRdsValue, buildCranArchive, sourceArchivesOf, type ArchivedVersion, type SourceArchive } from '../core/cranArchive.js';
import { newestRecord, type SnapshotId, type Tree, type TreeEntry } from '../core/manifest.js';
import { hashBytes, isObjectId } from '../core/objectId.js';
import { BIOC_ROOT, CRAN_CONTRIB } from '../core/layout/rspmLayout.js';
import { diffPackages, type PackageChange } from '../core/packages.js';
import { diffTrees } from '../core/diff.js';
import { serializeR } from '../core/rds.js';
import { listingStands, type Listing } from '../core/serve/directoryListing.js';
import { keptSnapshot, orderKept, type KeptSnapshot } from '../core/serve/snapshotChoice.js';
import { DataDir } from '../deployment/dataDir.js';
import { Repository } from '../repository/repository.js';

/** What the page says of one kept snapshot. */
export interface SnapshotSummary {
  kept: KeptSnapshot;
  cranPackages: number;
  changes: PackageChange[] | null;
  /** Distributions it has Linux binaries for. */
  distributions: string[];
  biocVersions: string[];
}

/** A snapshot's tree as serve looks things up in it. */
export interface TreeIndex {
  entries: Map<string, TreeEntry>;
  /** Binary configurations (`4.4-jammy`) the tree has. */
  binaryConfigs: Set<string>;
  tree: Tree;
}

/** CRAN's archive as of one snapshot. */
export interface CranArchive {
  /** `<pkg>/<pkg>_<ver>.tar.gz` -> the archived version. */
  files: Map<string, ArchivedVersion>;
  /** `Meta/archive.rds`, gzipped as saveRDS writes it, and its ETag. */
  rds: Buffer;
  rdsId: string;
}

/** Trees decoded and kept in memory at once: a CRAN tree with binaries is tens of MB decoded. */
const TREE_CACHE = 3;

/**
 * What `airlock serve` reads of a data dir, read-only and without its lock: the snapshot the
 * data dir shows (its symlink, read on every request, so `latest` follows an apply or a
 * rollback at once), the kept deployments and their records (read again whenever the
 * deployments directory or the snapshot index changes), trees (verified against their ids,
 * a few cached), and CRAN's archive per snapshot. Files are served from the object store by
 * id: a kept snapshot's objects stay until gc removes the snapshot, and a download already
 * open keeps its file even then.
 */
export class ServedRepository {
  private keptCache: { stamp: string; kept: KeptSnapshot[] } | undefined;
  private deployments: Listing<SnapshotId[]> | undefined;
  private readonly trees = new Map<SnapshotId, Promise<TreeIndex>>();
  private lastTree: { id: SnapshotId; index: TreeIndex } | undefined;
  private readonly sources = new Map<SnapshotId, { current: SourceArchive[]; archived: SourceArchive[] }>();
  private readonly archives = new Map<string, Promise<CranArchive>>();
  private summaryCache: { key: string; summaries: Promise<SnapshotSummary[]> } | undefined;

  private constructor(
    readonly dataDir: DataDir,
    readonly repo: Repository,
  ) {}

  static async open(path: string): Promise<ServedRepository> {
    const dataDir = new DataDir(path);
    dataDir.assertManaged();
    return new ServedRepository(dataDir, await Repository.open(dataDir.stateDir));
  }

  /** The snapshot the data dir shows now. */
  current(): SnapshotId | undefined {
    return this.dataDir.currentDeployment();
  }

  /** The kept snapshots, if nothing changed since they were last read (else undefined: then `kept`). */
  keptNow(): KeptSnapshot[] | undefined {
    const ids = this.deploymentIds();
    return this.keptCache?.stamp === keptStamp(ids, this.repo.layout.indexPath) ? this.keptCache.kept : undefined;
  }

  /** The kept snapshots (complete deployments), oldest first. */
  async kept(): Promise<KeptSnapshot[]> {
    const ids = this.deploymentIds();
    const stamp = keptStamp(ids, this.repo.layout.indexPath);
    if (this.keptCache?.stamp === stamp) return this.keptCache.kept;
    this.repo.snapshots.reload();
    const records = await this.repo.snapshots.records();
    // A deployment with no record yet is an apply between its build and its record: not served
    // until it counts (the live one always is).
    const current = this.dataDir.currentDeployment();
    const recorded = new Set(records.map((r) => r.id));
    const kept = orderKept(ids.filter((id) => recorded.has(id) || id === current).map((id) => keptSnapshot(id, newestRecord(records.filter((r) => r.id === id)) ?? null)));
    this.keptCache = { stamp, kept };
    for (const id of [...this.sources.keys()]) if (!ids.includes(id)) this.sources.delete(id);
    return kept;
  }

  /**
   * The complete deployments: read again only when a `stat` of their directory cannot vouch for
   * the last listing (listingStands). Reading the directory on every request was a quarter of
   * serve's CPU for small files; a stat costs a fraction of it.
   */
  private deploymentIds(): SnapshotId[] {
    const dir = this.dataDir.deploymentsDir;
    let stamp: fs.Stats | undefined;
    try {
      stamp = fs.statSync(dir, { throwIfNoEntry: false });
    } catch {
      stamp = undefined; // not readable: listed the long way (nothing, then), never cached
    }
    if (stamp === undefined) return listDeployments(dir);
    if (listingStands(this.deployments, stamp)) return this.deployments.entries;
    const readAtMs = Date.now();
    const entries = listDeployments(dir);
    this.deployments = { stamp, readAtMs, entries };
    return entries;
  }

  /**
   * The tree of `id` if it is loaded and was the last one asked for, else undefined (then
   * `tree`): most requests name the snapshot the one before did, and need no wait for it.
   */
  treeNow(id: SnapshotId): TreeIndex | undefined {
    return this.lastTree?.id === id ? this.lastTree.index : undefined;
  }

  async tree(id: SnapshotId): Promise<TreeIndex> {
    let pending = this.trees.get(id);
    if (pending === undefined) {
      pending = this.repo.snapshots.loadTree(id).then(indexTree);
      pending.catch(() => this.trees.delete(id));
      this.trees.set(id, pending);
      while (this.trees.size > TREE_CACHE) {
        const evicted = this.trees.keys().next().value!;
        this.trees.delete(evicted);
        if (this.lastTree?.id === evicted) this.lastTree = undefined; // no tree past the cache's limit
      }
    } else {
      // Most recently used last.
      this.trees.delete(id);
      this.trees.set(id, pending);
    }
    const index = await pending;
    // Remembered for treeNow while it is cached (not if it was evicted while it loaded).
    if (this.trees.get(id) === pending) this.lastTree = { id, index };
    return index;
  }

  /** CRAN's archive as of kept snapshot `id`: what the kept snapshots up to it held, less what it holds now. */
  async archive(id: SnapshotId): Promise<CranArchive> {
    const kept = await this.kept();
    const upTo = kept.slice(0, kept.findIndex((k) => k.id === id) + 1);
    const key = upTo.map((k) => k.id).join(',');
    let pending = this.archives.get(key);
    if (pending === undefined) {
      pending = this.buildArchive(upTo);
      pending.catch(() => this.archives.delete(key));
      this.archives.set(key, pending);
      while (this.archives.size > TREE_CACHE) this.archives.delete(this.archives.keys().next().value!);
    }
    return pending;
  }

  /**
   * What the page shows of each kept snapshot (oldest first): its CRAN source packages and
   * their changes against the kept snapshot before it. Computed once per kept set.
   */
  async summaries(): Promise<SnapshotSummary[]> {
    const kept = await this.kept();
    const key = kept.map((k) => k.id).join(',');
    if (this.summaryCache?.key !== key) {
      const summaries = this.buildSummaries(kept);
      summaries.catch(() => (this.summaryCache = undefined));
      this.summaryCache = { key, summaries };
    }
    return this.summaryCache.summaries;
  }

  private async buildSummaries(kept: KeptSnapshot[]): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    let previous: Tree | null = null;
    for (const k of kept) {
      const index = await this.tree(k.id);
      const cran: Tree = { entries: index.tree.entries.filter((e) => e.path.startsWith(`${CRAN_CONTRIB}/`)) };
      const biocVersions = [...new Set(index.tree.entries.filter((e) => e.path.startsWith(`${BIOC_ROOT}/`)).map((e) => e.path.split('/')[2]!).filter((v) => /^\d/.test(v)))].sort();
      out.push({
        kept: k,
        cranPackages: sourceArchivesOf(cran).current.length,
        changes: previous === null ? null : diffPackages(cran, diffTrees(previous, cran)),
        distributions: [...new Set([...index.binaryConfigs].map((c) => c.split('-')[1]!))].sort(),
        biocVersions,
      });
      previous = cran;
    }
    return out;
  }

  private async buildArchive(upTo: KeptSnapshot[]): Promise<CranArchive> {
    const history = [];
    for (const k of upTo) {
      let sources = this.sources.get(k.id);
      if (sources === undefined) {
        sources = sourceArchivesOf((await this.tree(k.id)).tree);
        this.sources.set(k.id, sources);
      }
      const createdAt = k.record?.createdAt ?? new Date(0).toISOString();
      history.push({ createdAt, sources });
    }
    const archive = buildCranArchive(history);
    const files = new Map<string, ArchivedVersion>();
    for (const [pkg, versions] of archive) for (const v of versions) files.set(`${pkg}/${v.file}`, v);
    const rds = gzipSync(serializeR(archiveRdsValue(archive)));
    return { files, rds, rdsId: hashBytes(rds) };
  }
}

function indexTree(tree: Tree): TreeIndex {
  const entries = new Map<string, TreeEntry>();
  const binaryConfigs = new Set<string>();
  for (const e of tree.entries) {
    entries.set(e.path, e);
    const bin = /^bin\/([^/]+)\/src\/contrib\//.exec(e.path);
    if (bin) binaryConfigs.add(bin[1]!);
  }
  return { entries, binaryConfigs, tree };
}

/** Complete deployments: real directories named by a snapshot id (temp names and links are not). */
function listDeployments(dir: string): SnapshotId[] {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return dirents.filter((d) => d.isDirectory() && isObjectId(d.name)).map((d) => d.name).sort();
}

/** What the kept snapshots are read from: the deployments and the snapshot index. */
function keptStamp(ids: SnapshotId[], indexPath: string): string {
  return `${ids.join(',')}|${statStamp(indexPath)}`;
}

/** Changes when the file is replaced (the index is written by rename) or rewritten. */
function statStamp(path: string): string {
  try {
    const st = fs.statSync(path);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch {
    return 'absent';
  }
}
