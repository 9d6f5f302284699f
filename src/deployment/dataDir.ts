import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import { isObjectId } from '../core/objectId.js';
import type { SnapshotId } from '../core/manifest.js';
import { readJsonIfExists, writeJsonDurable } from '../fs/durable.js';
import { REPOSITORY_MARKER } from '../repository/layout.js';

/**
 * The offline side. The path the server is configured with (ManifestURL =
 * file:///var/lib/rspm-offline-data) is a symlink to one deployment; everything else
 * lives in a sibling state directory on the same filesystem, so hardlinks and the
 * switching rename(2) work:
 *
 *   /var/lib/rspm-offline-data -> rspm-offline-data.airlock/deployments/<snapshot id>
 *   /var/lib/rspm-offline-data.airlock/
 *       airlock-repository.json, objects/, snapshots/   the repository (as online)
 *       deployments/<snapshot id>/                      complete trees of hardlinks
 *       deployments/.tmp-*                              a tree being built
 *       state.json                                      what was applied, when
 *       tmp/                                            staging of a bundle being applied
 *       lock
 */
export type DataDirKind = 'absent' | 'empty-directory' | 'plain-directory' | 'managed' | 'foreign-link' | 'file';

export interface HistoryEntry {
  snapshot: SnapshotId;
  action: 'apply' | 'rollback' | 'adopt' | 'prune-schema' | 'recovered';
  at: string;
  bundle?: string;
}

export interface DataDirState {
  format: 'airlock-data-dir';
  version: 1;
  /** Highest bundle sequence applied: kept for the anti-rollback check. */
  highestSequence: number;
  history: HistoryEntry[];
  /**
   * When each deployment was last built (ISO 8601): a file of it modified later was edited in
   * place (which changes the stored object too), and the quick `verify` says so.
   */
  deployedAt?: Record<SnapshotId, string>;
}

export class DataDir {
  readonly path: string;
  readonly stateDir: string;
  /** Joined once: serve lists it for every request. */
  readonly deploymentsDir: string;
  /** What the data dir's symlink points to, less the snapshot id (relative, so the pair can move). */
  private readonly linkPrefix: string;

  /** `stateDir` defaults to the sibling `<path>.airlock`; it must share the path's parent directory. */
  constructor(path: string, stateDir?: string) {
    this.path = resolve(path).replace(/\/+$/, '');
    this.stateDir = stateDir === undefined ? `${this.path}.airlock` : resolve(stateDir);
    this.deploymentsDir = join(this.stateDir, 'deployments');
    this.linkPrefix = `${basename(this.stateDir)}/deployments/`;
  }

  get parent(): string {
    return dirname(this.path);
  }
  deploymentPath(id: SnapshotId): string {
    return join(this.deploymentsDir, id);
  }
  /** The symlink's text: relative, so the pair can be moved or mounted elsewhere together. */
  linkTarget(id: SnapshotId): string {
    return `${this.linkPrefix}${id}`;
  }
  get statePath(): string {
    return join(this.stateDir, 'state.json');
  }
  get lockPath(): string {
    return join(this.stateDir, 'lock');
  }
  get trustPath(): string {
    return join(this.stateDir, 'trust.json');
  }
  get tempLinkPrefix(): string {
    return `.${basename(this.path)}.airlock-link-`;
  }

  kind(): DataDirKind {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.path);
    } catch {
      return 'absent';
    }
    if (st.isSymbolicLink()) return this.currentDeployment() !== undefined ? 'managed' : 'foreign-link';
    if (st.isDirectory()) return fs.readdirSync(this.path).length === 0 ? 'empty-directory' : 'plain-directory';
    return 'file';
  }

  /** The snapshot the data dir shows now, read from the symlink: the one source of truth. */
  currentDeployment(): SnapshotId | undefined {
    let target: string;
    try {
      target = fs.readlinkSync(this.path);
    } catch {
      return undefined;
    }
    if (!target.startsWith(this.linkPrefix)) return undefined;
    const id = target.slice(this.linkPrefix.length);
    return isObjectId(id) ? id : undefined;
  }

  async readState(): Promise<DataDirState> {
    return (await readJsonIfExists<DataDirState>(this.statePath)) ?? { format: 'airlock-data-dir', version: 1, highestSequence: 0, history: [] };
  }

  async writeState(state: DataDirState): Promise<void> {
    await writeJsonDurable(this.statePath, state);
  }

  /**
   * After a switch: the history entry, and when the deployment switched to was built (when it
   * was built now, rather than reused), written durably in one go.
   */
  async recordSwitch(state: DataDirState, entry: HistoryEntry, builtAt: string | null): Promise<void> {
    state.history.push(entry);
    if (builtAt !== null) state.deployedAt = { ...state.deployedAt, [entry.snapshot]: builtAt };
    await this.writeState(state);
  }

  /** The server must keep reading exactly this path, so it cannot be a mount point we would have to replace. */
  assertReplaceable(): void {
    let st: fs.Stats;
    let parent: fs.Stats;
    try {
      parent = fs.statSync(this.parent);
    } catch {
      throw new AirlockError('NOT_FOUND', `the parent directory of the data dir, ${this.parent}, does not exist`, {
        where: this.parent,
        hint: `create it first (mkdir -p ${this.parent})`,
      });
    }
    try {
      st = fs.lstatSync(this.path);
    } catch {
      return;
    }
    if (st.isDirectory() && st.dev !== parent.dev) {
      throw new AirlockError('CROSS_DEVICE', `${this.path} is a mount point; airlock replaces the data dir path with a symlink and cannot replace a mount point`, {
        where: this.path,
        hint: `mount the volume one level up (for example at ${this.parent}) so the data dir and its .airlock state share it`,
      });
    }
  }

  /**
   * A data dir inside a tree airlock owns (another data dir's live deployment, a state dir,
   * an online repository) would write into that tree: refused, whatever the path looks like.
   * The real path of the parent is checked, so a link on the way does not hide it.
   */
  assertOwnPlace(): void {
    let dir: string;
    try {
      dir = fs.realpathSync(this.parent);
    } catch {
      return; // a missing parent is assertReplaceable's to report
    }
    for (let at = dir; ; at = dirname(at)) {
      if (fs.existsSync(join(at, REPOSITORY_MARKER))) {
        throw new AirlockError('NOT_MANAGED', `${this.path} is inside ${at}, which airlock manages (a data dir's deployments and state, or a repository)`, {
          where: this.path,
          hint: 'give --data-dir a path of its own, outside every data dir and its .airlock state, for example /var/lib/rspm-offline-data',
        });
      }
      if (at === dirname(at)) return;
    }
  }

  assertManaged(): SnapshotId {
    const current = this.currentDeployment();
    if (current !== undefined) return current;
    const kind = this.kind();
    const hint =
      kind === 'plain-directory'
        ? `it is a plain directory (copied by hand?); make it managed with \`airlock adopt --data-dir ${this.path}\``
        : kind === 'absent' || kind === 'empty-directory'
          ? `nothing is applied yet; apply a full bundle with \`airlock apply BUNDLE --data-dir ${this.path}\``
          : kind === 'file'
            ? 'it is a file, not a directory: point --data-dir at the path Package Manager reads (a new path, or an empty directory), and leave this file as it is'
            : 'it is a symlink airlock did not make; point --data-dir at the managed path (airlock leaves this link as it is)';
    throw new AirlockError('NOT_MANAGED', `${this.path} is not a data directory managed by airlock`, { where: this.path, hint });
  }
}
