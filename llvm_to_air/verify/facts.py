"""What Apple's AIR is: the data the rules compare against (layouts, flags, roles,
intrinsics), kept apart from the generator's copy so that it can catch generator bugs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.ir.model import (
    ConstantAggregate,
    ConstantInt,
    ConstantZero,
    MDValue,
    Metadata,
)
from llvm_to_air.ir.types import (
    I16,
    I32,
    ArrayType,
    Type,
    VectorType,
)
from llvm_to_air.verify.findings import Severity

# ------------------------------------------------------------------------ AIR facts

#: AIR_NOTES section 1: identical in every Apple sample.
AIR_DATALAYOUT = (
    "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-f32:32:32-f64:64:64-v16:16:16-"
    "v24:32:32-v32:32:32-v48:64:64-v64:64:64-v96:128:128-v128:128:128-v192:256:256-"
    "v256:256:256-v512:512:512-v1024:1024:1024-n8:16:32"
)

#: ``air64-apple-macosx14.0.0``, ``air64_v28-apple-macosx26.0.0``, ``air64-apple-ios17.0.0-simulator``.
TRIPLE_RE = re.compile(
    r"^air64(?:_v(?P<air>\d{2}))?-apple-(?P<os>[a-z]+?)(?P<osver>\d+(?:\.\d+){0,2})?"
    r"(?:-(?P<env>simulator|macabi))?$"
)
AIR_OSES = frozenset({"macosx", "macos", "ios", "tvos", "watchos", "xros", "visionos"})

#: AIR version -> the MSL version Apple pairs it with (AIR_NOTES section 1). Keyed by
#: (major, minor): AIR 1.6 and 1.8 (Xcode 9-10) are not AIR 2.6 and 2.8.
AIR_TO_MSL: dict[tuple[int, int], tuple[int, int]] = {
    (2, 3): (2, 3), (2, 4): (2, 4), (2, 5): (3, 0), (2, 6): (3, 1), (2, 7): (3, 2),
    (2, 8): (4, 0), (2, 9): (4, 1),
}


@dataclass(frozen=True)
class FlagSpec:
    """An ``!llvm.module.flags`` entry: merge behaviour, what a missing one is, its value shape."""

    behavior: int
    missing: Severity | None  # None: optional
    value_ok: Callable[[Metadata | None], bool]
    value_shape: str
    #: First AIR version whose every Apple module carries the flag (``apple`` profile: a
    #: missing flag before it is no finding). The ``ours`` profile requires every flag.
    since: tuple[int, int] = (2, 3)


def _is_i32(md: Metadata | None) -> bool:
    return (isinstance(md, MDValue) and isinstance(md.value, ConstantInt)
            and md.value.ty == I32)


def _is_sdk_version(md: Metadata | None) -> bool:
    if not isinstance(md, MDValue):
        return False
    value = md.value
    if isinstance(value, ConstantZero):
        return isinstance(value.ty, ArrayType) and value.ty.element == I32
    return (isinstance(value, ConstantAggregate) and isinstance(value.ty, ArrayType)
            and value.ty.element == I32 and value.ty.count in (2, 3))


_I32_FLAG = "i32"
#: Every corpus module of AIR 2.3 and later has SDK Version, wchar_size and the six
#: air.max_* flags; frame-pointer is in every AIR 2.6+ module and in none of the 242
#: AIR 2.3-2.5 ones (macOS 11-13 targets).
MODULE_FLAGS: dict[str, FlagSpec] = {
    "SDK Version": FlagSpec(2, "error", _is_sdk_version, "[2 x i32] or [3 x i32]"),
    "wchar_size": FlagSpec(1, "error", _is_i32, _I32_FLAG),
    "air.max_device_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_constant_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_threadgroup_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_textures": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_read_write_textures": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_samplers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "frame-pointer": FlagSpec(7, "warning", _is_i32, _I32_FLAG, since=(2, 6)),
}

#: Argument-node properties: key -> the kinds of the operands that follow it.
PROPERTY_SCHEMA: dict[str, tuple[str, ...]] = {
    "air.location_index": ("int", "int"),
    "air.read": (),
    "air.read_write": (),
    "air.write": (),
    "air.sample": (),
    "air.address_space": ("int",),
    "air.arg_type_size": ("int",),
    "air.arg_type_align_size": ("int",),
    "air.arg_type_name": ("str",),
    "air.arg_name": ("str",),
    "air.arg_unused": (),
    "air.buffer_size": ("int",),
    "air.struct_type_info": ("node",),
}
ACCESS_KEYS = ("air.read", "air.read_write", "air.write")
#: Entry points other than kernels, each listed in its own ``!air.<kind>`` (shader modules)
OTHER_ENTRY_KINDS = ("vertex", "fragment", "mesh", "object", "visible", "intersection", "tile")
#: Every entry-function kind, each listed by ``!air.<kind>`` named metadata.
ENTRY_KINDS = ("kernel", *OTHER_ENTRY_KINDS)
FUNCTION_CONSTANT_ROLE = "air.function_constant"
BUFFER_ADDRESS_SPACES = {1: "device", 2: "constant", 3: "threadgroup"}
#: Each field of an ``air.struct_type_info`` node: offset, size, array length, type, name.
STRUCT_INFO_FIELD_LEN = 5


@dataclass(frozen=True)
class PointerRole:
    """How one kind of pointer parameter is described, and which properties it must carry."""

    location_group: str
    access_required: bool
    address_space_required: bool
    type_size_required: bool
    type_name_required: bool


#: ``air.buffer`` everywhere in the corpus; ``air.tensor`` in the Metal 4 matmul
#: sample (bound like buffers, no type size). Textures and samplers are not in
#: the corpus and are checked only for their location index.
POINTER_ROLES: dict[str, PointerRole] = {
    "air.buffer": PointerRole("buffer", True, True, True, True),
    # argument buffers (Apple corpus, AIR 2.5): a buffer of resources, bound like one
    "air.indirect_buffer": PointerRole("buffer", True, True, True, True),
    "air.tensor": PointerRole("buffer", True, True, False, True),
    "air.texture": PointerRole("texture", False, False, False, False),
    "air.sampler": PointerRole("sampler", False, False, False, False),
}

#: Built-in type names and the LLVM types Apple gives them.
BUILTIN_TYPES: dict[str, Type] = {
    "uint": I32,
    "uint2": VectorType(2, I32),
    "uint3": VectorType(3, I32),
    "ushort": I16,
    "ushort2": VectorType(2, I16),
    "ushort3": VectorType(3, I16),
}
_SCALAR_NAMES = ("uint", "ushort")
_ANY_NAMES = tuple(BUILTIN_TYPES)
_SCALAR_ROLES = (
    "thread_index_in_threadgroup", "thread_index_in_simdgroup", "thread_index_in_quadgroup",
    "simdgroup_index_in_threadgroup", "quadgroup_index_in_threadgroup",
    "threads_per_simdgroup", "thread_execution_width", "simdgroups_per_threadgroup",
    "quadgroups_per_threadgroup", "dispatch_simdgroups_per_threadgroup",
    "dispatch_quadgroups_per_threadgroup",
)
_VECTOR_ROLES = (
    "thread_position_in_grid", "thread_position_in_threadgroup",
    "threadgroup_position_in_grid", "threads_per_threadgroup", "threadgroups_per_grid",
    "threads_per_grid", "dispatch_threads_per_threadgroup", "grid_origin", "grid_size",
)
#: Built-in role -> the type names it may carry (scalar roles: uint or ushort).
BUILTIN_ROLES: dict[str, tuple[str, ...]] = {
    **{f"air.{role}": _SCALAR_NAMES for role in _SCALAR_ROLES},
    **{f"air.{role}": _ANY_NAMES for role in _VECTOR_ROLES},
}

#: ``llvm.*`` families Apple's output uses (lifetime, memcpy, memset, umax; fmuladd and
#: prefetch in Apple's OpenCL runtime, docs/air-intrinsics.md section 5) or that are plainly
#: safe; a name matches its family or ``family.<suffix>``.
ALLOWED_INTRINSICS = (
    "llvm.lifetime.start", "llvm.lifetime.end", "llvm.memcpy", "llvm.memmove", "llvm.memset",
    "llvm.fmuladd", "llvm.prefetch",
    "llvm.assume", "llvm.expect", "llvm.umax", "llvm.umin", "llvm.smax", "llvm.smin",
    "llvm.experimental.noalias.scope.decl", "llvm.dbg.value", "llvm.dbg.declare",
    "llvm.dbg.label", "llvm.donothing",
    # in Apple's own modules of the corpus (AIR 2.7-2.8: bf16 max/abs, rotates)
    "llvm.maxnum", "llvm.fabs", "llvm.fshl",
)
#: Intrinsics of other targets: never meaningful in AIR.
FOREIGN_INTRINSIC_PREFIXES = (
    "llvm.nvvm.", "llvm.amdgcn.", "llvm.r600.", "llvm.spv.", "llvm.dx.", "llvm.x86.",
    "llvm.aarch64.", "llvm.arm.", "llvm.wasm.", "llvm.ppc.", "llvm.riscv.", "llvm.mips.",
    "llvm.hexagon.",
)
TRAP_INTRINSICS = frozenset({"llvm.trap", "llvm.debugtrap", "llvm.ubsantrap"})
EXTERNALLY_DEFINED_SECTION = "air.externally_defined"
#: Callees that make their caller convergent (all such callers and declarations
#: in the corpus are ``convergent``).
CONVERGENT_CALLEE_RE = re.compile(r"^air\.(wg\.barrier|simdgroup\.barrier|simd_|quad_)")
#: ``air.atomic.<scope>.*`` -> the address space of its pointer operand.
ATOMIC_SCOPE_RE = re.compile(r"^air\.atomic\.(?P<scope>global|local)\.")
ATOMIC_ADDRESS_SPACES = {"global": 1, "local": 3}
WIDE_FLOATS = frozenset({"double", "x86_fp80", "fp128", "ppc_fp128"})
MAX_INT_BITS = 64
MAX_ADDRESS_SPACE = 3
DEFAULT_CCS = ("", "ccc")


MESH_ADDRESS_SPACE = 7  # mesh functions' output (Apple's mesh shaders, AIR 2.6+)
#: Address spaces a module may use beyond 0-3 because it lists entry functions of a kind:
#: mesh and object functions write their mesh through address space 7 (the corpus's mesh
#: shader, AIR 2.6). A kernel-only module gets no extra space.
KIND_ADDRESS_SPACES: dict[str, frozenset[int]] = {
    "mesh": frozenset({MESH_ADDRESS_SPACE}),
    "object": frozenset({MESH_ADDRESS_SPACE}),
}
