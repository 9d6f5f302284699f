import { describe, expect, it } from 'vitest';
import { parseWantedFile } from '../../src/core/wantedPackages.js';

describe('parseWantedFile tells the three kinds apart by their content', () => {
  it('a plain list: one name per line, # comments, blank lines', () => {
    const file = parseWantedFile('# our projects\ndesc\n\nfutile.logger   # logging\n', 'list.txt', { suggests: true });
    expect(file.kind).toBe('package list');
    expect(file.wants).toEqual([
      { name: 'desc', constraint: null, optional: false, suggests: true },
      { name: 'futile.logger', constraint: null, optional: false, suggests: true },
    ]);
  });

  it('refuses a list line that is not a package name, with its line number', () => {
    expect(() => parseWantedFile('desc\ninstall.packages("x")\n', 'list.txt', { suggests: false })).toThrow(/line 2 names 'install.packages\("x"\)'/);
    expect(() => parseWantedFile('# nothing\n', 'list.txt', { suggests: false })).toThrow(/names no package/);
  });

  it('a DESCRIPTION: its Depends, Imports and LinkingTo with their constraints, R left out; Suggests only with --suggests, optional', () => {
    const text = 'Package: ourtool\nVersion: 0.1\nDepends: R (>= 4.1)\nImports: cli (>= 3.4.0),\n    glue\nLinkingTo: cpp11\nSuggests: testthat\n';
    const without = parseWantedFile(text, 'DESCRIPTION', { suggests: false });
    expect(without.kind).toBe('DESCRIPTION');
    expect(without.wants).toEqual([
      { name: 'cli', constraint: { op: '>=', version: '3.4.0' }, optional: false, suggests: false },
      { name: 'glue', constraint: null, optional: false, suggests: false },
      { name: 'cpp11', constraint: null, optional: false, suggests: false },
    ]);
    const withSuggests = parseWantedFile(text, 'DESCRIPTION', { suggests: true });
    expect(withSuggests.wants.at(-1)).toEqual({ name: 'testthat', constraint: null, optional: true, suggests: false });
  });

  it('an renv.lock: exact versions pinned; Bioconductor marked; GitHub and local sources noted, not fetched', () => {
    const lock = JSON.stringify({
      R: { Version: '4.4.1' },
      Packages: {
        cli: { Package: 'cli', Version: '3.6.1', Source: 'Repository', Repository: 'CRAN' },
        Biobase: { Package: 'Biobase', Version: '2.66.0', Source: 'Bioconductor' },
        mine: { Package: 'mine', Version: '0.0.1', Source: 'GitHub' },
      },
    });
    const file = parseWantedFile(lock, 'renv.lock', { suggests: false });
    expect(file.kind).toBe('renv.lock');
    expect(file.wants).toEqual([
      { name: 'cli', constraint: { op: '==', version: '3.6.1' }, optional: false, suggests: false },
      { name: 'Biobase', constraint: { op: '==', version: '2.66.0' }, optional: false, suggests: false, bioconductor: true },
    ]);
    expect(file.notes).toEqual(['mine 0.0.1 comes from GitHub, not a package repository; it is not downloaded']);
    expect(() => parseWantedFile('{"Packages": [1]}', 'renv.lock', { suggests: false })).toThrow(/no "Packages" object/);
    expect(() => parseWantedFile('{ broken', 'renv.lock', { suggests: false })).toThrow(/not valid JSON/);
  });
});
