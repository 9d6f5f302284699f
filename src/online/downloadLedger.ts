import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { isObjectId, type ObjectId } from '../core/objectId.js';
import type { Repository } from '../repository/repository.js';

/**
 * What the upstream's own checksums already vouch for: `md5:<hex>` (from PACKAGES) or
 * `git:<sha1>` (from the sysreqs listing) -> the object holding those bytes. A re-run,
 * or a run after an interruption, looks a file up here and downloads it only when the
 * object is not in the store. Entries are appended only after their objects were
 * flushed, so a line never names an object a crash could have lost; a torn last line
 * from a crash is ignored.
 */
export interface LedgerEntry {
  key: string;
  id: ObjectId;
  size: number;
}

export class DownloadLedger {
  private readonly known = new Map<string, LedgerEntry>();
  private unsaved: LedgerEntry[] = [];

  private constructor(
    private readonly repo: Repository,
    private readonly path: string,
  ) {}

  static load(repo: Repository): DownloadLedger {
    const ledger = new DownloadLedger(repo, repo.layout.downloadLedgerPath);
    let text = '';
    try {
      text = fs.readFileSync(ledger.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      const entry = parseLine(line);
      if (entry) ledger.known.set(entry.key, entry);
    }
    return ledger;
  }

  /** The object already holding the bytes the upstream vouches for, if the store still has it. */
  lookup(key: string | null): LedgerEntry | undefined {
    if (key === null) return undefined;
    const entry = this.known.get(key);
    return entry && this.repo.objects.hasSync(entry.id) ? entry : undefined;
  }

  remember(entry: LedgerEntry): void {
    this.known.set(entry.key, entry);
    this.unsaved.push(entry);
  }

  /** Makes the objects durable, then records them: the order that keeps every line true. */
  async checkpoint(): Promise<void> {
    const batch = this.unsaved;
    this.unsaved = [];
    await this.repo.objects.flush();
    if (batch.length === 0) return;
    fs.mkdirSync(dirname(this.path), { recursive: true });
    const fd = fs.openSync(this.path, 'a', 0o644);
    try {
      fs.writeSync(fd, batch.map((e) => `${JSON.stringify({ k: e.key, id: e.id, size: e.size })}\n`).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function parseLine(line: string): LedgerEntry | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value = JSON.parse(line) as { k?: unknown; id?: unknown; size?: unknown };
    if (typeof value.k === 'string' && typeof value.id === 'string' && isObjectId(value.id) && typeof value.size === 'number') {
      return { key: value.k, id: value.id, size: value.size };
    }
  } catch {
    // A line torn by a crash: its object will simply be downloaded again.
  }
  return undefined;
}
