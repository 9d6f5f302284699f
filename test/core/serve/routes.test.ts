import { describe, expect, it } from 'vitest';
import { cranTreePath, parseRequestPath, type Route } from '../../../src/core/serve/routes.js';

function routeOf(target: string): Route {
  const result = parseRequestPath(target);
  if (!result.ok) throw new Error(`${target} was refused (${result.status}): ${result.message}`);
  return result.route;
}

function refusal(target: string): { status: number; message: string } {
  const result = parseRequestPath(target);
  if (result.ok) throw new Error(`${target} was accepted as ${JSON.stringify(result.route)}`);
  return { status: result.status, message: result.message };
}

describe('parseRequestPath: the routes', () => {
  it('/ and /index.html are the page', () => {
    expect(routeOf('/')).toEqual({ kind: 'page' });
    expect(routeOf('/index.html')).toEqual({ kind: 'page' });
  });

  it('CRAN sources: /cran/{snapshot}/src/contrib/FILE, the file below src/contrib with its subdirectories', () => {
    expect(routeOf('/cran/latest/src/contrib/PACKAGES')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'PACKAGES', distribution: null });
    expect(routeOf('/cran/2026-11-24/src/contrib/R6_2.5.1.tar.gz')).toEqual({ kind: 'cran', snapshot: '2026-11-24', file: 'R6_2.5.1.tar.gz', distribution: null });
    expect(routeOf('/cran/3f2a9c1e/src/contrib/Archive/R6/R6_2.5.0.tar.gz')).toEqual({ kind: 'cran', snapshot: '3f2a9c1e', file: 'Archive/R6/R6_2.5.0.tar.gz', distribution: null });
    expect(routeOf('/cran/latest/src/contrib/Meta/archive.rds')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'Meta/archive.rds', distribution: null });
  });

  it('CRAN binaries: /cran/__linux__/{distribution}/{snapshot}/src/contrib/FILE', () => {
    expect(routeOf('/cran/__linux__/jammy/latest/src/contrib/PACKAGES.gz')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'PACKAGES.gz', distribution: 'jammy' });
    expect(routeOf('/cran/__linux__/rhel9/2026-11-24/src/contrib/cli_3.6.2.tar.gz')).toEqual({ kind: 'cran', snapshot: '2026-11-24', file: 'cli_3.6.2.tar.gz', distribution: 'rhel9' });
  });

  it('Bioconductor: config.yaml and each repository below packages/{version}, one segment or two (data/annotation)', () => {
    expect(routeOf('/bioconductor/latest/config.yaml')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'bioc/v3/config.yaml' });
    expect(routeOf('/bioconductor/2026-11-24/packages/3.20/bioc/src/contrib/PACKAGES')).toEqual({ kind: 'tree', snapshot: '2026-11-24', path: 'bioc/v3/3.20/bioc/src/contrib/PACKAGES' });
    expect(routeOf('/bioconductor/latest/packages/3.20/data/annotation/src/contrib/org.Hs.eg.db_3.20.0.tar.gz')).toEqual({
      kind: 'tree',
      snapshot: 'latest',
      path: 'bioc/v3/3.20/data/annotation/src/contrib/org.Hs.eg.db_3.20.0.tar.gz',
    });
    expect(routeOf('/bioconductor/latest/packages/3.21/data/experiment/src/contrib/PACKAGES')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'bioc/v3/3.21/data/experiment/src/contrib/PACKAGES' });
    expect(routeOf('/bioconductor/latest/packages/3.20/workflows/src/contrib/PACKAGES')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'bioc/v3/3.20/workflows/src/contrib/PACKAGES' });
    expect(routeOf('/bioconductor/latest/packages/3.20/books/src/contrib/PACKAGES')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'bioc/v3/3.20/books/src/contrib/PACKAGES' });
  });

  it('sysreqs: /sysreqs/{snapshot}/PATH below sysreqs/', () => {
    expect(routeOf('/sysreqs/latest/systems.json')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'sysreqs/systems.json' });
    expect(routeOf('/sysreqs/2026-11-24/rules/libcurl.json')).toEqual({ kind: 'tree', snapshot: '2026-11-24', path: 'sysreqs/rules/libcurl.json' });
  });

  it('ignores the query string, even one holding characters a path may not', () => {
    expect(routeOf('/?x=1')).toEqual({ kind: 'page' });
    expect(routeOf('/index.html?')).toEqual({ kind: 'page' });
    expect(routeOf('/cran/latest/src/contrib/PACKAGES?nocache=%2f..%00\\')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'PACKAGES', distribution: null });
    expect(routeOf('/bioconductor/latest/config.yaml?v=2')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'bioc/v3/config.yaml' });
  });

  it('decodes percent-encoded characters that do not change which file is named', () => {
    expect(routeOf('/cran/latest/src/contrib/R6%5F2.5.1.tar.gz')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'R6_2.5.1.tar.gz', distribution: null });
    expect(routeOf('/cran/l%61test/src/contrib/PACKAGES')).toEqual({ kind: 'cran', snapshot: 'latest', file: 'PACKAGES', distribution: null });
    expect(routeOf('/sysreqs/latest/rules/a%20b.json')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'sysreqs/rules/a b.json' });
    expect(routeOf('/sysreqs/latest/rules/n%C3%A9.json')).toEqual({ kind: 'tree', snapshot: 'latest', path: 'sysreqs/rules/né.json' });
  });
});

