import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/core/objectId.js';
import { link, readUpTo, StreamWriter } from '../../src/repository/storeWork.js';
import { objectPathIn } from '../../src/repository/layout.js';
import { emptyLinkRequest } from '../../src/repository/storeThreadMessages.js';
import { writebackIdle } from '../../src/fs/writeback.js';
import { closedAt, created, descriptorsOf, earlySyncs, stracedScript } from '../helpers/syscalls.js';
import { cleanTempDirsAfterEach, patternBytes, tempDir } from './helpers.js';
import { hasTool, isRoot } from '../helpers/mounts.js';

cleanTempDirsAfterEach();

describe('link (a batch of a deployment: its directories, then its hardlinks)', () => {
  /** One object in a store at `root`/objects, and a deployment directory beside it. */
  function storeWithOneObject(): { objectsDir: string; id: string; target: string } {
    const root = tempDir();
    const objectsDir = join(root, 'objects');
    const id = hashBytes(Buffer.from('content'));
    fs.mkdirSync(join(objectsDir, id.slice(0, 2)), { recursive: true });
    fs.writeFileSync(objectPathIn(objectsDir, id), 'content');
    const target = join(root, 'deployment');
    fs.mkdirSync(target);
    return { objectsDir, id, target };
  }

  it('makes the directories it names first, with their parents when no batch has made them yet, and sets their mode when asked', () => {
    const { objectsDir, id, target } = storeWithOneObject();
    const previous = process.umask(0o077);
    try {
      const reply = link({ ...emptyLinkRequest(1), objectsDir, targetDir: target, directories: ['a/b/c', 'a/b', 'd'].join('\0'), directoryMode: 0o755, chmodDirectories: true, count: 2, ids: id + id, paths: 'a/b/c/one.txt\0d/two.txt' });
      expect(reply).toEqual({ batch: 1, failures: [], directoryFailure: null });
    } finally {
      process.umask(previous);
    }
    for (const dir of ['a/b/c', 'a/b', 'd']) expect(fs.statSync(join(target, dir)).mode & 0o7777, dir).toBe(0o755);
    // 'a' was made on the way to 'a/b/c' (its own batch sets its mode when it gets there).
    expect(fs.statSync(join(target, 'a')).isDirectory()).toBe(true);
    expect(fs.statSync(join(target, 'a/b/c/one.txt')).ino).toBe(fs.statSync(objectPathIn(objectsDir, id)).ino);
    expect(fs.statSync(join(target, 'd/two.txt')).nlink).toBe(3);
  });

  it.runIf(isRoot && hasTool('setpriv'))('as an account whose umask takes its own write bit, makes each level searchable before the next, and sets a parent the other thread made but has not set yet', () => {
    const { objectsDir, id, target } = storeWithOneObject();
    // As the other thread leaves a directory between its mkdir and its chmod, under umask 0277.
    fs.mkdirSync(join(target, 'p'), { mode: 0o500 });
    const root = dirname(target);
    execFileSync('chown', ['-R', '65534:65534', root]);
    fs.chmodSync(root, 0o755);
    const request = { ...emptyLinkRequest(4), objectsDir, targetDir: target, directories: ['a/b/c', 'p/q'].join('\0'), directoryMode: 0o755, chmodDirectories: true, count: 2, ids: id + id, paths: 'a/b/c/one.txt\0p/q/two.txt' };
    // The compiled module (npm test builds first), run as nobody: root is never refused a directory.
    const storeWork = new URL('../../dist/src/repository/storeWork.js', import.meta.url).href;
    const script = `import { link } from ${JSON.stringify(storeWork)}; process.umask(0o277); process.stdout.write(JSON.stringify(link(${JSON.stringify(request)})));`;
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ batch: 4, failures: [], directoryFailure: null });
    for (const dir of ['a', 'a/b', 'a/b/c', 'p', 'p/q']) expect((fs.statSync(join(target, dir)).mode & 0o7777).toString(8), dir).toBe('755');
    expect(fs.statSync(join(target, 'p/q/two.txt')).ino).toBe(fs.statSync(objectPathIn(objectsDir, id)).ino);
  });

  it('names a directory again without complaint when another batch made it, and stops before its links when one cannot be made', () => {
    const { objectsDir, id, target } = storeWithOneObject();
    fs.mkdirSync(join(target, 'made'));
    fs.writeFileSync(join(target, 'file'), 'in the way');
    const again = link({ ...emptyLinkRequest(2), objectsDir, targetDir: target, directories: 'made', directoryMode: 0o755, chmodDirectories: false, count: 1, ids: id, paths: 'made/one.txt' });
    expect(again).toEqual({ batch: 2, failures: [], directoryFailure: null });
    const blocked = link({ ...emptyLinkRequest(3), objectsDir, targetDir: target, directories: 'file/below', directoryMode: 0o755, chmodDirectories: false, count: 1, ids: id, paths: 'file/below/x.txt' });
    expect(blocked.failures).toEqual([]);
    expect(blocked.directoryFailure?.code).toBe('ENOTDIR');
    expect(blocked.directoryFailure?.message).toContain(join(target, 'file/below'));
  });
});

