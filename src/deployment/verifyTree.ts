import { join } from 'node:path';
import { explainSystemError } from '../errors.js';
import { hashFile } from '../repository/objectStore.js';
import { reportedError, SMALL_FILE_LIMIT, STAT_BATCH, STAT_FIELDS, StatType } from '../repository/storeThreadMessages.js';
import { StoreThreads, type BatchQueue } from '../repository/storeThreads.js';
import type { Problem, ProblemKind } from '../repository/verifyObjects.js';
import { walkEntries } from '../fs/walk.js';
import type { Tree } from '../core/manifest.js';
import type { Progress } from '../core/progress.js';

/**
 * Checks a tree on disk against its manifest. Quick: every file is present, a regular
 * file of the right size, not modified after the deployment was built, and nothing extra is
 * there. Deep: also re-hashes every file (an edited file keeps its size more often than not):
 * files up to SMALL_FILE_LIMIT on the store's threads, in batches (reHasher), larger ones
 * here. The files are lstat'ed on the store's threads too, a batch of paths at a time: at a
 * million files the lstats alone took 7.5 of a quick verify's 13 seconds on the main thread.
 * Problems come in the tree's order.
 */
export async function verifyTreeOnDisk(root: string, tree: Tree, deep: boolean, progress: Progress, deployedAt?: string): Promise<Problem[]> {
  // A file modified after its deployment was built was edited in place: hardlinked, so the stored object changed too.
  const builtMs = deployedAt === undefined ? Infinity : Date.parse(deployedAt);
  const problems: Array<{ index: number; problem: Problem }> = [];
  // The file at `index` of the tree has a problem (those the threads find come later: sorted below).
  const found: Found = (index, kind, detail) => problems.push({ index, problem: { kind, path: tree.entries[index]!.path, detail } });
  let totalBytes = 0;
  for (const e of tree.entries) totalBytes += e.size;
  progress.phase(deep ? 're-hashing every file' : 'checking presence and sizes', { files: tree.entries.length, bytes: deep ? totalBytes : 0 });
  const pool = StoreThreads.forWork(tree.entries.length, deep ? totalBytes : 0);
  const rehasher = deep ? reHasher(pool, root, tree, progress, found) : null;
  const prefix = root.endsWith('/') ? root.slice(0, -1) : root;
  /** Entries found on disk as regular files, and as anything else but a directory: the walk below must find as many of each. */
  let presentFiles = 0;
  let presentOthers = 0;
  const checkBatch = async (indices: number[]): Promise<void> => {
    const reply = await pool.stat(prefix, indices.length, indices.map((i) => tree.entries[i]!.path).join('\0'));
    const stats = new Float64Array(reply.stats);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      const entry = tree.entries[index]!;
      const type = stats[k * STAT_FIELDS]!;
      const size = stats[k * STAT_FIELDS + 1]!;
      const mtimeMs = stats[k * STAT_FIELDS + 2]!;
      if (type === StatType.File) presentFiles++;
      else if (type === StatType.Other) presentOthers++;
      if (type === StatType.Missing || type === StatType.Failed) {
        // A path the system would not look at (permission, I/O) is reported with its error: the
        // check that it is there and whole could not be made. The rest goes on.
        found(index, 'missing', type === StatType.Missing ? MISSING : `could not be looked at: ${reply.errors.find((e) => e.index === k)?.message}`);
        continue; // not counted in the progress
      } else if (type !== StatType.File) {
        found(index, 'not-a-file', 'not a regular file');
      } else if (size !== entry.size) {
        found(index, 'wrong-size', `${size} bytes, expected ${entry.size}`);
      } else if (mtimeMs > builtMs) {
        found(index, 'altered', `modified at ${new Date(mtimeMs).toISOString()}, after its deployment was built (${new Date(builtMs).toISOString()}): edited in place`);
      } else if (rehasher && entry.size <= SMALL_FILE_LIMIT) {
        // Counted in the progress once hashed.
        const sent = rehasher.add(index, entry.size);
        if (sent) await sent;
        continue;
      } else if (deep) {
        const actual = await hashFile(join(root, entry.path));
        if (actual === undefined) found(index, 'missing', MISSING);
        else if (actual !== entry.id) found(index, 'altered', hashesTo(actual, entry.id));
      }
      progress.advance(1, deep ? entry.size : 0);
    }
  };
  const queue = pool.batches(STAT_BATCH, checkBatch);
  try {
    for (let index = 0; index < tree.entries.length; index++) {
      const sent = queue.add(index);
      if (sent) await sent;
    }
    await queue.finish();
    await rehasher?.finish();
  } finally {
    await queue.settled();
    await rehasher?.settled();
    await pool.close();
  }
  const ordered = problems.sort((a, b) => a.index - b.index).map((p) => p.problem);
  // The set of the tree's paths (at a million files, 100 MB) is made only when something may be
  // extra. Nothing is when the tree is all regular files and directories on disk, as a
  // deployment is, and the walk finds as many files as the lstats did: with no link anywhere
  // below the root, each path lstat'ed as a file is one file the walk finds. A link anywhere
  // (lstat looks through one before a path's last name) means the whole walk. A file removed
  // and another added between the lstats and the walk can balance the counts; the next run sees it.
  const walked = countEntries(root);
  if (presentOthers !== 0 || walked.others !== 0 || walked.files !== presentFiles) {
    const expected = new Set(tree.entries.map((e) => e.path));
    for (const { path, dirent } of walkEntries(root)) {
      if (!dirent.isDirectory() && !expected.has(path)) ordered.push({ kind: 'unexpected', path, detail: 'not part of the snapshot' });
    }
  }
  return ordered;
}

