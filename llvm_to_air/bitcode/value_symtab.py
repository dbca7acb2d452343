"""VALUE_SYMTAB ordering and entry encoding, as LLVM 14 writes a function's symbol table.

The order names entered the table (LLParser's insertion order), the order an LLVM 14
``StringMap`` iterates them in, and the pre-encoded bits of one entry. Pure functions.
"""

from __future__ import annotations

from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode import codes as c
from llvm_to_air.bitcode.records import (
    _CHAR6_NAME,
    _MASK32,
    VST_BBENTRY_6_ABBREV,
    VST_ENTRY_6_ABBREV,
    VST_ENTRY_7_ABBREV,
    VST_ENTRY_8_ABBREV,
    _bytes,
)
from llvm_to_air.ir.model import (
    BasicBlock,
    Branch,
    Function,
    Phi,
    Switch,
)


def vst_insertion_order(fn: Function) -> list[tuple[bytes, object]]:
    """Named blocks and instructions in the order LLParser puts them into the symbol table.

    Blocks enter when first referenced (a forward branch creates them) or
    defined; an instruction's name enters after its operands were read.
    (Arguments come first; the caller handles them.)
    """
    seen: set[int] = set()
    out: list[tuple[bytes, object]] = []

    def block(b: BasicBlock) -> None:
        if b.name is not None and id(b) not in seen:
            seen.add(id(b))
            out.append((_bytes(b.name), b))

    for b in fn.blocks:
        block(b)
        for inst in b.instructions:
            if isinstance(inst, Branch | Switch):
                for target in inst.targets:
                    block(target)
            elif isinstance(inst, Phi):
                for incoming in inst.blocks:
                    block(incoming)
            if inst.name is not None:
                out.append((_bytes(inst.name), inst))
    return out


_VST_WIDTH = 4  # abbreviation id width of VALUE_SYMTAB blocks


def _vst_entry(name: bytes, is_block: bool) -> tuple[int, int, int, int]:
    """The bits before and after the value id of a VST entry for ``name`` (see the blockinfo).

    Abbreviation 4 is ``[Fixed(3) code, VBR8 id, Array Fixed(8)]``; 5 and 6
    are ``[ENTRY, VBR8, Array Fixed(7) / Char6]``; 7 is ``[BBENTRY, VBR8, Array Char6]``.
    """
    char6 = _CHAR6_NAME.fullmatch(name) is not None
    if is_block:
        abbrev = VST_BBENTRY_6_ABBREV if char6 else VST_ENTRY_8_ABBREV
        code = c.VST_CODE_BBENTRY
    else:
        abbrev = VST_ENTRY_6_ABBREV if char6 else (
            VST_ENTRY_7_ABBREV if name.isascii() else VST_ENTRY_8_ABBREV)
        code = c.VST_CODE_ENTRY
    head, head_len = abbrev, _VST_WIDTH
    if abbrev == VST_ENTRY_8_ABBREV:
        head |= code << head_len
        head_len += 3
    element = {VST_ENTRY_8_ABBREV: bs.fixed(8), VST_ENTRY_7_ABBREV: bs.fixed(7)}.get(
        abbrev, bs.CHAR6_OP)
    tail, tail_len = bs.array_bits(name, element)
    return head, head_len, tail, tail_len


def _djb_hash(name: bytes) -> int:
    """LLVM's djbHash with seed 0 (what LLVM 14's StringMap uses), as an unsigned 32-bit value."""
    h = 0
    if len(name) < 64:
        for b in name:
            h = h * 33 + b
        return h & _MASK32
    for b in name:
        h = (h * 33 + b) & _MASK32
    return h


def string_map_order(names: list[bytes]) -> list[int]:
    """Indices of ``names`` in the iteration order of an LLVM 14 StringMap they were inserted into.

    Models StringMapImpl: 16 buckets to start, quadratic probing, the full
    hash kept per bucket, and a rehash into twice the buckets (in bucket
    order) once more than 3/4 are used. Duplicate names keep their first entry.
    """
    size = 16
    buckets = [-1] * size
    hashes = [0] * size
    items = 0
    for index, name in enumerate(names):
        full = _djb_hash(name)
        mask = size - 1
        bucket = full & mask
        probe = 1
        duplicate = False
        while buckets[bucket] >= 0:
            if names[buckets[bucket]] == name:
                duplicate = True
                break
            bucket = (bucket + probe) & mask
            probe += 1
        if duplicate:
            continue
        buckets[bucket] = index
        hashes[bucket] = full
        items += 1
        if items * 4 > size * 3:
            size *= 2
            mask = size - 1
            new_buckets = [-1] * size
            new_hashes = [0] * size
            for entry, full_hash in zip(buckets, hashes, strict=True):
                if entry < 0:
                    continue
                bucket = full_hash & mask
                probe = 1
                while new_buckets[bucket] >= 0:
                    bucket = (bucket + probe) & mask
                    probe += 1
                new_buckets[bucket] = entry
                new_hashes[bucket] = full_hash
            buckets = new_buckets
            hashes = new_hashes
    return [entry for entry in buckets if entry >= 0]
