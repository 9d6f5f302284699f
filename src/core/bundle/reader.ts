import { Blake3Hasher } from '@napi-rs/blake-hash';
import { AirlockError } from '../../errors.js';
import { checkChanges, decodeChanges, type ChangeSummary } from './changes.js';
import type { PackageChange } from '../packages.js';
import {
  decodeHeader,
  decodeSeal,
  ENTRY_CHANGES,
  ENTRY_HEADER,
  ENTRY_SEAL,
  ENTRY_TREE,
  entryRecord,
  LIMITS,
  PACKED_BUNDLE_FORMAT,
  parseObjectEntryName,
  type BundleHeader,
  type BundleSeal,
} from './format.js';
import { TarParser, type TarEvent } from './tarParser.js';
import { PACK_MAX_BYTES, PackParser, parsePackEntryName, type PackedObject, type PackEvent } from './pack.js';
import { maxEncodedTreeBytes, treeTotals, verifyTree, type Tree, type VerifiedTree } from '../manifest.js';
import { TreeObjects } from '../treeObjects.js';
import { ContentHasher, shortId, type ObjectId } from '../objectId.js';
import { compressBound, decompressBounded, ZstdDecoder } from '../zstd.js';
import type { Progress } from '../progress.js';

/**
 * The bundle reader as a state machine over bytes: fed the bundle's bytes in order
 * (push), it checks every entry's name, order, size and content, every object against its
 * id, and finally the seal, which binds them all. It touches no file: where the bytes come
 * from (one file, volumes) is src/bundle/bundleInput.ts, the loop that feeds it
 * src/bundle/readBundle.ts, and where verified objects go is the caller's ObjectSink.
 */
/**
 * Where a verified object's bytes go (a staging file during apply). write and finish give a
 * promise only when the reader must wait for it: a store writes synchronously, and a
 * promise per call was most of what an apply of 200,000 small objects allocated.
 */
export interface ObjectSink {
  /** The chunk's memory is reused after this returns (or its promise resolves): a sink copies what it keeps. */
  write(chunk: Buffer): void | Promise<void>;
  /** Called once the object's hash and size have checked out. */
  finish(): void | Promise<void>;
  abort(): Promise<void>;
}

export interface BundleReadHandlers {
  /** May throw to refuse the bundle before its objects are read (wrong base, say). */
  onHeader?(header: BundleHeader): Promise<void> | void;
  /** The target tree, checked against the snapshot id and the header. */
  onTree?(tree: VerifiedTree): Promise<void> | void;
  /** A sink to keep the object, or undefined to verify it only. */
  openObject?(id: ObjectId, size: number): ObjectSink | undefined | Promise<ObjectSink | undefined>;
  /** Stop after the change list (inspect): the objects and seal are not read. */
  stopAfterChanges?: boolean;
  progress?: Progress;
}

export interface BundleReadResult {
  header: BundleHeader;
  tree: Tree;
  /** The change list, checked; its package rows are kept only when reading stops after it (inspect). */
  changes: ChangeSummary;
  packages: PackageChange[] | null;
  sealed: boolean;
  /** The checked seal (absent when reading stopped after the change list). */
  seal: BundleSeal | null;
  /** How many volumes it was read from (0: a single file). */
  volumes: number;
  objects: number;
  /** Packs read (format 2), and the objects that came in them (counted in `objects` too). */
  packs: number;
  packedObjects: number;
  bundleBytes: number;
}

type Stage = 'header' | 'tree' | 'changes' | 'objects' | 'after-seal';

/** The three entries that open every bundle, in order, with the most a reader will hold of each. */
const METADATA: Partial<Record<Stage, { name: string; limit: number }>> = {
  header: { name: ENTRY_HEADER, limit: LIMITS.headerBytes },
  tree: { name: ENTRY_TREE, limit: LIMITS.treeStoredBytes },
  changes: { name: ENTRY_CHANGES, limit: LIMITS.changesStoredBytes },
};

