import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { END_OF_ARCHIVE, encodeTarHeader, paddingFor } from '../core/bundle/tarHeader.js';
import { fsyncDir, tempName } from '../fs/durable.js';

/**
 * Writes tar entries straight into a file with positioned writes: header, data and
 * padding of a small entry in one writev, a large one streamed through a reused buffer.
 * No stream layers between the store and the file: that is what lets a full bundle run
 * at the speed of `tar | zstd` (see `npm run bench`).
 */
/** Where a tar stream's bytes go: one file, or a set of volumes (volumeSink.ts). Writes are sequential. */
export interface ByteSink {
  writev(buffers: Uint8Array[], position: number): Promise<void>;
  /** Makes everything durable and puts the output under its final name(s). */
  finish(): Promise<void>;
  /** Closes and removes whatever was written. */
  abort(): Promise<void>;
}

export class TarFile {
  private position = 0;

  constructor(private readonly sink: ByteSink) {}

  /** A single-file bundle written under a temp name and renamed to `path` by finish(). */
  static async create(path: string): Promise<TarFile> {
    return new TarFile(await FileSink.create(path));
  }

  get bytesWritten(): number {
    return this.position;
  }

  async addBuffer(name: string, data: Uint8Array): Promise<void> {
    await this.writev([encodeTarHeader(name, data.length), data, paddingFor(data.length)]);
  }

  /** Streams exactly `size` bytes from `chunks` as one entry. */
  async addStream(name: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    await this.writev([encodeTarHeader(name, size)]);
    let written = 0;
    for await (const chunk of chunks) {
      written += chunk.length;
      if (written > size) throw new Error(`entry ${name} grew beyond its ${size} bytes while being written`);
      await this.writev([chunk]);
    }
    if (written !== size) throw new Error(`entry ${name} has ${written} bytes, not the ${size} announced`);
    await this.writev([paddingFor(size)]);
  }

  /** Writes the end-of-archive marker and finishes the sink (durable, final names). */
  async finish(): Promise<void> {
    await this.writev([END_OF_ARCHIVE]);
    await this.sink.finish();
  }

  async abort(): Promise<void> {
    await this.sink.abort();
  }

  private async writev(buffers: Uint8Array[]): Promise<void> {
    const parts = buffers.filter((b) => b.length > 0);
    let length = 0;
    for (const b of parts) length += b.length;
    if (length === 0) return;
    await this.sink.writev(parts, this.position);
    this.position += length;
  }
}

/** Positioned writes into one file, under a temp name until finish() renames it. */
export class FileSink implements ByteSink {
  private constructor(
    private readonly handle: fsp.FileHandle,
    private readonly temp: string,
    private readonly path: string,
  ) {}

  static async create(path: string): Promise<FileSink> {
    const temp = tempName(path);
    return new FileSink(await fsp.open(temp, 'wx', 0o644), temp, path);
  }

  async writev(buffers: Uint8Array[], position: number): Promise<void> {
    await writeAllAt(this.handle, buffers, position);
  }

  async finish(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await fsp.rename(this.temp, this.path);
    await fsyncDir(dirname(this.path));
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.temp, { force: true });
  }
}

/** writev at `position`; writev may write less than asked (rarely, for large requests), so the rest follows plainly. */
export async function writeAllAt(handle: fsp.FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let expected = 0;
  for (const b of buffers) expected += b.length;
  const { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten >= expected) return;
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  let offset = 0;
  while (offset < rest.length) {
    const { bytesWritten: n } = await handle.write(rest, offset, rest.length - offset, position + bytesWritten + offset);
    offset += n;
  }
}
