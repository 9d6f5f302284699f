import type { PublicKeyFile } from '../trust/keys.js';
import { TrustStore } from '../trust/trustStore.js';
import { checkSignatures, requireTrustedSignature } from '../trust/checkSignatures.js';
import * as fsp from 'node:fs/promises';
import { basename } from 'node:path';
import { AirlockError, explainSystemError } from '../errors.js';
import type { BundleHeader } from '../core/bundle/format.js';
import { summariseChanges, type BundleChanges } from '../core/bundle/changes.js';
import { diffEncodedTrees, diffTrees } from '../core/diff.js';
import { diffPackages, largestChanges, type PackageChange, type SizedChange } from '../core/packages.js';
import type { Tree, VerifiedTree } from '../core/manifest.js';
import { shortId, type ObjectId, namedSnapshot } from '../core/objectId.js';
import { formatBytes, count } from '../core/units.js';
import { failpoint } from '../fs/failpoint.js';
import { onInterrupt } from '../fs/interrupt.js';
import type { Progress } from '../core/progress.js';
import { openBundleInput, type BundleInput } from '../bundle/bundleInput.js';
import { peekSeal } from '../bundle/peekSeal.js';
import { readBundle } from '../bundle/readBundle.js';
import { Staging } from './staging.js';
import type { Repository } from '../repository/repository.js';
import { assertTreeFits, buildDeployment, ObjectMissing } from '../deployment/buildDeployment.js';
import type { DataDir } from '../deployment/dataDir.js';
import type { Owner } from '../deployment/accounts.js';
import { probeFilesystem } from '../deployment/probeFilesystem.js';
import type { OfflineSession } from './session.js';
import { switchDeployment } from '../deployment/switchDeployment.js';
import { holding } from '../repository/holding.js';
import { recordSnapshot } from '../repository/recordSnapshot.js';
import { judgeSequence, type ShownSnapshot } from '../core/antiRollback.js';

export interface ApplyOptions {
  /** The bundle file, or all its volumes in any order. */
  bundle: string[];
  forceFull: boolean;
  owner: Owner | undefined;
  progress: Progress;
  /** Apply a bundle no trusted key signed (said loudly). */
  allowUnsigned: boolean;
  /** Apply a bundle whose sequence is not above the highest applied. */
  allowDowngrade: boolean;
}

export interface ApplyResult {
  from: string | null;
  fromLabel: string | null;
  /** What the switch changed in the served tree, against what was shown before. */
  changes: BundleChanges;
  largest: SizedChange[];
  to: string;
  label: string | null;
  objectsImported: number;
  /** With --force-full: objects the store had, damaged, replaced by the bundle's. */
  objectsRepaired: number;
  objectsAlreadyPresent: number;
  files: number;
  linked: number;
  copied: number;
  /** Trusted keys whose signature verified. */
  signedBy: string[];
  /** Signers this host does not trust (their signatures could not be checked). */
  unknownSigners: string[];
}

/** Free space kept beyond what the bundle needs, so the filesystem is not filled to the brim. */
const SPACE_MARGIN = 64 * 1024 * 1024;

/**
 * verify everything -> import objects -> build the next deployment -> one atomic
 * switch. The live tree is not touched until the switch, and the switch happens only
 * after the whole bundle checked out and the new tree is on disk and fsynced.
 */
export async function applyBundle(session: OfflineSession, options: ApplyOptions): Promise<ApplyResult> {
  const { dataDir } = session;
  const current = dataDir.currentDeployment() ?? null;
  // Only nothing (or an empty directory) may become the data dir: a copy by hand is adopted, and a
  // file or a link airlock did not make is left as it is.
  if (current === null && !['absent', 'empty-directory'].includes(dataDir.kind())) dataDir.assertManaged();
  const trusted = await new TrustStore(dataDir.trustPath).keys();
  // Each file of the bundle is opened once: the early seal check and the full read share it.
  const input = await openBundleInput(options.bundle);
  try {
    await refuseEarlyWithoutTrustedSigner(input, options, trusted);
    return await applyInput(session, input, options, trusted, current);
  } finally {
    await input.close();
  }
}

