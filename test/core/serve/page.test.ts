import { describe, expect, it } from 'vitest';
import type { SnapshotRecord } from '../../../src/core/manifest.js';
import type { PackageChange } from '../../../src/core/packages.js';
import { renderPage, type PageInput, type PageSnapshot } from '../../../src/core/serve/page.js';
import { keptSnapshot } from '../../../src/core/serve/snapshotChoice.js';

const idWith = (prefix: string) => prefix.padEnd(64, '0');

function snapshot(prefix: string, label: string | null, createdAt: string, extra: Partial<PageSnapshot> = {}): PageSnapshot {
  const id = idWith(prefix);
  const record: SnapshotRecord = { id, sequence: 1, label, parent: null, createdAt, files: 1, bytes: 1 };
  return { kept: keptSnapshot(id, record), current: false, cranPackages: 0, changes: null, ...extra };
}

const change = (kind: PackageChange['kind'], name: string, from: string | null, to: string | null): PackageChange => ({ kind, repository: 'v3/src/contrib', name, from, to });

const HOSTILE = '<script>alert("x")</script>&';

function input(overrides: Partial<PageInput> = {}): PageInput {
  return {
    base: 'http://pkgs.internal:8080',
    snapshots: [
      snapshot('cccc3333', HOSTILE, '2026-12-01T08:00:00.000Z', {
        current: true,
        cranPackages: 21543,
        changes: [change('added', 'newpkg', null, '1.0'), change('updated', 'R6', '2.5.0', '2.5.1'), change('removed', 'oldpkg', '0.1', null), change('added', '<img src=x>', null, '1.0"')],
      }),
      snapshot('bbbb2222', '2026-11-15', '2026-11-15T08:00:00.000Z', { cranPackages: 21500, changes: [] }),
      snapshot('aaaa1111', null, '2026-11-01T08:00:00.000Z', { cranPackages: 21400, changes: null }),
    ],
    distributions: ['jammy'],
    biocVersions: ['3.20'],
    ...overrides,
  };
}

describe('renderPage', () => {
  const html = renderPage(input());

  it('escapes a hostile label and package names: no markup of theirs reaches the page', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
    expect(html).toContain('&lt;img src=x&gt;');
    expect(html).toContain('1.0&quot;');
  });

  it('escapes a hostile base (the Host the client sent) in the R lines', () => {
    const page = renderPage(input({ base: 'http://x"><script>alert(1)</script>' }));
    expect(page).not.toContain('<script');
    expect(page).toContain('options(repos = c(CRAN = &quot;http://x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/cran/latest&quot;))');
  });

  it('fetches nothing from elsewhere: no script, stylesheet link, image, frame, import or url()', () => {
    // The escaped hostile text above still spells ` src=` as text: check pages without it.
    const clean = input().snapshots.map((s, i) => ({ ...s, kept: keptSnapshot(s.kept.id, { ...s.kept.record!, label: `label${i}` }), changes: s.changes && s.changes.slice(0, 3) }));
    for (const page of [renderPage(input({ snapshots: clean })), renderPage(input({ snapshots: clean, base: 'https://evil.example' }))]) {
      expect(page).toContain('<style>');
      expect(page).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|@import|url\(|\ssrc=|\shref=/i);
    }
  });

  it('lists each kept snapshot with its day, label, short id and package count, marking the current one', () => {
    expect(html).toContain('<tr class="current"><td>2026-12-01</td><td>&lt;script&gt;');
    expect(html).toContain('<td><code>cccc33330000</code></td><td>21543</td><td>shown now (latest)</td></tr>');
    expect(html).toContain('<tr><td>2026-11-15</td><td>2026-11-15</td><td><code>bbbb22220000</code></td><td>21500</td><td></td></tr>');
    expect(html).toContain('<tr><td>2026-11-01</td><td></td><td><code>aaaa11110000</code></td><td>21400</td><td></td></tr>');
    expect(html.match(/class="current"/g)).toHaveLength(1);
  });

  it('describes changes: counts, each change, and the oldest or unchanged snapshots', () => {
    expect(html).toContain('<p>2 added, 1 updated, 1 removed</p>');
    expect(html).toContain('<li>added newpkg 1.0</li>');
    expect(html).toContain('<li>updated R6 2.5.0 &rarr; 2.5.1</li>');
    expect(html).toContain('<li>removed oldpkg 0.1</li>');
    expect(html).toContain('<p>no CRAN package changed</p>');
    expect(html).toContain('<p>the oldest snapshot kept here</p>');
  });

  it('shows at most 20 changes and says how many more', () => {
    const many = Array.from({ length: 23 }, (_, i) => change('added', `pkg${i}`, null, '1.0'));
    const page = renderPage(input({ snapshots: [snapshot('dd', null, '2026-12-01T00:00:00.000Z', { changes: many })] }));
    expect(page).toContain('<li>added pkg19 1.0</li>');
    expect(page).not.toContain('pkg20');
    expect(page).toContain('<li>and 3 more</li>');
  });

  it('gives the R lines for the base: latest, the newest day, binaries per distribution, the archive, Bioconductor', () => {
    expect(html).toContain('options(repos = c(CRAN = &quot;http://pkgs.internal:8080/cran/latest&quot;))');
    expect(html).toContain('options(repos = c(CRAN = &quot;http://pkgs.internal:8080/cran/2026-12-01&quot;))');
    expect(html).toContain('options(repos = c(CRAN = &quot;http://pkgs.internal:8080/cran/__linux__/jammy/latest&quot;))');
    expect(html).toContain('remotes::install_version(&quot;PACKAGE&quot;, &quot;VERSION&quot;, repos = &quot;http://pkgs.internal:8080/cran/latest&quot;)');
    expect(html).toContain('BIOCONDUCTOR_CONFIG_FILE = &quot;http://pkgs.internal:8080/bioconductor/latest/config.yaml&quot;');
  });

  it('leaves out Bioconductor and binary lines when the snapshot has none, and the dated line when no day is known', () => {
    const page = renderPage(input({ distributions: [], biocVersions: [], snapshots: [{ kept: keptSnapshot(idWith('ee'), null), current: true, cranPackages: 0, changes: null }] }));
    expect(page).not.toContain('bioconductor');
    expect(page).not.toContain('__linux__');
    expect(page).not.toMatch(/cran\/\d{4}-\d{2}-\d{2}/);
    expect(page).toContain('/cran/latest');
    expect(page).toContain('<tr class="current"><td>?</td><td></td><td><code>ee0000000000</code></td>');
  });
});
