import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AirlockError, errnoCode } from '../errors.js';
import { decodeTree, encodeTree, treeId, type SnapshotId, type SnapshotRecord, type Tree } from '../core/manifest.js';
import { hashBytes, shortId } from '../core/objectId.js';
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
 * admin can read.
 */
export class SnapshotStore {
  constructor(readonly layout: RepositoryLayout) {}

  async records(): Promise<SnapshotRecord[]> {
    const index = await readJsonIfExists<IndexFile>(this.layout.indexPath);
    return index?.records ?? [];
  }

  async nextSequence(): Promise<number> {
    const records = await this.records();
    return records.reduce((max, r) => Math.max(max, r.sequence), 0) + 1;
  }

  async hasTree(id: SnapshotId): Promise<boolean> {
    return fs.existsSync(this.layout.treePath(id));
  }

  /** Stores the tree (if new) and returns its id. */
  async saveTree(tree: Tree): Promise<SnapshotId> {
    const encoded = encodeTree(tree);
    const id = treeId(encoded);
    if (!(await this.hasTree(id))) {
      await fsp.mkdir(this.layout.snapshotsDir, { recursive: true });
      await writeFileDurable(this.layout.treePath(id), encoded, 0o444);
    }
    return id;
  }

  /** Stores a tree received in canonical form (a bundle's), after checking it hashes to `id`. */
  async saveEncodedTree(id: SnapshotId, encoded: Uint8Array): Promise<void> {
    if (hashBytes(encoded) !== id) throw new AirlockError('MANIFEST_INVALID', `tree bytes do not hash to ${id}`);
    if (await this.hasTree(id)) return;
    await fsp.mkdir(this.layout.snapshotsDir, { recursive: true });
    await writeFileDurable(this.layout.treePath(id), encoded, 0o444);
  }

  async loadTree(id: SnapshotId): Promise<Tree> {
    const path = this.layout.treePath(id);
    let encoded: Buffer;
    try {
      encoded = await fsp.readFile(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new AirlockError('NOT_FOUND', `snapshot ${shortId(id)} has no tree in this repository`, {
          where: path,
          hint: 'list the snapshots held here with `airlock snapshot list`',
        });
      }
      throw err;
    }
    if (hashBytes(encoded) !== id) {
      throw new AirlockError('OBJECT_CORRUPT', `the tree of snapshot ${shortId(id)} is damaged (its bytes no longer hash to its name)`, {
        where: path,
        hint: 'restore the repository from a backup or re-create the snapshot',
      });
    }
    return decodeTree(encoded);
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
  }

  /**
   * Resolves what an admin typed: `latest`, a full id, a unique id prefix (4+ hex
   * digits) or a label. With several records for one tree, the newest wins.
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
    if (/^[0-9a-f]{4,64}$/.test(ref)) {
      const ids = [...new Set(newestFirst.filter((r) => r.id.startsWith(ref)).map((r) => r.id))];
      if (ids.length === 1) return newestFirst.find((r) => r.id === ids[0])!;
      if (ids.length > 1) {
        throw new AirlockError('AMBIGUOUS_REF', `${ref} matches ${ids.length} snapshots: ${ids.map(shortId).join(', ')}`, {
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
