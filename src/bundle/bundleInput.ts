import * as fs from 'node:fs';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { AirlockError } from '../errors.js';
import { TarParser, type TarEvent } from '../core/bundle/tarParser.js';
import { damaged, decodeDescriptor, PART_ENTRY, PART_OFFSET, VOLUME_ENTRY, volumeFileSize, type VolumeDescriptor } from '../core/bundle/volume.js';

/**
 * The bytes of a bundle, from one file or from its volumes given in any order. Volumes
 * are checked as a set before anything is read (same bundle, none missing, none twice,
 * contiguous), then streamed in order, each through the strict tar reader and against
 * the BLAKE3 of its part, so what the bundle reader sees is exactly the single-file
 * bundle or an error naming the volume at fault.
 */
export interface BundleInput {
  /** For messages: the file, or the first volume and the count. */
  label: string;
  volumes: VolumeDescriptor[] | null;
  chunks(): AsyncGenerator<Buffer>;
  /** The volume holding byte `offset` of the bundle, for error messages (null for a single file). */
  locate(offset: number): string | null;
}

const READ_CHUNK = 1024 * 1024;

interface Volume {
  path: string;
  descriptor: VolumeDescriptor;
}

export async function openBundleInput(paths: string[]): Promise<BundleInput> {
  if (paths.length === 0) throw new AirlockError('USAGE', 'no bundle file given', { hint: 'name the bundle file, or all its volumes (F.001 F.002 ...)' });
  for (const path of paths) assertReadableFile(path);
  const heads = await Promise.all(paths.map(async (path) => ({ path, descriptor: await readVolumeHead(path) })));
  if (heads.length === 1 && heads[0]!.descriptor === null) {
    const path = heads[0]!.path;
    return { label: path, volumes: null, chunks: () => fileChunks(path), locate: () => null };
  }
  const plain = heads.find((h) => h.descriptor === null);
  if (plain) {
    throw new AirlockError('USAGE', `${plain.path} is a whole bundle, not a volume; give one bundle file, or the volumes of one bundle`, {
      where: plain.path,
      hint: 'give either the single bundle file, or only its volumes (F.001 F.002 ..., as `ls F.*` lists them)',
    });
  }
  const volumes = orderVolumes(heads as Volume[]);
  const label = volumes.length === 1 ? volumes[0]!.path : `${volumes[0]!.path} (+${volumes.length - 1} volumes)`;
  const locate = (offset: number) => {
    const v = volumes.find((x) => offset < x.descriptor.offset + x.descriptor.length) ?? volumes[volumes.length - 1]!;
    return `volume ${v.descriptor.volume} of ${v.descriptor.volumes}, ${v.path}`;
  };
  return { label, volumes: volumes.map((v) => v.descriptor), chunks: () => volumeChunks(volumes), locate };
}

/** The volume descriptor of `path`, or null when it is not a volume. */
export async function volumeDescriptorOf(path: string): Promise<VolumeDescriptor | null> {
  assertReadableFile(path);
  return readVolumeHead(path);
}

/** One volume on its own: its structure, and its part against the hash in its descriptor. */
export async function verifyVolume(path: string, descriptor: VolumeDescriptor): Promise<void> {
  for await (const chunk of partChunks({ path, descriptor })) void chunk;
}

function orderVolumes(volumes: Volume[]): Volume[] {
  const first = volumes[0]!.descriptor;
  const byNumber = new Map<number, Volume>();
  for (const v of volumes) {
    const d = v.descriptor;
    if (d.bundle !== first.bundle || d.volumes !== first.volumes) {
      throw new AirlockError('USAGE', `${v.path} belongs to another bundle than ${volumes[0]!.path} (bundle ${d.bundle.slice(0, 8)} of ${d.volumes} volumes, not ${first.bundle.slice(0, 8)} of ${first.volumes})`, {
        where: v.path,
        hint: 'give the volumes of one bundle only',
      });
    }
    const twice = byNumber.get(d.volume);
    if (twice) throw new AirlockError('USAGE', `volume ${d.volume} is given twice (${twice.path} and ${v.path})`, { where: v.path, hint: 'give each volume once' });
    byNumber.set(d.volume, v);
  }
  const missing: number[] = [];
  for (let n = 1; n <= first.volumes; n++) if (!byNumber.has(n)) missing.push(n);
  if (missing.length > 0) {
    throw new AirlockError('BUNDLE_TRUNCATED', `volume${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${first.volumes} ${missing.length > 1 ? 'are' : 'is'} missing`, {
      where: volumes[0]!.path,
      hint: `give all ${first.volumes} volumes (for example F.*); copy the missing ones from the online host`,
    });
  }
  const ordered = [...byNumber.values()].sort((a, b) => a.descriptor.volume - b.descriptor.volume);
  let offset = 0;
  for (const v of ordered) {
    if (v.descriptor.offset !== offset) throw damaged(`it says its part starts at byte ${v.descriptor.offset} of the bundle, but the volumes before it end at ${offset}`, v.path);
    offset += v.descriptor.length;
  }
  return ordered;
}

