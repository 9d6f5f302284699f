import { AirlockError } from '../errors.js';
import { dcfRecordLine, type DcfRecord } from './dcf.js';

/**
 * CRAN's PACKAGES is about 12 MB; an index past this (five times that, with room for growth)
 * is refused, compressed or unpacked, before it can take memory: a 520 KB PACKAGES.gz can
 * inflate to 512 MiB.
 */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
import { comparePaths, pathProblem } from './paths.js';

/**
 * The package archives a PACKAGES index lists, i.e. the files R would download for
 * it. Names follow R's utils::download.packages(): the archive is `File` when the
 * record has one, else `<Package>_<Version><ext>`; and utils::available.packages():
 * a `Path` field (written by tools::write_PACKAGES(subdirs = TRUE)) is a directory
 * under the repository that holds the archive.
 */
export interface IndexedArchive {
  name: string;
  version: string;
  /** Relative to src/contrib, e.g. 'abc_1.0.tar.gz', or 'sub/abc_1.0.tar.gz' with a Path field. */
  path: string;
  /** Lower-case hex, from the MD5sum field. */
  md5: string | null;
  /** Bytes, from the Size field (written by newer write_PACKAGES and by some mirrors). */
  size: number | null;
}

// R's own rules, base:::.standard_regexps()$valid_package_name and
// $valid_package_version, anchored; ASCII classes since R checks in the C locale.
export const PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$/;
export const PACKAGE_VERSION = /^[0-9]+(?:[.-][0-9]+)+$/;
const MD5 = /^[0-9A-Fa-f]{32}$/;
const SIZE = /^[0-9]+$/;

const INDEX_HINT =
  'the upstream PACKAGES index is damaged or was written by a broken tool; fetch it again, and if it stays wrong report it to the repository maintainers';

/** Names one record in errors: its line when known, its number, its package. */
function recordWhere(where: string, record: DcfRecord, index: number): string {
  const line = dcfRecordLine(record);
  const pkg = record.get('Package');
  const at = line === undefined ? where : `${where}:${line}`;
  return `${at} (record ${index + 1}${pkg === undefined ? '' : `, Package: ${pkg}`})`;
}

function invalid(message: string, where: string): AirlockError {
  return new AirlockError('UPSTREAM_INDEX_INVALID', message, { where, hint: INDEX_HINT });
}

function requiredField(record: DcfRecord, field: string, at: string): string {
  const value = record.get(field);
  if (value === undefined || value === '') throw invalid(`the record has no ${field} field`, at);
  return value;
}

function archivePath(record: DcfRecord, name: string, version: string, extension: string, at: string): string {
  const file = record.get('File') ?? `${name}_${version}${extension}`;
  const directory = record.get('Path');
  const path = directory === undefined ? file : `${directory}/${file}`;
  const problem = pathProblem(path);
  if (problem !== undefined) throw invalid(`the archive path '${path}' is unsafe: ${problem}`, at);
  return path;
}

function md5Of(record: DcfRecord, at: string): string | null {
  const value = record.get('MD5sum');
  if (value === undefined) return null;
  if (!MD5.test(value)) throw invalid(`MD5sum '${value}' is not 32 hexadecimal digits`, at);
  return value.toLowerCase();
}

function sizeOf(record: DcfRecord, at: string): number | null {
  const value = record.get('Size');
  if (value === undefined) return null;
  const size = Number(value);
  if (!SIZE.test(value) || !Number.isSafeInteger(size)) throw invalid(`Size '${value}' is not a non-negative integer`, at);
  return size;
}

function archiveOf(record: DcfRecord, index: number, where: string, extension: string): IndexedArchive {
  const at = recordWhere(where, record, index);
  const name = requiredField(record, 'Package', at);
  if (!PACKAGE_NAME.test(name)) throw invalid(`'${name}' is not a valid R package name`, at);
  const version = requiredField(record, 'Version', at);
  if (!PACKAGE_VERSION.test(version)) throw invalid(`'${version}' is not a valid R package version (of package ${name})`, at);
  return { name, version, path: archivePath(record, name, version, extension, at), md5: md5Of(record, at), size: sizeOf(record, at) };
}

function sameRecord(a: DcfRecord, b: DcfRecord): boolean {
  if (a.size !== b.size) return false;
  for (const [tag, value] of a) if (b.get(tag) !== value) return false;
  return true;
}

/**
 * Every archive the index lists, sorted by path (UTF-8 byte order) so the result does
 * not depend on upstream record order. A record repeated word for word is listed once
 * (a harmless upstream hiccup); two different records for the same archive file, or
 * for the same package version at the same path, are refused: we could not tell
 * which one R would use, nor which checksum to trust.
 */
export function archivesInIndex(records: DcfRecord[], where: string, extension = '.tar.gz'): IndexedArchive[] {
  const byPath = new Map<string, { archive: IndexedArchive; record: DcfRecord; index: number }>();
  records.forEach((record, index) => {
    const archive = archiveOf(record, index, where, extension);
    const seen = byPath.get(archive.path);
    if (seen === undefined) {
      byPath.set(archive.path, { archive, record, index });
      return;
    }
    if (sameRecord(seen.record, record)) return;
    const what = seen.archive.name === archive.name && seen.archive.version === archive.version ? `${archive.name} ${archive.version}` : `'${archive.path}'`;
    throw invalid(
      `records ${seen.index + 1} and ${index + 1} both describe ${what} (archive '${archive.path}') but differ`,
      recordWhere(where, record, index),
    );
  });
  return [...byPath.values()].map((entry) => entry.archive).sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * The index cut down to some of its packages, each kept record copied byte for byte (so its
 * MD5sum and every other field still hold, and R reads exactly the subset). Records are found
 * by the lines parseDcf says they start on; a record's trailing blank lines are dropped.
 */
export function subsetIndex(text: string, records: readonly DcfRecord[], keep: (record: DcfRecord) => boolean): string {
  const raw = recordTexts(text, records);
  return joinRecords(records.flatMap((record, i) => (keep(record) ? [raw[i]!] : [])));
}

/**
 * An index with records added: each replaces the record of the same package, in its place,
 * and the others follow at the end, all byte for byte. For a download that adds the CRAN
 * packages a Bioconductor selection needs to a CRAN part that may already hold some of them.
 */
export function mergeIndex(base: { text: string; records: readonly DcfRecord[] }, added: { text: string; records: readonly DcfRecord[] }): string {
  const addedRaw = recordTexts(added.text, added.records);
  const byName = new Map(added.records.map((r, i) => [r.get('Package'), addedRaw[i]!] as const));
  const baseRaw = recordTexts(base.text, base.records);
  const out = base.records.map((r, i) => {
    const replacement = byName.get(r.get('Package'));
    byName.delete(r.get('Package'));
    return replacement ?? baseRaw[i]!;
  });
  return joinRecords([...out, ...byName.values()]);
}

function joinRecords(records: string[]): string {
  return records.length === 0 ? '' : `${records.join('\n\n')}\n`;
}

/** Each record's own lines, as written, by the lines parseDcf says they start on; trailing blank lines dropped. */
function recordTexts(text: string, records: readonly DcfRecord[]): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  const starts = records.map((r) => dcfRecordLine(r));
  return records.map((_, i) => {
    const start = starts[i];
    if (start === undefined) throw new Error('recordTexts needs the records parseDcf returned for this text');
    let end = i + 1 < starts.length ? starts[i + 1]! - 1 : lines.length;
    while (end > start && lines[end - 1]!.trim() === '') end--;
    return lines.slice(start - 1, end).join('\n');
  });
}
