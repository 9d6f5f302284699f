import { count } from '../core/units.js';
import * as fsp from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { AirlockError, errnoCode } from '../errors.js';
import { TarParser, type TarEvent } from '../core/bundle/tarParser.js';
import { damaged, decodeDescriptor, PART_ENTRY, PART_OFFSET, VOLUME_ENTRY, volumeFileSize, type VolumeDescriptor } from '../core/bundle/volume.js';

/**
 * The bytes of a bundle, from one file or from its volumes given in any order. Each file
 * is opened once, here, and every later read (the seal peeked at from the end, the full
 * streaming read) goes through that open file until close(). Volumes are checked as a set
 * before anything is read (same bundle, none missing, none twice, contiguous), then
 * streamed in order, each through the strict tar reader and against the BLAKE3 of its
 * part, so what the bundle reader sees is exactly the single-file bundle or an error
 * naming the volume at fault.
 */
export interface BundleInput {
  /** For messages: the file, or the first volume and the count. */
  label: string;
  volumes: VolumeDescriptor[] | null;
  /** With `allowLoneVolume`: the descriptor when the one file given is one volume of several (chunks() then checks its part alone). */
  loneVolume: VolumeDescriptor | null;
  chunks(): AsyncGenerator<Buffer>;
  /** The volume holding byte `offset` of the bundle, for error messages (null for a single file). */
  locate(offset: number): string | null;
  /** Up to the last `length` bytes of the bundle, and the bundle offset of the first of them. */
  tail(length: number): Promise<{ bytes: Buffer; bundleOffset: number }>;
  close(): Promise<void>;
}

const READ_CHUNK = 1024 * 1024;

interface OpenFile {
  path: string;
  handle: fsp.FileHandle;
  size: number;
}

interface Volume extends OpenFile {
  descriptor: VolumeDescriptor;
}

export async function openBundleInput(paths: string[], options: { allowLoneVolume?: boolean } = {}): Promise<BundleInput> {
  if (paths.length === 0) throw new AirlockError('USAGE', 'no bundle file given', { hint: 'name the bundle file, or all its volumes (F.001 F.002 ...)' });
  const files: OpenFile[] = [];
  try {
    for (const path of paths) files.push(await openFile(path));
    const heads: (OpenFile & { descriptor: VolumeDescriptor | null })[] = [];
    for (const file of files) heads.push({ ...file, descriptor: await readVolumeHead(file) });
    return assemble(heads, options.allowLoneVolume === true);
  } catch (err) {
    await closeAll(files);
    throw err;
  }
}

function assemble(heads: (OpenFile & { descriptor: VolumeDescriptor | null })[], allowLoneVolume: boolean): BundleInput {
  const close = () => closeAll(heads);
  const only = heads.length === 1 ? heads[0]! : undefined;
  if (only && only.descriptor === null) {
    return {
      label: only.path,
      volumes: null,
      loneVolume: null,
      chunks: () => fileChunks(only.handle),
      locate: () => null,
      tail: async (length) => {
        const start = Math.max(0, only.size - length);
        return { bytes: await readRange(only.handle, start, only.size - start), bundleOffset: start };
      },
      close,
    };
  }
  if (only && allowLoneVolume && only.descriptor!.volumes > 1) {
    const volume = only as Volume;
    return { label: volume.path, volumes: null, loneVolume: volume.descriptor, chunks: () => partChunks(volume), locate: () => volume.path, tail: () => Promise.reject(new Error('a lone volume has no seal of its own')), close };
  }
  const plain = heads.find((h) => h.descriptor === null);
  if (plain) {
    throw new AirlockError('USAGE', `${plain.path} is a whole bundle, not a volume; give one bundle file, or the volumes of one bundle`, {
      where: plain.path,
      hint: 'give either the single bundle file, or only its volumes (F.001 F.002 ..., as `ls F.*` lists them)',
    });
  }
  const volumes = orderVolumes(heads as Volume[]);
  const last = volumes[volumes.length - 1]!;
  const label = volumes.length === 1 ? volumes[0]!.path : `${volumes[0]!.path} (+${count(volumes.length - 1, 'volume')})`;
  const locate = (offset: number) => {
    const v = volumes.find((x) => offset < x.descriptor.offset + x.descriptor.length) ?? last;
    return `volume ${v.descriptor.volume} of ${v.descriptor.volumes}, ${v.path}`;
  };
  return {
    label,
    volumes: volumes.map((v) => v.descriptor),
    loneVolume: null,
    chunks: () => volumeChunks(volumes),
    locate,
    tail: async (length) => {
      const start = Math.max(0, last.descriptor.length - length);
      return { bytes: await readRange(last.handle, PART_OFFSET + start, last.descriptor.length - start), bundleOffset: last.descriptor.offset + start };
    },
    close,
  };
}

