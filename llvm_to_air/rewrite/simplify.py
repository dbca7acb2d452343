"""Small clean-ups the AIR stages rely on: aggregate forwarding and dead-code removal.

``forward_aggregates``: an ``extractvalue`` of an ``insertvalue`` chain (how
``mlir-translate`` builds memref descriptors) becomes the inserted value, so
pointers no longer travel inside structs whose field types would need
address spaces. ``remove_dead_code``: instructions without side effects
whose results are unused are deleted, repeatedly.

Expects a module with kernels inlined. Guarantees the same behaviour with
fewer instructions; never touches loads, stores, calls or terminators.
"""

from __future__ import annotations

from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    BinaryOp,
    Cast,
    Compare,
    ExtractElement,
    ExtractValue,
    Freeze,
    Function,
    GetElementPtr,
    InsertElement,
    InsertValue,
    Instruction,
    Module,
    Phi,
    Select,
    ShuffleVector,
    UnaryOp,
    Value,
)

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
