/**
 * R's serialization format (version 2, XDR: big-endian), the bytes `saveRDS(x, compress =
 * FALSE)` writes, for the few kinds of value a CRAN repository's metadata needs: character,
 * integer, double and logical vectors, lists, and attributes (names, class, row.names). Pure:
 * gzip and I/O belong to the caller. The layout follows R's src/main/serialize.c:
 *
 *   "X\n" | int 2 (format) | int writer R version | int 2.3.0 (oldest reader)
 *   item: int flags (type | object bit 1<<8 | attributes bit 1<<9 | tag bit 1<<10 | levels<<12), then
 *         the payload; a value with attributes is followed by them as a pairlist
 */
export type RValue =
  | { type: 'character'; values: (string | null)[]; attributes?: RAttributes }
  | { type: 'integer'; values: (number | null)[]; attributes?: RAttributes }
  | { type: 'double'; values: number[]; attributes?: RAttributes }
  | { type: 'logical'; values: (boolean | null)[]; attributes?: RAttributes }
  | { type: 'list'; values: RValue[]; attributes?: RAttributes };

/** Attributes in the order they are written; `class` makes the value an object. */
export type RAttributes = [name: string, value: RValue][];

const SXP = { NIL: 254, SYM: 1, LIST: 2, CHAR: 9, LGL: 10, INT: 13, REAL: 14, STR: 16, VEC: 19 } as const;
const IS_OBJECT = 1 << 8;
const HAS_ATTR = 1 << 9;
const HAS_TAG = 1 << 10;
/** CHARSXP levels: the string's encoding (ASCII, or UTF-8). */
const UTF8_MASK = 1 << 3;
const ASCII_MASK = 1 << 6;
const NA_INTEGER = -2147483648;
/** What R writes as its own version: 4.2.0, the oldest R the tests read these with. */
const WRITER_VERSION = (4 << 16) | (2 << 8) | 0;
const MIN_READER_VERSION = (2 << 16) | (3 << 8) | 0;

export function serializeR(value: RValue): Buffer {
  const out = new Writer();
  out.raw(Buffer.from('X\n', 'latin1'));
  out.int(2);
  out.int(WRITER_VERSION);
  out.int(MIN_READER_VERSION);
  writeItem(out, value);
  return out.result();
}

function writeItem(out: Writer, value: RValue): void {
  const attributes = value.attributes ?? [];
  const object = attributes.some(([name]) => name === 'class') ? IS_OBJECT : 0;
  const flags = (t: number) => t | object | (attributes.length > 0 ? HAS_ATTR : 0);
  switch (value.type) {
    case 'character':
      out.int(flags(SXP.STR));
      out.int(value.values.length);
      for (const s of value.values) writeChar(out, s);
      break;
    case 'integer':
      out.int(flags(SXP.INT));
      out.int(value.values.length);
      for (const n of value.values) out.int(n === null ? NA_INTEGER : n);
      break;
    case 'logical':
      out.int(flags(SXP.LGL));
      out.int(value.values.length);
      for (const b of value.values) out.int(b === null ? NA_INTEGER : b ? 1 : 0);
      break;
    case 'double':
      out.int(flags(SXP.REAL));
      out.int(value.values.length);
      for (const d of value.values) out.double(d);
      break;
    case 'list':
      out.int(flags(SXP.VEC));
      out.int(value.values.length);
      for (const item of value.values) writeItem(out, item);
      break;
  }
  if (attributes.length > 0) writeAttributes(out, attributes);
}

/** A pairlist of tagged values, ended by R_NilValue. */
function writeAttributes(out: Writer, attributes: RAttributes): void {
  for (const [name, value] of attributes) {
    out.int(SXP.LIST | HAS_TAG);
    out.int(SXP.SYM);
    writeChar(out, name);
    writeItem(out, value);
  }
  out.int(SXP.NIL);
}

function writeChar(out: Writer, s: string | null): void {
  if (s === null) {
    out.int(SXP.CHAR);
    out.int(-1);
    return;
  }
  const bytes = Buffer.from(s, 'utf8');
  const ascii = bytes.every((b) => b < 0x80);
  out.int(SXP.CHAR | ((ascii ? ASCII_MASK : UTF8_MASK) << 12));
  out.int(bytes.length);
  out.raw(bytes);
}

class Writer {
  private readonly parts: Buffer[] = [];

  raw(bytes: Buffer): void {
    this.parts.push(bytes);
  }

  int(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
  }

  double(d: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(d);
    this.parts.push(b);
  }

  result(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Helpers for the shapes R's data frames take. */
export const r = {
  character: (values: (string | null)[], attributes?: RAttributes): RValue => ({ type: 'character', values, ...(attributes ? { attributes } : {}) }),
  integer: (values: (number | null)[], attributes?: RAttributes): RValue => ({ type: 'integer', values, ...(attributes ? { attributes } : {}) }),
  double: (values: number[], attributes?: RAttributes): RValue => ({ type: 'double', values, ...(attributes ? { attributes } : {}) }),
  logical: (values: (boolean | null)[], attributes?: RAttributes): RValue => ({ type: 'logical', values, ...(attributes ? { attributes } : {}) }),
  /** A named list. */
  list: (entries: [string, RValue][], attributes: RAttributes = []): RValue => ({
    type: 'list',
    values: entries.map(([, v]) => v),
    attributes: [['names', { type: 'character', values: entries.map(([k]) => k) }], ...attributes],
  }),
  /** A data.frame: named columns of equal length, character row names. */
  dataFrame: (columns: [string, RValue][], rowNames: string[]): RValue =>
    r.list(columns, [
      ['class', { type: 'character', values: ['data.frame'] }],
      ['row.names', { type: 'character', values: rowNames }],
    ]),
};
