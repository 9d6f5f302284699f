import { describe, it, expect } from 'vitest';
import { parseDcf, type DcfRecord } from '../../src/core/dcf.js';
import { archivesInIndex } from '../../src/core/packagesIndex.js';
import { expectAirlockError } from '../helpers/errors.js';

const WHERE = 'cran/src/contrib/PACKAGES';

const archives = (text: string, extension?: string) => archivesInIndex(parseDcf(text, WHERE), WHERE, extension);

/** One record's text from field pairs, so each test states only what it is about. */
function rec(fields: Record<string, string>): string {
  return `${Object.entries(fields)
    .map(([tag, value]) => `${tag}: ${value}`)
    .join('\n')}\n`;
}

describe('archivesInIndex', () => {
  it('names each archive <Package>_<Version>.tar.gz, with checksum and size', () => {
    const text = [
      rec({ Package: 'abc', Version: '2.2.1', MD5sum: 'C9FFFE4334C178917F762735ABA59653', Size: '12345' }),
      rec({ Package: 'MASS', Version: '7.3-60', NeedsCompilation: 'yes' }),
    ].join('\n');
    expect(archives(text)).toEqual([
      { name: 'MASS', version: '7.3-60', path: 'MASS_7.3-60.tar.gz', md5: null, size: null },
      { name: 'abc', version: '2.2.1', path: 'abc_2.2.1.tar.gz', md5: 'c9fffe4334c178917f762735aba59653', size: 12345 },
    ]);
  });

  it('uses another extension for binary indexes', () => {
    expect(archives(rec({ Package: 'cli', Version: '3.6.2' }), '.zip')[0]!.path).toBe('cli_3.6.2.zip');
  });

  it('uses the File field as the file name when present', () => {
    expect(archives(rec({ Package: 'abc', Version: '1.0', File: 'abc-special.tar.gz' }))[0]!.path).toBe('abc-special.tar.gz');
  });

  it('puts the archive under the Path subdirectory (write_PACKAGES(subdirs = TRUE))', () => {
    const text = [rec({ Package: 'abc', Version: '1.0', Path: 'Older/abc' }), rec({ Package: 'abc', Version: '1.1' })].join('\n');
    expect(archives(text).map((a) => a.path)).toEqual(['Older/abc/abc_1.0.tar.gz', 'abc_1.1.tar.gz']);
    expect(archives(rec({ Package: 'abc', Version: '1.0', Path: 'sub', File: 'x.tar.gz' }))[0]!.path).toBe('sub/x.tar.gz');
  });

  it('sorts by path whatever the upstream order', () => {
    const text = ['zz', 'Aa', 'mm', 'a.b'].map((name) => rec({ Package: name, Version: '1.0' })).join('\n');
    expect(archives(text).map((a) => a.name)).toEqual(['Aa', 'a.b', 'mm', 'zz']);
  });

  it('lists the same package in several versions or places', () => {
    const text = [rec({ Package: 'abc', Version: '1.0' }), rec({ Package: 'abc', Version: '1.1' }), rec({ Package: 'abc', Version: '1.0', Path: 'old' })].join('\n');
    expect(archives(text).map((a) => a.path)).toEqual(['abc_1.0.tar.gz', 'abc_1.1.tar.gz', 'old/abc_1.0.tar.gz']);
  });

  it('keeps one of two identical records', () => {
    const one = rec({ Package: 'abc', Version: '1.0', MD5sum: 'c9fffe4334c178917f762735aba59653' });
    expect(archives([one, one].join('\n'))).toHaveLength(1);
  });

  it('refuses two different records for the same package version and path', () => {
    const text = [
      rec({ Package: 'abc', Version: '1.0', MD5sum: 'c9fffe4334c178917f762735aba59653' }),
      rec({ Package: 'abc', Version: '1.0', MD5sum: '027ebdd8affce8f0effaecfcd5f5ade2' }),
    ].join('\n');
    const err = expectAirlockError(() => archives(text), 'UPSTREAM_INDEX_INVALID', /records 1 and 2 both describe abc 1\.0/);
    expect(err.where).toBe(`${WHERE}:5 (record 2, Package: abc)`);
  });

  it('refuses two packages claiming the same archive file', () => {
    const text = [rec({ Package: 'abc', Version: '1.0', File: 'x.tar.gz' }), rec({ Package: 'def', Version: '1.0', File: 'x.tar.gz' })].join('\n');
    expectAirlockError(() => archives(text), 'UPSTREAM_INDEX_INVALID', /both describe 'x\.tar\.gz'/);
  });

  it('accepts records built by hand, without line numbers', () => {
    const record: DcfRecord = new Map([
      ['Package', 'abc'],
      ['Version', '1.0'],
    ]);
    expect(archivesInIndex([record], WHERE)).toHaveLength(1);
    const bad: DcfRecord = new Map([['Package', 'abc']]);
    expect(expectAirlockError(() => archivesInIndex([bad], WHERE), 'UPSTREAM_INDEX_INVALID', /no Version/).where).toBe(`${WHERE} (record 1, Package: abc)`);
  });

  it('reads a realistic PACKAGES excerpt', () => {
    const text = `Package: A3
Version: 1.0.0
Depends: R (>= 2.15.0), xtable, pbapply
License: GPL (>= 2)
MD5sum: 027ebdd8affce8f0effaecfcd5f5ade2
NeedsCompilation: no

Package: data.table
Version: 1.15.4
Depends: R (>= 3.3.0)
Imports: methods
Suggests: bit64 (>= 4.0.0), bit (>= 4.0.4), R.utils, xts, zoo (>=
        1.8-1), yaml, knitr, markdown
License: MPL-2.0 | file LICENSE
MD5sum: 2ea8cc9a2f5bf5b4e5d9e3a0a4e8d1f3
NeedsCompilation: yes
`;
    expect(archives(text)).toEqual([
      { name: 'A3', version: '1.0.0', path: 'A3_1.0.0.tar.gz', md5: '027ebdd8affce8f0effaecfcd5f5ade2', size: null },
      { name: 'data.table', version: '1.15.4', path: 'data.table_1.15.4.tar.gz', md5: '2ea8cc9a2f5bf5b4e5d9e3a0a4e8d1f3', size: null },
    ]);
  });
});

