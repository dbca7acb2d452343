"""Linked libdevice: ``__nv_*`` definitions become the declarations they stand for.

When clang, MLIR's ``gpu-module-to-binary`` or ``llvm-link`` link NVIDIA's libdevice into a
module, calls to ``__nv_sinf`` reach a *definition* whose body is PTX-specific (rounding-mode
NVVM intrinsics, ``__nvvm_reflect``, bit tricks tuned for NVIDIA's hardware). The function's
name says what it computes, so the body is dropped and the call lowered like a call to the
declaration, to the ``air.*`` function (``intrinsics.Lowering._libdevice``).

Expects: a module as the reader returns it, before ``inline_into_kernels``.
Guarantees: every defined ``__nv_<name>`` that the libdevice table maps (``FLOAT_OPS``,
``LIBDEVICE_INT``, ``fdivide``, ``sincos``, ``powi``, with ``fast_`` prefixes and the ``f``
suffix of float forms) is a declaration with external linkage and no body attributes;
other ``__nv_*`` definitions (``__nv_isinff``, ``__nv_float2half_rn``...) stay defined and
are inlined like any helper.
"""

from __future__ import annotations

from llvm_to_air.ir.model import Argument, Call, Function, Module
from llvm_to_air.ir.types import FloatType, IntType, PointerType, Type, VectorType
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.context import LoweringContext

_SPECIAL = ("fdivide", "sincos", "powi")

# libdevice rounding-mode functions -> the NVVM intrinsic their body computes (``nvvm_rounding``
# lowers those exactly, or to nearest with a warning where AIR lacks the rounding).
_ROUNDINGS = {"rn": "rn", "rz": "rz", "rd": "rm", "ru": "rp"}
_ROUNDING_FAMILIES = {
    "float2int": "f2i", "float2uint": "f2ui", "float2ll": "f2ll", "float2ull": "f2ull",
    "int2float": "i2f", "uint2float": "ui2f", "ll2float": "ll2f", "ull2float": "ull2f",
    "fadd": "add.{}.f", "fmul": "mul.{}.f", "fdiv": "div.{}.f", "fmaf": "fma.{}.f",
}
LIBDEVICE_TO_NVVM: dict[str, str] = {
    f"__nv_{family}_{mode}": "llvm.nvvm." + (
        nvvm.format(ptx) if "{}" in nvvm else f"{nvvm}.{ptx}")
    for family, nvvm in _ROUNDING_FAMILIES.items() for mode, ptx in _ROUNDINGS.items()
}
# attributes that only a function with a body may carry
_BODY_ONLY = ("alwaysinline", "noinline", "optnone")


def _scalar(ty: Type) -> Type:
    return ty.element if isinstance(ty, VectorType) else ty


def libdevice_stands_for(fn: Function) -> bool:
    """Whether ``fn`` is a libdevice function that the intrinsic stage lowers by name."""
    if not fn.name.startswith("__nv_"):
        return False
    base = fn.name[5:]
    ret = _scalar(fn.function_type.ret)
    if base in T.LIBDEVICE_INT:
        return isinstance(ret, IntType)
    stem = base[5:] if base.startswith("fast_") else base
    if stem.endswith("f"):
        stem = stem[:-1]
    if stem == "sincos":
        return True
    return (stem in T.FLOAT_OPS or stem in _SPECIAL) and isinstance(ret, FloatType)


def recognize_libdevice(module: Module, ctx: LoweringContext) -> None:
    _retarget_rounding_functions(module)
    for fn in module.functions:
        if fn.is_declaration or not libdevice_stands_for(fn):
            continue
        fn.blocks = []
        fn.linkage = ""
        fn.comdat = None
        fn.personality = None
        fn.metadata = []
        fn.qualifiers = [q for q in fn.qualifiers if q not in ("hidden", "protected",
                                                               "dso_local")]
        fn.fn_attrs = [a for a in fn.fn_attrs if a not in _BODY_ONLY]


def _retarget_rounding_functions(module: Module) -> None:
    """Calls to ``__nv_float2int_rn`` & co. (defined or declared) call the NVVM intrinsic."""
    targets: dict[Function, Function] = {}
    for fn in list(module.functions):
        nvvm = LIBDEVICE_TO_NVVM.get(fn.name)
        if nvvm is None:
            continue
        decl = module.get_function(nvvm)
        if decl is None or decl.function_type != fn.function_type:
            decl = Function(PointerType(0), name=nvvm, function_type=fn.function_type,
                            fn_attrs=["nounwind", "readnone"],
                            args=[Argument(p) for p in fn.function_type.params])
            module.functions.append(decl)
        targets[fn] = decl
    if not targets:
        return
    for fn in module.functions:
        for inst in fn.instructions():
            if isinstance(inst, Call) and inst.ops and inst.ops[-1] in targets:
                inst.ops[-1] = targets[inst.ops[-1]]  # type: ignore[index]


__all__ = ["LIBDEVICE_TO_NVVM", "libdevice_stands_for", "recognize_libdevice"]
