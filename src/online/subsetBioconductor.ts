import { AirlockError } from '../errors.js';
import { count } from '../core/units.js';
import { indexByName, selectPackages, type IndexedPackage } from '../core/packageSelection.js';
import type { Wanted } from './wantedFiles.js';
import { archivedItem, restrictContribIndex, type ContribIndex } from './contribIndex.js';
import type { FetchItem } from './fetchItem.js';
import { byPackageName, type SelectionReport } from './subsetCran.js';

export interface BiocSubset {
  /** Each Bioconductor repository's index, cut down to the selected packages it holds. */
  indexes: ContribIndex[];
  /** CRAN's index cut down to the CRAN packages the selection needs: added to the snapshot's CRAN part. */
  cran: ContribIndex;
  /** renv.lock pins of CRAN versions no longer current, from CRAN's archive. */
  archived: FetchItem[];
  notes: string[];
  report: SelectionReport;
}

/**
 * `get bioconductor --file-in`: the selection is made over what BiocManager sees for each
 * version, its repositories in BiocManager's order and CRAN last (the first that has a package
 * is where it comes from), so a Bioconductor package's CRAN dependencies are found and land in
 * the CRAN part of the same snapshot.
 */
export function subsetBioconductor(wanted: Wanted, byVersion: { version: string; indexes: ContribIndex[] }[], cran: ContribIndex): BiocSubset {
  const notes = [...wanted.notes];
  const keepCran = new Set<string>();
  const archived = new Map<string, FetchItem>();
  const indexes: ContribIndex[] = [];
  const packages = new Map<string, SelectionReport['packages'][number]>();
  const byName = new Map<ContribIndex, Map<string, IndexedPackage>>([[cran, indexByName(cran.records)]]);
  for (const { version, indexes: repos } of byVersion) {
    const home = new Map<string, ContribIndex>();
    const union = new Map<string, IndexedPackage>();
    for (const index of [...repos, cran]) {
      for (const [name, found] of byName.get(index) ?? indexByName(index.records)) {
        if (union.has(name)) continue;
        union.set(name, found);
        home.set(name, index);
      }
    }
    const selection = selectPackages(union, wanted.wants, `Bioconductor ${version} and CRAN`);
    notes.push(...selection.notes);
    for (const p of selection.packages.values()) {
      packages.set(`${p.name} ${p.version}`, p);
      const from = home.get(p.name)!;
      if (p.archived && from !== cran) {
        throw new AirlockError('DEPENDENCY_UNSATISFIED', `${p.name} ${p.version} is pinned, but Bioconductor ${version} has ${union.get(p.name)!.version} and keeps no archive of earlier versions`, {
          hint: 'pin the version that Bioconductor release has, or download the Bioconductor version the lockfile was made with (--versions)',
        });
      }
      if (from !== cran) continue;
      if (!p.archived) keepCran.add(p.name);
      else {
        const item = archivedItem(cran, p.name, p.version);
        archived.set(item.path, item);
      }
    }
    for (const repo of repos) indexes.push(restrictContribIndex(repo, (name) => home.get(name) === repo && selection.packages.get(name)?.archived === false));
  }
  if (keepCran.size > 0) notes.push(`${count(keepCran.size, 'CRAN package')} the selection needs ${keepCran.size === 1 ? 'is' : 'are'} added to the snapshot's CRAN part (v3/src/contrib)`);
  return {
    indexes,
    cran: restrictContribIndex(cran, (name) => keepCran.has(name)),
    archived: [...archived.values()],
    notes,
    report: { files: wanted.files, packages: [...packages.values()].sort(byPackageName) },
  };
}
