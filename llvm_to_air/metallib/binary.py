"""Bounds-checked little-endian reads that fail with CompileError, never struct.error."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llvm_to_air.errors import CompileError, SourceLocation

_FORMATS = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}


@dataclass(frozen=True)
class ByteReader:
    """A read-only view of one input file; every read names what it reads.

    All offsets are absolute byte offsets into ``data``; errors carry
    ``SourceLocation(file)`` and say which bytes were wanted.
    """

    data: bytes
    file: str

    @property
    def size(self) -> int:
        return len(self.data)

    def error(self, message: str, hint: str | None = None) -> CompileError:
        """A CompileError located in this file."""
        return CompileError(message, SourceLocation(self.file), hint)

    def need(self, offset: int, size: int, what: str) -> None:
        """Raise unless bytes ``offset .. offset+size`` exist."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise self.error(
                f"truncated file: {what} needs bytes {offset}..{offset + size} "
                f"(byte offset {offset}), but the file has only {len(self.data)} bytes"
            )

    def take(self, offset: int, size: int, what: str) -> bytes:
        """The ``size`` bytes at ``offset`` (checked)."""
        self.need(offset, size, what)
        return self.data[offset : offset + size]

    def uint(self, offset: int, width: int, what: str) -> int:
        """An unsigned little-endian integer of ``width`` bytes (1, 2, 4 or 8)."""
        self.need(offset, width, what)
        return int(struct.unpack_from(_FORMATS[width], self.data, offset)[0])

    def u16(self, offset: int, what: str) -> int:
        return self.uint(offset, 2, what)

    def u32(self, offset: int, what: str) -> int:
        return self.uint(offset, 4, what)

    def u64(self, offset: int, what: str) -> int:
        return self.uint(offset, 8, what)
