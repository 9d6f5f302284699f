import { describe, expect, it } from 'vitest';
import { parseDcf } from '../../src/core/dcf.js';
import { indexByName, selectPackages } from '../../src/core/packageSelection.js';
import { subsetIndex } from '../../src/core/packagesIndex.js';
import type { Want } from '../../src/core/wantedPackages.js';

const INDEX = `Package: desc
Version: 1.4.3
Imports: cli, R6, rprojroot, utils
Suggests: testthat, nosuchthing

Package: cli
Version: 3.6.1
Depends: R (>= 3.4)
Imports: utils

Package: R6
Version: 2.5.1
LinkingTo: cpp11

Package: cpp11
Version: 0.4.7

Package: rprojroot
Version: 2.0.4
Depends: R (>= 3.0.0)

Package: testthat
Version: 3.2.0
Imports: brio, cli (>= 3.3.0), MASS
Suggests: covr

Package: brio
Version: 1.1.4

Package: old
Version: 0.1
Imports: cli (>= 4.0.0)
`;

const index = indexByName(parseDcf(INDEX, 'PACKAGES'));
const want = (name: string, more: Partial<Want> = {}): Want => ({ name, constraint: null, optional: false, suggests: false, ...more });

describe('selectPackages', () => {
  it('follows Depends, Imports and LinkingTo recursively; base packages and R are not fetched', () => {
    const s = selectPackages(index, [want('desc')], 'PACKAGES');
    expect([...s.packages.keys()].sort()).toEqual(['R6', 'cli', 'cpp11', 'desc', 'rprojroot']);
    expect(s.packages.get('cpp11')?.reason).toBe('needed by R6'); // LinkingTo, one level down
    expect(s.packages.get('cli')).toEqual({ name: 'cli', version: '3.6.1', archived: false, reason: 'needed by desc' });
  });

  it('--suggests adds the Suggests of listed packages only (and what they need); a missing one is a note; recommended ones missing are noted', () => {
    const s = selectPackages(index, [want('desc', { suggests: true })], 'PACKAGES');
    expect([...s.packages.keys()].sort()).toEqual(['R6', 'brio', 'cli', 'cpp11', 'desc', 'rprojroot', 'testthat']);
    expect(s.packages.has('covr')).toBe(false);
    expect(s.notes.join('\n')).toMatch(/nosuchthing, suggested by desc, is not in PACKAGES; skipped/);
    expect(s.notes.join('\n')).toMatch(/MASS \(a recommended package/);
  });

  it('stops on a constraint the index cannot meet, naming the chain', () => {
    expect(() => selectPackages(index, [want('old')], 'PACKAGES')).toThrow(/^old -> cli \(>= 4\.0\.0\): PACKAGES has 3\.6\.1$/);
    expect(() => selectPackages(index, [want('desc', { constraint: { op: '>=', version: '2.0' } })], 'PACKAGES')).toThrow(/desc \(>= 2\.0\): PACKAGES has 1\.4\.3/);
    expect(() => selectPackages(index, [want('glue')], 'PACKAGES')).toThrow(/^glue: not in PACKAGES$/);
  });

  it('an exact pin of an older version is taken from the archive; of the current one, from the index', () => {
    const s = selectPackages(index, [want('cli', { constraint: { op: '==', version: '3.5.0' } }), want('R6', { constraint: { op: '==', version: '2.5.1' } })], 'PACKAGES');
    expect(s.packages.get('cli')).toMatchObject({ version: '3.5.0', archived: true });
    expect(s.packages.get('R6')).toMatchObject({ version: '2.5.1', archived: false });
  });
});

describe('subsetIndex', () => {
  it('keeps the chosen records byte for byte, in order', () => {
    const records = parseDcf(INDEX, 'PACKAGES');
    const text = subsetIndex(INDEX, records, (r) => ['desc', 'R6', 'old'].includes(r.get('Package')!));
    expect(text).toBe(`${INDEX.split('\n\n')[0]}\n\n${INDEX.split('\n\n')[2]}\n\n${INDEX.split('\n\n')[7]!.trimEnd()}\n`);
    expect(subsetIndex(INDEX, records, () => false)).toBe('');
  });
});
