import { AirlockError } from '../errors.js';

/**
 * Debian Control File records, read the way R's `read.dcf()` reads a CRAN-like
 * PACKAGES index (src/main/dcf.c, do_readDCF, with `fields = NULL` and
 * `keep.white = NULL`, which is what available.packages() uses). Matching R matters:
 * a repository R accepts must not be refused here, and a value must read the same as
 * R reads it, or the packages we mirror would not be the packages R installs.
 *
 * The rules, each checked against R (see test/core/dcf.test.ts, which also runs the
 * real read.dcf when Rscript is available):
 * - Lines end at LF, CRLF or a lone CR (R's connections map CR and CRLF to LF).
 * - A line that is empty or only spaces and tabs is blank: the first blank line after
 *   a record ends it; further blank lines, and blank lines before the first record or
 *   after the last, are ignored. Only space and tab count (R's `^[ \t]*$`), so a line
 *   holding a form feed is not blank.
 * - A line whose first character is `#` is a comment and is ignored anywhere (current
 *   R sources, do_readDCF: `else if(line[0] == '#')`; R 4.2.2, as Debian 12 ships it,
 *   instead reads such a line as a field or calls it malformed. write_PACKAGES never
 *   writes one).
 * - A line starting with a space or tab continues the current field: leading and
 *   trailing spaces and tabs are stripped and it is joined to the value with "\n"
 *   (no "\n" is added when the value so far is empty, as in R). A continuation line
 *   that holds only `.` between whitespace stands for an empty line; like R, such
 *   lines are held back and only written out before the next continuation line, so
 *   trailing `.` lines vanish, and (an R quirk we keep) pending ones carry over to the
 *   next field of the same record if no continuation line follows.
 * - Any other line must be `Tag:value`: the tag is everything before the first colon
 *   (R allows spaces inside it, and keeps them), the value has leading and trailing
 *   spaces and tabs stripped.
 * - A field repeated within one record replaces the earlier value (R overwrites the
 *   matrix cell; later continuation lines extend the new value).
 * - A line with no colon, or starting with a colon, is malformed, and so is a
 *   continuation line at the start of a record: R stops with an error, so do we.
 * - A NUL character is refused: R would silently cut the line short at it, and an
 *   index holding one is damaged, not something to guess about.
 */
export type DcfRecord = Map<string, string>;

/**
 * The 1-based line each record starts on, for error messages further down the line.
 * Kept as a non-enumerable symbol property: invisible to iteration and to equality
 * checks, and (unlike a WeakMap, which tripled parse time on tiny records) free.
 */
const START_LINE = Symbol('dcf record start line');
type LinedRecord = DcfRecord & { readonly [START_LINE]?: number };

/** The line a record returned by parseDcf starts on; undefined for other maps. */
export function dcfRecordLine(record: DcfRecord): number | undefined {
  return (record as LinedRecord)[START_LINE];
}

const SPACE = 0x20;
const TAB = 0x09;

/** R's `[ \f\n\r\t\v]`: the whitespace allowed around an escaped-blank `.` line. */
function isEscapedBlankSpace(code: number): boolean {
  return code === SPACE || (code >= TAB && code <= 0x0d);
}

function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code !== SPACE && code !== TAB) return false;
  }
  return true;
}

