import { AirlockError } from '../errors.js';
import { parseDcf } from './dcf.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './packagesIndex.js';
import { HARD_DEPENDENCY_FIELDS, parseDependencyField, type Dependency } from './rDependencies.js';

/**
 * What `--file-in` asks for, read from one of the three files R users already have: a plain
 * list (one package per line, `#` comments), an `renv.lock`, or a package's `DESCRIPTION`.
 * Which one is told from the content, not the file name.
 */
export type WantedKind = 'package list' | 'renv.lock' | 'DESCRIPTION';

export interface Want {
  name: string;
  /** A version constraint from a DESCRIPTION (`cli (>= 3.4.0)`), or the exact version an renv.lock pins (`==`). */
  constraint: Dependency['constraint'];
  /** Pulled in through --suggests: missing upstream is a note, not an error (install.packages skips it too). */
  optional: boolean;
  /** With --suggests, this package's own Suggests are wanted too (a list's or lockfile's entries; not a DESCRIPTION's dependencies). */
  suggests: boolean;
  /** An renv.lock entry from Bioconductor: `get bioconductor` fetches it, `get cran` notes it. */
  bioconductor?: boolean;
}

export interface WantedFile {
  kind: WantedKind;
  wants: Want[];
  /** Things the admin should know (lockfile entries from GitHub, unreadable lines). */
  notes: string[];
}

export function parseWantedFile(text: string, where: string, options: { suggests: boolean }): WantedFile {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{')) return parseRenvLock(trimmed, where, options);
  if (/^Package:/m.test(trimmed) && /^[A-Za-z][A-Za-z0-9.]*:/.test(trimmed)) return parseDescription(trimmed, where, options);
  return parseList(trimmed, where, options);
}

function refuse(message: string, where: string, hint: string): AirlockError {
  return new AirlockError('USAGE', message, { where, hint });
}

function parseList(text: string, where: string, options: { suggests: boolean }): WantedFile {
  const wants: Want[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const content = line.replace(/#.*$/, '').trim();
    if (content === '') return;
    for (const name of content.split(/[\s,]+/).filter((n) => n !== '')) {
      if (!PACKAGE_NAME.test(name)) {
        throw refuse(`line ${i + 1} names '${name}', which is not an R package name`, `${where}:${i + 1}`, 'a package list has one package name per line; `#` starts a comment');
      }
      wants.push({ name, constraint: null, optional: false, suggests: options.suggests });
    }
  });
  if (wants.length === 0) throw refuse('the package list names no package', where, 'one package name per line, for example `desc`');
  return { kind: 'package list', wants, notes: [] };
}

function parseDescription(text: string, where: string, options: { suggests: boolean }): WantedFile {
  const [record] = parseDcf(text, where);
  if (record === undefined) throw refuse('the DESCRIPTION file is empty', where, 'give the DESCRIPTION of an R package');
  const wants: Want[] = [];
  const notes: string[] = [];
  const fields: [string, boolean][] = [...HARD_DEPENDENCY_FIELDS.map((f): [string, boolean] => [f, false]), ...(options.suggests ? [['Suggests', true] as [string, boolean]] : [])];
  for (const [field, optional] of fields) {
    const { dependencies, unreadable } = parseDependencyField(record.get(field));
    for (const entry of unreadable) notes.push(`${where}: ${field} entry '${entry}' is not a package R could read; skipped`);
    for (const d of dependencies) if (d.name !== 'R') wants.push({ name: d.name, constraint: d.constraint, optional, suggests: false });
  }
  if (wants.length === 0) throw refuse(`the DESCRIPTION of ${record.get('Package') ?? 'this package'} depends on no package`, where, 'nothing to download for it; give a package list instead');
  return { kind: 'DESCRIPTION', wants, notes };
}

interface LockedPackage {
  Package?: unknown;
  Version?: unknown;
  Source?: unknown;
}

function parseRenvLock(text: string, where: string, options: { suggests: boolean }): WantedFile {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch (err) {
    throw refuse(`the file looks like an renv.lock but is not valid JSON (${(err as Error).message})`, where, 'give the renv.lock as renv wrote it');
  }
  const packages = (lock as { Packages?: unknown }).Packages;
  if (typeof packages !== 'object' || packages === null || Array.isArray(packages)) {
    throw refuse('the renv.lock has no "Packages" object', where, 'give the renv.lock as renv wrote it');
  }
  const wants: Want[] = [];
  const notes: string[] = [];
  for (const [key, value] of Object.entries(packages as Record<string, LockedPackage>)) {
    const name = typeof value?.Package === 'string' ? value.Package : key;
    const version = value?.Version;
    if (!PACKAGE_NAME.test(name) || typeof version !== 'string' || !PACKAGE_VERSION.test(version)) {
      throw refuse(`the renv.lock entry '${key}' has no valid Package and Version`, where, 'give the renv.lock as renv wrote it');
    }
    const source = typeof value.Source === 'string' ? value.Source : 'Repository';
    if (!['Repository', 'CRAN', 'Bioconductor'].includes(source)) {
      notes.push(`${name} ${version} comes from ${source}, not a package repository; it is not downloaded`);
      continue;
    }
    wants.push({ name, constraint: { op: '==', version }, optional: false, suggests: options.suggests, ...(source === 'Bioconductor' ? { bioconductor: true } : {}) });
  }
  return { kind: 'renv.lock', wants, notes };
}
