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

const REF = 255;
const MAX_DEPTH = 64;

export class RdsFormatError extends Error {}

/**
 * Reads what `saveRDS()` writes once it is gunzipped (XDR, format 2 or 3), for the same
 * kinds of value `serializeR` writes: vectors, lists, attributes, and the symbols and
 * references R uses for attribute names. Anything else (closures, environments, long
 * vectors, ALTREP) is refused: a repository's metadata never holds them. Every length is
 * checked against the bytes left before anything is allocated, so a hostile file cannot
 * make it allocate more than its own size.
 */
export function deserializeR(bytes: Uint8Array): RValue {
  const reader = new Reader(bytes);
  if (reader.text(2) !== 'X\n') throw new RdsFormatError('not R serialization in XDR format (saveRDS output, gunzipped)');
  const version = reader.int();
  if (version !== 2 && version !== 3) throw new RdsFormatError(`serialization format ${version} is not 2 or 3`);
  reader.int();
  reader.int();
  if (version === 3) reader.text(reader.length(1));
  const value = reader.item(0);
  if (value === null || 'symbol' in value) throw new RdsFormatError('the file holds no vector or list');
  return value;
}

type Item = RValue | { symbol: string } | null;

class Reader {
  private offset = 0;
  private readonly refs: { symbol: string }[] = [];
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.offset) throw new RdsFormatError(`the data ends early, at byte ${this.offset}`);
  }

  int(): number {
    this.need(4);
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  text(n: number): string {
    this.need(n);
    const s = Buffer.from(this.bytes.subarray(this.offset, this.offset + n)).toString('utf8');
    this.offset += n;
    return s;
  }

  /** A length, checked against the bytes left (each element takes at least `elementBytes`). */
  length(elementBytes: number): number {
    const n = this.int();
    if (n < 0) throw new RdsFormatError(`a negative or long-vector length at byte ${this.offset - 4}`);
    this.need(n * elementBytes);
    return n;
  }

  item(depth: number): Item {
    if (depth > MAX_DEPTH) throw new RdsFormatError(`values nested deeper than ${MAX_DEPTH}`);
    const flags = this.int();
    const type = flags & 0xff;
    const hasAttr = (flags & HAS_ATTR) !== 0;
    switch (type) {
      case SXP.NIL:
        return null;
      case REF: {
        const index = flags >> 8 || this.int();
        const ref = this.refs[index - 1];
        if (!ref) throw new RdsFormatError(`a reference to unknown item ${index}`);
        return ref;
      }
      case SXP.SYM: {
        const name = this.charsxp();
        const symbol = { symbol: name ?? 'NA' };
        this.refs.push(symbol);
        return symbol;
      }
      case SXP.LIST:
        throw new RdsFormatError('a pairlist where a value was expected');
      case SXP.STR: {
        const n = this.length(8);
        const values: (string | null)[] = [];
        for (let i = 0; i < n; i++) values.push(this.charsxp());
        return this.withAttributes({ type: 'character', values }, hasAttr, depth);
      }
      case SXP.LGL:
      case SXP.INT: {
        const n = this.length(4);
        const raw: number[] = [];
        for (let i = 0; i < n; i++) raw.push(this.int());
        if (type === SXP.INT) return this.withAttributes({ type: 'integer', values: raw.map((v) => (v === NA_INTEGER ? null : v)) }, hasAttr, depth);
        return this.withAttributes({ type: 'logical', values: raw.map((v) => (v === NA_INTEGER ? null : v !== 0)) }, hasAttr, depth);
      }
      case SXP.REAL: {
        const n = this.length(8);
        const values: number[] = [];
        for (let i = 0; i < n; i++) {
          values.push(this.view.getFloat64(this.offset));
          this.offset += 8;
        }
        return this.withAttributes({ type: 'double', values }, hasAttr, depth);
      }
      case SXP.VEC: {
        const n = this.length(4);
        const values: RValue[] = [];
        for (let i = 0; i < n; i++) {
          const element = this.item(depth + 1);
          if (element === null || 'symbol' in element) throw new RdsFormatError('a list element that is not a value');
          values.push(element);
        }
        return this.withAttributes({ type: 'list', values }, hasAttr, depth);
      }
      default:
        throw new RdsFormatError(`R type ${type} is not one a repository's metadata holds`);
    }
  }

  private charsxp(): string | null {
    const flags = this.int();
    if ((flags & 0xff) !== SXP.CHAR) throw new RdsFormatError(`a string element of type ${flags & 0xff}`);
    const n = this.int();
    if (n === -1) return null;
    if (n < 0) throw new RdsFormatError('a negative string length');
    this.need(n);
    const bytes = Buffer.from(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    // Latin-1 strings are flagged as such; everything else a repository writes is ASCII or UTF-8.
    return bytes.toString((flags >> 12) & (1 << 2) ? 'latin1' : 'utf8');
  }

  /** The attribute pairlist after a vector: tagged values, ended by R_NilValue. */
  private withAttributes(value: RValue, hasAttr: boolean, depth: number): RValue {
    if (!hasAttr) return value;
    const attributes: RAttributes = [];
    for (;;) {
      const flags = this.int();
      if ((flags & 0xff) === SXP.NIL) break;
      if ((flags & 0xff) !== SXP.LIST || (flags & HAS_TAG) === 0) throw new RdsFormatError('attributes that are not a tagged pairlist');
      if (flags & HAS_ATTR) throw new RdsFormatError('attributes on an attribute pairlist');
      const tag = this.item(depth + 1);
      if (tag === null || !('symbol' in tag)) throw new RdsFormatError('an attribute whose name is not a symbol');
      const attribute = this.item(depth + 1);
      if (attribute === null || 'symbol' in attribute) throw new RdsFormatError(`attribute ${tag.symbol} is not a value`);
      attributes.push([tag.symbol, attribute]);
    }
    return { ...value, attributes };
  }
}
