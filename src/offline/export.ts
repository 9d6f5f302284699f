import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import { shortId, namedSnapshot } from '../core/objectId.js';
import { assertBundleOutputFree, bundleSnapshot, loadSigner, type BundleWriteOptions, type CreateBundleResult } from '../bundle/createBundle.js';
import { resolveStartingPoint } from '../bundle/startingPoint.js';
import { holding } from '../repository/holding.js';
import type { OfflineSession } from './session.js';

/** As `bundle create` takes them; the snapshot defaults to the one the data dir shows. */
export type ExportOptions = BundleWriteOptions;

export interface ExportResult extends CreateBundleResult {
  dataDir: string;
  recovered: string[];
}

/**
 * `airlock export`: a bundle written from an offline data dir, so a host that validated a
 * snapshot (staging) can hand exactly that snapshot on (production) without a raw copy.
 * The data dir's state directory is a repository like the online one, so this is
 * `bundle create`'s writer run on it (bundleSnapshot in src/bundle/createBundle.ts): the same planning, the same
 * bundle, every object verified against its id as it is read from the store, the target's
 * record (sequence, label, parent) carried as it was recorded here.
 *
 * It runs in the offline session (the command opens it), holding the data dir's lock for the whole write: the
 * bundle writer stages large objects in the repository's tmp/, which every other offline
 * command's recovery empties, and `gc` could remove objects being read. An apply, rollback
 * or gc started meanwhile is refused with LOCKED; `status` still answers (read-only).
 */
export async function exportBundle(session: OfflineSession, options: ExportOptions): Promise<ExportResult> {
  const { dataDir, repo, recovered } = session;
  refuseOutputInside(options.output, [dataDir.path, dataDir.stateDir]);
  const ref = options.snapshot ?? dataDir.assertManaged();
  const target = await repo.snapshots.resolve(ref);
  // Checked before anything is written: a snapshot gc has thinned cannot be carried.
  const held = await holding(repo, target.id);
  if (!held.complete) {
    throw new AirlockError('NOT_FOUND', `snapshot ${namedSnapshot(shortId(target.id), target.label)} can no longer be exported from ${dataDir.path}: ${held.recorded ? `${held.missing} of its files were garbage-collected` : 'its tree is not held here'}`, {
      where: repo.root,
      hint: '`airlock status` lists the deployments kept here; export one of those, or the current snapshot (no --snapshot)',
    });
  }
  assertBundleOutputFree(options.output, options.volumeSize);
  const signer = loadSigner(options.signWith);
  const start = options.startingSnapshot === undefined ? null : await resolveStartingPoint(repo, options.startingSnapshot);
  const written = await bundleSnapshot(repo, { record: target, verified: held.tree! }, start, options, signer);
  return { ...written, dataDir: dataDir.path, recovered };
}

/**
 * The data dir is a link into a live deployment, which must never change, and the state dir
 * is airlock's own: a bundle written into either would alter what the server reads or what
 * recovery cleans up.
 */
function refuseOutputInside(output: string, protectedDirs: string[]): void {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const target = join(real(dirname(resolve(output))), basename(output));
  for (const dir of protectedDirs.map(real)) {
    if (target === dir || target.startsWith(`${dir}/`)) {
      throw new AirlockError('USAGE', `--output ${output} is inside ${dir}, which airlock manages (the live data or its state)`, {
        where: output,
        hint: 'write the bundle to the drive or another directory, for example --output /media/usb/to-production.airlock',
      });
    }
  }
}
