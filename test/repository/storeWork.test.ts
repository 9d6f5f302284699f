import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/core/objectId.js';
import { readUpTo } from '../../src/repository/storeWork.js';
import { cleanTempDirsAfterEach, patternBytes, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

describe('readUpTo (a file of an expected size, asked for with a byte more)', () => {
  it('gives a file of the expected size after one read: it does not wait for the end of a pipe whose writer is still there', () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    const closed = join(dir, 'writer-closed');
    execFileSync('mkfifo', [fifo]);
    // The writer gives 5 bytes, then holds the pipe open for 10 s, says so, and closes it.
    // A second read, to see the end, would block until then.
    const writer = spawn('sh', ['-c', 'exec 3>"$1"; printf hello >&3; sleep 10; touch "$2"; exec 3>&-', 'writer', fifo, closed], { stdio: 'ignore' });
    try {
      const data = readUpTo(fifo, 5);
      expect(data.toString()).toBe('hello');
      expect(fs.existsSync(closed)).toBe(false);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('still shows a file longer or shorter than expected', () => {
    const dir = tempDir();
    const content = patternBytes(5000, 9);
    fs.writeFileSync(join(dir, 'longer'), Buffer.concat([content, Buffer.from([1, 2, 3])]));
    fs.writeFileSync(join(dir, 'exact'), content);
    fs.writeFileSync(join(dir, 'shorter'), content.subarray(0, 4000));
    fs.writeFileSync(join(dir, 'empty'), '');
    expect(readUpTo(join(dir, 'longer'), 5000).length).toBe(5001);
    expect(readUpTo(join(dir, 'exact'), 5000).equals(content)).toBe(true);
    expect(readUpTo(join(dir, 'shorter'), 5000).equals(content.subarray(0, 4000))).toBe(true);
    expect(readUpTo(join(dir, 'empty'), 0).length).toBe(0);
    expect(readUpTo(join(dir, 'exact'), 0).length).toBe(1);
  });
});

describe('hashBytes (one hasher, started over for each call)', () => {
  it('gives each content its own BLAKE3, whatever was hashed before, as the one-shot function does', () => {
    const contents = [Buffer.alloc(0), patternBytes(450, 1), patternBytes(70_000, 2), Buffer.from('a'), Buffer.alloc(0), patternBytes(450, 1)];
    for (const c of contents) expect(hashBytes(c)).toBe(blake3(c).toString('hex'));
    // A view into a larger buffer hashes only its own bytes.
    const big = patternBytes(10_000, 3);
    expect(hashBytes(big.subarray(100, 600))).toBe(blake3(Buffer.from(big.subarray(100, 600))).toString('hex'));
    expect(hashBytes(new Uint8Array(big.buffer, big.byteOffset + 7, 33))).toBe(blake3(Buffer.from(big.subarray(7, 40))).toString('hex'));
  });
});