async function applyInput(session: OfflineSession, input: BundleInput, options: ApplyOptions, trusted: Map<string, PublicKeyFile>, current: string | null): Promise<ApplyResult> {
  const { dataDir, repo } = session;
  const abilities = probeFilesystem(repo.layout.tmpDir);
  if (!abilities.hardlinks) options.progress.warn(`the filesystem of ${dataDir.stateDir} refuses hardlinks; deployments will be full copies`);
  const currentRecord = current === null ? undefined : await repo.snapshots.newestRecordOf(current);
  const shown = current === null ? null : { id: current, sequence: currentRecord?.sequence ?? 0 };
  const staging = new Staging(repo, options.forceFull);
  /**
   * What this run added before the snapshot counts (its tree, not yet recorded; its deployment,
   * not yet switched to): removed again if the run fails or is stopped, so a refused bundle
   * leaves the state as it was.
   */
  let unrecordedTree: string | null = null;
  let unswitched: string | null = null;
  const removeUnfinished = async () => {
    for (const path of [unswitched, unrecordedTree]) if (path !== null) await fsp.rm(path, { recursive: true, force: true });
  };
  // Stopped by Ctrl-C or SIGTERM: the objects imported so far are made durable, for the next run to resume with.
  const forget = onInterrupt(async () => {
    const kept = staging.interrupt();
    await repo.objects.flush();
    await removeUnfinished();
    return `kept the ${count(kept, 'object')} imported so far; the next apply of this bundle does not write them again`;
  });
  let header!: BundleHeader;
  let target!: VerifiedTree;
  try {
    const read = await readBundle(input, {
      onHeader: async (h) => {
        header = h;
        if (h.to !== current) checkSequence(h, shown, session.state.highestSequence, options, dataDir);
        await checkBase(h, current, currentRecord?.label ?? null, options, dataDir, repo);
        await checkSpace(dataDir, h, abilities.hardlinks);
        staging.start(h.objects);
      },
      onTree: (verified) => {
        assertTreeFits(dataDir, verified.tree);
        target = verified;
      },
      openObject: (id, size) => staging.open(id, size),
      progress: options.progress,
    });
    const where = options.bundle[0]!;
    const signatures = checkSignatures(read.seal!, trusted, where);
    requireTrustedSignature(signatures, trusted.size, options.allowUnsigned, where, (m) => options.progress.warn(m));
    failpoint('apply-after-verify');
    // What the switch changes (the tree shown now against the bundle's): the tree shown now is
    // read and compared while the objects are flushed to disk, which leaves the main thread
    // waiting (with nothing shown, every file is added: worked out here at once). Nothing after
    // the switch may fail the apply, so it is awaited before the switch.
    const changing = changesOf(repo, current, target);
    changing.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    await staging.commit();
    // The tree is saved first (a tree without a record is inert), so a deployment is never
    // without its tree. The deployment is built before the snapshot is recorded: the build
    // links every file, and an object the tree names that is not in the store shows there,
    // without a pass of its own over the tree.
    if (!(await repo.snapshots.hasTree(header.to))) unrecordedTree = repo.layout.treePath(header.to);
    await repo.snapshots.saveTree(target);
    const built = await buildDeployment(repo, dataDir, header.to, target.tree, options.owner, options.progress).catch(async (err: unknown) => {
      if (err instanceof ObjectMissing) await blameMissing(repo, target.tree, header, options.bundle[0]!);
      throw err;
    });
    if (!built.reused) unswitched = built.path;
    staging.accepted = true;
    const { changes, packages } = await changing;
    await recordSnapshot(repo, { kind: 'received', record: { id: header.to, ...header.target } });
    unrecordedTree = null;
    failpoint('apply-before-switch');
    // Never removed from here on: a switch that failed after its rename has made it live.
    unswitched = null;
    switchDeployment(dataDir, header.to);
    const state = session.state;
    state.highestSequence = Math.max(state.highestSequence, header.target.sequence);
    await dataDir.recordSwitch(state, { snapshot: header.to, action: 'apply', at: new Date().toISOString(), bundle: basename(options.bundle[0]!) }, built.builtAt);
    await staging.discard();
    return {
      from: current,
      fromLabel: currentRecord?.label ?? null,
      changes,
      largest: largestChanges(packages, target.tree),
      to: header.to,
      label: header.target.label,
      objectsImported: staging.committed,
      objectsRepaired: repo.objects.repaired,
      objectsAlreadyPresent: read.objects - staging.committed,
      files: target.tree.entries.length,
      linked: built.linked,
      copied: built.copied,
      signedBy: signatures.validBy,
      unknownSigners: signatures.unknownKeys,
    };
  } catch (err) {
    await removeUnfinished();
    await staging.undo();
    explainSystemError(err, 'applying the bundle', dataDir.stateDir);
  } finally {
    forget();
  }
}

