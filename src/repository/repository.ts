import * as fsp from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import { pathExists, readJsonIfExists, writeJsonDurable, mkdirDurable } from '../fs/durable.js';
import { withLock } from '../fs/lock.js';
import { RepositoryLayout, REPOSITORY_FORMAT, REPOSITORY_VERSION } from './layout.js';
import { ObjectStore } from './objectStore.js';
import { SnapshotStore } from './snapshotStore.js';

interface Marker {
  format: string;
  version: number;
}

/** The same kind of repository on both sides of the gap: objects plus snapshots. */
export class Repository {
  readonly layout: RepositoryLayout;
  readonly objects: ObjectStore;
  readonly snapshots: SnapshotStore;

  private constructor(root: string) {
    this.layout = new RepositoryLayout(root);
    this.objects = new ObjectStore(this.layout);
    this.snapshots = new SnapshotStore(this.layout);
  }

  /** Opens an existing repository, or creates one when `create` is set and the directory is new or empty. */
  static async open(root: string, options: { create?: boolean; allowExisting?: boolean } = {}): Promise<Repository> {
    const repo = new Repository(root);
    const marker = await readJsonIfExists<Marker>(repo.layout.marker);
    if (marker) {
      repo.checkMarker(marker);
      return repo;
    }
    if (!options.create) {
      throw new AirlockError('NOT_A_REPOSITORY', `${root} is not an airlock repository`, {
        where: root,
        hint: 'create one with `airlock snapshot create --repo DIR --from TREE`, or check the --repo path',
      });
    }
    if (!options.allowExisting && (await pathExists(root)) && (await fsp.readdir(root)).length > 0) {
      throw new AirlockError('NOT_A_REPOSITORY', `${root} exists, is not empty and is not an airlock repository`, {
        where: root,
        hint: 'choose a new or empty directory for the repository',
      });
    }
    await mkdirDurable(root);
    await fsp.mkdir(repo.layout.objectsDir, { recursive: true });
    await fsp.mkdir(repo.layout.snapshotsDir, { recursive: true });
    await writeJsonDurable(repo.layout.marker, { format: REPOSITORY_FORMAT, version: REPOSITORY_VERSION });
    return repo;
  }

  private checkMarker(marker: Marker): void {
    if (marker.format !== REPOSITORY_FORMAT || marker.version !== REPOSITORY_VERSION) {
      throw new AirlockError('FORMAT_UNSUPPORTED', `repository format ${marker.format} v${marker.version} is not supported (this airlock uses v${REPOSITORY_VERSION})`, {
        where: this.layout.marker,
        hint: 'use the airlock version that created this repository',
      });
    }
  }

  get root(): string {
    return this.layout.root;
  }

  /** Runs `work` holding the repository lock, after clearing scratch left by killed runs and reading the index afresh. */
  async locked<T>(command: string, work: () => Promise<T>): Promise<T> {
    return withLock(this.layout.lockPath, command, async () => {
      await fsp.rm(this.layout.tmpDir, { recursive: true, force: true });
      this.snapshots.reload(); // what was read before the lock may have changed since
      return work();
    });
  }
}
