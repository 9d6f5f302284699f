import { comparePaths } from '../core/paths.js';
import { count } from '../core/units.js';
import { indexByName, selectPackages, type SelectedPackage } from '../core/packageSelection.js';
import type { Wanted } from './wantedFiles.js';
import { archivedItem, restrictContribIndex, type ContribIndex } from './contribIndex.js';
import type { FetchItem } from './fetchItem.js';

/** The selection's order in reports: by name, as R lists packages in the C locale. */
export function byPackageName(a: { name: string }, b: { name: string }): number {
  return comparePaths(a.name, b.name);
}

/** What `--file-in` selected, for the summary and `--dryrun --verbose`. */
export interface SelectionReport {
  files: Wanted['files'];
  packages: SelectedPackage[];
}

export interface CranSubset {
  source: ContribIndex;
  binaries: ContribIndex[];
  /** Versions an renv.lock pins that are no longer current: fetched from the upstream's archive. */
  archived: FetchItem[];
  notes: string[];
  report: SelectionReport;
}

/**
 * Cuts a CRAN download down to what the `--file-in` files need: the selection is made on
 * the source index (R resolves dependencies there), and the same packages are kept in every
 * binary configuration, where a package without a binary is a note (R installs it from source).
 */
export function subsetCran(wanted: Wanted, source: ContribIndex, binaries: { name: string; index: ContribIndex }[]): CranSubset {
  const notes = [...wanted.notes];
  const cranWants = wanted.wants.filter((w) => {
    if (w.bioconductor) notes.push(`${w.name} is a Bioconductor package: \`get bioconductor --file-in\` downloads it`);
    return !w.bioconductor;
  });
  const selection = selectPackages(indexByName(source.records), cranWants, `${source.contribUrl}/PACKAGES`);
  notes.push(...selection.notes);
  const current = (name: string) => selection.packages.get(name)?.archived === false;
  const archived = [...selection.packages.values()].filter((p) => p.archived);
  const subsetBinaries = binaries.map(({ name, index }) => {
    const kept = restrictContribIndex(index, current);
    const have = new Set(kept.archives.map((a) => a.name));
    const lacking = [...selection.packages.values()].filter((p) => !p.archived && !have.has(p.name)).map((p) => p.name);
    if (lacking.length > 0) notes.push(`no ${name} binary for ${count(lacking.length, 'selected package')} (${lacking.slice(0, 10).join(', ')}${lacking.length > 10 ? ', ...' : ''}): R installs ${lacking.length === 1 ? 'it' : 'them'} from source`);
    return kept;
  });
  return {
    source: restrictContribIndex(source, current),
    binaries: subsetBinaries,
    archived: archived.map((p) => archivedItem(source, p.name, p.version)),
    notes,
    report: { files: wanted.files, packages: [...selection.packages.values()].sort(byPackageName) },
  };
}
