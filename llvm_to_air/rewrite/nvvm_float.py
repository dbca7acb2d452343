"""NVVM's float intrinsics with rounding modes and ``.ftz``, as libdevice and CUDA's
headers call them, rewritten into plain LLVM IR that the intrinsic lowering maps.

PTX semantics (PTX ISA, "Floating-Point Instructions"):

* ``.rn`` is IEEE round-to-nearest-even, what plain LLVM ``fadd``/``fmul``/``llvm.fma``/
  ``fdiv``/``llvm.sqrt`` compute: exact.
* ``.rz``/``.rm``/``.rp`` (toward zero, down, up) have no AIR equivalent for
  arithmetic: computed with round-to-nearest, which can differ in the last bit; a
  warning says so where it happens.
* ``.ftz`` flushes subnormal inputs and results to zero, which Apple GPUs do for
  ``float`` anyway: dropped.
* ``.sat`` clamps the result to [0, 1] (NaN to 0): kept, through ``llvm.nvvm.saturate.f``.
* float-to-integer conversions with a rounding mode are exact: ``.rn`` rounds with
  ``llvm.roundeven``, ``.rm`` with ``llvm.floor``, ``.rp`` with ``llvm.ceil``, ``.rz``
  truncates, then ``fptosi``/``fptoui``.

Forms that :mod:`.nvvm_rounding` computes exactly inside the intrinsic lowering (directed
``add``/``mul``/``div``/``fma`` without ``.sat``, conversions, ``fabs``) are left to it.

Expects kernels inlined. Guarantees: no call to the other intrinsics above remains; the
``approx`` forms (``ex2.approx.ftz.f32`` ...) are renamed to the forms the intrinsic
tables know.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Argument,
    BinaryOp,
    Call,
    Cast,
    ConstantFP,
    Function,
    Instruction,
    Module,
    Value,
)
from llvm_to_air.ir.types import F32, I32, I64, FunctionType, PointerType, Type
from llvm_to_air.rewrite.context import LoweringContext

# op -> (plain LLVM form, number of operands): a binary opcode or an llvm.* intrinsic
ARITHMETIC = {"add": ("fadd", 2), "sub": ("fsub", 2), "mul": ("fmul", 2), "div": ("fdiv", 2),
              "fma": ("llvm.fma.f32", 3), "sqrt": ("llvm.sqrt.f32", 1), "rcp": ("rcp", 1)}
ROUNDINGS = {"rz": "toward zero", "rm": "toward -infinity", "rp": "toward +infinity"}
# float -> integer: the rounding function applied first (None: truncation)
TO_INTEGER_ROUNDING = {"rn": "llvm.roundeven.f32", "rz": None, "rm": "llvm.floor.f32",
                       "rp": "llvm.ceil.f32"}
TO_INTEGER = {"f2i": ("fptosi", I32), "f2ui": ("fptoui", I32), "f2ll": ("fptosi", I64),
              "f2ull": ("fptoui", I64)}
FROM_INTEGER = {"i2f": "sitofp", "ui2f": "uitofp", "ll2f": "sitofp", "ull2f": "uitofp"}
# approximations and others the intrinsic tables know by their ``.f`` names
RENAMED_SUFFIX = re.compile(r"^(llvm\.nvvm\.[a-z0-9]+(?:\.approx)?)(\.ftz)?\.f32$")
_ARITH_RE = re.compile(r"^llvm\.nvvm\.(?P<op>add|sub|mul|div|fma|sqrt|rcp)\.(?P<round>rn|rz|rm|rp)"
                       r"(?P<ftz>\.ftz)?(?P<sat>\.sat)?\.(?:f|f32)$")
_TO_INT_RE = re.compile(r"^llvm\.nvvm\.(?P<op>f2i|f2ui|f2ll|f2ull)\.(?P<round>rn|rz|rm|rp)"
                        r"(?:\.ftz)?$")
_FROM_INT_RE = re.compile(r"^llvm\.nvvm\.(?P<op>i2f|ui2f|ll2f|ull2f)\.(?P<round>rn|rz|rm|rp)$")
_FTZ_RE = re.compile(r"^(llvm\.nvvm\.[a-z0-9.]+?)\.ftz(\.f(?:32)?)$")


def lower_nvvm_float(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            rebuilt: list[Instruction] = []
            for inst in block.instructions:
                callee = inst.callee_function if isinstance(inst, Call) else None
                new = _rewrite(module, ctx, inst, callee.name) if callee is not None else None
                if new is None:
                    rebuilt.append(inst)
                    continue
                *before, result = new
                for made in new:
                    made.parent = block
                    made.location = inst.location
                rebuilt += [*before, result]
                mapping[inst] = result
            block.instructions = rebuilt
        if mapping:
            replace_all_uses(fn.instructions(), mapping)


def _declare(module: Module, name: str, ret: Type, params: tuple[Type, ...]) -> Function:
    found = module.get_function(name)
    if found is not None:
        return found
    fn = Function(PointerType(0), name=name, function_type=FunctionType(ret, params),
                  args=[Argument(p) for p in params])
    module.functions.append(fn)
    return fn


def _call(module: Module, name: str, ret: Type, args: list[Value]) -> Call:
    callee = _declare(module, name, ret, tuple(a.ty for a in args))
    return Call(ret, opcode="call", ops=[*args, callee], function_type=callee.function_type)


def _rewrite(module: Module, ctx: LoweringContext, call: Call, name: str) -> \
        list[Instruction] | None:
    if _handled_exactly(name):
        return None
    m = _ARITH_RE.match(name)
    if m is not None:
        return _arithmetic(module, ctx, call, m["op"], m["round"], bool(m["sat"]), name)
    m = _TO_INT_RE.match(name)
    if m is not None:
        opcode, ty = TO_INTEGER[m["op"]]
        value: Value = call.args[0]
        out: list[Instruction] = []
        rounding = TO_INTEGER_ROUNDING[m["round"]]
        if rounding is not None:
            rounded = _call(module, rounding, F32, [value])
            out.append(rounded)
            value = rounded
        out.append(Cast(ty, opcode=opcode, ops=[value]))
        return out
    m = _FROM_INT_RE.match(name)
    if m is not None:
        if m["round"] != "rn":
            _warn(ctx, call, name, m["round"])
        return [Cast(F32, opcode=FROM_INTEGER[m["op"]], ops=[call.args[0]])]
    m = _FTZ_RE.match(name) or RENAMED_SUFFIX.match(name)
    if m is not None:
        renamed = f"{m.group(1)}.f"
        if renamed != name:
            return [_call(module, renamed, call.ty, list(call.args))]
    return None


def _handled_exactly(name: str) -> bool:
    from llvm_to_air.rewrite.nvvm_rounding import _ARITH_RE as EXACT_ARITH
    from llvm_to_air.rewrite.nvvm_rounding import _F2I_RE, _FABS_RE, _I2F_RE

    return any(r.fullmatch(name) for r in (EXACT_ARITH, _F2I_RE, _I2F_RE, _FABS_RE))


def _arithmetic(module: Module, ctx: LoweringContext, call: Call, op: str, rounding: str,
                saturate: bool, name: str) -> list[Instruction]:
    if call.ty != F32:
        raise CompileError(f"'@{name}' on {call.ty} is not supported (Apple GPUs have no "
                           "double precision)", call.location)
    if rounding != "rn":
        _warn(ctx, call, name, rounding)
    form, _ = ARITHMETIC[op]
    args = list(call.args)
    out: list[Instruction] = []
    if form == "rcp":
        out.append(BinaryOp(F32, opcode="fdiv", ops=[ConstantFP(F32, text="1.000000e+00"),
                                                     args[0]]))
    elif form.startswith("llvm."):
        out.append(_call(module, form, F32, args))
    else:
        out.append(BinaryOp(F32, opcode=form, ops=args))
    if saturate:
        out.append(_call(module, "llvm.nvvm.saturate.f", F32, [out[-1]]))
    return out


def _warn(ctx: LoweringContext, call: Call, name: str, rounding: str) -> None:
    ctx.warnings.append(CompileError(
        f"'@{name}' rounds {ROUNDINGS.get(rounding, rounding)}, which AIR cannot; it is "
        "computed with round-to-nearest (the last bit may differ)", call.location))


__all__ = ["lower_nvvm_float"]
