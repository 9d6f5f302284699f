import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { dcfRecordLine, parseDcf, type DcfRecord } from '../../src/core/dcf.js';
import { expectAirlockError } from '../helpers/errors.js';

/** Records as plain objects, for readable comparisons (tag order is checked separately). */
function plain(records: DcfRecord[]): Record<string, string>[] {
  return records.map((record) => Object.fromEntries(record));
}

const parse = (text: string): Record<string, string>[] => plain(parseDcf(text, 'PACKAGES'));

describe('parseDcf: fields and records', () => {
  it('reads Tag: value lines, stripping spaces and tabs around the value', () => {
    expect(parse('Package: abc\nVersion:\t 1.0 \t\nLicense:GPL-2\n')).toEqual([{ Package: 'abc', Version: '1.0', License: 'GPL-2' }]);
  });

  it('keeps colons after the first inside the value, and reads an empty value as ""', () => {
    expect(parse('URL: https://example.org/x\nEmpty:\nBlank:   \n')).toEqual([{ URL: 'https://example.org/x', Empty: '', Blank: '' }]);
  });

  it('keeps tags in the order they appear', () => {
    const [record] = parseDcf('Zeta: 1\nAlpha: 2\nMid: 3\n', 'x');
    expect([...record!.keys()]).toEqual(['Zeta', 'Alpha', 'Mid']);
  });

  it('separates records by one or more blank lines, including whitespace-only ones', () => {
    const text = 'Package: a\n\n \t \n\nPackage: b\n  \nPackage: c\n';
    expect(parse(text)).toEqual([{ Package: 'a' }, { Package: 'b' }, { Package: 'c' }]);
  });

  it('ignores blank lines before the first record and after the last', () => {
    expect(parse('\n\n  \nPackage: a\n\n\t\n\n')).toEqual([{ Package: 'a' }]);
  });

  it('reads a last line without a newline', () => {
    expect(parse('Package: a\nVersion: 1.0')).toEqual([{ Package: 'a', Version: '1.0' }]);
  });

  it('returns no records for empty or blank text', () => {
    expect(parse('')).toEqual([]);
    expect(parse('\n \n\t\n')).toEqual([]);
  });

  it('accepts CRLF and lone CR line endings, as R does', () => {
    expect(parse('A: 1\r\nB: x\r\n y\r\n\r\nA: 2\r\n')).toEqual([{ A: '1', B: 'x\ny' }, { A: '2' }]);
    expect(parse('A: 1\rB: 2\r\rA: 3\r')).toEqual([{ A: '1', B: '2' }, { A: '3' }]);
  });

  it('treats only spaces and tabs as blank: a form feed line is content', () => {
    // R's blank-line regex is ^[ \t]*$, and trailing stripping is [ \t]+$ only.
    expect(parse('A: v\f\n \f\n')).toEqual([{ A: 'v\f\n\f' }]);
    expect(parse('A: v\u00a0\n')).toEqual([{ A: 'v\u00a0' }]);
  });

  it('keeps spaces inside a tag, as R does', () => {
    expect(parse('Foo Bar: x\nBaz : y\n')).toEqual([{ 'Foo Bar': 'x', 'Baz ': 'y' }]);
  });

  it('lets a repeated field replace the earlier value, continuation included', () => {
    const [record] = parseDcf('A: 1\nB: 3\nA: 2\n more\n', 'x');
    expect(Object.fromEntries(record!)).toEqual({ A: '2\nmore', B: '3' });
  });

  it('skips comment lines starting with #, without starting or ending a record', () => {
    expect(parse('# header\nA: 1\n# between\n x\n\n# alone\n\nA: 2\n')).toEqual([{ A: '1\nx' }, { A: '2' }]);
  });

  it('records the line each record starts on', () => {
    const records = parseDcf('\n\nA: 1\nB: 2\n\n\nA: 3\n', 'x');
    expect(records.map((r) => dcfRecordLine(r))).toEqual([3, 7]);
    expect(dcfRecordLine(new Map())).toBeUndefined();
  });
});

describe('parseDcf: continuation lines', () => {
  it('joins continuation lines with newlines, stripping leading and trailing whitespace', () => {
    expect(parse('Depends: R (>= 3.5),\n    utils,  \n\tstats\n')).toEqual([{ Depends: 'R (>= 3.5),\nutils,\nstats' }]);
  });

  it('adds no leading newline when the field value starts empty', () => {
    expect(parse('D:\n a\n b\n')).toEqual([{ D: 'a\nb' }]);
  });

  it('reads a lone "." continuation line as an empty line', () => {
    expect(parse('D: a\n .\n b\n')).toEqual([{ D: 'a\n\nb' }]);
    expect(parse('D: a\n .\n \t. \n b\n')).toEqual([{ D: 'a\n\n\nb' }]);
    expect(parse('D:\n .\n a\n')).toEqual([{ D: '\na' }]);
  });

  it('accepts form feed and vertical tab around the "." (R: [ \\f\\n\\r\\t\\v])', () => {
    expect(parse('A: v\n \v.\v\n w\n')).toEqual([{ A: 'v\n\nw' }]);
  });

  it('drops trailing "." lines, and carries pending ones into the next field (R quirk)', () => {
    expect(parse('D: a\n .\n')).toEqual([{ D: 'a' }]);
    expect(parse('D: a\n .\nE: x\n y\n')).toEqual([{ D: 'a', E: 'x\n\ny' }]);
    // ... but never across records.
    expect(parse('D: a\n .\n\nE: x\n y\n')).toEqual([{ D: 'a' }, { E: 'x\ny' }]);
  });

  it('does not treat "x." or ".y" as empty lines', () => {
    expect(parse('A: v\n x.\n .y\n')).toEqual([{ A: 'v\nx.\n.y' }]);
  });
});

