import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink, VolumeSink, type ByteSink } from '../../src/bundle/byteSink.js';
import { Random } from '../../fixtures/random.js';
import { tempDir } from '../helpers/fixtures.js';

/**
 * One suite for every byte sink, as restic runs one suite against every backend: whatever
 * a sink is (one file, a set of volumes), it takes sequential writes, shows nothing under a
 * final name until finish(), then holds exactly the bytes written, and abort() leaves
 * nothing behind, not even a temp file.
 */
const dir = tempDir('airlock-byte-sink-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Kind {
  name: string;
  open(base: string): Promise<ByteSink>;
  /** The bytes the finished output holds, joined back as one stream. */
  content(base: string): Buffer;
}

const VOLUME_SIZE = 1024 * 1024;

const kinds: Kind[] = [
  { name: 'FileSink (one file)', open: (base) => FileSink.create(base), content: (base) => fs.readFileSync(base) },
  {
    name: 'VolumeSink (volumes of 1 MiB)',
    open: async (base) => new VolumeSink(base, VOLUME_SIZE),
    content: (base) => {
      const volumes = fs.readdirSync(dir).filter((n) => n.startsWith(`${base.split('/').pop()}.`)).sort();
      return Buffer.concat(volumes.map((v) => execFileSync('tar', ['xOf', join(dir, v), 'airlock-bundle.part'], { maxBuffer: 64 * 1024 * 1024 })));
    },
  },
];

function chunks(seed: number): Buffer[] {
  const random = new Random(seed);
  return Array.from({ length: 40 }, (_, i) => random.bytes(i % 7 === 0 ? 200_000 : random.int(1, 5000)));
}

function namesUnder(prefix: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes(prefix));
}

describe.each(kinds)('$name', (kind) => {
  it('holds exactly the bytes written, in order, and nothing under a final name before finish()', async () => {
    const base = join(dir, `${kind.name.split(' ')[0]}-ok.airlock`);
    const sink = await kind.open(base);
    const data = chunks(1);
    let position = 0;
    for (let i = 0; i < data.length; i += 3) {
      const group = data.slice(i, i + 3);
      await sink.writev(group, position);
      position += group.reduce((n, b) => n + b.length, 0);
    }
    expect(namesUnder(`${kind.name.split(' ')[0]}-ok`).every((n) => n.startsWith('.tmp-'))).toBe(true);
    await sink.finish();
    expect(kind.content(base).equals(Buffer.concat(data))).toBe(true);
    expect(namesUnder(`${kind.name.split(' ')[0]}-ok`).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('abort() removes everything it wrote, temp files included', async () => {
    const base = join(dir, `${kind.name.split(' ')[0]}-abort.airlock`);
    const sink = await kind.open(base);
    const data = chunks(2);
    await sink.writev(data, 0);
    expect(namesUnder(`${kind.name.split(' ')[0]}-abort`).length).toBeGreaterThan(0);
    await sink.abort();
    expect(namesUnder(`${kind.name.split(' ')[0]}-abort`)).toEqual([]);
  });
});
