import * as fsp from 'node:fs/promises';
import { AirlockError, errnoCode } from '../errors.js';
import { assertReceiptSize, decodeReceipt, RECEIPT_MAGIC, startsWithReceiptMagic, type DecodedReceipt } from '../core/receipt.js';

/**
 * A receipt on the drive: told apart from a snapshot name by its magic, read whole (it is
 * bounded by RECEIPT_LIMITS) and decoded by the pure format in src/core/receipt.ts.
 */
export async function readReceipt(path: string): Promise<DecodedReceipt> {
  let bytes: Buffer;
  try {
    const handle = await fsp.open(path, 'r');
    try {
      const { size } = await handle.stat();
      assertReceiptSize(size, path);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new AirlockError('NOT_FOUND', `the receipt ${path} does not exist`, { where: path, hint: 'check the path on the drive' });
    throw err;
  }
  return decodeReceipt(bytes, path);
}

/** 'receipt', 'other-file' (a regular file without the magic) or 'none' (no such file, a directory). */
export async function fileKind(path: string): Promise<'receipt' | 'other-file' | 'none'> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch {
    return 'none';
  }
  try {
    if (!(await handle.stat()).isFile()) return 'none';
    const head = Buffer.alloc(RECEIPT_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return startsWithReceiptMagic(head.subarray(0, bytesRead)) ? 'receipt' : 'other-file';
  } catch {
    return 'none';
  } finally {
    await handle.close();
  }
}
