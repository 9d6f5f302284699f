import { AirlockError } from '../../errors.js';

/**
 * A strict, push-style reader for the ustar subset airlock writes. It is deliberately
 * narrower than a general tar reader: only regular files (typeflag '0'), ustar magic,
 * valid header checksums, zero padding after each entry and nothing but zeros after the
 * end-of-archive marker. That way every byte of a bundle is checked: a flipped bit in a
 * header, in padding or in the trailer is reported, not silently skipped as general tar
 * readers do. It does no I/O: the caller pushes chunks and handles events in order.
 */
export const BLOCK = 512;

export type TarEvent =
  | { type: 'entry'; name: string; size: number; index: number; offset: number }
  | { type: 'data'; chunk: Buffer }
  | { type: 'entryEnd' }
  | { type: 'end' };

type State = 'header' | 'data' | 'padding' | 'trailer';

export class TarParser {
  private state: State = 'header';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private offset = 0;
  private entryIndex = -1;
  private entryName = '';
  private zeroBlocks = 0;

  /** Byte offset in the stream up to which input has been consumed. */
  get position(): number {
    return this.offset;
  }

  /** Where we are, for error messages: the entry being read and the byte offset. */
  location(): string {
    const entry = this.entryIndex >= 0 ? `entry ${this.entryIndex} (${this.entryName})` : 'start of bundle';
    return `${entry}, byte ${this.offset}`;
  }

  push(input: Buffer): TarEvent[] {
    const events: TarEvent[] = [];
    let chunk = input;
    while (chunk.length > 0) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, chunk.length);
        events.push({ type: 'data', chunk: chunk.subarray(0, take) });
        chunk = chunk.subarray(take);
        this.advance(take);
        this.remaining -= take;
        if (this.remaining === 0) this.finishData(events);
        continue;
      }
      if (this.state === 'padding') {
        const take = Math.min(this.remaining, chunk.length);
        this.expectZeros(chunk.subarray(0, take), 'padding after the entry');
        chunk = chunk.subarray(take);
        this.advance(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'header';
        continue;
      }
      if (this.state === 'trailer') {
        this.expectZeros(chunk, 'data after the end of the archive');
        this.advance(chunk.length);
        chunk = chunk.subarray(chunk.length);
        continue;
      }
      // header: gather one whole block
      const need = BLOCK - this.pending.length;
      const piece = chunk.subarray(0, need);
      chunk = chunk.subarray(piece.length);
      this.pending = this.pending.length === 0 && piece.length === BLOCK ? piece : Buffer.concat([this.pending, piece]);
      if (this.pending.length < BLOCK) continue;
      const block = this.pending;
      this.pending = Buffer.alloc(0);
      this.handleBlock(block, events);
    }
    return events;
  }

  /** Call at end of input; throws when the stream stopped early. */
  finish(): TarEvent[] {
    if (this.state === 'trailer' && this.zeroBlocks >= 2) return [];
    if (this.state === 'header' && this.pending.length === 0 && this.zeroBlocks === 0) {
      throw this.truncated('the bundle ends without the end-of-archive marker');
    }
    throw this.truncated(`the bundle ends in the middle of ${this.state === 'header' ? 'a header' : this.state === 'trailer' ? 'the end-of-archive marker' : 'an entry'}`);
  }

  private handleBlock(block: Buffer, events: TarEvent[]): void {
    const blockOffset = this.offset;
    this.advance(BLOCK);
    if (isZero(block)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) {
        this.state = 'trailer';
        events.push({ type: 'end' });
      }
      return;
    }
    if (this.zeroBlocks > 0) throw this.corrupt('a header follows an empty block', blockOffset);
    const { name, size } = this.parseHeader(block, blockOffset);
    this.entryIndex++;
    this.entryName = name;
    events.push({ type: 'entry', name, size, index: this.entryIndex, offset: blockOffset });
    this.remaining = size;
    this.state = 'data';
    if (size === 0) this.finishData(events);
  }

  private finishData(events: TarEvent[]): void {
    events.push({ type: 'entryEnd' });
    const pad = (BLOCK - (this.offset % BLOCK)) % BLOCK;
    this.remaining = pad;
    this.state = pad === 0 ? 'header' : 'padding';
  }

  private parseHeader(block: Buffer, at: number): { name: string; size: number } {
    const stored = parseOctal(block.subarray(148, 156));
    if (stored === undefined || stored !== headerChecksum(block)) {
      throw this.corrupt('a tar header checksum does not match (the header is damaged)', at);
    }
    if (block.toString('latin1', 257, 263) !== 'ustar\0' || block.toString('latin1', 263, 265) !== '00') {
      throw this.corrupt('a tar header is not in ustar format', at);
    }
    const typeflag = block[156];
    const name = joinName(cString(block, 345, 155), cString(block, 0, 100));
    if (typeflag !== 0x30) {
      throw new AirlockError('BUNDLE_UNSAFE_ENTRY', `bundle entry ${JSON.stringify(name)} is not a regular file (tar type '${String.fromCharCode(typeflag ?? 0x3f)}'); links, devices and directories are refused`, {
        where: `byte ${at}`,
        hint: 'this bundle was not written by airlock; do not apply it',
      });
    }
    const size = parseSize(block.subarray(124, 136));
    if (size === undefined) throw this.corrupt('a tar header has an invalid size field', at);
    return { name, size };
  }

  private expectZeros(bytes: Buffer, what: string): void {
    if (!isZero(bytes)) throw this.corrupt(`non-zero bytes in the ${what}`, this.offset + firstNonZero(bytes));
  }

  private advance(n: number): void {
    this.offset += n;
  }

  private corrupt(message: string, at: number): AirlockError {
    const entry = this.entryIndex >= 0 ? `after entry ${this.entryIndex} (${this.entryName}), ` : '';
    return new AirlockError('BUNDLE_CORRUPT', message, {
      where: `${entry}byte ${at}`,
      hint: 'the bundle file is damaged; copy it again from the online host and run `airlock bundle verify FILE`',
    });
  }

  private truncated(message: string): AirlockError {
    return new AirlockError('BUNDLE_TRUNCATED', message, {
      where: `${this.location()}`,
      hint: 'the copy did not finish (or the drive was removed early); copy the whole bundle again and run `airlock bundle verify FILE`',
    });
  }
}

function isZero(bytes: Buffer): boolean {
  return firstNonZero(bytes) === bytes.length;
}

function firstNonZero(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return i;
  return bytes.length;
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? length : end);
}

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

export function headerChecksum(block: Buffer): number {
  let sum = 8 * 0x20; // the checksum field itself counts as eight spaces
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

function parseOctal(field: Buffer): number | undefined {
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** Octal, or GNU base-256 (0x80 flag) for sizes of 8 GiB and more, as tar-stream writes them. */
function parseSize(field: Buffer): number | undefined {
  if (field[0] === 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return parseOctal(field);
}
