"""Intrinsics and builtins to ``air.*``: math, integer ops, conversions, atomics, barriers, SIMD.

Interprets the tables in :mod:`intrinsic_tables`: every call to a producer's
intrinsic or builtin (``llvm.*``, NVVM, AMDGPU, libdevice ``__nv_*``, OCML
``__ocml_*``, OpenCL's mangled builtins) and every instruction AIR spells as a
call (``atomicrmw``, ``cmpxchg``, atomic loads and stores, ``fence``,
int<->float conversions) becomes the ``air.*`` call Apple's compiler would
emit, with Apple's declaration and call-site attributes. ``fast_`` math
variants are used for f32 only under fast math (``ctx.fast_math``), or when the
source asked for the fast form (``native_sin``, ``__nv_fast_expf``).

Atomics use the ABI of the target's AIR version: relaxed order (Metal before
MSL 4.1 supports no other), scope 2 for device and 1 for threadgroup memory,
``i1 true`` volatile, and from AIR 2.9 the ``i32 flags`` operand. Operations
AIR lacks become compare-exchange loops. Atomics on private memory (an
alloca) are plain loads and stores: no other thread can see it.

Expects address spaces inferred (``global`` vs ``local`` depends on them).
Guarantees no ``atomicrmw``/``cmpxchg``/atomic load/store/``fence`` and no
call to a producer builtin remains; an unknown one is an error naming it.
Built-in index reads (``llvm.nvvm.read.ptx.sreg.*`` ...) are left for the
built-ins stage, which also answers the lane-id reads this stage creates.

The lowering of one kernel is :class:`Lowering`: the driver and call dispatch
here, over the families in :mod:`intrinsic_math`, :mod:`intrinsic_sync` and
:mod:`intrinsic_simd` (each a mixin on :class:`intrinsic_base.LoweringBase`).
"""

from __future__ import annotations

from collections.abc import Callable

from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    AtomicRMW,
    Call,
    Cast,
    CmpXchg,
    Fence,
    InlineAsm,
    Instruction,
    Load,
    Module,
    Store,
    Value,
)
from llvm_to_air.rewrite.builtins import BUILTIN_READS, CONSTANT_BUILTINS
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.demangle import demangle
from llvm_to_air.rewrite.intrinsic_base import AirBuilder, Rewrite, type_suffix
from llvm_to_air.rewrite.intrinsic_math import MathLowering
from llvm_to_air.rewrite.intrinsic_simd import SimdLowering
from llvm_to_air.rewrite.intrinsic_sync import SyncLowering
from llvm_to_air.rewrite.nvvm_rounding import lower_nvvm_rounding

Handler = Callable[["Lowering", Instruction], Rewrite | None]


class Lowering(MathLowering, SyncLowering, SimdLowering):
    """Lowers one kernel; ``run`` walks its instructions once, expanding as it goes."""

    # --------------------------------------------------------------- driver

    def run(self) -> None:
        self._expand_atomic_loops()
        mapping: dict[Value, Value] = {}
        for block in self.fn.blocks:
            out: list[Instruction] = []
            for inst in block.instructions:
                self.new = []
                rewrite = self.lower(inst)
                if rewrite is None:
                    out.append(inst)
                    continue
                for new in rewrite.instructions:
                    new.parent = block
                    if new.location is None:
                        new.location = inst.location
                out.extend(rewrite.instructions)
                if rewrite.value is not None:
                    mapping[inst] = mapping.get(rewrite.value, rewrite.value)
                    if inst.name and isinstance(rewrite.value, Instruction) and \
                            rewrite.value.name is None:
                        rewrite.value.name = inst.name
            block.instructions = out
        for inst in self.fn.instructions():
            if isinstance(inst, Call) and inst.bundles:
                inst.bundles = [b for b in inst.bundles if b.tag != "convergencectrl"]
        entry = self.fn.blocks[0]
        for slot in self.entry_allocas:
            slot.parent = entry
        entry.instructions[0:0] = self.entry_allocas
        replace_all_uses(self.fn.instructions(), mapping)

    def lower(self, inst: Instruction) -> Rewrite | None:
        if isinstance(inst, Call):
            return self._call(inst)
        handler = _INSTRUCTION_HANDLERS.get(type(inst))
        return handler(self, inst) if handler is not None else None

    # ------------------------------------------------------------------ calls

    def _call(self, call: Call) -> Rewrite | None:
        callee = call.callee_function
        if callee is None:
            if isinstance(call.callee, InlineAsm):
                return None  # the legalization stage reports inline assembly
            raise self.error(call, "indirect call", "AIR has no function pointers")
        name = callee.name
        if name in BUILTIN_READS or name in CONSTANT_BUILTINS or name.startswith("air."):
            return None
        if not callee.is_declaration:
            return None
        for prefix, handler in _CALL_HANDLERS:
            if name.startswith(prefix):
                result = handler(self, call)
                if result is not None:
                    return result
        if name.startswith("llvm."):
            return self._llvm_intrinsic(call, name)
        if name.startswith("__nv_"):
            return self._libdevice(call, name[5:])
        if name.startswith("__ocml_"):
            return self._ocml(call, name[7:])
        if name.startswith("_Z"):
            return self._opencl(call, name)
        raise self.error(call, f"call to unknown external function '@{name}'",
                         "it has no AIR equivalent; only llvm.*, NVVM, AMDGPU, libdevice, OCML "
                         "and OpenCL builtins listed in the README can be lowered")


# ------------------------------------------------------------------- tables

_INSTRUCTION_HANDLERS: dict[type, Handler] = {
    AtomicRMW: Lowering._atomicrmw,
    CmpXchg: Lowering._cmpxchg,
    Load: Lowering._atomic_load,
    Store: Lowering._atomic_store,
    Fence: Lowering._fence_instruction,
    Cast: Lowering._conversion,
}
_CALL_HANDLERS: list[tuple[str, Callable[[Lowering, Call], Rewrite | None]]] = [
    ("llvm.nvvm.bar", Lowering._nvvm_barrier),
    ("llvm.amdgcn.s.barrier", Lowering._nvvm_barrier),
    ("llvm.amdgcn.wave.barrier", Lowering._nvvm_barrier),
    ("llvm.nvvm.membar", Lowering._nvvm_fence),
    ("llvm.nvvm.fence", Lowering._nvvm_fence),
    ("llvm.nvvm.shfl.", Lowering._nvvm_shuffle),
    ("llvm.nvvm.vote.", Lowering._nvvm_vote),
    ("llvm.amdgcn.", Lowering._amdgpu_lanes),
    ("llvm.nvvm.", lower_nvvm_rounding),
    ("llvm.nvvm.", Lowering._nvvm_misc),
    ("llvm.vector.reduce.", Lowering._vector_reduce),
    ("llvm.is.fpclass.", Lowering._fpclass),
]


def lower_intrinsics(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        if kernel.producer != "air":
            Lowering(module, ctx, kernel).run()


__all__ = ["AirBuilder", "demangle", "lower_intrinsics", "type_suffix"]
