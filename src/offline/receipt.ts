import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import { encodeReceipt, type Receipt } from '../core/receipt.js';
import { treeTotals, type SnapshotRecord, type VerifiedTree } from '../core/manifest.js';
import { shortId } from '../core/objectId.js';
import { writeFileDurable } from '../fs/durable.js';
import { assertOutputDirectory } from '../fs/outputPath.js';
import { TrustStore } from '../trust/trustStore.js';
import { TOOL_NAME } from '../version.js';
import type { OfflineSession } from './session.js';

export interface WriteReceiptResult {
  output: string;
  bytes: number;
  receipt: Receipt;
  recovered: string[];
}

/**
 * `airlock receipt`: what this data dir holds, for the drive back to the online side.
 * Reads the data dir (inside the usual session: lock, recovery) and writes only the
 * output file, atomically, never over an existing one.
 */
export async function writeReceipt(session: OfflineSession, output: string): Promise<WriteReceiptResult> {
  const { dataDir, repo, state, recovered } = session;
  const out = resolve(output);
  assertWritable(out);
  const current = dataDir.assertManaged();
  let verified: VerifiedTree;
  try {
    verified = await repo.snapshots.loadVerifiedTree(current);
  } catch (err) {
    if (!isAirlockError(err) || (err.code !== 'NOT_FOUND' && err.code !== 'OBJECT_CORRUPT')) throw err;
    const missing = err.code === 'NOT_FOUND';
    throw damaged(
      missing ? `the current snapshot ${shortId(current)} has no tree in ${repo.root}` : `the tree of the current snapshot ${shortId(current)} is damaged (its bytes no longer hash to its name)`,
      repo.layout.treePath(current),
    );
  }
  const writtenAt = new Date().toISOString();
  // The index should always hold a record of what was applied; without one, the tree alone still makes a usable base.
  const snapshot: SnapshotRecord = (await repo.snapshots.newestRecordOf(current)) ?? {
    id: current,
    sequence: 0,
    label: null,
    parent: null,
    createdAt: [...state.history].reverse().find((h) => h.snapshot === current)?.at ?? writtenAt,
    ...treeTotals(verified.tree),
  };
  const keys = await new TrustStore(dataDir.trustPath).list();
  const receipt: Receipt = {
    tool: TOOL_NAME,
    writtenAt,
    host: hostname(),
    dataDir: dataDir.path,
    snapshot,
    highestSequence: state.highestSequence,
    trustedKeys: keys.map(({ id, name, addedAt }) => ({ id, name, addedAt })),
  };
  const bytes = encodeReceipt(receipt, verified);
  assertWritable(out);
  await writeFileDurable(out, bytes, 0o644);
  return { output: out, bytes: bytes.length, receipt, recovered };
}

function assertWritable(out: string): void {
  if (fs.existsSync(out)) {
    throw new AirlockError('USAGE', `${out} already exists; airlock does not overwrite a receipt`, {
      where: out,
      hint: 'choose another --output name, or remove the old receipt first',
    });
  }
  assertOutputDirectory(out);
}

function damaged(message: string, where: string): AirlockError {
  return new AirlockError('DATA_DIR_DAMAGED', message, {
    where,
    hint: 'run `airlock verify --deep` to see what else is damaged; `airlock rollback` to a kept snapshot, or apply a full bundle of a newer snapshot with --force-full, which brings lost files back',
  });
}
