import * as fs from 'node:fs';
import type { ObjectId } from '../core/objectId.js';
import { explainSystemError } from '../errors.js';
import { tempName } from '../fs/durable.js';
import type { StreamDigests } from '../repository/storeThreadMessages.js';
import type { StoreThreads } from '../repository/storeThreads.js';
import { BodyRejected, checkLength, type HttpClient } from '../upstream/http.js';
import type { Expected, FetchItem } from './fetchItem.js';
import { RPackageCheck } from './rPackageCheck.js';

/**
 * One download, from the request to a temp file in the store's tmp/ holding bytes that
 * kept the upstream's promise. The body's pieces go to a store thread (storeThreads.ts),
 * which writes them and hashes them (BLAKE3 for the object id, MD5 or the git blob id for
 * the promise), so this thread only parses HTTP; a body under 1 MiB is written and hashed
 * here by the same StreamWriter. The DESCRIPTION of an archived package is checked here as the bytes pass. It
 * never names an object: the caller queues the temp, which becomes one in the store's
 * flush, after it is durable. Bytes that break the promise are removed and the request is
 * retried (HttpClient.fetch).
 */
export interface Fetched {
  id: ObjectId;
  size: number;
  temp: string;
}

export async function fetchToTemp(http: HttpClient, item: FetchItem, threads: StoreThreads, tmpDir: string, onBytes: (bytes: number) => void): Promise<Fetched> {
  const { url, expected } = item;
  return http.fetch({ url, userAgent: item.userAgent }, async (response) => {
    const temp = tempName(`${tmpDir}/object`);
    const stream = threads.stream(temp, { md5: expected.md5 !== null, gitBlobSize: expected.gitBlob?.size ?? null }, response.length);
    try {
      const described = expected.rPackage ? new RPackageCheck(url, expected.rPackage) : null;
      for await (const chunk of response.body) {
        onBytes(chunk.length);
        if (described) await described.update(chunk);
        const behind = stream.write(chunk);
        if (behind) await behind;
      }
      await described?.verify();
      const digests = await stream.finish();
      checkLength(url, response.length, digests.size);
      checkPromise(url, expected, digests);
      return { id: digests.id, size: digests.size, temp };
    } catch (err) {
      try {
        stream.discard();
        fs.rmSync(temp, { force: true }); // finished, then refused: the thread has let the file go
      } catch {
        // The download's own error is the one to report; tmp/ is swept by the next command.
      }
      explainSystemError(err, 'adding an object to the store', url);
    }
  });
}

/** The bytes against what the upstream's index promised for them. */
function checkPromise(url: string, expected: Expected, digests: StreamDigests): void {
  if (expected.size !== null && digests.size !== expected.size) {
    throw new BodyRejected(`${url} is ${digests.size} bytes, but its index says ${expected.size}`, 'truncated');
  }
  if (expected.md5 !== null && digests.md5 !== expected.md5) {
    throw new BodyRejected(`${url} has MD5 ${digests.md5}, but its index says ${expected.md5}`, 'checksum');
  }
  const blob = expected.gitBlob;
  if (blob && digests.sha1 !== blob.sha) throw new BodyRejected(`${url} has git blob id ${digests.sha1}, but the listing says ${blob.sha}`, 'checksum');
}
