"""NVVM's scoped atomics (``atomicAdd_block``, ``atomicCAS_system``...) as LLVM atomics.

CUDA's ``_block``/``_system`` atomics reach LLVM as ``llvm.nvvm.atomic.<op>.gen.<i|f>.<cta|
sys>`` calls. Apple GPUs have one scope per memory (threadgroup or device), so each becomes
the plain ``atomicrmw``/``cmpxchg`` it scopes (monotonic, as NVVM's are relaxed), which
``lower_intrinsics`` lowers like any other atomic: a wider scope than asked is still
correct. Integer ``max``/``min`` are signed, as NVPTX selects them (``atom.cta.max.s32``)
even for CUDA's ``unsigned`` overloads, so the result is what the GPU computes. ``inc`` and
``dec`` are ``atom.inc/dec.u32``: LLVM's ``uinc_wrap``/``udec_wrap``.

Expects: kernels inlined, before ``lower_intrinsics``.
Guarantees: no ``llvm.nvvm.atomic.*.gen.*`` call remains.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.edit import NameSource, insert_before, remove, replace_all_uses
from llvm_to_air.ir.model import AtomicRMW, Call, CmpXchg, ExtractValue, Module
from llvm_to_air.ir.types import I1, StructType
from llvm_to_air.rewrite.context import LoweringContext

_SCOPED = re.compile(r"llvm\.nvvm\.atomic\.(\w+?)\.gen\.([if])\.(cta|sys)\.[\w.]+")
# NVVM operation (integer or float form) -> atomicrmw operation
_RMW = {("add", "i"): "add", ("add", "f"): "fadd", ("exch", "i"): "xchg",
        ("max", "i"): "max", ("min", "i"): "min", ("inc", "i"): "uinc_wrap",
        ("dec", "i"): "udec_wrap", ("and", "i"): "and", ("or", "i"): "or",
        ("xor", "i"): "xor"}


def lower_nvvm_scoped_atomics(module: Module, ctx: LoweringContext) -> None:
    for fn in module.functions:
        if fn.is_declaration:
            continue
        names: NameSource | None = None
        for inst in list(fn.instructions()):
            callee = inst.callee_function if isinstance(inst, Call) else None
            m = _SCOPED.fullmatch(callee.name) if callee is not None else None
            if m is None:
                continue
            names = names or NameSource(fn)
            op, kind, _scope = m.groups()
            if op == "cas":
                ptr, expected, new = inst.args
                pair = CmpXchg(StructType((inst.ty, I1)), opcode="cmpxchg",
                               ops=[ptr, expected, new], success_ordering="monotonic",
                               failure_ordering="monotonic", name=names("cas"))
                old = ExtractValue(inst.ty, opcode="extractvalue", ops=[pair], indices=[0],
                                   name=names("cas.old"))
                insert_before(inst, [pair, old])
                result = old
            elif (op, kind) in _RMW:
                ptr, value = inst.args
                result = AtomicRMW(inst.ty, opcode="atomicrmw", ops=[ptr, value],
                                   operation=_RMW[(op, kind)], ordering="monotonic",
                                   name=names("rmw"))
                insert_before(inst, result)
            else:
                continue  # an unknown form stays a call: lower_intrinsics names it
            replace_all_uses(fn.instructions(), {inst: result})
            remove(inst)
