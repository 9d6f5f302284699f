import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AirlockError, isAirlockError } from '../errors.js';
import { join } from 'node:path';
import type { SnapshotId, Tree } from '../core/manifest.js';
import { buildDeployment } from '../deployment/buildDeployment.js';
import { DataDir } from '../deployment/dataDir.js';
import { switchDeployment } from '../deployment/switchDeployment.js';
import type { Progress } from '../core/progress.js';
import { Repository } from '../repository/repository.js';

/**
 * The online repository also shows its newest snapshot as a plain tree, `<repo>/current`,
 * the directory an admin knows from the seed's downloader (and can point R or rsync at).
 * It is built and switched exactly like an offline deployment: hardlinks into the store,
 * then one rename of the symlink; older views are removed afterwards.
 */
export const VIEW_NAME = 'current';
const VIEW_STATE = 'published';

export function repositoryView(repo: Repository): DataDir {
  return new DataDir(join(repo.root, VIEW_NAME), join(repo.root, VIEW_STATE));
}

export async function publishView(repo: Repository, id: SnapshotId, tree: Tree, progress: Progress): Promise<string> {
  const view = repositoryView(repo);
  if (view.currentDeployment() !== id) {
    await buildDeployment(repo, view, id, tree, undefined, progress);
    switchDeployment(view, id);
  }
  for (const name of await fsp.readdir(view.deploymentsDir)) {
    if (name !== id) await fsp.rm(join(view.deploymentsDir, name), { recursive: true, force: true });
  }
  return view.path;
}

/**
 * The tree `validate` reads for a --destination: an airlock repository's current view, or
 * the directory itself when it is any other layout tree (an offline data dir, a copy).
 */
export async function layoutRootOf(destination: string): Promise<string> {
  let repo: Repository;
  try {
    repo = await Repository.open(destination);
  } catch (err) {
    if (isAirlockError(err) && err.code === 'NOT_A_REPOSITORY') return existingDirectory(destination);
    throw err;
  }
  const view = repositoryView(repo);
  if (view.currentDeployment() === undefined) {
    throw new AirlockError('NOT_FOUND', `the repository ${destination} has no downloaded snapshot yet`, {
      where: destination,
      hint: `run \`airlock get cran --destination ${destination}\` first`,
    });
  }
  return view.path;
}

function existingDirectory(path: string): string {
  let ok = false;
  try {
    ok = fs.statSync(path).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new AirlockError('NOT_FOUND', `${path} is not a directory`, { where: path, hint: 'give --destination the download directory or the offline data dir' });
  return path;
}
