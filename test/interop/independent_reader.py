#!/usr/bin/python3
"""An independent reader for airlock bundle formats 1 and 2, written only from docs/bundle-format.md.

It shares no code with airlock. It uses Python's standard library, Debian's python3-msgpack
(to decode msgpack; canonical encoding is done here), and two command-line tools: `zstd` (to
decompress, streamed through pipes) and `b3sum` (for BLAKE3). It parses the tar stream itself,
byte by byte, and checks every rule the document gives a reader.

Usage:
    /usr/bin/python3 independent_reader.py [--strict] [--extract DIR [--base DIR]] BUNDLE

On success it prints one JSON line
    {"ok": true, "kind": ..., "from": ..., "to": ..., "objects": N, "files": N, ...}
and exits 0. On any violation it prints {"ok": false, "entry": ..., "error": ...} on stdout and a
message naming the entry on stderr, and exits 1. Exit 2 means it could not run (missing tool,
bad arguments).

--strict      also checks that the bundle is exactly what the document says airlock writes
              ("What a writer must produce"): exact tar header fields, canonical header, change
              list and seal with their key orders, one zstd frame per compressed entry, the
              writer's object order and compression choice, header totals that match the tree,
              well-formed signature entries (docs/bundle-format.md, "Signatures"; checking them
              needs the signer's key, which this reader does not take), and exactly two zero
              blocks at the end.
--extract DIR materialises the target tree into DIR (which must not exist or be empty) after the
              bundle verified. For a delta, --base DIR names a directory holding the base
              snapshot's files; objects the bundle does not carry are taken from there (found by
              their BLAKE3), and with --strict the delta's object set and change counts are
              checked against that base.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

import msgpack

# ---------------------------------------------------------------------------------------------
# Constants from the document

BUNDLE_MAGIC = "airlock-bundle"
SEAL_MAGIC = "airlock-seal"
TREE_MAGIC = "airlock-tree"
FORMAT = 1  # the tree's and the seal's format, and bundle format 1
PACKED_FORMAT = 2  # bundle format 2: format 1 plus packs
BUNDLE_FORMATS = (FORMAT, PACKED_FORMAT)

ENTRY_HEADER = "airlock-bundle/header"
ENTRY_TREE = "airlock-bundle/tree.zst"
ENTRY_CHANGES = "airlock-bundle/changes.zst"
ENTRY_SEAL = "airlock-bundle/seal"
OBJECT_PREFIX = "objects/"
ZSTD_SUFFIX = ".zst"
PACK_NAME = re.compile(r"packs/([0-9]{8})\.zst\Z")
PACK_MAX_OBJECTS = 65536
PACK_MAX_BYTES = 64 * 1024 * 1024
PACK_MAX_INDEX = 5 + PACK_MAX_OBJECTS * 44
PACK_OBJECT_MAX = 1024 * 1024
PACK_TARGET = 8 * 1024 * 1024

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
LIMIT_HEADER = 64 * KIB
LIMIT_SEAL = 64 * KIB
LIMIT_TREE_STORED = 512 * MIB
LIMIT_TREE = 1 * GIB
LIMIT_CHANGES_STORED = 512 * MIB
LIMIT_CHANGES = 1 * GIB

MAX_UINT = 2**53 - 1
FILE_MODE = 0o644
EXEC_MODE = 0o755
MAX_PATH_BYTES = 4096
MAX_SEGMENT_BYTES = 255

BLOCK = 512
READ_CHUNK = 1 * MIB

OBJECT_ID = re.compile(r"[0-9a-f]{64}\Z")

COMPRESSED_MAGICS = [
    b"\x1f\x8b",
    b"\x50\x4b\x03\x04",
    b"\xfd\x37\x7a\x58\x5a\x00",
    b"\x42\x5a\x68",
    b"\x28\xb5\x2f\xfd",
    b"\x89\x50\x4e\x47",
    b"\xff\xd8\xff",
    b"\x25\x50\x44\x46",
]
MIN_COMPRESSIBLE = 64

PACKAGE_ARCHIVE = re.compile(r"([A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])_([0-9]+(?:[.-][0-9]+)+)\.(tar\.gz|tgz|zip|tar\.xz|tar\.bz2)\Z")



def check_signature_entries(signatures):
    """The shape the spec requires of each signature: {keyid, algorithm, signature}, at most 16, no key twice."""
    if len(signatures) > 16:
        raise Reject(ENTRY_SEAL, "strict: more than 16 signatures")
    seen = set()
    for s in signatures:
        ok = (
            isinstance(s, dict)
            and set(s.keys()) == {"keyid", "algorithm", "signature"}
            and isinstance(s["keyid"], str)
            and re.fullmatch(r"[0-9a-f]{64}", s["keyid"]) is not None
            and s["algorithm"] == "ed25519"
            and isinstance(s["signature"], (bytes, bytearray))
            and len(s["signature"]) == 64
        )
        if not ok:
            raise Reject(ENTRY_SEAL, "strict: a signature entry is not {keyid, algorithm: ed25519, signature: 64 bytes}")
        if s["keyid"] in seen:
            raise Reject(ENTRY_SEAL, "strict: two signatures by one key")
        seen.add(s["keyid"])

class Reject(Exception):
    """The bundle breaks a rule of the format."""

    def __init__(self, entry, message):
        super().__init__(message)
        self.entry = entry
        self.message = message


class CannotRun(Exception):
    """The reader itself cannot run (missing tool, bad arguments)."""


def is_uint(v):
    return type(v) is int and 0 <= v <= MAX_UINT


def is_object_id(v):
    return type(v) is str and OBJECT_ID.match(v) is not None


def compress_bound(size):
    return size + size // 256 + ((131072 - size) // 2048 if size < 131072 else 0) + 64


# ---------------------------------------------------------------------------------------------
# Subprocess helpers: every child is tracked so that a rejection kills what is still running.

_children = []


def spawn(args, **kwargs):
    try:
        p = subprocess.Popen(args, **kwargs)
    except FileNotFoundError as e:
        raise CannotRun(f"{args[0]} is not installed (apt-get install zstd b3sum)") from e
    _children.append(p)
    return p


def kill_children():
    for p in _children:
        if p.poll() is None:
            p.kill()
        for stream in (p.stdin, p.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        try:
            p.wait()
        except OSError:
            pass
    _children.clear()


class Blake3:
    """Streaming BLAKE3 through `b3sum --no-names` reading standard input."""

    def __init__(self):
        self.proc = spawn(["b3sum", "--no-names"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.done = None

    def update(self, data):
        if data:
            self.proc.stdin.write(data)

    def hexdigest(self):
        if self.done is None:
            self.proc.stdin.close()
            out = self.proc.stdout.read().decode("ascii").strip()
            rc = self.proc.wait()
            self.proc.stdout.close()
            _children.remove(self.proc)
            if rc != 0 or not is_object_id(out):
                raise CannotRun(f"b3sum failed (exit {rc}, output {out!r})")
            self.done = out
        return self.done


def blake3_hex(data):
    h = Blake3()
    h.update(data)
    return h.hexdigest()


class FrameScanner:
    """Walks the frame structure of zstd data (RFC 8878) as it streams past, so that only zstd
    and skippable frames are accepted (the zstd tool would also decompress gzip, xz, lz4) and so
    that the data must end exactly at the end of a frame. Decompression itself is zstd's job."""

    ZSTD_MAGIC = 0xFD2FB528
    SKIPPABLE = 0x184D2A50

    def __init__(self, entry):
        self.entry = entry
        self.state = "magic"
        self.need = 4
        self.buf = b""
        self.skip = 0
        self.after_skip = None
        self.seen_input = False
        self.frames = 0
        self.checksum = False
        self.last = False

    def feed(self, data):
        if data:
            self.seen_input = True
        i, n = 0, len(data)
        while i < n:
            if self.skip:
                take = min(self.skip, n - i)
                self.skip -= take
                i += take
                if self.skip == 0:
                    self.after_skip()
                continue
            take = min(self.need - len(self.buf), n - i)
            self.buf += bytes(data[i : i + take])
            i += take
            if len(self.buf) == self.need:
                field, self.buf = self.buf, b""
                self._field(field)

    def _skip(self, count, then):
        if count == 0:
            then()
        else:
            self.skip = count
            self.after_skip = then

    def _frame_done(self):
        self.frames += 1
        self.state, self.need = "magic", 4

    def _block_done(self):
        if not self.last:
            self.state, self.need = "block", 3
        elif self.checksum:
            self.state, self.need = "checksum", 4
        else:
            self._frame_done()

    def _field(self, b):
        if self.state == "magic":
            magic = int.from_bytes(b, "little")
            if magic == self.ZSTD_MAGIC:
                self.state, self.need = "fhd", 1
            elif magic & 0xFFFFFFF0 == self.SKIPPABLE:
                self.state, self.need = "skipsize", 4
            else:
                raise Reject(self.entry, f"the compressed data is not a zstd frame (starts with {b.hex()})")
        elif self.state == "fhd":
            fhd = b[0]
            if fhd & 0x08:
                raise Reject(self.entry, "a zstd frame header has its reserved bit set")
            fcs_flag, single = fhd >> 6, (fhd >> 5) & 1
            self.checksum = bool(fhd & 0x04)
            did = [0, 1, 2, 4][fhd & 3]
            fcs = [1 if single else 0, 2, 4, 8][fcs_flag]
            rest = (0 if single else 1) + did + fcs
            if rest:
                self.state, self.need = "fhrest", rest
            else:
                self.state, self.need = "block", 3
        elif self.state == "fhrest":
            self.state, self.need = "block", 3
        elif self.state == "skipsize":
            self._skip(int.from_bytes(b, "little"), self._frame_done)
        elif self.state == "block":
            h = int.from_bytes(b, "little")
            self.last = bool(h & 1)
            btype, bsize = (h >> 1) & 3, h >> 3
            if btype == 3:
                raise Reject(self.entry, "a zstd block has the reserved block type")
            self._skip(1 if btype == 1 else bsize, self._block_done)
        elif self.state == "checksum":
            self._frame_done()

    def complete(self):
        return self.seen_input and self.state == "magic" and not self.buf and self.skip == 0


