"""AIR conformance verifier: does a module look like AIR that Apple's compiler would produce?

The rules come from AIR_NOTES and from the Apple-built modules in the
reference corpus (AIR 1.6 to 2.8, Xcode 9 to 26, kernels and shaders,
dynamic libraries). A rule is a row of the :data:`RULES` table: an id, a
one-line summary, a check function, the AIR versions it applies to
(``since``/``until``) and its *profile*:

* ``apple``: Apple's dialect as Apple's compiler writes it, the floor every
  Apple-built module meets (``llvm-to-air verify``; zero errors on every
  module of the reference corpus);
* ``ours``: what llvm-to-air promises beyond that floor for its own output
  (``llvm-to-air verify --ours``: every module we emit is checked with it).
  The ``ours`` profile runs every row of both profiles' shared rules plus its
  own stricter rows; where one rule id has an ``apple`` row and an ``ours`` row,
  each profile runs only its own.

Apple's dialect allows what our output never writes: ``fastcc`` helpers and
calls, argument buffers (``air.indirect_buffer``), function-constant
arguments, ``void *`` buffers without a type size, AIR 1.x modules with an
older data layout and no ``air.max_*`` flags, dynamic-library tables
(``air.dyld_*``) and imported functions, mesh address space 7, device
references with ``air.buffer_size``.

Where the corpus is not unanimous the verifier warns instead of failing:

* ``frame-pointer`` is missing from the macOS 11 and 13 samples;
* ``air.address_space`` is missing from buffer nodes in the AIR 2.3 sample
  (every AIR 2.5 and later sample has it);
* ``llvm.*`` intrinsics outside the allow-list are warnings unless they
  belong to another target (``llvm.nvvm.*``, ``llvm.amdgcn.*``...).

The verifier keeps its own copy of the AIR facts (data layout, role types)
instead of importing the generator's, so that it can catch generator bugs.

Public API: :func:`verify_air`, :func:`verify_air_text`, :class:`Diagnostic`,
:data:`RULES`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    Call,
    Cast,
    CmpXchg,
    ConstantAggregate,
    ConstantExpr,
    ConstantInt,
    ConstantNull,
    ConstantZero,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    GlobalValue,
    InlineAsm,
    Instruction,
    Load,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    Module,
    Phi,
    Poison,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    I16,
    I32,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding: ``rule`` is a :data:`RULES` id; ``message`` names the construct and the fault."""

    severity: Severity
    rule: str
    message: str
    location: SourceLocation | None = None

    def format(self) -> str:
        """Compiler-style line: ``file:line:col: error: message [rule]``."""
        where = f"{self.location}: " if self.location is not None else ""
        return f"{where}{self.severity}: {self.message} [{self.rule}]"

    def __str__(self) -> str:
        return self.format()


class Finding(NamedTuple):
    """What a check reports; the runner adds the rule id."""

    severity: Severity
    message: str
    location: SourceLocation | None = None


def _err(message: str, location: SourceLocation | None = None) -> Finding:
    return Finding("error", message, location)


def _warn(message: str, location: SourceLocation | None = None) -> Finding:
    return Finding("warning", message, location)


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

#: AIR minor version (2.N) -> the MSL version Apple pairs it with (AIR_NOTES section 1).
AIR_TO_MSL: dict[int, tuple[int, int]] = {
    3: (2, 3), 4: (2, 4), 5: (3, 0), 6: (3, 1), 7: (3, 2), 8: (4, 0), 9: (4, 1),
}


@dataclass(frozen=True)
class FlagSpec:
    """An ``!llvm.module.flags`` entry: merge behaviour, what a missing one is, its value shape."""

    behavior: int
    missing: Severity | None  # None: optional
    value_ok: Callable[[Metadata | None], bool]
    value_shape: str


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
#: Every corpus module has SDK Version, wchar_size and the six air.max_* flags;
#: frame-pointer is missing from the macOS 11 and 13 samples.
MODULE_FLAGS: dict[str, FlagSpec] = {
    "SDK Version": FlagSpec(2, "error", _is_sdk_version, "[2 x i32] or [3 x i32]"),
    "wchar_size": FlagSpec(1, "error", _is_i32, _I32_FLAG),
    "air.max_device_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_constant_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_threadgroup_buffers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_textures": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_read_write_textures": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "air.max_samplers": FlagSpec(7, "error", _is_i32, _I32_FLAG),
    "frame-pointer": FlagSpec(7, "warning", _is_i32, _I32_FLAG),
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


# ------------------------------------------------------------------- metadata helpers


def _md_int(md: Metadata | None) -> int | None:
    if isinstance(md, MDValue) and isinstance(md.value, ConstantInt):
        return md.value.value
    return None


def _md_text(md: Metadata | None) -> str | None:
    return md.value.decode("utf-8", "replace") if isinstance(md, MDString) else None


def _md_repr(md: Metadata | None) -> str:
    """A short LLVM-like spelling of a metadata operand, for messages."""
    if md is None:
        return "null"
    if isinstance(md, MDString):
        return f'!"{_md_text(md)}"'
    if isinstance(md, MDValue):
        value = md.value
        if isinstance(value, ConstantInt):
            return f"{value.ty} {value.value}"
        if isinstance(value, GlobalValue):
            return f"{value.ty} @{value.name}"
        return f"{value.ty} <{type(value).__name__}>"
    if isinstance(md, MDNode):
        inner = ", ".join("!{...}" if isinstance(op, MDNode) else _md_repr(op)
                          for op in md.operands)
        return f"!{{{inner}}}"
    return f"!{type(md).__name__}"


_KIND_CHECKS: dict[str, Callable[[Metadata | None], bool]] = {
    "int": lambda md: _md_int(md) is not None,
    "str": lambda md: isinstance(md, MDString),
    "node": lambda md: isinstance(md, MDNode),
}


def _is_property_name(md: Metadata | None) -> bool:
    text = _md_text(md)
    return text is not None and text.startswith("air.")


# ---------------------------------------------------------------------- kernel table


@dataclass
class ArgNode:
    """One parsed argument node of a kernel: ``props`` maps a property to its value operands."""

    position: int
    param: Argument
    role: str
    props: dict[str, list[Metadata | None]]
    label: str

    def int_prop(self, key: str, index: int = 0) -> int | None:
        values = self.props.get(key)
        return _md_int(values[index]) if values and len(values) > index else None

    def text_prop(self, key: str) -> str | None:
        values = self.props.get(key)
        return _md_text(values[0]) if values else None


@dataclass
class Kernel:
    function: Function
    args: list[ArgNode] = field(default_factory=list)

    @property
    def location(self) -> SourceLocation | None:
        return self.function.location


@dataclass
class KernelTable:
    kernels: list[Kernel] = field(default_factory=list)
    problems: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))


