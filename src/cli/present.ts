import type { TreeDiff } from '../core/diff.js';
import type { PackageChange } from '../core/packages.js';
import type { BundleChanges } from '../core/bundle/changes.js';
import { basename } from 'node:path';
import type { CreateBundleResult } from '../bundle/createBundle.js';
import { formatBytes } from './format.js';

/** Lines that show a package-level change list, grouped by repository. */
export function describePackages(packages: PackageChange[]): string[] {
  if (packages.length === 0) return ['  packages: no changes'];
  const counts = { added: 0, updated: 0, removed: 0 };
  for (const p of packages) counts[p.kind]++;
  const lines = [`  packages: ${counts.added} added, ${counts.updated} updated, ${counts.removed} removed`];
  let repository: string | undefined;
  for (const p of packages) {
    if (p.repository !== repository) {
      repository = p.repository;
      lines.push(`    ${repository || '.'}:`);
    }
    const what = p.kind === 'added' ? `+ ${p.name} ${p.to}` : p.kind === 'removed' ? `- ${p.name} ${p.from}` : `~ ${p.name} ${p.from} -> ${p.to}`;
    lines.push(`      ${what}`);
  }
  return lines;
}

export function describeDiff(files: TreeDiff, packages: PackageChange[]): string[] {
  const lines = [`  files: ${files.added.length} added, ${files.changed.length} changed, ${files.removed.length} removed`];
  for (const e of files.added) lines.push(`    A ${e.path}`);
  for (const c of files.changed) lines.push(`    M ${c.after.path}`);
  for (const e of files.removed) lines.push(`    D ${e.path}`);
  return [...lines, ...describePackages(packages)];
}

export function describeChanges(changes: BundleChanges): string[] {
  const f = changes.files;
  return [`  files: ${f.added} added, ${f.changed} changed, ${f.removed} removed (${formatBytes(f.addedBytes)} new or changed)`, ...describePackages(changes.packages)];
}

/** What `bundle create` and `export` say about the bundle they wrote. */
export function describeWrittenBundle(r: CreateBundleResult, headline: string, signed: boolean): string[] {
  const size = formatBytes(r.bundleBytes);
  return [
    r.volumes.length > 0
      ? `${headline} in ${r.volumes.length} volumes (${size}): ${r.volumes.map((v) => basename(v)).join(' ')}`
      : `${headline} (${size})`,
    `  from ${r.header.from ?? '(nothing: full bundle)'}`,
    `  to   ${r.header.to}${r.header.target.label ? ` (${r.header.target.label})` : ''}, sequence ${r.header.target.sequence}`,
    `  ${r.header.objects.count} objects (${formatBytes(r.header.objects.bytes)}): ${r.rawObjects} stored raw, ${r.compressedObjects} zstd-compressed; ${signed ? 'signed' : 'not signed'}`,
    ...describeChanges(r.changes),
  ];
}
