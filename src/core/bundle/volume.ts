import { AirlockError } from '../../errors.js';
import { BLOCK as BLOCK_SIZE } from './tarParser.js';

/**
 * Volumes (docs/bundle-format.md, "Volumes"): a bundle too large for one file on the
 * medium (FAT32 caps files at 4 GiB - 1) is cut into `F.001`, `F.002`, ... Each volume is
 * a complete ustar archive of two entries:
 *
 *   airlock-volume.json   512 bytes: JSON (space-padded) naming the bundle, this volume's
 *                         number, the total, and where its part sits in the bundle
 *   airlock-bundle.part   the bundle's bytes [offset, offset + length)
 *
 * Concatenating the parts in order gives the single-file bundle, byte for byte, so
 * everything said about bundles holds for the joined stream, and each volume can be
 * checked on its own (its part against the BLAKE3 in its descriptor) right after it
 * was copied.
 */
export const VOLUME_ENTRY = 'airlock-volume.json';
export const PART_ENTRY = 'airlock-bundle.part';
export const VOLUME_MAGIC = 'airlock-volume';
export const VOLUME_FORMAT = 1;
export const DESCRIPTOR_BYTES = BLOCK_SIZE;
/** Where the part's bytes start: two tar headers and the descriptor block. */
export const PART_OFFSET = 3 * BLOCK_SIZE;
/** Bytes a volume adds around its part (headers, descriptor, end-of-archive), padding aside. */
export const VOLUME_OVERHEAD = PART_OFFSET + 2 * BLOCK_SIZE;
export const MIN_VOLUME_SIZE = 1024 * 1024;
export const MAX_VOLUMES = 9999;

export interface VolumeDescriptor {
  magic: typeof VOLUME_MAGIC;
  format: typeof VOLUME_FORMAT;
  /** Random id shared by the volumes of one bundle written once: mixing two writes is caught. */
  bundle: string;
  volume: number;
  volumes: number;
  offset: number;
  length: number;
  /** BLAKE3 of the part's bytes, lowercase hex. */
  part: string;
}

/** Named sizes admins think in; FAT32 and DVD are what the drives really hold. */
const NAMED_SIZES: Record<string, number> = {
  fat32: 4 * 1024 ** 3 - 1,
  // A single-layer DVD holds 4,700,372,992 bytes; leave room for the disc's own filesystem.
  dvd: 4_690_000_000,
  cd: 700 * 1024 ** 2,
};

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `4G`, `700M`, `1500000000`, `fat32`, `dvd`: binary units, as `split -b` reads them. */
export function parseVolumeSize(text: string): number {
  const named = NAMED_SIZES[text.toLowerCase()];
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  const size = named ?? (match ? Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : NaN);
  if (!Number.isSafeInteger(size) || size < MIN_VOLUME_SIZE) {
    throw new AirlockError('USAGE', `--volume-size ${JSON.stringify(text)} is not a size of at least 1M`, {
      hint: 'for example --volume-size fat32 (4 GiB - 1 byte), dvd, 4G or 700M',
    });
  }
  return size;
}

/** Bytes of bundle each full volume carries: a whole number of blocks, so no padding is needed. */
export function partCapacity(volumeSize: number): number {
  return Math.floor((volumeSize - VOLUME_OVERHEAD) / BLOCK_SIZE) * BLOCK_SIZE;
}

export function volumeFileName(base: string, volume: number): string {
  return `${base}.${String(volume).padStart(3, '0')}`;
}

export function encodeDescriptor(d: VolumeDescriptor): Buffer {
  const text = JSON.stringify({ magic: d.magic, format: d.format, bundle: d.bundle, volume: d.volume, volumes: d.volumes, offset: d.offset, length: d.length, part: d.part });
  if (text.length >= DESCRIPTOR_BYTES) throw new Error('volume descriptor does not fit its block');
  return Buffer.from(text.padEnd(DESCRIPTOR_BYTES - 1, ' ') + '\n', 'ascii');
}

export function decodeDescriptor(bytes: Buffer, where: string): VolumeDescriptor {
  let raw: Partial<Record<keyof VolumeDescriptor, unknown>>;
  try {
    raw = JSON.parse(bytes.toString('ascii')) as typeof raw;
  } catch {
    throw damaged('its descriptor is not valid JSON', where);
  }
  const count = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  if (raw.magic !== VOLUME_MAGIC) throw damaged('its descriptor has no valid magic', where);
  if (raw.format !== VOLUME_FORMAT) {
    throw new AirlockError('FORMAT_UNSUPPORTED', `volume format ${String(raw.format)} is not supported (this airlock reads format ${VOLUME_FORMAT})`, { where, hint: 'use the airlock version that wrote the bundle' });
  }
  const ok =
    typeof raw.bundle === 'string' &&
    /^[0-9a-f]{32}$/.test(raw.bundle) &&
    count(raw.volumes, 1) &&
    (raw.volumes as number) <= MAX_VOLUMES &&
    count(raw.volume, 1) &&
    (raw.volume as number) <= (raw.volumes as number) &&
    count(raw.offset, 0) &&
    count(raw.length, 0) &&
    typeof raw.part === 'string' &&
    /^[0-9a-f]{64}$/.test(raw.part);
  if (!ok) throw damaged('its descriptor fields are invalid', where);
  return raw as VolumeDescriptor;
}

/** The size a volume file must have exactly, for its part length. */
export function volumeFileSize(length: number): number {
  return PART_OFFSET + length + ((BLOCK_SIZE - (length % BLOCK_SIZE)) % BLOCK_SIZE) + 2 * BLOCK_SIZE;
}

export function damaged(what: string, where: string): AirlockError {
  return new AirlockError('BUNDLE_CORRUPT', `this bundle volume is damaged: ${what}`, { where, hint: 'copy the volume from the online host again (or write the bundle again)' });
}
