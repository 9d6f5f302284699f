import { parentPort, workerData } from 'node:worker_threads';
import { joinWriteback, writebackIdle } from '../fs/writeback.js';
import type { IngestRequest, LinkRequest, PlaceRequest, ReadRequest, StatRequest, StreamRequest } from './storeThreadMessages.js';
import { ingest, link, place, read, stat, streamStep, type StreamWriter } from './storeWork.js';

/** The streams open on this thread (downloads being written), by number. */
const streams = new Map<number, StreamWriter>();

const share = (workerData as { writeback?: SharedArrayBuffer } | null)?.writeback;
if (share) joinWriteback(share);

/** One of the store's threads (storeThreads.ts): answers each batch with storeWork.ts. */
// Loaded as a module anywhere else (the release check imports every module), it does nothing.
parentPort?.on('message', (request: IngestRequest | ReadRequest | LinkRequest | PlaceRequest | StatRequest | StreamRequest) => {
  const port = parentPort!;
  if (request.kind === 'stream') {
    const reply = streamStep(streams, request);
    // The slot goes back to the main thread with the answer, for its next bytes.
    if (reply) port.postMessage(reply, reply.slot ? [reply.slot] : []);
  } else if (request.kind === 'link') {
    // An empty batch is the one close() sends: answered once this thread's early syncs have
    // ended too, so stopping the thread leaves no descriptor of theirs open.
    if (request.count === 0) void writebackIdle().then(() => port.postMessage(link(request)));
    else port.postMessage(link(request));
  } else if (request.kind === 'stat') {
    const reply = stat(request);
    port.postMessage(reply, [reply.stats]);
  }
  else if (request.kind === 'read') {
    const reply = read(request);
    port.postMessage(reply, reply.buffer ? [reply.buffer] : []);
  } else if (request.kind === 'place') {
    // The batch's memory goes back for the next batch.
    const reply = place(request);
    port.postMessage(reply, [reply.bytes]);
  } else port.postMessage(ingest(request));
});