interface CurrentEntry {
  name: string;
  index: number;
  size: number;
  stored: ContentHasher;
  /** Small metadata entries are gathered whole (bounded by LIMITS). */
  buffer?: Buffer[];
  object?: { id: ObjectId; expected: number; compressed: boolean; content: ContentHasher; decoder?: ZstdDecoder; sink?: ObjectSink };
  pack?: PackState;
}

/** An object stored raw in an entry of its own: its entry's bytes are its content. */
function isRawObject(entry: CurrentEntry): boolean {
  return entry.object !== undefined && entry.object.decoder === undefined;
}

/**
 * A packed object's bytes begin: hashed as they come (by the pack's hasher, started over: a
 * native hasher per object was 200,000 finalizers for a pack-full of small files), and
 * handed to its sink if it has one.
 */
function beginPacked(pack: PackState, object: { id: ObjectId; size: number }, sink: ObjectSink | undefined): void {
  const content = pack.content.reset();
  pack.object = sink ? { id: object.id, size: object.size, content, sink } : { id: object.id, size: object.size, content };
}

/** A pack being read: its decoder, its parser, the hasher its objects share, and the object whose bytes are arriving. */
interface PackState {
  sequence: number;
  decoder: ZstdDecoder;
  parser: PackParser;
  content: ContentHasher;
  object?: { id: ObjectId; size: number; content: ContentHasher; sink?: ObjectSink };
}

export class BundleReader {
  private readonly parser = new TarParser();
  private readonly chain = new Blake3Hasher();
  private stage: Stage = 'header';
  private current: CurrentEntry | undefined;
  private header: BundleHeader | undefined;
  private seal: BundleSeal | null = null;
  /** Manifest sizes of the objects started so far. */
  private announcedBytesSoFar = 0;
  private tree: Tree | undefined;
  private changes: ChangeSummary | undefined;
  private packages: PackageChange[] | null = null;
  private needed = TreeObjects.of([]);
  /** A byte per object of the tree (needed.ordinal), set once the bundle has carried it. */
  private seen = new Uint8Array(0);
  private seenCount = 0;
  private objectBytes = 0;
  private entries = 0;
  private packs = 0;
  private packedObjects = 0;
  stopped = false;

  constructor(
    private readonly file: string,
    private readonly handlers: BundleReadHandlers,
  ) {}

  /**
   * Returns true when reading should stop early (inspect). The chunk's memory may be reused
   * once this resolves: nothing here keeps a view of it (what is kept is copied), and a
   * sink must have written what it was given by the time its write returns or resolves.
   */
  async push(chunk: Buffer): Promise<boolean> {
    for (const event of this.parser.push(chunk)) {
      await this.handle(event);
      if (this.stopped) return true;
    }
    return false;
  }

  private get sealed(): boolean {
    return this.stage === 'after-seal';
  }

  async finish(): Promise<void> {
    for (const event of this.parser.finish()) await this.handle(event);
    this.assertSealed();
  }

  private assertSealed(): void {
    if (!this.sealed) throw this.truncated('the bundle has no seal: it was cut short or never finished');
  }

  async abortOpenSink(): Promise<void> {
    await this.current?.object?.sink?.abort();
    await this.current?.pack?.object?.sink?.abort();
  }

  /** Bytes of the bundle read so far. */
  get position(): number {
    return this.parser.position;
  }

  result(): BundleReadResult {
    return {
      header: this.header!,
      tree: this.tree!,
      changes: this.changes!,
      packages: this.packages,
      sealed: this.sealed,
      seal: this.seal,
      volumes: 0,
      objects: this.seenCount,
      packs: this.packs,
      packedObjects: this.packedObjects,
      bundleBytes: this.parser.position,
    };
  }

  private async handle(event: TarEvent): Promise<void> {
    switch (event.type) {
      case 'entry':
        return this.startEntry(event.name, event.size, event.index);
      case 'data':
        return this.data(event.chunk);
      case 'entryEnd':
        return this.endEntry();
      case 'end':
        return this.assertSealed();
    }
  }

