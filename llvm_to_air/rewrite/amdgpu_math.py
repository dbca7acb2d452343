"""AMDGPU math intrinsics that have a generic LLVM form, rewritten to it.

``llvm.amdgcn.sqrt`` is the hardware square root (within 1 ulp) and becomes
``llvm.sqrt``; ``llvm.amdgcn.rcp`` (reciprocal, 1 ulp) becomes ``fdiv 1.0, x``. Both
replacements are at least as accurate as the originals, and ``lower_intrinsics``
maps the generic forms to AIR.

Expects: the module as read. Guarantees: no call to the intrinsics in ``GENERIC`` remains.
"""

from __future__ import annotations

from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import BinaryOp, Call, ConstantFP, Function, Module, Value
from llvm_to_air.ir.types import FunctionType, PointerType
from llvm_to_air.rewrite.context import LoweringContext

# amdgcn name prefix -> generic intrinsic prefix ("" means: 1.0 / x)
GENERIC = {"llvm.amdgcn.sqrt.": "llvm.sqrt.", "llvm.amdgcn.rcp.": ""}


def lower_amdgpu_math(module: Module, ctx: LoweringContext) -> None:
    """Rewrite each ``GENERIC`` call to its generic form."""
    for fn in module.functions:
        if fn.is_declaration:
            continue
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            for position, inst in enumerate(block.instructions):
                callee = inst.callee_function if isinstance(inst, Call) else None
                prefix = next((p for p in GENERIC if callee is not None
                               and callee.name.startswith(p)), None)
                if prefix is None or not isinstance(inst, Call):
                    continue
                suffix = callee.name[len(prefix):]  # type: ignore[union-attr]
                if GENERIC[prefix]:
                    target = _declare(module, GENERIC[prefix] + suffix, inst.function_type)
                    new = Call(inst.ty, opcode="call", ops=[*inst.args, target],
                               function_type=inst.function_type, name=inst.name)
                else:
                    new = BinaryOp(inst.ty, opcode="fdiv", name=inst.name, ops=[
                        ConstantFP(inst.ty, text="1.000000e+00"), inst.args[0]])
                new.location, new.parent = inst.location, block
                block.instructions[position] = new
                mapping[inst] = new
        if mapping:
            replace_all_uses(fn.instructions(), mapping)


def _declare(module: Module, name: str, fnty: FunctionType) -> Function:
    found = module.get_function(name)
    if found is None:
        found = Function(PointerType(0), name=name, function_type=fnty,
                         fn_attrs=["nounwind", "memory(none)"])
        module.functions.append(found)
    return found