async function closeAll(files: OpenFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
}

function orderVolumes(volumes: Volume[]): Volume[] {
  const first = volumes[0]!.descriptor;
  const byNumber = new Map<number, Volume>();
  for (const v of volumes) {
    const d = v.descriptor;
    if (d.bundle !== first.bundle || d.volumes !== first.volumes) {
      throw new AirlockError('USAGE', `${v.path} belongs to another bundle than ${volumes[0]!.path} (bundle ${d.bundle.slice(0, 8)} of ${count(d.volumes, 'volume')}, not ${first.bundle.slice(0, 8)} of ${first.volumes})`, {
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
      hint: `give all ${count(first.volumes, 'volume')} (for example F.*); copy the missing ones from the online host`,
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

/** The descriptor when the file is a volume, null when it is anything else (a plain bundle). */
async function readVolumeHead(file: OpenFile): Promise<VolumeDescriptor | null> {
  const { path, size } = file;
  const head = await readRange(file.handle, 0, Math.min(PART_OFFSET, size));
  const read = head.length;
  const parser = new TarParser();
  let events: TarEvent[];
  try {
    events = parser.push(head);
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
  for await (const chunk of fileChunks(volume.handle)) {
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

/**
 * The whole file from its start, in pieces of up to READ_CHUNK read into two buffers in
 * turn: the next piece is read while the caller works on this one, and this one's memory
 * is read into again as soon as the caller asks for the next piece. So a caller must not
 * keep a piece past its next request (the bundle reader copies the few entries it
 * gathers). A new buffer per piece was 1.9 GB of garbage for a bundle of that size, and
 * V8 collected its whole heap for it over and over (1.6 CPU seconds of an apply, perf).
 * The file stays open.
 */
async function* fileChunks(handle: fsp.FileHandle): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
  let position = 0;
  // A read ahead that fails is thrown where it is awaited, at the caller's next request: until
  // then it is marked handled, or a failure while the caller waits on something else (a
  // checkpoint's sync) would end the process as an unhandled rejection, with no cleanup.
  const readInto = (buffer: Buffer, at: number) => {
    const reading = handle.read(buffer, 0, READ_CHUNK, at);
    reading.catch(() => undefined);
    return reading;
  };
  let next = readInto(buffers[0]!, 0);
  try {
    for (let turn = 0; ; turn ^= 1) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return;
      position += bytesRead;
      next = readInto(buffers[turn ^ 1]!, position);
      yield buffers[turn]!.subarray(0, bytesRead);
    }
  } finally {
    // A caller that stops early leaves a read in flight: it ends before the file may be closed.
    await next.catch(() => undefined);
  }
}

async function readRange(handle: fsp.FileHandle, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

async function openFile(path: string): Promise<OpenFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new AirlockError('NOT_FOUND', `bundle ${path} does not exist`, { where: path, hint: 'check the path to the bundle file' });
    throw err;
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new AirlockError('USAGE', `${path} is not a file`, { where: path, hint: 'name the bundle file itself, for example /media/usb/2026-12-01.airlock' });
  }
  return { path, handle, size: st.size };
}