class ZstdStream:
    """Decompresses through `zstd -d`, fed chunk by chunk; the output goes to `on_output` from a
    reader thread, and is cut off (the child killed) as soon as it exceeds `limit` bytes."""

    def __init__(self, entry, limit, on_output):
        self.entry = entry
        self.limit = limit
        self.on_output = on_output
        self.scanner = FrameScanner(entry)
        self.errfile = tempfile.TemporaryFile()
        self.proc = spawn(
            ["zstd", "-d", "-c", "-q", "--memory=128MB"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errfile,
        )
        self.total = 0
        self.failure = None
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        try:
            while True:
                chunk = self.proc.stdout.read1(READ_CHUNK)
                if not chunk:
                    return
                self.total += len(chunk)
                if self.total > self.limit:
                    self.failure = Reject(self.entry, f"decompresses to more than {self.limit} bytes")
                    self.proc.kill()
                    return
                self.on_output(chunk)
        except Exception as e:  # reported by finish()
            self.failure = e
            self.proc.kill()

    def write(self, data):
        self.scanner.feed(data)
        if self.failure is not None:
            raise self.failure
        try:
            self.proc.stdin.write(data)
        except BrokenPipeError:
            pass  # zstd stopped (bad input, or killed): finish() says why

    def finish(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.thread.join()
        rc = self.proc.wait()
        self.proc.stdout.close()
        _children.remove(self.proc)
        self.errfile.seek(0)
        err = self.errfile.read().decode("utf-8", "replace").strip()
        self.errfile.close()
        if isinstance(self.failure, Reject):
            raise self.failure
        if self.failure is not None:
            raise self.failure
        if not self.scanner.complete():
            raise Reject(self.entry, "the compressed data is empty or ends in the middle of a zstd frame")
        if rc != 0:
            raise Reject(self.entry, f"the compressed data does not decompress ({err or f'zstd exit {rc}'})")
        return self.total


def decompress_whole(entry, stored, limit):
    pieces = []
    z = ZstdStream(entry, limit, pieces.append)
    z.write(stored)
    z.finish()
    return b"".join(pieces), z.scanner.frames


# ---------------------------------------------------------------------------------------------
# Canonical msgpack (the document's table), used for entry records and the checks on the tree


def canonical(value):
    out = bytearray()
    _canon(value, out)
    return bytes(out)


def _length_header(out, n, fix, fix_max, tag16, tag32):
    if n <= fix_max:
        out.append(fix | n)
    elif n < 0x10000:
        out.append(tag16)
        out += n.to_bytes(2, "big")
    else:
        out.append(tag32)
        out += n.to_bytes(4, "big")


def _canon(v, out):
    if v is None:
        out.append(0xC0)
    elif v is False:
        out.append(0xC2)
    elif v is True:
        out.append(0xC3)
    elif type(v) is int:
        if not is_uint(v):
            raise ValueError(f"{v} is not an unsigned integer <= 2^53-1")
        if v < 0x80:
            out.append(v)
        elif v < 0x100:
            out += bytes([0xCC, v])
        elif v < 0x10000:
            out.append(0xCD)
            out += v.to_bytes(2, "big")
        elif v < 0x100000000:
            out.append(0xCE)
            out += v.to_bytes(4, "big")
        else:
            out.append(0xCF)
            out += v.to_bytes(8, "big")
    elif type(v) is str:
        b = v.encode("utf-8")  # strict: a lone surrogate raises
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x100:
            out += bytes([0xD9, n])
        elif n < 0x10000:
            out.append(0xDA)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xDB)
            out += n.to_bytes(4, "big")
        out += b
    elif type(v) in (bytes, bytearray):
        n = len(v)
        if n < 0x100:
            out += bytes([0xC4, n])
        elif n < 0x10000:
            out.append(0xC5)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xC6)
            out += n.to_bytes(4, "big")
        out += v
    elif type(v) is list:
        _length_header(out, len(v), 0x90, 15, 0xDC, 0xDD)
        for item in v:
            _canon(item, out)
    elif type(v) is dict:  # insertion order is the order the document lists
        _length_header(out, len(v), 0x80, 15, 0xDE, 0xDF)
        for k, item in v.items():
            if type(k) is not str:
                raise ValueError("map keys are strings")
            _canon(k, out)
            _canon(item, out)
    else:
        raise ValueError(f"{type(v).__name__} has no canonical msgpack form")