describe('readUpTo (a file of an expected size, asked for with a byte more)', () => {
  it('gives a file of the expected size after one read: it does not wait for the end of a pipe whose writer is still there', () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    const closed = join(dir, 'writer-closed');
    execFileSync('mkfifo', [fifo]);
    // The writer gives 5 bytes, then holds the pipe open for 10 s, says so, and closes it.
    // A second read, to see the end, would block until then.
    const writer = spawn('sh', ['-c', 'exec 3>"$1"; printf hello >&3; sleep 10; touch "$2"; exec 3>&-', 'writer', fifo, closed], { stdio: 'ignore' });
    try {
      const data = readUpTo(fifo, 5);
      expect(data.toString()).toBe('hello');
      expect(fs.existsSync(closed)).toBe(false);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('still shows a file longer or shorter than expected', () => {
    const dir = tempDir();
    const content = patternBytes(5000, 9);
    fs.writeFileSync(join(dir, 'longer'), Buffer.concat([content, Buffer.from([1, 2, 3])]));
    fs.writeFileSync(join(dir, 'exact'), content);
    fs.writeFileSync(join(dir, 'shorter'), content.subarray(0, 4000));
    fs.writeFileSync(join(dir, 'empty'), '');
    expect(readUpTo(join(dir, 'longer'), 5000).length).toBe(5001);
    expect(readUpTo(join(dir, 'exact'), 5000).equals(content)).toBe(true);
    expect(readUpTo(join(dir, 'shorter'), 5000).equals(content.subarray(0, 4000))).toBe(true);
    expect(readUpTo(join(dir, 'empty'), 0).length).toBe(0);
    expect(readUpTo(join(dir, 'exact'), 0).length).toBe(1);
  });
});

describe('hashBytes (one hasher, started over for each call)', () => {
  it('gives each content its own BLAKE3, whatever was hashed before, as the one-shot function does', () => {
    const contents = [Buffer.alloc(0), patternBytes(450, 1), patternBytes(70_000, 2), Buffer.from('a'), Buffer.alloc(0), patternBytes(450, 1)];
    for (const c of contents) expect(hashBytes(c)).toBe(blake3(c).toString('hex'));
    // A view into a larger buffer hashes only its own bytes.
    const big = patternBytes(10_000, 3);
    expect(hashBytes(big.subarray(100, 600))).toBe(blake3(Buffer.from(big.subarray(100, 600))).toString('hex'));
    expect(hashBytes(new Uint8Array(big.buffer, big.byteOffset + 7, 33))).toBe(blake3(Buffer.from(big.subarray(7, 40))).toString('hex'));
  });
});

describe('StreamWriter (a large body starts for the disk while it is written)', () => {
  it('starts data syncs of a large body before it is finished (EarlyWriteback), not on its own descriptor', () => {
    const dir = tempDir();
    const temp = join(dir, 'body.tmp');
    // 48 MiB in 1 MiB pieces, each sync waited out before the next piece, then the end of the file.
    const lines = stracedScript(
      dir,
      ['src/repository/storeWork.js', 'src/fs/writeback.js'],
      `const w = new m0.StreamWriter(${JSON.stringify(temp)}, { md5: true, gitBlobSize: null });
      const piece = Buffer.alloc(1024 * 1024, 7);
      for (let i = 0; i < 48; i++) { w.write(piece); await m1.writebackIdle(); }
      w.finish();`,
    );
    const { fd, at } = created(lines, temp);
    const syncs = earlySyncs(lines, temp, fd);
    // At 16, 32 and 48 MiB, while the file was open, never on the writer's own descriptor.
    expect(syncs.reopened.length).toBe(3);
    expect(syncs.synced.length).toBe(3);
    const closed = closedAt(lines, temp, fd, at);
    expect(closed).toBeGreaterThan(at);
    for (const line of syncs.synced) expect(line).toBeLessThan(closed);
    expect(syncs.syncedOwn).toEqual([]);
    expect(fs.statSync(temp).size).toBe(48 * 1024 * 1024);
  });

  it('writes every byte and gives the right digests while syncs run beside it', async () => {
    const dir = tempDir();
    const temp = join(dir, 'body.tmp');
    const writer = new StreamWriter(temp, { md5: true, gitBlobSize: null });
    const md5 = createHash('md5');
    const pieces: Buffer[] = [];
    let syncsSeen = 0;
    // Uneven pieces, 40 MiB and a little more: past two sync points, not on a block edge.
    for (let i = 0, left = 40 * 1024 * 1024 + 12345; left > 0; i++) {
      const piece = patternBytes(Math.min(left, 300_000 + ((i * 7919) % 900_000)), i);
      pieces.push(piece);
      md5.update(piece);
      writer.write(piece);
      left -= piece.length;
      // A sync under way holds a second descriptor of the file until its callback runs.
      if (descriptorsOf(temp) === 2) syncsSeen++;
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await writebackIdle();
    const digests = writer.finish();
    expect(syncsSeen).toBeGreaterThanOrEqual(1);
    const whole = Buffer.concat(pieces);
    expect(fs.readFileSync(temp).equals(whole)).toBe(true);
    expect(digests.size).toBe(whole.length);
    expect(digests.md5).toBe(md5.digest('hex'));
    expect(digests.id).toBe(blake3(whole).toString('hex'));
  });
});