/**
 * What replacing the tree shown now (`current`; null: nothing) by `target` changes, by file and
 * by package: the tree shown now is read as bytes, only its rows that differ decoded.
 */
async function changesOf(repo: Repository, current: string | null, target: VerifiedTree): Promise<{ changes: BundleChanges; packages: PackageChange[] }> {
  const files = current === null ? diffTrees({ entries: [] }, target.tree) : diffEncodedTrees(await repo.snapshots.loadTreeBytes(current), target);
  const packages = diffPackages(target.tree, current === null ? null : files);
  return { changes: summariseChanges(files, packages), packages };
}

async function checkBase(header: BundleHeader, current: string | null, currentLabel: string | null, options: ApplyOptions, dataDir: DataDir, repo: Repository): Promise<void> {
  if (header.to === current) {
    throw new AirlockError('ALREADY_APPLIED', `snapshot ${namedSnapshot(shortId(header.to), header.target.label)} is already the current one`, {
      where: dataDir.path,
      hint: 'nothing to do; `airlock status` shows what is applied',
    });
  }
  if (header.from === null) {
    if (current === null || options.forceFull) return;
    throw new AirlockError('BASE_MISMATCH', `this is a full bundle, but the data dir already holds snapshot ${namedSnapshot(shortId(current), currentLabel)}`, {
      where: dataDir.path,
      hint: 'apply it anyway with --force-full (objects already present are not copied again), or ask for a delta: `airlock bundle create --snapshot ' +
        `${shortId(header.to)} --starting-snapshot ${current}\``,
    });
  }
  if (header.from === current) return;
  // Not the snapshot shown, but one this data dir still holds completely (the unpruned parent of
  // a prune-schema snapshot, or the newer snapshot a rollback left): the delta has everything it
  // needs, so it applies, and the bundle's target replaces what is shown now.
  const base = current === null ? undefined : await holding(repo, header.from);
  if (base?.complete) {
    options.progress.warn(
      `this bundle updates snapshot ${shortId(header.from)}, which this data dir holds but does not show; ` +
        `once it checks out, the current snapshot ${namedSnapshot(shortId(current!), currentLabel)} is replaced by ${namedSnapshot(shortId(header.to), header.target.label)} ` +
        `(\`airlock rollback --to ${shortId(current!)}\` returns to it)`,
    );
    return;
  }
  const have = current === null ? 'nothing (an empty data dir)' : `snapshot ${namedSnapshot(current, currentLabel)}`;
  const lost = base?.recorded ? `; it held ${shortId(header.from)} once, but ${base.missing} of its files were garbage-collected` : '';
  throw new AirlockError('BASE_MISMATCH', `this bundle updates snapshot ${header.from}, but the data dir holds ${have}${lost}`, {
    where: dataDir.path,
    hint:
      current === null
        ? `apply a full bundle first: on the online host run \`airlock bundle create --repo R --snapshot ${header.to} --output F\``
        : `on the online host run \`airlock bundle create --repo R --snapshot ${header.to} --starting-snapshot ${current} --output F\`, ` +
          `or carry a receipt across (\`airlock receipt --data-dir ${dataDir.path} --output R\` here, then \`--starting-snapshot R\` there)`,
  });
}

/**
 * On a host that trusts keys, a bundle whose seal does not even name a trusted signer is
 * refused before its objects are read (the seal is last, and a bundle can be hundreds of
 * gigabytes). A seal that does name one is only a claim here: the signature is verified
 * after the full read, as always.
 */
