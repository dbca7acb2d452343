"""Small clean-ups the AIR stages rely on: aggregate forwarding and dead-code removal.

``forward_aggregates``: an ``extractvalue`` of an ``insertvalue`` chain (how
``mlir-translate`` builds memref descriptors) becomes the inserted value, so
pointers no longer travel inside structs whose field types would need
address spaces. ``load_pointer_fields``: a whole struct holding pointers that is
loaded only to take fields out (-O0 copies of cooperative groups' ``thread_block``)
is read field by field, for the same reason. ``remove_dead_code``: instructions
without side effects whose results are unused are deleted, repeatedly.

Expects a module with kernels inlined. Guarantees the same behaviour; never touches
stores, calls or terminators, and loads only as ``load_pointer_fields`` says.
"""

from __future__ import annotations

from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import insert_before, remove, replace_all_uses, users
from llvm_to_air.ir.model import (
    BinaryOp,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    ExtractValue,
    Freeze,
    Function,
    GetElementPtr,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    Module,
    Phi,
    Select,
    ShuffleVector,
    UnaryOp,
    Value,
)
from llvm_to_air.ir.types import (
    I32,
    ArrayType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
)
from llvm_to_air.metadata.target import AIR_DATALAYOUT

_PURE = (BinaryOp, UnaryOp, Cast, Compare, Select, GetElementPtr, ExtractValue, InsertValue,
         ExtractElement, InsertElement, ShuffleVector, Freeze, Phi)


def forward_aggregates(module: Module, roots: list[Function]) -> None:
    for fn in roots:
        mapping: dict[Value, Value] = {}
        for inst in fn.instructions():
            if isinstance(inst, ExtractValue):
                found = _inserted_value(inst.ops[0], inst.indices)
                if found is not None:
                    mapping[inst] = mapping.get(found, found)
        replace_all_uses(fn.instructions(), mapping)


def load_pointer_fields(module: Module, roots: list[Function]) -> None:
    """``%a = load %S, ptr %p`` whose users are all ``extractvalue`` of a struct with pointer
    fields becomes one ``getelementptr`` + ``load`` per field taken: a field's pointer can then
    get its own address space (an ``extractvalue`` keeps the struct's generic field type)."""
    layout = DataLayout.parse(AIR_DATALAYOUT)
    for fn in roots:
        table = users(fn)
        for load in [i for i in fn.instructions() if isinstance(i, Load)]:
            uses = table.get(load, [])
            if not uses or load.volatile or load.ordering is not None or \
                    not _holds_pointers(load.ty, module.structs) or \
                    not all(isinstance(u, ExtractValue) and k == 0 for u, k in uses):
                continue
            for user, _ in uses:
                assert isinstance(user, ExtractValue)
                indices = [ConstantInt(I32, value=0)] + [ConstantInt(I32, value=i)
                                                         for i in user.indices]
                address = GetElementPtr(load.ops[0].ty, opcode="getelementptr",
                                        ops=[load.ops[0], *indices], source_type=load.ty,
                                        flags=("inbounds",))
                offset = _offset(layout, load.ty, user.indices, module.structs)
                align = load.align or 1
                while offset % align:
                    align //= 2
                field = Load(user.ty, opcode="load", ops=[address], align=align,
                             name=user.name)
                insert_before(user, [address, field])
                replace_all_uses(fn.instructions(), {user: field})
                remove(user)
            remove(load)


def _holds_pointers(ty: Type, structs: dict[str, StructType | None], depth: int = 0) -> bool:
    if isinstance(ty, NamedStructType):
        body = structs.get(ty.name)
        return body is not None and depth < 16 and _holds_pointers(body, structs, depth + 1)
    if isinstance(ty, StructType):
        return any(_holds_pointers(f, structs, depth + 1) for f in ty.fields)
    if isinstance(ty, ArrayType):
        return _holds_pointers(ty.element, structs, depth + 1)
    return isinstance(ty, PointerType)


def _offset(layout: DataLayout, ty: Type, indices: list[int],
            structs: dict[str, StructType | None]) -> int:
    offset = 0
    for index in indices:
        if isinstance(ty, ArrayType):
            offset += index * layout.alloc_size(ty.element, structs)
            ty = ty.element
        else:
            assert isinstance(ty, StructType | NamedStructType)
            offsets, _, _ = layout.struct_layout(ty, structs)
            offset += offsets[index]
            body = structs.get(ty.name) if isinstance(ty, NamedStructType) else ty
            assert body is not None
            ty = body.fields[index]
    return offset


def _inserted_value(aggregate: Value, indices: list[int]) -> Value | None:
    """The value an insertvalue chain put at ``indices``, or None if not statically known."""
    while isinstance(aggregate, InsertValue):
        where = aggregate.indices
        if where == indices:
            return aggregate.ops[1]
        common = min(len(where), len(indices))
        if where[:common] == indices[:common]:
            return None  # partial overlap: a sub-aggregate was inserted
        aggregate = aggregate.ops[0]
    return None


def remove_dead_code(module: Module, roots: list[Function]) -> None:
    for fn in roots:
        while True:
            used: set[int] = set()
            for inst in fn.instructions():
                used.update(id(op) for op in inst.ops)
            removed = False
            for block in fn.blocks:
                kept: list[Instruction] = []
                for inst in block.instructions:
                    if isinstance(inst, _PURE) and id(inst) not in used:
                        removed = True
                        continue
                    kept.append(inst)
                block.instructions = kept
            if not removed:
                break