def _parse_properties(ops: list[Metadata | None], label: str,
                      loc: SourceLocation | None,
                      problems: list[Finding]) -> dict[str, list[Metadata | None]]:
    """Read ``!"key", values...`` pairs per :data:`PROPERTY_SCHEMA`; record syntax problems."""
    props: dict[str, list[Metadata | None]] = {}
    i = 0
    while i < len(ops):
        key = _md_text(ops[i])
        schema = PROPERTY_SCHEMA.get(key) if key is not None else None
        if schema is None:
            if key is None:
                problems.append(_err(f"{label}: expected a property name, found "
                                     f"{_md_repr(ops[i])}", loc))
            else:
                problems.append(_warn(f"{label}: unknown property '{key}'", loc))
            i += 1
            while i < len(ops) and not _is_property_name(ops[i]):
                i += 1
            continue
        values = ops[i + 1:i + 1 + len(schema)]
        if len(values) < len(schema) or not all(_KIND_CHECKS[kind](v)
                                                for kind, v in zip(schema, values, strict=False)):
            found = ", ".join(_md_repr(v) for v in values) or "nothing"
            problems.append(_err(f"{label}: '{key}' must be followed by "
                                 f"{', '.join(schema)}; found {found}", loc))
            i += 1
            while i < len(ops) and not _is_property_name(ops[i]):
                i += 1
            continue
        if key in props:
            problems.append(_err(f"{label}: property '{key}' appears twice", loc))
        props[key] = list(values)
        i += 1 + len(schema)
    return props


def _check_struct_info(arg: ArgNode, loc: SourceLocation | None,
                       problems: list[Finding]) -> None:
    values = arg.props.get("air.struct_type_info")
    if values and isinstance(values[0], MDNode):
        count = len(values[0].operands)
        if count % STRUCT_INFO_FIELD_LEN:
            problems.append(_warn(
                f"{arg.label}: air.struct_type_info has {count} operands, not a multiple of "
                f"{STRUCT_INFO_FIELD_LEN} (offset, size, array length, type name, field name)",
                loc))


def _parse_arg_node(kernel: Kernel, position: int, node: Metadata | None,
                    table: KernelTable) -> ArgNode | None:
    fn = kernel.function
    label = f"kernel @{fn.name} parameter {position}"
    loc = kernel.location
    if not isinstance(node, MDNode) or len(node.operands) < 2:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node must be !{{i32 {position}, !\"air.<role>\", ...}}; found "
            f"{_md_repr(node)}", loc))
        return None
    index = _md_int(node.operands[0])
    role = _md_text(node.operands[1])
    if index != position:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node starts with {_md_repr(node.operands[0])}, expected "
            f"i32 {position} (nodes must be in parameter order)", loc))
        return None
    if role is None:
        table.problems["kernel-node"].append(_err(
            f"{label}: argument node has no role string; found {_md_repr(node.operands[1])}",
            loc))
        return None
    rest = node.operands[2:]
    if role == FUNCTION_CONSTANT_ROLE and len(rest) >= 2 and isinstance(rest[0], MDNode):
        # !{i32 N, !"air.function_constant", !{predicate}, !"air.buffer", ...}: an argument
        # that exists only when a function constant is true; its own role follows
        role = _md_text(rest[1]) or role
        rest = rest[2:]
    arg = ArgNode(position, fn.args[position], role, {}, label)
    arg.props = _parse_properties(rest, label, loc, table.problems["arg-node"])
    _check_struct_info(arg, loc, table.problems["arg-node"])
    return arg


def _parse_kernel(entry: int, node: Metadata | None, file: str,
                  table: KernelTable) -> Kernel | None:
    problems = table.problems["kernel-node"]
    where = SourceLocation(file)
    shape = "!{ptr @kernel, !{}, !{argument nodes}}"
    if not isinstance(node, MDNode) or len(node.operands) < 3:
        problems.append(_err(f"!air.kernel entry {entry} must be {shape}; found {_md_repr(node)}",
                             where))
        return None
    head = node.operands[0]
    fn = head.value if isinstance(head, MDValue) else None
    if not isinstance(fn, Function):
        problems.append(_err(f"!air.kernel entry {entry} does not start with a function; found "
                             f"{_md_repr(head)}", where))
        return None
    loc = fn.location
    if fn.is_declaration:
        problems.append(_err(f"kernel @{fn.name} is declared but not defined", loc))
        return None
    if fn.function_type.ret != VOID:
        problems.append(_err(f"kernel @{fn.name} returns '{fn.function_type.ret}'; kernels "
                             "return void", loc))
    if fn.linkage in ("internal", "private"):
        problems.append(_err(f"kernel @{fn.name} has {fn.linkage} linkage; the Metal runtime "
                             "looks kernels up by name", loc))
    if not isinstance(node.operands[1], MDNode):
        problems.append(_err(f"kernel @{fn.name}: second operand of its !air.kernel node must "
                             f"be !{{}}; found {_md_repr(node.operands[1])}", loc))
    elif node.operands[1].operands:
        problems.append(_warn(f"kernel @{fn.name}: second operand of its !air.kernel node is "
                              "not empty (Apple writes !{} for kernels)", loc))
    if len(node.operands) > 3:
        problems.append(_warn(f"kernel @{fn.name}: !air.kernel node has "
                              f"{len(node.operands)} operands; Apple writes 3", loc))
    args_node = node.operands[2]
    if not isinstance(args_node, MDNode):
        problems.append(_err(f"kernel @{fn.name}: third operand of its !air.kernel node must be "
                             f"a node of argument nodes; found {_md_repr(args_node)}", loc))
        return None
    kernel = Kernel(fn)
    if len(args_node.operands) != len(fn.args):
        problems.append(_err(f"kernel @{fn.name} has {len(fn.args)} parameters but "
                             f"{len(args_node.operands)} argument nodes", loc))
    for position, arg_md in enumerate(args_node.operands[:len(fn.args)]):
        arg = _parse_arg_node(kernel, position, arg_md, table)
        if arg is not None:
            kernel.args.append(arg)
    return kernel


def parse_kernels(module: Module) -> KernelTable:
    """Read ``!air.kernel`` into :class:`Kernel` objects, recording structural problems."""
    table = KernelTable()
    nmd = module.get_named_metadata("air.kernel")
    if nmd is None or not nmd.nodes:
        if not any(module.get_named_metadata(f"air.{kind}") for kind in OTHER_ENTRY_KINDS):
            table.problems["kernel-node"].append(_warn(
                "module has no !air.kernel (nor vertex, fragment, mesh, object, visible) "
                "entries: it exports no function", SourceLocation(module.file)))
        return table
    seen: set[str] = set()
    for entry, node in enumerate(nmd.nodes):
        kernel = _parse_kernel(entry, node, module.file, table)
        if kernel is None:
            continue
        if kernel.function.name in seen:
            table.problems["kernel-node"].append(_err(
                f"kernel @{kernel.function.name} is listed twice in !air.kernel", kernel.location))
            continue
        seen.add(kernel.function.name)
        table.kernels.append(kernel)
    return table


