import { count } from '../core/units.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AirlockError, errnoCode } from '../errors.js';
import { checkTreeBytes, encodeVerifiedTree, newestRecord, verifyTree, type SnapshotId, type SnapshotRecord, type Tree, type VerifiedTree } from '../core/manifest.js';
import { shortId } from '../core/objectId.js';
import { readJsonIfExists, writeFileDurable, writeJsonDurable } from '../fs/durable.js';
import type { RepositoryLayout } from './layout.js';

interface IndexFile {
  format: 'airlock-snapshot-index';
  version: 1;
  records: SnapshotRecord[];
}

/**
 * Trees are stored content-addressed (`<id>.tree`, verified against their name on every
 * load); the records that describe each recording live in one small JSON index that an
 * admin can read. The index is read once per command and kept: every change goes through
 * this store, under the lock of the command making it (Repository.locked and the offline
 * session reload it when they take the lock).
 */
export class SnapshotStore {
  private cached: SnapshotRecord[] | undefined;

  constructor(readonly layout: RepositoryLayout) {}

  /** The records, oldest first (a copy: change them through append or writeIndex). */
  async records(): Promise<SnapshotRecord[]> {
    if (this.cached === undefined) {
      const index = await readJsonIfExists<IndexFile>(this.layout.indexPath);
      this.cached = index?.records ?? [];
    }
    return [...this.cached];
  }

  /** Forgets the index read so far: the next records() reads it again (a lock was just taken). */
  reload(): void {
    this.cached = undefined;
  }

  async nextSequence(): Promise<number> {
    const records = await this.records();
    return records.reduce((max, r) => Math.max(max, r.sequence), 0) + 1;
  }

  /** The newest record of snapshot `id` here (a tree recorded twice has two), if any. */
  async newestRecordOf(id: SnapshotId): Promise<SnapshotRecord | undefined> {
    return newestRecord((await this.records()).filter((r) => r.id === id));
  }

  async hasTree(id: SnapshotId): Promise<boolean> {
    return fs.existsSync(this.layout.treePath(id));
  }

  /**
   * Stores a tree (if new) and returns its id: entries are encoded here; a tree already
   * verified against its id (a bundle's, a receipt's) is stored as it came, not hashed again.
   */
  async saveTree(tree: Tree | VerifiedTree): Promise<SnapshotId> {
    const verified = 'encoded' in tree ? tree : encodeVerifiedTree(tree);
    if (!(await this.hasTree(verified.id))) {
      await fsp.mkdir(this.layout.snapshotsDir, { recursive: true });
      await writeFileDurable(this.layout.treePath(verified.id), verified.encoded, 0o444);
    }
    return verified.id;
  }

  async loadTree(id: SnapshotId): Promise<Tree> {
    return (await this.loadVerifiedTree(id)).tree;
  }

  /** The tree with its canonical bytes, checked against its id (for a receipt, which carries the bytes). */
  async loadVerifiedTree(id: SnapshotId): Promise<VerifiedTree> {
    return verifyTree(id, await this.readTree(id), () => this.damaged(id));
  }

  /** The tree's canonical bytes, checked against its id but not decoded: a diff reads them in place (diffEncodedTrees). */
  async loadTreeBytes(id: SnapshotId): Promise<Uint8Array> {
    const encoded = await this.readTree(id);
    checkTreeBytes(id, encoded, () => this.damaged(id));
    return encoded;
  }

  private async readTree(id: SnapshotId): Promise<Buffer> {
    const path = this.layout.treePath(id);
    try {
      return await fsp.readFile(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new AirlockError('NOT_FOUND', `snapshot ${shortId(id)} has no tree in this repository`, {
          where: path,
          hint: 'list the snapshots held here with `airlock snapshot list`',
        });
      }
      throw err;
    }
  }

  private damaged(id: SnapshotId): AirlockError {
    return new AirlockError('OBJECT_CORRUPT', `the tree of snapshot ${shortId(id)} is damaged (its bytes no longer hash to its name)`, {
      where: this.layout.treePath(id),
      hint: 'restore the repository from a backup or re-create the snapshot',
    });
  }

  async append(record: SnapshotRecord): Promise<void> {
    const records = await this.records();
    records.push(record);
    await this.writeIndex(records);
  }

  async writeIndex(records: SnapshotRecord[]): Promise<void> {
    await fsp.mkdir(this.layout.snapshotsDir, { recursive: true });
    const index: IndexFile = { format: 'airlock-snapshot-index', version: 1, records };
    await writeJsonDurable(this.layout.indexPath, index);
    this.cached = [...records];
  }

  /**
   * Resolves what an admin typed: `latest`, a full id, a unique id prefix (4+ hex
   * digits), a label, or a sequence number of 1 to 3 digits (`snapshot list` shows them).
   * With several records for one tree, the newest wins.
   */
  async resolve(ref: string): Promise<SnapshotRecord> {
    const records = await this.records();
    if (records.length === 0) {
      throw new AirlockError('NOT_FOUND', 'this repository holds no snapshots yet', {
        where: this.layout.root,
        hint: 'record one with `airlock snapshot create --repo R --from DIR`',
      });
    }
    const newestFirst = [...records].sort((a, b) => b.sequence - a.sequence);
    if (ref === 'latest') return newestFirst[0]!;
    const byLabel = newestFirst.find((r) => r.label === ref);
    if (byLabel) return byLabel;
    // A sequence number, as `snapshot list` shows it (a label of digits wins, as above).
    if (/^\d{1,3}$/.test(ref)) {
      const bySequence = newestFirst.find((r) => r.sequence === Number(ref));
      if (bySequence) return bySequence;
    }
    if (/^[0-9a-f]{4,64}$/.test(ref)) {
      const ids = [...new Set(newestFirst.filter((r) => r.id.startsWith(ref)).map((r) => r.id))];
      if (ids.length === 1) return newestFirst.find((r) => r.id === ids[0])!;
      if (ids.length > 1) {
        throw new AirlockError('AMBIGUOUS_REF', `${ref} matches ${count(ids.length, 'snapshot')}: ${ids.map(shortId).join(', ')}`, {
          hint: 'type more digits of the id',
        });
      }
    }
    throw new AirlockError('NOT_FOUND', `no snapshot matches ${JSON.stringify(ref)} (not a label, id or id prefix held here)`, {
      where: this.layout.root,
      hint: 'list the snapshots held here with `airlock snapshot list`',
    });
  }
}
