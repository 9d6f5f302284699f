import { once } from 'node:events';
import { createGunzip, type Gunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { parseDcf } from '../core/dcf.js';
import { BodyRejected } from '../upstream/http.js';

/** A DESCRIPTION is a few kilobytes; one past this is not read. */
const MAX_DESCRIPTION_BYTES = 1024 * 1024;

/**
 * Checks, as the bytes stream by, that a file is what R would install as `name` `version`:
 * a gzip tar holding `name/DESCRIPTION` with those Package and Version fields. For files the
 * upstream publishes without a checksum (CRAN's archive); it proves the file is that package
 * version as its author described it, not that the bytes are the ones CRAN has.
 */
export class RPackageCheck {
  private readonly gunzip: Gunzip = createGunzip();
  private readonly extract = tar.extract();
  private description: Buffer | null = null;
  private failure: Error | null = null;
  private readonly finished: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly expected: { name: string; version: string },
  ) {
    this.extract.on('entry', (header, stream, next) => {
      const wanted = this.description === null && header.type === 'file' && header.name.replace(/^\.\//, '') === `${expected.name}/DESCRIPTION`;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        size += chunk.length;
        if (wanted && size <= MAX_DESCRIPTION_BYTES) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (wanted && size <= MAX_DESCRIPTION_BYTES) this.description = Buffer.concat(chunks);
        next();
      });
    });
    this.gunzip.pipe(this.extract);
    this.finished = new Promise<void>((resolve) => {
      const fail = (err: Error) => {
        this.failure ??= err;
        resolve();
      };
      this.extract.on('finish', () => resolve());
      this.extract.on('error', fail);
      this.gunzip.on('error', fail);
    });
  }

  async update(chunk: Buffer): Promise<void> {
    if (this.failure) return;
    if (!this.gunzip.write(chunk)) await Promise.race([once(this.gunzip, 'drain'), this.finished]);
  }

  async verify(): Promise<void> {
    this.gunzip.end();
    await this.finished;
    const { name, version } = this.expected;
    if (this.failure) throw new BodyRejected(`${this.url} is not a gzip tar archive (${this.failure.message})`, 'checksum');
    if (this.description === null) throw new BodyRejected(`${this.url} holds no ${name}/DESCRIPTION: it is not the R package ${name}`, 'checksum');
    const [record] = parseDcf(this.description.toString('latin1'), `${this.url}:${name}/DESCRIPTION`);
    const found = `${record?.get('Package') ?? '?'} ${record?.get('Version') ?? '?'}`;
    if (found !== `${name} ${version}`) throw new BodyRejected(`${this.url} is ${found} by its DESCRIPTION, not ${name} ${version}`, 'checksum');
  }
}