# -------------------------------------------------------------------------- context


@dataclass
class VerifyContext:
    """The module under check plus facts several rules share, computed once."""

    module: Module

    @property
    def where(self) -> SourceLocation:
        return SourceLocation(self.module.file)

    @cached_property
    def kernel_table(self) -> KernelTable:
        return parse_kernels(self.module)

    @cached_property
    def kernel_functions(self) -> set[int]:
        return {id(k.function) for k in self.kernel_table.kernels}

    @cached_property
    def air_version(self) -> tuple[int, int, int] | None:
        node = _single_node(self.module, "air.version")
        if node is None or len(node.operands) != 3:
            return None
        parts = [_md_int(op) for op in node.operands]
        if any(p is None for p in parts):
            return None
        major, minor, patch = (int(p) for p in parts)  # type: ignore[arg-type]
        return major, minor, patch

    @cached_property
    def call_sites(self) -> dict[int, list[Call]]:
        """id(function) -> the direct calls to it."""
        sites: dict[int, list[Call]] = defaultdict(list)
        for fn in self.module.functions:
            for inst in fn.instructions():
                if isinstance(inst, Call) and inst.callee_function is not None:
                    sites[id(inst.callee_function)].append(inst)
        return sites

    @cached_property
    def arg_owner(self) -> dict[int, tuple[Function, int]]:
        return {id(arg): (fn, i) for fn in self.module.functions for i, arg in enumerate(fn.args)}

    def pointer_args(self) -> Iterator[tuple[Kernel, ArgNode, PointerRole]]:
        """Pointer parameters described by a pointer role."""
        for kernel in self.kernel_table.kernels:
            for arg in kernel.args:
                spec = POINTER_ROLES.get(arg.role)
                if spec is not None and isinstance(arg.param.ty, PointerType):
                    yield kernel, arg, spec

    def builtin_args(self) -> Iterator[tuple[Kernel, ArgNode, tuple[str, ...]]]:
        """Non-pointer parameters described by a built-in role."""
        for kernel in self.kernel_table.kernels:
            for arg in kernel.args:
                names = BUILTIN_ROLES.get(arg.role)
                if names is not None and not isinstance(arg.param.ty, PointerType):
                    yield kernel, arg, names

    def calls(self) -> Iterator[tuple[Function, Call]]:
        for fn in self.module.functions:
            for inst in fn.instructions():
                if isinstance(inst, Call):
                    yield fn, inst


def _single_node(module: Module, name: str) -> MDNode | None:
    nmd = module.get_named_metadata(name)
    if nmd is None or len(nmd.nodes) != 1 or not isinstance(nmd.nodes[0], MDNode):
        return None
    return nmd.nodes[0]


def _inst_label(inst: Instruction, fn: Function) -> str:
    name = f"%{inst.name} = " if inst.name else ""
    return f"'{name}{inst.opcode}' in @{fn.name}"


# ------------------------------------------------------------------- module checks


def check_triple(ctx: VerifyContext) -> Iterator[Finding]:
    """``air64-apple-<os>`` or ``air64_vNN-apple-<os>``."""
    triple = ctx.module.triple
    match = TRIPLE_RE.match(triple or "")
    if match is None or match["os"] not in AIR_OSES:
        shown = f"'{triple}'" if triple else "missing"
        yield _err(f"target triple is {shown}; AIR needs 'air64-apple-<os>' or "
                   "'air64_vNN-apple-<os>' (e.g. 'air64-apple-macosx14.0.0')", ctx.where)


def check_datalayout(ctx: VerifyContext) -> Iterator[Finding]:
    """The data layout string is exactly Apple's."""
    layout = ctx.module.datalayout
    if layout == AIR_DATALAYOUT:
        return
    if not layout:
        yield _err("module has no target datalayout; AIR needs Apple's", ctx.where)
        return
    ours, theirs = layout.split("-"), AIR_DATALAYOUT.split("-")
    diff = next((f"'{a}' where AIR has '{b}'" for a, b in zip(ours, theirs, strict=False)
                 if a != b), f"{len(ours)} components where AIR has {len(theirs)}")
    yield _err(f"target datalayout differs from AIR's: {diff}", ctx.where)


OLD_DATALAYOUT_COMPONENT = "f80:128:128"


def check_old_datalayout(ctx: VerifyContext) -> Iterator[Finding]:
    """Before AIR 2.1: Apple's layout, or the older one that adds ``f80:128:128``."""
    layout = ctx.module.datalayout or ""
    parts = [p for p in layout.split("-") if p != OLD_DATALAYOUT_COMPONENT]
    if "-".join(parts) != AIR_DATALAYOUT:
        yield from check_datalayout(ctx)


def check_air_version_shape(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.version`` is one node of three integers, AIR 1.x or 2.x."""
    nmd = ctx.module.get_named_metadata("air.version")
    if nmd is None:
        yield _err("module has no !air.version (expected !{i32 M, i32 N, i32 P})", ctx.where)
        return
    version = ctx.air_version
    if version is None or len(nmd.nodes) != 1 or version[0] not in (1, 2):
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f"!air.version must be one node !{{i32 M, i32 N, i32 P}} with M 1 or 2; "
                   f"found {found}", ctx.where)
        return
    yield from _triple_agrees(ctx, version)


def _triple_agrees(ctx: VerifyContext, version: tuple[int, int, int]) -> Iterator[Finding]:
    match = TRIPLE_RE.match(ctx.module.triple or "")
    if match is not None and match["air"] and match["air"] != f"{version[0]}{version[1]}":
        yield _err(f"triple '{ctx.module.triple}' names AIR {match['air'][0]}."
                   f"{match['air'][1:]} but !air.version is {version[0]}.{version[1]}",
                   ctx.where)


def check_air_version(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.version = !{!{i32 2, i32 N, i32 0}}``, agreeing with an ``air64_vNN`` triple."""
    nmd = ctx.module.get_named_metadata("air.version")
    if nmd is None:
        yield _err("module has no !air.version (expected !{i32 2, i32 N, i32 0})", ctx.where)
        return
    version = ctx.air_version
    if version is None or len(nmd.nodes) != 1 or version[0] != 2 or version[2] != 0:
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f"!air.version must be one node !{{i32 2, i32 N, i32 0}}; found {found}",
                   ctx.where)
        return
    if version[1] not in AIR_TO_MSL:
        yield _warn(f"!air.version 2.{version[1]} is not a known AIR version", ctx.where)
    yield from _triple_agrees(ctx, version)


