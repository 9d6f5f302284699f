import * as fs from 'node:fs';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { encodeTree, EXECUTABLE_MODE, FILE_MODE, verifyTree, type SnapshotRecord, type Tree } from '../../src/core/manifest.js';
import { RepositoryLayout } from '../../src/repository/layout.js';
import { SnapshotStore } from '../../src/repository/snapshotStore.js';
import { cleanTempDirsAfterEach, re, rejectsWith, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const b3 = (bytes: Uint8Array): string => blake3(bytes).toString('hex');
const idOf = (text: string): string => b3(Buffer.from(text));

function newStore(): SnapshotStore {
  return new SnapshotStore(new RepositoryLayout(tempDir()));
}

const sampleTree: Tree = {
  entries: [
    { path: 'PACKAGES', id: idOf('PACKAGES'), size: 8, mode: FILE_MODE },
    { path: 'bin/run.sh', id: idOf('run'), size: 3, mode: EXECUTABLE_MODE },
    { path: 'src/contrib/pkg_1.0.tar.gz', id: idOf('pkg'), size: 3, mode: FILE_MODE },
  ],
};

/** A 64-hex id that starts with `prefix`, made distinct by `n`. */
function idWithPrefix(prefix: string, n: number): string {
  return (prefix + idOf(`filler ${n}`)).slice(0, 64);
}

function record(id: string, sequence: number, label: string | null = null, parent: string | null = null): SnapshotRecord {
  return { id, sequence, label, parent, createdAt: new Date(1_700_000_000_000 + sequence * 1000).toISOString(), files: 1, bytes: 1 };
}

describe('SnapshotStore trees', () => {
  it('saveTree returns the BLAKE3 of the canonical encoding and stores it read-only', async () => {
    const store = newStore();
    const id = await store.saveTree(sampleTree);
    const encoded = encodeTree(sampleTree);
    expect(id).toBe(b3(encoded));
    const path = store.layout.treePath(id);
    expect(fs.readFileSync(path).equals(encoded)).toBe(true);
    expect(fs.statSync(path).mode & 0o777).toBe(0o444);
    expect(await store.hasTree(id)).toBe(true);
  });

  it('saving the same tree again returns the same id and keeps the stored file', async () => {
    const store = newStore();
    const id = await store.saveTree(sampleTree);
    const inode = fs.statSync(store.layout.treePath(id)).ino;
    expect(await store.saveTree({ entries: sampleTree.entries.map((e) => ({ ...e })) })).toBe(id);
    expect(fs.statSync(store.layout.treePath(id)).ino).toBe(inode);
    expect(fs.readdirSync(store.layout.snapshotsDir)).toEqual([`${id}.tree`]);
  });

  it('different trees get different ids (mode is part of the tree)', async () => {
    const store = newStore();
    const a = await store.saveTree(sampleTree);
    const b = await store.saveTree({ entries: sampleTree.entries.map((e) => ({ ...e, mode: FILE_MODE })) });
    expect(b).not.toBe(a);
  });

  it('loadTree round-trips what saveTree stored', async () => {
    const store = newStore();
    const id = await store.saveTree(sampleTree);
    expect(await store.loadTree(id)).toEqual(sampleTree);
    const empty = await store.saveTree({ entries: [] });
    expect(await store.loadTree(empty)).toEqual({ entries: [] });
  });

  it('a tree file altered on disk is OBJECT_CORRUPT, naming the snapshot and the file', async () => {
    const store = newStore();
    const id = await store.saveTree(sampleTree);
    const path = store.layout.treePath(id);
    const bytes = fs.readFileSync(path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    fs.chmodSync(path, 0o644);
    fs.writeFileSync(path, bytes);
    for (const load of [store.loadTree(id), store.loadTreeBytes(id)]) {
      const err = await rejectsWith(load, 'OBJECT_CORRUPT', re(id.slice(0, 12)));
      expect(err.message).toMatch(/damaged/);
      expect(err.where).toBe(path);
    }
  });

  it('an unknown tree id is NOT_FOUND naming the snapshot', async () => {
    const store = newStore();
    const id = idOf('no such tree');
    for (const load of [store.loadTree(id), store.loadTreeBytes(id)]) {
      const err = await rejectsWith(load, 'NOT_FOUND', re(id.slice(0, 12)));
      expect(err.where).toBe(store.layout.treePath(id));
      expect(err.hint).toMatch(/snapshot list/);
    }
  });

  it('loadTreeBytes gives the tree file’s bytes, checked against its id and not decoded', async () => {
    const store = newStore();
    const id = await store.saveTree(sampleTree);
    expect(Buffer.from(await store.loadTreeBytes(id)).equals(fs.readFileSync(store.layout.treePath(id)))).toBe(true);
    expect(Buffer.from(await store.loadTreeBytes(id)).equals(encodeTree(sampleTree))).toBe(true);
  });

  it('saveTree stores the canonical bytes of a verified tree as they came; bytes that do not hash to the id never get that far', async () => {
    const store = newStore();
    const encoded = encodeTree(sampleTree);
    const id = b3(encoded);
    const wrong = idOf('another id');
    const mismatch = () => new AirlockError('MANIFEST_INVALID', `tree bytes do not hash to ${wrong}`);
    await rejectsWith(Promise.resolve().then(() => verifyTree(wrong, encoded, mismatch)), 'MANIFEST_INVALID', re(wrong));
    expect(await store.hasTree(wrong)).toBe(false);
    expect(await store.saveTree(verifyTree(id, encoded, mismatch))).toBe(id);
    expect(await store.loadTree(id)).toEqual(sampleTree);
  });
});

describe('SnapshotStore records', () => {
  it('an empty repository has no records and next sequence 1', async () => {
    const store = newStore();
    expect(await store.records()).toEqual([]);
    expect(await store.nextSequence()).toBe(1);
  });

  it('append adds records in order and writes a readable index', async () => {
    const store = newStore();
    const a = record(idOf('a'), 1, 'first');
    const b = record(idOf('b'), 2, null, a.id);
    await store.append(a);
    await store.append(b);
    expect(await store.records()).toEqual([a, b]);
    const index = JSON.parse(fs.readFileSync(store.layout.indexPath, 'utf8')) as { format: string; version: number; records: SnapshotRecord[] };
    expect(index.format).toBe('airlock-snapshot-index');
    expect(index.version).toBe(1);
    expect(index.records).toEqual([a, b]);
  });

  it('a damaged index (not JSON) is reported as an AirlockError naming it, not as an internal error', async () => {
    const store = newStore();
    await store.append(record(idOf('a'), 1, 'v1'));
    fs.writeFileSync(store.layout.indexPath, '{"format": "airlock-snapshot-index", "records": [');
    let caught: unknown;
    try {
      // The next command reads the index afresh (a store keeps what it read for one command).
      await new SnapshotStore(store.layout).resolve('v1');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AirlockError);
    const err = caught as AirlockError;
    expect(['OBJECT_CORRUPT', 'MANIFEST_INVALID', 'FORMAT_UNSUPPORTED']).toContain(err.code);
    expect(err.where).toBe(store.layout.indexPath);
  });

  it('nextSequence is one past the highest sequence, whatever the order of records', async () => {
    const store = newStore();
    await store.writeIndex([record(idOf('a'), 3), record(idOf('b'), 7), record(idOf('c'), 5)]);
    expect(await store.nextSequence()).toBe(8);
  });
});

describe('SnapshotStore.resolve', () => {
  it('on an empty repository is NOT_FOUND with a hint naming `snapshot create`', async () => {
    const store = newStore();
    for (const ref of ['latest', 'v1', 'abcd']) {
      const err = await rejectsWith(store.resolve(ref), 'NOT_FOUND', /no snapshots/);
      expect(err.hint).toMatch(/snapshot create/);
      expect(err.where).toBe(store.layout.root);
    }
  });

  it("'latest' is the record with the highest sequence, not the last in the file", async () => {
    const store = newStore();
    const newest = record(idOf('newest'), 9);
    await store.writeIndex([record(idOf('a'), 1), newest, record(idOf('b'), 4)]);
    expect(await store.resolve('latest')).toEqual(newest);
  });

  it('a label resolves to its record; with several, the newest wins', async () => {
    const store = newStore();
    const older = record(idOf('old'), 1, 'release');
    const newer = record(idOf('new'), 5, 'release');
    const other = record(idOf('other'), 3, 'other');
    await store.writeIndex([newer, other, older]);
    expect(await store.resolve('release')).toEqual(newer);
    expect(await store.resolve('other')).toEqual(other);
  });

  it('a full id resolves, to its newest record when recorded twice', async () => {
    const store = newStore();
    const id = idOf('twice');
    const first = record(id, 1, 'a');
    const second = record(id, 3, 'b');
    await store.writeIndex([first, record(idOf('middle'), 2), second]);
    expect(await store.resolve(id)).toEqual(second);
  });

  it('a unique prefix of 4 or more hex digits resolves', async () => {
    const store = newStore();
    const target = record(idWithPrefix('abcd1', 1), 1);
    const sibling = record(idWithPrefix('abcd2', 2), 2);
    await store.writeIndex([target, sibling]);
    expect(await store.resolve('abcd1')).toEqual(target);
    expect(await store.resolve(target.id.slice(0, 12))).toEqual(target);
    expect(await store.resolve('abcd2')).toEqual(sibling);
  });

  it('a prefix shorter than 4 hex digits is not accepted even when unique', async () => {
    const store = newStore();
    const only = record(idWithPrefix('e12a', 1), 1);
    await store.writeIndex([only]);
    await rejectsWith(store.resolve('e12'), 'NOT_FOUND', /"e12"/);
    expect(await store.resolve('e12a')).toEqual(only);
  });

  it('an ambiguous prefix is AMBIGUOUS_REF listing the candidates', async () => {
    const store = newStore();
    const a = record(idWithPrefix('beef', 1), 1);
    const b = record(idWithPrefix('beef', 2), 2);
    const c = record(idWithPrefix('beef', 3), 3);
    const unrelated = record(idWithPrefix('0123', 4), 4);
    await store.writeIndex([a, b, c, unrelated, record(a.id, 5, 'again')]);
    const err = await rejectsWith(store.resolve('beef'), 'AMBIGUOUS_REF', /beef matches 3 snapshots/);
    for (const r of [a, b, c]) expect(err.message).toContain(r.id.slice(0, 12));
    expect(err.message).not.toContain(unrelated.id.slice(0, 12));
    expect(err.hint).toMatch(/more digits/);
  });

  it('a ref matching nothing is NOT_FOUND naming the ref', async () => {
    const store = newStore();
    await store.writeIndex([record(idWithPrefix('aaaa', 1), 1, 'v1')]);
    await rejectsWith(store.resolve('v2'), 'NOT_FOUND', /"v2"/);
    await rejectsWith(store.resolve('bbbb'), 'NOT_FOUND', /"bbbb"/);
    // Uppercase hex is not an id prefix.
    await rejectsWith(store.resolve('AAAA'), 'NOT_FOUND', /"AAAA"/);
  });
});

describe('SnapshotStore.resolve by sequence number', () => {
  it('takes the sequence `snapshot list` shows; a label of digits still wins', async () => {
    const store = newStore();
    const first = record(idOf('first'), 1, 'one');
    const second = record(idOf('second'), 2, '7');
    const third = record(idOf('third'), 7, 'seven');
    await store.writeIndex([first, second, third]);
    expect(await store.resolve('1')).toEqual(first);
    expect(await store.resolve('7')).toEqual(second); // the label "7", not sequence 7
    await rejectsWith(store.resolve('99'), 'NOT_FOUND', /no snapshot matches/);
  });
});
