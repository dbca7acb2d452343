"""Apple equivalence: our AIR for CUDA/OpenCL twins of Apple-built kernels, field by field.

Each twin in ``tests/fixtures/src/apple-twins/`` is the same kernel as one whose
Apple-built AIR is in the reference corpus (``../shared/reference/apple-air/``,
third-party data, never copied into the repository). We lower the twin's
clang-19 output for the Apple file's deployment target and compare our module
with Apple's, both read with :func:`llvm_to_air.ir.reader.read_module`:

* the kernel's parameter types in order, pointees included (read from the
  typed-pointer ``!air.kernel`` signature of both texts);
* every ``!air.kernel`` argument node, key by key and value by value, except
  ``air.arg_name``;
* the built-in roles and their types;
* the ``air.*`` functions called, with the constant operands of barriers and
  atomics and the declarations' attributes;
* the module: triple, data layout, ``!air.version``, ``!air.language_version``,
  ``!air.compile_options``, the ``llvm.module.flags`` and the named metadata;
* the kernel's ``convergent`` and fast-math attributes.

Apple's module is the oracle: nothing here compares with our own earlier
output. A difference that comes from the source language rather than from
the lowering is listed per twin as a :class:`Alt` (Apple's value, the value
we may write instead, and why); anything else fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from llvm_to_air.api import compile as compile_air
from llvm_to_air.ir.model import (
    Call,
    ConstantAggregate,
    ConstantInt,
    Function,
    GlobalValue,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    Module,
)
from llvm_to_air.ir.reader import read_module

APPLE_AIR = Path(__file__).parents[1].parent / "shared" / "reference" / "apple-air"
TWINS = Path(__file__).parent / "fixtures" / "apple-twins"
MISSING = f"Apple reference AIR not found at {APPLE_AIR} (third-party data, not in the repo)"

ACCESS_KEYS = ("air.read", "air.read_write", "air.write")
FAST_MATH_ATTRIBUTES = ('"approx-func-fp-math"="true"', '"no-infs-fp-math"="true"',
                        '"no-nans-fp-math"="true"', '"no-signed-zeros-fp-math"="true"',
                        '"unsafe-fp-math"="true"')
# Parameter attributes compared with Apple's. Not compared: Apple's "air-buffer-no-alias" (and
# AIR 2.5's noalias), which MSL may promise because its buffers never alias; CUDA and OpenCL
# pointers may, so the lowering writes it only for restrict parameters.
COMPARED_PARAM_ATTRIBUTES = re.compile(r"^(readonly|writeonly|readnone|align \d+|"
                                       r"dereferenceable\(\d+\))$")
# Calls whose constant operands (flags, order, scope, volatile) must match Apple's.
CONSTANT_OPERAND_PREFIXES = ("air.wg.barrier", "air.simdgroup.barrier", "air.atomic.")


@dataclass(frozen=True)
class Alt:
    """A tolerated difference: Apple writes ``apple``; we may write it or ``ours``."""

    apple: object
    ours: object
    reason: str


@dataclass(frozen=True)
class Twin:
    """One twin and its Apple oracle, with every tolerated difference.

    Parameters are paired in order among the non-built-in ones (buffers,
    constants, threadgroup memory); built-ins are paired by role, because
    CUDA and OpenCL read them through calls, which the lowering turns into
    parameters after the source's own.
    """

    id: str
    fixture: str                      # tests/fixtures/apple-twins/<fixture>.ll
    apple: str                        # file in ../shared/reference/apple-air/
    target: str
    kernel: str                       # Apple's kernel name (ours after renames)
    renames: tuple[tuple[str, str], ...] = ()
    params: dict[int, Alt] = field(default_factory=dict)         # non-built-in index
    param_attrs: dict[int, Alt] = field(default_factory=dict)    # non-built-in index
    extra_params: dict[int, str] = field(default_factory=dict)   # our non-built-in index
    nodes: dict[tuple[int, str], Alt] = field(default_factory=dict)  # (index, key)
    roles: dict[str, Alt] = field(default_factory=dict)          # (type name, LLVM type)
    missing_roles: dict[str, str] = field(default_factory=dict)  # Apple's, not ours
    extra_roles: dict[str, str] = field(default_factory=dict)    # ours, not Apple's
    missing_calls: dict[str, str] = field(default_factory=dict)  # air.* Apple calls
    extra_calls: dict[str, str] = field(default_factory=dict)    # air.* we call
    # "triple", "flag:<module flag>", "named:<named metadata>", "fast-math" (kernel attributes)
    module: dict[str, Alt] = field(default_factory=dict)


# ------------------------------------------------------- tolerated differences
# Each reason says why a difference comes from the source language or from
# how Apple's library was built, not from the lowering.

ACCESS_BY_USE = ("Apple derives air.read / air.read_write from the MSL declaration (a non-const "
                 "`device T *` is read_write); the lowering derives it from use, and the kernel "
                 "only reads this buffer")
UINT3_ROLE = ("the MSL source declares this built-in as a scalar `uint`; OpenCL's get_*_id(dim) / "
              "get_*_size(dim) read one lane of it, which the lowering passes as `uint3` "
              "(<3 x i32>) and extracts from, as Apple does for a `uint3` declaration")
USHORT_ROLE = ("the MSL source declares this SIMD-group built-in as `ushort`; OpenCL's "
               "get_sub_group_local_id() / get_sub_group_id() return uint")
CUDA_ROLE = ("CUDA has no grid-position built-in: blockIdx * blockDim + threadIdx reads "
             "threadgroup_position_in_grid, dispatch_threads_per_threadgroup and "
             "thread_position_in_threadgroup instead of thread_position_in_grid")
UNUSED_ROLE = ("the MSL source declares a built-in it never reads (Apple marks it "
               "air.arg_unused); the twin has nothing to declare")
ATOMIC_STRUCT = ("MSL's atomic_float is the struct metal::_atomic<float> { float __s; }; "
                 "OpenCL's atomic_float and CUDA's float * are plain floats")
CUDA_TYPE_NAME = ("CUDA IR has no kernel_arg_type metadata, so the lowering names the type from "
                  "the LLVM type: i16 / i32 are 'short' / 'int' where MSL says ushort / uint")
CUDA_GENERIC = ("CUDA pointer parameters are generic: MSL's `constant float *` has no CUDA "
                "spelling, so the twin's buffer is device memory")
FOO_BAR = ("foo / bar are function constants in Apple's vadd and by-value scalars (constant "
           "buffers) in the twin")
OLD_WRITEONLY = ("Apple's Xcode 14 compiler (metalfe 31001) did not mark the store-only buffer "
                 "writeonly; later Apple compilers do (vadd's c)")
NO_APPROX_FUNC = ("Apple's Xcode 14 compiler (metalfe 31001) predates the approx-func-fp-math "
                  "attribute; later ones write all five")
HALF_SIGN = ("clang folds `half sign = (w & 0x80) ? -1 : 1` into a select of two half "
             "constants, so no int -> half conversion remains")
FIELD_WIDTH = ("clang converts the 4-bit field from its ushort type (u.i16); Apple's front end "
               "promotes it to int first (s.i32)")
NO_BFLOAT = ("OpenCL C has no bfloat on spir64: the twin keeps MSL's bfloat values in float, so "
             "Apple's half -> bfloat conversion has no counterpart")
VIA_FLOAT = ("C++ has no direct bfloat -> half conversion: the twin converts through float with "
             "plain fpext / fptrunc (exact for bfloat), as Apple itself writes bfloat <-> float "
             "in findCutoff32")
SDK_NEWER = ("Apple's SDK Version is the SDK of the Xcode that built the library, newer than "
             "the deployment target; ours names the target's own")
OS_MINOR = "Apple's library targets macOS 14.4; our targets are major versions (macos14 = 14.0.0)"
TRIPLE_V27 = ("Xcode 26 spells the macOS 15 target air64_v27-...; Xcode 16 writes "
              "air64-apple-macosx15.0.0 (constants.15.metallib), as we do, and both load")
LINE_TABLES = ("Apple's library was built with line tables (-gline-tables-only); the twins are "
               "built without -g")
FROM_METALLIB = ("Apple's module was cut out of a metallib, whose modules carry no "
                 "!air.source_file_name (Apple's .air outputs do: vecAdd, shared)")
FUNCTION_CONSTANTS = "Apple's vadd declares foo and bar as function constants"

# Module-level differences of every module cut out of kolinko's macOS 14.4 debug metallib.
KOLINKO_MODULE = {
    "triple": Alt("air64-apple-macosx14.4.0", "air64-apple-macosx14.0.0", OS_MINOR),
    "flag:SDK Version": Alt((2, (14, 4)), (2, (14, 0)), SDK_NEWER),
    "flag:Dwarf Version": Alt((7, 4), None, LINE_TABLES),
    "flag:Debug Info Version": Alt((2, 3), None, LINE_TABLES),
    "named:llvm.dbg.cu": Alt(True, False, LINE_TABLES),
    "named:air.source_file_name": Alt(False, True, FROM_METALLIB),
}
VADD_MODULE = {
    "named:air.function_constants": Alt(True, False, FUNCTION_CONSTANTS),
    "named:air.source_file_name": Alt(False, True, FROM_METALLIB),
}
GRID_UINT = {"thread_position_in_grid": Alt(("uint", "i32"), ("uint3", "<3 x i32>"), UINT3_ROLE)}
CUDA_ROLES = {"thread_position_in_threadgroup": CUDA_ROLE,
              "threadgroup_position_in_grid": CUDA_ROLE,
              "dispatch_threads_per_threadgroup": CUDA_ROLE}
ATOMIC_RESULT = Alt('%"struct.metal::_atomic.2" addrspace(1)*', "float addrspace(1)*",
                    ATOMIC_STRUCT)
ATOMIC_INFO = Alt(((0, 4, 0, "float", "__s"),), None, ATOMIC_STRUCT)
BUCKET_CALLS = {"air.convert.f.f16.s.i32": HALF_SIGN, "air.convert.f.f32.s.i32": FIELD_WIDTH}

TWIN_LIST: list[Twin] = [
    Twin("vecAdd", "vecAdd", "philipturner__air-v__Tests_AIRVTests_Resources_vecAdd_msl.air.ll",
         "macos13", "vecAdd",
         nodes={(0, "access"): Alt(("air.read_write",), ("air.read",), ACCESS_BY_USE),
                (1, "access"): Alt(("air.read_write",), ("air.read",), ACCESS_BY_USE)},
         param_attrs={2: Alt([], ["writeonly"], OLD_WRITEONLY)},
         module={"fast-math": Alt(list(FAST_MATH_ATTRIBUTES[1:]), list(FAST_MATH_ATTRIBUTES),
                                  NO_APPROX_FUNC)}),
    *(Twin(f"vadd-{target}", "vadd", f"JuliaGPU__Metal.jl__test_metallib_constants.{major}"
           ".metallib__vadd.dis14.ll", target, "vadd",
           extra_params={3: FOO_BAR, 4: FOO_BAR}, roles=GRID_UINT,
           module={**VADD_MODULE, **sdk})
      for target, major, sdk in (
          ("macos14", 14, {"flag:SDK Version": Alt((2, (14, 4)), (2, (14, 0)), SDK_NEWER)}),
          ("macos15", 15, {}),
          ("macos26", 26, {"flag:SDK Version": Alt((2, (26, 5)), (2, (26, 0)), SDK_NEWER)}))),
    Twin("shared_mem_kernel", "shared_mem_kernel", "sueszli__llvm-to-air__shared.ll", "macos15",
         "shared_mem_kernel",
         roles={**GRID_UINT, "thread_position_in_threadgroup":
                Alt(("uint", "i32"), ("uint3", "<3 x i32>"), UINT3_ROLE)},
         module={"triple": Alt("air64_v27-apple-macosx15.0.0", "air64-apple-macosx15.0.0",
                               TRIPLE_V27),
                 "flag:SDK Version": Alt((2, (26, 0)), (2, (15, 0)), SDK_NEWER)}),
    Twin("bucketMulQ8", "bucketMulQ8", "kolinko__effort__default.metallib__bucketMulQ8.dis14.ll",
         "macos14", "bucketMulQ8",
         params={2: ATOMIC_RESULT},
         nodes={(2, "air.struct_type_info"): ATOMIC_INFO,
                (2, "air.arg_type_name"): Alt(("metal::_atomic",), ("atomic_float",),
                                              ATOMIC_STRUCT)},
         missing_calls=BUCKET_CALLS, extra_calls={"air.convert.f.f32.u.i16": FIELD_WIDTH},
         module=KOLINKO_MODULE),
    Twin("bucketMulQ8-cuda", "bucketMulQ8_cuda",
         "kolinko__effort__default.metallib__bucketMulQ8.dis14.ll", "macos14", "bucketMulQ8",
         params={2: ATOMIC_RESULT,
                 3: Alt("float addrspace(2)*", "float addrspace(1)*", CUDA_GENERIC)},
         nodes={(0, "air.arg_type_name"): Alt(("ushort",), ("short",), CUDA_TYPE_NAME),
                (2, "air.struct_type_info"): ATOMIC_INFO,
                (2, "air.arg_type_name"): Alt(("metal::_atomic",), ("float",), ATOMIC_STRUCT),
                (3, "air.address_space"): Alt((2,), (1,), CUDA_GENERIC),
                (4, "air.arg_type_name"): Alt(("uint",), ("int",), CUDA_TYPE_NAME)},
         missing_roles={"thread_position_in_grid": CUDA_ROLE}, extra_roles=CUDA_ROLES,
         missing_calls=BUCKET_CALLS, extra_calls={"air.convert.f.f32.u.i16": FIELD_WIDTH},
         module=KOLINKO_MODULE),
    Twin("rmsNorm32fast", "rmsNorm32fast",
         "kolinko__effort__default.metallib__rmsNorm32fast.dis14.ll", "macos14", "rmsNorm32fast",
         nodes={(0, "access"): Alt(("air.read_write",), ("air.read",), ACCESS_BY_USE)},
         roles={**GRID_UINT,
                "threads_per_grid": Alt(("uint", "i32"), ("uint3", "<3 x i32>"), UINT3_ROLE),
                "thread_index_in_simdgroup": Alt(("ushort", "i16"), ("uint", "i32"), USHORT_ROLE),
                "simdgroup_index_in_threadgroup": Alt(("ushort", "i16"), ("uint", "i32"),
                                                      USHORT_ROLE)},
         missing_roles={"simdgroups_per_threadgroup": UNUSED_ROLE},
         module=KOLINKO_MODULE),
    Twin("findCutoff32", "findCutoff32",
         "kolinko__effort__default.metallib__findCutoff32.dis14.ll", "macos14", "findCutoff32",
         roles=GRID_UINT, missing_roles={"threads_per_grid": UNUSED_ROLE},
         missing_calls={"air.convert.f.bf16.f.f16": NO_BFLOAT},
         extra_calls={"air.popcount.i8": "our OpenCL twin counts the set lanes of a vector "
                      "compare, which clang turns into llvm.ctpop.i4 (widened to i8, since AIR "
                      "has no i4 popcount); Apple's MSL source counts without popcount"},
         module=KOLINKO_MODULE),
    Twin("silu", "silu", "kolinko__effort__default.metallib__silu.dis14.ll", "macos14", "silu",
         renames=(("_Z4siluPKDF16_S0_PDF16_", "silu"),),
         missing_roles={"thread_position_in_grid": CUDA_ROLE}, extra_roles=CUDA_ROLES,
         module=KOLINKO_MODULE),
    Twin("convertBF16X", "convertBF16X",
         "kolinko__effort__default.metallib__convertBF16X.dis14.ll", "macos14", "convertBF16X",
         nodes={(0, "access"): Alt(("air.read_write",), ("air.read",), ACCESS_BY_USE)},
         missing_roles={"thread_position_in_grid": CUDA_ROLE}, extra_roles=CUDA_ROLES,
         missing_calls={"air.convert.f.f16.f.bf16": VIA_FLOAT},
         module=KOLINKO_MODULE),
]
TWINS_BY_ID = {t.id: t for t in TWIN_LIST}

# ------------------------------------------------------------------ reading


@dataclass
class Param:
    """One kernel parameter: its typed LLVM 14 type and its argument node."""

    ty: str
    fields: dict[str, tuple[object, ...]]   # node key -> values, air.arg_name dropped
    role: str | None                        # "thread_position_in_grid", ...; None for buffers
    attrs: list[str]                        # the COMPARED_PARAM_ATTRIBUTES it has, sorted


@dataclass
class Side:
    """What the comparison reads from one module (Apple's or ours)."""

    module: Module
    kernel: Function
    buffers: list[Param]
    roles: dict[str, Param]


@dataclass
class Pair:
    apple: Side
    ours: Side


def md_value(md: Metadata | None) -> object:
    """Metadata as plain Python: strings, ints, tuples, ``@name`` for globals."""
    if md is None:
        return None
    if isinstance(md, MDString):
        return md.value.decode("utf-8", "replace")
    if isinstance(md, MDNode):
        return tuple(md_value(op) for op in md.operands)
    if isinstance(md, MDValue):
        value = md.value
        if isinstance(value, ConstantInt):
            return value.value
        if isinstance(value, ConstantAggregate):
            return tuple(getattr(e, "value", None) for e in value.elements)
        if isinstance(value, GlobalValue):
            return f"@{value.name}"
    return repr(type(md).__name__)


def node_fields(node: MDNode) -> dict[str, tuple[object, ...]]:
    """An argument node as key -> values, in Apple's order; the access word is key ``access``.

    ``!{i32 0, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read", ...}``
    gives ``{"air.buffer": (), "air.location_index": (0, 1), "access": ("air.read",), ...}``.
    """
    fields: dict[str, tuple[object, ...]] = {}
    key: str | None = None
    for op in (md_value(o) for o in node.operands[1:]):
        if isinstance(op, str) and op.startswith("air."):
            key = "access" if op in ACCESS_KEYS else op
            fields[key] = (op,) if key == "access" else ()
        else:
            assert key is not None, f"argument node starts with a value: {md_value(node)}"
            fields[key] = (*fields[key], op)
    fields.pop("air.arg_name", None)
    return fields


def split_types(text: str) -> list[str]:
    """Split a parameter type list at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<({[":
            depth += 1
        elif ch in ">)}]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if text.strip():
        parts.append(text[start:].strip())
    return parts


def typed_signature(text: str, kernel: str) -> list[str]:
    """Parameter types from the ``!air.kernel`` node's typed-pointer function type."""
    name = re.escape(kernel)
    match = re.search(rf'^!\d+ = !\{{void \((.*)\)\* @"?{name}"?, !\d+, !\d+\}}$', text, re.M)
    assert match, f"no !air.kernel node for @{kernel} in the typed text"
    return split_types(match.group(1))


def read_side(text: str, file: str, kernel: str) -> Side:
    module = read_module(text, file)
    fn = module.get_function(kernel)
    assert fn is not None, f"{file}: no function @{kernel}"
    kernels = module.get_named_metadata("air.kernel")
    assert kernels is not None, f"{file}: no !air.kernel"
    nodes = [n for n in kernels.nodes if isinstance(n, MDNode)
             and isinstance(n.operands[0], MDValue) and n.operands[0].value is fn]
    assert len(nodes) == 1, f"{file}: {len(nodes)} !air.kernel nodes for @{kernel}"
    arg_nodes = nodes[0].operands[2]
    assert isinstance(arg_nodes, MDNode)
    types = typed_signature(text, kernel)
    assert len(types) == len(arg_nodes.operands) == len(fn.args), \
        f"{file}: {len(types)} types, {len(arg_nodes.operands)} nodes, {len(fn.args)} params"
    buffers: list[Param] = []
    roles: dict[str, Param] = {}
    for index, (ty, node, arg) in enumerate(zip(types, arg_nodes.operands, fn.args,
                                                 strict=True)):
        assert isinstance(node, MDNode) and md_value(node.operands[0]) == index, \
            f"{file}: argument node {index} is {md_value(node)}"
        fields = node_fields(node)
        attrs = sorted(a for a in arg.attrs if COMPARED_PARAM_ATTRIBUTES.match(a))
        kind = next(iter(fields))
        if kind == "air.buffer":
            buffers.append(Param(ty, fields, None, attrs))
        else:
            role = kind.removeprefix("air.")
            assert role not in roles, f"{file}: role {role} twice"
            roles[role] = Param(ty, fields, role, attrs)
    return Side(module, fn, buffers, roles)


def pair_for(twin: Twin) -> Pair:
    """Apple's side and ours, lowered once per session."""
    apple_path = APPLE_AIR / twin.apple
    if not apple_path.is_file():
        pytest.skip(MISSING if not APPLE_AIR.is_dir() else f"{apple_path.name} missing")
    return _lowered_pair(twin.id)


@cache
def _lowered_pair(twin_id: str) -> Pair:
    twin = TWINS_BY_ID[twin_id]
    source = (TWINS / f"{twin.fixture}.ll").read_text()
    result = compile_air(source, f"{twin.fixture}.ll", target=twin.target,
                         renames=dict(twin.renames))
    assert isinstance(result.output, str)
    apple_text = (APPLE_AIR / twin.apple).read_text()
    return Pair(read_side(apple_text, twin.apple, twin.kernel),
                read_side(result.output, f"{twin.fixture}.ll", twin.kernel))


# ---------------------------------------------------------------- comparing


class Differences:
    """Collects every difference of one test, so one run reports them all."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.found: list[str] = []

    def check(self, what: str, apple: object, ours: object, alt: Alt | None = None) -> None:
        if alt is not None:
            if apple != alt.apple:
                self.found.append(f"{what}: stale tolerance, Apple writes {apple!r}, "
                                  f"the tolerance says {alt.apple!r}")
            elif ours not in (apple, alt.ours):
                self.found.append(f"{what}: Apple {apple!r}, ours {ours!r} "
                                  f"(tolerated only: {alt.ours!r})")
        elif apple != ours:
            self.found.append(f"{what}: Apple {apple!r}, ours {ours!r}")

    def assert_none(self) -> None:
        assert not self.found, (f"{self.twin.id} differs from {self.twin.apple}:\n  "
                                + "\n  ".join(self.found))


def paired_buffers(twin: Twin, pair: Pair) -> list[tuple[int, Param, Param]]:
    ours = [p for i, p in enumerate(pair.ours.buffers) if i not in twin.extra_params]
    assert len(ours) == len(pair.apple.buffers), (
        f"{twin.id}: Apple has {len(pair.apple.buffers)} non-built-in parameters, "
        f"we have {len(ours)} besides the tolerated extras {sorted(twin.extra_params)}")
    return [(i, a, o) for i, (a, o) in enumerate(zip(pair.apple.buffers, ours, strict=True))]


def called_air_functions(fn: Function) -> dict[str, list[Call]]:
    calls: dict[str, list[Call]] = {}
    for inst in fn.instructions():
        if isinstance(inst, Call):
            callee = inst.callee_function
            if callee is not None and callee.name.startswith("air."):
                calls.setdefault(callee.name, []).append(inst)
    return calls


def constant_operands(call: Call) -> tuple[object, ...]:
    return tuple(a.value if isinstance(a, ConstantInt) else "-" for a in call.args)


def module_flags(module: Module) -> dict[str, tuple[object, object]]:
    flags = module.get_named_metadata("llvm.module.flags")
    out: dict[str, tuple[object, object]] = {}
    for node in flags.nodes if flags else []:
        behaviour, name, value = md_value(node)  # type: ignore[misc]
        out[str(name)] = (behaviour, value)
    return out


def named_value(module: Module, name: str) -> object:
    named = module.get_named_metadata(name)
    return None if named is None else tuple(md_value(n) for n in named.nodes)


# -------------------------------------------------------------------- tests

TWIN_PARAMS = [pytest.param(t, id=t.id) for t in TWIN_LIST]


def test_every_twin_source_has_a_fixture_and_a_test() -> None:
    sources = {p.stem for p in (TWINS.parent / "src" / "apple-twins").glob("*.c[lu]")}
    assert sources == {p.stem for p in TWINS.glob("*.ll")}, "run tests/fixtures/regenerate"
    assert sources == {t.fixture for t in TWIN_LIST}


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_parameter_types(twin: Twin) -> None:
    """Non-built-in parameters in order: address space, pointee (typed signature), attributes."""
    pair = pair_for(twin)
    diff = Differences(twin)
    for index, apple, ours in paired_buffers(twin, pair):
        diff.check(f"parameter {index} type", apple.ty, ours.ty, twin.params.get(index))
        diff.check(f"parameter {index} attributes", apple.attrs, ours.attrs,
                   twin.param_attrs.get(index))
    for role, apple_role in pair.apple.roles.items():
        our_role = pair.ours.roles.get(role)
        if our_role is not None:
            diff.check(f"role {role} attributes", apple_role.attrs, our_role.attrs)
    diff.assert_none()


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_argument_nodes(twin: Twin) -> None:
    """Every key and value of every buffer argument node, in Apple's order, names aside."""
    pair = pair_for(twin)
    diff = Differences(twin)
    for index, apple, ours in paired_buffers(twin, pair):
        tolerated = {key for (i, key) in twin.nodes if i == index}
        for key in dict.fromkeys([*apple.fields, *ours.fields]):
            diff.check(f"parameter {index} {key}", apple.fields.get(key), ours.fields.get(key),
                       twin.nodes.get((index, key)))
        order = [k for k in apple.fields if k not in tolerated]
        our_order = [k for k in ours.fields if k not in tolerated]
        if set(order) == set(our_order):
            diff.check(f"parameter {index} key order", order, our_order)
    diff.assert_none()


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_builtin_roles(twin: Twin) -> None:
    """The built-in roles, each with its type name and LLVM type."""
    pair = pair_for(twin)
    diff = Differences(twin)
    for role in dict.fromkeys([*pair.apple.roles, *pair.ours.roles]):
        apple, ours = pair.apple.roles.get(role), pair.ours.roles.get(role)
        if apple is None:
            if role not in twin.extra_roles:
                diff.found.append(f"role {role}: ours only")
            continue
        if ours is None:
            if role not in twin.missing_roles:
                diff.found.append(f"role {role}: Apple only")
            continue
        diff.check(f"role {role} type", (apple.fields["air.arg_type_name"][0], apple.ty),
                   (ours.fields["air.arg_type_name"][0], ours.ty), twin.roles.get(role))
        diff.check(f"role {role} unused", "air.arg_unused" in apple.fields,
                   "air.arg_unused" in ours.fields)
    for role in twin.missing_roles:
        diff.check(f"tolerated missing role {role}", True, role in pair.apple.roles)
    diff.assert_none()


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_air_calls(twin: Twin) -> None:
    """The air.* functions called; barrier and atomic constants; declaration attributes."""
    pair = pair_for(twin)
    diff = Differences(twin)
    apple = called_air_functions(pair.apple.kernel)
    ours = called_air_functions(pair.ours.kernel)
    for name in sorted(set(apple) - set(ours) - set(twin.missing_calls)):
        diff.found.append(f"call {name}: Apple only")
    for name in sorted(set(ours) - set(apple) - set(twin.extra_calls)):
        diff.found.append(f"call {name}: ours only")
    for name in twin.missing_calls:
        diff.check(f"tolerated missing call {name}", True, name in apple)
    for name in sorted(set(apple) & set(ours)):
        if name.startswith(CONSTANT_OPERAND_PREFIXES):
            diff.check(f"call {name} operands", {constant_operands(c) for c in apple[name]},
                       {constant_operands(c) for c in ours[name]})
        apple_decl, our_decl = apple[name][0].callee_function, ours[name][0].callee_function
        assert apple_decl is not None and our_decl is not None
        diff.check(f"declaration {name} attributes", sorted(apple_decl.fn_attrs),
                   sorted(our_decl.fn_attrs))
    diff.assert_none()


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_module_metadata(twin: Twin) -> None:
    """Triple, data layout, AIR and MSL versions, compile options, module flags, named nodes."""
    pair = pair_for(twin)
    apple, ours = pair.apple.module, pair.ours.module
    diff = Differences(twin)
    diff.check("triple", apple.triple, ours.triple, twin.module.get("triple"))
    diff.check("datalayout", apple.datalayout, ours.datalayout)
    for name in ("air.version", "air.language_version", "air.compile_options"):
        diff.check(f"!{name}", named_value(apple, name), named_value(ours, name),
                   twin.module.get(f"named:{name}"))
    apple_flags, our_flags = module_flags(apple), module_flags(ours)
    for name in dict.fromkeys([*apple_flags, *our_flags]):
        diff.check(f"module flag {name}", apple_flags.get(name), our_flags.get(name),
                   twin.module.get(f"flag:{name}"))
    apple_named = {n.name for n in apple.named_metadata}
    our_named = {n.name for n in ours.named_metadata}
    for name in sorted(apple_named | our_named):
        diff.check(f"named metadata !{name}", name in apple_named, name in our_named,
                   twin.module.get(f"named:{name}"))
    diff.assert_none()


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_kernel_attributes(twin: Twin) -> None:
    """``convergent`` exactly when Apple writes it; Apple's fast-math attributes."""
    pair = pair_for(twin)
    apple, ours = pair.apple.kernel.fn_attrs, pair.ours.kernel.fn_attrs
    diff = Differences(twin)
    diff.check("convergent", "convergent" in apple, "convergent" in ours)
    diff.check("fast-math attributes", [a for a in FAST_MATH_ATTRIBUTES if a in apple],
               [a for a in FAST_MATH_ATTRIBUTES if a in ours], twin.module.get("fast-math"))
    diff.assert_none()
