"""Built-in inputs: thread and group indices become kernel parameters with AIR roles.

NVVM special registers, AMDGPU work-item intrinsics and ``__ockl_*`` calls,
and OpenCL's ``get_*_id``/``get_*_size`` builtins all read what Metal hands a
kernel as parameters described by their role (``thread_position_in_grid``
...). Each role a kernel uses becomes one parameter, ``uint3`` (``<3 x i32>``)
for the per-dimension roles as Apple compiles them, ``uint`` (``i32``) for the
SIMD-group ones; calls become ``extractelement`` of that parameter. A
dimension that is not a constant selects at run time, with OpenCL's result
for dimensions beyond 2 (0 for ids, 1 for sizes).

Expects kernels inlined and the ABI stage done (so hidden parameters go
last). Guarantees no call to a source built-in remains in the kernels and
each added parameter has a ``builtin`` :class:`KernelArgument`.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import NameSource, replace_all_uses
from llvm_to_air.ir.model import (
    Argument,
    Call,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    Instruction,
    Module,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, FunctionType, IntType, Type, VectorType
from llvm_to_air.rewrite.context import KernelArgument, KernelSignature, LoweringContext

UINT3 = VectorType(3, I32)
ARG_DIMENSION = -1  # the dimension is the call's first operand


@dataclass(frozen=True)
class BuiltinRead:
    """What one source built-in reads: a role, and which lane (or ARG_DIMENSION)."""

    role: str
    lane: int | None
    default: int = 0  # OpenCL's answer for a dimension beyond 2


# Roles in the order their parameters are added, with their LLVM type and type name.
ROLE_TYPES: dict[str, tuple[Type, str]] = {
    "thread_position_in_grid": (UINT3, "uint3"),
    "thread_position_in_threadgroup": (UINT3, "uint3"),
    "threadgroup_position_in_grid": (UINT3, "uint3"),
    "threads_per_threadgroup": (UINT3, "uint3"),
    "dispatch_threads_per_threadgroup": (UINT3, "uint3"),
    "threadgroups_per_grid": (UINT3, "uint3"),
    "threads_per_grid": (UINT3, "uint3"),
    "thread_index_in_threadgroup": (I32, "uint"),
    "thread_index_in_simdgroup": (I32, "uint"),
    "threads_per_simdgroup": (I32, "uint"),
    "simdgroup_index_in_threadgroup": (I32, "uint"),
    "simdgroups_per_threadgroup": (I32, "uint"),
}


def _xyz(prefix: str, role: str, default: int = 0) -> dict[str, BuiltinRead]:
    return {f"{prefix}{axis}": BuiltinRead(role, lane, default)
            for lane, axis in enumerate("xyz")}


BUILTIN_READS: dict[str, BuiltinRead] = {
    # NVVM special registers (clang CUDA, mlir convert-gpu-to-nvvm)
    **_xyz("llvm.nvvm.read.ptx.sreg.tid.", "thread_position_in_threadgroup"),
    **_xyz("llvm.nvvm.read.ptx.sreg.ctaid.", "threadgroup_position_in_grid"),
    # blockDim is the size asked for at dispatch, also in a grid's smaller edge threadgroups
    **_xyz("llvm.nvvm.read.ptx.sreg.ntid.", "dispatch_threads_per_threadgroup", 1),
    **_xyz("llvm.nvvm.read.ptx.sreg.nctaid.", "threadgroups_per_grid", 1),
    "llvm.nvvm.read.ptx.sreg.laneid": BuiltinRead("thread_index_in_simdgroup", None),
    "llvm.nvvm.read.ptx.sreg.warpsize": BuiltinRead("threads_per_simdgroup", None),
    # AMDGPU (mlir convert-gpu-to-rocdl, HIP)
    **_xyz("llvm.amdgcn.workitem.id.", "thread_position_in_threadgroup"),
    **_xyz("llvm.amdgcn.workgroup.id.", "threadgroup_position_in_grid"),
    "__ockl_get_local_id": BuiltinRead("thread_position_in_threadgroup", ARG_DIMENSION),
    "__ockl_get_group_id": BuiltinRead("threadgroup_position_in_grid", ARG_DIMENSION),
    "__ockl_get_global_id": BuiltinRead("thread_position_in_grid", ARG_DIMENSION),
    "__ockl_get_local_size": BuiltinRead("threads_per_threadgroup", ARG_DIMENSION, 1),
    "__ockl_get_num_groups": BuiltinRead("threadgroups_per_grid", ARG_DIMENSION, 1),
    "__ockl_get_global_size": BuiltinRead("threads_per_grid", ARG_DIMENSION, 1),
    "__ockl_get_enqueued_local_size": BuiltinRead("dispatch_threads_per_threadgroup",
                                                  ARG_DIMENSION, 1),
    # OpenCL (Itanium-mangled; spir64 passes the dimension as uint)
    "_Z13get_global_idj": BuiltinRead("thread_position_in_grid", ARG_DIMENSION),
    "_Z12get_local_idj": BuiltinRead("thread_position_in_threadgroup", ARG_DIMENSION),
    "_Z12get_group_idj": BuiltinRead("threadgroup_position_in_grid", ARG_DIMENSION),
    "_Z14get_local_sizej": BuiltinRead("threads_per_threadgroup", ARG_DIMENSION, 1),
    "_Z23get_enqueued_local_sizej": BuiltinRead("dispatch_threads_per_threadgroup",
                                                ARG_DIMENSION, 1),
    "_Z14get_num_groupsj": BuiltinRead("threadgroups_per_grid", ARG_DIMENSION, 1),
    "_Z15get_global_sizej": BuiltinRead("threads_per_grid", ARG_DIMENSION, 1),
    "_Z22get_sub_group_local_idv": BuiltinRead("thread_index_in_simdgroup", None),
    "_Z18get_sub_group_sizev": BuiltinRead("threads_per_simdgroup", None),
    "_Z22get_max_sub_group_sizev": BuiltinRead("threads_per_simdgroup", None),
    "_Z16get_sub_group_idv": BuiltinRead("simdgroup_index_in_threadgroup", None),
    "_Z18get_num_sub_groupsv": BuiltinRead("simdgroups_per_threadgroup", None),
    "_Z19get_local_linear_idv": BuiltinRead("thread_index_in_threadgroup", None),
}
# Built-ins with a fixed answer on Metal (no grid offsets).
# get_work_dim: Metal does not say how many dimensions the host used; 3 is safe for the usual
# loops over dimensions because ids beyond the used ones are 0 and sizes 1, as OpenCL defines.
CONSTANT_BUILTINS: dict[str, int] = {"_Z17get_global_offsetj": 0, "_Z12get_work_dimv": 3}


# Built-ins whose fixed answer may differ from the source's platform: warned about.
APPROXIMATED_BUILTINS = {"_Z12get_work_dimv": "get_work_dim() has no Metal equivalent and "
                                             "returns 3 (ids beyond the dispatch's dimensions "
                                             "are 0 and sizes 1, as OpenCL defines)"}


def lower_builtins(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        if kernel.producer != "air":
            _lower_kernel(kernel, ctx)


def _lower_kernel(kernel: KernelSignature, ctx: LoweringContext) -> None:
    fn = kernel.function
    reads: list[tuple[Call, BuiltinRead | int]] = []
    for inst in fn.instructions():
        if isinstance(inst, Call) and inst.callee_function is not None:
            name = inst.callee_function.name
            found: BuiltinRead | int | None = BUILTIN_READS.get(name)
            if found is None:
                found = CONSTANT_BUILTINS.get(name)
            if found is not None:
                reads.append((inst, found))
                if name in APPROXIMATED_BUILTINS:
                    ctx.warnings.append(CompileError(APPROXIMATED_BUILTINS[name],
                                                     inst.location or fn.location))
    if not reads:
        return
    roles = sorted({r.role for _, r in reads if isinstance(r, BuiltinRead)},
                   key=list(ROLE_TYPES).index)
    names = NameSource(fn)
    params: dict[str, Argument] = {}
    for role in roles:
        ty, type_name = ROLE_TYPES[role]
        param = Argument(ty, name=names(role), attrs=["noundef"])
        fn.args.append(param)
        params[role] = param
        kernel.arguments.append(KernelArgument(kind="builtin", name=param.name or role,
                                               llvm_type=ty, type_name=type_name, role=role,
                                               param=param))
    fn.function_type = FunctionType(fn.function_type.ret, tuple(a.ty for a in fn.args))
    mapping: dict[Value, Value] = {}
    for call, read in reads:
        block = call.parent
        assert block is not None
        if isinstance(read, int):
            mapping[call] = ConstantInt(call.ty, value=read)
            continue
        new, value = _read(params[read.role], read, call)
        index = block.instructions.index(call)
        block.instructions[index:index + 1] = new
        for inst in new:
            inst.parent = block
            inst.location = call.location
        if new and call.name:
            new[-1].name = call.name
        mapping[call] = value
    replace_all_uses(fn.instructions(), mapping)
    for call, _ in reads:
        if call.parent is not None and call in call.parent.instructions:
            call.parent.instructions.remove(call)


def _read(param: Argument, read: BuiltinRead, call: Call) -> tuple[list[Instruction], Value]:
    """Instructions computing the call's value from the role parameter, and that value."""
    out: list[Instruction] = []
    if read.lane is None:
        value: Value = param
    elif read.lane != ARG_DIMENSION:
        value = _add(out, ExtractElement(I32, opcode="extractelement",
                                         ops=[param, ConstantInt(I32, value=read.lane)]))
    else:
        if not call.args:
            callee = call.callee_function
            raise CompileError(f"'@{callee.name if callee else '?'}' takes the dimension "
                               "(0, 1 or 2) as its argument, but is called without one",
                               call.location, hint="pass the dimension, as the OpenCL and "
                                                   "OCKL definitions do")
        dim = call.args[0]
        if isinstance(dim, ConstantInt):
            if dim.value > 2:
                value = ConstantInt(I32, value=read.default)
            else:
                value = _add(out, ExtractElement(I32, opcode="extractelement",
                                                 ops=[param, ConstantInt(I32, value=dim.value)]))
        else:
            if dim.ty != I32:
                dim = _add(out, Cast(I32, opcode="trunc" if _bits(dim.ty) > 32 else "zext",
                                     ops=[dim]))
            lane = _add(out, ExtractElement(I32, opcode="extractelement", ops=[param, dim]))
            in_range = _add(out, Compare(I1, opcode="icmp", predicate="ult",
                                         ops=[dim, ConstantInt(I32, value=3)]))
            value = _add(out, Select(I32, opcode="select",
                                     ops=[in_range, lane, ConstantInt(I32, value=read.default)]))
    if call.ty != I32:
        value = _add(out, Cast(call.ty, opcode="zext" if _bits(call.ty) > 32 else "trunc",
                               ops=[value]))
    return out, value


def _add(out: list[Instruction], inst: Instruction) -> Instruction:
    out.append(inst)
    return inst


def _bits(ty: Type) -> int:
    return ty.bits if isinstance(ty, IntType) else 32


__all__ = ["BUILTIN_READS", "ROLE_TYPES", "lower_builtins"]
