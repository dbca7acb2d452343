"""Bit-level writer for LLVM's bitstream container (the layer under LLVM bitcode).

The format (LLVM's ``BitCodeFormat`` document, ``llvm/Bitstream/BitstreamWriter.h``):

* fields are written least-significant bit first into little-endian 32-bit
  words; a *fixed* field of width ``w`` is the value's low ``w`` bits, a
  *VBR* field of width ``w`` splits the value into ``w-1``-bit chunks, each
  with a continuation bit on top;
* every item starts with an abbreviation id of the current block's code
  width: ``0`` END_BLOCK, ``1`` ENTER_SUBBLOCK, ``2`` DEFINE_ABBREV,
  ``3`` UNABBREV_RECORD, ``4`` and up a defined abbreviation;
* a block is ``[ENTER_SUBBLOCK, blockid vbr8, newabbrevlen vbr4, <align32>,
  blocklen_32]`` ... ``[END_BLOCK, <align32>]``; ``blocklen`` (in 32-bit
  words) is backpatched when the block ends;
* the BLOCKINFO block (id 0) defines abbreviations for other block ids;
  those are in force in every later block of that id, numbered from 4
  before the block's own abbreviations.

:class:`BitstreamWriter` accumulates bits in a Python int and moves whole
bytes into a ``bytearray`` in chunks, so no per-bit loops run.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Abbreviation operand encodings (LLVM's BitCodeAbbrevOp::Encoding); 0 marks a literal.
LITERAL = 0
FIXED = 1
VBR = 2
ARRAY = 3
CHAR6 = 4
BLOB = 5

END_BLOCK = 0
ENTER_SUBBLOCK = 1
DEFINE_ABBREV = 2
UNABBREV_RECORD = 3
FIRST_APPLICATION_ABBREV = 4

BLOCKINFO_BLOCK_ID = 0
BLOCKINFO_CODE_SETBID = 1

_BLOCK_ID_WIDTH = 8
_CODE_LEN_WIDTH = 4
_FLUSH_BITS = 2048  # move bytes out of the accumulator once it holds this many bits

_CHAR6 = {c: i for i, c in enumerate(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")}


def all_char6(data: Sequence[int]) -> bool:
    """Whether every byte of ``data`` can be written as Char6."""
    return all(b in _CHAR6 for b in data)


@dataclass(frozen=True, slots=True)
class AbbrevOp:
    """One operand of an abbreviation: a literal value, or an encoding with its width."""

    encoding: int
    value: int = 0


def literal(value: int) -> AbbrevOp:
    return AbbrevOp(LITERAL, value)


def fixed(width: int) -> AbbrevOp:
    return AbbrevOp(FIXED, width)


def vbr(width: int) -> AbbrevOp:
    return AbbrevOp(VBR, width)


ARRAY_OP = AbbrevOp(ARRAY)
CHAR6_OP = AbbrevOp(CHAR6)
BLOB_OP = AbbrevOp(BLOB)


@dataclass(frozen=True, slots=True)
class Abbrev:
    """An abbreviation: its operands, the first of which usually is the record code.

    Its hash is found once (the emitter and definition caches look every definition up,
    and a dataclass would hash each operand again each time)."""

    ops: tuple[AbbrevOp, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self.ops))

    def __hash__(self) -> int:
        return self._hash


def abbrev(*ops: AbbrevOp) -> Abbrev:
    return Abbrev(tuple(ops))


@dataclass(frozen=True)
class WrittenBlock:
    """A block as written once, to be copied into later streams (see
    :meth:`BitstreamWriter.cached_block`): its bytes from the length word to its
    end, and the BLOCKINFO abbreviations it defined per block id."""

    body: bytes
    blockinfo: tuple[tuple[int, tuple[Abbrev, ...], tuple[Emitter, ...]], ...]


BlockCache = dict[object, WrittenBlock]


@dataclass
class _Scope:
    """State saved when entering a block: the outer code width and abbreviations."""

    outer_width: int
    outer_abbrevs: list[Abbrev]
    outer_specs: list[Emitter]
    length_offset: int  # byte offset of the block-length word


class BitstreamWriter:
    """Writes a bitstream: fields, blocks, abbreviations and records.

    Expects callers to nest blocks properly and to use abbreviation ids that
    exist in the current block. Guarantees that :meth:`getvalue` returns the
    bytes written so far, padded with zero bits to a whole byte, and that
    every block ends 32-bit aligned with its length word filled in.
    """

    def __init__(self) -> None:
        self._out = bytearray()
        self._cur = 0  # pending bits, least significant first
        self._nbits = 0  # number of pending bits
        self._width = 2  # abbreviation id width of the current block
        self._abbrevs: list[Abbrev] = []
        self._specs: list[Emitter] = []
        self._scopes: list[_Scope] = []
        self._blockinfo: dict[int, list[Abbrev]] = {}
        self._blockinfo_specs: dict[int, list[Emitter]] = {}
        self._blockinfo_current: int | None = None

    # ----------------------------------------------------------------- fields

    @property
    def bit_position(self) -> int:
        """Number of bits written so far."""
        return (len(self._out) << 3) + self._nbits

    def emit(self, value: int, width: int) -> None:
        """Write ``value`` (which must fit) as a ``width``-bit fixed field."""
        self._cur |= value << self._nbits
        self._nbits += width
        if self._nbits >= _FLUSH_BITS:
            self._flush_bytes()

    def emit_vbr(self, value: int, width: int) -> None:
        """Write a non-negative ``value`` as a ``width``-bit VBR field."""
        limit = 1 << (width - 1)
        if value < limit:
            self.emit(value, width)
            return
        bits, count = _vbr_bits(value, width)
        self.emit(bits, count)

    def align32(self) -> None:
        """Pad with zero bits to the next multiple of 32 bits."""
        pad = -self.bit_position & 31
        self._nbits += pad
        self._flush_bytes()

    def write_bytes(self, data: bytes) -> None:
        """Append raw bytes; the stream must be byte aligned."""
        self._flush_bytes()
        if self._nbits:
            raise ValueError("write_bytes needs a byte-aligned stream")
        self._out += data

    def _flush_bytes(self) -> None:
        nbytes = self._nbits >> 3
        if nbytes:
            nbits = nbytes << 3
            self._out += (self._cur & ((1 << nbits) - 1)).to_bytes(nbytes, "little")
            self._cur >>= nbits
            self._nbits -= nbits

    def backpatch(self, bit_position: int, value: int, width: int) -> None:
        """Overwrite the ``width``-bit field at ``bit_position`` (already written) with ``value``."""
        self._flush_bytes()
        end = bit_position + width
        if end > len(self._out) << 3:
            raise ValueError("backpatch target has not been written yet")
        first = bit_position >> 3
        last = (end + 7) >> 3
        chunk = int.from_bytes(self._out[first:last], "little")
        shift = bit_position & 7
        mask = ((1 << width) - 1) << shift
        chunk = (chunk & ~mask) | ((value << shift) & mask)
        self._out[first:last] = chunk.to_bytes(last - first, "little")

    def getvalue(self) -> bytes:
        """The stream so far, the last partial byte padded with zero bits."""
        self._flush_bytes()
        if self._nbits:
            return bytes(self._out) + (self._cur & 0xFF).to_bytes(1, "little")
        return bytes(self._out)

    # ----------------------------------------------------------------- blocks

    def enter_block(self, block_id: int, abbrev_width: int) -> None:
        """Open block ``block_id`` whose abbreviation ids are ``abbrev_width`` bits wide."""
        self.emit(ENTER_SUBBLOCK, self._width)
        self.emit_vbr(block_id, _BLOCK_ID_WIDTH)
        self.emit_vbr(abbrev_width, _CODE_LEN_WIDTH)
        self.align32()
        offset = len(self._out)
        self._out += b"\0\0\0\0"
        self._scopes.append(_Scope(self._width, self._abbrevs, self._specs, offset))
        self._width = abbrev_width
        self._abbrevs = list(self._blockinfo.get(block_id, ()))
        self._specs = list(self._blockinfo_specs.get(block_id, ()))

    def exit_block(self) -> None:
        """Close the innermost block and fill in its length."""
        self.emit(END_BLOCK, self._width)
        self.align32()
        scope = self._scopes.pop()
        words = (len(self._out) - scope.length_offset - 4) >> 2
        self._out[scope.length_offset:scope.length_offset + 4] = words.to_bytes(4, "little")
        self._width = scope.outer_width
        self._abbrevs = scope.outer_abbrevs
        self._specs = scope.outer_specs

    def cached_block(self, cache: BlockCache, key: object, block_id: int, abbrev_width: int,
                     write_contents: Callable[[], None]) -> None:
        """Write block ``block_id``, its contents by ``write_contents``, or copy them.

        Expects ``key`` to determine the contents entirely (they may not depend on
        the stream's position or earlier state; BLOCKINFO abbreviations they define
        must be the first for their block ids). The first writer of ``key`` records
        the block in ``cache``; later ones copy its bytes. The copy is exact: a
        block's body starts (after ENTER_SUBBLOCK's align32) and ends 32-bit aligned,
        and only the ENTER_SUBBLOCK header depends on the outer code width.
        """
        found = cache.get(key)
        self.enter_block(block_id, abbrev_width)
        if block_id == BLOCKINFO_BLOCK_ID:
            self._blockinfo_current = None
        if found is None:
            start = len(self._out) - 4  # the length word
            before = {bid: len(table) for bid, table in self._blockinfo.items()}
            write_contents()
            self.exit_block()
            defined = tuple((bid, tuple(table[before.get(bid, 0):]),
                             tuple(self._blockinfo_specs[bid][before.get(bid, 0):]))
                            for bid, table in self._blockinfo.items()
                            if len(table) > before.get(bid, 0))
            cache[key] = WrittenBlock(bytes(self._out[start:]), defined)
            return
        scope = self._scopes.pop()
        self._width = scope.outer_width
        self._abbrevs = scope.outer_abbrevs
        self._specs = scope.outer_specs
        del self._out[scope.length_offset:]
        self._out += found.body
        for bid, table, specs in found.blockinfo:
            self._blockinfo.setdefault(bid, []).extend(table)
            self._blockinfo_specs.setdefault(bid, []).extend(specs)
            self._blockinfo_current = bid

    def enter_blockinfo(self) -> None:
        """Open the BLOCKINFO block (abbreviation width 2)."""
        self.enter_block(BLOCKINFO_BLOCK_ID, 2)
        self._blockinfo_current = None

    def define_blockinfo_abbrev(self, block_id: int, abbreviation: Abbrev) -> int:
        """Define ``abbreviation`` for blocks ``block_id``; returns its id there."""
        if self._blockinfo_current != block_id:
            self.emit_record(BLOCKINFO_CODE_SETBID, [block_id])
            self._blockinfo_current = block_id
        self._encode_abbrev(abbreviation)
        table = self._blockinfo.setdefault(block_id, [])
        table.append(abbreviation)
        self._blockinfo_specs.setdefault(block_id, []).append(_compile(abbreviation))
        return len(table) - 1 + FIRST_APPLICATION_ABBREV

    def define_abbrev(self, abbreviation: Abbrev) -> int:
        """Define ``abbreviation`` in the current block; returns its id."""
        self._encode_abbrev(abbreviation)
        self._abbrevs.append(abbreviation)
        self._specs.append(_compile(abbreviation))
        return len(self._abbrevs) - 1 + FIRST_APPLICATION_ABBREV

    def _encode_abbrev(self, abbreviation: Abbrev) -> None:
        self.emit(DEFINE_ABBREV, self._width)
        self.emit(*_abbrev_definition_bits(abbreviation))

    # ----------------------------------------------------------------- records

    def emit_record(self, code: int, ops: Sequence[int], abbrev_id: int = 0) -> None:
        """Write record ``code`` with operands ``ops`` (non-negative ints).

        ``abbrev_id`` 0 writes it unabbreviated (code, count and operands as
        VBR6); otherwise the abbreviation's first operand encodes ``code``.
        """
        if abbrev_id == 0:
            self._emit_unabbreviated(code, ops)
        else:
            self._specs[abbrev_id - FIRST_APPLICATION_ABBREV](self, abbrev_id, code, ops, None)

    def emit_unabbreviated_body(self, body: tuple[int, int]) -> None:
        """Write an unabbreviated record whose part after the abbreviation id is ``body``
        (:func:`unabbreviated_body` bits and count: found once for a record written often)."""
        self.emit(UNABBREV_RECORD, self._width)
        self.emit(*body)

    def emit_record_with_blob(self, abbrev_id: int, ops: Sequence[int], blob: bytes) -> None:
        """Write a record through an abbreviation ending in a Blob operand.

        ``ops`` starts with the record code, as in LLVM's EmitRecordWithBlob.
        """
        self._emit_abbreviated(abbrev_id, ops[0], ops[1:], blob)

    def _emit_unabbreviated(self, code: int, ops: Sequence[int]) -> None:
        cur = self._cur
        n = self._nbits
        cur |= UNABBREV_RECORD << n
        n += self._width
        for value in (code, len(ops), *ops):
            if value < 32:
                cur |= value << n
                n += 6
            else:
                bits, count = _vbr_bits(value, 6)
                cur |= bits << n
                n += count
            if n >= _FLUSH_BITS:
                self._cur = cur
                self._nbits = n
                self._flush_bytes()
                cur = self._cur
                n = self._nbits
        self._cur = cur
        self._nbits = n
        if n >= 64:
            self._flush_bytes()

    def _emit_abbreviated(self, abbrev_id: int, code: int, ops: Sequence[int],
                          blob: bytes | None) -> None:
        self._specs[abbrev_id - FIRST_APPLICATION_ABBREV](self, abbrev_id, code, ops, blob)


def _emit_generic(spec: tuple[tuple[int, int, int], ...], self: BitstreamWriter, abbrev_id: int,
                  code: int, ops: Sequence[int], blob: bytes | None) -> None:
    """Write one record through compiled abbreviation steps (any shape, blobs included)."""
    cur = self._cur
    n = self._nbits
    cur |= abbrev_id << n
    n += self._width
    pos = 0  # values consumed: 0 is the code, k > 0 is ops[k - 1]
    for enc, width, limit in spec:
        if enc == _ARRAY_OF:
            rest = ops[pos - 1:] if pos else (code, *ops)
            pos = len(ops) + 1
            count = len(rest)
            if count < 32:
                cur |= count << n
                n += 6
            else:
                bits, used = _vbr_bits(count, 6)
                cur |= bits << n
                n += used
            for value in rest:
                if width == FIXED:
                    cur |= value << n
                    n += limit
                elif width == CHAR6:
                    cur |= _CHAR6[value] << n
                    n += 6
                elif value < 1 << (limit - 1):
                    cur |= value << n
                    n += limit
                else:
                    bits, used = _vbr_bits(value, limit)
                    cur |= bits << n
                    n += used
                if n >= _FLUSH_BITS:
                    self._cur = cur
                    self._nbits = n
                    self._flush_bytes()
                    cur = self._cur
                    n = self._nbits
            continue
        if enc == BLOB:
            data = blob if blob is not None else bytes(ops[pos - 1:])
            pos = len(ops) + 1
            self._cur = cur
            self._nbits = n
            self.emit_vbr(len(data), 6)
            self.align32()
            self.write_bytes(data)
            self._out += bytes(-len(self._out) & 3)
            cur = self._cur
            n = self._nbits
            continue
        value = ops[pos - 1] if pos else code
        pos += 1
        if enc == FIXED:
            cur |= value << n
            n += width
        elif enc == VBR:
            if value < limit:
                cur |= value << n
                n += width
            else:
                bits, used = _vbr_bits(value, width)
                cur |= bits << n
                n += used
        elif enc == LITERAL:
            if value != width:
                raise ValueError(f"record operand {value} does not match abbreviation "
                                 f"literal {width}")
        elif enc == CHAR6:
            cur |= _CHAR6[value] << n
            n += 6
    if pos != len(ops) + 1:
        raise ValueError("record operands do not match the abbreviation")
    self._cur = cur
    self._nbits = n
    if n >= 64:
        self._flush_bytes()


_ARRAY_OF = 100  # compiled step: (_ARRAY_OF, element encoding, element width)
_SKIP = 101  # a zero-width fixed or VBR field: consumes a value, writes nothing

Steps = tuple[tuple[int, int, int], ...]
Emitter = Callable[["BitstreamWriter", int, int, Sequence[int], "bytes | None"], None]
_EMITTERS: dict[Steps, Emitter] = {}


def _steps(abbreviation: Abbrev) -> Steps:
    """An abbreviation as (encoding, width, limit) steps; an array is one step."""
    steps: list[tuple[int, int, int]] = []
    ops = abbreviation.ops
    k = 0
    while k < len(ops):
        op = ops[k]
        if op.encoding == ARRAY:
            element = ops[k + 1]
            steps.append((_ARRAY_OF, element.encoding, element.value))
            k += 2
            continue
        if op.encoding in (FIXED, VBR) and op.value == 0:
            steps.append((_SKIP, 0, 0))
        elif op.encoding == VBR:
            steps.append((VBR, op.value, 1 << (op.value - 1)))
        else:
            steps.append((op.encoding, op.value, 0))
        k += 1
    return tuple(steps)


def unabbreviated_body(code: int, ops: Sequence[int]) -> tuple[int, int]:
    """The bits of an unabbreviated record after its abbreviation id (code, operand count
    and operands, each VBR6), and their count."""
    bits, count = 0, 0
    for value in (code, len(ops), *ops):
        part, width = _vbr_bits(value, 6)
        bits |= part << count
        count += width
    return bits, count


@functools.cache
def _abbrev_definition_bits(abbreviation: Abbrev) -> tuple[int, int]:
    """The bits of a DEFINE_ABBREV after its abbreviation id, and their count (a pure
    function of the abbreviation: every module defines the same few, so each is encoded
    once per process)."""
    bits, count = 0, 0

    def put(value: int, width: int) -> None:
        nonlocal bits, count
        bits |= value << count
        count += width

    def put_vbr(value: int, width: int) -> None:
        put(*_vbr_bits(value, width))

    put_vbr(len(abbreviation.ops), 5)
    for op in abbreviation.ops:
        if op.encoding == LITERAL:
            put(1, 1)
            put_vbr(op.value, 8)
        else:
            put(0, 1)
            put(op.encoding, 3)
            if op.encoding in (FIXED, VBR):
                put_vbr(op.value, 5)
    return bits, count


@functools.cache  # every module defines the same few abbreviations
def _compile(abbreviation: Abbrev) -> Emitter:
    """A function writing records through ``abbreviation`` (one per distinct shape).

    Abbreviations without a blob use straight-line Python, which avoids interpreting
    the operand list for every record on the hot path: a *template* per sequence of
    encodings, with the widths and literals bound as the function's defaults. The
    templates the writer uses are generated ahead of time (:mod:`.emitters`, made by
    ``tools/gen_emitters.py``), so a process compiles no code for them; any other
    shape is generated here, once per process. Blob abbreviations use
    :func:`_emit_generic`.
    """
    steps = _steps(abbreviation)
    found = _EMITTERS.get(steps)
    if found is None:
        if any(step[0] == BLOB for step in steps):
            found = functools.partial(_emit_generic, steps)
        else:
            key, params = template_of(steps)
            template = _template(key)
            found = types.FunctionType(template.__code__, template.__globals__, "emit", params)
        _EMITTERS[steps] = found
    return found


# A template's key: per step (encoding, array element encoding or 0 for a scalar).
TemplateKey = tuple[tuple[int, int], ...]
_TEMPLATES: dict[TemplateKey, Emitter] = {}


def template_of(steps: Steps) -> tuple[TemplateKey, tuple[int, ...]]:
    """The template of blob-free ``steps`` and the values of its parameters, in order."""
    key: list[tuple[int, int]] = []
    params: list[int] = []
    for enc, width, limit in steps:
        if enc == _ARRAY_OF:  # (_ARRAY_OF, element encoding, element width)
            key.append((_ARRAY_OF, width))
            params += _scalar_params(width, limit)
        else:
            key.append((enc, 0))
            params += _scalar_params(enc, width)
    return tuple(key), tuple(params)


def _scalar_params(enc: int, width: int) -> list[int]:
    """A field's parameters: a literal's value, a fixed width, a VBR width and limit."""
    if enc in (LITERAL, FIXED):
        return [width]
    if enc == VBR:
        return [width, 1 << (width - 1)]
    return []  # Char6, _SKIP


def _template(key: TemplateKey) -> Emitter:
    """The emitter template for ``key``: generated ahead of time, else compiled now."""
    from llvm_to_air.bitcode.emitters import TEMPLATES

    found = TEMPLATES.get(key) or _TEMPLATES.get(key)
    if found is None:
        namespace: dict[str, object] = {"_vbr_bits": _vbr_bits, "_CHAR6": _CHAR6,
                                        "_FLUSH_BITS": _FLUSH_BITS}
        source = template_source("emit", key)
        exec(compile(source, f"<bitstream emitter {key}>", "exec"), namespace)
        found = _TEMPLATES[key] = namespace["emit"]  # type: ignore[assignment]
    return found


def _scalar_code(enc: int, params: list[str], value: str) -> list[str]:
    if enc == FIXED:
        return [f"cur |= {value} << n", f"n += {params[0]}"]
    if enc == VBR:
        width, limit = params
        return [f"v = {value}", f"if v < {limit}:", "    cur |= v << n", f"    n += {width}",
                "else:", f"    bits, used = _vbr_bits(v, {width})", "    cur |= bits << n",
                "    n += used"]
    if enc == CHAR6:
        return [f"cur |= _CHAR6[{value}] << n", "n += 6"]
    if enc == LITERAL:
        return [f"if {value} != {params[0]}:",
                "    raise ValueError(f'record operand does not match abbreviation literal "
                f"{{{params[0]}}}')"]
    return []  # _SKIP


def template_source(name: str, key: TemplateKey) -> str:
    """Python source of the emitter template ``name`` for ``key``: ``name(w, abbrev_id, code,
    ops, blob, p0, p1, ...)``, the parameters in :func:`template_of`'s order."""
    body = ["cur = w._cur", "n = w._nbits", "cur |= abbrev_id << n", "n += w._width"]
    if all(enc != _ARRAY_OF for enc, _ in key):
        body[:0] = [f"if len(ops) != {len(key) - 1}:",
                    "    raise ValueError('record operands do not match the abbreviation')"]
    names: list[str] = []

    def take(enc: int) -> list[str]:
        count = {LITERAL: 1, FIXED: 1, VBR: 2}.get(enc, 0)
        new = [f"p{len(names) + i}" for i in range(count)]
        names.extend(new)
        return new

    pos = 0
    for enc, element in key:
        if enc == _ARRAY_OF:
            rest = f"ops[{pos - 1}:]" if pos else "(code, *ops)"
            body += [f"rest = {rest}", "count = len(rest)"]
            body += _scalar_code(VBR, ["6", "32"], "count")
            body.append("for e in rest:")
            body += ["    " + line for line in _scalar_code(element, take(element), "e")]
            body += ["    if n >= _FLUSH_BITS:", "        w._cur = cur", "        w._nbits = n",
                     "        w._flush_bytes()", "        cur = w._cur", "        n = w._nbits"]
            continue
        body += _scalar_code(enc, take(enc), f"ops[{pos - 1}]" if pos else "code")
        pos += 1
    body += ["w._cur = cur", "w._nbits = n", "if n >= 64:", "    w._flush_bytes()"]
    params = "".join(f", {p}=0" for p in names)
    return f"def {name}(w, abbrev_id, code, ops, blob{params}):\n" + "".join(
        f"    {line}\n" for line in body)


