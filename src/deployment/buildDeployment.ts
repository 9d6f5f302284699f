import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, errnoCode, explainSystemError } from '../errors.js';
import { shortId, type ObjectId } from '../core/objectId.js';
import { EXECUTABLE_MODE, type SnapshotId, type Tree } from '../core/manifest.js';
import { DirectoryClimb } from '../core/paths.js';
import { fsyncDirSync, pathExists, syncFilesystem, tempName } from '../fs/durable.js';
import { cannotLink } from '../fs/links.js';
import { walkEntries } from '../fs/walk.js';
import { verifyTreeOnDisk } from './verifyTree.js';
import { failpoint } from '../fs/failpoint.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from '../repository/repository.js';
import { StoreThreads } from '../repository/storeThreads.js';
import { reportedError } from '../repository/storeThreadMessages.js';
import { makeDirectory } from '../repository/storeWork.js';
import type { DataDir } from './dataDir.js';
import type { Owner } from './accounts.js';
import { safeMode, unsafeBits } from '../core/access.js';

/** Links per message to a store thread. */
const LINK_BATCH = 1000;

export interface BuildResult {
  path: string;
  reused: boolean;
  /** When the tree was complete and durable (null: a kept deployment was reused). */
  builtAt: string | null;
  linked: number;
  copied: number;
}

/** Linux's PATH_MAX (4096) counts the terminating NUL. */
const MAX_FILESYSTEM_PATH_BYTES = 4095;

/**
 * Refuses a tree that cannot be laid out under this data dir because one of its paths, put
 * below the deployment being built, is longer than Linux allows in a path. Called before
 * anything is recorded, so the refusal leaves the repository and the live data as they were.
 */
export function assertTreeFits(dataDir: DataDir, tree: Tree): void {
  assertPathsFit(dataDir, tree.entries.map((e) => e.path));
}

/** The same for paths known before their tree is (a download checks them before it fetches). */
export function assertPathsFit(dataDir: DataDir, paths: Iterable<string>): void {
  let longest = '';
  let longestBytes = 0;
  for (const path of paths) {
    const bytes = Buffer.byteLength(path);
    if (bytes > longestBytes) [longest, longestBytes] = [path, bytes];
  }
  // The deployment is built under a temp name of the same length for every snapshot id; 8 digits spare for its counter.
  const base = Buffer.byteLength(tempName(dataDir.deploymentPath('0'.repeat(64)))) + 8 + 1;
  const excess = base + longestBytes - MAX_FILESYSTEM_PATH_BYTES;
  if (excess <= 0) return;
  throw new AirlockError('FILESYSTEM', `the snapshot holds a path of ${longestBytes} bytes, too long to be laid out under ${dataDir.deploymentsDir}: Linux allows ${MAX_FILESYSTEM_PATH_BYTES} bytes in a path`, {
    where: longestBytes > 120 ? `${longest.slice(0, 120)}…` : longest,
    hint:
      excess < Buffer.byteLength(dataDir.path) - 2
        ? `use a data dir whose path is at least ${excess} bytes shorter than ${dataDir.path}, or leave that file out of the snapshot; nothing was recorded`
        : `no data dir path is short enough for it: leave that file out of the snapshot where it is made; nothing was recorded`,
  });
}

/** Directories of a deployment: searchable and listable by every account, writable only by their owner. */
const DEPLOYMENT_DIR_MODE = 0o755;

/**
 * Builds the complete tree of a snapshot beside the live one, as OSTree checks out a
 * deployment: hardlinks into the object store (no bytes copied), plain copies where the
 * filesystem refuses links. It is built under a temp name, fsynced, and renamed to its
 * final name only when complete, so a deployment directory without the temp prefix is
 * always whole. An existing complete deployment of the same snapshot is reused.
 */
