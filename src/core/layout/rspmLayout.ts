/**
 * Where everything goes in the rspm-offline-data tree (docs/layout.md). Pure path rules:
 * the downloader writes by them, validate checks by them, and every package directory is
 * a CRAN-like `src/contrib` that R can install from with `repos = "file:///..."`.
 *
 *   v3/version.txt, v3/snapshot.json      schema marker; which upstream snapshot
 *   v3/src/contrib/                       CRAN source packages
 *   v3/bin/windows/contrib/<r>/           Windows binaries (.zip), as CRAN lays them out
 *   v3/bin/macosx/big-sur-<arch>/contrib/<r>/   macOS binaries (.tgz), as CRAN lays them out
 *   bin/<r>-<distribution>[-<arch>]/src/contrib/   Linux binaries (arch omitted for x86_64)
 *   bindex/<r>-<distribution>[-<arch>].json        what each binary tree holds
 *   distros/distributions.json            the binary configurations present
 *   bioc/v3/config.yaml                   Bioconductor's version map, as published
 *   bioc/v3/<version>/<repository>/src/contrib/    bioc, data/annotation, ...
 *   sysreqs/systems.json, sysreqs/rules/*.json     r-system-requirements rules
 */
export const SCHEMA = 'v3';
export const SCHEMA_MARKER = `${SCHEMA}/version.txt`;
export const CRAN_SNAPSHOT_PATH = `${SCHEMA}/snapshot.json`;
export const CRAN_CONTRIB = `${SCHEMA}/src/contrib`;
export const DISTROS_PATH = 'distros/distributions.json';
export const BIOC_ROOT = `bioc/${SCHEMA}`;
export const BIOC_CONFIG_PATH = `${BIOC_ROOT}/config.yaml`;
export const SYSREQS_ROOT = 'sysreqs';
export const SYSREQS_SYSTEMS_PATH = `${SYSREQS_ROOT}/systems.json`;
export const SYSREQS_RULES_DIR = `${SYSREQS_ROOT}/rules`;

export const BIOC_REPOSITORIES = ['bioc', 'data/annotation', 'data/experiment', 'workflows', 'books'] as const;
export type BiocRepository = (typeof BIOC_REPOSITORIES)[number];

/** One configuration of Linux binaries. */
export interface BinaryTarget {
  rVersion: string;
  distribution: string;
  architecture: string;
}

/** Windows or macOS binaries for one R version (and, on macOS, one architecture). */
export interface DesktopTarget {
  os: 'windows' | 'macos';
  rVersion: string;
  /** x86_64 or aarch64 (macOS only; Windows binaries are x86_64). */
  architecture: string;
}

/** CRAN's name for a macOS build: big-sur-x86_64, big-sur-arm64 (what R's contrib.url uses). */
export function macosBuild(architecture: string): string {
  return `big-sur-${architecture === 'aarch64' ? 'arm64' : architecture}`;
}

/** Below v3/ and below an upstream's base alike: bin/windows/contrib/4.4, bin/macosx/big-sur-arm64/contrib/4.4. */
export function desktopDir(target: DesktopTarget): string {
  return target.os === 'windows' ? `bin/windows/contrib/${target.rVersion}` : `bin/macosx/${macosBuild(target.architecture)}/contrib/${target.rVersion}`;
}

export function desktopContrib(target: DesktopTarget): string {
  return `${SCHEMA}/${desktopDir(target)}`;
}

/** R's archive extension for the platform's binaries. */
export function desktopExtension(target: DesktopTarget): string {
  return target.os === 'windows' ? '.zip' : '.tgz';
}

export function desktopConfigName(target: DesktopTarget): string {
  return target.os === 'windows' ? `windows-${target.rVersion}` : `macos-${macosBuild(target.architecture)}-${target.rVersion}`;
}

/** A small file placed into the layout from memory: an index, a config file, one airlock writes. */
export interface LayoutFile {
  path: string;
  data: Buffer;
}

/** The index files every package directory holds. */
export const INDEX_FILES = ['PACKAGES', 'PACKAGES.gz'] as const;

/** Binaries for x86_64 keep the seed's plain `<r>-<distribution>` name; other architectures add a suffix. */
export const DEFAULT_ARCHITECTURE = 'x86_64';

export function binaryConfigName(target: BinaryTarget): string {
  const base = `${target.rVersion}-${target.distribution}`;
  return target.architecture === DEFAULT_ARCHITECTURE ? base : `${base}-${target.architecture}`;
}

export function binaryContrib(target: BinaryTarget): string {
  return `bin/${binaryConfigName(target)}/src/contrib`;
}

export function bindexPath(target: BinaryTarget): string {
  return `bindex/${binaryConfigName(target)}.json`;
}

export function biocVersionRoot(version: string): string {
  return `${BIOC_ROOT}/${version}`;
}

export function biocContrib(version: string, repository: BiocRepository): string {
  return `${biocVersionRoot(version)}/${repository}/src/contrib`;
}

export function sysreqsRulePath(name: string): string {
  return `${SYSREQS_RULES_DIR}/${name}`;
}

/**
 * The part of the tree one `get` replaces; everything else is carried over from the
 * previous snapshot, so CRAN and Bioconductor downloads build up one layout, like the
 * seed's destination directory.
 */
/** `sysreqs: false` (--sysreqs-url none): the download leaves sysreqs/ as the last snapshot had it. */
export type Section = ({ kind: 'cran' } | { kind: 'bioconductor'; versions: string[] }) & { sysreqs?: boolean };

export function sectionOwns(section: Section, path: string): boolean {
  if (path.startsWith(`${SYSREQS_ROOT}/`)) return section.sysreqs !== false;
  if (section.kind === 'cran') return ['v3/', 'bin/', 'bindex/', 'distros/'].some((prefix) => path.startsWith(prefix));
  return path === BIOC_CONFIG_PATH || section.versions.some((v) => path.startsWith(`${biocVersionRoot(v)}/`));
}
