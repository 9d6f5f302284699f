import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { AirlockError, errnoCode } from '../errors.js';
import { encodeReceipt, type Receipt } from '../core/receipt.js';
import { decodeTree, newestRecord, treeTotals, type SnapshotRecord } from '../core/manifest.js';
import { hashBytes, shortId } from '../core/objectId.js';
import { writeFileDurable } from '../fs/durable.js';
import { TrustStore } from '../trust/trustStore.js';
import { TOOL_NAME } from '../version.js';
import { withOfflineSession } from './session.js';

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
export async function writeReceipt(dataDirPath: string, output: string): Promise<WriteReceiptResult> {
  const out = resolve(output);
  assertWritable(out);
  return withOfflineSession(dataDirPath, 'receipt', async ({ dataDir, repo, state, recovered }) => {
    const current = dataDir.assertManaged();
    const treePath = repo.layout.treePath(current);
    let encodedTree: Buffer;
    try {
      encodedTree = await fsp.readFile(treePath);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      throw damaged(`the current snapshot ${shortId(current)} has no tree in ${repo.root}`, treePath);
    }
    if (hashBytes(encodedTree) !== current) throw damaged(`the tree of the current snapshot ${shortId(current)} is damaged (its bytes no longer hash to its name)`, treePath);
    const tree = decodeTree(encodedTree);
    const writtenAt = new Date().toISOString();
    const records = (await repo.snapshots.records()).filter((r) => r.id === current);
    const newest = newestRecord(records);
    // The index should always hold a record of what was applied; without one, the tree alone still makes a usable base.
    const snapshot: SnapshotRecord = newest ?? {
      id: current,
      sequence: 0,
      label: null,
      parent: null,
      createdAt: [...state.history].reverse().find((h) => h.snapshot === current)?.at ?? writtenAt,
      ...treeTotals(tree),
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
    const bytes = encodeReceipt(receipt, encodedTree);
    assertWritable(out);
    await writeFileDurable(out, bytes, 0o644);
    return { output: out, bytes: bytes.length, receipt, recovered };
  });
}

function assertWritable(out: string): void {
  if (fs.existsSync(out)) {
    throw new AirlockError('USAGE', `${out} already exists; airlock does not overwrite a receipt`, {
      where: out,
      hint: 'choose another --output name, or remove the old receipt first',
    });
  }
  let parent: fs.Stats | undefined;
  try {
    parent = fs.statSync(dirname(out));
  } catch {
    parent = undefined;
  }
  if (!parent?.isDirectory()) {
    throw new AirlockError('USAGE', `the directory of --output, ${dirname(out)}, does not exist`, {
      where: out,
      hint: 'mount the drive, or create the directory first',
    });
  }
}

function damaged(message: string, where: string): AirlockError {
  return new AirlockError('DATA_DIR_DAMAGED', message, {
    where,
    hint: 'run `airlock verify --deep` to see what else is damaged; `airlock rollback` to a kept snapshot, or apply a full bundle of a newer snapshot with --force-full, which brings lost files back',
  });
}