export async function buildDeployment(repo: Repository, dataDir: DataDir, id: SnapshotId, tree: Tree, owner: Owner | undefined, progress: Progress): Promise<BuildResult> {
  const final = dataDir.deploymentPath(id);
  if (await pathExists(final)) {
    // Never trusted by its name: a kept deployment is reused only when it is a real directory
    // holding exactly its tree; anything else there (a stray directory, one thinned by hand, a
    // link) is removed, never followed, and the deployment is built again from the store.
    const mismatch = await deploymentMismatch(final, tree, progress);
    if (mismatch === undefined) {
      if (owner) reown(final, owner, progress);
      return { path: final, reused: true, builtAt: null, linked: 0, copied: 0 };
    }
    progress.warn(`the kept deployment ${final} does not match its snapshot (${mismatch}); building it again from the store`);
    await fsp.rm(final, { recursive: true, force: true });
  }
  await fsp.mkdir(dataDir.deploymentsDir, { recursive: true });
  const temp = tempName(final);
  try {
    const result = await populate(repo, temp, tree, owner, progress);
    failpoint('deploy-before-rename');
    await fsp.rename(temp, final);
    fsyncDirSync(dataDir.deploymentsDir);
    return { path: final, reused: false, builtAt: new Date().toISOString(), ...result };
  } catch (err) {
    await fsp.rm(temp, { recursive: true, force: true });
    explainSystemError(err, 'building the new deployment', temp);
  }
}

async function populate(repo: Repository, root: string, tree: Tree, owner: Owner | undefined, progress: Progress) {
  fs.mkdirSync(root, { mode: DEPLOYMENT_DIR_MODE });
  // mkdir's mode is masked by the umask, and a directory inherits setgid from a setgid parent:
  // when the first one did not come out exactly 0755, every one is set explicitly.
  const exact = (fs.statSync(root).mode & 0o7777) === DEPLOYMENT_DIR_MODE;
  if (!exact) fs.chmodSync(root, DEPLOYMENT_DIR_MODE);
  // The directories are made with the links, on the store's threads: each batch names the
  // directories its files are the first to need and, again, the others its files go in (the
  // batch that made one may still be at work on the other thread). A file copied here has its
  // directory made here: the batch that names it may not have gone out yet.
  const climb = new DirectoryClimb();
  let batchDirectories: string[] = [];
  let batchParent: string | undefined;
  const enterBatch = (path: string) => {
    const slash = path.lastIndexOf('/');
    if (slash < 0) return;
    const parent = path.slice(0, slash);
    if (parent === batchParent) return;
    batchParent = parent;
    const known = batchDirectories.length;
    climb.enter(path, batchDirectories); // new ones, parents first: `parent` last
    if (batchDirectories.length === known) batchDirectories.push(parent);
  };
  const makeDirectoryOf = (path: string) => {
    climb.enter(path);
    const slash = path.lastIndexOf('/');
    if (slash > 0) makeDirectory(root, path.slice(0, slash), DEPLOYMENT_DIR_MODE, !exact);
  };
  progress.phase('building deployment', { files: tree.entries.length, bytes: 0 });
  let linked = 0;
  let copied = 0;
  let warned = false;
  const copy = (i: number) => {
    const entry = tree.entries[i]!;
    if (!warned && entry.mode !== EXECUTABLE_MODE) {
      progress.warn(`this filesystem refuses hardlinks into the object store; copying files instead (uses as much space again)`);
      warned = true;
    }
    const source = repo.objects.path(entry.id);
    const target = join(root, entry.path);
    try {
      copyFile(source, target, entry.mode === EXECUTABLE_MODE ? 0o555 : 0o444);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !fs.existsSync(source)) throw new ObjectMissing(entry.id, entry.path);
      throw err;
    }
    if (owner) fs.lchownSync(target, owner.uid, owner.gid);
    copied++;
  };
  // The links are made on the store's threads, a batch each, side by side: one link per file
  // is all a deployment costs, and two cores make them twice as fast as one. A link the
  // filesystem refuses is copied here instead; an object missing from the store is ObjectMissing.
  const pool = StoreThreads.forWork(tree.entries.length);
  const send = async (indices: number[]) => {
    const directories = batchDirectories;
    batchDirectories = [];
    batchParent = undefined;
    const reply = await pool.link({
      objectsDir: repo.layout.objectsDir,
      targetDir: root,
      directories: directories.join('\0'),
      directoryMode: DEPLOYMENT_DIR_MODE,
      chmodDirectories: !exact,
      count: indices.length,
      ids: indices.map((i) => tree.entries[i]!.id).join(''),
      paths: indices.map((i) => tree.entries[i]!.path).join('\0'),
      owner: owner ? { uid: owner.uid, gid: owner.gid } : null,
    });
    if (reply.directoryFailure !== null) throw reportedError(reply.directoryFailure);
    const failed = new Set<number>();
    for (const failure of reply.failures) {
      const i = indices[failure.index]!;
      const entry = tree.entries[i]!;
      const err = reportedError(failure);
      if (failure.code === 'ENOENT' && !fs.existsSync(repo.objects.path(entry.id))) throw new ObjectMissing(entry.id, entry.path);
      if (!cannotLink(err)) throw err;
      copy(i);
      failed.add(i);
    }
    linked += indices.length - failed.size;
    progress.advance(indices.length, 0);
    failpoint('deploy-batch');
  };
  const queue = pool.batches(LINK_BATCH, send);
  try {
    for (let i = 0; i < tree.entries.length; i++) {
      const entry = tree.entries[i]!;
      // Executable files need their own inode: the shared object is read-only, not executable.
      if (entry.mode === EXECUTABLE_MODE) {
        makeDirectoryOf(entry.path);
        copy(i);
        progress.advance(1, 0);
      } else {
        enterBatch(entry.path);
        const sent = queue.add(i);
        if (sent) await sent;
      }
    }
    await queue.finish();
  } finally {
    await queue.settled();
    await pool.close();
  }
  if (owner) for (const dir of ['', ...climb.directories]) fs.lchownSync(join(root, dir), owner.uid, owner.gid);
  // One filesystem sync for the whole tree (every link, copy and directory), before its rename makes it count.
  syncFilesystem(root);
  return { linked, copied };
}

