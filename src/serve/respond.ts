import * as fs from 'node:fs';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { parseRange } from '../core/serve/range.js';

/** A refusal found while answering, with its status. */
export class NotServed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a response is about: the headers every body gets, whether from a file or from memory. */
export interface Representation {
  /** The content's BLAKE3 (for a stored file, its object id). */
  etag: string;
  size: number;
  /** An HTTP date (`Date.prototype.toUTCString`). */
  lastModified: string;
  contentType: string;
  /** A dated or id URL never changes what it answers; `latest` does. */
  immutable: boolean;
  /** `User-Agent` on binary URLs: the answer depends on the client's R. */
  vary: string | undefined;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';

/** A response that remembers the length it declared, for the access log (headers handed to writeHead as a list are not kept where getHeader reads). */
export class ServedResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** The Content-Length sent, or undefined (none, or not sent yet). */
  declaredLength: number | undefined = undefined;
}

/**
 * Sends the status line and `headers` (name, value, name, value...) in one call: setting
 * them one by one stores each in a map first, validated twice (about a twentieth of serve's CPU for
 * small files, with the rest of the headers' handling).
 */
function writeHead(res: ServedResponse, status: number, headers: (string | number)[], length: number): void {
  res.declaredLength = length;
  res.writeHead(status, headers.concat('Content-Length', length) as string[]); // Node writes numbers as they print
}

/** A body to send: its part of the representation, and the status line and headers, not yet written. */
interface BodyAnswer {
  start: number;
  end: number;
  status: 200 | 206;
  headers: (string | number)[];
}

/**
 * Headers, conditional requests and ranges for one representation. When no body follows
 * (HEAD, 304, 416) the answer is sent and null returned; otherwise the part of the body and
 * its headers, which the caller writes (`begin`) once the body's first bytes are read, so a
 * read that fails still becomes an error answer rather than a cut connection.
 */
function head(req: IncomingMessage, res: ServedResponse, rep: Representation): BodyAnswer | null {
  const etag = `"${rep.etag}"`;
  const headers: (string | number)[] = ['ETag', etag, 'Last-Modified', rep.lastModified, 'Cache-Control', rep.immutable ? IMMUTABLE : REVALIDATE, 'Accept-Ranges', 'bytes'];
  if (rep.vary) headers.push('Vary', rep.vary);
  const match = req.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*')) {
    res.writeHead(304, headers as string[]);
    res.end();
    return null;
  }
  headers.push('Content-Type', rep.contentType);
  // A Range is honoured only for the representation it was asked against (If-Range).
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, rep.size) : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    headers.push('Content-Range', `bytes */${rep.size}`);
    writeHead(res, 416, headers, 0);
    res.end();
    return null;
  }
  const answer: BodyAnswer = range.kind === 'partial' ? { start: range.start, end: range.end, status: 206, headers } : { start: 0, end: rep.size - 1, status: 200, headers };
  if (range.kind === 'partial') headers.push('Content-Range', `bytes ${answer.start}-${answer.end}/${rep.size}`);
  if (req.method === 'HEAD' || rep.size === 0) {
    begin(res, answer);
    res.end();
    return null;
  }
  return answer;
}

/** Writes a body answer's status line and headers. */
function begin(res: ServedResponse, answer: BodyAnswer): void {
  writeHead(res, answer.status, answer.headers, answer.end - answer.start + 1);
}

/**
 * A body is read into pieces of this size, each written as soon as it is read. The pieces
 * are used again once the socket has taken their bytes (the write's callback): a new buffer
 * per read made V8 collect its whole heap over and over as the buffers' external memory grew
 * (a fifth of serve's CPU, perf), and set the process's peak memory. At 256 KiB a piece is
 * still in the CPU's cache when the socket copies it out; with 1 MiB pieces serving the
 * bench's archives took 30 to 40 % longer.
 */
const PIECE = 256 * 1024;
/** Free pieces kept for the next responses; more are made under load and left to the collector. */
const PIECES_KEPT = 16;
const freePieces: Buffer[] = [];
/** Bodies up to this size are read into a buffer of their own and sent in one write: no piece is held for them. */
const OWN_BUFFER_LIMIT = 64 * 1024;

function takePiece(): Buffer {
  return freePieces.pop() ?? Buffer.allocUnsafeSlow(PIECE);
}

