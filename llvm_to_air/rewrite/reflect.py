"""``__nvvm_reflect``: the queries libdevice (linked into Triton's and clang's output) makes
about its target, answered at compile time as NVVM's NVVMReflect pass does.

* ``__CUDA_FTZ``: the module flag ``nvvm-reflect-ftz`` (0 when absent). Apple GPUs flush
  float denormals anyway, so either branch computes what the GPU will.
* ``__CUDA_ARCH``: the ``sm_NN`` the kernel was compiled for (``target-cpu``), as NN0.
* ``__CUDA_PREC_SQRT``/``__CUDA_PREC_DIV``: the module flags of those names (0 when absent).
* any other name: 0, as NVVMReflect answers.

Expects: a module as read (before inlining, which drops globals nothing uses any more).
Guarantees: no call to ``__nvvm_reflect``/``llvm.nvvm.reflect`` remains; each became
the ``i32`` constant NVVM would give, so libdevice's other branch is dead code.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Call,
    ConstantExpr,
    ConstantInt,
    ConstantString,
    Function,
    GlobalVariable,
    MDNode,
    MDString,
    MDValue,
    Module,
    Value,
)
from llvm_to_air.ir.types import I32
from llvm_to_air.rewrite.context import LoweringContext

REFLECT_FUNCTIONS = frozenset({"__nvvm_reflect", "llvm.nvvm.reflect"})
MODULE_FLAG_QUERIES = {"__CUDA_FTZ": "nvvm-reflect-ftz",
                       "__CUDA_PREC_SQRT": "nvvm-reflect-prec-sqrt",
                       "__CUDA_PREC_DIV": "nvvm-reflect-prec-div"}
_SM_RE = re.compile(r'"target-cpu"="sm_(\d+)a?"')


def fold_nvvm_reflect(module: Module, ctx: LoweringContext) -> None:
    flags = _module_flags(module)
    for fn in module.functions:
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            kept = []
            for inst in block.instructions:
                callee = inst.callee_function if isinstance(inst, Call) else None
                if callee is not None and callee.name in REFLECT_FUNCTIONS:
                    mapping[inst] = ConstantInt(I32, value=_answer(_query(inst), fn, flags))
                    continue
                kept.append(inst)
            block.instructions = kept
        if mapping:
            replace_all_uses(fn.instructions(), mapping)


def _query(call: Call) -> str:
    """The name a reflect call asks about (its argument is a constant C string)."""
    value = call.args[0] if call.args else None
    while isinstance(value, ConstantExpr) and value.ops:
        value = value.ops[0]
    if isinstance(value, GlobalVariable) and isinstance(value.initializer, ConstantString):
        return value.initializer.data.split(b"\0", 1)[0].decode("utf-8", "replace")
    return ""


def _answer(name: str, fn: Function, flags: dict[str, int]) -> int:
    if name in MODULE_FLAG_QUERIES:
        return flags.get(MODULE_FLAG_QUERIES[name], 0)
    if name == "__CUDA_ARCH":
        m = _SM_RE.search(" ".join(fn.fn_attrs))
        return int(m.group(1)) * 10 if m else 0
    return 0


def _module_flags(module: Module) -> dict[str, int]:
    flags: dict[str, int] = {}
    nmd = module.get_named_metadata("llvm.module.flags")
    for node in nmd.nodes if nmd is not None else []:
        if isinstance(node, MDNode) and len(node.operands) == 3:
            key, value = node.operands[1], node.operands[2]
            if isinstance(key, MDString) and isinstance(value, MDValue) and \
                    isinstance(value.value, ConstantInt):
                flags[key.value.decode("utf-8", "replace")] = value.value.value
    return flags


__all__ = ["fold_nvvm_reflect"]
