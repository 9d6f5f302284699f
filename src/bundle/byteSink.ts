import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
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
import { fsyncDir, tempName } from '../fs/durable.js';
import { writeAllAt, type ByteSink } from './tarFile.js';

interface OpenVolume {
  number: number;
  temp: string;
  handle: fsp.FileHandle;
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
  /** Volumes renamed to their final names so far (finish), for abort to remove too. */
  private published = 0;

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
        await writeAllAt(volume.handle, [piece], PART_OFFSET + volume.length);
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
      await writeAllAt(volume.handle, [encodeTarHeader(VOLUME_ENTRY, DESCRIPTOR_BYTES), descriptor, encodeTarHeader(PART_ENTRY, volume.length)], 0);
      await writeAllAt(volume.handle, [paddingFor(volume.length), END_OF_ARCHIVE], PART_OFFSET + volume.length);
      await volume.handle.sync();
      await volume.handle.close();
      offset += volume.length;
    }
    for (const volume of this.volumes) {
      await fsp.rename(volume.temp, volumeFileName(this.base, volume.number));
      this.published++;
    }
    await fsyncDir(dirname(this.base));
  }

  /** Removes every volume of this run, including any already renamed into place: no half set is left behind. */
  async abort(): Promise<void> {
    for (const [index, volume] of this.volumes.entries()) {
      await volume.handle.close().catch(() => undefined);
      await fsp.rm(index < this.published ? volumeFileName(this.base, volume.number) : volume.temp, { force: true });
    }
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
    const final = volumeFileName(this.base, number);
    const temp = tempName(final);
    const volume: OpenVolume = { number, temp, handle: await fsp.open(temp, 'wx', 0o644), length: 0, hash: new Blake3Hasher() };
    this.volumes.push(volume);
    return volume;
  }
}
