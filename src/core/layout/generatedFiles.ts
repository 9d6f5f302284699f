import { binaryConfigName, binaryContrib, bindexPath, biocVersionRoot, CRAN_SNAPSHOT_PATH, DISTROS_PATH, SCHEMA, SCHEMA_MARKER, type BinaryTarget, type LayoutFile } from './rspmLayout.js';

/**
 * The small files airlock writes into the layout itself, as pure functions of what was
 * downloaded, so the same download always gives the same bytes (and the same snapshot id).
 */
function json(path: string, value: unknown): LayoutFile {
  return { path, data: Buffer.from(`${JSON.stringify(value, null, 2)}\n`) };
}

export function schemaMarker(): LayoutFile {
  return { path: SCHEMA_MARKER, data: Buffer.from(`${SCHEMA.slice(1)}\n`) };
}

/** `sysreqs: "none"`: the download skipped the system requirements (--sysreqs-url none); validate does not look for them. */
export function cranSnapshotFile(source: { kind: string; snapshot: string }, sourcePackages: number, extra: { rspmVersion?: string | null; sysreqs?: boolean } = {}): LayoutFile {
  return json(CRAN_SNAPSHOT_PATH, {
    source: source.kind,
    snapshot: source.snapshot,
    packages: sourcePackages,
    ...(extra.rspmVersion ? { rspmVersion: extra.rspmVersion } : {}),
    ...(extra.sysreqs === false ? { sysreqs: 'none' } : {}),
  });
}

export function bindexFile(target: BinaryTarget, snapshot: string, packages: number): LayoutFile {
  return json(bindexPath(target), {
    name: binaryConfigName(target),
    rVersion: target.rVersion,
    distribution: target.distribution,
    architecture: target.architecture,
    snapshot,
    directory: binaryContrib(target).replace(/\/src\/contrib$/, ''),
    packages,
  });
}

/** One record per distribution: the R versions and architectures it has binaries for. */
export function distrosFile(targets: BinaryTarget[]): LayoutFile {
  const byDistribution = new Map<string, { rVersions: Set<string>; architectures: Set<string> }>();
  for (const t of targets) {
    const d = byDistribution.get(t.distribution) ?? { rVersions: new Set(), architectures: new Set() };
    d.rVersions.add(t.rVersion);
    d.architectures.add(t.architecture);
    byDistribution.set(t.distribution, d);
  }
  const records = [...byDistribution.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([distribution, d]) => ({ distribution, rVersions: [...d.rVersions].sort(), architectures: [...d.architectures].sort() }));
  return json(DISTROS_PATH, records);
}

export function biocVersionFile(version: string, rVersion: string | null, repositories: string[]): LayoutFile {
  return json(`${biocVersionRoot(version)}/version.json`, { version, rVersion, repositories });
}
