/**
 * R's dependency fields and version order, as R itself reads them: `Depends`, `Imports`,
 * `LinkingTo` and `Suggests` are comma-separated package names, each with an optional
 * constraint in parentheses (`R6 (>= 2.5.0)`); see tools:::.split_dependencies and
 * base::package_version. Pure: the selection and the file readers build on it.
 */

export type Operator = '>=' | '>' | '<=' | '<' | '==' | '!=';

export interface Dependency {
  name: string;
  constraint: { op: Operator; version: string } | null;
}

/** The fields that must be installed for a package to load (install.packages' default). */
export const HARD_DEPENDENCY_FIELDS = ['Depends', 'Imports', 'LinkingTo'] as const;

/** Priority `base`: shipped inside R itself, never in a repository's index. */
export const BASE_PACKAGES: ReadonlySet<string> = new Set([
  'base', 'compiler', 'datasets', 'graphics', 'grDevices', 'grid', 'methods', 'parallel', 'splines', 'stats', 'stats4', 'tcltk', 'tools', 'utils',
]);

/** Priority `recommended`: shipped with most R builds, but also on CRAN. */
export const RECOMMENDED_PACKAGES: ReadonlySet<string> = new Set([
  'boot', 'class', 'cluster', 'codetools', 'foreign', 'KernSmooth', 'lattice', 'MASS', 'Matrix', 'mgcv', 'nlme', 'nnet', 'rpart', 'spatial', 'survival',
]);

const ENTRY = /^([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]|R)\s*(?:\(\s*(>=|<=|==|!=|>|<)\s*([0-9]+(?:[.-][0-9]+)*)\s*\))?$/;

/**
 * Splits a dependency field. An entry R would not read either (a stray word, a broken
 * constraint) is returned in `unreadable`, so the caller can name it rather than drop it.
 */
export function parseDependencyField(value: string | undefined): { dependencies: Dependency[]; unreadable: string[] } {
  const dependencies: Dependency[] = [];
  const unreadable: string[] = [];
  if (value === undefined) return { dependencies, unreadable };
  for (const raw of value.split(',')) {
    const entry = raw.replace(/\s+/g, ' ').trim();
    if (entry === '') continue;
    const match = ENTRY.exec(entry);
    if (!match) {
      unreadable.push(entry);
      continue;
    }
    dependencies.push({ name: match[1]!, constraint: match[2] ? { op: match[2] as Operator, version: match[3]! } : null });
  }
  return { dependencies, unreadable };
}

/** R's package_version order: numeric components split on `.` and `-`, missing ones 0 (1.0 == 1.0.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function satisfies(version: string, constraint: Dependency['constraint']): boolean {
  if (constraint === null) return true;
  const c = compareVersions(version, constraint.version);
  switch (constraint.op) {
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '<':
      return c < 0;
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
  }
}

export function describeDependency(d: Dependency): string {
  return d.constraint ? `${d.name} (${d.constraint.op} ${d.constraint.version})` : d.name;
}
