import { AirlockError } from '../errors.js';
import { BundleReader, type BundleReadHandlers, type BundleReadResult } from '../core/bundle/reader.js';
import { openBundleInput, type BundleInput } from './bundleInput.js';

export type { BundleReadHandlers, BundleReadResult, ObjectSink } from '../core/bundle/reader.js';

/**
 * Reads and verifies a bundle in one streaming pass: every entry's name, order, size
 * and content, every object against its id, and finally the seal, which binds them all.
 * Nothing a sink receives is to be trusted (committed) before this resolves. Given paths,
 * it opens and closes them; given an input the caller opened (apply, which peeks at the
 * seal first), it reads that and leaves closing to the caller.
 */
export async function readBundle(files: BundleInput | string | string[], handlers: BundleReadHandlers = {}): Promise<BundleReadResult> {
  if (typeof files === 'string' || Array.isArray(files)) {
    const input = await openBundleInput(typeof files === 'string' ? [files] : files);
    try {
      return await readInput(input, handlers);
    } finally {
      await input.close();
    }
  }
  return readInput(files, handlers);
}

async function readInput(input: BundleInput, handlers: BundleReadHandlers): Promise<BundleReadResult> {
  const file = input.label;
  const reader = new BundleReader(file, handlers);
  const chunks = input.chunks();
  try {
    for await (const chunk of chunks) {
      if (await reader.push(chunk)) break;
    }
    if (!reader.stopped) await reader.finish();
  } catch (err) {
    await reader.abortOpenSink();
    if (err instanceof AirlockError && err.code.startsWith('BUNDLE_') && err.where !== undefined && !err.where.startsWith(file) && input.volumes === null) {
      throw new AirlockError(err.code, err.message, { where: `${file}: ${err.where}`, ...(err.hint ? { hint: err.hint } : {}), cause: err.cause });
    }
    const volume = input.locate(Math.max(0, reader.position - 1));
    if (volume !== null && err instanceof AirlockError && (err.code.startsWith('BUNDLE_') || err.code === 'OBJECT_CORRUPT') && !err.message.includes('volume')) {
      // Which volume to copy again is what the admin needs from an error in a set of volumes.
      throw new AirlockError(err.code, `${err.message} (in ${volume})`, { ...(err.where ? { where: err.where } : {}), ...(err.hint ? { hint: err.hint } : {}), cause: err.cause });
    }
    throw err;
  } finally {
    await chunks.return(undefined);
  }
  return { ...reader.result(), volumes: input.volumes?.length ?? 0 };
}

