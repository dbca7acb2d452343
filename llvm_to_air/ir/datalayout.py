"""Sizes and alignments of types under an LLVM data layout string.

Only what the tool needs: pointer sizes per address space, integer/float/vector
ABI alignments, and struct layout (offsets with padding), as LLVM computes
``getTypeAllocSize``/``getABITypeAlignment``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.types import (
    FLOAT_BITS,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
)

# types with a size in memory; anything else (void, labels, opaque target types such as
# OpenCL images) is an error rather than an endless recursion
SIZED_TYPES = (IntType, FloatType, PointerType, TypedPointerType, VectorType, ArrayType,
               StructType, NamedStructType)


@dataclass
class DataLayout:
    """A ``target datalayout``, in bits: pointers per address space as (size, ABI
    alignment); the ABI alignments of integers, floats and vectors by width."""

    pointer_bits: dict[int, tuple[int, int]] = field(default_factory=lambda: {0: (64, 64)})
    int_align: dict[int, int] = field(default_factory=lambda: {1: 8, 8: 8, 16: 16, 32: 32,
                                                                 64: 64})
    float_align: dict[int, int] = field(default_factory=lambda: {16: 16, 32: 32, 64: 64,
                                                                   128: 128})
    vector_align: dict[int, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> DataLayout:
        layout = cls()
        if not text:
            return layout
        for spec in text.split("-"):
            if not spec:
                continue
            head, *rest = spec.split(":")
            try:
                if head.startswith("p") and (head == "p" or head[1:].isdigit()):
                    addrspace = int(head[1:] or 0)
                    size = int(rest[0])
                    abi = int(rest[1]) if len(rest) > 1 else size
                    layout.pointer_bits[addrspace] = (size, abi)
                elif head.startswith("i") and head[1:].isdigit():
                    layout.int_align[int(head[1:])] = int(rest[0])
                elif head.startswith("f") and head[1:].isdigit():
                    layout.float_align[int(head[1:])] = int(rest[0])
                elif head.startswith("v") and head[1:].isdigit():
                    layout.vector_align[int(head[1:])] = int(rest[0])
            except (ValueError, IndexError) as exc:
                raise CompileError(f"malformed data layout component '{spec}'") from exc
        return layout

    # ------------------------------------------------------------------ queries

    def pointer_size(self, addrspace: int) -> int:
        bits, _ = self.pointer_bits.get(addrspace, self.pointer_bits.get(0, (64, 64)))
        return bits // 8

    def size_in_bits(self, ty: Type, structs: dict[str, StructType | None]) -> int:
        if isinstance(ty, IntType):
            return ty.bits
        if isinstance(ty, FloatType):
            return FLOAT_BITS[ty.kind]
        if isinstance(ty, PointerType | TypedPointerType):
            return self.pointer_size(ty.addrspace) * 8
        if isinstance(ty, VectorType):
            return ty.count * self.size_in_bits(ty.element, structs)
        return self.alloc_size(ty, structs) * 8

    def store_size(self, ty: Type, structs: dict[str, StructType | None]) -> int:
        return (self.size_in_bits(ty, structs) + 7) // 8

    def alloc_size(self, ty: Type, structs: dict[str, StructType | None]) -> int:
        """Bytes between consecutive array elements of ``ty`` (LLVM's getTypeAllocSize)."""
        if not isinstance(ty, SIZED_TYPES):
            raise CompileError(f"type {ty} has no size in memory")
        if isinstance(ty, ArrayType):
            return ty.count * self.alloc_size(ty.element, structs)
        if isinstance(ty, StructType | NamedStructType):
            _offsets, size, _ = self.struct_layout(ty, structs)
            return size
        store = self.store_size(ty, structs)
        align = self.abi_align(ty, structs)
        return (store + align - 1) // align * align

    def abi_align(self, ty: Type, structs: dict[str, StructType | None]) -> int:
        if isinstance(ty, IntType):
            return _lookup_align(self.int_align, ty.bits) // 8
        if isinstance(ty, FloatType):
            bits = FLOAT_BITS[ty.kind]
            return max(1, self.float_align.get(bits, bits) // 8)
        if isinstance(ty, PointerType | TypedPointerType):
            _, abi = self.pointer_bits.get(ty.addrspace, self.pointer_bits.get(0, (64, 64)))
            return abi // 8
        if isinstance(ty, VectorType):
            bits = self.size_in_bits(ty, structs)
            if bits in self.vector_align:
                return self.vector_align[bits] // 8
            # LLVM default: the vector's size rounded up to a power of two
            size = max(1, (bits + 7) // 8)
            return 1 << (size - 1).bit_length()
        if isinstance(ty, ArrayType):
            return self.abi_align(ty.element, structs)
        if isinstance(ty, StructType | NamedStructType):
            return self.struct_layout(ty, structs)[2]
        if isinstance(ty, FunctionType):
            return 1
        raise CompileError(f"type {ty} has no size")

    def struct_layout(self, ty: StructType | NamedStructType,
                      structs: dict[str, StructType | None]) -> tuple[list[int], int, int]:
        """(field offsets, alloc size, alignment) of a struct."""
        body = ty
        if isinstance(ty, NamedStructType):
            found = structs.get(ty.name)
            if found is None:
                raise CompileError(f"opaque struct %{ty.name} has no size")
            body = found
        assert isinstance(body, StructType)
        offset = 0
        align = 1
        offsets = []
        for f in body.fields:
            falign = 1 if body.packed else self.abi_align(f, structs)
            offset = (offset + falign - 1) // falign * falign
            offsets.append(offset)
            offset += self.alloc_size(f, structs)
            align = max(align, falign)
        size = (offset + align - 1) // align * align
        return offsets, size, align


def _lookup_align(table: dict[int, int], bits: int) -> int:
    if bits in table:
        return table[bits]
    larger = [b for b in table if b > bits]
    if larger:
        return table[min(larger)]
    return table[max(table)] if table else 8
