"""Wave64 AMD code with cross-lane operations is refused, never run as 32-lane SIMD groups.

An AMD wavefront of 64 lanes (gfx9 and older, or ``+wavefrontsize64``) shares
data across 64 lanes in ``ds.bpermute``, DPP row broadcasts, ``readlane`` and
ballots; Apple SIMD groups have 32 lanes, so lowering those operations lane for
lane would silently compute something else (a 64-lane scan run as two 32-lane
scans). Until they are emulated exactly, such kernels are an error naming the
operation and the target.

The target comes from ``"target-cpu"="gfxNNN"`` or, as LLVM 23+ prints it, from
the triple's sub-architecture (``amdgpu9.0a-amd-amdhsa`` is gfx90a).

Expects: the module as read. Guarantees: if it returns, no wave64 function calls a
cross-lane AMDGPU intrinsic.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import (
    Argument,
    AtomicRMW,
    Call,
    CmpXchg,
    Constant,
    Function,
    Instruction,
    Load,
    Module,
    Phi,
    Value,
)
from llvm_to_air.rewrite.context import LoweringContext

CROSS_LANE_PREFIXES = (
    "llvm.amdgcn.ds.bpermute", "llvm.amdgcn.ds.permute", "llvm.amdgcn.ds.swizzle",
    "llvm.amdgcn.update.dpp", "llvm.amdgcn.mov.dpp", "llvm.amdgcn.readlane",
    "llvm.amdgcn.readfirstlane", "llvm.amdgcn.writelane", "llvm.amdgcn.permlane",
    "llvm.amdgcn.ballot", "llvm.amdgcn.icmp", "llvm.amdgcn.fcmp", "llvm.amdgcn.wave.reduce",
    "llvm.amdgcn.mbcnt", "llvm.amdgcn.mfma", "llvm.amdgcn.wmma", "llvm.amdgcn.smfmac",
    "llvm.amdgcn.set.inactive",
)
_TRIPLE_ARCH_RE = re.compile(r"^amdgpu(\d+)\.")
_CPU_RE = re.compile(r'"target-cpu"="gfx(\d+?)(\d)([0-9a-f])"')


def refuse_wave64_cross_lane(module: Module, ctx: LoweringContext) -> None:
    """CompileError at the first cross-lane AMDGPU call in a wave64 function."""
    triple = module.triple or ""
    if not triple.startswith(("amdgcn", "amdgpu")):
        return
    for fn in module.functions:
        if fn.is_declaration or not _is_wave64(fn, triple):
            continue
        for inst in fn.instructions():
            callee = inst.callee_function if isinstance(inst, Call) else None
            if callee is not None and callee.name.startswith(CROSS_LANE_PREFIXES) \
                    and not _uniform_broadcast(inst):
                raise CompileError(
                    f"'@{callee.name}' in @{fn.name} exchanges data across a 64-lane AMD "
                    f"wavefront ({_target_name(fn, triple)}); Apple SIMD groups have 32 lanes, "
                    "so it cannot be translated exactly", inst.location,
                    hint="compile the kernel for a wave32 target (gfx1100, or "
                         "-mattr=+wavefrontsize32) or for NVIDIA sm_80")


# readfirstlane of a value every lane holds alike is that value, whatever the wave width
_UNIFORM_SOURCES = ("llvm.amdgcn.workgroup.id.", "llvm.amdgcn.readfirstlane")


def _uniform_broadcast(call: Call) -> bool:
    callee = call.callee_function
    return callee is not None and callee.name.startswith("llvm.amdgcn.readfirstlane") \
        and _uniform(call.args[0], 0)


def _uniform(value: Value, depth: int) -> bool:
    if isinstance(value, Constant | Argument):
        return True
    if depth > 16 or not isinstance(value, Instruction):
        return False
    if isinstance(value, Call):
        callee = value.callee_function
        return callee is not None and callee.name.startswith(_UNIFORM_SOURCES)
    if isinstance(value, Load | Phi | AtomicRMW | CmpXchg):
        return False
    return all(_uniform(op, depth + 1) for op in value.ops)


def _gfx_major(fn: Function, triple: str) -> int | None:
    m = _CPU_RE.search(" ".join(fn.fn_attrs))
    if m:
        return int(m.group(1))
    m = _TRIPLE_ARCH_RE.match(triple)
    return int(m.group(1)) if m else None


def _is_wave64(fn: Function, triple: str) -> bool:
    attrs = " ".join(fn.fn_attrs)
    if "+wavefrontsize64" in attrs:
        return True
    if "+wavefrontsize32" in attrs:
        return False
    major = _gfx_major(fn, triple)
    return major is not None and major < 10


def _target_name(fn: Function, triple: str) -> str:
    m = re.search(r'"target-cpu"="(gfx\w+)"', " ".join(fn.fn_attrs))
    return m.group(1) if m else triple.split("-")[0]
