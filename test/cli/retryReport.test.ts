import { describe, expect, it } from 'vitest';
import { retryReport } from '../../src/cli/retryReport.js';

describe('retryReport', () => {
  it('says the first retry at once, sums the next ones up by reason, and says the rest on flush', () => {
    const said: string[] = [];
    const report = retryReport((line) => said.push(line), 60_000);
    report.onRetry('http://x/a.tar.gz', 'HTTP 503');
    expect(said).toEqual(['retrying 1 file after HTTP 503']);
    report.onRetry('http://x/b.tar.gz', 'HTTP 503');
    report.onRetry('http://x/c.tar.gz', 'HTTP 503');
    report.onRetry('http://x/b.tar.gz', 'HTTP 503'); // the same file again counts once
    report.onRetry('http://x/d.tar.gz', 'ECONNRESET');
    expect(said).toHaveLength(1);
    report.flush();
    expect(said.slice(1).sort()).toEqual(['retrying 1 file after ECONNRESET', 'retrying 2 files after HTTP 503']);
    report.flush();
    expect(said).toHaveLength(3);
  });
});
