import { parentPort, workerData } from 'node:worker_threads';
import type { BatchRequest, StoreThreadData, StreamRequest } from './storeThreadMessages.js';
import { doBatch, streamStep, type StreamWriter } from './storeWork.js';

/** The streams open on this thread (downloads being written), by number, and the memory their bytes come in. */
const streams = new Map<number, StreamWriter>();
const shared = parentPort ? (workerData as StoreThreadData).slots : null;
const slots = shared ? new Uint8Array(shared) : new Uint8Array(0);

/** One of the store's threads (storeThreads.ts): answers each batch with storeWork.ts. */
// Loaded as a module anywhere else (the release check imports every module), it does nothing.
parentPort?.on('message', (request: BatchRequest | StreamRequest) => {
  const port = parentPort!;
  if (request.kind === 'stream') {
    const reply = streamStep(streams, request, slots);
    if (reply) port.postMessage(reply);
  } else {
    const { reply, transfer } = doBatch(request);
    port.postMessage(reply, transfer);
  }
});