/** The descriptor when `path` is a volume, null when it is anything else (a plain bundle). */
async function readVolumeHead(path: string): Promise<VolumeDescriptor | null> {
  const head = Buffer.alloc(PART_OFFSET);
  const handle = await fs.promises.open(path, 'r');
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(head, 0, PART_OFFSET, 0));
  } finally {
    await handle.close();
  }
  const parser = new TarParser();
  let events: TarEvent[];
  try {
    events = parser.push(head.subarray(0, read));
  } catch {
    return null; // not even a tar: the bundle reader will say what is wrong with it
  }
  const first = events[0];
  if (!first || first.type !== 'entry' || first.name !== VOLUME_ENTRY) return null;
  if (read < PART_OFFSET) {
    throw new AirlockError('BUNDLE_TRUNCATED', `this bundle volume is cut short: it is ${read} bytes, less than its own headers`, {
      where: path,
      hint: 'the copy is incomplete; copy this volume again from the online host',
    });
  }
  const data = Buffer.concat(events.filter((e): e is Extract<TarEvent, { type: 'data' }> => e.type === 'data').map((e) => e.chunk));
  const part = events.find((e, i) => i > 0 && e.type === 'entry');
  if (data.length !== first.size || !part || part.type !== 'entry' || part.name !== PART_ENTRY) throw damaged('its first blocks are not a descriptor followed by the part', path);
  const descriptor = decodeDescriptor(data, path);
  if (part.size !== descriptor.length) throw damaged(`its part entry holds ${part.size} bytes, its descriptor says ${descriptor.length}`, path);
  const size = fs.statSync(path).size;
  if (size !== volumeFileSize(descriptor.length)) {
    throw new AirlockError(size < volumeFileSize(descriptor.length) ? 'BUNDLE_TRUNCATED' : 'BUNDLE_CORRUPT', `volume ${descriptor.volume} of ${descriptor.volumes} is ${size} bytes, it should be ${volumeFileSize(descriptor.length)}`, {
      where: path,
      hint: 'the copy is incomplete or damaged; copy this volume again from the online host',
    });
  }
  return descriptor;
}

async function* volumeChunks(volumes: Volume[]): AsyncGenerator<Buffer> {
  for (const volume of volumes) yield* partChunks(volume);
}

/** The part's bytes, with the whole volume read through the strict tar reader and the part hashed. */
async function* partChunks(volume: Volume): AsyncGenerator<Buffer> {
  const parser = new TarParser();
  const hash = new Blake3Hasher();
  let entry = '';
  for await (const chunk of fileChunks(volume.path)) {
    for (const event of parser.push(chunk)) {
      if (event.type === 'entry') entry = event.name;
      if (event.type !== 'data' || entry !== PART_ENTRY) continue;
      hash.update(event.chunk);
      yield event.chunk;
    }
  }
  parser.finish();
  if (hash.digest('hex') !== volume.descriptor.part) throw damaged(`volume ${volume.descriptor.volume}'s part does not match the BLAKE3 in its descriptor`, volume.path);
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const stream = fs.createReadStream(path, { highWaterMark: READ_CHUNK });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } finally {
    stream.destroy();
  }
}

function assertReadableFile(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new AirlockError('NOT_FOUND', `bundle ${file} does not exist`, { where: file, hint: 'check the path to the bundle file' });
  }
  if (!st.isFile()) throw new AirlockError('USAGE', `${file} is not a file`, { where: file, hint: 'name the bundle file itself, for example /media/usb/2026-12-01.airlock' });
}
