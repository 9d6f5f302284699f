import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AirlockError } from '../errors.js';
import { binaryConfigName } from '../core/layout/rspmLayout.js';
import { contentTypeOf } from '../core/serve/contentType.js';
import { renderPage } from '../core/serve/page.js';
import { parseRUserAgent } from '../core/serve/rUserAgent.js';
import { cranTreePath, parseRequestPath, type Route } from '../core/serve/routes.js';
import { chooseSnapshot, type KeptSnapshot } from '../core/serve/snapshotChoice.js';
import { hashBytes } from '../core/objectId.js';
import { NotServed, sendBytes, sendFile, sendText, ServedResponse, type Representation } from './respond.js';
import { ServedRepository } from './servedRepository.js';

export interface ServeOptions {
  dataDir: string;
  /** `HOST:PORT`; port 0 picks a free one. */
  listen: string;
  /** One access-log line per request (common log format), or nothing. */
  log: ((line: string) => void) | undefined;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A slow client cannot hold a connection: it has this long to send its headers, and its whole
 * request (AIRLOCK_SERVE_HEADERS_TIMEOUT_MS shortens the first, for tests); the timeouts are
 * checked every second.
 */
const HEADERS_TIMEOUT_MS = Number(process.env.AIRLOCK_SERVE_HEADERS_TIMEOUT_MS ?? 10_000);
const REQUEST_TIMEOUT_MS = Math.max(30_000, HEADERS_TIMEOUT_MS);
const KEEP_ALIVE_MS = 5_000;
const TIMEOUT_CHECK_MS = 1_000;
/**
 * Nor can it hold a response by not reading it: a connection on which no read or write
 * completes for this long is closed (nginx's send_timeout is the same minute), and with it
 * the response's file and piece. A write completes when the kernel has taken a whole piece,
 * which for a client behind a full send buffer (a MB or more) means a client reading slower
 * than about 25 KB/s can be cut; so can one whose answer takes the server itself this long
 * to make. AIRLOCK_SERVE_SEND_TIMEOUT_MS shortens it, for tests.
 */
const SEND_TIMEOUT_MS = Number(process.env.AIRLOCK_SERVE_SEND_TIMEOUT_MS ?? 60_000);

/**
 * `airlock serve`: a read-only HTTP/1.1 server over a data dir's kept snapshots, answering
 * Posit Package Manager's URL scheme (src/core/serve/routes.ts). It never writes to the data
 * dir and takes no lock, so apply, rollback and gc run beside it.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = parseListen(options.listen);
  const served = await ServedRepository.open(options.dataDir);
  const server = http.createServer<typeof http.IncomingMessage, typeof ServedResponse>({ ServerResponse: ServedResponse, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_MS, connectionsCheckingInterval: TIMEOUT_CHECK_MS }, (req, res) => {
    const log = options.log;
    if (log !== undefined) {
      const started = new Date();
      res.on('finish', () => log(accessLine(req, res, started)));
    }
    handle(served, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendText(res, err instanceof NotServed ? err.status : 500, `airlock serve: ${(err as Error).message}`);
    });
  });
  // With no 'timeout' listener anywhere, Node destroys the connection.
  server.setTimeout(SEND_TIMEOUT_MS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new AirlockError('USAGE', `cannot listen on ${options.listen}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}`, {
          hint: err.code === 'EADDRINUSE' ? 'another server holds that port: choose another with --listen HOST:PORT (port 0 picks a free one)' : 'give --listen as HOST:PORT, for example 127.0.0.1:8080',
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AirlockError('USAGE', `--listen ${listen} is not HOST:PORT`, { hint: 'for example --listen 127.0.0.1:8080, --listen 0.0.0.0:8080 for every interface, or port 0 for a free one' });
  }
  return { host: (m[1] ?? m[2])!, port };
}

async function handle(served: ServedRepository, req: http.IncomingMessage, res: ServedResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, `${req.method} is not allowed: this repository is read-only`, { Allow: 'GET, HEAD' });
  const parsed = parseRequestPath(req.url ?? '');
  if (!parsed.ok) return sendText(res, parsed.status, parsed.message);
  const route = parsed.route;
  if (route.kind === 'page') return sendPage(served, req, res);
  const kept = served.keptNow() ?? (await served.kept());
  const choice = chooseSnapshot(route.snapshot, kept, served.current());
  if (!choice.found) return sendText(res, 404, choice.message);
  const snapshot = choice.snapshot;
  const base = { lastModified: snapshot.lastModified, immutable: choice.immutable };
  if (route.kind === 'cran') return sendCran(served, req, res, route, snapshot, base);
  return sendTreeFile(served, req, res, snapshot, route.path, base, undefined);
}

type Base = Pick<Representation, 'lastModified' | 'immutable'>;

async function sendCran(served: ServedRepository, req: http.IncomingMessage, res: ServedResponse, route: Extract<Route, { kind: 'cran' }>, snapshot: KeptSnapshot, base: Base): Promise<void> {
  const vary = route.distribution === null ? undefined : 'User-Agent';
  if (route.file === 'Meta/archive.rds') {
    // The archive follows the kept set (gc thins it), so even under a dated URL it is revalidated.
    const archive = await served.archive(snapshot.id);
    return sendBytes(req, res, representation({ lastModified: base.lastModified, immutable: false }, archive.rdsId, archive.rds.length, route.file, vary), archive.rds);
  }
  const index = await served.tree(snapshot.id);
  if (route.file.startsWith('Archive/')) {
    // The tree's own Archive/ first (a mirror that carries one), else what earlier kept snapshots held.
    if (index.entries.has(cranTreePath(route.file, null))) return sendTreeFile(served, req, res, snapshot, cranTreePath(route.file, null), base, vary);
    const archived = (await served.archive(snapshot.id)).files.get(route.file.slice('Archive/'.length));
    if (!archived) return sendText(res, 404, `${route.file} is not in the archive of snapshot ${snapshot.day ?? snapshot.id} (no kept snapshot up to it held that version, or it is the current one)`);
    return sendFile(req, res, representation(base, archived.id, archived.size, route.file, vary), served.repo.objects.path(archived.id));
  }
  let config: string | null = null;
  if (route.distribution !== null) {
    const client = parseRUserAgent(req.headers['user-agent'] ?? '');
    const wanted = client ? binaryConfigName({ rVersion: client.rVersion, distribution: route.distribution, architecture: client.arch }) : null;
    if (wanted !== null && index.binaryConfigs.has(wanted)) config = wanted;
  }
  return sendTreeFile(served, req, res, snapshot, cranTreePath(route.file, config), base, vary);
}

async function sendTreeFile(served: ServedRepository, req: http.IncomingMessage, res: ServedResponse, snapshot: KeptSnapshot, path: string, base: Base, vary: string | undefined): Promise<void> {
  const entry = (served.treeNow(snapshot.id) ?? (await served.tree(snapshot.id))).entries.get(path);
  if (!entry) return sendText(res, 404, `snapshot ${snapshot.day ?? ''} ${snapshot.id.slice(0, 12)} has no ${path}`.replace('  ', ' '));
  return sendFile(req, res, representation(base, entry.id, entry.size, path, vary), served.repo.objects.path(entry.id));
}

/**
 * Built field by field, always of one shape: spreading `base` and an optional `vary` into a
 * literal made V8 copy the object the slow way, about 7 % of serve's CPU for small files (a profile).
 */
function representation(base: Base, etag: string, size: number, path: string, vary: string | undefined): Representation {
  return { lastModified: base.lastModified, immutable: base.immutable, etag, size, contentType: contentTypeOf(path), vary };
}

async function sendPage(served: ServedRepository, req: http.IncomingMessage, res: ServedResponse): Promise<void> {
  const current = served.current();
  const summaries = await served.summaries();
  const shown = summaries.find((s) => s.kept.id === current);
  const host = /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host ?? '') ? req.headers.host! : 'localhost';
  const body = Buffer.from(
    renderPage({
      base: `http://${host}`,
      snapshots: [...summaries].reverse().map((s) => ({ kept: s.kept, current: s.kept.id === current, cranPackages: s.cranPackages, changes: s.changes })),
      distributions: shown?.distributions ?? [],
      biocVersions: shown?.biocVersions ?? [],
    }),
    'utf8',
  );
  sendBytes(req, res, { etag: hashBytes(body), size: body.length, lastModified: new Date().toUTCString(), contentType: 'text/html; charset=utf-8', immutable: false, vary: undefined }, body);
}

/** `127.0.0.1 - - [06/Dec/2026:14:02:21 +0000] "GET /cran/latest/src/contrib/PACKAGES HTTP/1.1" 200 1234` */
function accessLine(req: http.IncomingMessage, res: ServedResponse, at: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  const when = `${two(at.getUTCDate())}/${months[at.getUTCMonth()]}/${at.getUTCFullYear()}:${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
  const length = res.declaredLength;
  const bytes = req.method === 'HEAD' || length === undefined ? '-' : String(length);
  const target = (req.url ?? '').replace(/[^\x21-\x7e]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${req.socket.remoteAddress ?? '-'} - - [${when}] "${req.method} ${target} HTTP/${req.httpVersion}" ${res.statusCode} ${bytes}`;
}