describe('archivesInIndex: refusals', () => {
  const refuse = (fields: Record<string, string>, message: RegExp) => expectAirlockError(() => archives(rec(fields)), 'UPSTREAM_INDEX_INVALID', message);

  it('needs Package and Version', () => {
    expect(refuse({ Version: '1.0' }, /no Package field/).where).toBe(`${WHERE}:1 (record 1)`);
    refuse({ Package: 'abc' }, /no Version field/);
    refuse({ Package: '', Version: '1.0' }, /no Package field/);
  });

  it('refuses names R would refuse', () => {
    for (const name of ['1abc', 'a', 'abc.', 'ab_c', 'ab-c', '.abc', 'ab c', 'caf\u00e9', '../x']) {
      refuse({ Package: name, Version: '1.0' }, /not a valid R package name/);
    }
  });

  it('accepts two-character and dotted names', () => {
    expect(archives(rec({ Package: 'R6', Version: '2.5.1' }))[0]!.name).toBe('R6');
    expect(archives(rec({ Package: 'R.utils', Version: '2.12.3' }))[0]!.name).toBe('R.utils');
  });

  it('refuses versions R would refuse', () => {
    for (const version of ['1', '1.', '1..0', '1.0a', 'v1.0', '1.0-', '-1.0', '1.0 ', '1_0']) {
      // A trailing space would have been stripped by the parser, so build that record by hand.
      const record: DcfRecord = new Map([
        ['Package', 'abc'],
        ['Version', version],
      ]);
      expectAirlockError(() => archivesInIndex([record], WHERE), 'UPSTREAM_INDEX_INVALID', /not a valid R package version \(of package abc\)/);
    }
  });

  it('refuses unsafe archive paths', () => {
    refuse({ Package: 'abc', Version: '1.0', Path: '/abs' }, /unsafe: the path is absolute/);
    refuse({ Package: 'abc', Version: '1.0', Path: '../up' }, /unsafe: the path has a '\.\.' segment/);
    refuse({ Package: 'abc', Version: '1.0', Path: 'a/../../b' }, /unsafe: the path has a '\.\.' segment/);
    refuse({ Package: 'abc', Version: '1.0', File: '../../etc/passwd' }, /unsafe/);
    refuse({ Package: 'abc', Version: '1.0', File: 'a\\b.tar.gz' }, /unsafe: the path contains a backslash/);
    refuse({ Package: 'abc', Version: '1.0', Path: 'a//b' }, /unsafe: the path has an empty segment/);
    refuse({ Package: 'abc', Version: '1.0', Path: 'sub/' }, /unsafe: the path has an empty segment/);
    refuse({ Package: 'abc', Version: '1.0', Path: '' }, /unsafe: the path is absolute/);
    refuse({ Package: 'abc', Version: '1.0', File: '' }, /unsafe: the path is empty/);
    const nul: DcfRecord = new Map([
      ['Package', 'abc'],
      ['Version', '1.0'],
      ['File', 'a\0b'],
    ]);
    expectAirlockError(() => archivesInIndex([nul], WHERE), 'UPSTREAM_INDEX_INVALID', /unsafe: the path contains a control character/);
  });

  it('refuses a continued (multi-line) File field', () => {
    expectAirlockError(() => archives('Package: abc\nVersion: 1.0\nFile: a\n  b.tar.gz\n'), 'UPSTREAM_INDEX_INVALID', /control character/);
  });

  it('refuses a malformed MD5sum', () => {
    refuse({ Package: 'abc', Version: '1.0', MD5sum: 'c9fffe4334c178917f762735aba5965' }, /MD5sum .* is not 32 hexadecimal digits/);
    refuse({ Package: 'abc', Version: '1.0', MD5sum: 'c9fffe4334c178917f762735aba596533' }, /not 32 hexadecimal/);
    refuse({ Package: 'abc', Version: '1.0', MD5sum: 'g9fffe4334c178917f762735aba59653' }, /not 32 hexadecimal/);
    refuse({ Package: 'abc', Version: '1.0', MD5sum: '' }, /not 32 hexadecimal/);
  });

  it('refuses a malformed Size', () => {
    for (const size of ['-1', '1.5', '12kB', '', '1e3', '99999999999999999999']) {
      refuse({ Package: 'abc', Version: '1.0', Size: size }, /Size .* is not a non-negative integer/);
    }
    expect(archives(rec({ Package: 'abc', Version: '1.0', Size: '0' }))[0]!.size).toBe(0);
  });

  it('names the record by line, number and package', () => {
    const text = [rec({ Package: 'ok', Version: '1.0' }), rec({ Package: 'bad', Version: 'x' })].join('\n\n');
    const err = expectAirlockError(() => archives(text), 'UPSTREAM_INDEX_INVALID', /'x' is not a valid R package version/);
    expect(err.where).toBe(`${WHERE}:5 (record 2, Package: bad)`);
    expect(err.hint).toMatch(/fetch it again/);
  });
});
