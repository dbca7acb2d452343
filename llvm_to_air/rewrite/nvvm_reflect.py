"""``__nvvm_reflect`` evaluation and the dead branches it leaves, folded before lowering.

Linked libdevice asks ``__nvvm_reflect("__CUDA_FTZ")`` (and ``__CUDA_ARCH``,
``__CUDA_PREC_SQRT``) to pick between flush-to-zero and IEEE paths. As
LLVM's NVVMReflect pass does, the answer comes from the module: the
``nvvm-reflect-ftz`` / ``nvvm-reflect-prec-sqrt`` module flags, the arch from
the ``target-cpu`` attribute (``sm_80`` -> 800); any other name is 0. Each call
becomes a constant, then comparisons and branches on constants are folded and
unreachable blocks removed, so the path not taken (and its ``@.str`` global in
address space 0) disappears. Apple GPUs flush float denormals anyway, so the ftz
path is the faithful one on the device.

Expects: the module as read. Guarantees: no call to ``__nvvm_reflect`` or
``llvm.nvvm.reflect`` remains; a conditional branch on a constant is unconditional.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Branch,
    Call,
    Compare,
    ConstantExpr,
    ConstantInt,
    ConstantString,
    Function,
    GlobalVariable,
    MDNode,
    MDString,
    MDValue,
    Module,
    Phi,
    Value,
)
from llvm_to_air.ir.types import I1, I32
from llvm_to_air.rewrite.context import LoweringContext

REFLECT_FUNCTIONS = ("__nvvm_reflect", "llvm.nvvm.reflect")
# reflect name -> module flag giving its value
REFLECT_FLAGS = {"__CUDA_FTZ": "nvvm-reflect-ftz", "__CUDA_PREC_SQRT": "nvvm-reflect-prec-sqrt"}
_ICMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "sgt": lambda a, b: a > b,
         "sge": lambda a, b: a >= b, "slt": lambda a, b: a < b, "sle": lambda a, b: a <= b,
         "ugt": lambda a, b: a > b, "uge": lambda a, b: a >= b, "ult": lambda a, b: a < b,
         "ule": lambda a, b: a <= b}


def evaluate_nvvm_reflect(module: Module, ctx: LoweringContext) -> None:
    """Replace reflect calls by their values and fold the branches they decide."""
    if not any(module.get_function(name) for name in REFLECT_FUNCTIONS):
        return
    flags = _module_flags(module)
    for fn in module.functions:
        if fn.is_declaration:
            continue
        arch = _arch(fn)
        mapping: dict[Value, Value] = {}
        for block in fn.blocks:
            for inst in list(block.instructions):
                callee = inst.callee_function if isinstance(inst, Call) else None
                if callee is None or callee.name not in REFLECT_FUNCTIONS:
                    continue
                name = _reflect_name(inst)
                if name == "__CUDA_ARCH":
                    value = arch
                else:
                    value = flags.get(REFLECT_FLAGS.get(name, ""), 0)
                mapping[inst] = ConstantInt(I32, value)
                block.instructions.remove(inst)
        if mapping:
            replace_all_uses(fn.instructions(), mapping)
            fold_constant_branches(fn)


def _reflect_name(call: Call) -> str:
    arg = call.args[0]
    while isinstance(arg, ConstantExpr) and arg.ops:
        arg = arg.ops[0]
    if isinstance(arg, GlobalVariable) and isinstance(arg.initializer, ConstantString):
        return arg.initializer.data.rstrip(b"\x00").decode("utf-8", "replace")
    raise CompileError("__nvvm_reflect with an argument that is not a constant string",
                       call.location, hint="reflect names must be string literals")


def _module_flags(module: Module) -> dict[str, int]:
    out: dict[str, int] = {}
    flags = module.get_named_metadata("llvm.module.flags")
    for node in flags.nodes if flags else []:
        if isinstance(node, MDNode) and len(node.operands) == 3:
            key, value = node.operands[1], node.operands[2]
            if isinstance(key, MDString) and isinstance(value, MDValue) \
                    and isinstance(value.value, ConstantInt):
                out[key.value.decode()] = value.value.value
    return out


def _arch(fn: Function) -> int:
    m = re.search(r'"target-cpu"="sm_(\d+)', " ".join(fn.fn_attrs))
    return int(m.group(1)) * 10 if m else 0


def fold_constant_branches(fn: Function) -> None:
    """Fold icmp of constants and branches on constants; drop blocks nothing reaches."""
    changed = True
    while changed:
        changed = False
        mapping: dict[Value, Value] = {}
        for inst in fn.instructions():
            if isinstance(inst, Compare) and inst.opcode == "icmp" and \
                    all(isinstance(op, ConstantInt) for op in inst.ops) and inst.ty == I1:
                a, b = (op.value for op in inst.ops)  # type: ignore[attr-defined]
                mapping[inst] = ConstantInt(I1, int(_ICMP[inst.predicate](a, b)))
        if mapping:
            replace_all_uses(fn.instructions(), mapping)
            for block in fn.blocks:
                block.instructions = [i for i in block.instructions if i not in mapping]
            changed = True
        for block in fn.blocks:
            term = block.terminator
            if isinstance(term, Branch) and term.ops and isinstance(term.ops[0], ConstantInt):
                taken = term.targets[0] if term.ops[0].value & 1 else term.targets[1]
                dropped = term.targets[1] if term.ops[0].value & 1 else term.targets[0]
                term.ops, term.targets = [], [taken]
                if dropped is not taken:
                    _remove_incoming(dropped, block)
                changed = True
    _remove_unreachable(fn)


def _remove_incoming(block: object, pred: object) -> None:
    for phi in getattr(block, "instructions", []):
        if isinstance(phi, Phi):
            keep = [k for k, b in enumerate(phi.blocks) if b is not pred]
            phi.ops = [phi.ops[k] for k in keep]
            phi.blocks = [phi.blocks[k] for k in keep]


def _remove_unreachable(fn: Function) -> None:
    reached = {id(fn.blocks[0])}
    work = [fn.blocks[0]]
    while work:
        for succ in work.pop().successors():
            if id(succ) not in reached:
                reached.add(id(succ))
                work.append(succ)
    dead = [b for b in fn.blocks if id(b) not in reached]
    if not dead:
        return
    fn.blocks = [b for b in fn.blocks if id(b) in reached]
    for block in dead:
        for succ in block.successors():
            _remove_incoming(succ, block)
    # a phi left with one incoming value is that value
    mapping: dict[Value, Value] = {}
    for block in fn.blocks:
        for phi in block.instructions:
            if isinstance(phi, Phi) and len(phi.ops) == 1:
                mapping[phi] = phi.ops[0]
    if mapping:
        replace_all_uses(fn.instructions(), mapping)
        for block in fn.blocks:
            block.instructions = [i for i in block.instructions if i not in mapping]
