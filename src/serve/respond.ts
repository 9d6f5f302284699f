import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
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
  lastModified: Date;
  contentType: string;
  /** A dated or id URL never changes what it answers; `latest` does. */
  immutable: boolean;
  /** `User-Agent` on binary URLs: the answer depends on the client's R. */
  vary?: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';

/**
 * Headers, conditional requests and ranges for one representation; returns the part of
 * the body to send, or null when no body follows (HEAD, 304, 416).
 */
function head(req: IncomingMessage, res: ServerResponse, rep: Representation): { start: number; end: number } | null {
  const etag = `"${rep.etag}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', rep.lastModified.toUTCString());
  res.setHeader('Cache-Control', rep.immutable ? IMMUTABLE : REVALIDATE);
  res.setHeader('Accept-Ranges', 'bytes');
  if (rep.vary) res.setHeader('Vary', rep.vary);
  const match = req.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*')) {
    res.statusCode = 304;
    res.end();
    return null;
  }
  res.setHeader('Content-Type', rep.contentType);
  // A Range is honoured only for the representation it was asked against (If-Range).
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, rep.size) : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${rep.size}`);
    res.setHeader('Content-Length', 0);
    res.end();
    return null;
  }
  const part = range.kind === 'partial' ? { start: range.start, end: range.end } : { start: 0, end: rep.size - 1 };
  if (range.kind === 'partial') {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${part.start}-${part.end}/${rep.size}`);
  } else {
    res.statusCode = 200;
  }
  res.setHeader('Content-Length', part.end - part.start + 1);
  if (req.method === 'HEAD') {
    res.end();
    return null;
  }
  return part;
}

/** Bodies up to this size (most package archives) are read in one call and sent in one write. */
const WHOLE_READ_LIMIT = 1024 * 1024;
/** Larger ones stream in pieces of this size: memory per download stays bounded. */
const STREAM_CHUNK = 1024 * 1024;

function readPart(fd: number, start: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, start + done);
    if (n === 0) throw new Error('the object ended before its recorded size (the store is damaged): run airlock verify --deep on the data dir');
    done += n;
  }
  return buffer;
}

/**
 * Streams a stored object. It is opened first (never following a link), and checked to be a
 * regular file of the size the tree says, so what starts is what finishes: a switch or a gc
 * during the download does not change the open file.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, rep: Representation, path: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    // gc removing this snapshot between the lookup and the open: it is no longer kept.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotServed(404, `object ${rep.etag.slice(0, 12)} is gone: its snapshot was removed by gc just now`);
    throw new Error(`the store has no readable object ${rep.etag.slice(0, 12)} for this snapshot (${(err as NodeJS.ErrnoException).code ?? 'error'}): run airlock verify --deep on the data dir`);
  }
  let handedOver = false;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== rep.size) throw new Error(`object ${rep.etag.slice(0, 12)} is not the ${rep.size}-byte file the snapshot names (the store is damaged): run airlock verify --deep on the data dir`);
    const part = head(req, res, rep);
    if (part === null || rep.size === 0) {
      if (part !== null) res.end();
      return;
    }
    const length = part.end - part.start + 1;
    if (length <= WHOLE_READ_LIMIT) {
      // Most files of a repository are small: one read and one write, no stream to set up.
      res.end(readPart(fd, part.start, length));
      return;
    }
    handedOver = true;
    await pipeline(fs.createReadStream('', { fd, start: part.start, end: part.end, highWaterMark: STREAM_CHUNK }), res);
  } finally {
    if (!handedOver) fs.closeSync(fd);
  }
}

/** A body made in memory (a generated index, the page). */
export function sendBytes(req: IncomingMessage, res: ServerResponse, rep: Representation, body: Buffer): void {
  const part = head(req, res, rep);
  if (part === null) return;
  res.end(body.subarray(part.start, part.end + 1));
}

/** A short plain-text answer: errors, refusals. */
export function sendText(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${message}\n`, 'utf8');
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
