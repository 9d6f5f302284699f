import binding from 'zstd-napi/binding.js';
import { compress as zstdCompress } from 'zstd-napi';

/**
 * Chunk-at-a-time zstd over zstd-napi's native contexts. The generators yield one
 * output buffer at a time, so a caller that awaits between pieces holds at most one
 * OUT_CHUNK of output: a decompression bomb cannot grow memory, it can only run into
 * the size check the caller makes on every piece.
 */
const OUT_CHUNK = 256 * 1024;

/** zstd's default level, the one `zstd -T0` uses, so sizes compare like for like. */
export const COMPRESSION_LEVEL = 3;

export function compressBuffer(data: Uint8Array): Buffer {
  return zstdCompress(data, { compressionLevel: COMPRESSION_LEVEL });
}

export class ZstdDecoder {
  private readonly dctx = new binding.DCtx();
  private readonly out = Buffer.allocUnsafe(OUT_CHUNK);
  private frameOpen = false;
  private sawInput = false;

  *decode(input: Uint8Array): Generator<Buffer> {
    if (input.length > 0) this.sawInput = true;
    let src = input;
    while (src.length > 0 || this.frameOpen) {
      const [hint, produced, consumed] = this.dctx.decompressStream(this.out, src);
      this.frameOpen = hint !== 0;
      src = src.subarray(consumed);
      if (produced > 0) yield Buffer.from(this.out.subarray(0, produced));
      // With input used up and the output buffer not filled, zstd has nothing more to give.
      if (src.length === 0 && produced < this.out.length) return;
    }
  }

  /** True when some input was given and it ends exactly at the end of a frame. */
  get complete(): boolean {
    return this.sawInput && !this.frameOpen;
  }
}

export class ZstdEncoder {
  private readonly cctx = new binding.CCtx();
  private readonly out = Buffer.allocUnsafe(OUT_CHUNK);

  constructor(level = COMPRESSION_LEVEL) {
    this.cctx.setParameter(binding.CParameter.compressionLevel, level);
  }

  encode(input: Uint8Array): Generator<Buffer> {
    return this.run(input, binding.EndDirective.continue);
  }

  end(): Generator<Buffer> {
    return this.run(Buffer.alloc(0), binding.EndDirective.end);
  }

  private *run(input: Uint8Array, directive: binding.EndDirective): Generator<Buffer> {
    let src = input;
    for (;;) {
      const [remaining, produced, consumed] = this.cctx.compressStream2(this.out, src, directive);
      src = src.subarray(consumed);
      if (produced > 0) yield Buffer.from(this.out.subarray(0, produced));
      const finished = directive === binding.EndDirective.end ? remaining === 0 : src.length === 0;
      if (finished) return;
    }
  }
}

/** ZSTD_COMPRESSBOUND(size), plus 64 bytes for the frame header and checksum: the largest a frame of `size` bytes can be. */
export function compressBound(size: number): number {
  return size + Math.floor(size / 256) + (size < 128 * 1024 ? Math.floor((128 * 1024 - size) / 2048) : 0) + 64;
}

/** Why a bounded decompression failed; the caller turns it into its own error. */
export type BoundedFailure = { kind: 'too-large' } | { kind: 'invalid'; message: string } | { kind: 'incomplete' };

/**
 * Decompresses one whole zstd frame of untrusted bytes, refusing to hold more than
 * `limit` bytes of output: a few KB of hostile input cannot make it allocate more.
 */
export function decompressBounded(stored: Uint8Array, limit: number, fail: (failure: BoundedFailure) => Error): Buffer {
  const decoder = new ZstdDecoder();
  const pieces: Buffer[] = [];
  let total = 0;
  let failure: BoundedFailure | undefined;
  try {
    for (const piece of decoder.decode(stored)) {
      total += piece.length;
      if (total > limit) {
        failure = { kind: 'too-large' };
        break;
      }
      pieces.push(piece);
    }
  } catch (err) {
    failure = { kind: 'invalid', message: (err as Error).message };
  }
  if (failure === undefined && !decoder.complete) failure = { kind: 'incomplete' };
  if (failure !== undefined) throw fail(failure);
  return Buffer.concat(pieces, total);
}