async function refuseEarlyWithoutTrustedSigner(input: BundleInput, options: ApplyOptions, trusted: Map<string, unknown>): Promise<void> {
  if (trusted.size === 0 || options.allowUnsigned) return;
  const seal = await peekSeal(input);
  if (seal === undefined) return;
  const keyids = seal.signatures.map((s) => s.keyid);
  const claimed = { validBy: keyids.filter((k) => trusted.has(k)), unknownKeys: keyids.filter((k) => !trusted.has(k)) };
  requireTrustedSignature(claimed, trusted.size, false, options.bundle[0]!, (m) => options.progress.warn(m));
}

/**
 * Anti-rollback, as TUF has it: a bundle must carry a snapshot newer than any applied
 * here, so an old (even validly signed) bundle cannot be replayed to bring back
 * yesterday's packages. Going back is `airlock rollback`, a deliberate local act. The one
 * exception, a local snapshot built on exactly what is shown, is judgeSequence's.
 */
function checkSequence(header: BundleHeader, shown: ShownSnapshot | null, highest: number, options: ApplyOptions, dataDir: DataDir): void {
  if (judgeSequence(header.target.sequence, header.from, shown, highest) !== 'not-newer') return;
  const what = `this bundle carries snapshot ${namedSnapshot(shortId(header.to), header.target.label)}, sequence ${header.target.sequence}, but sequence ${highest} was already applied here`;
  if (options.allowDowngrade) {
    options.progress.warn(`${what}; applying it anyway because --allow-downgrade was given`);
    return;
  }
  throw new AirlockError('DOWNGRADE', `${what}: it is older than, or the same as, what this host has had`, {
    where: dataDir.path,
    hint: 'to go back to a kept snapshot use `airlock rollback --to ID`; to apply this bundle anyway pass --allow-downgrade',
  });
}

async function checkSpace(dataDir: DataDir, header: BundleHeader, hardlinks: boolean): Promise<void> {
  const stats = await fsp.statfs(dataDir.stateDir);
  const free = stats.bavail * stats.bsize;
  // Without hardlinks the new deployment is a copy of the whole tree, on top of the new objects.
  const needed = header.objects.bytes + (hardlinks ? 0 : header.target.bytes) + SPACE_MARGIN;
  if (free < needed) {
    throw new AirlockError('DISK_FULL', `the bundle needs ${formatBytes(needed)} on ${dataDir.stateDir} but only ${formatBytes(free)} is free`, {
      where: dataDir.stateDir,
      hint: 'free space there (`airlock gc --keep N` removes old deployments and their unshared objects), then apply again; nothing was changed',
    });
  }
}

/**
 * Whose fault objects missing from the store are, once the build found one: a delta relies on
 * its base's objects, so one missing is the bundle's fault when the base never had it (the
 * delta was written against another base, or altered and sealed again), the store's when the
 * base had it and it is gone.
 */
async function blameMissing(repo: Repository, tree: Tree, header: BundleHeader, bundle: string): Promise<void> {
  const missing = new Set<ObjectId>();
  for (const entry of tree.entries) if (!repo.objects.hasSync(entry.id)) missing.add(entry.id);
  if (missing.size === 0) return;
  const base = header.from === null ? null : await repo.snapshots.loadTree(header.from).catch(() => null);
  const inBase = new Set(base?.entries.map((e) => e.id) ?? []);
  const notCarried = [...missing].filter((id) => !inBase.has(id));
  if (notCarried.length > 0) {
    throw new AirlockError('BUNDLE_CORRUPT', `this bundle does not carry ${count(notCarried.length, 'object')} its snapshot ${shortId(header.to)} needs, which its base ${header.from === null ? '(none)' : shortId(header.from)} does not have either (for example ${shortId(notCarried[0]!)})`, {
      where: bundle,
      hint: 'the bundle was written against another base, or altered; write it again on the online host (`airlock bundle create --starting-snapshot` what `airlock status` shows here) and `bundle verify` the copy. Nothing was changed',
    });
  }
  throw new AirlockError('DATA_DIR_DAMAGED', `${count(missing.size, 'object')} of snapshot ${shortId(header.to)} that the base ${shortId(header.from!)} holds are missing from this data dir's store`, {
    where: repo.root,
    hint: 'the store lost files; run `airlock verify --deep` to see which, then apply a full bundle with --force-full',
  });
}
