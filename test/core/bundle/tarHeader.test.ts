import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeTarHeader, END_OF_ARCHIVE, paddingFor } from '../../../src/core/bundle/tarHeader.js';
import { TarParser } from '../../../src/core/bundle/tarParser.js';

/** The header tar-stream writes for the same entry: our encoder must match it byte for byte. */
async function tarStreamHeader(name: string, size: number): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  // Only the header is wanted: start the entry, give tar-stream a few ticks to emit it, keep the first block.
  pack.entry({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' }).write(Buffer.alloc(1));
  for (let i = 0; i < 5 && Buffer.concat(chunks).length < 512; i++) await new Promise((resolve) => setImmediate(resolve));
  pack.destroy();
  return Buffer.concat(chunks).subarray(0, 512);
}

describe('encodeTarHeader', () => {
  const names = ['airlock-bundle/header', `objects/${'ab'.repeat(32)}`, `objects/${'cd'.repeat(32)}.zst`, 'x'];
  for (const name of names) {
    for (const size of [0, 1, 511, 512, 1_000_000, 8 * 1024 ** 3 - 1]) {
      it(`matches tar-stream for ${name.slice(0, 24)} of ${size} bytes`, async () => {
        expect(encodeTarHeader(name, size).equals(await tarStreamHeader(name, size))).toBe(true);
      });
    }
  }

  it('writes sizes of 8 GiB and more in base-256, which the strict reader reads back', () => {
    const size = 8 * 1024 ** 3 + 5;
    const header = encodeTarHeader('big', size);
    expect(header[124]).toBe(0x80);
    const parser = new TarParser();
    const events = parser.push(header);
    expect(events[0]).toMatchObject({ type: 'entry', name: 'big', size });
  });

  it('produces an archive the strict reader accepts, padding and end marker included', () => {
    const data = Buffer.from('hello, R\n');
    const archive = Buffer.concat([encodeTarHeader('a/b.txt', data.length), data, paddingFor(data.length), END_OF_ARCHIVE]);
    expect(archive.length % 512).toBe(0);
    const parser = new TarParser();
    const events = [...parser.push(archive), ...parser.finish()];
    expect(events.filter((e) => e.type === 'entry')).toEqual([{ type: 'entry', name: 'a/b.txt', size: data.length, index: 0, offset: 0 }]);
    expect(Buffer.concat(events.flatMap((e) => (e.type === 'data' ? [e.chunk] : []))).equals(data)).toBe(true);
  });
});