/**
 * A kept deployment being switched to again, with --owner: every entry gets that owner
 * (hardlinked files share their inode with the store, so the objects do too). Entries
 * are lstat'ed and changed only where they differ; on the way, write-for-group/others and
 * setuid/setgid/sticky bits someone added are dropped, as they never belong in the data.
 */
function reown(root: string, owner: Owner, progress: Progress): void {
  let fixedModes = 0;
  const fix = (path: string) => {
    const st = fs.lstatSync(path);
    if (st.uid !== owner.uid || st.gid !== owner.gid) fs.lchownSync(path, owner.uid, owner.gid);
    // After the chown: changing the owner may clear setuid/setgid, and chmod must come last to win.
    if (unsafeBits(st.mode)) {
      fs.chmodSync(path, safeMode(st.mode));
      fixedModes++;
    }
  };
  fix(root);
  for (const { path, dirent } of walkEntries(root)) if (dirent.isFile() || dirent.isDirectory()) fix(join(root, path));
  if (fixedModes > 0) progress.warn(`${fixedModes} files and directories of ${root} were writable by group or others or had setuid, setgid or sticky bits; those bits were removed`);
}

/**
 * Why the directory at `root` is not the deployment of `tree`, or undefined when it is: a
 * real directory (lstat: a link in its place is refused, not followed) holding every path of
 * the tree as a regular file of its size, and nothing else, as `verify` checks it
 * (verifyTreeOnDisk, on the store's threads): a link anywhere in it is something else, so a
 * mismatch. Contents are not re-hashed here (that is `verify --deep`).
 */
export async function deploymentMismatch(root: string, tree: Tree, progress: Progress): Promise<string | undefined> {
  const st = fs.lstatSync(root);
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a directory';
  const problems = await verifyTreeOnDisk(root, tree, false, progress);
  if (problems.length === 0) return undefined;
  const first = problems[0]!;
  return `${first.path}: ${first.detail}${problems.length > 1 ? `; ${problems.length - 1} more problems` : ''}`;
}

/**
 * An object the tree names is not in the store. Building a deployment is where this shows
 * (its link fails), so callers need no pass of their own over the tree beforehand; apply
 * turns it into the right blame (the bundle, or the store).
 */
export class ObjectMissing extends AirlockError {
  constructor(
    readonly id: ObjectId,
    readonly path: string,
  ) {
    super('DATA_DIR_DAMAGED', `object ${shortId(id)} of ${path} is missing from the store`, {
      where: path,
      hint: 'the store lost files; run `airlock verify --deep` to see which, then apply a full bundle with --force-full',
    });
  }
}

/** Made durable with the rest of the tree by the filesystem sync in populate(). */
function copyFile(source: string, target: string, mode: number): void {
  fs.copyFileSync(source, target, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(target, mode);
}
