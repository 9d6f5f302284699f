import { count } from '../core/units.js';
import { namedSnapshot } from '../core/objectId.js';
import type { TreeDiff } from '../core/diff.js';
import type { PackageChange, SizedChange } from '../core/packages.js';
import type { BundleChanges } from '../core/bundle/changes.js';
import { basename } from 'node:path';
import type { CreateBundleResult } from '../bundle/createBundle.js';
import { formatBytes } from './format.js';

/**
 * A package-level change list: by default a summary (the totals over source repositories,
 * then one line per repository, binary configurations each on their own, so a package is
 * not counted once per configuration in the headline); with `list`, every change.
 */
export function describePackages(packages: PackageChange[], largest: readonly SizedChange[], list = false): string[] {
  if (packages.length === 0) return ['  packages: no changes'];
  const tally = (ps: PackageChange[]) => {
    const c = { added: 0, updated: 0, removed: 0 };
    for (const p of ps) c[p.kind]++;
    return `${c.added} added, ${c.updated} updated, ${c.removed} removed`;
  };
  const repositories = [...new Set(packages.map((p) => p.repository))];
  const sources = packages.filter((p) => !p.repository.startsWith('bin/'));
  const lines = [`  packages: ${tally(sources)}${sources.length === packages.length ? '' : ' (sources; binaries below, per configuration)'}`];
  for (const repository of repositories) {
    const here = packages.filter((p) => p.repository === repository);
    lines.push(`    ${repository || '.'}: ${tally(here)}`);
    if (!list) continue;
    for (const p of here) lines.push(`      ${p.kind === 'added' ? `+ ${p.name} ${p.to}` : p.kind === 'removed' ? `- ${p.name} ${p.from}` : `~ ${p.name} ${p.from} -> ${p.to}`}`);
  }
  if (!list && largest.length > 0) {
    lines.push('  largest changes (new archive sizes):');
    for (const { change: p, bytes } of largest) {
      lines.push(`    ${formatBytes(bytes).padStart(10)}  ${p.repository}/${p.name} ${p.kind === 'added' ? `${p.to} (added)` : `${p.from} -> ${p.to}`}`);
    }
  }
  if (!list) lines.push('  (--list shows every package; --json has everything)');
  return lines;
}

export function describeDiff(files: TreeDiff, packages: PackageChange[], largest: readonly SizedChange[], list = false): string[] {
  const lines = [`  files: ${files.added.length} added, ${files.changed.length} changed, ${files.removed.length} removed`];
  if (list) {
    for (const e of files.added) lines.push(`    A ${e.path}`);
    for (const c of files.changed) lines.push(`    M ${c.after.path}`);
    for (const e of files.removed) lines.push(`    D ${e.path}`);
  }
  return [...lines, ...describePackages(packages, largest, list)];
}

export function describeChanges(changes: BundleChanges, largest: readonly SizedChange[], list = false): string[] {
  const f = changes.files;
  return [`  files: ${f.added} added, ${f.changed} changed, ${f.removed} removed (${formatBytes(f.addedBytes)} new or changed)`, ...describePackages(changes.packages, largest, list)];
}

/** How a written bundle holds its objects: "3 stored raw, 1 zstd-compressed, 2,000 in 1 pack". */
export function storedAs(r: { rawObjects: number; compressedObjects: number; packedObjects: number; packs: number }): string {
  return `${r.rawObjects} stored raw, ${r.compressedObjects} zstd-compressed${r.packs > 0 ? `, ${r.packedObjects} in ${count(r.packs, 'pack')}` : ''}`;
}

/** What `bundle create` and `export` say about the bundle they wrote. */
export function describeWrittenBundle(r: CreateBundleResult, headline: string, signed: boolean, list = false): string[] {
  const size = formatBytes(r.bundleBytes);
  return [
    r.volumes.length > 0
      ? `${headline} in ${count(r.volumes.length, 'volume')} (${size}): ${r.volumes.map((v) => basename(v)).join(' ')}`
      : `${headline} (${size})`,
    `  from ${r.header.from ?? '(nothing: full bundle)'}`,
    `  to   ${namedSnapshot(r.header.to, r.header.target.label)}, sequence ${r.header.target.sequence}`,
    `  ${count(r.header.objects.count, 'object')} (${formatBytes(r.header.objects.bytes)}): ${storedAs(r)}; ${signed ? 'signed' : 'not signed'}`,
    ...describeChanges(r.changes, r.largest, list),
  ];
}