def decode_msgpack(entry, data, what):
    try:
        return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as e:  # ExtraData, truncated data, invalid UTF-8, ...
        raise Reject(entry, f"{what} is not exactly one valid msgpack value ({type(e).__name__}: {e})") from None


def entry_record(name, stored_size, stored_hash_hex):
    return canonical([name, stored_size, bytes.fromhex(stored_hash_hex)])


# ---------------------------------------------------------------------------------------------
# The tree


def path_problem(path):
    if len(path) == 0:
        return "the path is empty"
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        return f"the path is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/"):
        return "the path is absolute"
    if any(ord(c) <= 0x1F or ord(c) == 0x7F for c in path):
        return "the path contains a control character"
    if "\\" in path:
        return "the path contains a backslash"
    for segment in path.split("/"):
        if segment == "":
            return "the path has an empty segment"
        if segment in (".", ".."):
            return f"the path has a '{segment}' segment"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def decode_tree(entry, encoded):
    raw = decode_msgpack(entry, encoded, "the tree")
    if type(raw) is not list or len(raw) != 3 or raw[0] != TREE_MAGIC or type(raw[0]) is not str:
        raise Reject(entry, "the tree does not start with the airlock-tree magic")
    if type(raw[1]) is not int or raw[1] != FORMAT:
        raise Reject(entry, f"tree format {raw[1]!r} is not supported (this reader reads format {FORMAT})")
    if type(raw[2]) is not list:
        raise Reject(entry, "the tree's entry list is not an array")
    rows = []
    for i, row in enumerate(raw[2]):
        where = f"tree row {i}"
        if type(row) is not list or len(row) != 4:
            raise Reject(entry, f"{where} is not [path, id, size, mode]")
        path, oid, size, mode = row
        if type(path) is not str:
            raise Reject(entry, f"{where}: the path is not a string")
        if type(oid) is not bytes or len(oid) != 32:
            raise Reject(entry, f"{where} ({path!r}): the id is not a 32-byte byte string")
        if not is_uint(size):
            raise Reject(entry, f"{where} ({path!r}): the size is not an unsigned integer <= 2^53-1")
        if type(mode) is not int or mode not in (FILE_MODE, EXEC_MODE):
            raise Reject(entry, f"{where} ({path!r}): mode {mode!r} is neither 0o644 nor 0o755")
        rows.append((path, oid.hex(), size, mode))
    directories = set()
    previous = None
    for i, (path, _oid, _size, _mode) in enumerate(rows):
        problem = path_problem(path)
        if problem:
            raise Reject(entry, f"tree row {i}: unsafe path {path!r}: {problem}")
        key = path.encode("utf-8")
        if previous is not None and previous >= key:
            raise Reject(entry, f"tree row {i}: rows are not in strict UTF-8 byte order at {path!r}")
        previous = key
        parts = path.split("/")
        for j in range(1, len(parts)):
            directories.add("/".join(parts[:j]))
    for path, _oid, _size, _mode in rows:
        if path in directories:
            raise Reject(entry, f"{path!r} is both a file and a directory")
    try:
        again = canonical([TREE_MAGIC, FORMAT, [[p, bytes.fromhex(o), s, m] for p, o, s, m in rows]])
    except ValueError as e:
        raise Reject(entry, f"the tree cannot be re-encoded canonically ({e})") from None
    if again != bytes(encoded):
        raise Reject(entry, "the tree is not in canonical form (re-encoding gives other bytes)")
    return rows


# ---------------------------------------------------------------------------------------------
# The tar layer


