import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { AirlockError } from '../errors.js';
import { END_OF_ARCHIVE, encodeTarHeader, paddingFor } from '../core/bundle/tarHeader.js';
import {
  DESCRIPTOR_BYTES,
  encodeDescriptor,
  MAX_VOLUMES,
  PART_ENTRY,
  PART_OFFSET,
  partCapacity,
  VOLUME_ENTRY,
  VOLUME_FORMAT,
  VOLUME_MAGIC,
  volumeFileName,
} from '../core/bundle/volume.js';
import { fsyncDir, parseTempName, processAlive, TempFile } from '../fs/durable.js';
import { failpoint } from '../fs/failpoint.js';

/**
 * Where a tar stream's bytes go: one file (FileSink), or a set of volumes (VolumeSink).
 * Writes are sequential. Both keep what they write under temp names until finish().
 */
export interface ByteSink {
  writev(buffers: Uint8Array[], position: number): Promise<void>;
  /** Makes everything durable and puts the output under its final name(s). */
  finish(): Promise<void>;
  /** Closes and removes whatever was written. */
  abort(): Promise<void>;
}

/**
 * What an interrupted writer of `output` left beside it: its temp files (a run killed before
 * it finished; its process is gone) and volumes of a set whose first volume never appeared
 * (VolumeSink renames F.001 last). Removed before a new bundle is written there; returns what
 * was removed, for the command to say.
 */
export async function removeLeftovers(output: string): Promise<string[]> {
  const dir = dirname(output);
  const name = basename(output);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  // `name` itself, or one of its volumes `name.001`...
  const ofThisOutput = (file: string) => file === name || (file.startsWith(`${name}.`) && /^\d{3,4}$/.test(file.slice(name.length + 1)));
  for (const entry of names) {
    const temp = parseTempName(entry);
    const leftoverTemp = temp !== undefined && ofThisOutput(temp.final) && !processAlive(temp.pid);
    const orphanVolume = entry !== name && ofThisOutput(entry) && !names.includes(volumeFileName(name, 1)) && (await isVolume(join(dir, entry)));
    if (leftoverTemp || orphanVolume) {
      await fsp.rm(join(dir, entry), { force: true });
      removed.push(join(dir, entry));
    }
  }
  return removed;
}

/** Starts with a volume's descriptor entry: a piece of an airlock bundle, not someone's file. */
async function isVolume(path: string): Promise<boolean> {
  const head = Buffer.alloc(VOLUME_ENTRY.length);
  try {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
  return head.toString('latin1') === VOLUME_ENTRY;
}

/** Positioned writes into one file, under a temp name until finish() renames it. */
export class FileSink implements ByteSink {
  private constructor(private readonly file: TempFile) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(await TempFile.create(path));
  }

  async writev(buffers: Uint8Array[], position: number): Promise<void> {
    this.file.wrote(await writeAllAt(this.file.handle, buffers, position));
    if (position > 0) failpoint('bundle-mid-write');
  }

  async finish(): Promise<void> {
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await this.file.discard();
  }
}

/**
 * writev at `position`; writev may write less than asked (rarely, for large requests), so
 * the rest follows plainly. Returns the bytes written: all of them.
 */
export async function writeAllAt(handle: fsp.FileHandle, buffers: Uint8Array[], position: number): Promise<number> {
  let expected = 0;
  for (const b of buffers) expected += b.length;
  const { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten >= expected) return expected;
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  let offset = 0;
  while (offset < rest.length) {
    const { bytesWritten: n } = await handle.write(rest, offset, rest.length - offset, position + bytesWritten + offset);
    offset += n;
  }
  return expected;
}

interface OpenVolume {
  number: number;
  file: TempFile;
  length: number;
  hash: Blake3Hasher;
}

/**
 * Cuts the bundle's byte stream into volume files as it is written, so a bundle far
 * larger than the medium's file size limit never exists as one file anywhere. Each
 * volume's headers and descriptor are written at finish(), when the total is known;
 * then every volume is synced and renamed from its temp name, so `F.001`... appear only
 * as a complete set.
 */
export class VolumeSink implements ByteSink {
  private readonly capacity: number;
  private readonly bundleId = randomBytes(16).toString('hex');
  private readonly volumes: OpenVolume[] = [];
  private written = 0;

  constructor(
    private readonly base: string,
    volumeSize: number,
  ) {
    this.capacity = partCapacity(volumeSize);
  }

  async writev(buffers: Uint8Array[], position: number): Promise<void> {
    if (position !== this.written) throw new Error(`volume writes must be sequential (at ${this.written}, asked ${position})`);
    for (const buffer of buffers) {
      let data = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      while (data.length > 0) {
        const volume = await this.current();
        const take = Math.min(data.length, this.capacity - volume.length);
        const piece = data.subarray(0, take);
        await writeAllAt(volume.file.handle, [piece], PART_OFFSET + volume.length);
        volume.file.wrote(take);
        volume.hash.update(piece);
        volume.length += take;
        this.written += take;
        data = data.subarray(take);
      }
    }
  }

  async finish(): Promise<void> {
    let offset = 0;
    for (const volume of this.volumes) {
      const descriptor = encodeDescriptor({
        magic: VOLUME_MAGIC,
        format: VOLUME_FORMAT,
        bundle: this.bundleId,
        volume: volume.number,
        volumes: this.volumes.length,
        offset,
        length: volume.length,
        part: volume.hash.digest('hex'),
      });
      await writeAllAt(volume.file.handle, [encodeTarHeader(VOLUME_ENTRY, DESCRIPTOR_BYTES), descriptor, encodeTarHeader(PART_ENTRY, volume.length)], 0);
      await writeAllAt(volume.file.handle, [paddingFor(volume.length), END_OF_ARCHIVE], PART_OFFSET + volume.length);
      await volume.file.seal();
      offset += volume.length;
    }
    // The first volume last: F.001 exists only once the whole set is in place, so a set a kill
    // interrupted is never taken for a bundle, and the next run recognises and replaces it.
    for (const volume of [...this.volumes.slice(1), this.volumes[0]!]) {
      await volume.file.rename();
      failpoint('volumes-between-renames');
    }
    await fsyncDir(dirname(this.base));
  }

  /** Removes every volume of this run, including any already renamed into place: no half set is left behind. */
  async abort(): Promise<void> {
    for (const volume of this.volumes) await volume.file.discard();
  }

  get count(): number {
    return this.volumes.length;
  }

  /** The volume with room left, opening the next when the last is full. */
  private async current(): Promise<OpenVolume> {
    const last = this.volumes[this.volumes.length - 1];
    if (last && last.length < this.capacity) return last;
    const number = this.volumes.length + 1;
    if (number > MAX_VOLUMES) {
      throw new AirlockError('USAGE', `the bundle would need more than ${MAX_VOLUMES} volumes of this size`, { where: this.base, hint: 'choose a larger --volume-size (for example fat32 or 4G)' });
    }
    const volume: OpenVolume = { number, file: await TempFile.create(volumeFileName(this.base, number)), length: 0, hash: new Blake3Hasher() };
    this.volumes.push(volume);
    return volume;
  }
}
