import { parentPort } from 'node:worker_threads';
import type { IngestRequest, LinkRequest, ReadRequest } from './storeThreadMessages.js';
import { ingest, link, read } from './storeWork.js';

/** One of the store's threads (storeThreads.ts): answers each batch with storeWork.ts. */
// Loaded as a module anywhere else (the release check imports every module), it does nothing.
parentPort?.on('message', (request: IngestRequest | ReadRequest | LinkRequest) => {
  const port = parentPort!;
  if (request.kind === 'link') port.postMessage(link(request));
  else if (request.kind === 'read') {
    const reply = read(request);
    port.postMessage(reply, [reply.buffer]);
  } else port.postMessage(ingest(request));
});
