"""LLVM's Darwin bitcode wrapper, the envelope of every module Apple's tools write.

Layout (all little-endian u32), checked against every module inside the
Apple-built reference metallibs::

    0x0B17C0DE | version 0 | offset 20 | size of raw bitcode | cputype 0xFFFFFFFF
    raw bitcode ("BC" 0xC0 0xDE ...)
    zero bytes until the whole wrapped module is a multiple of 16 bytes
    (no padding at all when 20 + size already is one)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llvm_to_air.errors import CompileError, SourceLocation

WRAPPER_MAGIC = 0x0B17C0DE
WRAPPER_MAGIC_BYTES = struct.pack("<I", WRAPPER_MAGIC)
RAW_BITCODE_MAGIC = b"BC\xc0\xde"
WRAPPER_VERSION = 0
WRAPPER_CPU_TYPE = 0xFFFFFFFF
WRAPPER_ALIGNMENT = 16

_HEADER = struct.Struct("<5I")
WRAPPER_HEADER_SIZE = _HEADER.size  # 20


@dataclass(frozen=True)
class WrapperHeader:
    """The five u32 fields at the start of a wrapped module."""

    magic: int
    version: int
    offset: int
    size: int
    cputype: int


def is_raw_bitcode(data: bytes) -> bool:
    """True when ``data`` starts with the raw bitcode magic ``BC C0 DE``."""
    return bytes(data[:4]) == RAW_BITCODE_MAGIC


def is_wrapped_bitcode(data: bytes) -> bool:
    """True when ``data`` starts with the Darwin wrapper magic (it checks nothing else)."""
    return bytes(data[:4]) == WRAPPER_MAGIC_BYTES


def is_bitcode(data: bytes) -> bool:
    """True when ``data`` looks like bitcode, raw or wrapped (magic only; no validation)."""
    return is_raw_bitcode(data) or is_wrapped_bitcode(data)


def wrap_bitcode(raw: bytes) -> bytes:
    """Wrap raw bitcode the way Apple's tools do.

    Expects raw bitcode (starting with ``BC C0 DE``). Guarantees the result
    starts with a 20-byte wrapper header (version 0, offset 20, the raw size,
    cputype 0xFFFFFFFF), holds ``raw`` unchanged, and is zero-padded to a
    multiple of 16 bytes. Raises CompileError for anything else (wrapped
    input included: wrapping twice is always a bug).
    """
    if is_wrapped_bitcode(raw):
        raise CompileError(
            "bitcode is already wrapped (Darwin wrapper magic 0x0B17C0DE at byte offset 0)"
        )
    if not is_raw_bitcode(raw):
        raise CompileError(
            f"not LLVM bitcode: expected magic 'BC' 0xC0 0xDE at byte offset 0, found {bytes(raw[:4]).hex(' ') or 'nothing'}"
        )
    if len(raw) > 0xFFFFFFFF - WRAPPER_HEADER_SIZE:
        raise CompileError(
            f"bitcode of {len(raw)} bytes is too large for the 32-bit wrapper size field"
        )
    header = _HEADER.pack(
        WRAPPER_MAGIC, WRAPPER_VERSION, WRAPPER_HEADER_SIZE, len(raw), WRAPPER_CPU_TYPE
    )
    body = header + bytes(raw)
    return body + bytes(-len(body) % WRAPPER_ALIGNMENT)


def read_wrapper_header(data: bytes, file: str = "<bitcode>", base: int = 0) -> WrapperHeader:
    """Read and validate the wrapper header of ``data``.

    ``base`` is the position of ``data`` inside ``file`` (used only to report
    byte offsets). Guarantees: the magic is right, ``offset >= 20`` and
    ``offset + size`` lies inside ``data``, and the raw bitcode magic sits at
    ``offset``. Raises CompileError naming the field and byte offset otherwise.
    """
    loc = SourceLocation(file)
    if len(data) < WRAPPER_HEADER_SIZE:
        raise CompileError(
            f"truncated bitcode wrapper at byte offset {base}: the header needs "
            f"{WRAPPER_HEADER_SIZE} bytes, only {len(data)} present",
            loc,
        )
    header = WrapperHeader(*_HEADER.unpack_from(data, 0))
    if header.magic != WRAPPER_MAGIC:
        raise CompileError(
            f"bad bitcode wrapper magic 0x{header.magic:08X} at byte offset {base} (expected 0x0B17C0DE)",
            loc,
        )
    if header.offset < WRAPPER_HEADER_SIZE:
        raise CompileError(
            f"bitcode wrapper offset field {header.offset} at byte offset {base + 8} points inside the "
            f"{WRAPPER_HEADER_SIZE}-byte wrapper header",
            loc,
        )
    end = header.offset + header.size
    if end > len(data):
        raise CompileError(
            f"bitcode wrapper at byte offset {base} says the bitcode spans bytes {header.offset}..{end} "
            f"(offset field at byte offset {base + 8}, size field at byte offset {base + 12}), "
            f"past the end of the {len(data)}-byte module",
            loc,
        )
    if bytes(data[header.offset : header.offset + 4]) != RAW_BITCODE_MAGIC:
        raise CompileError(
            f"no bitcode magic 'BC' 0xC0 0xDE at byte offset {base + header.offset} "
            f"(where the wrapper at byte offset {base} says the bitcode starts)",
            loc,
        )
    return header


def unwrap_bitcode(data: bytes, file: str = "<bitcode>") -> bytes:
    """Return the raw bitcode inside ``data``.

    Accepts wrapped bitcode (validated by :func:`read_wrapper_header`) or raw
    bitcode (returned unchanged). Raises CompileError for anything else.
    """
    if is_raw_bitcode(data):
        return bytes(data)
    if not is_wrapped_bitcode(data):
        found = bytes(data[:4]).hex(" ") or "an empty file"
        raise CompileError(
            f"not LLVM bitcode: expected 'BC' 0xC0 0xDE or the wrapper magic 0x0B17C0DE "
            f"at byte offset 0, found {found}",
            SourceLocation(file),
        )
    header = read_wrapper_header(data, file)
    return bytes(data[header.offset : header.offset + header.size])