describe('parseRequestPath: refusals', () => {
  it('400 for .. and ., plain or percent-encoded in any case', () => {
    for (const target of [
      '/cran/latest/src/contrib/../PACKAGES',
      '/cran/latest/src/contrib/Archive/../../../../etc/passwd',
      '/sysreqs/latest/..',
      '/cran/latest/src/contrib/%2e%2e/PACKAGES',
      '/cran/latest/src/contrib/%2E%2E/PACKAGES',
      '/cran/latest/src/contrib/.%2e/PACKAGES',
      '/cran/latest/src/contrib/./PACKAGES',
      '/cran/latest/src/contrib/%2e/PACKAGES',
      '/..',
    ]) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/'\.\.?' segment/);
    }
  });

  it('400 for encoded slashes, backslashes and NUL (%2f, %5c, %00 in either case) and for a raw backslash', () => {
    for (const target of [
      '/cran/latest/src/contrib/..%2fPACKAGES',
      '/cran/latest/src/contrib/Archive%2FR6%2FR6_2.5.0.tar.gz',
      '/cran/latest/src/contrib/..%5cPACKAGES',
      '/cran/latest/src/contrib/..%5CPACKAGES',
      '/cran/latest/src/contrib/PACKAGES%00.txt',
      '/cran/latest/src/contrib/..\\PACKAGES',
      '/cran\\latest/src/contrib/PACKAGES',
      '/%2f',
    ]) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/encoded slashes, backslashes and NUL/);
    }
  });

  it('400 for other control characters, encoded or raw', () => {
    for (const target of ['/cran/latest/src/contrib/PACK%0aAGES', '/cran/latest/src/contrib/PACK%7fAGES', '/cran/latest/src/contrib/PACK%1bAGES', '/cran/latest/src/contrib/PACK\tAGES']) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/control character/);
    }
  });

  it('400 for empty segments: // inside, a trailing /', () => {
    for (const target of ['/cran//latest/src/contrib/PACKAGES', '/cran/latest/src/contrib/', '/cran/latest/src/contrib//PACKAGES', '/cran/']) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/empty segment/);
    }
  });

  it('400 for a leading // (an empty first segment, seen as an absolute path)', () => {
    for (const target of ['//cran/latest/src/contrib/PACKAGES', '//', '///etc/passwd']) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/the path is absolute/);
    }
  });

  it('400 for invalid percent-encoding: a bad hex pair, a lone %, a broken UTF-8 sequence', () => {
    for (const target of ['/cran/latest/src/contrib/%zzPACKAGES', '/cran/latest/src/contrib/PACKAGES%', '/cran/latest/src/contrib/%4', '/cran/latest/src/contrib/n%C3.json', '/cran/latest/src/contrib/%ff']) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/not valid percent-encoded UTF-8/);
    }
  });

  it('400 for a target that is not a path starting with / (absolute-form, asterisk-form, empty)', () => {
    for (const target of ['http://example.org/cran/latest/src/contrib/PACKAGES', '*', '', 'cran/latest/src/contrib/PACKAGES', '?/']) {
      const r = refusal(target);
      expect(r.status, target).toBe(400);
      expect(r.message, target).toMatch(/must be a path starting with \//);
    }
  });

  it('400 for a segment longer than 255 bytes', () => {
    const r = refusal(`/cran/latest/src/contrib/${'a'.repeat(256)}`);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/longer than 255 bytes/);
    expect(routeOf(`/cran/latest/src/contrib/${'a'.repeat(255)}`)).toMatchObject({ kind: 'cran', file: 'a'.repeat(255) });
  });

  it('404 for unknown tops', () => {
    for (const target of ['/foo', '/favicon.ico', '/CRAN/latest/src/contrib/PACKAGES', '/src/contrib/PACKAGES', '/index.htm', '/latest/src/contrib/PACKAGES', '/bioc/latest/config.yaml']) {
      const r = refusal(target);
      expect(r.status, target).toBe(404);
      expect(r.message, target).toMatch(/not a repository URL/);
    }
  });

  it('404 for malformed CRAN URLs: no snapshot, no src/contrib, no file', () => {
    for (const target of ['/cran', '/cran/latest', '/cran/latest/PACKAGES', '/cran/latest/src/PACKAGES', '/cran/latest/src/contrib', '/cran/latest/contrib/src/PACKAGES', '/cran/latest/bin/src/contrib/PACKAGES']) {
      const r = refusal(target);
      expect(r.status, target).toBe(404);
      expect(r.message, target).toMatch(/CRAN URLs are \/cran\/\{snapshot\}\/src\/contrib\/FILE/);
    }
  });

  it('404 for malformed binary URLs: missing distribution, snapshot or src/contrib/FILE', () => {
    for (const target of ['/cran/__linux__', '/cran/__linux__/jammy', '/cran/__linux__/jammy/latest', '/cran/__linux__/jammy/latest/src/contrib', '/cran/__linux__/latest/src/contrib/PACKAGES']) {
      const r = refusal(target);
      expect(r.status, target).toBe(404);
      expect(r.message, target).toMatch(/binary URLs are/);
    }
  });

  it('404 for malformed Bioconductor URLs: no snapshot, no packages/{version}, an unknown or partial repository, no file', () => {
    const cases: [string, RegExp][] = [
      ['/bioconductor', /Bioconductor URLs are/],
      ['/bioconductor/latest', /Bioconductor URLs are/],
      ['/bioconductor/latest/packages', /Bioconductor URLs are/],
      ['/bioconductor/latest/config.yaml/x', /Bioconductor URLs are/],
      ['/bioconductor/latest/packages/3.20', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/data/src/contrib/PACKAGES', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/annotation/src/contrib/PACKAGES', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/data/annotation/PACKAGES', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/data/annotation/src/contrib', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/cran/src/contrib/PACKAGES', /no Bioconductor repository/],
      ['/bioconductor/latest/packages/3.20/bioc/src/contrib', /no Bioconductor repository/],
    ];
    for (const [target, message] of cases) {
      const r = refusal(target);
      expect(r.status, target).toBe(404);
      expect(r.message, target).toMatch(message);
    }
    expect(refusal('/bioconductor/latest/packages/3.20/x/src/contrib/PACKAGES').message).toContain('bioc, data/annotation, data/experiment, workflows, books');
  });

  it('404 for /sysreqs without a path below the snapshot', () => {
    for (const target of ['/sysreqs', '/sysreqs/latest']) {
      const r = refusal(target);
      expect(r.status, target).toBe(404);
    }
  });
});

describe('cranTreePath', () => {
  it('sources live under v3/src/contrib', () => {
    expect(cranTreePath('PACKAGES', null)).toBe('v3/src/contrib/PACKAGES');
    expect(cranTreePath('Archive/R6/R6_2.5.0.tar.gz', null)).toBe('v3/src/contrib/Archive/R6/R6_2.5.0.tar.gz');
  });

  it('binaries live under bin/<configuration>/src/contrib', () => {
    expect(cranTreePath('PACKAGES', '4.4-jammy')).toBe('bin/4.4-jammy/src/contrib/PACKAGES');
    expect(cranTreePath('cli_3.6.2.tar.gz', '4.4-jammy-aarch64')).toBe('bin/4.4-jammy-aarch64/src/contrib/cli_3.6.2.tar.gz');
  });
});
