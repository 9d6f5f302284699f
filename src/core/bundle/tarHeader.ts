import { BLOCK } from './tarParser.js';

/**
 * The writing half of the ustar subset (the strict reader is tarParser.ts): one 512-byte
 * header per regular file, byte-identical to what tar-stream writes for the same fields,
 * so `tar tvf` lists bundles and docs/bundle-format.md describes one exact layout.
 * Owned here rather than streamed through tar-stream so bundle data goes straight from
 * the store to the file without passing through stream layers (see writeBundle.ts).
 */
const FILE_MODE = 0o644;
const OCTAL_SIZE_DIGITS = 11;

/** Two zero blocks end the archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export function encodeTarHeader(name: string, size: number, mtimeSeconds = 0): Buffer {
  const header = Buffer.alloc(BLOCK);
  const { prefix, base } = splitName(name);
  header.write(base, 0, 100, 'utf8');
  header.write(octal(FILE_MODE, 6), 100, 'latin1');
  header.write(octal(0, 6), 108, 'latin1'); // uid
  header.write(octal(0, 6), 116, 'latin1'); // gid
  writeSize(header, size);
  header.write(octal(mtimeSeconds, 11), 136, 'latin1');
  header[156] = 0x30; // '0': regular file
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  header.write(octal(0, 6), 329, 'latin1'); // devmajor
  header.write(octal(0, 6), 337, 'latin1'); // devminor
  if (prefix) header.write(prefix, 345, 155, 'utf8');
  header.write(octal(checksum(header), 6), 148, 'latin1');
  return header;
}

/** Zero bytes that bring an entry of `size` bytes to a block boundary. */
export function paddingFor(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) !== name.length) throw new Error(`tar entry names are ASCII here: ${name}`);
  if (name.length <= 100) return { prefix: '', base: name };
  const cut = name.lastIndexOf('/', 155);
  if (cut < 0 || name.length - cut - 1 > 100) throw new Error(`tar entry name too long for ustar: ${name}`);
  return { prefix: name.slice(0, cut), base: name.slice(cut + 1) };
}

/** `digits` octal digits, zero-padded, then a space (the trailing NUL is the zeroed buffer). */
function octal(value: number, digits: number): string {
  return `${value.toString(8).padStart(digits, '0')} `;
}

/** Sizes of 8 GiB and more do not fit 11 octal digits: GNU base-256, as tar-stream and GNU tar write them. */
function writeSize(header: Buffer, size: number): void {
  if (size.toString(8).length <= OCTAL_SIZE_DIGITS) {
    header.write(octal(size, OCTAL_SIZE_DIGITS), 124, 'latin1');
    return;
  }
  header[124] = 0x80;
  let rest = size;
  for (let i = 135; i > 124; i--) {
    header[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

function checksum(header: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i]!;
  return sum;
}
