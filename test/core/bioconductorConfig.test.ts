import { describe, it, expect } from 'vitest';
import { parseBiocConfig, resolveBiocVersions, type BiocConfig } from '../../src/core/bioconductorConfig.js';
import { expectAirlockError } from '../helpers/errors.js';

const WHERE = 'bioconductor/config.yaml';

// Shaped like the real file: quoted versions, other keys we ignore, a long map.
const REAL_LIKE = `## This file is read by BiocManager
release_version: "3.20"
r_version_associated_with_release: "4.4.0"
devel_version: "3.21"
r_version_associated_with_devel: "4.5.0"
release_dates:
  "3.19": "5/1/2024"
  "3.20": "10/30/2024"
r_ver_for_bioc_ver:
  "1.6": "2.1"
  "2.9": "2.14"
  "3.10": "3.6"
  "3.19": "4.4"
  "3.20": "4.4"
  "3.21": "4.5"
deprecated: true
mirrors:
  - name: one
    https: true
`;

describe('parseBiocConfig', () => {
  it('reads release, devel and the R version map from a realistic file', () => {
    expect(parseBiocConfig(REAL_LIKE, WHERE)).toEqual({
      releaseVersion: '3.20',
      develVersion: '3.21',
      rVersionFor: { '1.6': '2.1', '2.9': '2.14', '3.10': '3.6', '3.19': '4.4', '3.20': '4.4', '3.21': '4.5' },
    });
  });

  it('keeps unquoted versions as written: 3.20 is not 3.2, 3.10 is not 3.1', () => {
    const config = parseBiocConfig('release_version: 3.20\ndevel_version: 3.10\nr_ver_for_bioc_ver:\n  3.20: 4.40\n  3.10: 3.6\n', WHERE);
    expect(config.releaseVersion).toBe('3.20');
    expect(config.develVersion).toBe('3.10');
    expect(config.rVersionFor).toEqual({ '3.20': '4.40', '3.10': '3.6' });
  });

  it('accepts a file without the R version map', () => {
    expect(parseBiocConfig('release_version: "3.20"\ndevel_version: "3.21"\n', WHERE).rVersionFor).toEqual({});
  });

  it('refuses invalid YAML, naming the line', () => {
    const err = expectAirlockError(() => parseBiocConfig('release_version: "3.20"\ndevel_version: [\n', WHERE), 'UPSTREAM_INDEX_INVALID', /not valid YAML/);
    expect(err.where).toMatch(/^bioconductor\/config\.yaml:\d+$/);
    expect(err.message).not.toContain('\n');
  });

  it('refuses duplicated keys rather than guessing which one counts', () => {
    const err = expectAirlockError(
      () => parseBiocConfig('release_version: "3.20"\nrelease_version: "3.19"\ndevel_version: "3.21"\n', WHERE),
      'UPSTREAM_INDEX_INVALID',
      /unique/,
    );
    expect(err.where).toBe(`${WHERE}:2`);
  });

  it('refuses missing or malformed versions', () => {
    expectAirlockError(() => parseBiocConfig('devel_version: "3.21"\n', WHERE), 'UPSTREAM_INDEX_INVALID', /release_version is missing/);
    expectAirlockError(() => parseBiocConfig('release_version: "3.20"\n', WHERE), 'UPSTREAM_INDEX_INVALID', /devel_version is missing/);
    expectAirlockError(() => parseBiocConfig('release_version: three\ndevel_version: "3.21"\n', WHERE), 'UPSTREAM_INDEX_INVALID', /release_version is 'three'/);
    expectAirlockError(() => parseBiocConfig('release_version: [3, 20]\ndevel_version: "3.21"\n', WHERE), 'UPSTREAM_INDEX_INVALID', /release_version/);
    expectAirlockError(() => parseBiocConfig('release_version: "3"\ndevel_version: "3.21"\n', WHERE), 'UPSTREAM_INDEX_INVALID', /release_version/);
  });

  it('refuses a malformed R version map', () => {
    const base = 'release_version: "3.20"\ndevel_version: "3.21"\n';
    expectAirlockError(() => parseBiocConfig(`${base}r_ver_for_bioc_ver: [a]\n`, WHERE), 'UPSTREAM_INDEX_INVALID', /not a map/);
    expectAirlockError(() => parseBiocConfig(`${base}r_ver_for_bioc_ver:\n  latest: "4.4"\n`, WHERE), 'UPSTREAM_INDEX_INVALID', /has 'latest'/);
    expectAirlockError(() => parseBiocConfig(`${base}r_ver_for_bioc_ver:\n  "3.20": four\n`, WHERE), 'UPSTREAM_INDEX_INVALID', /maps 3\.20 to 'four'/);
  });

  it('refuses a document that is not a map', () => {
    expectAirlockError(() => parseBiocConfig('- a\n- b\n', WHERE), 'UPSTREAM_INDEX_INVALID', /not a map of settings/);
    expectAirlockError(() => parseBiocConfig('', WHERE), 'UPSTREAM_INDEX_INVALID', /not a map of settings/);
  });
});