class Tar:
    """Sequential reader of the ustar subset, from a binary file, in bounded memory."""

    def __init__(self, f, strict):
        self.f = f
        self.strict = strict
        self.offset = 0
        self.index = -1
        self.name = None
        self.zero_blocks = 0

    def where(self):
        if self.index < 0:
            return "start of bundle"
        return f"entry {self.index} ({self.name})"

    def _read(self, n):
        parts = []
        got = 0
        while got < n:
            piece = self.f.read(min(n - got, READ_CHUNK))
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def next_header(self):
        """('entry', name, size, header_offset, block) or ('end',)."""
        while True:
            at = self.offset
            block = self._read(BLOCK)
            if len(block) == 0 and self.zero_blocks == 0:
                raise Reject(self.where(), f"truncated: the bundle ends without the end-of-archive marker (byte {at})")
            if len(block) < BLOCK:
                what = "the end-of-archive marker" if self.zero_blocks else "a header"
                raise Reject(self.where(), f"truncated: the bundle ends in the middle of {what} (byte {self.offset})")
            if block.count(0) == BLOCK:
                self.zero_blocks += 1
                if self.zero_blocks == 2:
                    return ("end",)
                continue
            if self.zero_blocks:
                raise Reject(self.where(), f"a header follows an empty block (byte {at})")
            name, size = self._parse_header(block, at)
            self.index += 1
            self.name = name
            return ("entry", name, size, at, block)

    def _parse_header(self, block, at):
        where = f"header block at byte {at}" + (f", after {self.where()}" if self.index >= 0 else "")
        stored = parse_octal(block[148:156])
        computed = 256 + sum(block[0:148]) + sum(block[156:512])
        if stored is None or stored != computed:
            raise Reject(where, f"the tar header checksum does not match (field {block[148:156]!r}, computed {computed})")
        if block[257:263] != b"ustar\x00" or block[263:265] != b"00":
            raise Reject(where, "the tar header is not in ustar format (magic 'ustar\\0', version '00')")
        typeflag = block[156]
        name = c_string(block, 0, 100)
        prefix = c_string(block, 345, 155)
        full = f"{prefix}/{name}" if prefix else name
        if typeflag != 0x30:
            raise Reject(full, f"entry is not a regular file (tar type {chr(typeflag)!r}); links, devices, directories and extension headers are refused")
        if block[124] == 0x80:
            size = int.from_bytes(block[125:136], "big")
            if size > MAX_UINT:
                size = None
        else:
            size = parse_octal(block[124:136])
        if size is None:
            raise Reject(where, f"the tar header has an invalid size field {block[124:136]!r}")
        if self.strict:
            strict_tar_header(full, block, size)
        return full, size

    def data(self, size):
        """Yields the entry's data in chunks of at most READ_CHUNK bytes."""
        left = size
        while left:
            piece = self.f.read(min(left, READ_CHUNK))
            if not piece:
                raise Reject(self.where(), f"truncated: the bundle ends in the middle of an entry (byte {self.offset})")
            self.offset += len(piece)
            left -= len(piece)
            yield piece

    def read_all(self, size):
        return b"".join(self.data(size))

    def padding(self, size):
        pad = (BLOCK - size % BLOCK) % BLOCK
        at = self.offset
        data = self._read(pad)
        if len(data) < pad:
            raise Reject(self.where(), f"truncated: the bundle ends in the middle of an entry's padding (byte {self.offset})")
        if data.count(0) != pad:
            first = next(i for i, b in enumerate(data) if b)
            raise Reject(self.where(), f"non-zero byte in the padding after the entry (byte {at + first})")

    def trailer(self):
        """After the end marker: only zero bytes, however many. Returns how many."""
        extra = 0
        while True:
            at = self.offset
            data = self._read(READ_CHUNK)
            if not data:
                return extra
            if data.count(0) != len(data):
                first = next(i for i, b in enumerate(data) if b)
                raise Reject("end of archive", f"non-zero data after the end of the archive (byte {at + first})")
            extra += len(data)


def parse_octal(field):
    text = field.decode("latin-1").rstrip("\x00 ").lstrip(" ")
    if not text or any(c not in "01234567" for c in text):
        return None
    return int(text, 8)


def c_string(block, start, length):
    field = block[start : start + length]
    end = field.find(b"\x00")
    raw = field if end < 0 else field[:end]
    return raw.decode("utf-8", "replace")


def strict_tar_header(name, block, size):
    """The exact header fields the document says airlock writes."""

    def expect(offset, length, value, what):
        if block[offset : offset + length] != value:
            raise Reject(name, f"strict: tar {what} is {block[offset:offset + length]!r}, airlock writes {value!r}")

    raw_name = name.encode("utf-8")
    if len(raw_name) > 100:
        raise Reject(name, "strict: airlock writes names of at most 100 bytes")
    expect(0, 100, raw_name + b"\x00" * (100 - len(raw_name)), "name field")
    expect(100, 8, b"000644 \x00", "mode")
    expect(108, 8, b"000000 \x00", "uid")
    expect(116, 8, b"000000 \x00", "gid")
    if size < 2**33:
        expect(124, 12, b"%011o " % size, "size")
    elif block[124] != 0x80:
        raise Reject(name, "strict: sizes of 8 GiB and more are written in base-256")
    expect(136, 12, b"00000000000 ", "mtime")
    checksum = 256 + sum(block[0:148]) + sum(block[156:512])
    expect(148, 8, b"%06o \x00" % checksum, "checksum field")
    expect(156, 1, b"0", "typeflag")
    expect(157, 100, b"\x00" * 100, "linkname")
    expect(265, 64, b"\x00" * 64, "uname/gname")
    expect(329, 8, b"000000 \x00", "devmajor")
    expect(337, 8, b"000000 \x00", "devminor")
    expect(345, 167, b"\x00" * 167, "prefix and pad")


# ---------------------------------------------------------------------------------------------
# Header, change list, seal


def check_header(raw):
    e = ENTRY_HEADER
    if type(raw) is not dict or raw.get("magic") != BUNDLE_MAGIC:
        raise Reject(e, "this file is not an airlock bundle (no header magic)")
    if type(raw.get("format")) is not int or raw.get("format") not in BUNDLE_FORMATS:
        raise Reject(e, f"bundle format {raw.get('format')!r} is not supported (this reader reads formats 1 and 2)")
    kind = raw.get("kind")
    if kind not in ("full", "delta") or type(kind) is not str:
        raise Reject(e, f"the header has an unknown bundle kind {kind!r}")
    frm, to = raw.get("from"), raw.get("to")
    if not (frm is None or is_object_id(frm)) or not is_object_id(to):
        raise Reject(e, "the header has invalid snapshot ids")
    if (kind == "full") != (frm is None):
        raise Reject(e, "the header kind and base snapshot disagree")
    if type(raw.get("createdAt")) is not str or type(raw.get("tool")) is not str:
        raise Reject(e, "the header lacks its creation time or tool")
    objects = raw.get("objects")
    if type(objects) is not dict or not is_uint(objects.get("count")) or not is_uint(objects.get("bytes")):
        raise Reject(e, "the header object counts are invalid")
    t = raw.get("target")
    if (
        type(t) is not dict
        or not (t.get("label") is None or type(t.get("label")) is str)
        or not (t.get("parent") is None or is_object_id(t.get("parent")))
        or type(t.get("createdAt")) is not str
        or not is_uint(t.get("sequence"))
        or not is_uint(t.get("files"))
        or not is_uint(t.get("bytes"))
    ):
        raise Reject(e, "the header target description is invalid")
    return raw