  private async startEntry(name: string, size: number, index: number): Promise<void> {
    if (this.stage === 'after-seal') throw this.corrupt(`entry ${JSON.stringify(name)} follows the seal`, name, index);
    const entry: CurrentEntry = { name, index, size, stored: new ContentHasher() };
    const expected = METADATA[this.stage];
    if (expected !== undefined) {
      if (name !== expected.name) throw this.corrupt(`expected entry ${expected.name} here, found ${JSON.stringify(name)}`, name, index);
      const limit = this.storedLimit(expected.limit);
      if (size > limit) throw this.corrupt(`${name} is ${size} bytes, over the limit of ${limit}${limit < expected.limit ? ` for a tree of ${this.header!.target.files} files` : ''}`, name, index);
      entry.buffer = [];
    } else if (name === ENTRY_SEAL) {
      if (size > LIMITS.sealBytes) throw this.corrupt(`the seal is ${size} bytes, over the limit of ${LIMITS.sealBytes}`, name, index);
      entry.buffer = [];
    } else if (parsePackEntryName(name) !== undefined) {
      entry.pack = this.startPack(name, size, index);
    } else {
      entry.object = await this.startObject(name, size, index);
    }
    this.current = entry;
  }

  private startPack(name: string, size: number, index: number): PackState {
    const sequence = parsePackEntryName(name)!;
    if (this.header!.format !== PACKED_BUNDLE_FORMAT) {
      throw this.unsafe(`unexpected entry ${JSON.stringify(name)}: packs belong to bundle format ${PACKED_BUNDLE_FORMAT}, and this bundle's header says format ${this.header!.format}`, name, index);
    }
    if (sequence !== this.packs + 1) throw this.corrupt(`pack ${sequence} comes where pack ${this.packs + 1} should`, name, index);
    const limit = compressBound(PACK_MAX_BYTES);
    if (size > limit) throw this.corrupt(`pack ${sequence} is ${size} bytes, larger than zstd can produce from the ${PACK_MAX_BYTES} bytes a pack may hold`, name, index);
    this.packs++;
    return { sequence, decoder: new ZstdDecoder(), content: new ContentHasher(), parser: new PackParser((message) => this.corrupt(`pack ${sequence} is damaged: ${message}`, name, index)) };
  }

  /**
   * Every object a pack's index lists passes the checks a lone object entry passes, before any
   * of its bytes is read. Each object's id becomes the tree's own string (TreeObjects.idAt):
   * the pack's objects are the ones its begin and end events give.
   */
  private admitPacked(objects: readonly PackedObject[], entry: CurrentEntry): void {
    const sequence = entry.pack!.sequence;
    for (const object of objects) {
      const { id, size } = object;
      const ordinal = this.needed.ordinal(id);
      if (ordinal === -1) throw this.corrupt(`object ${shortId(id)} in pack ${sequence} is not part of the target snapshot`, entry.name, entry.index);
      if (this.seen[ordinal] === 1) throw this.corrupt(`object ${shortId(id)} in pack ${sequence} appears twice`, entry.name, entry.index);
      const expected = this.needed.sizeAt(ordinal);
      if (size !== expected) throw this.corrupt(`object ${shortId(id)} in pack ${sequence} is listed as ${size} bytes but the manifest says ${expected}`, entry.name, entry.index);
      if (this.seenCount >= this.header!.objects.count) throw this.corrupt(`more objects than the ${this.header!.objects.count} the header announces`, entry.name, entry.index);
      if (this.announcedBytesSoFar + expected > this.header!.objects.bytes) {
        throw this.corrupt(`the objects carried exceed the ${this.header!.objects.bytes} bytes the header announces`, entry.name, entry.index);
      }
      this.announcedBytesSoFar += expected;
      this.seen[ordinal] = 1;
      this.seenCount++;
      object.id = this.needed.idAt(ordinal);
    }
  }

  private async packContent(entry: CurrentEntry, piece: Buffer): Promise<void> {
    const pack = entry.pack!;
    for (const event of pack.parser.push(piece)) {
      const waiting = this.packEvent(entry, pack, event);
      if (waiting) await waiting;
    }
  }

