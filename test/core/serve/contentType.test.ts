import { describe, expect, it } from 'vitest';
import { contentTypeOf } from '../../../src/core/serve/contentType.js';

describe('contentTypeOf', () => {
  it('names the type of each kind of repository file by its name', () => {
    const cases: [string, string][] = [
      ['v3/src/contrib/PACKAGES', 'text/plain; charset=utf-8'],
      ['PACKAGES', 'text/plain; charset=utf-8'],
      ['v3/src/contrib/PACKAGES.gz', 'application/x-gzip'],
      ['v3/src/contrib/R6_2.5.1.tar.gz', 'application/x-gzip'],
      ['bin/macosx/contrib/4.4/cli_3.6.2.tgz', 'application/x-gzip'],
      ['v3/src/contrib/Meta/archive.rds', 'application/octet-stream'],
      ['v3/src/contrib/PACKAGES.rds', 'application/octet-stream'],
      ['bioc/v3/config.yaml', 'text/yaml; charset=utf-8'],
      ['x/settings.yml', 'text/yaml; charset=utf-8'],
      ['sysreqs/systems.json', 'application/json'],
      ['v3/version.txt', 'text/plain; charset=utf-8'],
      ['bin/windows/contrib/4.4/cli_3.6.2.zip', 'application/zip'],
      ['v3/src/contrib/R6_2.5.1.tar.xz', 'application/octet-stream'],
      ['README', 'application/octet-stream'],
    ];
    for (const [path, type] of cases) expect(contentTypeOf(path), path).toBe(type);
  });

  it('looks at the file name only, not at directories', () => {
    expect(contentTypeOf('x/PACKAGES/R6_2.5.1.tar.gz')).toBe('application/x-gzip');
    expect(contentTypeOf('x.json/PACKAGES')).toBe('text/plain; charset=utf-8');
    expect(contentTypeOf('x.txt/data')).toBe('application/octet-stream');
    expect(contentTypeOf('PACKAGES/archive')).toBe('application/octet-stream');
  });
});
