"""Frames laid out by lane: each frame field as an array over a threadgroup's threads.

Expects: a step function from :func:`~.hostir.make_step_function` whose frame (parameter
``%__air_frame``) is reached only through the GEPs that step made: field ``i`` of the
frame struct (``getelementptr %__air_frame, ptr %frame, i32 0, i32 i``) and the SIMD-group
call slots (``getelementptr i8, ptr %frame, i64 offset``, each used only as the address
of loads and stores); the module's data layout is the host's.

Guarantees: the step function takes one more parameter, ``i32 %__air_thread`` (the
thread's index in its threadgroup), and ``%__air_frame`` points at the frames of the
whole threadgroup (``LANE_CAP * frame_size`` bytes): what sits at byte ``offset`` of a
thread's frame (a field, or a SIMD-group slot) now sits at ``offset * LANE_CAP +
thread * stride``, ``stride`` being the size of what is stored there (for a slot, of the
largest type any call site keeps there: :class:`LaneLayout`). The frames of different
threads never overlap, and neither do different fields.

Why: in thread order, a value that each thread keeps across a SIMD-group call, or a call's
operand or result, now lies in one contiguous array. A round's loop over the threads (in
:mod:`.rounds`) then reads and writes consecutive addresses, which LLVM vectorizes, and the
resolvers of :mod:`.lockstep` read a SIMD group's operands as one small array (a shuffle
with a constant lane operand is one vector load and a ``shufflevector``) instead of one
load per frame. ``LANE_CAP`` is a constant, not the
threadgroup's size, so LLVM sees that two fields' arrays are apart (no run-time overlap
checks); it is 1,024 threads (Metal's most per threadgroup, which
:func:`~llvm_to_air.plan.plan_dispatch` enforces) and one cache line more, so the fields'
arrays do not all start at the same offset modulo 4 KiB (the first-level cache's sets,
and store-to-load forwarding, would make them collide).
"""

from __future__ import annotations

from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.model import (
    Argument,
    BinaryOp,
    Cast,
    ConstantInt,
    Function,
    GetElementPtr,
    Instruction,
    Load,
    Module,
    Store,
)
from llvm_to_air.ir.types import I8, I32, I64, NamedStructType, StructType, Type
from llvm_to_air.plan import MAX_THREADS_PER_THREADGROUP
from llvm_to_air.runner.hostir import FRAME_PARAM, FRAME_TYPE, SimdSlots, add_param

LANE_CAP = MAX_THREADS_PER_THREADGROUP + 16
THREAD_PARAM = "__air_thread"


@dataclass(frozen=True)
class LaneLayout:
    """The stride between threads of each SIMD-group slot (by its byte offset in a frame);
    :mod:`.lockstep` reads and writes the slots through it."""

    slots: SimdSlots
    strides: dict[int, int]

    def slot_stride(self, offset: int) -> int:
        """Bytes from one thread's value in the slot at ``offset`` to the next thread's
        (any stride up to the slot's size is safe for a slot the kernel never touches)."""
        return self.strides.get(offset, self.slots.slot)


def _bug(what: str) -> CompileError:
    return CompileError(f"the runner's lane layout met {what}",
                        hint="this is a bug in llvm-to-air's runner")


def _slot_strides(fn: Function, frame: Argument, layout: DataLayout,
                  structs: dict[str, StructType | None], slot: int) -> dict[int, int]:
    """Each SIMD-group slot's stride: the largest allocation size of the types that any
    call site loads from or stores at it (one stride for all of them: a thread waiting at
    one site must not overwrite a slot of another thread waiting at another), or the
    slot's size where a type is larger (its store size still fits: unaligned, which the
    frame's loads and stores allow)."""
    offsets: dict[int, int] = {}
    for inst in fn.instructions():
        if isinstance(inst, GetElementPtr) and inst.ops and inst.ops[0] is frame \
                and inst.source_type == I8:
            at = inst.ops[1] if len(inst.ops) == 2 else None
            if not isinstance(at, ConstantInt):
                raise _bug("a frame address that is neither a field nor a SIMD-group slot")
            offsets[id(inst)] = at.value
    strides: dict[int, int] = {}
    for inst in fn.instructions():
        for k, op in enumerate(inst.ops):
            if id(op) not in offsets:
                continue
            if isinstance(inst, Load):
                ty = inst.ty
            elif isinstance(inst, Store) and k == 1:
                ty = inst.ops[0].ty
            else:
                raise _bug("a SIMD-group slot address used other than by a load or store")
            size = min(slot, layout.alloc_size(ty, structs))
            strides[offsets[id(op)]] = max(size, strides.get(offsets[id(op)], 1))
    return strides


def _offset(gep: GetElementPtr, offsets: list[int], field_types: list[Type], lanes: LaneLayout,
            layout: DataLayout, structs: dict[str, StructType | None]) -> tuple[int, int]:
    """(byte offset in one thread's frame, stride between threads) of a frame GEP."""
    if isinstance(gep.source_type, NamedStructType) and gep.source_type.name == FRAME_TYPE:
        index = gep.ops[2] if len(gep.ops) == 3 else None
        if not isinstance(index, ConstantInt):
            raise _bug("a frame address that is not one field")
        return offsets[index.value], layout.alloc_size(field_types[index.value], structs)
    at = gep.ops[1]
    assert isinstance(at, ConstantInt)  # checked by _slot_strides
    return at.value, lanes.slot_stride(at.value)


def lay_out_lanes(module: Module, fn: Function, slots: SimdSlots, frame_fields: list[Type]) \
        -> LaneLayout:
    """Re-address the frame of step function ``fn`` by lane (see the module docstring)."""
    layout = DataLayout.parse(module.datalayout)
    structs = module.structs  # type: ignore[assignment]
    offsets, _, _ = layout.struct_layout(StructType(tuple(frame_fields)), structs)  # type: ignore[arg-type]
    frame = next((a for a in fn.args if a.name == FRAME_PARAM), None)
    if not isinstance(frame, Argument):
        raise _bug("a step function without a frame")
    lanes = LaneLayout(slots, _slot_strides(fn, frame, layout, structs, slots.slot))
    thread = add_param(fn, I32, THREAD_PARAM)
    thread64 = Cast(I64, opcode="zext", ops=[thread])
    entry = fn.blocks[0]
    thread64.parent = entry
    entry.instructions.insert(0, thread64)
    for block in fn.blocks:
        edited: list[Instruction] = []
        for inst in block.instructions:
            if any(op is frame for op in inst.ops):
                if not isinstance(inst, GetElementPtr) or inst.ops[0] is not frame:
                    raise _bug(f"a '{inst.opcode}' that uses the frame pointer itself")
                offset, stride = _offset(inst, offsets, frame_fields, lanes, layout, structs)
                scaled = BinaryOp(I64, opcode="mul", flags=("nuw", "nsw"), parent=block,
                                  ops=[thread64, ConstantInt(I64, value=stride)])
                moved = BinaryOp(I64, opcode="add", flags=("nuw", "nsw"), parent=block,
                                 ops=[scaled, ConstantInt(I64, value=offset * LANE_CAP)])
                edited += [scaled, moved]
                inst.source_type = I8
                inst.ops = [frame, moved]
            edited.append(inst)
        block.instructions = edited
    return lanes


__all__ = ["LANE_CAP", "THREAD_PARAM", "LaneLayout", "lay_out_lanes"]