function givePieceBack(piece: Buffer): void {
  if (freePieces.length < PIECES_KEPT) freePieces.push(piece);
}

function readPart(fd: number, into: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new Error('the object ended before its recorded size (the store is damaged): run airlock verify --deep on the data dir');
    done += n;
  }
}

/**
 * Whether the client is gone. A response queued behind another on its connection (HTTP
 * pipelining) has no socket of its own yet and hears nothing when the connection closes, so
 * the connection its request came on is asked too.
 */
function gone(res: ServerResponse): boolean {
  return res.destroyed || res.req.socket.destroyed;
}

/** Who waits for each connection to close: one listener per connection, however many responses queue on it. */
const closeWaiters = new WeakMap<Socket, Set<() => void>>();

function onConnectionClose(connection: Socket, waiter: () => void): () => void {
  let waiters = closeWaiters.get(connection);
  if (waiters === undefined) {
    const created = new Set<() => void>();
    closeWaiters.set(connection, created);
    connection.once('close', () => {
      closeWaiters.delete(connection);
      for (const w of created) w();
    });
    waiters = created;
  }
  waiters.add(waiter);
  return () => waiters.delete(waiter);
}

/** Resolves when the response can take more, or the client is gone (`gone`): nothing waits forever on a client that left. */
export function drained(res: ServerResponse): Promise<void> {
  if (gone(res)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      forget();
      resolve();
    };
    const forget = onConnectionClose(res.req.socket, done);
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Sends bytes [start, start + length) of the open file `fd`, a piece at a time: a piece is
 * read only once the socket has room, so a slow client holds at most one. `fd` is closed by
 * the caller once this returns, which is after the last read.
 */
async function sendPieces(res: ServedResponse, fd: number, answer: BodyAnswer): Promise<void> {
  const { start } = answer;
  const length = answer.end - answer.start + 1;
  if (length <= OWN_BUFFER_LIMIT) {
    const body = Buffer.allocUnsafe(length);
    readPart(fd, body, length, start);
    begin(res, answer);
    res.end(body);
    return;
  }
  let sent = 0;
  while (sent < length) {
    if (gone(res)) return; // the client left
    const piece = takePiece();
    const n = Math.min(PIECE, length - sent);
    try {
      readPart(fd, piece, n, start + sent);
    } catch (err) {
      givePieceBack(piece);
      throw err;
    }
    if (sent === 0) begin(res, answer); // the first piece is read: the headers go with it
    sent += n;
    const back = () => givePieceBack(piece);
    if (sent === length) {
      res.end(piece.subarray(0, n), back);
      return;
    }
    if (!res.write(piece.subarray(0, n), back)) await drained(res);
  }
}

/**
 * Streams a stored object. It is opened first (never following a link), and checked to be a
 * regular file of the size the tree says, so what starts is what finishes: a switch or a gc
 * during the download does not change the open file.
 */
export async function sendFile(req: IncomingMessage, res: ServedResponse, rep: Representation, path: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    // gc removing this snapshot between the lookup and the open: it is no longer kept.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotServed(404, `object ${rep.etag.slice(0, 12)} is gone: its snapshot was removed by gc just now`);
    throw new Error(`the store has no readable object ${rep.etag.slice(0, 12)} for this snapshot (${(err as NodeJS.ErrnoException).code ?? 'error'}): run airlock verify --deep on the data dir`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== rep.size) throw new Error(`object ${rep.etag.slice(0, 12)} is not the ${rep.size}-byte file the snapshot names (the store is damaged): run airlock verify --deep on the data dir`);
    const answer = head(req, res, rep);
    if (answer !== null) await sendPieces(res, fd, answer);
  } finally {
    fs.closeSync(fd);
  }
}

/** A body made in memory (a generated index, the page). */
export function sendBytes(req: IncomingMessage, res: ServedResponse, rep: Representation, body: Buffer): void {
  const answer = head(req, res, rep);
  if (answer === null) return;
  begin(res, answer);
  res.end(body.subarray(answer.start, answer.end + 1));
}

/** A short plain-text answer: errors, refusals. */
export function sendText(res: ServedResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${message}\n`, 'utf8');
  writeHead(res, status, [...Object.entries(headers).flat(), 'Content-Type', 'text/plain; charset=utf-8', 'Cache-Control', 'no-store'], body.length);
  res.end(body);
}
