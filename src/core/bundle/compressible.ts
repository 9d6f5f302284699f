/**
 * Whether zstd is worth trying on an object, from its first bytes. Package archives are
 * already gzip (R's tar.gz), zip (Windows binaries) or xz; compressing them again costs
 * time and gains nothing, so they are stored raw, as the brief asks.
 */
const COMPRESSED_MAGICS: readonly number[][] = [
  [0x1f, 0x8b], // gzip: source packages, Linux binaries
  [0x50, 0x4b, 0x03, 0x04], // zip: Windows binaries
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz
  [0x42, 0x5a, 0x68], // bzip2
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x89, 0x50, 0x4e, 0x47], // png
  [0xff, 0xd8, 0xff], // jpeg
  [0x25, 0x50, 0x44, 0x46], // pdf (vignettes; internally compressed)
];

/** Objects smaller than this are not worth a zstd frame. */
export const MIN_COMPRESSIBLE_SIZE = 64;

export function looksCompressed(head: Uint8Array): boolean {
  return COMPRESSED_MAGICS.some((magic) => magic.length <= head.length && magic.every((byte, i) => head[i] === byte));
}

/** Keep the zstd form only when it saves at least 3%: otherwise raw is cheaper to read. */
export function compressionPays(originalSize: number, compressedSize: number): boolean {
  return originalSize > 0 && compressedSize <= originalSize * 0.97;
}
