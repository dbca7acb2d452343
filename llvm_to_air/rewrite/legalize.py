"""Legalization: what Apple GPUs cannot run becomes an error, a safe form, or (on request) float.

* ``legalize_types`` (before intrinsic lowering): ``double`` is an error naming
  the instruction, or with ``--f64=demote`` every double becomes float
  (``fpext``/``fptrunc`` between them vanish, math calls take their float
  names); integers wider than 64 bits are an error.
* ``legalize`` (after it): inline assembly is an error (PTX/GCN text means
  nothing to an Apple GPU); ``llvm.trap``/``llvm.debugtrap`` are removed with a
  warning (a trap wedges the GPU); ``unreachable`` in a kernel becomes
  ``ret void`` so an impossible path exits instead of running off the end.

Expects kernels inlined. Guarantees no f64/i128 types, inline asm or traps remain.
"""

from __future__ import annotations

import re
import struct

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Alloca,
    BasicBlock,
    Call,
    Cast,
    ConstantFP,
    Function,
    GetElementPtr,
    InlineAsm,
    Instruction,
    Module,
    Phi,
    Poison,
    Return,
    Unreachable,
    Value,
)
from llvm_to_air.ir.types import (
    F32,
    F64,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    StructType,
    Type,
    VectorType,
    contains_type,
    map_leaves,
)
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.f64_demote import demote_signatures

TRAPS = ("llvm.trap", "llvm.debugtrap", "llvm.ubsantrap")


def legalize_types(module: Module, ctx: LoweringContext) -> None:
    if ctx.options.f64 == "demote":
        demote_signatures(module, ctx)
    for kernel in ctx.kernels:
        fn = kernel.function
        # a kernel's instructions share a few type objects: each is asked about once, and
        # the instructions are searched (for the message) only when one is illegal
        operand_types, own_types = _types_used(fn)
        if any(_wide(ty) for ty in operand_types):
            for inst in fn.instructions():
                if _wide_int(inst):
                    raise CompileError(
                        f"'{inst.opcode}' in @{fn.name} uses an integer wider than 64 bits",
                        inst.location or fn.location, hint="Apple GPUs have no i128 arithmetic")
        if ctx.options.f64 == "demote":
            _demote_doubles(fn)
            continue
        if not any(_has_double(ty) for ty in (*operand_types, *own_types)):
            continue
        for inst in fn.instructions():
            if _uses_double(inst):
                raise CompileError(
                    f"'{inst.opcode}' in @{fn.name} uses double precision, which Apple GPUs "
                    "do not have", inst.location or fn.location,
                    hint="use float, or pass --f64=demote to compute in float")
    for gv in module.globals:
        if contains_type(gv.value_type, FloatType) and _has_double(gv.value_type):
            if ctx.options.f64 != "demote":
                raise CompileError(f"global @{gv.name} holds double precision values",
                                   gv.location, hint="pass --f64=demote to store floats")


