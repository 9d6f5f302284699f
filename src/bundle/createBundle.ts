import { largestChanges, type SizedChange } from '../core/packages.js';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import type { SnapshotRecord, VerifiedTree } from '../core/manifest.js';
import { AirlockError } from '../errors.js';
import { assertOutputDirectory } from '../fs/outputPath.js';
import type { Progress } from '../core/progress.js';
import type { Repository } from '../repository/repository.js';
import { loadPrivateKey } from '../trust/keys.js';
import { planBundle } from '../core/bundle/plan.js';
import type { BundleFormat } from '../core/bundle/format.js';
import { checkStartAgainstTarget, resolveStartingPoint, type StartingPoint } from './startingPoint.js';
import { volumeFileName } from '../core/bundle/volume.js';
import { writeBundle, type BundleWriteResult } from './writeBundle.js';
import { removeLeftovers } from './byteSink.js';

export interface CreateBundleOptions {
  snapshot: string;
  startingSnapshot: string | undefined;
  output: string;
  progress: Progress;
  /** A NAME.key file: the seal is signed with it. */
  signWith?: string | undefined;
  /** Cut into volumes of at most this many bytes (OUTPUT.001, .002, ...). */
  volumeSize?: number | undefined;
  /** The newest bundle format the receiver reads: 1 for an airlock older than packs (default 2). */
  format?: BundleFormat | undefined;
}

/** What to write, with the snapshot not yet chosen (`export` defaults it to the one shown). */
export type BundleWriteOptions = Omit<CreateBundleOptions, 'snapshot'> & { snapshot: string | undefined };

export interface CreateBundleResult extends BundleWriteResult {
  changes: ReturnType<typeof planBundle>['changes'];
  /** The ten added or updated packages with the largest new archives. */
  largest: SizedChange[];
}

/**
 * A bundle never overwrites one: neither the file nor, when cut into volumes, its first
 * volume. `get --bundle` asks before it downloads, so a drive with an old bundle on it
 * fails in a second, not after hours.
 */
export function assertBundleOutputFree(output: string, volumeSize: number | undefined, flag = '--output'): void {
  assertOutputDirectory(output, flag);
  const taken = [output, ...(volumeSize === undefined ? [] : [volumeFileName(output, 1)])].find((path) => fs.existsSync(path));
  if (taken === undefined) return;
  throw new AirlockError('USAGE', `${taken} already exists`, {
    where: taken,
    hint: `choose another ${flag} name, or remove the old bundle first`,
  });
}

/** Resolves the snapshots, plans what the receiver lacks and writes the bundle. */
export async function createBundle(repo: Repository, options: CreateBundleOptions): Promise<CreateBundleResult> {
  assertBundleOutputFree(options.output, options.volumeSize);
  // A key that cannot be read should fail before a 100 GB bundle is written, not after.
  const signer = loadSigner(options.signWith);
  const record = await repo.snapshots.resolve(options.snapshot);
  // With its bytes: they go into the bundle as read (the tree's canonical form), not encoded again.
  const verified = await repo.snapshots.loadVerifiedTree(record.id);
  // A snapshot of this repository, or a receipt file from the offline side (which carries its tree).
  const start = options.startingSnapshot === undefined ? null : await resolveStartingPoint(repo, options.startingSnapshot);
  return bundleSnapshot(repo, { record, verified }, start, options, signer);
}

/** The private key of `--sign`, read once per command, before any long work. */
export function loadSigner(signWith: string | undefined): KeyObject | undefined {
  return signWith === undefined ? undefined : loadPrivateKey(signWith).key;
}

/** Where and how a bundle is written: the output, its volumes, progress. */
export type BundleOutput = Pick<CreateBundleOptions, 'output' | 'progress' | 'volumeSize' | 'format'>;

/**
 * Writes the bundle that brings a receiver holding `start` (everything, when null) to
 * `target`: snapshots already resolved and trees already loaded by the caller (`get` has
 * just composed the tree it bundles), the target's with its canonical bytes, which go into
 * the bundle as they are.
 */
export async function bundleSnapshot(
  repo: Repository,
  target: { record: SnapshotRecord; verified: VerifiedTree },
  start: StartingPoint | null,
  output: BundleOutput,
  signer: KeyObject | undefined,
): Promise<CreateBundleResult> {
  if (start) checkStartAgainstTarget(start, target.record);
  if (start && start.base.id === target.record.id) {
    throw new AirlockError('USAGE', `--snapshot and --starting-snapshot are the same snapshot (${target.record.id.slice(0, 12)}); there is nothing to carry`, {
      hint: 'the offline side already has this snapshot',
    });
  }
  const { tree, encoded } = target.verified;
  const plan = planBundle(target.record, tree, start?.base ?? null, start?.baseTree ?? null);
  for (const path of await removeLeftovers(output.output)) output.progress.warn(`removed ${path}, left by an interrupted bundle write`);
  const written = await writeBundle(repo, plan, encoded, output.output, output.progress, { signer, volumeSize: output.volumeSize, format: output.format });
  return { ...written, changes: plan.changes, largest: largestChanges(plan.changes.packages, tree) };
}
