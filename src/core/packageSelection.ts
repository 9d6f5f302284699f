import { AirlockError } from '../errors.js';
import type { DcfRecord } from './dcf.js';
import {
  BASE_PACKAGES,
  compareVersions,
  describeDependency,
  HARD_DEPENDENCY_FIELDS,
  parseDependencyField,
  RECOMMENDED_PACKAGES,
  satisfies,
  type Dependency,
} from './rDependencies.js';
import type { Want } from './wantedPackages.js';

/**
 * The packages a site asked for and everything they need, as R's installer sees it:
 * `tools::package_dependencies(recursive = TRUE)` over `Depends`, `Imports` and
 * `LinkingTo`, with every version constraint checked against what the index offers.
 * `--suggests` adds the `Suggests` of the wanted packages, not of their dependencies
 * (`install.packages(dependencies = TRUE)`), and what those need in turn.
 */
export interface IndexedPackage {
  name: string;
  version: string;
  record: DcfRecord;
}

export interface SelectedPackage {
  name: string;
  /** The version fetched: the index's, or an older one an renv.lock pins (from the archive). */
  version: string;
  /** The version is not the index's current one: it comes from the upstream's archive. */
  archived: boolean;
  /** Why it is in: 'listed', or the package that needs or suggests it. */
  reason: string;
}

export interface Selection {
  packages: Map<string, SelectedPackage>;
  notes: string[];
}

/** Highest version per name, as available.packages' duplicates filter keeps it. */
export function indexByName(records: readonly DcfRecord[]): Map<string, IndexedPackage> {
  const byName = new Map<string, IndexedPackage>();
  for (const record of records) {
    const name = record.get('Package');
    const version = record.get('Version');
    if (name === undefined || version === undefined) continue;
    const seen = byName.get(name);
    if (seen === undefined || compareVersions(version, seen.version) > 0) byName.set(name, { name, version, record });
  }
  return byName;
}

interface Step {
  want: Dependency;
  optional: boolean;
  /** The names (with their constraints) that led here, the listed package first. */
  chain: string[];
  /** Its Suggests are wanted too (--suggests, on a listed package). */
  suggests: boolean;
  reason: string;
}

export function selectPackages(index: ReadonlyMap<string, IndexedPackage>, wants: readonly Want[], where: string): Selection {
  const packages = new Map<string, SelectedPackage>();
  const notes = new Set<string>();
  const queue: Step[] = wants.map((w) => ({ want: { name: w.name, constraint: w.constraint }, optional: w.optional, chain: [], suggests: w.suggests, reason: 'listed' }));
  for (let i = 0; i < queue.length; i++) {
    const step = queue[i]!;
    const { name } = step.want;
    if (BASE_PACKAGES.has(name) || name === 'R') continue;
    const chain = [...step.chain, describeDependency(step.want)];
    const found = index.get(name);
    if (found === undefined) {
      if (step.optional) notes.add(`${name}, suggested by ${step.chain.at(-1) ?? 'the list'}, is not in ${where}; skipped (install.packages skips it too)`);
      else if (RECOMMENDED_PACKAGES.has(name)) notes.add(`${name} (a recommended package, shipped with most R builds) is not in ${where}; R uses the copy it has`);
      else throw unsatisfied(`${chain.join(' -> ')}: not in ${where}`, where);
      continue;
    }
    const pinned = step.want.constraint?.op === '==' && step.reason === 'listed' ? step.want.constraint.version : undefined;
    const selected = packages.get(name);
    if (pinned !== undefined && compareVersions(pinned, found.version) !== 0) {
      // An renv.lock pin of a version that is no longer current: the archive has it.
      if (selected === undefined || !selected.archived) packages.set(name, { name, version: pinned, archived: true, reason: step.reason });
      notes.add(`${name} ${pinned} is pinned; the index has ${found.version}, so ${pinned} comes from the archive (its dependencies are taken from the lockfile)`);
      continue;
    }
    if (!satisfies(selected?.archived ? selected.version : found.version, step.want.constraint)) {
      const have = selected?.archived ? `${selected.version} (pinned)` : found.version;
      if (step.optional) notes.add(`${chain.join(' -> ')}: ${where} has ${have}; skipped`);
      else throw unsatisfied(`${chain.join(' -> ')}: ${where} has ${have}`, where);
      continue;
    }
    if (selected !== undefined) continue;
    packages.set(name, { name, version: found.version, archived: false, reason: step.reason });
    const fields: [string, boolean][] = HARD_DEPENDENCY_FIELDS.map((f) => [f, false]);
    if (step.suggests) fields.push(['Suggests', true]);
    for (const [field, optional] of fields) {
      const { dependencies } = parseDependencyField(found.record.get(field));
      for (const want of dependencies) {
        queue.push({ want, optional, chain, suggests: false, reason: `${optional ? 'suggested' : 'needed'} by ${name}` });
      }
    }
  }
  return { packages, notes: [...notes] };
}

function unsatisfied(message: string, where: string): AirlockError {
  return new AirlockError('DEPENDENCY_UNSATISFIED', message, {
    where,
    hint: 'nothing was downloaded or recorded; check the package name and version in the list, or download from an upstream that has it',
  });
}