def legalize(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            kept: list[Instruction] = []
            for inst in block.instructions:
                if isinstance(inst, Call) and isinstance(inst.callee, InlineAsm):
                    raise CompileError(
                        f"inline assembly in @{fn.name} ('{_one_line(inst.callee.asm)}') cannot run "
                        "on Apple GPUs", inst.location or fn.location,
                        hint="write the operation in IR or with a builtin instead")
                callee = inst.callee_function if isinstance(inst, Call) else None
                if callee is not None and callee.name in TRAPS:
                    ctx.warnings.append(CompileError(
                        f"removed a call to {callee.name} in @{fn.name}: a trap wedges Apple "
                        "GPUs, so the thread ends there instead of aborting the kernel",
                        inst.location or fn.location))
                    # a trap never returns: the thread ends here (at -O0 clang branches on
                    # after it, so what follows must go, or the thread would run on)
                    _end_block_at(block, block.instructions.index(inst), mapping)
                    kept.append(Return(VOID, opcode="ret", parent=block,
                                       location=inst.location))
                    break
                if isinstance(inst, Unreachable) and isinstance(fn.function_type.ret,
                                                                type(VOID)):
                    inst = Return(VOID, opcode="ret", parent=block, location=inst.location)
                kept.append(inst)
            block.instructions = kept
        replace_all_uses(fn.instructions(), mapping)


def _end_block_at(block: BasicBlock, index: int, mapping: dict[Value, Value]) -> None:
    """Forget ``block``'s instructions from ``index`` on: its successors lose it as a
    predecessor, and the values it no longer defines (used only where it cannot be
    reached now) become ``poison``."""
    for successor in block.successors():
        for phi in successor.instructions:
            if not isinstance(phi, Phi):
                break
            keep = [k for k, pred in enumerate(phi.blocks) if pred is not block]
            phi.ops = [phi.ops[k] for k in keep]
            phi.blocks = [phi.blocks[k] for k in keep]
    for dropped in block.instructions[index:]:
        if dropped.ty != VOID:
            mapping[dropped] = Poison(dropped.ty)


# ------------------------------------------------------------------- doubles

def _has_double(ty: Type) -> bool:
    if isinstance(ty, FloatType):
        return ty.kind == "double"
    if isinstance(ty, VectorType | ArrayType):
        return _has_double(ty.element)
    if isinstance(ty, StructType):
        return any(_has_double(f) for f in ty.fields)
    if isinstance(ty, FunctionType):
        return _has_double(ty.ret) or any(_has_double(p) for p in ty.params)
    return False


def _types_used(fn: Function) -> tuple[list[Type], list[Type]]:
    """The distinct type objects of ``fn``'s instructions and operands (callees aside: what
    :func:`_wide_int` looks at), and of their source and allocated types (what
    :func:`_uses_double` looks at besides)."""
    operand_types: dict[int, Type] = {}
    own_types: dict[int, Type] = {}
    for inst in fn.instructions():
        operand_types[id(inst.ty)] = inst.ty
        for op in inst.ops:
            if not isinstance(op, Function):
                operand_types[id(op.ty)] = op.ty
        for ty in (getattr(inst, "source_type", VOID), getattr(inst, "allocated_type", VOID)):
            own_types[id(ty)] = ty
    return list(operand_types.values()), list(own_types.values())


def _uses_double(inst: Instruction) -> bool:
    return (_has_double(inst.ty) or any(_has_double(op.ty) for op in inst.ops
                                        if not isinstance(op, Function))
            or _has_double(getattr(inst, "source_type", VOID))
            or _has_double(getattr(inst, "allocated_type", VOID)))


def _wide(ty: Type) -> bool:
    if isinstance(ty, IntType):
        return ty.bits > 64
    if isinstance(ty, VectorType | ArrayType):
        return _wide(ty.element)
    if isinstance(ty, StructType):
        return any(_wide(f) for f in ty.fields)
    return False


def _wide_int(inst: Instruction) -> bool:
    return _wide(inst.ty) or any(_wide(op.ty) for op in inst.ops if not isinstance(op, Function))


def _demoted(ty: Type) -> Type:
    return map_leaves(ty, lambda leaf: F32 if leaf == F64 else leaf)


def _float_constant(text: str) -> str:
    """A double constant's text as the nearest float, spelled as LLVM prints floats."""
    if text.startswith("0x") and len(text) == 18:
        value = struct.unpack(">d", bytes.fromhex(text[2:]))[0]
    else:
        value = float(text)
    rounded = struct.unpack("<f", struct.pack("<f", value))[0]
    return "0x" + struct.pack(">d", rounded).hex().upper()


def _demote_doubles(fn: Function) -> None:
    mapping: dict[Value, Value] = {}
    for arg in fn.args:
        arg.ty = _demoted(arg.ty)
    fn.function_type = _demoted(fn.function_type)  # type: ignore[assignment]
    for inst in fn.instructions():
        inst.ty = _demoted(inst.ty)
        if isinstance(inst, GetElementPtr):
            inst.source_type = _demoted(inst.source_type)
        elif isinstance(inst, Alloca):
            inst.allocated_type = _demoted(inst.allocated_type)
        for k, op in enumerate(inst.ops):
            if isinstance(op, ConstantFP) and op.ty == F64:
                inst.ops[k] = ConstantFP(F32, text=_float_constant(op.text))
        if isinstance(inst, Cast) and inst.opcode in ("fpext", "fptrunc") and \
                _demoted(inst.ops[0].ty) == inst.ty:
            mapping[inst] = inst.ops[0]
        if isinstance(inst, Call):
            inst.function_type = _demoted(inst.function_type)  # type: ignore[assignment]
            callee = inst.callee_function
            if callee is not None and _has_double(callee.function_type):
                callee.name = _float_name(callee.name)
                callee.function_type = _demoted(callee.function_type)  # type: ignore
                for arg in callee.args:
                    arg.ty = _demoted(arg.ty)
    for block in fn.blocks:
        block.instructions = [i for i in block.instructions if i not in mapping]
    replace_all_uses(fn.instructions(), mapping)


def _float_name(name: str) -> str:
    """``llvm.sin.f64`` -> ``llvm.sin.f32``; ``__nv_sin`` -> ``__nv_sinf``; ``_Z3sind`` ->
    ``_Z3sinf``; ``__ocml_sin_f64`` -> ``__ocml_sin_f32``."""
    if name.startswith("llvm."):
        return name.replace(".f64", ".f32")
    if name.startswith("__nv_"):
        return name + "f"
    if name.startswith("__ocml_"):
        return name.replace("_f64", "_f32")
    match = re.match(r"_Z(\d+)", name)
    if match:  # Itanium mangling: the parameter types follow the name
        end = match.end() + int(match.group(1))
        return name[:end] + name[end:].replace("d", "f")
    return name


__all__ = ["legalize", "legalize_types"]


def _one_line(asm: str, limit: int = 60) -> str:
    """An asm string for a one-line message: statements joined, cut at ``limit``."""
    text = "; ".join(part.strip() for part in asm.replace("\n", ";").split(";") if part.strip())
    return text if len(text) <= limit else text[:limit] + "..."
