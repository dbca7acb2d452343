"""Small encodings the bitcode writer's records share (LLVM 14 ``BitcodeWriter.cpp`` helpers).

The BLOCKINFO abbreviation ids, string and integer encodings (``emitSignedInt64``,
``emitWideAPInt``, ``getEncodedAlign``, ``getStringEncoding``) and the global-value
field encoders (linkage, visibility, DLL storage, ...). Pure functions of their
arguments; they raise CompileError for a value LLVM 14 has no encoding for.
"""

from __future__ import annotations

import re

from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode import codes as c
from llvm_to_air.bitcode.metadata import WMD
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import (
    Function,
    GlobalValue,
    Module,
)
from llvm_to_air.ir.types import (
    FloatType,
    Type,
)

VST_ENTRY_8_ABBREV = 4
VST_ENTRY_7_ABBREV = 5
VST_ENTRY_6_ABBREV = 6
VST_BBENTRY_6_ABBREV = 7
CONSTANTS_SETTYPE_ABBREV = 4
CONSTANTS_INTEGER_ABBREV = 5
CONSTANTS_CE_CAST_ABBREV = 6
CONSTANTS_NULL_ABBREV = 7
FUNCTION_INST_LOAD_ABBREV = 4
FUNCTION_INST_UNOP_ABBREV = 5
FUNCTION_INST_UNOP_FLAGS_ABBREV = 6
FUNCTION_INST_BINOP_ABBREV = 7
FUNCTION_INST_BINOP_FLAGS_ABBREV = 8
FUNCTION_INST_CAST_ABBREV = 9
FUNCTION_INST_RET_VOID_ABBREV = 10
FUNCTION_INST_RET_VAL_ABBREV = 11
FUNCTION_INST_UNREACHABLE_ABBREV = 12
FUNCTION_INST_GEP_ABBREV = 13

METADATA_INDEX_THRESHOLD = 25  # LLVM's -bitcode-mdindex-threshold default

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF

SE_CHAR6, SE_FIXED7, SE_FIXED8 = 0, 1, 2


_CHAR6_NAME = re.compile(rb"[a-zA-Z0-9._]*")


def string_encoding(data: bytes) -> int:
    """LLVM's getStringEncoding: the narrowest of Char6, Fixed7, Fixed8 that holds ``data``."""
    if _CHAR6_NAME.fullmatch(data):
        return SE_CHAR6
    if data.isascii():
        return SE_FIXED7
    return SE_FIXED8


def chars32(data: bytes) -> list[int]:
    """Bytes as writeStringRecord stores them (``char`` into ``unsigned``: sign-extended)."""
    return [b if b < 0x80 else b + 0xFFFFFF00 for b in data]


def signed64(value: int) -> int:
    """``emitSignedInt64``: sign in bit 0, magnitude above it (64-bit wrap)."""
    value &= _MASK64
    if value < 1 << 63:
        return (value << 1) & _MASK64
    return (((-value) & _MASK64) << 1 | 1) & _MASK64


def encoded_align(align: int | None) -> int:
    """``getEncodedAlign``: 0 for none, else log2(align) + 1."""
    if not align:
        return 0
    if align & (align - 1):
        raise CompileError(f"alignment {align} is not a power of two")
    return align.bit_length()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")



def _wide_words(value: int) -> list[int]:
    """``emitWideAPInt``: the active 64-bit words, each as a signed VBR value."""
    words = []
    while True:
        words.append(signed64(value & _MASK64))
        value >>= 64
        if not value:
            return words


def _fp_record(ty: Type, bits: int) -> list[int]:
    assert isinstance(ty, FloatType)
    if ty.kind == "x86_fp80":
        low = bits & _MASK64
        high = bits >> 64
        return [((high << 48) | (low >> 16)) & _MASK64, low & 0xFFFF]
    if ty.kind in ("fp128", "ppc_fp128"):
        return [bits & _MASK64, bits >> 64]
    return [bits]


def _linkage(gv: GlobalValue) -> int:
    found = c.LINKAGES.get(gv.linkage)
    if found is None:
        raise CompileError(f"unknown linkage '{gv.linkage}'", gv.location)
    return found


