import { Blake3Hasher } from '@napi-rs/blake-hash';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ReleaseError } from './releaseError.js';

export interface WrittenTarball {
  bytes: number;
  sha256: string;
  blake3: string;
}

/**
 * The tar options that make the archive depend on the files' names, bytes and execute
 * bits only, not on when or by whom the checkout was built: sorted entries, one mtime,
 * root ownership by number (the air-gapped host has no user of the build host), and
 * modes normalised to 644/755 whatever the builder's umask was. `--format=gnu` because
 * the default pax format of some tars adds atime/ctime headers.
 */
const REPRODUCIBLE = ['--format=gnu', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=u+rwX,go=rX'];

/** GNU tar: `--sort=name` (GNU tar 1.28+) is what makes the order independent of the filesystem's. */
function requireGnuTar(): void {
  const probe = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0 || !/GNU tar/.test(probe.stdout)) {
    throw new ReleaseError(
      `\`tar --version\` does not report GNU tar (${probe.error?.message ?? probe.stdout.split('\n')[0] ?? `exit ${probe.status}`})`,
      'install GNU tar 1.28 or newer (apt-get install tar; on macOS, brew install gnu-tar and put its gnubin first on PATH)',
    );
  }
}

/**
 * Writes `<parent>/<top>` as a gzipped tar to `output` (created, never overwritten),
 * hashing the bytes as they are written, then flushes it to disk. gzip is node's zlib:
 * its header carries no file name and a zero mtime, as `gzip -n` would write it.
 */
export async function writeTarball(parent: string, top: string, output: string): Promise<WrittenTarball> {
  requireGnuTar();
  const tar = spawn('tar', ['--create', '--file=-', '--directory', parent, ...REPRODUCIBLE, top], {
    // LC_ALL=C: names sort byte by byte, and messages are in English for the error below.
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: Buffer[] = [];
  tar.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => resolve(code));
  });

  const sha256 = createHash('sha256');
  const blake3 = new Blake3Hasher();
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha256.update(chunk);
      blake3.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(tar.stdout, createGzip({ level: 9 }), hashing, fs.createWriteStream(output, { flags: 'wx', mode: 0o644 }));
  const code = await exited;
  if (code !== 0) {
    throw new ReleaseError(`tar exited ${code} writing ${output}: ${Buffer.concat(stderr).toString('utf8').trim()}`, 'fix what tar reports above, then `npm run release` again');
  }
  const fd = fs.openSync(output, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: sha256.digest('hex'), blake3: blake3.digest('hex') };
}