  /** A promise only when a sink gave one: a pack's small objects mostly go through without any. */
  private packEvent(entry: CurrentEntry, pack: PackState, event: PackEvent): void | Promise<void> {
    switch (event.type) {
      case 'index':
        return this.admitPacked(event.objects, entry);
      case 'begin': {
        const opened = this.handlers.openObject?.(event.object.id, event.object.size);
        if (opened instanceof Promise) return opened.then((sink) => beginPacked(pack, event.object, sink));
        return beginPacked(pack, event.object, opened);
      }
      case 'data':
        pack.object!.content.update(event.chunk);
        return pack.object!.sink?.write(event.chunk);
      case 'end': {
        const object = pack.object!;
        const actual = object.content.digest();
        if (actual !== object.id) throw this.corrupt(`object ${shortId(object.id)} in pack ${pack.sequence} is damaged: its content hashes to ${shortId(actual)}`, entry.name, entry.index);
        this.objectBytes += object.size;
        this.packedObjects++;
        const sink = object.sink;
        pack.object = undefined;
        const finishing = sink?.finish();
        if (finishing) return finishing.then(() => this.handlers.progress?.advance(1, object.size));
        this.handlers.progress?.advance(1, object.size);
        return;
      }
    }
  }

  private async startObject(name: string, size: number, index: number): Promise<NonNullable<CurrentEntry['object']>> {
    const parsed = parseObjectEntryName(name);
    if (!parsed) throw this.unsafe(`unexpected entry name ${JSON.stringify(name)} (only objects/<id> and the seal may follow the change list)`, name, index);
    const { id: named, compressed } = parsed;
    const ordinal = this.needed.ordinal(named);
    if (ordinal === -1) throw this.corrupt(`object ${shortId(named)} is not part of the target snapshot`, name, index);
    const id = this.needed.idAt(ordinal); // the tree's own string, as for packed objects
    if (this.seen[ordinal] === 1) throw this.corrupt(`object ${shortId(id)} appears twice`, name, index);
    const expected = this.needed.sizeAt(ordinal);
    if (this.seenCount >= this.header!.objects.count) throw this.corrupt(`more objects than the ${this.header!.objects.count} the header announces`, name, index);
    // Checked as objects arrive, not only at the seal: apply reserved disk space by the header's total.
    if (this.announcedBytesSoFar + expected > this.header!.objects.bytes) {
      throw this.corrupt(`the objects carried exceed the ${this.header!.objects.bytes} bytes the header announces`, name, index);
    }
    this.announcedBytesSoFar += expected;
    if (!compressed && size !== expected) throw this.corrupt(`object ${shortId(id)} is ${size} bytes but the manifest says ${expected}`, name, index);
    if (compressed && size > compressBound(expected)) {
      throw this.corrupt(`compressed object ${shortId(id)} is ${size} bytes, larger than zstd can produce from ${expected}`, name, index);
    }
    this.seen[ordinal] = 1;
    this.seenCount++;
    const sink = await this.handlers.openObject?.(id, expected);
    return { id, expected, compressed, content: new ContentHasher(), ...(compressed ? { decoder: new ZstdDecoder() } : {}), ...(sink ? { sink } : {}) };
  }

  private async data(chunk: Buffer): Promise<void> {
    const entry = this.current!;
    // A raw object's stored bytes are its content: hashed once, as its content (see endEntry).
    if (!isRawObject(entry)) entry.stored.update(chunk);
    if (entry.buffer) {
      // Copied: the input reads into the chunk's memory again once the next chunk is asked for.
      entry.buffer.push(Buffer.from(chunk));
      return;
    }
    if (entry.pack) {
      try {
        for (const piece of entry.pack.decoder.decode(chunk)) await this.packContent(entry, piece);
      } catch (err) {
        if (err instanceof AirlockError) throw err;
        throw this.corrupt(`pack ${entry.pack.sequence} does not decompress (${(err as Error).message})`, entry.name, entry.index);
      }
      return;
    }
    const object = entry.object!;
    if (!object.decoder) return this.objectContent(entry, chunk);
    let pieces: Generator<Buffer>;
    try {
      pieces = object.decoder.decode(chunk);
      for (const piece of pieces) await this.objectContent(entry, piece);
    } catch (err) {
      if (err instanceof AirlockError) throw err;
      throw this.corrupt(`object ${shortId(object.id)} does not decompress (${(err as Error).message})`, entry.name, entry.index);
    }
  }

