"""``--f64=demote``: the kernel's whole signature becomes float, not only its arithmetic.

Expects: kernels with helpers inlined, before ``legalize_types`` demotes the instructions.
Guarantees: struct bodies holding ``double`` hold ``float`` (so the host lays out float32
data); byte-offset accesses (``getelementptr i8, ptr %s, i64 8``, as clang -O2 writes field
accesses) into such structs are moved to the field's new offset, or refused with a located
error when the offset is not a constant field start; the source's type spellings that
argument descriptors and ``inspect`` show say ``float`` (``double*`` -> ``float*``,
``double2`` -> ``float2``), as do parameter attributes.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.model import Argument, ConstantInt, Function, GetElementPtr, Module, Value
from llvm_to_air.ir.pointee import pointee_from_attributes
from llvm_to_air.ir.types import (
    F32,
    F64,
    I8,
    ArrayType,
    NamedStructType,
    StructType,
    Type,
    VectorType,
    map_leaves,
)
from llvm_to_air.metadata.target import AIR_DATALAYOUT
from llvm_to_air.rewrite.context import LoweringContext

_DOUBLE_WORD = re.compile(r"\bdouble(\d*)\b")


def _has_double(ty: Type) -> bool:
    return _demoted(ty) != ty


def _demoted(ty: Type) -> Type:
    return map_leaves(ty, lambda leaf: F32 if leaf == F64 else leaf)


def demote_signatures(module: Module, ctx: LoweringContext) -> None:
    layout = DataLayout.parse(AIR_DATALAYOUT)
    old_structs = dict(module.structs)
    for name, body in old_structs.items():
        if body is not None and _has_double(body):
            module.structs[name] = _demoted(body)  # type: ignore[assignment]
    offsets = _Offsets(layout, old_structs, module.structs)
    for kernel in ctx.kernels:
        fn = kernel.function
        _move_byte_offsets(fn, offsets)
        kernel.source_arg_types = [_DOUBLE_WORD.sub(r"float\1", t) if t else t
                                   for t in kernel.source_arg_types]
        for arg in fn.args:
            arg.attrs = [_DOUBLE_WORD.sub("float", a) if "double" in a else a
                         for a in arg.attrs]


class _Offsets:
    """Byte offsets inside a type before demotion -> after (None: not a scalar's start)."""

    def __init__(self, layout: DataLayout, old: dict[str, StructType | None],
                 new: dict[str, StructType | None]) -> None:
        self.layout, self.old, self.new = layout, old, new

    def changes(self, ty: Type) -> bool:
        if isinstance(ty, NamedStructType):
            body = self.old.get(ty.name)
            return body is not None and _has_double(body)
        if isinstance(ty, StructType):
            return any(self.changes(f) for f in ty.fields)
        if isinstance(ty, VectorType | ArrayType):
            return self.changes(ty.element)
        return ty == F64

    def remap(self, ty: Type, offset: int) -> int | None:
        if offset == 0:
            return 0
        if isinstance(ty, VectorType | ArrayType):
            old_size = self.layout.alloc_size(ty.element, self.old)
            new_size = self.layout.alloc_size(_demoted(ty.element), self.new)
            index, rest = divmod(offset, old_size)
            inner = self.remap(ty.element, rest)
            return None if inner is None else index * new_size + inner
        if isinstance(ty, StructType | NamedStructType):
            old_offsets, old_total, _ = self.layout.struct_layout(ty, self.old)
            new_offsets, new_total, _ = self.layout.struct_layout(
                _demoted(ty) if isinstance(ty, StructType) else ty, self.new)
            if offset >= old_total:  # past the end: the next element of an array of them
                index, rest = divmod(offset, old_total)
                inner = self.remap(ty, rest)
                return None if inner is None else index * new_total + inner
            fields = ty.fields if isinstance(ty, StructType) else \
                self.old[ty.name].fields  # type: ignore[union-attr]
            for k in range(len(old_offsets) - 1, -1, -1):
                if old_offsets[k] <= offset:
                    inner = self.remap(fields[k], offset - old_offsets[k])
                    return None if inner is None else new_offsets[k] + inner
        return None


def _pointee(ptr: Value) -> Type | None:
    """The type that ``ptr`` points at the start of, when the IR says so."""
    if isinstance(ptr, Argument):
        return pointee_from_attributes(ptr.attrs)
    if isinstance(ptr, GetElementPtr) and len(ptr.ops) == 2 and ptr.source_type != I8:
        return ptr.source_type
    return None


def _move_byte_offsets(fn: Function, offsets: _Offsets) -> None:
    for inst in fn.instructions():
        if not (isinstance(inst, GetElementPtr) and inst.source_type == I8 and
                len(inst.ops) == 2):
            continue
        ty = _pointee(inst.ops[0])
        if ty is None or not offsets.changes(ty):
            continue
        offset = inst.ops[1]
        moved = offsets.remap(ty, offset.value) if isinstance(offset, ConstantInt) else None
        if moved is None:
            raise CompileError(
                f"--f64=demote cannot move a byte-offset access into '{ty}' in @{fn.name} "
                "(its double parts become float, so its layout changes)",
                inst.location or fn.location,
                "use float in the data structure, or index its fields by type")
        inst.ops[1] = ConstantInt(offset.ty, value=moved)