def canonical_header(h):
    t, o = h["target"], h["objects"]
    return canonical(
        {
            "magic": h["magic"],
            "format": h["format"],
            "kind": h["kind"],
            "from": h["from"],
            "to": h["to"],
            "target": {
                "label": t["label"],
                "parent": t["parent"],
                "createdAt": t["createdAt"],
                "sequence": t["sequence"],
                "files": t["files"],
                "bytes": t["bytes"],
            },
            "createdAt": h["createdAt"],
            "tool": h["tool"],
            "objects": {"count": o["count"], "bytes": o["bytes"]},
        }
    )


def check_changes(raw):
    e = ENTRY_CHANGES
    bad = Reject(e, "the change list is malformed")
    if type(raw) is not list or len(raw) != 2 or type(raw[0]) is not list or type(raw[1]) is not list:
        raise bad
    counts, packages = raw
    if len(counts) != 4 or not all(is_uint(c) for c in counts):
        raise bad
    for row in packages:
        if type(row) is not list or len(row) != 5:
            raise bad
        kind, repository, name, frm, to = row
        if kind not in ("added", "updated", "removed") or type(kind) is not str:
            raise bad
        if type(repository) is not str or type(name) is not str:
            raise bad
        if not (frm is None or type(frm) is str) or not (to is None or type(to) is str):
            raise bad
    return raw


def check_seal(raw):
    e = ENTRY_SEAL
    if type(raw) is not dict or raw.get("magic") != SEAL_MAGIC or type(raw.get("format")) is not int or raw.get("format") != FORMAT:
        raise Reject(e, "the seal has no valid magic")
    if not is_uint(raw.get("entries")) or not is_object_id(raw.get("chain")) or type(raw.get("signatures")) is not list:
        raise Reject(e, "the seal fields are invalid")
    return raw


def strict_canonical(entry, data, value_fn):
    try:
        again = value_fn()
    except (KeyError, ValueError, TypeError) as ex:
        raise Reject(entry, f"strict: cannot re-encode canonically ({ex})") from None
    if again != bytes(data):
        raise Reject(entry, "strict: the bytes are not the canonical encoding with the document's key order")


def package_index(rows):
    """(repository, name) -> versions, in order of first appearance, per the change-list rules."""
    index = {}
    for path, _oid, _size, _mode in rows:
        slash = path.rfind("/")
        directory = path[:slash] if slash >= 0 else ""
        if "Archive" in directory.split("/"):
            continue
        m = PACKAGE_ARCHIVE.match(path[slash + 1 :])
        if not m:
            continue
        index.setdefault((directory, m.group(1)), []).append(m.group(2))
    return index


def js_key(s):
    return s.encode("utf-16-be")


def expected_changes(base_rows, rows):
    """The change list a writer computes for base -> target (base [] for a full bundle)."""
    before = {p: (o, m) for p, o, _s, m in base_rows}
    after = {p: (o, m) for p, o, _s, m in rows}
    added = [r for r in rows if r[0] not in before]
    changed = [r for r in rows if r[0] in before and before[r[0]] != (r[1], r[3])]
    removed = [p for p in before if p not in after]
    added_bytes = sum(r[2] for r in added) + sum(r[2] for r in changed)
    old, now = package_index(base_rows), package_index(rows)
    packages = []
    for key, versions in now.items():
        to = ", ".join(versions)
        if key not in old:
            packages.append(["added", key[0], key[1], None, to])
        elif ", ".join(old[key]) != to:
            packages.append(["updated", key[0], key[1], ", ".join(old[key]), to])
    for key, versions in old.items():
        if key not in now:
            packages.append(["removed", key[0], key[1], ", ".join(versions), None])
    packages.sort(key=lambda p: (js_key(p[1]), js_key(p[2])))
    return [[len(added), len(changed), len(removed), added_bytes], packages]


# ---------------------------------------------------------------------------------------------
# The whole bundle


def decode_pack_index(entry, data):
    """[(id hex, size), ...] from a pack index in canonical msgpack, read by hand: an array header in
    its smallest form, then rows of exactly fixarray(2), bin8 of 32 bytes, an unsigned integer in its
    smallest form, and nothing after the last row."""
    pos = 0

    def need(n):
        if pos + n > len(data):
            raise Reject(entry, "the pack index is cut short")

    def uint():
        nonlocal pos
        need(1)
        tag = data[pos]
        pos += 1
        if tag < 0x80:
            return tag
        widths = {0xCC: (1, 0x80), 0xCD: (2, 0x100), 0xCE: (4, 0x10000), 0xCF: (8, 0x100000000)}
        if tag not in widths:
            raise Reject(entry, f"the pack index holds 0x{tag:02x} where a size (unsigned integer) belongs")
        width, smallest = widths[tag]
        need(width)
        value = int.from_bytes(data[pos : pos + width], "big")
        pos += width
        if value < smallest or value > MAX_UINT:
            raise Reject(entry, "a size in the pack index is not in its smallest encoding, or too large")
        return value

    need(1)
    tag = data[pos]
    pos += 1
    # fixarray, array 16 (at least 16 rows), array 32 (at least 65536): the smallest form only
    headers = {0xDC: (2, 16), 0xDD: (4, 65536)}
    if 0x90 <= tag <= 0x9F:
        count = tag - 0x90
    elif tag in headers:
        width, smallest = headers[tag]
        need(width)
        count = int.from_bytes(data[pos : pos + width], "big")
        pos += width
        if count < smallest:
            raise Reject(entry, "the pack index's array header is not in its smallest form")
    else:
        raise Reject(entry, "the pack index is not an array")
    if count < 1 or count > PACK_MAX_OBJECTS:
        raise Reject(entry, f"the pack index lists {count} objects (1 to {PACK_MAX_OBJECTS} allowed)")
    if count * 36 > len(data) - pos:
        raise Reject(entry, "the pack index declares more rows than its bytes hold")
    rows = []
    for _ in range(count):
        need(3)
        if data[pos] != 0x92 or data[pos + 1] != 0xC4 or data[pos + 2] != 32:
            raise Reject(entry, "a pack index row is not [bin8 of 32 bytes, size]")
        pos += 3
        need(32)
        oid = data[pos : pos + 32].hex()
        pos += 32
        rows.append((oid, uint()))
    if pos != len(data):
        raise Reject(entry, "bytes follow the pack index's last row")
    return rows


