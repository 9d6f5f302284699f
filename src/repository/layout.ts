import { join } from 'node:path';
import type { ObjectId } from '../core/objectId.js';
import type { SnapshotId } from '../core/manifest.js';

/**
 * Where things live inside a repository. The format version is part of every path
 * (objects/v1, snapshots/v1), as cacache does with content-v2, so a future layout can
 * sit beside this one during a migration.
 *
 *   airlock-repository.json      {"format": "airlock-repository", "version": 1}
 *   objects/v1/ab/<64 hex>       content, named by BLAKE3, read-only (0444)
 *   snapshots/v1/<64 hex>.tree   canonical trees, named by their own BLAKE3
 *   snapshots/v1/index.json      the snapshot records (sequence, label, parent, time)
 *   cache/stat-v2/<hash>.msgpack stat cache of `snapshot create`, one per source dir
 *   cache/downloads-v1.jsonl     upstream checksum -> object id, so `get` re-fetches nothing it has
 *   tmp/                         scratch space on the same filesystem
 *   lock                         held by commands that change the repository
 */
export const REPOSITORY_MARKER = 'airlock-repository.json';
export const REPOSITORY_FORMAT = 'airlock-repository';
export const REPOSITORY_VERSION = 1;

/**
 * An object's path in an objects directory: ab/<64 hex>. Built by hand, not with path.join,
 * as a deployment asks it once per file: `objectsDir` is a joined path already, and an id is
 * 64 hex digits (checked wherever ids come in).
 */
export function objectPathIn(objectsDir: string, id: ObjectId): string {
  return `${objectsDir}/${id.slice(0, 2)}/${id}`;
}

export class RepositoryLayout {
  /** Joined once: every object's path starts with it. */
  readonly objectsDir: string;
  /** Joined once: every staged object's temp name starts with it. */
  readonly tmpDir: string;
  readonly snapshotsDir: string;
  /** Joined once: serve looks at it for every request. */
  readonly indexPath: string;

  constructor(readonly root: string) {
    this.objectsDir = join(root, 'objects', 'v1');
    this.tmpDir = join(root, 'tmp');
    this.snapshotsDir = join(root, 'snapshots', 'v1');
    this.indexPath = join(this.snapshotsDir, 'index.json');
  }

  get marker(): string {
    return join(this.root, REPOSITORY_MARKER);
  }
  objectDir(id: ObjectId): string {
    return `${this.objectsDir}/${id.slice(0, 2)}`; // as objectPathIn: asked once per object in a flush
  }
  objectPath(id: ObjectId): string {
    return objectPathIn(this.objectsDir, id);
  }
  treePath(id: SnapshotId): string {
    return join(this.snapshotsDir, `${id}.tree`);
  }
  get statCacheDir(): string {
    return join(this.root, 'cache', 'stat-v2');
  }
  get downloadLedgerPath(): string {
    return join(this.root, 'cache', 'downloads-v1.jsonl');
  }
  get lockPath(): string {
    return join(this.root, 'lock');
  }
}