  private async objectContent(entry: CurrentEntry, piece: Buffer): Promise<void> {
    const object = entry.object!;
    object.content.update(piece);
    if (object.content.bytes > object.expected) {
      throw this.corrupt(`object ${shortId(object.id)} holds more than the ${object.expected} bytes the manifest says`, entry.name, entry.index);
    }
    await object.sink?.write(piece);
  }

  private async endEntry(): Promise<void> {
    const entry = this.current!;
    this.current = undefined;
    if (entry.name === ENTRY_SEAL) return this.checkSeal(entry);
    // Every byte of a raw object's entry went through its content hash (objectContent), so
    // that hash is the entry's stored hash: hashing 1.9 GB of archives twice was a second
    // of an apply's main thread.
    const content = isRawObject(entry) ? entry.object!.content.digest() : undefined;
    this.chain.update(entryRecord(entry.name, entry.size, content ?? entry.stored.digest()));
    this.entries++;
    if (entry.object) return this.endObject(entry, content);
    if (entry.pack) return this.endPack(entry);
    const bytes = Buffer.concat(entry.buffer!);
    if (this.stage === 'header') {
      this.header = this.located(() => decodeHeader(bytes), entry);
      await this.handlers.onHeader?.(this.header);
      this.stage = 'tree';
    } else if (this.stage === 'tree') {
      const encoded = this.decompressMetadata(bytes, this.treeLimit(), entry);
      const announced = this.header!.target;
      const verified = this.located(
        () =>
          verifyTree(
            this.header!.to,
            encoded,
            () => this.corrupt(`the manifest does not hash to the target snapshot ${shortId(this.header!.to)}`, entry.name, entry.index),
            (rows) => {
              if (rows !== announced.files) throw this.corrupt(`the header describes ${announced.files} files but the manifest holds ${rows}`, entry.name, entry.index);
            },
          ),
        entry,
      );
      this.tree = verified.tree;
      const totals = treeTotals(this.tree);
      if (totals.files !== this.header!.target.files || totals.bytes !== this.header!.target.bytes) {
        throw this.corrupt(`the header describes ${this.header!.target.files} files (${this.header!.target.bytes} bytes) but the manifest holds ${totals.files} (${totals.bytes} bytes)`, entry.name, entry.index);
      }
      this.needed = verified.objects;
      this.seen = new Uint8Array(this.needed.size);
      await this.handlers.onTree?.(verified);
      this.stage = 'changes';
    } else {
      const encoded = this.decompressMetadata(bytes, LIMITS.changesBytes, entry);
      // Only inspect shows the package rows; everyone else checks them without keeping them.
      if (this.handlers.stopAfterChanges) {
        const decoded = this.located(() => decodeChanges(encoded), entry);
        this.changes = { files: decoded.files, packageRows: decoded.packages.length };
        this.packages = decoded.packages;
      } else {
        this.changes = this.located(() => checkChanges(encoded), entry);
      }
      this.stage = 'objects';
      if (this.handlers.stopAfterChanges) this.stopped = true;
      this.handlers.progress?.phase('verifying bundle', { files: this.header!.objects.count, bytes: this.header!.objects.bytes });
    }
  }

  /** `content`: the object's content hash, when endEntry has taken it already. */
  private async endObject(entry: CurrentEntry, content: ObjectId | undefined): Promise<void> {
    const object = entry.object!;
    if (object.decoder && !object.decoder.complete) throw this.corrupt(`object ${shortId(object.id)} ends in the middle of its zstd frame`, entry.name, entry.index);
    if (object.content.bytes !== object.expected) {
      throw this.corrupt(`object ${shortId(object.id)} holds ${object.content.bytes} bytes but the manifest says ${object.expected}`, entry.name, entry.index);
    }
    const actual = content ?? object.content.digest();
    if (actual !== object.id) throw this.corrupt(`object ${shortId(object.id)} is damaged: its content hashes to ${shortId(actual)}`, entry.name, entry.index);
    this.objectBytes += object.expected;
    await object.sink?.finish();
    this.handlers.progress?.advance(1, object.expected);
  }