def blake3_many(directory, names):
    """BLAKE3 of many files with one `b3sum` run: {name: hex}."""
    if not names:
        return {}
    out = subprocess.run(["b3sum", "--"] + names, cwd=directory, capture_output=True, check=False)
    if out.returncode != 0:
        raise CannotRun(f"b3sum failed: {out.stderr.decode('utf-8', 'replace').strip()}")
    digests = {}
    for line in out.stdout.decode("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        digests[name] = digest
    return digests


def parse_object_name(name):
    if not name.startswith(OBJECT_PREFIX):
        return None
    rest = name[len(OBJECT_PREFIX) :]
    compressed = rest.endswith(ZSTD_SUFFIX)
    oid = rest[: -len(ZSTD_SUFFIX)] if compressed else rest
    return (oid, compressed) if is_object_id(oid) else None


def looks_compressed(head):
    return any(head.startswith(m) for m in COMPRESSED_MAGICS)


class Bundle:
    def __init__(self, path, strict, staging):
        self.path = path
        self.strict = strict
        self.staging = staging  # directory for verified-pending objects, or None
        self.header = None
        self.rows = None
        self.needed = {}
        self.needed_order = []
        self.changes = None
        self.seen = set()
        self.carried = []
        self.object_bytes = 0
        self.entries = 0
        self.raw_objects = 0
        self.compressed_objects = 0
        self.packs = []  # per pack, the ids it carried, in order
        self.alone = []  # ids carried in entries of their own, in order
        self.sealed = False
        self.chain = None

    def verify(self):
        with open(self.path, "rb") as f:
            tar = Tar(f, self.strict)
            self.chain = Blake3()
            stage = "header"
            while True:
                event = tar.next_header()
                if event[0] == "end":
                    if not self.sealed:
                        raise Reject(tar.where(), "truncated: the bundle has no seal (the end-of-archive marker comes first)")
                    break
                _, name, size, _at, _block = event
                if stage == "after-seal":
                    raise Reject(name, "entry follows the seal")
                if stage in ("header", "tree", "changes"):
                    expected, limit = {
                        "header": (ENTRY_HEADER, LIMIT_HEADER),
                        "tree": (ENTRY_TREE, LIMIT_TREE_STORED),
                        "changes": (ENTRY_CHANGES, LIMIT_CHANGES_STORED),
                    }[stage]
                    if name != expected:
                        raise Reject(name, f"expected entry {expected} here (entry {tar.index})")
                    if size > limit:
                        raise Reject(name, f"{size} bytes, over the limit of {limit}")
                    data = tar.read_all(size)
                    tar.padding(size)
                    self.record(name, size, blake3_hex(data))
                    stage = {"header": self.on_header, "tree": self.on_tree, "changes": self.on_changes}[stage](data)
                elif name == ENTRY_SEAL:
                    if size > LIMIT_SEAL:
                        raise Reject(name, f"the seal is {size} bytes, over the limit of {LIMIT_SEAL}")
                    data = tar.read_all(size)
                    tar.padding(size)
                    self.on_seal(data)
                    stage = "after-seal"
                elif PACK_NAME.match(name):
                    self.on_pack(tar, name, size)
                else:
                    self.on_object(tar, name, size)
            extra = tar.trailer()
            if self.strict and extra:
                raise Reject("end of archive", f"strict: airlock writes exactly two zero blocks at the end, found {extra} more zero bytes")

    def record(self, name, size, stored_hex):
        self.chain.update(entry_record(name, size, stored_hex))
        self.entries += 1

    def on_header(self, data):
        self.header = check_header(decode_msgpack(ENTRY_HEADER, data, "the header"))
        if self.strict:
            strict_canonical(ENTRY_HEADER, data, lambda: canonical_header(self.header))
        return "tree"

    def on_tree(self, stored):
        encoded, frames = decompress_whole(ENTRY_TREE, stored, LIMIT_TREE)
        if blake3_hex(encoded) != self.header["to"]:
            raise Reject(ENTRY_TREE, f"the tree does not hash to the target snapshot {self.header['to'][:12]}")
        self.rows = decode_tree(ENTRY_TREE, encoded)
        for _path, oid, size, _mode in self.rows:
            if oid not in self.needed:
                self.needed[oid] = size
                self.needed_order.append(oid)
            elif self.needed[oid] != size:
                raise Reject(ENTRY_TREE, f"rows with object {oid[:12]} disagree on its size")
        t = self.header["target"]
        if t["files"] != len(self.rows) or t["bytes"] != sum(r[2] for r in self.rows):
            raise Reject(ENTRY_TREE, "target.files/target.bytes in the header do not match the tree")
        if self.strict and frames != 1:
            raise Reject(ENTRY_TREE, f"strict: airlock writes one zstd frame, found {frames}")
        return "changes"

    def on_changes(self, stored):
        data, frames = decompress_whole(ENTRY_CHANGES, stored, LIMIT_CHANGES)
        self.changes = check_changes(decode_msgpack(ENTRY_CHANGES, data, "the change list"))
        if self.strict:
            if frames != 1:
                raise Reject(ENTRY_CHANGES, f"strict: airlock writes one zstd frame, found {frames}")
            strict_canonical(ENTRY_CHANGES, data, lambda: canonical(self.changes))
            if self.header["kind"] == "full" and self.changes != expected_changes([], self.rows):
                raise Reject(ENTRY_CHANGES, "strict: the change list of this full bundle is not the one its tree gives")
        return "objects"

    def on_object(self, tar, name, size):
        parsed = parse_object_name(name)
        if parsed is None:
            raise Reject(name, "unexpected entry name (only objects/<id>[.zst] and the seal may follow the change list)")
        oid, compressed = parsed
        if oid not in self.needed:
            raise Reject(name, f"object {oid[:12]} is not part of the target snapshot")
        if oid in self.seen:
            raise Reject(name, f"object {oid[:12]} appears twice")
        if len(self.seen) >= self.header["objects"]["count"]:
            raise Reject(name, f"more objects than the {self.header['objects']['count']} the header announces")
        expected = self.needed[oid]
        if not compressed and size != expected:
            raise Reject(name, f"object is {size} bytes but the tree says {expected}")
        if compressed and size > compress_bound(expected):
            raise Reject(name, f"compressed object is {size} bytes, more than compressBound({expected}) = {compress_bound(expected)}")
        self.seen.add(oid)
        self.carried.append(oid)
        self.alone.append(oid)
        sink = open(os.path.join(self.staging, oid), "wb") if self.staging else None
        stored_hash = Blake3()
        head = bytearray()
        try:
            if compressed:
                content_hash = Blake3()

                def on_output(chunk):
                    if len(head) < 8:
                        head.extend(chunk[: 8 - len(head)])
                    content_hash.update(chunk)
                    if sink:
                        sink.write(chunk)

                z = ZstdStream(name, expected, on_output)
                for chunk in tar.data(size):
                    stored_hash.update(chunk)
                    z.write(chunk)
                content_size = z.finish()
                frames = z.scanner.frames
            else:
                content_hash = stored_hash
                content_size = 0
                for chunk in tar.data(size):
                    if len(head) < 8:
                        head.extend(chunk[: 8 - len(head)])
                    stored_hash.update(chunk)
                    content_size += len(chunk)
                    if sink:
                        sink.write(chunk)
        finally:
            if sink:
                sink.close()
        tar.padding(size)
        if content_size != expected:
            raise Reject(name, f"object holds {content_size} bytes but the tree says {expected}")
        stored_hex = stored_hash.hexdigest()
        content_hex = content_hash.hexdigest()
        if content_hex != oid:
            raise Reject(name, f"object is damaged: its content hashes to {content_hex[:12]}")
        self.record(name, size, stored_hex)
        self.object_bytes += expected
        if compressed:
            self.compressed_objects += 1
        else:
            self.raw_objects += 1
        if self.strict:
            if compressed:
                if frames != 1:
                    raise Reject(name, f"strict: airlock writes one zstd frame, found {frames}")
                if expected < MIN_COMPRESSIBLE or looks_compressed(bytes(head)):
                    raise Reject(name, "strict: airlock stores this object raw (small or already compressed)")
                if not size <= expected * 0.97:
                    raise Reject(name, "strict: airlock keeps the zstd form only when it saves at least 3%")

    def on_pack(self, tar, name, size):
        sequence = int(PACK_NAME.match(name).group(1))
        if self.header["format"] != PACKED_FORMAT:
            raise Reject(name, f"a pack in a bundle of format {self.header['format']} (packs belong to format {PACKED_FORMAT})")
        if sequence != len(self.packs) + 1:
            raise Reject(name, f"pack {sequence} where pack {len(self.packs) + 1} belongs")
        if size > compress_bound(PACK_MAX_BYTES):
            raise Reject(name, f"the pack is {size} bytes, more than compressBound({PACK_MAX_BYTES})")
        content = bytearray()
        stored_hash = Blake3()
        z = ZstdStream(name, PACK_MAX_BYTES, content.extend)
        for chunk in tar.data(size):
            stored_hash.update(chunk)
            z.write(chunk)
        z.finish()
        tar.padding(size)
        if len(content) < 4:
            raise Reject(name, "the pack is too short to hold its index length")
        index_length = int.from_bytes(content[0:4], "big")
        if index_length > PACK_MAX_INDEX or 4 + index_length > len(content):
            raise Reject(name, f"the pack's index length {index_length} is over the limit or past its end")
        rows = decode_pack_index(name, bytes(content[4 : 4 + index_length]))
        total = 4 + index_length + sum(r[1] for r in rows)
        if total != len(content):
            raise Reject(name, f"the pack holds {len(content)} bytes; its index accounts for {total}")
        for oid, osize in rows:
            if oid not in self.needed:
                raise Reject(name, f"object {oid[:12]} in the pack is not part of the target snapshot")
            if oid in self.seen:
                raise Reject(name, f"object {oid[:12]} appears twice")
            if osize != self.needed[oid]:
                raise Reject(name, f"object {oid[:12]} is listed as {osize} bytes, the tree says {self.needed[oid]}")
            if len(self.seen) >= self.header["objects"]["count"]:
                raise Reject(name, f"more objects than the {self.header['objects']['count']} the header announces")
            self.seen.add(oid)
        # Each object's content, hashed with one b3sum run over the pack.
        scratch = tempfile.mkdtemp(prefix=".pack-")
        try:
            at = 4 + index_length
            names = []
            for i, (oid, osize) in enumerate(rows):
                with open(os.path.join(scratch, str(i)), "wb") as f:
                    f.write(content[at : at + osize])
                names.append(str(i))
                at += osize
            digests = blake3_many(scratch, names)
            for i, (oid, osize) in enumerate(rows):
                if digests.get(str(i)) != oid:
                    raise Reject(name, f"object {oid[:12]} in the pack is damaged: its content hashes to {digests.get(str(i), '?')[:12]}")
                if self.staging:
                    shutil.move(os.path.join(scratch, str(i)), os.path.join(self.staging, oid))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.record(name, size, stored_hash.hexdigest())
        ids = [r[0] for r in rows]
        self.packs.append(ids)
        self.carried.extend(ids)
        self.object_bytes += sum(r[1] for r in rows)
        if self.strict:
            if z.scanner.frames != 1:
                raise Reject(name, f"strict: airlock writes one zstd frame, found {z.scanner.frames}")
            at = 4 + index_length
            for oid, osize in rows:
                if osize >= PACK_OBJECT_MAX or looks_compressed(bytes(content[at : at + 8])):
                    raise Reject(name, f"strict: airlock packs only objects under {PACK_OBJECT_MAX} bytes that do not look compressed ({oid[:12]})")
                at += osize

    def on_seal(self, data):
        seal = check_seal(decode_msgpack(ENTRY_SEAL, data, "the seal"))
        chain = self.chain.hexdigest()
        if seal["entries"] != self.entries or seal["chain"] != chain:
            raise Reject(ENTRY_SEAL, "the seal does not match the entries before it (an entry was changed, added, removed or reordered)")
        if self.header["kind"] == "full" and len(self.seen) != len(self.needed):
            raise Reject(ENTRY_SEAL, f"this full bundle carries {len(self.seen)} of the {len(self.needed)} objects its tree needs")
        h = self.header["objects"]
        if len(self.seen) != h["count"] or self.object_bytes != h["bytes"]:
            raise Reject(
                ENTRY_SEAL,
                f"the bundle carries {len(self.seen)} objects ({self.object_bytes} bytes); its header announces {h['count']} ({h['bytes']} bytes)",
            )
        if self.strict:
            strict_canonical(
                ENTRY_SEAL,
                data,
                lambda: canonical(
                    {"magic": seal["magic"], "format": seal["format"], "entries": seal["entries"], "chain": seal["chain"], "signatures": seal["signatures"]}
                ),
            )
            check_signature_entries(seal["signatures"])
            packed = [oid for ids in self.packs for oid in ids]
            packed_set = set(packed)
            if self.alone != [oid for oid in self.needed_order if oid in self.seen and oid not in packed_set]:
                raise Reject(ENTRY_SEAL, "strict: objects are not in the order of their first appearance in the tree")
            if packed != [oid for oid in self.needed_order if oid in packed_set]:
                raise Reject(ENTRY_SEAL, "strict: packed objects are not in the order of their first appearance in the tree")
            for ids in self.packs[:-1]:
                if len(ids) < PACK_MAX_OBJECTS and sum(self.needed[oid] for oid in ids) < PACK_TARGET:
                    raise Reject(ENTRY_SEAL, f"strict: airlock closes a pack only at {PACK_TARGET} bytes or {PACK_MAX_OBJECTS} objects")
            if self.header["format"] == PACKED_FORMAT and not any(self.needed[oid] < PACK_OBJECT_MAX for oid in self.seen):
                raise Reject(ENTRY_SEAL, "strict: airlock writes format 2 only when an object is small enough to pack")
            if self.header["kind"] == "full" and len(self.seen) != len(self.needed):
                raise Reject(ENTRY_SEAL, f"strict: a full bundle carries every object of its tree ({len(self.needed)}), this one {len(self.seen)}")
        self.sealed = True


# ---------------------------------------------------------------------------------------------
# Extraction (optional)


def scan_base(base_dir):
    """Rows [path, id, size, mode] of a directory holding a materialised snapshot."""
    rows = []
    for root, dirs, files in os.walk(base_dir):
        dirs.sort()
        for fname in files:
            full = os.path.join(root, fname)
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = os.path.relpath(full, base_dir).replace(os.sep, "/")
            h = Blake3()
            with open(full, "rb") as f:
                while True:
                    piece = f.read(READ_CHUNK)
                    if not piece:
                        break
                    h.update(piece)
            rows.append((rel, h.hexdigest(), st.st_size, EXEC_MODE if st.st_mode & 0o111 else FILE_MODE))
    rows.sort(key=lambda r: r[0].encode("utf-8"))
    return rows


def check_delta_against_base(bundle, base_rows):
    h = bundle.header
    base_ids = {r[1] for r in base_rows}
    should = {oid for oid in bundle.needed if oid not in base_ids}
    if bundle.seen != should:
        raise Reject(
            "objects",
            f"strict: a {h['kind']} bundle over this base should carry {len(should)} objects (the target's objects the base lacks), it carries {len(bundle.seen)}",
        )
    if bundle.changes != expected_changes(base_rows, bundle.rows):
        raise Reject(ENTRY_CHANGES, "strict: the change list does not match base -> target")


def materialise(bundle, staging, out_dir, base_dir, base_rows):
    base_by_id = {}
    for rel, oid, _size, _mode in base_rows or []:
        base_by_id.setdefault(oid, os.path.join(base_dir, rel))
    for path, oid, size, mode in bundle.rows:
        source = os.path.join(staging, oid)
        if not os.path.exists(source):
            source = base_by_id.get(oid)
            if source is None:
                raise Reject(path, f"object {oid[:12]} is neither in the bundle nor in the base directory")
        target = os.path.join(out_dir, *path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, mode)
        if os.path.getsize(target) != size:
            raise Reject(path, "the base directory's file changed while it was copied")


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    strict = False
    extract = base = bundle = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--strict":
            strict = True
        elif a in ("--extract", "--base"):
            if i + 1 >= len(argv):
                raise CannotRun(f"{a} needs a directory")
            i += 1
            if a == "--extract":
                extract = argv[i]
            else:
                base = argv[i]
        elif a.startswith("-") and a != "-":
            raise CannotRun(f"unknown option {a}")
        elif bundle is None:
            bundle = a
        else:
            raise CannotRun("one bundle at a time")
        i += 1
    if bundle is None:
        raise CannotRun("usage: independent_reader.py [--strict] [--extract DIR [--base DIR]] BUNDLE")
    if base is not None and extract is None:
        raise CannotRun("--base goes with --extract")
    return strict, extract, base, bundle


def main(argv):
    try:
        strict, extract, base, path = parse_args(argv)
    except CannotRun as e:
        print(f"independent_reader: {e}", file=sys.stderr)
        return 2
    staging = None
    created_extract = False
    try:
        if extract is not None:
            if os.path.exists(extract) and os.listdir(extract):
                raise CannotRun(f"{extract} exists and is not empty")
            os.makedirs(extract, exist_ok=True)
            created_extract = True
            staging = tempfile.mkdtemp(prefix=".staging-", dir=extract)
        if not os.path.isfile(path):
            raise CannotRun(f"{path} is not a file")
        bundle = Bundle(path, strict, staging)
        bundle.verify()
        base_rows = scan_base(base) if base is not None else None
        if strict and base_rows is not None:
            check_delta_against_base(bundle, base_rows)
        if extract is not None:
            if bundle.header["kind"] == "delta" and base is None:
                raise CannotRun("extracting a delta bundle needs --base DIR holding the base snapshot's files")
            materialise(bundle, staging, extract, base, base_rows)
            shutil.rmtree(staging)
            staging = None
        h = bundle.header
        print(
            json.dumps(
                {
                    "ok": True,
                    "kind": h["kind"],
                    "from": h["from"],
                    "to": h["to"],
                    "objects": len(bundle.seen),
                    "files": len(bundle.rows),
                    "bytes": sum(r[2] for r in bundle.rows),
                    "objectBytes": bundle.object_bytes,
                    "rawObjects": bundle.raw_objects,
                    "compressedObjects": bundle.compressed_objects,
                    "packs": len(bundle.packs),
                    "packedObjects": sum(len(ids) for ids in bundle.packs),
                    "entries": bundle.entries + 1,
                    "strict": strict,
                }
            )
        )
        return 0
    except Reject as e:
        kill_children()
        if created_extract:
            shutil.rmtree(extract, ignore_errors=True)
        print(json.dumps({"ok": False, "entry": e.entry, "error": e.message}))
        print(f"independent_reader: {path}: {e.entry}: {e.message}", file=sys.stderr)
        return 1
    except CannotRun as e:
        kill_children()
        if created_extract:
            shutil.rmtree(extract, ignore_errors=True)
        print(f"independent_reader: {e}", file=sys.stderr)
        return 2
    finally:
        kill_children()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