def _visibility(gv: GlobalValue) -> int:
    for word in gv.qualifiers:
        if word in c.VISIBILITIES:
            return c.VISIBILITIES[word]
    return 0


def _dll(gv: GlobalValue) -> int:
    for word in gv.qualifiers:
        if word in c.DLL_STORAGE:
            return c.DLL_STORAGE[word]
    return 0


def _unnamed_addr(gv: GlobalValue) -> int:
    for word in gv.qualifiers:
        if word in c.UNNAMED_ADDR:
            return c.UNNAMED_ADDR[word]
    return 0


def _thread_local(gv: GlobalValue) -> int:
    for word in gv.qualifiers:
        if word.startswith("thread_local"):
            mode = c.THREAD_LOCAL.get(word)
            if mode is None:
                raise CompileError(f"unknown thread-local mode '{word}'", gv.location)
            return mode
    return 0


def _dso_local(gv: GlobalValue) -> bool:
    """Explicit ``dso_local``, or implied: local linkage, or hidden/protected and not extern_weak."""
    if "dso_local" in gv.qualifiers:
        return True
    if gv.linkage in c.LOCAL_LINKAGES:
        return True
    return _visibility(gv) != 0 and gv.linkage != "extern_weak"


def _function_addrspace(fn: Function) -> int:
    for word in fn.prefix_words:
        if word.startswith("addrspace("):
            return int(word[len("addrspace("):-1])
    return 0


def source_filename(module: Module) -> str:
    """The module's source file name; like LLVM, the module's own name when the text gives none."""
    return module.source_filename if module.source_filename is not None else module.file


def struct_name(printed: str) -> bytes:
    """The raw name of a named struct from its printed form (``"a b"`` quoted, escapes)."""
    from llvm_to_air.ir.lexer import decode_name

    if printed.isdigit():
        return b""
    return _bytes(decode_name("%" + printed))


def _sorted_attachments(pairs: list[tuple[int, WMD]]) -> list[tuple[int, WMD]]:
    return sorted(pairs, key=lambda p: p[0])


def _last_per_kind(mds: list) -> list:
    seen: dict[str, int] = {}
    out: list = []
    for kind, md in mds:
        if kind in seen:
            out[seen[kind]] = (kind, md)
        else:
            seen[kind] = len(out)
            out.append((kind, md))
    return out


# The abbreviation definitions every module makes the same way, made once (their emitters
# are found by the abbreviation: the same object hits at once).
BLOB_DEFS = {code: bs.abbrev(bs.literal(code), bs.BLOB_OP)
             for code in (c.SYMTAB_BLOB, c.STRTAB_BLOB)}
VSTOFFSET_DEF = bs.abbrev(bs.literal(c.MODULE_CODE_VSTOFFSET), bs.fixed(32))
METADATA_LOCATION_DEF = bs.abbrev(bs.literal(c.METADATA_LOCATION), bs.fixed(1), bs.vbr(6),
                                  bs.vbr(8), bs.vbr(6), bs.vbr(6), bs.fixed(1))
METADATA_GENERIC_DEBUG_DEF = bs.abbrev(bs.literal(c.METADATA_GENERIC_DEBUG), bs.fixed(1),
                                       bs.vbr(6), bs.fixed(1), bs.vbr(6), bs.ARRAY_OP,
                                       bs.vbr(6))
METADATA_INDEX_OFFSET_DEF = bs.abbrev(bs.literal(c.METADATA_INDEX_OFFSET), bs.fixed(32),
                                      bs.fixed(32))
METADATA_INDEX_DEF = bs.abbrev(bs.literal(c.METADATA_INDEX), bs.ARRAY_OP, bs.vbr(6))
METADATA_NAME_DEF = bs.abbrev(bs.literal(c.METADATA_NAME), bs.ARRAY_OP, bs.fixed(8))
METADATA_STRINGS_DEF = bs.abbrev(bs.literal(c.METADATA_STRINGS), bs.vbr(6), bs.vbr(6),
                                 bs.BLOB_OP)
VST_FNENTRY_DEF = bs.abbrev(bs.literal(c.VST_CODE_FNENTRY), bs.vbr(8), bs.vbr(8))