describe('resolveBiocVersions', () => {
  const config: BiocConfig = parseBiocConfig(REAL_LIKE, WHERE);

  it('resolves the aliases with their R versions', () => {
    expect(resolveBiocVersions(['release', 'devel'], config)).toEqual([
      { version: '3.20', alias: 'release', rVersion: '4.4' },
      { version: '3.21', alias: 'devel', rVersion: '4.5' },
    ]);
  });

  it('accepts explicit versions, in the order asked', () => {
    expect(resolveBiocVersions(['3.19', '3.10', 'release'], config)).toEqual([
      { version: '3.19', alias: null, rVersion: '4.4' },
      { version: '3.10', alias: null, rVersion: '3.6' },
      { version: '3.20', alias: 'release', rVersion: '4.4' },
    ]);
  });

  it('makes one entry of an alias and its number, keeping the alias and the first position', () => {
    expect(resolveBiocVersions(['3.20', '3.19', 'release', 'release', '3.19'], config)).toEqual([
      { version: '3.20', alias: 'release', rVersion: '4.4' },
      { version: '3.19', alias: null, rVersion: '4.4' },
    ]);
    expect(resolveBiocVersions(['devel', '3.21'], config)).toEqual([{ version: '3.21', alias: 'devel', rVersion: '4.5' }]);
  });

  it('refuses a version the config does not know, listing the known ones', () => {
    const err = expectAirlockError(() => resolveBiocVersions(['3.99'], config), 'USAGE', /Bioconductor 3\.99 does not exist/);
    expect(err.hint).toContain('1.6, 2.9, 3.10, 3.19, 3.20, 3.21');
    expect(err.hint).toContain('release is 3.20');
  });

  it('accepts release and devel versions even when the map lacks them', () => {
    const partial: BiocConfig = { releaseVersion: '3.20', develVersion: '3.21', rVersionFor: { '3.19': '4.4' } };
    expect(resolveBiocVersions(['3.21'], partial)).toEqual([{ version: '3.21', alias: null, rVersion: null }]);
  });

  it('accepts any well-formed version when the config has no map', () => {
    const bare: BiocConfig = { releaseVersion: '3.20', develVersion: '3.21', rVersionFor: {} };
    expect(resolveBiocVersions(['3.99'], bare)).toEqual([{ version: '3.99', alias: null, rVersion: null }]);
  });

  it('refuses malformed requests and an empty list', () => {
    for (const bad of ['3', '3.20.1', 'v3.20', 'Release', ' 3.20', '']) {
      expectAirlockError(() => resolveBiocVersions([bad], config), 'USAGE', /is not a Bioconductor version/);
    }
    expectAirlockError(() => resolveBiocVersions([], config), 'USAGE', /no Bioconductor version was given/);
  });
});
