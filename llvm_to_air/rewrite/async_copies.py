"""OpenCL's asynchronous work-group copies as copies the work-group does itself.

``async_work_group_copy(dst, src, n, event)`` and ``async_work_group_strided_copy(dst, src,
n, stride, event)`` copy ``n`` elements between global and local memory on behalf of the
whole work-group; ``wait_group_events`` waits for them (OpenCL C 3.0 section 6.15.11). Metal
has no asynchronous copy engine a kernel can start, so each work-item copies its share now

    for (i = local linear id; i < n; i += work-group size)  dst[i * ds] = src[i * ss]

(the stride applies to the global side: ``ss`` for global-to-local, ``ds`` for
local-to-global; 1 without a stride) and ``wait_group_events`` becomes a barrier over local
and global memory, which makes every share visible to the whole group, as the wait does.
Reading the destination before the wait is undefined in OpenCL, so doing the copy early
changes nothing a correct kernel can see. ``prefetch`` (a cache hint) is erased.

Events carry nothing any more: the calls' event results and what holds them (allocas of
``target("spirv.Event")``, their stores, loads, casts and lifetime markers) are removed.

Expects: kernels inlined, before address spaces are mapped and before the intrinsic and
built-in stages (it emits what :class:`~llvm_to_air.rewrite.group_code.GroupCode` emits).
Guarantees: no call to these built-ins and no event value remains; an event used any other
way is a located error naming the use.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import remove
from llvm_to_air.ir.model import (
    Alloca,
    Call,
    Cast,
    ConstantNull,
    Function,
    GetElementPtr,
    Instruction,
    Load,
    Module,
    Phi,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    F16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    VOID,
    ArrayType,
    IntType,
    PointerType,
    StructType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.demangle import demangle
from llvm_to_air.rewrite.group_code import GroupCode
from llvm_to_air.rewrite.images import is_event

COPIES = {"async_work_group_copy": False, "async_work_group_strided_copy": True}  # strided?
WAIT = "wait_group_events"
HINTS = frozenset({"prefetch"})

# Itanium codes of OpenCL's gentypes -> the element's LLVM type
_SCALARS: dict[str, Type] = {"c": I8, "a": I8, "h": I8, "s": I16, "t": I16, "i": I32, "j": I32,
                             "l": I64, "m": I64, "f": F32, "d": F64, "Dh": F16}
_GENTYPE = re.compile(r"P(?:U3AS\d)?[KVr]*(?:Dv(\d+)_)?(Dh|[cahstijlmfd])")


def lower_async_copies(module: Module, ctx: LoweringContext) -> None:
    for fn in module.functions:
        if fn.is_declaration:
            continue
        found = False
        for inst in list(fn.instructions()):
            if not isinstance(inst, Call) or inst.callee_function is None:
                continue
            base = _base_name(inst.callee_function.name)
            if base in COPIES:
                _copy(module, fn, inst, COPIES[base])
            elif base == WAIT:
                code = GroupCode(module, fn, inst, "wait")
                code.barrier()
                code.finish(None)
            elif base in HINTS:
                remove(inst)
            else:
                continue
            found = True
        if found:
            _remove_events(fn)


def _base_name(name: str) -> str | None:
    if not name.startswith("_Z") or not any(k in name for k in ("async_work", WAIT,
                                                                 *HINTS)):
        return None
    parsed = demangle(name)
    return parsed[0] if parsed else None


def _element(call: Call) -> Type:
    name = call.callee_function.name  # type: ignore[union-attr]
    m = _GENTYPE.search(name)
    if m is None:
        raise CompileError(f"'@{name}': cannot tell the copied element type from the name",
                           call.location, hint="use a scalar or vector OpenCL type")
    scalar = _SCALARS[m.group(2)]
    return VectorType(int(m.group(1)), scalar) if m.group(1) else scalar


def _copy(module: Module, fn: Function, call: Call, strided: bool) -> None:
    dst, src, count = call.args[0], call.args[1], call.args[2]
    stride = call.args[3] if strided else None
    element = _element(call)
    code = GroupCode(module, fn, call, "copy")
    assert isinstance(count.ty, IntType)
    width = count.ty
    ids, sizes = code.group()
    first = code.resize(code.linear(ids, sizes), width)
    step = code.resize(code.count(sizes), width)
    # the stride is on the global side: the source when copying into local memory
    into_local = isinstance(dst.ty, PointerType) and dst.ty.addrspace == 3

    def body(index: Value, _carried: list[Value], out: list[Instruction]) -> list[Value]:
        src_index = index if stride is None or not into_local else \
            code.binary("mul", index, stride, out)
        dst_index = index if stride is None or into_local else \
            code.binary("mul", index, stride, out)
        source = code.emit(GetElementPtr(src.ty, opcode="getelementptr",
                                         ops=[src, src_index], source_type=element), out)
        value = code.emit(Load(element, opcode="load", ops=[source]), out)
        target = code.emit(GetElementPtr(dst.ty, opcode="getelementptr",
                                         ops=[dst, dst_index], source_type=element), out)
        code.emit(Store(VOID, opcode="store", ops=[value, target]), out)
        return []

    code.counted_loop(first, count, step, [], body)
    event = call.ty
    code.finish(ConstantNull(event) if isinstance(event, PointerType) else Undef(event))


def _holds_events(ty: Type) -> bool:
    """An event, or an array or struct of them (``event_t events[2]``)."""
    if isinstance(ty, ArrayType | VectorType):
        return _holds_events(ty.element)
    if isinstance(ty, StructType):
        return any(_holds_events(t) for t in ty.fields)
    return is_event(ty)


# instructions that may carry an event or a place holding one; they go with it
_CARRIERS = (Store, Load, Cast, GetElementPtr, Phi, Select)
_LIFETIME = ("llvm.lifetime.start", "llvm.lifetime.end")


def _remove_events(fn: Function) -> None:
    """Remove event values (``target("spirv.Event")``) and what holds them."""
    dead: set[int] = set()
    changed = True
    while changed:
        changed = False
        for inst in fn.instructions():
            if id(inst) in dead:
                continue
            holds = _holds_events(inst.ty) or (isinstance(inst, Alloca) and
                                              _holds_events(inst.allocated_type))
            uses = [op for op in inst.ops if id(op) in dead or _holds_events(op.ty)]
            if not holds and not uses:
                continue
            if not holds and not isinstance(inst, _CARRIERS) and not _lifetime(inst):
                raise CompileError(f"an OpenCL event is used by '{inst.opcode}' in "
                                   f"@{fn.name}; only async copies and wait_group_events "
                                   "can use events here", inst.location)
            dead.add(id(inst))
            changed = True
    for inst in list(fn.instructions()):
        if id(inst) in dead:
            remove(inst)


def _lifetime(inst: Instruction) -> bool:
    callee = inst.callee_function if isinstance(inst, Call) else None
    return callee is not None and callee.name.startswith(_LIFETIME)
