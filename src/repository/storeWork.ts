import * as fs from 'node:fs';
import { join } from 'node:path';
import { hashBytes } from '../core/objectId.js';
import { errnoCode } from '../errors.js';
import { tempName } from '../fs/durable.js';
import { OBJECT_MODE, type IngestReply, type IngestRequest, type IngestResult, type LinkReply, type LinkRequest, type ReadReply, type ReadRequest, type ReadResult } from './storeThreadMessages.js';

/**
 * The store's batch work (storeThreads.ts), done on one of its threads or, for a small
 * batch of work, on the main thread. Ingest: per file one open, read and close, the BLAKE3,
 * a look for the object, and a temp file holding its bytes. The thread never names an object: the temp becomes one only in the store's
 * flush, on the main thread, after the batch is durable. Synchronous calls on purpose: on
 * this thread they block nothing else, and a threadpool round trip each would cost more.
 */
export function ingest(request: IngestRequest): IngestReply {
  const results: IngestResult[] = [];
  for (const source of request.files) {
    try {
      results.push(ingestOne(source, request));
    } catch (err) {
      results.push({ kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message });
    }
  }
  return { batch: request.batch, results };
}

/**
 * A file expected to be `size` bytes, read with one open, read and close: a byte more is
 * asked for, so a longer file comes back longer (no fstat, no read to find the end).
 */
export function readUpTo(path: string, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  const fd = fs.openSync(path, 'r');
  try {
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = fs.readSync(fd, buffer, length, buffer.length - length, null);
  } finally {
    fs.closeSync(fd);
  }
  return buffer.subarray(0, length);
}

function ingestOne(source: { path: string; size: number }, request: IngestRequest): IngestResult {
  const data = readUpTo(source.path, source.size);
  // It grew since the walk: the main thread streams it instead.
  if (data.length > source.size) return { kind: 'large' };
  const id = hashBytes(data);
  if (fs.statSync(join(request.objectsDir, id.slice(0, 2), id), { throwIfNoEntry: false }) !== undefined) return { kind: 'present', id, size: data.length };
  const temp = tempName(`${request.tmpDir}/object`);
  try {
    fs.writeFileSync(temp, data, { flag: 'wx', mode: OBJECT_MODE });
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  return { kind: 'written', id, size: data.length, temp };
}

/** Reads a batch of objects into one buffer (transferred, not copied, back), hashing each. */
export function read(request: ReadRequest): ReadReply {
  const total = request.objects.reduce((sum, o) => sum + o.size, 0);
  const buffer = Buffer.allocUnsafeSlow(total);
  const results: ReadResult[] = [];
  let offset = 0;
  for (const object of request.objects) {
    try {
      // The first `size` bytes are hashed (a shorter file hashes short and fails the caller's
      // check); a longer one is flagged, so an intact object with bytes added says so.
      const data = readUpTo(object.path, object.size);
      const kept = data.subarray(0, object.size);
      kept.copy(buffer, offset);
      results.push({ kind: 'read', offset, actual: hashBytes(kept), longer: data.length > object.size });
    } catch (err) {
      results.push({ kind: 'error', code: errnoCode(err) ?? null, message: (err as Error).message });
    }
    offset += object.size;
  }
  return { batch: request.batch, buffer: buffer.buffer as ArrayBuffer, results };
}

/** Makes a batch of hardlinks (and gives each the owner); a link that fails is reported, the others go on. */
export function link(request: LinkRequest): LinkReply {
  const failures: LinkReply['failures'] = [];
  request.pairs.forEach(([source, target], index) => {
    try {
      fs.linkSync(source, target);
      if (request.owner) fs.lchownSync(target, request.owner.uid, request.owner.gid);
    } catch (err) {
      failures.push({ index, code: errnoCode(err) ?? null, message: (err as Error).message });
    }
  });
  return { batch: request.batch, failures };
}
