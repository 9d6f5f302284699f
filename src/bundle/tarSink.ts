import * as fs from 'node:fs';
import * as tar from 'tar-stream';
import type { Writable } from 'node:stream';

/**
 * The writing half of the container: entries go through tar-stream into a file, with
 * backpressure, in the fixed shape the strict reader expects (ustar, regular files,
 * mode 0644, owner 0, fixed mtime so identical bundles are byte-identical).
 */
const FIXED_MTIME = new Date(0);

export class TarSink {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  private readonly out: fs.WriteStream;

  constructor(readonly file: string) {
    const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o644 });
    this.out = out;
    this.done = new Promise((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
      this.pack.on('error', reject);
    });
    this.pack.pipe(out as Writable);
  }

  get bytesWritten(): number {
    return this.out.bytesWritten;
  }

  async addBuffer(name: string, data: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pack.entry(this.header(name, data.length), Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Streams `size` bytes from `chunks` as one entry. */
  async addStream(name: string, size: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    let settle!: (err?: Error | null) => void;
    const finished = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    finished.catch(() => undefined); // awaited below; this only stops an early rejection from going unhandled
    // tar-stream's entry is a streamx Writable with the same write/drain contract as node's.
    const entry = this.pack.entry(this.header(name, size), (err) => settle(err)) as unknown as Writable;
    for await (const chunk of chunks) {
      if (!entry.write(chunk)) await new Promise((resolve) => entry.once('drain', resolve));
    }
    entry.end();
    await finished;
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  destroy(): void {
    this.pack.destroy();
  }

  private header(name: string, size: number): tar.Header {
    return { name, size, mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0, uname: '', gname: '', type: 'file', linkname: '', devmajor: 0, devminor: 0 };
  }
}