def check_language_version(ctx: VerifyContext) -> Iterator[Finding]:
    """``!air.language_version = !{!{!"Metal", i32 x, i32 y, i32 z}}``."""
    nmd = ctx.module.get_named_metadata("air.language_version")
    if nmd is None:
        yield _err('module has no !air.language_version (expected !{!"Metal", i32 x, i32 y, '
                   "i32 z})", ctx.where)
        return
    node = _single_node(ctx.module, "air.language_version")
    ops = node.operands if node is not None else []
    numbers = [_md_int(op) for op in ops[1:]]
    if (node is None or len(ops) != 4 or _md_text(ops[0]) != "Metal"
            or any(n is None for n in numbers)):
        found = ", ".join(_md_repr(n) for n in nmd.nodes) or "no node"
        yield _err(f'!air.language_version must be one node !{{!"Metal", i32 x, i32 y, i32 z}}; '
                   f"found {found}", ctx.where)
        return
    msl = (numbers[0], numbers[1])
    air = ctx.air_version
    expected = AIR_TO_MSL.get(air[1]) if air is not None else None
    if expected is not None and msl != expected:
        yield _warn(f"MSL {msl[0]}.{msl[1]} with AIR 2.{air[1]}: Apple pairs AIR 2.{air[1]} "
                    f"with MSL {expected[0]}.{expected[1]}", ctx.where)


def check_module_flags(ctx: VerifyContext) -> Iterator[Finding]:
    """Required flags (SDK Version, wchar_size, air.max_*) present and well-formed."""
    nmd = ctx.module.get_named_metadata("llvm.module.flags")
    flags: dict[str, MDNode] = {}
    for node in nmd.nodes if nmd is not None else []:
        ops = node.operands if isinstance(node, MDNode) else []
        name = _md_text(ops[1]) if len(ops) == 3 else None
        if name is None or _md_int(ops[0]) is None:
            yield _err(f"malformed !llvm.module.flags entry {_md_repr(node)} (expected "
                       '!{i32 behavior, !"name", value})', ctx.where)
            continue
        flags[name] = node  # type: ignore[assignment]
    for name, spec in MODULE_FLAGS.items():
        node = flags.get(name)
        if node is None:
            if spec.missing is not None:
                yield Finding(spec.missing, f"!llvm.module.flags has no '{name}' flag", ctx.where)
            continue
        behavior, value = _md_int(node.operands[0]), node.operands[2]
        if not spec.value_ok(value):
            yield _err(f"module flag '{name}' has value {_md_repr(value)}; expected "
                       f"{spec.value_shape}", ctx.where)
        if behavior != spec.behavior:
            yield _warn(f"module flag '{name}' has behavior {behavior}; Apple writes "
                        f"{spec.behavior}", ctx.where)


def check_module_flags_present_only(ctx: VerifyContext) -> Iterator[Finding]:
    """Before AIR 2.3: flags that are present are well-formed; none is required."""
    for finding in check_module_flags(ctx):
        if " has no '" not in finding.message:
            yield finding


# ------------------------------------------------------------------- kernel checks


def check_kernel_node(ctx: VerifyContext) -> Iterator[Finding]:
    """Each ``!air.kernel`` entry is ``!{fn, !{}, !{args}}``: defined void fn, one node per param."""
    yield from ctx.kernel_table.problems["kernel-node"]


def check_arg_node(ctx: VerifyContext) -> Iterator[Finding]:
    """Argument-node properties are known and have values of the right kind."""
    yield from ctx.kernel_table.problems["arg-node"]


