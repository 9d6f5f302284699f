import type { ObjectId } from './objectId.js';

/** What TreeObjects needs of a tree's entries. */
export interface ObjectEntry {
  readonly id: ObjectId;
  readonly size: number;
}

/** Hex digits of an id's start that make its key (28 bits: a small integer in V8). */
const KEY_HEX_DIGITS = 7;
/**
 * Slots a look may pass before the table gives way to a Map. Honest ids (BLAKE3) fill the
 * table at most half, where runs this long do not happen; a hostile manifest whose ids share
 * their first digits would make every look pass all the others (quadratic: hours at a
 * million rows), so from the first such run on, a Map (whose string hash V8 seeds per process)
 * takes over, at the cost of the old way.
 */
const MAX_PROBES = 64;

/**
 * The distinct objects of a tree's entries, each once with its size, in the order of first
 * appearance: what validation checks sizes against, what a full bundle carries and what its
 * reader expects. A read-only Map of id to size, built from the entries in place: an
 * open-addressing table of entry numbers, keyed by the first 28 bits of each id (honest ids
 * are BLAKE3, so those bits are spread evenly), in typed arrays sized once from the entry
 * count. An id is compared in full only where those bits match. At a million entries a
 * Map of the ids took 0.85 s (growing, and a few cache misses per look) and several times
 * the memory; this takes about 0.3 s and 20 MB, and holds no string of its own. Ids crafted
 * to share their first digits make it fall back to a Map (MAX_PROBES).
 *
 * Ids must be lowercase hex (validation checks them first); an id looked up that is not
 * (from a bundle's entry names) is simply not found.
 */
export class TreeObjects implements ReadonlyMap<ObjectId, number> {
  /** The ordinal of the object held in each slot (its place in `order`), or -1 for an empty slot. */
  private readonly slots: Int32Array;
  /** The key of the id in each slot, so most slots are passed over without reading an entry. */
  private readonly slotKeys: Int32Array;
  private readonly mask: number;
  /** Entry numbers of the distinct objects, in the order they first appear. */
  private readonly order: Int32Array;
  private count = 0;
  /** Ordinals by id, once a look ran past MAX_PROBES (crafted ids): the table is no longer used. */
  private byId: Map<ObjectId, number> | undefined;

  constructor(private readonly rows: readonly ObjectEntry[]) {
    let slots = 16;
    while (slots < rows.length * 2) slots *= 2;
    this.slots = new Int32Array(slots).fill(-1);
    this.slotKeys = new Int32Array(slots);
    this.mask = slots - 1;
    this.order = new Int32Array(rows.length);
  }

  /** Every entry's object, counted once; another size for the same object is ignored (validateTree refuses it). */
  static of(entries: readonly ObjectEntry[]): TreeObjects {
    const objects = new TreeObjects(entries);
    for (let i = 0; i < entries.length; i++) objects.add(i);
    return objects;
  }

  /**
   * Counts entry `index`'s object (entries are added in order, each once). Returns the number
   * of the entry that first named the same object with another size, or -1.
   */
  add(index: number): number {
    const entry = this.rows[index]!;
    if (this.byId) return this.addById(index, entry);
    const key = keyOf(entry.id);
    for (let slot = key & this.mask, probes = 0; ; slot = (slot + 1) & this.mask) {
      const ordinal = this.slots[slot]!;
      if (ordinal === -1) {
        this.slots[slot] = this.count;
        this.slotKeys[slot] = key;
        this.order[this.count++] = index;
        return -1;
      }
      if (this.slotKeys[slot] === key) {
        const at = this.order[ordinal]!;
        const first = this.rows[at]!;
        if (first.id === entry.id) return first.size === entry.size ? -1 : at;
      }
      if (++probes > MAX_PROBES) {
        this.byId = new Map();
        for (let k = 0; k < this.count; k++) this.byId.set(this.rows[this.order[k]!]!.id, k);
        return this.addById(index, entry);
      }
    }
  }

  /** Whether crafted ids made the table give way to a Map (MAX_PROBES). */
  get fellBack(): boolean {
    return this.byId !== undefined;
  }

  private addById(index: number, entry: ObjectEntry): number {
    const ordinal = this.byId!.get(entry.id);
    if (ordinal === undefined) {
      this.byId!.set(entry.id, this.count);
      this.order[this.count++] = index;
      return -1;
    }
    const at = this.order[ordinal]!;
    return this.rows[at]!.size === entry.size ? -1 : at;
  }

  get size(): number {
    return this.count;
  }

  get(id: ObjectId): number | undefined {
    const ordinal = this.ordinal(id);
    return ordinal === -1 ? undefined : this.sizeAt(ordinal);
  }

  has(id: ObjectId): boolean {
    return this.ordinal(id) !== -1;
  }

  /**
   * The object's place among the distinct objects (0 to size - 1, in order of first
   * appearance), or -1 when the tree does not name it: a reader marks what it has seen in
   * a byte per object instead of a set of ids (at a million objects, 1 MB against 100).
   */
  ordinal(id: ObjectId): number {
    if (this.byId) return this.byId.get(id) ?? -1;
    // A member is found within MAX_PROBES slots (the way its own add went); an id the tree does
    // not name may pass a longer run, once: the reader refuses the bundle that names it.
    const key = keyOf(id);
    for (let slot = key & this.mask; ; slot = (slot + 1) & this.mask) {
      const ordinal = this.slots[slot]!;
      if (ordinal === -1) return -1;
      if (this.slotKeys[slot] === key && this.rows[this.order[ordinal]!]!.id === id) return ordinal;
    }
  }

  /**
   * The id of the object at `ordinal`, as the tree's own entry holds it: a reader hands this
   * one on instead of the string it parsed, so what keeps ids (apply's list of imports, for
   * its undo) holds no copy of its own (at a million objects, 90 MB of strings).
   */
  idAt(ordinal: number): ObjectId {
    return this.rows[this.order[ordinal]!]!.id;
  }

  /** The size of the object at `ordinal`. */
  sizeAt(ordinal: number): number {
    return this.rows[this.order[ordinal]!]!.size;
  }

  *entries(): MapIterator<[ObjectId, number]> {
    for (let k = 0; k < this.count; k++) {
      const entry = this.rows[this.order[k]!]!;
      yield [entry.id, entry.size];
    }
  }

  *keys(): MapIterator<ObjectId> {
    for (let k = 0; k < this.count; k++) yield this.rows[this.order[k]!]!.id;
  }

  *values(): MapIterator<number> {
    for (let k = 0; k < this.count; k++) yield this.rows[this.order[k]!]!.size;
  }

  forEach(callback: (size: number, id: ObjectId, map: ReadonlyMap<ObjectId, number>) => void): void {
    for (const [id, size] of this.entries()) callback(size, id, this);
  }

  [Symbol.iterator](): MapIterator<[ObjectId, number]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'TreeObjects';
  }
}

/** The first seven hex digits of an id as a number (lowercase digits; anything else gives some number, never an error). */
function keyOf(id: string): number {
  let key = 0;
  for (let i = 0; i < KEY_HEX_DIGITS; i++) {
    const c = id.charCodeAt(i);
    key = (key << 4) | ((c <= 0x39 ? c - 0x30 : c - 0x57) & 0xf);
  }
  return key;
}
