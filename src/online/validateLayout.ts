import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AirlockError, isAirlockError } from '../errors.js';
import { parseBiocConfig } from '../core/bioconductorConfig.js';
import { parseDcf } from '../core/dcf.js';
import { archivesInIndex, MAX_INDEX_BYTES } from '../core/packagesIndex.js';
import { forEachConcurrently } from '../core/workerPool.js';
import type { Progress } from '../core/progress.js';
import { BIOC_CONFIG_PATH, BIOC_ROOT, CRAN_CONTRIB, CRAN_SNAPSHOT_PATH, SCHEMA, SCHEMA_MARKER, SYSREQS_RULES_DIR, SYSREQS_SYSTEMS_PATH } from '../core/layout/rspmLayout.js';

/**
 * `validate cran|bioconductor`: is a layout tree complete? Without --packages, the
 * required directories, markers and indexes are present and readable; with it, every
 * archive every PACKAGES index lists exists with the listed size and MD5sum. It reads
 * any tree in the layout (an online view, an offline data dir, a hand-made copy), finds
 * every problem rather than the first, and changes nothing.
 */
export type ValidateKind = 'cran' | 'bioconductor';

export interface ValidateOptions {
  root: string;
  kind: ValidateKind;
  packages: boolean;
  progress: Progress;
}

export interface ValidateReport {
  root: string;
  indexes: number;
  archivesChecked: number;
  problems: string[];
}

/** Archives hashed at once: enough to keep a disk busy. */
const HASH_CONCURRENCY = 4;

export async function validateLayout(options: ValidateOptions): Promise<ValidateReport> {
  const report: ValidateReport = { root: options.root, indexes: 0, archivesChecked: 0, problems: [] };
  const checker = new Checker(options.root, report);
  const contribs = options.kind === 'cran' ? cranContribs(checker) : biocContribs(checker).map((dir) => ({ dir, extension: '.tar.gz' }));
  // A CRAN download made with --sysreqs-url none says so in v3/snapshot.json, and has no rules to check.
  if (!(options.kind === 'cran' && checker.readJson(CRAN_SNAPSHOT_PATH)?.sysreqs === 'none')) {
    checker.requireFile(SYSREQS_SYSTEMS_PATH);
    if (checker.list(SYSREQS_RULES_DIR).filter((n) => n.endsWith('.json')).length === 0) report.problems.push(`${SYSREQS_RULES_DIR}/ holds no rules (*.json)`);
  }
  const listed: { path: string; md5: string | null; size: number | null }[] = [];
  for (const { dir: contrib, extension } of contribs) {
    const archives = checker.readIndex(contrib, extension);
    if (archives === undefined) continue;
    report.indexes++;
    for (const a of archives) listed.push({ path: `${contrib}/${a.path}`, md5: a.md5, size: a.size });
  }
  if (options.packages) {
    options.progress.phase('checking archives', { files: listed.length });
    await forEachConcurrently(listed, HASH_CONCURRENCY, async (archive) => {
      const size = await checker.checkArchive(archive.path, archive.md5, archive.size);
      options.progress.advance(1, size);
    });
    report.archivesChecked = listed.length;
  }
  return report;
}

/** The problems as one error (so the exit status says the tree is incomplete), or nothing. */
export function assertValid(report: ValidateReport, kind: ValidateKind): void {
  if (report.problems.length === 0) return;
  const shown = report.problems.slice(0, 20).map((p) => `  - ${p}`);
  if (report.problems.length > shown.length) shown.push(`  ... and ${report.problems.length - shown.length} more (--json lists all)`);
  throw new AirlockError('LAYOUT_INVALID', `${report.root} is not a complete ${kind} layout: ${report.problems.length} problem(s)\n${shown.join('\n')}`, {
    where: report.root,
    hint: 'on the online side run the same `get` again (it fetches only what is missing); on the offline side re-apply the bundle or roll back with `airlock rollback`',
  });
}

function cranContribs(checker: Checker): { dir: string; extension: string }[] {
  const marker = checker.readText(SCHEMA_MARKER);
  if (marker !== undefined && marker.trim() !== '3') checker.problem(`${SCHEMA_MARKER} says ${JSON.stringify(marker.trim())}, expected "3"`);
  checker.requireFile(CRAN_SNAPSHOT_PATH);
  const contribs = [{ dir: CRAN_CONTRIB, extension: '.tar.gz' }];
  // Windows and macOS binaries, where CRAN keeps them: v3/bin/windows/contrib/<r>, v3/bin/macosx/<build>/contrib/<r>.
  for (const r of checker.list(`${SCHEMA}/bin/windows/contrib`)) contribs.push({ dir: `${SCHEMA}/bin/windows/contrib/${r}`, extension: '.zip' });
  for (const build of checker.list(`${SCHEMA}/bin/macosx`)) {
    for (const r of checker.list(`${SCHEMA}/bin/macosx/${build}/contrib`)) contribs.push({ dir: `${SCHEMA}/bin/macosx/${build}/contrib/${r}`, extension: '.tgz' });
  }
  const indexed = new Set(checker.list('bindex').filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length)));
  const present = new Set(checker.list('bin'));
  for (const name of indexed) if (!present.has(name)) checker.problem(`bindex/${name}.json describes binaries, but bin/${name}/ is missing`);
  for (const name of present) {
    if (!indexed.has(name)) checker.problem(`bin/${name}/ has no bindex/${name}.json`);
    contribs.push({ dir: `bin/${name}/src/contrib`, extension: '.tar.gz' });
  }
  return contribs;
}