def check_arg_role(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointer parameters are buffers (or other resources); others are known built-ins."""
    for kernel in ctx.kernel_table.kernels:
        for arg in kernel.args:
            is_pointer = isinstance(arg.param.ty, PointerType)
            if arg.role in POINTER_ROLES:
                if not is_pointer:
                    yield _err(f"{arg.label}: {arg.role} node describes a non-pointer parameter "
                               f"of type '{arg.param.ty}'", kernel.location)
            elif arg.role in BUILTIN_ROLES:
                if is_pointer:
                    yield _err(f"{arg.label}: pointer parameter '{arg.param.ty}' is described as "
                               f"built-in {arg.role}; pointer parameters must be described as "
                               "air.buffer", kernel.location)
            else:
                kind = "pointer" if is_pointer else "built-in"
                yield _err(f"{arg.label}: unknown argument role '{arg.role}' (expected a "
                           f"{kind} role)", kernel.location)


def _location_group(arg: ArgNode, spec: PointerRole) -> str:
    space = arg.int_prop("air.address_space")
    if space is None:
        ty = arg.param.ty
        space = ty.addrspace if isinstance(ty, PointerType) else 0
    return "threadgroup" if spec.location_group == "buffer" and space == 3 else spec.location_group


_GROUP_NOTES = {
    "buffer": "device and constant buffers share one index space",
    "threadgroup": "threadgroup buffers have their own index space",
    "texture": "textures have their own index space",
    "sampler": "samplers have their own index space",
}


def check_buffer_location(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.location_index N 1`` present, unique per index space (buffers / threadgroup)."""
    used: dict[tuple[int, str, int], ArgNode] = {}
    for kernel, arg, spec in ctx.pointer_args():
        index, count = arg.int_prop("air.location_index"), arg.int_prop("air.location_index", 1)
        if index is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.location_index", kernel.location)
            continue
        if count != 1:
            yield _warn(f"{arg.label}: air.location_index {index} is followed by i32 {count}; "
                        "Apple writes i32 1", kernel.location)
        group = _location_group(arg, spec)
        key = (id(kernel), group, index)
        first = used.get(key)
        if first is not None:
            yield _err(f"{arg.label}: air.location_index {index} is already used by parameter "
                       f"{first.position} ({_GROUP_NOTES[group]})", kernel.location)
        else:
            used[key] = arg


def check_buffer_access(ctx: VerifyContext) -> Iterator[Finding]:
    """Exactly one of ``air.read``, ``air.read_write``, ``air.write``."""
    for kernel, arg, spec in ctx.pointer_args():
        present = [key for key in ACCESS_KEYS if key in arg.props]
        if spec.access_required and not present:
            yield _err(f"{arg.label}: {arg.role} node has no access "
                       f"({', '.join(ACCESS_KEYS)})", kernel.location)
        elif len(present) > 1:
            yield _err(f"{arg.label}: {arg.role} node has several accesses: "
                       f"{', '.join(present)}", kernel.location)


def check_buffer_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.address_space`` equals the parameter's address space, which is 1, 2 or 3."""
    modern = ctx.air_version is not None and ctx.air_version[:2] >= (2, 5)
    for kernel, arg, spec in ctx.pointer_args():
        param_space = arg.param.ty.addrspace  # type: ignore[attr-defined]
        node_space = arg.int_prop("air.address_space")
        if node_space is not None and node_space != param_space:
            yield _err(f"{arg.label}: {arg.role} node has address space {node_space} but the "
                       f"parameter is '{arg.param.ty}'", kernel.location)
        elif param_space not in BUFFER_ADDRESS_SPACES:
            yield _err(f"{arg.label}: parameter '{arg.param.ty}' is not in a buffer address "
                       "space (1 device, 2 constant, 3 threadgroup)", kernel.location)
        elif node_space is None and spec.address_space_required:
            severity: Severity = "error" if modern else "warning"
            yield Finding(severity, f"{arg.label}: {arg.role} node has no air.address_space "
                          f"(every AIR 2.5+ sample has it)", kernel.location)


def _type_size_findings(ctx: VerifyContext, void_exempt: bool) -> Iterator[Finding]:
    for kernel, arg, spec in ctx.pointer_args():
        if not spec.type_size_required:
            continue
        if void_exempt and arg.text_prop("air.arg_type_name") == "void":
            continue
        for key in ("air.arg_type_size", "air.arg_type_align_size"):
            value = arg.int_prop(key)
            if value is None:
                yield _err(f"{arg.label}: {arg.role} node has no {key}", kernel.location)
            elif value <= 0:
                yield _err(f"{arg.label}: {key} is {value}", kernel.location)


def check_buffer_type_size(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.arg_type_size`` and ``air.arg_type_align_size`` present and positive."""
    yield from _type_size_findings(ctx, void_exempt=False)


def check_buffer_type_size_unless_void(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``buffer-type-size``, but a ``void *`` buffer has no size (Apple writes none)."""
    yield from _type_size_findings(ctx, void_exempt=True)


def check_buffer_type_name(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.arg_type_name`` present (its absence crashed the macOS 14 compiler)."""
    for kernel, arg, spec in ctx.pointer_args():
        if spec.type_name_required and arg.text_prop("air.arg_type_name") is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.arg_type_name (its absence "
                       "crashed the macOS 14 Metal compiler)", kernel.location)


def check_buffer_size_value(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.buffer_size`` agrees with the type size (device references carry it too)."""
    for finding in check_buffer_size(ctx):
        if "only by-value" not in finding.message:
            yield finding


def check_buffer_size(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.buffer_size`` only on constant (address space 2) buffers, equal to the type size."""
    for kernel, arg, _spec in ctx.pointer_args():
        size = arg.int_prop("air.buffer_size")
        if size is None:
            continue
        space = arg.param.ty.addrspace  # type: ignore[attr-defined]
        if space != 2:
            yield _err(f"{arg.label}: air.buffer_size on a parameter in address space {space}; "
                       "only by-value (constant, address space 2) buffers carry it",
                       kernel.location)
        type_size = arg.int_prop("air.arg_type_size")
        if type_size is not None and type_size != size:
            yield _warn(f"{arg.label}: air.buffer_size {size} differs from air.arg_type_size "
                        f"{type_size}", kernel.location)


def check_builtin_type(ctx: VerifyContext) -> Iterator[Finding]:
    """A built-in's type name is allowed for its role and matches the parameter's LLVM type."""
    for kernel, arg, names in ctx.builtin_args():
        name = arg.text_prop("air.arg_type_name")
        if name is None:
            yield _err(f"{arg.label}: {arg.role} node has no air.arg_type_name",
                       kernel.location)
            continue
        if name not in names:
            yield _err(f"{arg.label}: {arg.role} cannot be '{name}' (allowed: "
                       f"{', '.join(names)})", kernel.location)
            continue
        expected = BUILTIN_TYPES[name]
        if arg.param.ty != expected:
            yield _err(f"{arg.label}: {arg.role} is '{name}' ({expected}) but the parameter is "
                       f"'{arg.param.ty}'", kernel.location)


# ----------------------------------------------------------------------- type checks


def _nested_types(ty: Type) -> Iterator[Type]:
    """``ty`` and the types inside it (not through named structs, which are checked alone)."""
    yield ty
    if isinstance(ty, VectorType | ArrayType):
        yield from _nested_types(ty.element)
    elif isinstance(ty, StructType):
        for f in ty.fields:
            yield from _nested_types(f)
    elif isinstance(ty, FunctionType):
        yield from _nested_types(ty.ret)
        for p in ty.params:
            yield from _nested_types(p)
    elif isinstance(ty, TypedPointerType):
        yield from _nested_types(ty.pointee)


def _constant_types(value: Value, depth: int = 0) -> Iterator[Type]:
    """Types of a value and, for constants, of their parts."""
    yield value.ty
    if depth > 32:
        return
    if isinstance(value, ConstantExpr):
        if value.source_type is not None:
            yield value.source_type
        for op in value.ops:
            yield from _constant_types(op, depth + 1)
    elif isinstance(value, ConstantAggregate):
        for element in value.elements:
            yield from _constant_types(element, depth + 1)


@dataclass(frozen=True)
class TypeSite:
    """A place that mentions types: a struct body, global, signature or instruction."""

    what: str
    location: SourceLocation | None
    types: tuple[Type, ...]


def _instruction_types(inst: Instruction) -> Iterator[Type]:
    yield inst.ty
    for attr in ("allocated_type", "source_type", "function_type"):
        extra = getattr(inst, attr, None)
        if isinstance(extra, Type):
            yield extra
    for op in inst.ops:
        yield from _constant_types(op)


def type_sites(module: Module) -> Iterator[TypeSite]:
    """Every place of the module where a type appears."""
    for name, body in module.structs.items():
        if body is not None:
            yield TypeSite(f"struct %{name}", SourceLocation(module.file), (body,))
    for gv in module.globals:
        init = tuple(_constant_types(gv.initializer)) if gv.initializer is not None else ()
        yield TypeSite(f"global @{gv.name}", gv.location, (gv.ty, gv.value_type, *init))
    for fn in module.functions:
        yield TypeSite(f"function @{fn.name}", fn.location, (fn.function_type,))
        for inst in fn.instructions():
            yield TypeSite(_inst_label(inst, fn), inst.location, tuple(_instruction_types(inst)))


def _offending(site: TypeSite, bad: Callable[[Type], bool]) -> list[str]:
    found: dict[str, None] = {}
    for ty in site.types:
        for inner in _nested_types(ty):
            if bad(inner):
                found[str(inner)] = None
    return list(found)


def _type_rule(bad: Callable[[Type], bool], why: str) -> Callable[[VerifyContext],
                                                                 Iterator[Finding]]:
    def check(ctx: VerifyContext) -> Iterator[Finding]:
        for site in type_sites(ctx.module):
            found = _offending(site, bad)
            if found:
                shown = ", ".join(f"'{t}'" for t in found)
                yield _err(f"{site.what} uses {shown}: {why}", site.location)
    return check


def _is_wide_float(ty: Type) -> bool:
    return isinstance(ty, FloatType) and ty.kind in WIDE_FLOATS


def _is_wide_int(ty: Type) -> bool:
    return isinstance(ty, IntType) and ty.bits > MAX_INT_BITS


def _is_bad_address_space(ty: Type) -> bool:
    return (isinstance(ty, PointerType | TypedPointerType)
            and not 0 <= ty.addrspace <= MAX_ADDRESS_SPACE)


check_float_type = _type_rule(
    _is_wide_float, "Metal GPUs have no 64-bit (or wider) floating point")
check_float_type.__doc__ = "No ``double`` (or wider float) anywhere."
check_int_width = _type_rule(
    _is_wide_int, f"AIR has no integers wider than {MAX_INT_BITS} bits")
check_int_width.__doc__ = "No integer wider than 64 bits."
_check_pointer_types = _type_rule(
    _is_bad_address_space,
    "AIR address spaces are 0 private, 1 device, 2 constant, 3 threadgroup")


MESH_ADDRESS_SPACE = 7  # mesh functions' output (Apple's mesh shaders, AIR 2.6+)
_check_pointer_types_with_mesh = _type_rule(
    lambda ty: _is_bad_address_space(ty) and ty.addrspace != MESH_ADDRESS_SPACE,  # type: ignore[attr-defined]
    "AIR address spaces are 0 private, 1 device, 2 constant, 3 threadgroup, 7 mesh")


def check_address_space_with_mesh(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointers in address spaces 0-3 or 7 (mesh); allocas in address space 0."""
    yield from _check_pointer_types_with_mesh(ctx)
    for finding in check_address_space(ctx):
        if "allocates in address space" in finding.message:
            yield finding


def check_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """Pointers only in address spaces 0-3; allocas in address space 0."""
    yield from _check_pointer_types(ctx)
    for fn in ctx.module.functions:
        for inst in fn.instructions():
            if isinstance(inst, Alloca) and inst.addrspace != 0:
                yield _err(f"{_inst_label(inst, fn)} allocates in address space "
                           f"{inst.addrspace}; private memory is address space 0", inst.location)


# --------------------------------------------------------------- pointer provenance


_PROVABLY_PRIVATE = (Alloca, ConstantNull, ConstantZero, Undef, Poison, GlobalValue)


def _pointer_inputs(value: Value, ctx: VerifyContext) -> list[Value] | None:
    """The values a private pointer derives from, or None where it cannot be traced."""
    if isinstance(value, GetElementPtr | Freeze):
        return [value.ops[0]]
    if isinstance(value, Phi):
        return list(value.ops)
    if isinstance(value, Select):
        return list(value.ops[1:])
    if isinstance(value, Cast | ConstantExpr) and value.opcode in ("bitcast", "getelementptr"):
        return [value.ops[0]]
    if isinstance(value, Cast | ConstantExpr) and value.opcode == "addrspacecast":
        source = value.ops[0].ty
        # a cast from another space is the addrspacecast rule's finding
        return [value.ops[0]] if source == PointerType(0) else []
    if isinstance(value, Argument):
        owner = ctx.arg_owner.get(id(value))
        if owner is None or id(owner[0]) in ctx.kernel_functions:
            return []  # kernel parameters: checked by the parameter rules
        fn, index = owner
        return [call.ops[index] for call in ctx.call_sites.get(id(fn), [])
                if index < len(call.ops) - 1]
    return None


def _untraceable_roots(value: Value, ctx: VerifyContext) -> list[Value]:
    """Roots of ``value`` (through GEPs, casts, phis, selects, call sites) that are not allocas."""
    stack, seen, roots = [value], set(), []
    while stack:
        current = stack.pop()
        if id(current) in seen or isinstance(current, _PROVABLY_PRIVATE):
            continue
        seen.add(id(current))
        inputs = _pointer_inputs(current, ctx)
        if inputs is None:
            roots.append(current)
        else:
            stack.extend(inputs)
    return roots


def _private_pointer_uses(fn: Function) -> Iterator[tuple[Instruction, Value]]:
    for inst in fn.instructions():
        operands = inst.ops[:-1] if isinstance(inst, Call) else inst.ops
        for op in operands:
            if op.ty == PointerType(0):
                yield inst, op


def _root_finding(root: Value, use: Instruction, fn: Function) -> Finding:
    if isinstance(root, Cast | ConstantExpr) and root.opcode == "inttoptr":
        return _err(f"private (address space 0) pointer used by {_inst_label(use, fn)} is made "
                    "by inttoptr; AIR has no generic pointers, so it must come from an alloca",
                    use.location)
    origin = root.opcode if isinstance(root, Instruction | ConstantExpr) else type(root).__name__
    return _warn(f"private (address space 0) pointer used by {_inst_label(use, fn)} comes from "
                 f"'{origin}' and cannot be traced to an alloca", use.location)


def check_private_pointer_with_dyld(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``private-pointer``, but the dynamic linker's ``air.dyld_*`` tables are mutable
    private globals in Apple's output."""
    for finding in check_private_pointer(ctx):
        if f"global @{DYLD_TABLE_PREFIX}" not in finding.message:
            yield finding


def check_private_pointer(ctx: VerifyContext) -> Iterator[Finding]:
    """Address-space-0 pointers come from allocas (or constant globals); no mutable private globals."""
    for gv in ctx.module.globals:
        if gv.addrspace == 0 and not gv.is_constant and not gv.name.startswith("llvm."):
            yield _err(f"global @{gv.name} is a mutable variable in the private address space 0; "
                       "program-scope variables are constant (2) or threadgroup (3)", gv.location)
    reported: set[int] = set()
    roots_of: dict[int, list[Value]] = {}
    for fn in ctx.module.functions:
        for inst, op in _private_pointer_uses(fn):
            if id(op) not in roots_of:
                roots_of[id(op)] = _untraceable_roots(op, ctx)
            for root in roots_of[id(op)]:
                if id(root) not in reported:
                    reported.add(id(root))
                    yield _root_finding(root, inst, fn)


def _constant_exprs(value: Value, depth: int = 0) -> Iterator[ConstantExpr]:
    if isinstance(value, ConstantExpr) and depth < 32:
        yield value
        for op in value.ops:
            yield from _constant_exprs(op, depth + 1)
    elif isinstance(value, ConstantAggregate) and depth < 32:
        for element in value.elements:
            yield from _constant_exprs(element, depth + 1)


def _addrspacecasts(fn: Function) -> Iterator[tuple[Instruction, Value]]:
    """(instruction, cast) for each addrspacecast instruction or constant expression in ``fn``."""
    for inst in fn.instructions():
        if isinstance(inst, Cast) and inst.opcode == "addrspacecast":
            yield inst, inst
        for op in inst.ops:
            for expr in _constant_exprs(op):
                if expr.opcode == "addrspacecast":
                    yield inst, expr


def check_addrspacecast(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``addrspacecast`` into address space 0 from another space (no generic pointers)."""
    for fn in ctx.module.functions:
        for inst, cast in _addrspacecasts(fn):
            source, target = cast.ops[0].ty, cast.ty  # type: ignore[attr-defined]
            if not isinstance(source, PointerType) or not isinstance(target, PointerType):
                continue
            if target.addrspace == 0 and source.addrspace != 0:
                yield _err(f"{_inst_label(inst, fn)} casts '{source}' to the generic address "
                           "space 0; AIR has no generic pointers: keep the concrete space",
                           inst.location)
            elif source.addrspace != target.addrspace:
                yield _warn(f"{_inst_label(inst, fn)} casts '{source}' to '{target}'; Apple's "
                            "compiler never converts between address spaces", inst.location)


# ------------------------------------------------------------------ instruction checks


def _atomic_instruction(inst: Instruction) -> str | None:
    """The kind of LLVM atomic ``inst`` is, or None."""
    if isinstance(inst, AtomicRMW):
        return f"atomicrmw {inst.operation}"
    if isinstance(inst, CmpXchg):
        return "cmpxchg"
    if isinstance(inst, Fence):
        return "fence"
    if isinstance(inst, Load | Store) and inst.ordering is not None:
        return f"atomic {inst.opcode}"
    return None


def check_llvm_atomic(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``atomicrmw``, ``cmpxchg``, ``fence`` or atomic load/store: AIR uses air.atomic.* calls."""
    for fn in ctx.module.functions:
        for inst in fn.instructions():
            kind = _atomic_instruction(inst)
            if kind is not None:
                yield _err(f"{_inst_label(inst, fn)} is an LLVM '{kind}'; AIR expresses atomics "
                           "as air.atomic.* calls", inst.location)


def check_inline_asm(ctx: VerifyContext) -> Iterator[Finding]:
    """No inline assembly."""
    for fn, call in ctx.calls():
        if isinstance(call.callee, InlineAsm):
            text = call.callee.asm if len(call.callee.asm) <= 40 else call.callee.asm[:37] + "..."
            yield _err(f"{_inst_label(call, fn)} calls inline asm \"{text}\"; inline assembly "
                       "has no meaning on Apple GPUs", call.location)


def check_indirect_call(ctx: VerifyContext) -> Iterator[Finding]:
    """Calls name their callee directly."""
    for fn, call in ctx.calls():
        if not isinstance(call.callee, Function | InlineAsm):
            yield _err(f"{_inst_label(call, fn)} is an indirect call through a "
                       f"'{call.callee.ty}' value; AIR has no function pointers", call.location)


def check_trap(ctx: VerifyContext) -> Iterator[Finding]:
    """No ``llvm.trap``/``llvm.debugtrap``: a trap wedges the GPU."""
    for fn, call in ctx.calls():
        callee = call.callee_function
        if callee is not None and callee.name in TRAP_INTRINSICS:
            yield _err(f"{_inst_label(call, fn)} calls @{callee.name}; a trap wedges Apple GPUs",
                       call.location)


def check_calling_convention(ctx: VerifyContext) -> Iterator[Finding]:
    """Functions and calls use the default C calling convention (no ptx_kernel, spir_kernel...)."""
    for fn in ctx.module.functions:
        if fn.cc not in DEFAULT_CCS:
            yield _err(f"function @{fn.name} has calling convention '{fn.cc}'; AIR functions "
                       "use the default one", fn.location)
        for inst in fn.instructions():
            if isinstance(inst, Call) and inst.cc not in DEFAULT_CCS:
                yield _err(f"{_inst_label(inst, fn)} uses calling convention '{inst.cc}'; AIR "
                           "calls use the default one", inst.location)


def check_entry_calling_convention(ctx: VerifyContext) -> Iterator[Finding]:
    """Kernels use the default calling convention (Apple's helpers may be ``fastcc``)."""
    for fn in ctx.module.functions:
        if id(fn) in ctx.kernel_functions and fn.cc not in DEFAULT_CCS:
            yield _err(f"kernel @{fn.name} has calling convention '{fn.cc}'; entry points use "
                       "the default one", fn.location)


def _intrinsic_allowed(name: str) -> bool:
    return any(name == fam or name.startswith(fam + ".") for fam in ALLOWED_INTRINSICS)


def check_llvm_intrinsic(ctx: VerifyContext) -> Iterator[Finding]:
    """``llvm.*`` calls are on the allow-list (warning otherwise; error for other targets')."""
    for fn in ctx.module.functions:
        name = fn.name
        if not name.startswith("llvm.") or name in TRAP_INTRINSICS or _intrinsic_allowed(name):
            continue
        if not fn.is_declaration:
            continue
        if name.startswith(FOREIGN_INTRINSIC_PREFIXES):
            yield _err(f"@{name} is another target's intrinsic; it has no AIR meaning",
                       fn.location)
        else:
            yield _warn(f"@{name} is not an intrinsic Apple's AIR is known to use (AIR writes "
                        "most operations as air.* calls)", fn.location)


DYLD_TABLE_PREFIX = "air.dyld_"


def _links_dynamic_libraries(module: Module) -> bool:
    return any(gv.name.startswith(DYLD_TABLE_PREFIX) for gv in module.globals)


def check_undefined_function_or_imported(ctx: VerifyContext) -> Iterator[Finding]:
    """As ``undefined-function``; a module that links dynamic libraries (``air.dyld_*``
    tables) may import functions from them."""
    if _links_dynamic_libraries(ctx.module):
        return
    yield from check_undefined_function(ctx)


def check_undefined_function(ctx: VerifyContext) -> Iterator[Finding]:
    """Declarations are air.*, llvm.*, or ``section "air.externally_defined"``."""
    for fn in ctx.module.functions:
        if (not fn.is_declaration or fn.name.startswith(("air.", "llvm."))
                or fn.section == EXTERNALLY_DEFINED_SECTION):
            continue
        yield _err(f"function @{fn.name} is declared but not defined, and is neither an air.* "
                   f"intrinsic nor in section \"{EXTERNALLY_DEFINED_SECTION}\": an unresolved "
                   "external symbol", fn.location)


def _needs_convergent(callee: Function) -> bool:
    return bool(CONVERGENT_CALLEE_RE.match(callee.name)) or "convergent" in callee.fn_attrs


def check_convergent(ctx: VerifyContext) -> Iterator[Finding]:
    """Barrier/SIMD declarations, and functions calling convergent functions, are ``convergent``."""
    for fn in ctx.module.functions:
        if "convergent" in fn.fn_attrs:
            continue
        if fn.is_declaration:
            if CONVERGENT_CALLEE_RE.match(fn.name):
                yield _err(f"declaration @{fn.name} is not convergent; Apple marks barrier and "
                           "SIMD-group functions convergent", fn.location)
            continue
        callee = next((c.callee_function for c in fn.instructions()
                       if isinstance(c, Call) and c.callee_function is not None
                       and _needs_convergent(c.callee_function)), None)
        if callee is not None:
            yield _err(f"function @{fn.name} calls convergent @{callee.name} but is not "
                       "convergent", fn.location)


def check_atomic_address_space(ctx: VerifyContext) -> Iterator[Finding]:
    """``air.atomic.global.*`` take device (1) pointers, ``air.atomic.local.*`` threadgroup (3)."""
    for fn, call in ctx.calls():
        callee = call.callee_function
        match = ATOMIC_SCOPE_RE.match(callee.name) if callee is not None else None
        if match is None:
            continue
        expected = ATOMIC_ADDRESS_SPACES[match["scope"]]
        pointer = call.args[0] if call.args else None
        actual = pointer.ty if pointer is not None else None
        if not isinstance(actual, PointerType) or actual.addrspace != expected:
            yield _err(f"{_inst_label(call, fn)} calls @{callee.name} (address space "  # type: ignore[union-attr]
                       f"{expected}) with a '{actual}' pointer", call.location)


# ----------------------------------------------------------------------- the table


Profile = Literal["apple", "ours"]
PROFILES: tuple[Profile, ...] = ("apple", "ours")
AirVersion = tuple[int, int]


@dataclass(frozen=True)
class Rule:
    """A verifier rule: its id (what diagnostics and tests name), a summary, its check, the
    profiles it belongs to and the AIR versions (``since`` <= version < ``until``) it
    covers; None covers every version, and a module without ``!air.version`` as well."""

    id: str
    summary: str
    check: Callable[[VerifyContext], Iterable[Finding]]
    profiles: frozenset[str] = frozenset(PROFILES)
    since: AirVersion | None = None
    until: AirVersion | None = None

    def applies(self, profile: str, version: AirVersion | None) -> bool:
        if profile not in self.profiles:
            return False
        if version is None:
            return self.since is None
        return ((self.since is None or version >= self.since)
                and (self.until is None or version < self.until))


def _rule(rule_id: str, check: Callable[[VerifyContext], Iterable[Finding]],
          profiles: tuple[str, ...] = PROFILES, since: AirVersion | None = None,
          until: AirVersion | None = None) -> Rule:
    summary = (check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else rule_id
    return Rule(rule_id, summary, check, frozenset(profiles), since, until)


APPLE: tuple[str, ...] = ("apple",)
OURS: tuple[str, ...] = ("ours",)
# Every Apple-built module of AIR 2.3 (macOS 11) and later has the module flags; earlier
# ones (AIR 1.x for iOS, 2.0-2.2 for macOS 10.15) have some or none of them.
FLAGS_REQUIRED_SINCE: AirVersion = (2, 3)
# AIR before 2.1 (Xcode 11 and older) has an x86-style data layout (f80:128:128).
MODERN_LAYOUT_SINCE: AirVersion = (2, 1)

RULES: tuple[Rule, ...] = (
    _rule("triple", check_triple),
    _rule("datalayout", check_datalayout, APPLE, since=MODERN_LAYOUT_SINCE),
    _rule("datalayout", check_old_datalayout, APPLE, until=MODERN_LAYOUT_SINCE),
    _rule("datalayout", check_datalayout, OURS),
    _rule("air-version", check_air_version_shape, APPLE),
    _rule("air-version", check_air_version, OURS),
    _rule("language-version", check_language_version),
    _rule("module-flags", check_module_flags, APPLE, since=FLAGS_REQUIRED_SINCE),
    _rule("module-flags", check_module_flags_present_only, APPLE, until=FLAGS_REQUIRED_SINCE),
    _rule("module-flags", check_module_flags, OURS),
    _rule("kernel-node", check_kernel_node),
    _rule("arg-node", check_arg_node),
    _rule("arg-role", check_arg_role),
    _rule("buffer-location", check_buffer_location),
    _rule("buffer-access", check_buffer_access),
    _rule("buffer-address-space", check_buffer_address_space),
    _rule("buffer-type-size", check_buffer_type_size_unless_void, APPLE),
    _rule("buffer-type-size", check_buffer_type_size, OURS),
    _rule("buffer-type-name", check_buffer_type_name),
    _rule("buffer-size", check_buffer_size_value, APPLE),
    _rule("buffer-size", check_buffer_size, OURS),
    _rule("builtin-type", check_builtin_type),
    _rule("calling-convention", check_entry_calling_convention, APPLE),
    _rule("calling-convention", check_calling_convention, OURS),
    _rule("address-space", check_address_space_with_mesh, APPLE),
    _rule("address-space", check_address_space, OURS),
    _rule("private-pointer", check_private_pointer_with_dyld, APPLE),
    _rule("private-pointer", check_private_pointer, OURS),
    _rule("addrspacecast", check_addrspacecast),
    _rule("llvm-atomic", check_llvm_atomic),
    _rule("float-type", check_float_type),
    _rule("int-width", check_int_width),
    _rule("inline-asm", check_inline_asm),
    _rule("trap", check_trap),
    _rule("indirect-call", check_indirect_call),
    _rule("llvm-intrinsic", check_llvm_intrinsic),
    _rule("undefined-function", check_undefined_function_or_imported, APPLE),
    _rule("undefined-function", check_undefined_function, OURS),
    _rule("convergent", check_convergent),
    _rule("atomic-address-space", check_atomic_address_space),
)
RULE_IDS: frozenset[str] = frozenset(rule.id for rule in RULES)


def verify_air(module: Module, rules: Iterable[Rule] = RULES,
               profile: str = "apple") -> list[Diagnostic]:
    """Check ``module`` against the rows of ``rules`` for ``profile`` and its AIR version;
    errors and warnings, in rule order."""
    ctx = VerifyContext(module)
    version = ctx.air_version[:2] if ctx.air_version is not None else None
    return [Diagnostic(f.severity, rule.id, f.message, f.location)
            for rule in rules if rule.applies(profile, version) for f in rule.check(ctx)]


def verify_air_text(text: str, file: str = "<input>", profile: str = "apple") -> list[Diagnostic]:
    """Read LLVM IR text (any LLVM 14-22 dialect, typed pointers included) and verify it.

    Raises :class:`llvm_to_air.errors.CompileError` if the text is not valid LLVM IR.
    """
    from llvm_to_air.ir import read_module

    return verify_air(read_module(text, file), profile=profile)


def errors_of(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Only the errors."""
    return [d for d in diagnostics if d.severity == "error"]


__all__ = [
    "RULES", "RULE_IDS", "Diagnostic", "Rule", "errors_of", "parse_kernels", "verify_air",
    "verify_air_text",
]
