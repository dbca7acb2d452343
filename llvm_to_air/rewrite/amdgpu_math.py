"""AMDGPU math intrinsics that have a generic LLVM form, rewritten to it.

* ``llvm.amdgcn.sqrt`` (the hardware square root, within 1 ulp) becomes ``llvm.sqrt``;
  ``llvm.amdgcn.exp2``/``llvm.amdgcn.log`` (the hardware 2^x and log2 x, 1 ulp, which
  Triton's ``tl.exp2``/``tl.log2`` and OCML's fast paths call) become ``llvm.exp2``/
  ``llvm.log2``.
* ``llvm.amdgcn.rcp`` (reciprocal, 1 ulp) becomes ``fdiv 1.0, x``; ``llvm.amdgcn.rsq``
  (1/sqrt x, 1 ulp) ``fdiv 1.0, llvm.sqrt(x)``.
* ``llvm.amdgcn.fmed3`` (median of three, ``tl.clamp``'s form on AMD) becomes
  ``maxnum``/``fcmp``/``select`` as LLVM folds it (AMDGPUInstCombineIntrinsic's
  ``fmed3AMDGCN``): the largest of the three by ``maxnum``, then ``maxnum`` of the other
  two; so a NaN operand is passed over, as ``maxnum`` passes it.

The replacements are as accurate as the originals or more, and ``lower_intrinsics``
maps the generic forms to AIR.

Expects: the module as read. Guarantees: no call to the intrinsics in ``REWRITES`` remains.
"""

from __future__ import annotations

from collections.abc import Callable

from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Compare,
    ConstantFP,
    Function,
    Instruction,
    Module,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, FunctionType, PointerType
from llvm_to_air.rewrite.context import LoweringContext


class _Steps:
    """The instructions replacing one call, named after it."""

    def __init__(self, module: Module, call: Call, suffix: str) -> None:
        self.module, self.call, self.suffix = module, call, suffix
        self.out: list[Instruction] = []

    def _add(self, inst: Instruction) -> Value:
        inst.name = f"{self.call.name}.{len(self.out)}" if self.call.name else None
        self.out.append(inst)
        return inst

    def generic(self, stem: str, *args: Value) -> Value:
        """A call of ``<stem><suffix>`` (``llvm.sqrt.`` + ``f32``) with the call's type."""
        fnty = FunctionType(self.call.ty, tuple(a.ty for a in args))
        target = _declare(self.module, stem + self.suffix, fnty)
        return self._add(Call(self.call.ty, opcode="call", ops=[*args, target],
                              function_type=fnty))

    def reciprocal(self, value: Value) -> Value:
        return self._add(BinaryOp(self.call.ty, opcode="fdiv", ops=[
            ConstantFP(self.call.ty, text="1.000000e+00"), value]))

    def equal(self, a: Value, b: Value) -> Value:
        return self._add(Compare(I1, opcode="fcmp", predicate="oeq", ops=[a, b]))

    def select(self, cond: Value, a: Value, b: Value) -> Value:
        return self._add(Select(self.call.ty, opcode="select", ops=[cond, a, b]))


def _median(steps: _Steps, a: Value, b: Value, c: Value) -> Value:
    ab = steps.generic("llvm.maxnum.", a, b)
    largest = steps.generic("llvm.maxnum.", ab, c)
    other_two = steps.select(steps.equal(largest, b), steps.generic("llvm.maxnum.", a, c), ab)
    return steps.select(steps.equal(largest, a), steps.generic("llvm.maxnum.", b, c), other_two)


# amdgcn name prefix -> the replacement, built from the call's arguments
REWRITES: dict[str, Callable[..., Value]] = {
    "llvm.amdgcn.sqrt.": lambda s, x: s.generic("llvm.sqrt.", x),
    "llvm.amdgcn.exp2.": lambda s, x: s.generic("llvm.exp2.", x),
    "llvm.amdgcn.log.": lambda s, x: s.generic("llvm.log2.", x),
    "llvm.amdgcn.rcp.": lambda s, x: s.reciprocal(x),
    "llvm.amdgcn.rsq.": lambda s, x: s.reciprocal(s.generic("llvm.sqrt.", x)),
    "llvm.amdgcn.fmed3.": _median,
}


def lower_amdgpu_math(module: Module, ctx: LoweringContext) -> None:
    """Rewrite each ``REWRITES`` call to its generic form."""
    for fn in module.functions:
        if fn.is_declaration:
            continue
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            kept: list[Instruction] = []
            for inst in block.instructions:
                callee = inst.callee_function if isinstance(inst, Call) else None
                prefix = next((p for p in REWRITES if callee is not None
                               and callee.name.startswith(p)), None)
                if prefix is None or not isinstance(inst, Call):
                    kept.append(inst)
                    continue
                steps = _Steps(module, inst, callee.name[len(prefix):])  # type: ignore[union-attr]
                result = REWRITES[prefix](steps, *inst.args)
                steps.out[-1].name = inst.name  # the result keeps the call's name
                for step in steps.out:
                    step.location, step.parent = inst.location, block
                kept += steps.out
                mapping[inst] = result
            block.instructions = kept
        if mapping:
            replace_all_uses(fn.instructions(), mapping)


def _declare(module: Module, name: str, fnty: FunctionType) -> Function:
    found = module.get_function(name)
    if found is None:
        found = Function(PointerType(0), name=name, function_type=fnty,
                         fn_attrs=["nounwind", "memory(none)"])
        module.functions.append(found)
    return found