describe('parseDcf: malformed input', () => {
  it('refuses a line that is neither a field nor a continuation, naming its line', () => {
    const err = expectAirlockError(
      () => parseDcf('Package: a\nVersion: 1\nthis line has no colon at all\n', 'https://repo.example/src/contrib/PACKAGES'),
      'UPSTREAM_INDEX_INVALID',
      /line starting 'this line has no col\.\.\.' is malformed/,
    );
    expect(err.where).toBe('https://repo.example/src/contrib/PACKAGES:3');
    expect(err.hint).toBeTruthy();
  });

  it('refuses a line starting with a colon (empty tag)', () => {
    const err = expectAirlockError(() => parseDcf('A: 1\n\n:x\n', 'P'), 'UPSTREAM_INDEX_INVALID', /is malformed/);
    expect(err.where).toBe('P:3');
  });

  it('refuses a continuation line at the beginning of a record', () => {
    const err = expectAirlockError(() => parseDcf('A: 1\n\n  stray\n', 'P'), 'UPSTREAM_INDEX_INVALID', /continuation line starting '  stray' at the beginning of a record/);
    expect(err.where).toBe('P:3');
    expectAirlockError(() => parseDcf(' first\n', 'P'), 'UPSTREAM_INDEX_INVALID', /beginning of a record/);
  });

  it('counts lines the way R splits them, with CRLF and lone CR', () => {
    expect(expectAirlockError(() => parseDcf('A: 1\r\nB: 2\rbad\n', 'P'), 'UPSTREAM_INDEX_INVALID', /malformed/).where).toBe('P:3');
  });

  it('refuses a NUL character, naming its line', () => {
    const err = expectAirlockError(() => parseDcf('A: 1\r\nB: 2\0\n', 'P'), 'UPSTREAM_INDEX_INVALID', /NUL/);
    expect(err.where).toBe('P:2');
  });
});

const REALISTIC = `Package: A3
Version: 1.0.0
Depends: R (>= 2.15.0), xtable, pbapply
Suggests: randomForest, e1071
License: GPL (>= 2)
MD5sum: 027ebdd8affce8f0effaecfcd5f5ade2
NeedsCompilation: no

Package: abc
Version: 2.2.1
Depends: R (>= 2.10), abc.data, nnet, quantreg, MASS, locfit
License: GPL (>= 3)
MD5sum: c9fffe4334c178917f762735aba59653
NeedsCompilation: no

Package: ggplot2
Version: 3.5.1
Depends: R (>= 3.5)
Imports: cli, glue, grDevices, grid, gtable (>= 0.1.1), isoband,
        lifecycle (> 1.0.1), MASS, mgcv, rlang (>= 1.1.0), scales (>=
        1.3.0), stats, tibble, vctrs (>= 0.5.0), withr (>= 2.5.0)
Suggests: covr, dplyr, ggplot2movies, hexbin, Hmisc, knitr, mapproj,
        maps, multcomp, munsell, nlme, profvis, quantreg, ragg (>=
        1.2.6), RColorBrewer, rmarkdown, rpart, sf (>= 0.7-3), svglite
        (>= 2.1.2), testthat (>= 3.1.5), vdiffr (>= 1.0.6), xml2
Enhances: sp
License: MIT + file LICENSE
MD5sum: 12ad6a2e2b4d6fe6c6e8b1b7f1f0b6b7
NeedsCompilation: no
`;

describe('parseDcf: a realistic PACKAGES excerpt', () => {
  it('reads every record and folds wrapped fields', () => {
    const records = parseDcf(REALISTIC, 'PACKAGES');
    expect(records.map((r) => r.get('Package'))).toEqual(['A3', 'abc', 'ggplot2']);
    expect(records[0]!.get('Depends')).toBe('R (>= 2.15.0), xtable, pbapply');
    expect(records[2]!.get('Imports')).toBe(
      'cli, glue, grDevices, grid, gtable (>= 0.1.1), isoband,\nlifecycle (> 1.0.1), MASS, mgcv, rlang (>= 1.1.0), scales (>=\n1.3.0), stats, tibble, vctrs (>= 0.5.0), withr (>= 2.5.0)',
    );
    expect(records[2]!.get('Enhances')).toBe('sp');
    expect(records[1]!.has('Imports')).toBe(false);
  });
});