type Found = (index: number, kind: ProblemKind, detail: string) => void;

const MISSING = 'the file is missing';

function hashesTo(actual: string, id: string): string {
  return `content hashes to ${actual.slice(0, 12)}, expected ${id.slice(0, 12)}`;
}

/** A batch of re-hashing goes out once it holds this many bytes (so its buffer holds it and one file more), or StoreThreads.batchFiles files. */
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * A queue that re-hashes a tree's small files (by their place in the tree) on the store's
 * threads: each batch is read into a buffer shared with its thread and reused from batch to
 * batch (the bytes are not needed here, only their hash and length), at most the threads'
 * capacity and one more for each batch of lstats waiting to hand on its files (about 70 MB at
 * most). A file that vanished since it was looked at is reported missing; another failure to
 * read one fails the command with its system error. Each file is counted in the progress
 * once hashed.
 */
function reHasher(pool: StoreThreads, root: string, tree: Tree, progress: Progress, found: Found): BatchQueue {
  const buffers: SharedArrayBuffer[] = [];
  const send = async (batch: number[]): Promise<void> => {
    const buffer = buffers.pop() ?? new SharedArrayBuffer(BATCH_BYTES + SMALL_FILE_LIMIT + 1);
    const reply = await pool.read(
      batch.map((index) => ({ path: join(root, tree.entries[index]!.path), size: tree.entries[index]!.size })),
      buffer,
    );
    buffers.push(buffer);
    for (const [k, result] of reply.results.entries()) {
      const index = batch[k]!;
      const { id, size, path } = tree.entries[index]!;
      if (result.kind === 'error') {
        if (result.code !== 'ENOENT') explainSystemError(reportedError(result), 're-hashing a file', join(root, path));
        found(index, 'missing', MISSING);
      } else if (result.length !== size) {
        found(index, 'wrong-size', `${result.length > size ? `more than ${size}` : result.length} bytes when read, expected ${size}`);
      } else if (result.actual !== id) {
        found(index, 'altered', hashesTo(result.actual, id));
      }
      progress.advance(1, size);
    }
  };
  return pool.batches(StoreThreads.batchFiles, send, BATCH_BYTES);
}

/** How many regular files are below `root`, and how many other entries that are not directories (links or devices no deployment holds). */
function countEntries(root: string): { files: number; others: number } {
  let files = 0;
  let others = 0;
  for (const { dirent } of walkEntries(root)) {
    if (dirent.isFile()) files++;
    else if (!dirent.isDirectory()) others++;
  }
  return { files, others };
}
