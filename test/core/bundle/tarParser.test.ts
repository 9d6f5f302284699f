import { describe, it, expect } from 'vitest';
import * as tar from 'tar-stream';
import { AirlockError, type ErrorCode } from '../../../src/errors.js';
import { BLOCK, headerChecksum, TarParser, type TarEvent } from '../../../src/core/bundle/tarParser.js';
import { expectAirlockError } from '../../helpers/errors.js';

// --- building archives ------------------------------------------------------------

interface FileSpec {
  name: string;
  data: Buffer;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A real ustar archive written by tar-stream, as airlock's TarSink writes bundles. */
type NonFileEntry = Partial<tar.Header> & Pick<tar.Header, 'name'>;

async function packTar(entries: (FileSpec | NonFileEntry)[]): Promise<Buffer> {
  const pack = tar.pack();
  const output = collect(pack);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if ('data' in e) pack.entry({ name: e.name, size: e.data.length, mode: 0o644, mtime: new Date(0), type: 'file' }, e.data, done);
      else pack.entry({ mtime: new Date(0), ...e }, done);
    });
  }
  pack.finalize();
  return output;
}

/** Deterministic pseudo-random generator (mulberry32), so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(size: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(next() * 256) || 1; // never zero, so padding mix-ups show
  return out;
}

const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

interface HeaderOptions {
  typeflag?: number;
  magic?: string;
  version?: string;
  linkname?: string;
  sizeField?: Buffer;
}

/** A hand-written 512-byte header with a correct checksum. */
function rawHeader(name: string, size: number, options: HeaderOptions = {}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  (options.sizeField ?? Buffer.from(`${size.toString(8).padStart(11, '0')}\0`, 'latin1')).copy(block, 124);
  block.write('00000000000\0', 136, 'latin1');
  block[156] = options.typeflag ?? 0x30;
  if (options.linkname) block.write(options.linkname, 157, 'utf8');
  block.write(options.magic ?? 'ustar\0', 257, 'latin1');
  block.write(options.version ?? '00', 263, 'latin1');
  block.write(`${headerChecksum(block).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function rawEntry(name: string, data: Buffer, options: HeaderOptions = {}): Buffer {
  return Buffer.concat([rawHeader(name, data.length, options), data, Buffer.alloc(roundUp(data.length) - data.length)]);
}

const END = Buffer.alloc(2 * BLOCK);

// --- reading archives ---------------------------------------------------------------

interface ParsedEntry {
  name: string;
  size: number;
  index: number;
  offset: number;
  data: Buffer;
}

/**
 * Feeds `bytes` to a TarParser in chunks of the sizes `nextSize` gives, checks the event
 * grammar (entry, data*, entryEnd ... end) and returns the entries with their data.
 */
function parse(bytes: Buffer, nextSize: () => number = () => bytes.length): ParsedEntry[] {
  const parser = new TarParser();
  const entries: ParsedEntry[] = [];
  let open: { entry: ParsedEntry; chunks: Buffer[] } | undefined;
  let ends = 0;
  const handle = (events: TarEvent[]): void => {
    for (const ev of events) {
      expect(ends, 'no event may follow end').toBe(0);
      switch (ev.type) {
        case 'entry':
          expect(open, 'entry inside an entry').toBeUndefined();
          open = { entry: { name: ev.name, size: ev.size, index: ev.index, offset: ev.offset, data: Buffer.alloc(0) }, chunks: [] };
          break;
        case 'data':
          expect(open, 'data outside an entry').toBeDefined();
          expect(ev.chunk.length).toBeGreaterThan(0);
          open!.chunks.push(Buffer.from(ev.chunk)); // copy: the chunk may be a view of the input
          break;
        case 'entryEnd':
          expect(open, 'entryEnd outside an entry').toBeDefined();
          open!.entry.data = Buffer.concat(open!.chunks);
          entries.push(open!.entry);
          open = undefined;
          break;
        case 'end':
          expect(open, 'end inside an entry').toBeUndefined();
          ends++;
          break;
      }
    }
  };
  for (let pos = 0; pos < bytes.length; ) {
    const n = Math.max(1, nextSize());
    handle(parser.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  expect(parser.position).toBe(bytes.length);
  expect(parser.finish()).toEqual([]);
  expect(ends).toBe(1);
  return entries;
}

const thrown = expectAirlockError;

/** Pushes everything in one chunk and expects the push to throw. */
function pushFails(bytes: Buffer, code: ErrorCode, message: RegExp): AirlockError {
  return thrown(() => new TarParser().push(bytes), code, message);
}

/** Pushes everything (which must be accepted) and expects finish() to throw. */
function finishFails(bytes: Buffer, message: RegExp = /./): AirlockError {
  const parser = new TarParser();
  parser.push(bytes);
  return thrown(() => parser.finish(), 'BUNDLE_TRUNCATED', message);
}

// --- the archive most tests use ------------------------------------------------------

const SIZES = [0, 1, 511, 512, 513, 1500];
const LONG_NAME = `${'d'.repeat(60)}/${'e'.repeat(60)}`; // > 100 bytes: tar-stream splits it into prefix and name
const FILES: FileSpec[] = [
  ...SIZES.map((size, i) => ({ name: `objects/entry-${i}-size-${size}`, data: randomBytes(size, 1000 + i) })),
  { name: LONG_NAME, data: randomBytes(700, 7) },
];

function expectedEntries(files: FileSpec[]): ParsedEntry[] {
  let offset = 0;
  return files.map((f, index) => {
    const e = { name: f.name, size: f.data.length, index, offset, data: f.data };
    offset += BLOCK + roundUp(f.data.length);
    return e;
  });
}

describe('TarParser on archives written by tar-stream', async () => {
  const archive = await packTar(FILES);
  const expected = expectedEntries(FILES);
  const endOffset = expected.at(-1)!.offset + BLOCK + roundUp(expected.at(-1)!.size);

  it('sees the archive airlock writes: headers, data, padding and a 1024-byte end marker', () => {
    expect(archive.length).toBe(endOffset + END.length);
    expect(archive.subarray(endOffset).equals(END)).toBe(true);
  });

  it('reads every entry from one chunk', () => {
    expect(parse(archive)).toEqual(expected);
  });

  it('reads every entry from 1-byte chunks', () => {
    expect(parse(archive, () => 1)).toEqual(expected);
  });

  it.each([1, 2, 3, 42, 2024])('reads every entry from random chunk sizes (seed %i)', (seed) => {
    const next = prng(seed);
    expect(parse(archive, () => 1 + Math.floor(next() * 1100))).toEqual(expected);
  });

  it('reads chunks that are exact blocks and chunks that straddle blocks', () => {
    expect(parse(archive, () => BLOCK)).toEqual(expected);
    expect(parse(archive, () => BLOCK + 1)).toEqual(expected);
    expect(parse(archive, () => BLOCK - 1)).toEqual(expected);
  });

  it('joins the ustar prefix and name fields of a long name', () => {
    const header = expected.at(-1)!.offset;
    expect(archive.toString('latin1', header + 345, header + 350)).toBe('ddddd'); // the prefix field is in use
    const long = parse(archive).find((e) => e.index === FILES.length - 1)!;
    expect(long.name).toBe(LONG_NAME);
  });

  it('accepts further zero blocks after the end marker (tar record padding)', () => {
    expect(parse(Buffer.concat([archive, Buffer.alloc(10 * BLOCK)]))).toEqual(expected);
    expect(parse(Buffer.concat([archive, Buffer.alloc(3)]), () => 7)).toEqual(expected);
  });

  it('reads an archive with no entries', async () => {
    const empty = await packTar([]);
    expect(empty.equals(END)).toBe(true);
    expect(parse(empty)).toEqual([]);
  });

  describe('rejects damage', () => {
    const secondHeader = expected[1]!.offset;

    it('a flipped byte in the first header (checksum)', () => {
      const bad = Buffer.from(archive);
      bad[3]! ^= 0x01;
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /checksum does not match/);
      expect(err.where).toBe('byte 0');
    });

    it.each([
      ['name', 10],
      ['size', 130],
      ['checksum', 150],
      ['typeflag', 156],
      ['magic', 258],
      ['prefix', 400],
    ])('a flipped byte in the %s field of a later header', (_field, at) => {
      const bad = Buffer.from(archive);
      bad[secondHeader + at]! ^= 0x04;
      // The checksum covers every header byte, so it is the first check to fail.
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /checksum does not match/);
      expect(err.where).toBe(`after entry 0 (${FILES[0]!.name}), byte ${secondHeader}`);
    });

    it('a flipped byte in a header, whatever the chunking', () => {
      const bad = Buffer.from(archive);
      bad[secondHeader + 20]! ^= 0x80;
      thrown(() => parse(bad, () => 1), 'BUNDLE_CORRUPT', /checksum/);
    });

    it('a non-zero byte in the padding after an entry', () => {
      const entry = expected[1]!; // size 1: 511 bytes of padding follow its one data byte
      expect(entry.size).toBe(1);
      const at = entry.offset + BLOCK + 1 + 200;
      const bad = Buffer.from(archive);
      bad[at] = 0x20;
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /non-zero bytes in the padding after the entry/);
      expect(err.where).toBe(`after entry 1 (${entry.name}), byte ${at}`);
      thrown(() => parse(bad, () => 3), 'BUNDLE_CORRUPT', /padding/);
    });

    it('a non-zero byte in the last padding byte of an entry', () => {
      const entry = expected[4]!; // size 513
      const at = entry.offset + BLOCK + roundUp(entry.size) - 1;
      const bad = Buffer.from(archive);
      bad[at] = 0x01;
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /padding/);
      expect(err.where).toMatch(new RegExp(`byte ${at}$`));
    });

    it('non-zero bytes after the end-of-archive marker', () => {
      const bad = Buffer.concat([archive, Buffer.from([0, 0, 0x41, 0])]);
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /non-zero bytes in the data after the end of the archive/);
      expect(err.where).toMatch(new RegExp(`byte ${archive.length + 2}$`));
      thrown(() => parse(bad, () => 1), 'BUNDLE_CORRUPT', /after the end of the archive/);
    });

    it('a header after a single zero block', () => {
      const bad = Buffer.concat([archive.subarray(0, endOffset), Buffer.alloc(BLOCK), rawEntry('late', Buffer.from('x')), END]);
      const err = pushFails(bad, 'BUNDLE_CORRUPT', /header follows an empty block/);
      expect(err.where).toMatch(new RegExp(`byte ${endOffset + BLOCK}$`));
    });

    it('a non-zero byte in the second block of the end marker', () => {
      const bad = Buffer.from(archive);
      bad[endOffset + BLOCK + 100] = 0x01;
      pushFails(bad, 'BUNDLE_CORRUPT', /header follows an empty block/);
    });
  });

  describe('reports truncation from finish()', () => {
    it('at every length short of the end marker', () => {
      for (let cut = 0; cut < archive.length; cut++) {
        const parser = new TarParser();
        expect(() => parser.push(archive.subarray(0, cut)), `push of ${cut} bytes`).not.toThrow();
        let caught: unknown;
        try {
          parser.finish();
        } catch (err) {
          caught = err;
        }
        expect(caught, `finish after ${cut} bytes`).toBeInstanceOf(AirlockError);
        expect((caught as AirlockError).code).toBe('BUNDLE_TRUNCATED');
      }
    });

    it('with a message saying where it stopped', () => {
      finishFails(Buffer.alloc(0), /without the end-of-archive marker/);
      finishFails(archive.subarray(0, 100), /in the middle of a header/);
      finishFails(archive.subarray(0, expected[2]!.offset + BLOCK + 10), /in the middle of an entry/); // in the data
      finishFails(archive.subarray(0, expected[1]!.offset + BLOCK + 5), /in the middle of an entry/); // in the padding
      finishFails(archive.subarray(0, endOffset), /without the end-of-archive marker/); // after a complete entry
      finishFails(archive.subarray(0, endOffset + BLOCK), /end-of-archive marker|header/); // half the marker
      finishFails(archive.subarray(0, archive.length - 1), /end-of-archive marker|header/);
    });

    it('naming the entry being read', () => {
      const entry = expected[5]!; // 1500 bytes
      const cut = entry.offset + BLOCK + 700;
      const err = finishFails(archive.subarray(0, cut), /in the middle of an entry/);
      expect(err.where).toBe(`entry 5 (${entry.name}), byte ${cut}`);
    });
  });
});

describe('TarParser on hand-written headers', () => {
  it('accepts a hand-written ustar regular file (control for the cases below)', () => {
    const bytes = Buffer.concat([rawEntry('plain', Buffer.from('hello')), END]);
    expect(parse(bytes)).toEqual([{ name: 'plain', size: 5, index: 0, offset: 0, data: Buffer.from('hello') }]);
  });

  it('refuses the old-style NUL typeflag: airlock writes only \'0\'', () => {
    const bytes = Buffer.concat([rawEntry('old', Buffer.from('abc'), { typeflag: 0 }), END]);
    thrown(() => parse(bytes), 'BUNDLE_UNSAFE_ENTRY', /not a regular file/);
  });

  it('reads a size in GNU base-256 form', () => {
    const sizeField = Buffer.alloc(12);
    sizeField[0] = 0x80;
    sizeField[11] = 3;
    const bytes = Buffer.concat([rawHeader('b256', 3, { sizeField }), Buffer.from('xyz'), Buffer.alloc(BLOCK - 3), END]);
    expect(parse(bytes)).toEqual([{ name: 'b256', size: 3, index: 0, offset: 0, data: Buffer.from('xyz') }]);
  });

  it('rejects a GNU-magic ("ustar  ") header even with a valid checksum', () => {
    const bytes = Buffer.concat([rawEntry('gnu', Buffer.from('x'), { magic: 'ustar ', version: ' \0' }), END]);
    const err = pushFails(bytes, 'BUNDLE_CORRUPT', /not in ustar format/);
    expect(err.where).toBe('byte 0');
  });

  it('rejects a magic other than "ustar\\0" even with version "00"', () => {
    for (const magic of ['ustar ', 'USTAR\0', '\0\0\0\0\0\0']) {
      pushFails(Buffer.concat([rawEntry('m', Buffer.from('x'), { magic }), END]), 'BUNDLE_CORRUPT', /not in ustar format/);
    }
  });

  it('rejects a ustar magic with a wrong version', () => {
    pushFails(Buffer.concat([rawEntry('v', Buffer.from('x'), { version: '01' }), END]), 'BUNDLE_CORRUPT', /not in ustar format/);
  });

  it('rejects a symlink', () => {
    const bytes = Buffer.concat([rawEntry('first', Buffer.from('ok')), rawHeader('evil', 0, { typeflag: 0x32, linkname: '/etc/passwd' }), END]);
    const err = pushFails(bytes, 'BUNDLE_UNSAFE_ENTRY', /bundle entry "evil" is not a regular file \(tar type '2'\)/);
    expect(err.where).toBe(`byte ${2 * BLOCK}`);
  });

  it('rejects a hard link', () => {
    pushFails(Buffer.concat([rawHeader('hard', 0, { typeflag: 0x31, linkname: 'first' }), END]), 'BUNDLE_UNSAFE_ENTRY', /"hard".*type '1'/);
  });

  it('rejects an invalid size field', () => {
    const sizeField = Buffer.from('00000000009\0', 'latin1');
    pushFails(Buffer.concat([rawHeader('s', 0, { sizeField }), END]), 'BUNDLE_CORRUPT', /invalid size field/);
  });

  it('rejects a header whose checksum field is not octal', () => {
    const block = rawHeader('c', 0);
    block.write('zzzzzz\0 ', 148, 'latin1');
    pushFails(Buffer.concat([block, END]), 'BUNDLE_CORRUPT', /checksum/);
  });
});

describe('TarParser on entries tar-stream writes that airlock refuses', () => {
  it('rejects a symlink', async () => {
    const bytes = await packTar([{ name: 'ok', data: Buffer.from('fine') }, { name: 'link', type: 'symlink', linkname: '../../etc/passwd' }]);
    const err = pushFails(bytes, 'BUNDLE_UNSAFE_ENTRY', /"link" is not a regular file \(tar type '2'\)/);
    expect(err.where).toBe(`byte ${2 * BLOCK}`);
  });

  it('rejects a directory', async () => {
    const bytes = await packTar([{ name: 'dir', type: 'directory', mode: 0o755 }]);
    pushFails(bytes, 'BUNDLE_UNSAFE_ENTRY', /"dir\/?" is not a regular file \(tar type '5'\)/);
  });
});