describe('parseDcf: size', () => {
  it('parses a generated 20 MB PACKAGES file', () => {
    const record = (i: number): string =>
      `Package: pkg${i}\nVersion: 1.${i % 97}-${i % 13}\nDepends: R (>= 4.0), methods, stats,\n        utils, pkg${i + 1} (>= 0.1)\nImports: ${'dep, '.repeat(40)}last\nLicense: GPL-2 | GPL-3\nMD5sum: ${(i.toString(16) + '0'.repeat(32)).slice(0, 32)}\nNeedsCompilation: no\n`;
    const parts: string[] = [];
    let length = 0;
    let count = 0;
    while (length < 20 * 1024 * 1024) {
      const text = `${record(count)}\n`;
      parts.push(text);
      length += text.length;
      count++;
    }
    const records = parseDcf(parts.join(''), 'PACKAGES');
    expect(records).toHaveLength(count);
    expect(records[count - 1]!.get('Package')).toBe(`pkg${count - 1}`);
    expect(records[1234]!.get('Depends')).toBe('R (>= 4.0), methods, stats,\nutils, pkg1235 (>= 0.1)');
  });
});

function hasRscript(): boolean {
  const probe = spawnSync('Rscript', ['--version'], { encoding: 'utf8' });
  return probe.status === 0;
}

/**
 * Runs R's own read.dcf on `text` (written to a file as bytes) and returns each record's
 * non-NA fields, or the error message. Tags and values go through hex so no escaping
 * can disagree with us.
 */
function readDcfWithR(text: string): { records: Record<string, string>[] } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-dcf-'));
  try {
    const file = join(dir, 'PACKAGES');
    writeFileSync(file, text, 'utf8');
    const script = [
      'hex <- function(s) paste0("x", paste(as.character(charToRaw(s)), collapse = ""))',
      'm <- tryCatch(read.dcf(commandArgs(TRUE)[1]), error = function(e) { cat("ERROR", conditionMessage(e), "\\n"); quit(status = 3) })',
      'cat("RECORDS", nrow(m), "\\n")',
      'for (i in seq_len(nrow(m))) for (tag in colnames(m)) if (!is.na(m[i, tag])) cat(i, hex(tag), hex(m[i, tag]), "\\n")',
    ].join('\n');
    const run = spawnSync('Rscript', ['-e', script, file], { encoding: 'utf8' });
    if (run.status === 3) return { error: run.stdout };
    if (run.status !== 0) throw new Error(`Rscript failed: ${run.stderr}`);
    return { records: decodeROutput(run.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function decodeROutput(stdout: string): Record<string, string>[] {
  const fromHex = (h: string): string => Buffer.from(h.slice(1), 'hex').toString('utf8');
  const records: Record<string, string>[] = [];
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(' ');
    if (words[0] === 'RECORDS') {
      for (let i = 0; i < Number(words[1]); i++) records.push({});
    } else if (words.length === 3) {
      records[Number(words[0]) - 1]![fromHex(words[1]!)] = fromHex(words[2]!);
    }
  }
  return records;
}

// Everything our parser does differently from a naive one, minus '#' comment lines
// (R 4.2, which Debian ships, predates comment support).
const TRICKY =
  '\n \n' +
  'Package: tricky\r\n' +
  'Version:\t1.0-2  \t\r\n' +
  'Description: first line\n' +
  '  second line   \n' +
  '  .\n' +
  ' \t. \n' +
  '\tafter two empty lines\n' +
  'Empty:\n' +
  '  starts empty\n' +
  'Title: Caf\u00e9 \u00e0 la R\n' +
  'Weird Tag : spaced\n' +
  'Package: repeated\n' +
  '  and continued\n' +
  'Dots: a\n' +
  '  .\n' +
  'Carry: x\n' +
  '  y\n' +
  'URL: https://a.example/b:c\n' +
  ' \t \n\n' +
  'Package: second\rVersion: 2.0\r\r' +
  'Package: third\n' +
  'Feed: v\f\n' +
  ' \v.\v\n' +
  ' w\n' +
  'Trail:\n' +
  ' .\n';

describe('parseDcf agrees with R', () => {
  it.skipIf(!hasRscript())('reads a tricky sample exactly as R read.dcf does', () => {
    const fromR = readDcfWithR(TRICKY);
    expect('records' in fromR, JSON.stringify(fromR)).toBe(true);
    const ours = parse(TRICKY);
    expect(ours).toEqual((fromR as { records: Record<string, string>[] }).records);
    // Guard against both sides being trivially empty or the sample losing its teeth.
    expect(ours).toHaveLength(3);
    expect(ours[0]!['Description']).toBe('first line\nsecond line\n\n\nafter two empty lines');
    expect(ours[0]!['Carry']).toBe('x\n\ny');
  });

  it.skipIf(!hasRscript())('refuses what R refuses', () => {
    for (const bad of ['A: 1\nno colon here\n', 'A: 1\n\n  stray continuation\n', ':x\n']) {
      const fromR = readDcfWithR(bad);
      expect('error' in fromR, `R accepted ${JSON.stringify(bad)}`).toBe(true);
      expectAirlockError(() => parseDcf(bad, 'P'), 'UPSTREAM_INDEX_INVALID', /malformed|beginning of a record/);
    }
  });
});
