import { AirlockError } from '../../errors.js';
import type { Tree, TreeEntry } from '../manifest.js';
import type { ObjectId } from '../objectId.js';
import { SCHEMA } from './rspmLayout.js';

/**
 * Which directories of an rspm-offline-data tree belong to a superseded data schema, and the
 * tree without them (docs/layout.md, "Removing an old schema"). Pure: `airlock prune-schema`
 * records the result as a new snapshot and switches to it like an apply.
 *
 * A schema lives in two places: `v<N>/` (CRAN) and `bioc/v<N>/` (Bioconductor). Keeping
 * schema `v3` removes every `v<N>/` and `bioc/v<N>/` with N < 3 (in practice the seed
 * downloader's `v2/` and `bioc/v2/`); nothing else is ever touched: `v3/`, `bioc/v3/`,
 * `bin/`, `bindex/`, `distros/`, `sysreqs/` and any other name stay as they are.
 */

/** The directories Package Manager reads today; never removed, whatever is asked. */
export const MUST_STAY = [SCHEMA, `bioc/${SCHEMA}`, 'sysreqs', 'bindex', 'bin'] as const;

export interface PrunedDirectory {
  /** `v2` or `bioc/v2` (no trailing slash). */
  path: string;
  files: number;
  /** The sizes of its files added up (what a copy of it would take). */
  bytes: number;
}

export interface SchemaPrunePlan {
  keep: string;
  /** The tree without the removed directories, in manifest order. */
  tree: Tree;
  removed: PrunedDirectory[];
  files: number;
  bytes: number;
  /**
   * Bytes of content only the removed files hold (content also under a kept path, such as
   * the same archive in v2/ and v3/, is not counted): what `airlock gc` can free once no
   * kept deployment shows the old tree.
   */
  unsharedBytes: number;
  /** The schemas removed, for the new snapshot's label: ['v2']. */
  schemas: string[];
}

/** The schema number of `--keep`; only the schema airlock writes (v3) is accepted today. */
export function parseKeptSchema(keep: string): number {
  const current = schemaNumber(SCHEMA)!;
  const wanted = schemaNumber(keep);
  if (wanted === current) return current;
  if (wanted !== undefined && wanted < current) {
    throw new AirlockError('USAGE', `--keep ${keep} would remove ${SCHEMA}/ and bioc/${SCHEMA}/, the schema Package Manager reads; they must stay`, {
      hint: `--keep names the schema to keep, which is ${SCHEMA}: \`--keep ${SCHEMA}\` removes v2/ and bioc/v2/`,
    });
  }
  throw new AirlockError('USAGE', `--keep ${JSON.stringify(keep)} is not a schema airlock knows: the current rspm-offline-data schema is ${SCHEMA}`, {
    hint: `use --keep ${SCHEMA} (it removes the older v2/ and bioc/v2/ and keeps ${MUST_STAY.map((d) => `${d}/`).join(', ')})`,
  });
}

/**
 * Plans the removal of every schema older than `keep` from `tree`. Refuses
 * (`SCHEMA_MISSING`) to remove `v<N>/` from a tree without `v3/`, or `bioc/v<N>/` from one
 * without `bioc/v3/`: that would leave the server without the data, not with a newer copy.
 */
export function planSchemaPrune(tree: Tree, keep: string): SchemaPrunePlan {
  const kept = parseKeptSchema(keep);
  const removed = new Map<string, PrunedDirectory>();
  const keptEntries: TreeEntry[] = [];
  const removedObjects = new Map<ObjectId, number>();
  const keptObjects = new Set<ObjectId>();
  const present = new Set<string>();
  for (const entry of tree.entries) {
    const root = supersededRoot(entry.path, kept);
    const top = entry.path.split('/', 3);
    if (top.length > 1) present.add(top[0]!);
    if (top.length > 2 && top[0] === 'bioc') present.add(`bioc/${top[1]}`);
    if (root === undefined) {
      keptEntries.push(entry);
      keptObjects.add(entry.id);
      continue;
    }
    const dir = removed.get(root) ?? { path: root, files: 0, bytes: 0 };
    dir.files++;
    dir.bytes += entry.size;
    removed.set(root, dir);
    removedObjects.set(entry.id, entry.size);
  }
  for (const dir of removed.keys()) {
    if ((MUST_STAY as readonly string[]).includes(dir)) throw new Error(`schema prune: ${dir} must stay`); // unreachable by construction
    const successor = dir.startsWith('bioc/') ? `bioc/${SCHEMA}` : SCHEMA;
    if (!present.has(successor)) {
      throw new AirlockError('SCHEMA_MISSING', `the current snapshot has ${dir}/ but no ${successor}/: removing ${dir}/ would leave Package Manager without that data`, {
        hint: `apply a snapshot with ${successor}/ first (online: \`airlock get ${successor.startsWith('bioc') ? 'bioconductor' : 'cran'}\`, then bundle and apply it), then prune`,
      });
    }
  }
  const list = [...removed.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let unsharedBytes = 0;
  for (const [id, size] of removedObjects) if (!keptObjects.has(id)) unsharedBytes += size;
  return {
    keep,
    tree: { entries: keptEntries },
    removed: list,
    files: list.reduce((n, d) => n + d.files, 0),
    bytes: list.reduce((n, d) => n + d.bytes, 0),
    unsharedBytes,
    schemas: [...new Set(list.map((d) => d.path.replace(/^bioc\//, '')))].sort((a, b) => schemaNumber(a)! - schemaNumber(b)!),
  };
}

/** The label of the snapshot a prune makes: `<parent label>+pruned-v2` (null when the parent has none). */
export function prunedLabel(parentLabel: string | null, schemas: readonly string[]): string | null {
  return parentLabel === null ? null : `${parentLabel}+pruned-${schemas.join('-')}`;
}

/** `v2` or `bioc/v2` when `path` is a file inside a schema older than `kept`. */
function supersededRoot(path: string, kept: number): string | undefined {
  const parts = path.split('/', 3);
  const top = schemaNumber(parts[0]!);
  if (top !== undefined && top < kept && parts.length > 1) return parts[0];
  if (parts[0] === 'bioc' && parts.length > 2) {
    const bioc = schemaNumber(parts[1]!);
    if (bioc !== undefined && bioc < kept) return `bioc/${parts[1]}`;
  }
  return undefined;
}

function schemaNumber(name: string): number | undefined {
  const m = /^v(0|[1-9][0-9]{0,5})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
