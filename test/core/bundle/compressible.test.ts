import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { compressionPays, looksCompressed, MIN_COMPRESSIBLE_SIZE } from '../../../src/core/bundle/compressible.js';
import { compressBuffer } from '../../../src/core/zstd.js';

const text = Buffer.from('Package: abc\nVersion: 1.0\nDepends: R (>= 4.0)\n'.repeat(20));

describe('looksCompressed', () => {
  it('detects a real gzip stream (R source packages)', () => {
    expect(looksCompressed(gzipSync(text))).toBe(true);
  });

  it('detects a real zstd frame', () => {
    expect(looksCompressed(compressBuffer(text))).toBe(true);
  });

  it.each([
    ['zip', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31]],
    ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]],
    ['jpeg', [0xff, 0xd8, 0xff, 0xe0]],
    ['pdf', [...Buffer.from('%PDF-1.7')]],
  ])('detects %s', (_format, head) => {
    expect(looksCompressed(Uint8Array.from(head))).toBe(true);
  });

  it('does not flag plain text, R code or an empty head', () => {
    expect(looksCompressed(text)).toBe(false);
    expect(looksCompressed(Buffer.from('f <- function(x) x + 1\n'))).toBe(false);
    expect(looksCompressed(new Uint8Array(0))).toBe(false);
    expect(looksCompressed(new Uint8Array(64))).toBe(false);
  });

  it('needs the whole magic, not a prefix of it', () => {
    expect(looksCompressed(Uint8Array.from([0x1f]))).toBe(false); // half a gzip magic
    expect(looksCompressed(Uint8Array.from([0x50, 0x4b, 0x03]))).toBe(false); // three quarters of zip
    expect(looksCompressed(Uint8Array.from([0x50, 0x4b, 0x05, 0x06]))).toBe(false); // PK, but not a local file header
    expect(looksCompressed(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01]))).toBe(false); // xz magic ends with 0x00
    expect(looksCompressed(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfe]))).toBe(false);
  });

  it('only looks at the start of the data', () => {
    expect(looksCompressed(Buffer.concat([Buffer.from('x'), gzipSync(text)]))).toBe(false);
  });
});

describe('compressionPays', () => {
  it('keeps the zstd form when it saves more than 3%, not when it saves less', () => {
    expect(compressionPays(1000, 969)).toBe(true);
    expect(compressionPays(1000, 971)).toBe(false);
    expect(compressionPays(1000, 1000)).toBe(false);
    expect(compressionPays(1000, 1200)).toBe(false);
    expect(compressionPays(1000, 1)).toBe(true);
  });

  it('keeps the zstd form when it saves exactly 3% ("at least 3%", as documented)', () => {
    expect(compressionPays(1000, 970)).toBe(true);
    expect(compressionPays(100, 97)).toBe(true);
  });

  it('scales the threshold with the size', () => {
    const big = 10 * 2 ** 30; // 3% of it is 322122547.2 bytes
    expect(compressionPays(big, big - 322_122_548)).toBe(true);
    expect(compressionPays(big, big - 322_122_547)).toBe(false);
    expect(compressionPays(100, 96)).toBe(true);
    expect(compressionPays(100, 98)).toBe(false);
  });

  it('never pays for an empty object', () => {
    expect(compressionPays(0, 0)).toBe(false);
    expect(MIN_COMPRESSIBLE_SIZE).toBeGreaterThan(0);
  });
});
