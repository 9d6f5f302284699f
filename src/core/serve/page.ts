import type { PackageChange } from '../packages.js';
import { shortId } from '../objectId.js';
import type { KeptSnapshot } from './snapshotChoice.js';

/**
 * The page a person opens at `/`: the kept snapshots (day, label, id, package count), what
 * each changed against the one before, and the lines to paste into R. Plain HTML and CSS,
 * no script, nothing fetched from elsewhere. Pure: everything it shows is passed in.
 */
export interface PageSnapshot {
  kept: KeptSnapshot;
  current: boolean;
  /** CRAN source packages in the snapshot. */
  cranPackages: number;
  /** CRAN source changes against the kept snapshot before it (null: the oldest kept). */
  changes: PackageChange[] | null;
}

export interface PageInput {
  /** `http://host:port`, as the client reached the server. */
  base: string;
  /** Newest first. */
  snapshots: PageSnapshot[];
  /** Distributions with Linux binaries in the current snapshot (`jammy`). */
  distributions: string[];
  /** Bioconductor versions in the current snapshot. */
  biocVersions: string[];
}

const SHOWN_CHANGES = 20;

export function renderPage(input: PageInput): string {
  const { base } = input;
  const newestDay = input.snapshots.find((s) => s.kept.day !== null)?.kept.day ?? null;
  const lines = [
    '# CRAN, the snapshot shown now (follows every apply and rollback)',
    `options(repos = c(CRAN = "${base}/cran/latest"))`,
    ...(newestDay ? ['# CRAN as it was on a day: the newest kept snapshot on or before it (never changes)', `options(repos = c(CRAN = "${base}/cran/${newestDay}"))`] : []),
    ...input.distributions.map((d) => `# Linux binaries for ${d}, chosen by R's User-Agent (sources for packages without one)\noptions(repos = c(CRAN = "${base}/cran/__linux__/${d}/latest"))`),
    '# an earlier version from the archive',
    `remotes::install_version("PACKAGE", "VERSION", repos = "${base}/cran/latest")`,
    ...(input.biocVersions.length > 0
      ? ['# Bioconductor', `options(BioC_mirror = "${base}/bioconductor/latest", BIOCONDUCTOR_CONFIG_FILE = "${base}/bioconductor/latest/config.yaml")`, 'BiocManager::install("PACKAGE")']
      : []),
  ];
  const rows = input.snapshots.map((s) => {
    const k = s.kept;
    const label = k.record?.label ?? '';
    return `<tr${s.current ? ' class="current"' : ''}><td>${escape(k.day ?? '?')}</td><td>${escape(label)}</td><td><code>${shortId(k.id)}</code></td><td>${s.cranPackages}</td><td>${s.current ? 'shown now (latest)' : ''}</td></tr>`;
  });
  const changes = input.snapshots.map((s) => `<section><h3>${escape(s.kept.day ?? '?')} <code>${shortId(s.kept.id)}</code></h3>${describeChanges(s.changes)}</section>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>airlock: R package repository</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .8rem; text-align: left; }
tr.current { font-weight: bold; }
pre { background: #f4f4f4; padding: 1rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>R package repository</h1>
<p>Served by airlock from the snapshots this host keeps. Point R at a URL below: only the host differs from Posit Package Manager's.</p>
<h2>Use it from R</h2>
<pre id="r-lines">${escape(lines.join('\n'))}</pre>
<h2>Kept snapshots</h2>
<table id="snapshots">
<thead><tr><th>day</th><th>label</th><th>id</th><th>CRAN packages</th><th></th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<h2>What changed</h2>
${changes.join('\n')}
</body>
</html>
`;
}

function describeChanges(changes: PackageChange[] | null): string {
  if (changes === null) return '<p>the oldest snapshot kept here</p>';
  if (changes.length === 0) return '<p>no CRAN package changed</p>';
  const count = (kind: PackageChange['kind']) => changes.filter((c) => c.kind === kind).length;
  const items = changes
    .slice(0, SHOWN_CHANGES)
    .map((c) => `<li>${c.kind} ${escape(c.name)} ${c.kind === 'updated' ? `${escape(c.from ?? '')} &rarr; ${escape(c.to ?? '')}` : escape(c.to ?? c.from ?? '')}</li>`);
  const more = changes.length > SHOWN_CHANGES ? `<li>and ${changes.length - SHOWN_CHANGES} more</li>` : '';
  return `<p>${count('added')} added, ${count('updated')} updated, ${count('removed')} removed</p><ul>${items.join('')}${more}</ul>`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
