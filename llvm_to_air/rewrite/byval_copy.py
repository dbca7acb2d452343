"""By-value parameters that the kernel writes: private copies (CUDA semantics).

In CUDA and HIP a by-value parameter is the kernel's own mutable copy (CUB and thrust
reductions update their ``num_items``/offset structs in place). Metal passes it in a
read-only constant buffer, so a written ``byval`` parameter gets a private copy at entry.

Expects: kernels before ``lower_kernel_abi`` (parameters still as the producer wrote them).
Guarantees: every ``byval`` pointer parameter that the kernel may write is used only by one
``llvm.memcpy`` at entry, into an ``alloca`` of its type that takes all its other uses;
read-only ones are untouched (they stay constant-buffer reads).
"""

from __future__ import annotations

from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import insert_at_entry, replace_all_uses, users
from llvm_to_air.ir.model import Alloca, Argument, Call, ConstantInt, Function, Module, Value
from llvm_to_air.ir.pointee import pointee_from_attributes
from llvm_to_air.ir.types import I1, I64, VOID, FunctionType, PointerType, StructType, Type

_MEMCPY = "llvm.memcpy.p0.p0.i64"


def copy_written_byval_parameters(module: Module, fn: Function, layout: DataLayout,
                                  structs: dict[str, StructType | None],
                                  size_align: object) -> None:
    from llvm_to_air.rewrite.abi import analyze_pointer_use

    table = users(fn)
    replacements: dict[Value, Value] = {}
    copies: list[tuple[Alloca, Argument, int]] = []
    for arg in fn.args:
        if not isinstance(arg.ty, PointerType):
            continue
        byval: Type | None = pointee_from_attributes(arg.attrs)
        if byval is None or not analyze_pointer_use(fn, arg, table).writes:
            continue
        size, align = size_align(byval, layout, structs)  # type: ignore[operator]
        slot = Alloca(PointerType(0), opcode="alloca", allocated_type=byval, align=align,
                      name=f"{arg.name}.copy" if arg.name else None, location=fn.location)
        replacements[arg] = slot
        copies.append((slot, arg, size))
    if not copies:
        return
    replace_all_uses(fn.instructions(), replacements)
    memcpy = _memcpy_declaration(module)
    entry = fn.blocks[0]
    for slot, _, _ in copies:
        slot.parent = entry
    entry.instructions[0:0] = [slot for slot, _, _ in copies]
    insert_at_entry(fn, [
        Call(VOID, opcode="call", ops=[slot, arg, ConstantInt(I64, value=size),
                                       ConstantInt(I1, value=0), memcpy],
             function_type=memcpy.function_type) for slot, arg, size in copies])


def _memcpy_declaration(module: Module) -> Function:
    fnty = FunctionType(VOID, (PointerType(0), PointerType(0), I64, I1))
    existing = module.get_function(_MEMCPY)
    if existing is not None and existing.function_type == fnty:
        return existing
    fn = Function(PointerType(0), name=_MEMCPY, function_type=fnty, fn_attrs=["nounwind"],
                  args=[Argument(p) for p in fnty.params])
    module.functions.append(fn)
    return fn