def emitters_module_text(keys: Sequence[TemplateKey]) -> str:
    """The text of :mod:`llvm_to_air.bitcode.emitters`: the templates for ``keys``."""
    keys = sorted(set(keys))
    parts = [_EMITTERS_HEADER]
    for index, key in enumerate(keys):
        parts.append("\n\n" + template_source(f"_template_{index}", key))
    parts.append("\n\nTEMPLATES: dict[TemplateKey, Emitter] = {\n")
    parts += [f"    {key!r}: _template_{index},\n" for index, key in enumerate(keys)]
    parts.append("}\n")
    return "".join(parts)


_EMITTERS_HEADER = '''"""Bitstream record emitter templates, generated ahead of time: do not edit.

Made by ``python3 tools/gen_emitters.py`` from :func:`llvm_to_air.bitcode.bitstream.
template_source`; ``tests/test_startup.py`` checks that regenerating gives this text.
Each template writes one record through an abbreviation of its shape; the widths and
literals are its defaults (see ``bitstream._compile``).
"""

from __future__ import annotations

from llvm_to_air.bitcode.bitstream import _CHAR6, _FLUSH_BITS, Emitter, TemplateKey, _vbr_bits
'''


def array_bits(values: Sequence[int], element: AbbrevOp) -> tuple[int, int]:
    """The bits of an abbreviated array operand (VBR6 length, then the elements), and their count.

    For callers that cache the encoding of operands that repeat (names).
    """
    bits, count = _vbr_bits(len(values), 6)
    enc, width = element.encoding, element.value
    for value in values:
        if enc == FIXED:
            bits |= value << count
            count += width
        elif enc == CHAR6:
            bits |= _CHAR6[value] << count
            count += 6
        elif enc == VBR:
            more, used = _vbr_bits(value, width)
            bits |= more << count
            count += used
        else:
            raise ValueError(f"abbreviation encoding {enc} cannot be an array element")
    return bits, count


def vbr_bits(value: int, width: int) -> tuple[int, int]:
    """The bits of ``value`` as a ``width``-bit VBR field, and how many there are."""
    return _vbr_bits(value, width)


def _vbr_bits(value: int, width: int) -> tuple[int, int]:
    """The bits of ``value`` as a ``width``-bit VBR field, and how many there are."""
    limit = 1 << (width - 1)
    mask = limit - 1
    bits = 0
    count = 0
    step = width - 1
    while value >= limit:
        bits |= ((value & mask) | limit) << count
        count += width
        value >>= step
    bits |= value << count
    return bits, count + width