  private endPack(entry: CurrentEntry): void {
    const pack = entry.pack!;
    if (!pack.decoder.complete) throw this.corrupt(`pack ${pack.sequence} ends in the middle of its zstd frame`, entry.name, entry.index);
    if (!pack.parser.complete) throw this.corrupt(`pack ${pack.sequence} ends before the last object its index lists`, entry.name, entry.index);
  }

  private checkSeal(entry: CurrentEntry): void {
    const seal = this.located(() => decodeSeal(Buffer.concat(entry.buffer!)), entry);
    this.seal = seal;
    const header = this.header!;
    if (seal.entries !== this.entries || seal.chain !== this.chain.digest('hex')) {
      throw this.corrupt('the seal does not match the entries before it (an entry was changed, added, removed or reordered)', entry.name, entry.index);
    }
    if (header.kind === 'full' && this.seenCount !== this.needed.size) {
      throw this.corrupt(`this full bundle carries ${this.seenCount} of the ${this.needed.size} objects its tree needs`, entry.name, entry.index);
    }
    if (this.seenCount !== header.objects.count || this.objectBytes !== header.objects.bytes) {
      throw this.corrupt(`the bundle carries ${this.seenCount} objects (${this.objectBytes} bytes); its header announces ${header.objects.count} (${header.objects.bytes} bytes)`, entry.name, entry.index);
    }
    this.stage = 'after-seal';
  }

  /** A tree of n files cannot need more bytes than n rows of the longest path allow. */
  private treeLimit(): number {
    return Math.min(LIMITS.treeBytes, maxEncodedTreeBytes(this.header!.target.files));
  }

  private storedLimit(limit: number): number {
    return this.stage === 'tree' ? Math.min(limit, compressBound(this.treeLimit())) : limit;
  }

  /** Errors from decoding an entry name the bundle file and entry. */
  private located<T>(decode: () => T, entry: CurrentEntry): T {
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof AirlockError) || err.where?.startsWith(this.file)) throw err;
      const here = this.where(entry.name, entry.index);
      throw new AirlockError(err.code, err.message, { where: err.where === undefined ? here : `${here}, ${err.where}`, ...(err.hint === undefined ? {} : { hint: err.hint }) });
    }
  }

  private decompressMetadata(stored: Buffer, limit: number, entry: CurrentEntry): Buffer {
    return decompressBounded(stored, limit, (failure) =>
      this.corrupt(
        failure.kind === 'too-large'
          ? `${entry.name} expands beyond ${limit} bytes`
          : failure.kind === 'invalid'
            ? `${entry.name} does not decompress (${failure.message})`
            : `${entry.name} ends in the middle of its zstd frame`,
        entry.name,
        entry.index,
      ),
    );
  }

  private where(name: string, index: number): string {
    return `${this.file}: entry ${index} (${name}), byte ${this.parser.position}`;
  }

  private corrupt(message: string, name: string, index: number): AirlockError {
    return new AirlockError('BUNDLE_CORRUPT', message, {
      where: this.where(name, index),
      hint: 'the bundle is damaged or altered; copy it again from the online host and run `airlock bundle verify FILE` before applying',
    });
  }

  private unsafe(message: string, name: string, index: number): AirlockError {
    return new AirlockError('BUNDLE_UNSAFE_ENTRY', message, { where: this.where(name, index), hint: 'this bundle was not written by airlock; do not apply it' });
  }

  private truncated(message: string): AirlockError {
    return new AirlockError('BUNDLE_TRUNCATED', message, {
      where: `${this.file}: ${this.parser.location()}`,
      hint: 'the copy did not finish (or the drive was removed early); copy the whole bundle again and run `airlock bundle verify FILE`',
    });
  }
}