/** Index of the first character that is not a space or tab, from `start`. */
function skipSpaceTab(line: string, start: number): number {
  let i = start;
  while (i < line.length && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
  return i;
}

/** `line.slice(start)` without trailing spaces and tabs (R's `[ \t]+$`). */
function sliceTrimEnd(line: string, start: number): string {
  let end = line.length;
  while (end > start && (line.charCodeAt(end - 1) === SPACE || line.charCodeAt(end - 1) === TAB)) end--;
  return line.slice(start, end);
}

/** R's `^[ \f\n\r\t\v]+\.[ \f\n\r\t\v]*$`: a continuation line meaning "empty line". */
function isEscapedBlankLine(line: string): boolean {
  let i = 0;
  while (i < line.length && isEscapedBlankSpace(line.charCodeAt(i))) i++;
  if (i === 0 || line.charCodeAt(i) !== 0x2e /* . */) return false;
  for (i++; i < line.length; i++) if (!isEscapedBlankSpace(line.charCodeAt(i))) return false;
  return true;
}

/** R quotes the first 20 characters of an offending line; so do we. */
function lineStart(line: string): string {
  return line.length > 20 ? `${line.slice(0, 20)}...` : line;
}

function malformed(message: string, where: string, lineNumber: number, hint: string): AirlockError {
  return new AirlockError('UPSTREAM_INDEX_INVALID', message, { where: `${where}:${lineNumber}`, hint });
}

const REPAIR_HINT =
  'the upstream index is damaged or is not a DCF file; fetch it again, and if it stays broken report it to the repository maintainers (R itself cannot read it either)';

/** Parser state between lines: the record being built and the field being continued. */
interface State {
  records: DcfRecord[];
  record: DcfRecord | null;
  field: string | null;
  /** Escaped-blank `.` lines seen but not yet written out (see the module comment). */
  pendingEmptyLines: number;
}

function endRecord(state: State): void {
  if (state.record) state.records.push(state.record);
  state.record = null;
  state.field = null;
  state.pendingEmptyLines = 0;
}

function continueField(state: State, line: string, where: string, lineNumber: number): void {
  const { record, field } = state;
  if (!record || field === null) {
    throw malformed(`continuation line starting '${lineStart(line)}' at the beginning of a record`, where, lineNumber, REPAIR_HINT);
  }
  if (isEscapedBlankLine(line)) {
    state.pendingEmptyLines++;
    return;
  }
  const previous = record.get(field) ?? '';
  const separator = previous.length > 0 ? '\n' : '';
  const empties = '\n'.repeat(state.pendingEmptyLines);
  state.pendingEmptyLines = 0;
  record.set(field, previous + separator + empties + sliceTrimEnd(line, skipSpaceTab(line, 0)));
}

function startField(state: State, line: string, where: string, lineNumber: number): void {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    throw malformed(
      `line starting '${lineStart(line)}' is malformed: expected 'Tag: value', a continuation line starting with a space or tab, or a blank line`,
      where,
      lineNumber,
      REPAIR_HINT,
    );
  }
  if (!state.record) {
    state.record = new Map();
    Object.defineProperty(state.record, START_LINE, { value: lineNumber });
  }
  const tag = line.slice(0, colon);
  state.record.set(tag, sliceTrimEnd(line, skipSpaceTab(line, colon + 1)));
  state.field = tag;
}

function parseLine(state: State, line: string, where: string, lineNumber: number): void {
  if (isBlankLine(line)) {
    endRecord(state);
    return;
  }
  const first = line.charCodeAt(0);
  if (first === 0x23 /* # */) return;
  if (first === SPACE || first === TAB) continueField(state, line, where, lineNumber);
  else startField(state, line, where, lineNumber);
}

/**
 * Parse DCF text into records, in file order; each record maps a tag to its value,
 * in the order the tags first appear. `where` names the source in error messages.
 * Linear in the size of the text: lines are found with indexOf, never with a regex.
 */
export function parseDcf(text: string, where: string): DcfRecord[] {
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const lineNumber = countLines(text, nul);
    throw malformed('the index contains a NUL character', where, lineNumber, REPAIR_HINT);
  }
  const state: State = { records: [], record: null, field: null, pendingEmptyLines: 0 };
  let lineNumber = 0;
  let start = 0;
  // The next LF and CR at or after `start` (-1: none left), each looked up again only
  // once passed: a CR-only file must not rescan for an LF on every line. This keeps
  // the scan linear; a global regex replace of CRLF was several times slower.
  let nextLf = text.indexOf('\n');
  let nextCr = text.indexOf('\r');
  while (start < text.length) {
    if (nextLf >= 0 && nextLf < start) nextLf = text.indexOf('\n', start);
    if (nextCr >= 0 && nextCr < start) nextCr = text.indexOf('\r', start);
    // R's connections end a line at LF, CRLF or a lone CR.
    let end = nextLf < 0 ? text.length : nextLf;
    let next = end + 1;
    if (nextCr >= 0 && nextCr < end) {
      end = nextCr;
      next = text.charCodeAt(nextCr + 1) === 0x0a ? nextCr + 2 : nextCr + 1;
    }
    lineNumber++;
    parseLine(state, text.slice(start, end), where, lineNumber);
    start = next;
  }
  endRecord(state);
  return state.records;
}

/** The 1-based line number of offset `at`, counting LF, CRLF and lone CR as line ends. */
function countLines(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0a) line++;
    else if (code === 0x0d && text.charCodeAt(i + 1) !== 0x0a) line++;
  }
  return line;
}
