import cliProgress from 'cli-progress';
import type { PhaseTotals, Progress } from '../core/progress.js';
import { formatBytes, formatDuration } from './format.js';

/**
 * Progress as an admin sees it: a live bar with files, bytes, rate and ETA on a
 * terminal; one plain line every few seconds when piped into a log; nothing but
 * warnings with --quiet or --json. Everything goes to stderr so stdout stays the result.
 */
const LINE_INTERVAL_MS = 5000;

export function createProgress(mode: { quiet: boolean; json: boolean }): Progress {
  if (mode.quiet || mode.json) return quietProgress();
  return process.stderr.isTTY ? new BarProgress() : new LineProgress();
}

function quietProgress(): Progress {
  return {
    phase: () => undefined,
    advance: () => undefined,
    warn: (message) => process.stderr.write(`airlock: warning: ${message}\n`),
    end: () => undefined,
  };
}

abstract class CountingProgress implements Progress {
  protected name = '';
  protected files = 0;
  protected bytes = 0;
  protected totalFiles: number | undefined;
  protected totalBytes: number | undefined;
  /** The byte total is a guess: shown with '~', and never past 99 % before the files are done. */
  protected estimated = false;
  protected started = Date.now();

  phase(name: string, totals: PhaseTotals = {}): void {
    this.close();
    this.name = name;
    this.files = 0;
    this.bytes = 0;
    this.totalFiles = totals.files;
    this.totalBytes = totals.bytes;
    this.estimated = totals.estimated === true;
    this.started = Date.now();
    this.open();
  }

  advance(files: number, bytes: number): void {
    this.files += files;
    this.bytes += bytes;
    this.update();
  }

  warn(message: string): void {
    process.stderr.write(`\nairlock: warning: ${message}\n`);
  }

  end(): void {
    this.close();
  }

  protected describe(): string {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = this.bytes / seconds;
    const parts = [`${this.files}${this.totalFiles !== undefined ? `/${this.totalFiles}` : ''} files`];
    const guess = this.estimated ? '~' : '';
    if (this.totalBytes && this.bytes < this.totalBytes) {
      parts.push(`${formatBytes(this.bytes)}/${guess}${formatBytes(this.totalBytes)}`, `${formatBytes(rate)}/s`);
      if (rate > 0) parts.push(`ETA ${guess}${formatDuration((this.totalBytes - this.bytes) / rate)}`);
    } else {
      // Downloads learn sizes only as bodies arrive: show what came and how fast, and estimate by files.
      if (this.bytes > 0) parts.push(formatBytes(this.bytes), `${formatBytes(rate)}/s`);
      if (this.totalFiles && this.files > 0) parts.push(`ETA ${formatDuration(((this.totalFiles - this.files) * seconds) / this.files)}`);
    }
    return `${this.name}: ${parts.join(', ')}`;
  }

  protected abstract open(): void;
  protected abstract update(): void;
  protected abstract close(): void;
}

const SPINNER = ['|', '/', '-', '\\'];

class BarProgress extends CountingProgress {
  private bar: cliProgress.SingleBar | undefined;
  private turns = 0;

  /**
   * A bar with a percentage only when the phase has a total (by bytes when it knows them, else
   * by files); a phase without one (reading indexes) turns a spinner beside its counts instead
   * of showing a bar stuck at 0 %.
   */
  protected open(): void {
    const total = this.totalBytes || this.totalFiles;
    this.bar = new cliProgress.SingleBar(
      { format: total ? '{bar} {percentage}% | {detail}' : '{spinner} {detail}', hideCursor: true, clearOnComplete: false, stream: process.stderr, fps: 5 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total || 1, 0, { detail: this.describe(), spinner: SPINNER[0] });
  }

  protected update(): void {
    this.turns++;
    this.bar?.update(this.totalBytes ? this.barBytes() : this.files, { detail: this.describe(), spinner: SPINNER[this.turns % SPINNER.length] });
  }

  /** An estimated total can be passed: hold at 99 % until every file is in. */
  private barBytes(): number {
    if (!this.estimated || this.totalBytes === undefined) return this.bytes;
    const done = this.totalFiles !== undefined && this.files >= this.totalFiles;
    return done ? this.totalBytes : Math.min(this.bytes, Math.floor(this.totalBytes * 0.99));
  }

  protected close(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

class LineProgress extends CountingProgress {
  private lastLine = 0;

  protected open(): void {
    process.stderr.write(`airlock: ${this.name}...\n`);
    this.lastLine = Date.now();
  }

  protected update(): void {
    if (Date.now() - this.lastLine < LINE_INTERVAL_MS) return;
    this.lastLine = Date.now();
    process.stderr.write(`airlock: ${this.describe()}\n`);
  }

  protected close(): void {
    if (this.name && this.files > 0) process.stderr.write(`airlock: ${this.describe()}\n`);
    this.name = '';
  }
}
