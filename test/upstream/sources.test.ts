import { describe, expect, it } from 'vitest';
import { archiveUrl, DEFAULT_BASE_URLS, defaultBaseUrl, binaryContribUrl, biocConfigUrl, biocContribUrl, cranContribUrl, rUserAgent, sysreqsListingUrl, sysreqsSystemsUrl, trimBase } from '../../src/upstream/sources.js';
import { backoffMs, classifyFailure } from '../../src/upstream/retryPolicy.js';
import { HttpStatusError, BodyRejected, parseRetryAfter, proxyUri } from '../../src/upstream/http.js';
import { expectAirlockError } from '../helpers/errors.js';

describe('upstream URL schemes', () => {
  const ppm = { kind: 'package-manager' as const, base: 'https://pm.example.org', snapshot: '2026-11-24' };
  const mirror = { kind: 'cran-mirror' as const, base: 'https://mirror.example.org/cran', snapshot: 'latest' };

  it('puts a Package Manager snapshot under /cran/<snapshot>/', () => {
    expect(cranContribUrl(ppm)).toBe('https://pm.example.org/cran/2026-11-24/src/contrib');
    expect(cranContribUrl({ ...ppm, snapshot: 'latest' })).toBe('https://pm.example.org/cran/latest/src/contrib');
  });

  it('reads a plain mirror at its root, whatever the snapshot says', () => {
    expect(cranContribUrl(mirror)).toBe('https://mirror.example.org/cran/src/contrib');
  });

  it('puts Linux binaries under __linux__/<distribution>/<snapshot>', () => {
    expect(binaryContribUrl(ppm, 'jammy')).toBe('https://pm.example.org/cran/__linux__/jammy/2026-11-24/src/contrib');
  });

  it('sends the User-Agent R sends, which selects the binaries', () => {
    expect(rUserAgent({ rVersion: '4.4', architecture: 'x86_64' })).toBe('R (4.4.0 x86_64-pc-linux-gnu x86_64 linux-gnu)');
    expect(rUserAgent({ rVersion: '4.5.1', architecture: 'aarch64' })).toBe('R (4.5.1 aarch64-unknown-linux-gnu aarch64 linux-gnu)');
  });

  it('lays out Bioconductor and sysreqs URLs', () => {
    expect(biocConfigUrl('https://bioc.example.org')).toBe('https://bioc.example.org/config.yaml');
    expect(biocContribUrl('https://bioc.example.org', '3.20', 'data/annotation')).toBe('https://bioc.example.org/packages/3.20/data/annotation/src/contrib');
    expect(sysreqsListingUrl('https://api.example.org/repos/o/r')).toBe('https://api.example.org/repos/o/r/contents/rules');
    expect(sysreqsSystemsUrl('https://api.example.org/repos/o/r')).toBe('https://api.example.org/repos/o/r/contents/systems.json');
  });

  it('escapes each segment of an archive path, not the slashes', () => {
    expect(archiveUrl('https://x.org/src/contrib', 'sub dir/a+b_1.0.tar.gz')).toBe('https://x.org/src/contrib/sub%20dir/a%2Bb_1.0.tar.gz');
  });

  it('drops trailing slashes from a base URL', () => {
    expect(trimBase('https://x.org/cran///')).toBe('https://x.org/cran');
  });
});

describe('retry policy', () => {
  it('retries 5xx, 429 and timeouts, not 404 or 403', () => {
    for (const status of [500, 502, 503, 504, 429, 408]) expect(classifyFailure(new HttpStatusError(status))).toBe('transient');
    for (const status of [400, 401, 403, 404, 410]) expect(classifyFailure(new HttpStatusError(status))).toBe('fatal');
  });

  it('retries resets, timeouts and bad bodies, even when wrapped', () => {
    expect(classifyFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('t'), { code: 'UND_ERR_BODY_TIMEOUT' }))).toBe('transient');
    expect(classifyFailure(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'UND_ERR_SOCKET' }) }))).toBe('transient');
    expect(classifyFailure(new BodyRejected('short', 'truncated'))).toBe('transient');
  });

  it('does not retry local failures', () => {
    expect(classifyFailure(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe('fatal');
    expect(classifyFailure(new TypeError('bug'))).toBe('fatal');
  });

  it('doubles the pause each attempt, within ±25%, capped', () => {
    expect(backoffMs(1, 100, () => 0.5)).toBe(100);
    expect(backoffMs(3, 100, () => 0.5)).toBe(400);
    expect(backoffMs(3, 100, () => 0)).toBe(300);
    expect(backoffMs(3, 100, () => 1)).toBe(500);
    expect(backoffMs(30, 100, () => 0.5)).toBe(30_000);
  });
});

describe('--outbound-proxy', () => {
  it('accepts a URL or host:port', () => {
    expect(proxyUri('http://proxy.example.org:3128')).toBe('http://proxy.example.org:3128');
    expect(proxyUri('proxy.example.org:3128')).toBe('http://proxy.example.org:3128');
  });

  it('refuses what is neither', () => {
    expectAirlockError(() => proxyUri('http://[bad'), 'USAGE', /not a URL/);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('defaultBaseUrl', () => {
  it('takes the site default from the environment, else the public service', () => {
    expect(defaultBaseUrl('cran', { AIRLOCK_CRAN_URL: 'http://mirror.example/cran' })).toBe('http://mirror.example/cran');
    expect(defaultBaseUrl('bioconductor', { AIRLOCK_BIOCONDUCTOR_URL: 'http://mirror.example/bioc', AIRLOCK_CRAN_URL: 'x' })).toBe('http://mirror.example/bioc');
    expect(defaultBaseUrl('sysreqs', { AIRLOCK_SYSREQS_URL: 'http://mirror.example/sysreqs' })).toBe('http://mirror.example/sysreqs');
    expect(defaultBaseUrl('cran', { AIRLOCK_CRAN_URL: '' })).toBe(DEFAULT_BASE_URLS.cran);
    expect(defaultBaseUrl('bioconductor', {})).toBe(DEFAULT_BASE_URLS.bioconductor);
  });
});
