"""Building blocks of intrinsic lowering shared by every family of :mod:`intrinsics`.

:class:`AirBuilder` declares ``air.*`` functions once per module with Apple's
declaration and call-site attributes (:data:`_ATTRIBUTES`) and builds calls to
them; :func:`type_suffix` spells types as AIR names do; :class:`Rewrite` is
what lowering one instruction yields; :class:`LoweringBase` holds the state of
lowering one kernel and the ``emit``/``done``/``error`` helpers the family
mixins (:mod:`intrinsic_math`, :mod:`intrinsic_sync`, :mod:`intrinsic_simd`)
build on.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Alloca, Argument, Call, Function, Instruction, Module, Value
from llvm_to_air.ir.types import (
    I32,
    I64,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext

# Declaration and call-site attributes Apple writes, per kind of AIR function.
_ATTRIBUTES: dict[str, tuple[list[str], list[str]]] = {
    "math": (["mustprogress", "nofree", "nosync", "nounwind", "readnone", "willreturn"],
             ["nounwind", "readnone", "willreturn"]),
    "sync": (["convergent", "mustprogress", "nounwind", "willreturn"],
             ["convergent", "nounwind", "willreturn"]),
    "atomic": (["mustprogress", "nounwind", "willreturn"], ["nounwind", "willreturn"]),
    "fence": (["nounwind"], ["nounwind"]),
}
_F32 = FloatType("float")
_ATOMIC_VALUE_TYPES: dict[str, Type] = {"i32": I32, "i64": I64, "f32": _F32}


def type_suffix(ty: Type) -> str:
    """AIR's type spelling in names: ``f32``, ``i16``, ``v4f32``."""
    if isinstance(ty, VectorType):
        return f"v{ty.count}{type_suffix(ty.element)}"
    if isinstance(ty, IntType):
        return f"i{ty.bits}"
    if isinstance(ty, FloatType):
        return {"half": "f16", "bfloat": "bf16", "float": "f32", "double": "f64"}[ty.kind]
    raise CompileError(f"type {ty} has no AIR intrinsic form")


def _scalar(ty: Type) -> Type:
    return ty.element if isinstance(ty, VectorType) else ty


# ------------------------------------------------------------------ builder


class AirBuilder:
    """Declares ``air.*`` functions once per module and builds calls to them."""

    def __init__(self, module: Module, ctx: LoweringContext) -> None:
        self.module = module
        self.ctx = ctx

    def declare(self, name: str, fnty: FunctionType, kind: str,
                param_attrs: list[list[str]] | None = None) -> Function:
        fn = self.module.get_function(name)
        if fn is not None:
            if fn.function_type != fnty:
                raise CompileError(f"{name} is used with two different types ({fn.function_type}"
                                   f" and {fnty})")
            return fn
        decl_attrs, _ = _ATTRIBUTES[kind]
        # Atomics point at their value type, as Apple declares them (i32 addrspace(1)* ...).
        pointee = _ATOMIC_VALUE_TYPES.get(name.rsplit(".", 1)[-1]) if kind == "atomic" else None
        fn = Function(PointerType(0), name=name, function_type=fnty, fn_attrs=list(decl_attrs),
                      args=[Argument(p, attrs=list((param_attrs or [])[k])
                                     if param_attrs and k < len(param_attrs) else [],
                                     pointee_hint=pointee if isinstance(p, PointerType) else None)
                            for k, p in enumerate(fnty.params)])
        self.module.functions.append(fn)
        return fn

    def call(self, name: str, ret: Type, args: list[Value], kind: str, *,
             fast: bool = False, param_attrs: list[list[str]] | None = None,
             result_name: str | None = None) -> Call:
        fnty = FunctionType(ret, tuple(a.ty for a in args))
        fn = self.declare(name, fnty, kind, param_attrs)
        _, call_attrs = _ATTRIBUTES[kind]
        flags = ("fast",) if fast and isinstance(_scalar(ret), FloatType) else ()
        return Call(ret, opcode="call", ops=[*args, fn], function_type=fnty, tail="tail",
                    flags=flags, arg_attrs=[list(a) for a in (param_attrs or [])] +
                    [[] for _ in range(len(args) - len(param_attrs or []))],
                    fn_attrs=list(call_attrs), name=result_name)


@dataclass
class Rewrite:
    """New instructions (inserted before the old one) and the value replacing it (if any)."""

    instructions: list[Instruction]
    value: Value | None

    def with_value(self) -> Rewrite:
        """This rewrite, its last instruction being the replacement value."""
        self.value = self.instructions[-1]
        return self


class LoweringBase:
    """State of lowering one kernel, and the helpers every family of lowerings uses."""


    def __init__(self, module: Module, ctx: LoweringContext, kernel: KernelSignature) -> None:
        self.module = module
        self.ctx = ctx
        self.kernel = kernel
        self.fn = kernel.function
        self.air = AirBuilder(module, ctx)
        self.new: list[Instruction] = []
        self.entry_allocas: list[Alloca] = []

    def emit(self, inst: Instruction) -> Instruction:
        self.new.append(inst)
        return inst

    def done(self, value: Value | None) -> Rewrite:
        return Rewrite(self.new, value)

    def error(self, inst: Instruction, message: str, hint: str | None = None) -> CompileError:
        return CompileError(f"{message} in @{self.fn.name}", inst.location or self.fn.location,
                            hint)

    @property
    def fast(self) -> bool:
        return self.ctx.fast_math
