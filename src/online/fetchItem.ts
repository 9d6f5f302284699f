/**
 * One file to bring into a snapshot: where it goes in the layout, where it comes from,
 * and what the upstream promised about its bytes (an MD5sum from PACKAGES, a git blob id
 * and size from the sysreqs listing, a Size field where PACKAGES has one). The promise is checked on every download and is
 * also the key under which a later run finds the bytes already stored.
 */
export interface Expected {
  md5: string | null;
  /** A `Size` field, where the index has one. */
  size: number | null;
  gitBlob: { sha: string; size: number } | null;
  /**
   * For a file the upstream lists with no checksum (CRAN's archive): a gzip tar whose
   * DESCRIPTION names this package and version.
   */
  rPackage?: { name: string; version: string };
}

export interface FetchItem {
  path: string;
  url: string;
  userAgent: string;
  expected: Expected;
}

export function ledgerKey(expected: Expected): string | null {
  if (expected.md5 !== null) return `md5:${expected.md5}`;
  if (expected.gitBlob !== null) return `git:${expected.gitBlob.sha}`;
  // Archived versions never change upstream: one that arrived and checked out is kept.
  if (expected.rPackage) return `rpkg:${expected.rPackage.name}_${expected.rPackage.version}`;
  return null;
}