function biocContribs(checker: Checker): string[] {
  const config = checker.readText(BIOC_CONFIG_PATH);
  if (config !== undefined) {
    try {
      parseBiocConfig(config, BIOC_CONFIG_PATH);
    } catch (err) {
      checker.problem(isAirlockError(err) ? err.message : `${BIOC_CONFIG_PATH} cannot be read`);
    }
  }
  const versions = checker.list(BIOC_ROOT).filter((n) => /^\d+\.\d+$/.test(n));
  if (versions.length === 0) checker.problem(`${BIOC_ROOT}/ holds no Bioconductor version directory`);
  const contribs: string[] = [];
  for (const version of versions) {
    const text = checker.readText(`${BIOC_ROOT}/${version}/version.json`);
    const repositories = text === undefined ? ['bioc'] : repositoriesOf(text, checker, version);
    for (const repository of repositories) contribs.push(`${BIOC_ROOT}/${version}/${repository}/src/contrib`);
  }
  return contribs;
}

function repositoriesOf(text: string, checker: Checker, version: string): string[] {
  try {
    const value = JSON.parse(text) as { repositories?: unknown };
    if (Array.isArray(value.repositories) && value.repositories.every((r) => typeof r === 'string' && /^[a-z]+(\/[a-z]+)?$/.test(r))) return value.repositories as string[];
  } catch {
    // reported below
  }
  checker.problem(`${BIOC_ROOT}/${version}/version.json is not valid`);
  return ['bioc'];
}

class Checker {
  constructor(
    private readonly root: string,
    private readonly report: ValidateReport,
  ) {}

  problem(message: string): void {
    this.report.problems.push(message);
  }

  list(dir: string): string[] {
    try {
      return fs.readdirSync(join(this.root, dir)).sort();
    } catch {
      return [];
    }
  }

  requireFile(path: string): void {
    if (!isFile(join(this.root, path))) this.problem(`${path} is missing`);
  }

  readText(path: string): string | undefined {
    try {
      return fs.readFileSync(join(this.root, path), 'utf8');
    } catch {
      this.problem(`${path} is missing`);
      return undefined;
    }
  }

  /** A small JSON file, or undefined when it is missing or not an object (requireFile reports absence). */
  readJson(path: string): Record<string, unknown> | undefined {
    try {
      const value = JSON.parse(fs.readFileSync(join(this.root, path), 'utf8')) as unknown;
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The archives a directory's index lists; PACKAGES and PACKAGES.gz must agree when both are there. */
  readIndex(contrib: string, extension: string) {
    const plain = readIfFile(join(this.root, contrib, 'PACKAGES'));
    const gz = readIfFile(join(this.root, contrib, 'PACKAGES.gz'));
    if (plain === undefined && gz === undefined) {
      this.problem(`${contrib}/PACKAGES is missing (R cannot list this repository)`);
      return undefined;
    }
    let text = plain;
    if (gz !== undefined) {
      try {
        const unpacked = gunzipSync(gz, { maxOutputLength: MAX_INDEX_BYTES });
        if (plain !== undefined && !unpacked.equals(plain)) this.problem(`${contrib}/PACKAGES.gz and PACKAGES differ`);
        text ??= unpacked;
      } catch {
        this.problem(`${contrib}/PACKAGES.gz is not a valid gzip file, or unpacks to more than an index can be`);
      }
    }
    if (text === undefined) return undefined;
    try {
      const where = `${contrib}/PACKAGES`;
      return archivesInIndex(parseDcf(text.toString('latin1'), where), where, extension);
    } catch (err) {
      this.problem(isAirlockError(err) ? err.message : `${contrib}/PACKAGES cannot be read`);
      return undefined;
    }
  }

  /** Returns the bytes it read, for progress. */
  async checkArchive(path: string, md5: string | null, size: number | null): Promise<number> {
    const full = join(this.root, path);
    let actualSize: number;
    try {
      actualSize = fs.statSync(full).size;
    } catch {
      this.problem(`${path} is listed in PACKAGES but missing`);
      return 0;
    }
    if (size !== null && size !== actualSize) this.problem(`${path} is ${actualSize} bytes, PACKAGES says ${size}`);
    if (md5 === null) return 0;
    const hash = createHash('md5');
    for await (const chunk of fs.createReadStream(full, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    if (actual !== md5) this.problem(`${path} has MD5 ${actual}, PACKAGES says ${md5}`);
    return actualSize;
  }
}

function isFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

function readIfFile(path: string): Buffer | undefined {
  return isFile(path) ? fs.readFileSync(path) : undefined;
}
