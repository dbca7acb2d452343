"""CUDA's builtin-variable objects (``threadIdx``, ``blockIdx``, ``blockDim``, ``gridDim``) as
clang keeps them at -O0.

The CUDA headers declare them as ``extern const __device__`` objects of empty structs
(``__cuda_builtin_threadIdx_t`` ...) whose member functions read special registers; ``this`` is
never dereferenced. Optimized code folds the objects away; at -O0 (and in cooperative groups'
``dim3`` conversions) clang passes ``addrspacecast (ptr addrspace(1) @threadIdx to ptr)`` as
``this``, which would otherwise make the ABI stage bind a one-byte device buffer per object
and leave a device pointer flowing into generic ``this`` slots.

Expects: a module as read (before inlining and address-space mapping).
Guarantees: no function refers to such an object (its uses are ``null`` of the same type, the
value ``this`` carries without being read), and the declarations are gone.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.model import ConstantExpr, ConstantNull, GlobalVariable, Module, Value
from llvm_to_air.ir.types import NamedStructType
from llvm_to_air.rewrite.context import LoweringContext

_BUILTIN_OBJECT = re.compile(r"struct\.__cuda_builtin_(threadIdx|blockIdx|blockDim|gridDim)_t")


def _is_builtin_object(gv: GlobalVariable) -> bool:
    ty = gv.value_type
    return gv.initializer is None and isinstance(ty, NamedStructType) and \
        _BUILTIN_OBJECT.fullmatch(ty.name) is not None


def drop_cuda_builtin_objects(module: Module, ctx: LoweringContext) -> None:
    objects = {id(gv) for gv in module.globals if _is_builtin_object(gv)}
    if not objects:
        return

    def refers(value: Value) -> bool:
        if id(value) in objects:
            return True
        return isinstance(value, ConstantExpr) and value.opcode in (
            "addrspacecast", "bitcast") and refers(value.ops[0])

    for fn in module.functions:
        for inst in fn.instructions():
            for k, op in enumerate(inst.ops):
                if refers(op):
                    inst.ops[k] = ConstantNull(op.ty)
    module.globals = [gv for gv in module.globals if id(gv) not in objects]
