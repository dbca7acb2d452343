"""The AIR lowering pipeline: the rewrite stages in order, on one module.

Each stage is a function ``stage(module, ctx)`` that does one thing and says
in its docstring what it expects and guarantees; this module only orders
them. Data flows one way: the module is read, rewritten here, then written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from llvm_to_air.ir.edit import remove_unused_declarations
from llvm_to_air.ir.model import Call, InlineAsm, Instruction, Module
from llvm_to_air.metadata.synthesize import synthesize_metadata
from llvm_to_air.rewrite.abi import lower_kernel_abi
from llvm_to_air.rewrite.addrspace import infer_address_spaces, map_global_address_spaces
from llvm_to_air.rewrite.amdgpu_implicitargs import lower_amdgpu_implicitargs
from llvm_to_air.rewrite.amdgpu_lanes import lower_amdgpu_lanes
from llvm_to_air.rewrite.amdgpu_math import lower_amdgpu_math
from llvm_to_air.rewrite.amdgpu_wave import refuse_wave64_cross_lane
from llvm_to_air.rewrite.amdgpu_wmma import lower_amdgpu_wmma
from llvm_to_air.rewrite.builtins import lower_builtins
from llvm_to_air.rewrite.calls import check_call_signatures
from llvm_to_air.rewrite.context import LoweringContext, LoweringOptions
from llvm_to_air.rewrite.cuda_objects import drop_cuda_builtin_objects
from llvm_to_air.rewrite.device_io import lower_device_io
from llvm_to_air.rewrite.discover import discover_kernels
from llvm_to_air.rewrite.f64_exact import lower_exact_f64_products
from llvm_to_air.rewrite.inline import inline_calls
from llvm_to_air.rewrite.intrinsics import lower_intrinsics
from llvm_to_air.rewrite.legalize import legalize, legalize_types
from llvm_to_air.rewrite.libdevice import recognize_libdevice
from llvm_to_air.rewrite.nvvm_float import lower_nvvm_float
from llvm_to_air.rewrite.nvvm_reflect import evaluate_nvvm_reflect
from llvm_to_air.rewrite.simplify import (
    forward_aggregates,
    load_pointer_fields,
    remove_dead_code,
)
from llvm_to_air.rewrite.textures import lower_images

Stage = Callable[[Module, LoweringContext], None]


# Two stages load their (large) modules only when a module may hold their input: inline
# PTX and WMMA are rare, and most processes compile one small kernel (issue 12: start-up).
# Each gate over-approximates its stage's own test (tests/test_startup.py checks the
# prefixes against the stages'), so a module it turns away is one the stage leaves as is.
PTX_CALL_PREFIXES = ("llvm.nvvm.cp.async.", "llvm.nvvm.ldmatrix.")
WMMA_CALL_PREFIX = "llvm.nvvm.wmma."


def _calls_any(module: Module, prefixes: tuple[str, ...], inline_asm: bool = False) -> bool:
    """Whether a defined function calls a function named with one of ``prefixes`` (or,
    with ``inline_asm``, inline asm), or such a function is declared."""
    if any(fn.name.startswith(prefixes) for fn in module.functions):
        return True
    for fn in module.functions:
        for inst in fn.instructions():
            if not isinstance(inst, Call):
                continue
            callee = inst.callee_function
            if (callee is not None and callee.name.startswith(prefixes)) or \
                    (inline_asm and isinstance(inst.callee, InlineAsm)):
                return True
    return False


def translate_inline_ptx(module: Module, ctx: LoweringContext) -> None:
    """Inline PTX becomes LLVM IR: :func:`llvm_to_air.rewrite.ptx.translate_inline_ptx`."""
    if _calls_any(module, PTX_CALL_PREFIXES, inline_asm=True):
        from llvm_to_air.rewrite.ptx import translate_inline_ptx as translate

        translate(module, ctx)


def lower_wmma(module: Module, ctx: LoweringContext) -> None:
    """WMMA becomes SIMD-group matrices: :func:`llvm_to_air.rewrite.wmma.lower_wmma`."""
    if _calls_any(module, (WMMA_CALL_PREFIX,)):
        from llvm_to_air.rewrite.wmma import lower_wmma as lower

        lower(module, ctx)


# Stages for rare constructs, loaded only when a declared function's name contains one of
# the needles (each over-approximates its stage's own test; unused declarations are gone
# once helpers are inlined). Module, stage function, needles.
RARE_STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("workgroup_collectives", "lower_workgroup_collectives",
     ("work_group_", "llvm.nvvm.barrier0.", "llvm.nvvm.barrier.cta.red.")),
    ("async_copies", "lower_async_copies",
     ("async_work_group", "wait_group_events", "prefetch")),
    ("nvvm_atomics", "lower_nvvm_scoped_atomics", ("llvm.nvvm.atomic.",)),
    ("nvvm_match", "lower_nvvm_match", ("llvm.nvvm.match.",)),
)


def lower_rare_constructs(module: Module, ctx: LoweringContext) -> None:
    """Work-group collectives, async copies, scoped atomics and warp match, in that order
    (see each module); a module that declares none of them loads none."""
    declared = [fn.name for fn in module.functions if fn.is_declaration]
    for module_name, stage_name, needles in RARE_STAGES:
        if any(needle in name for name in declared for needle in needles):
            stage = getattr(importlib.import_module(f"llvm_to_air.rewrite.{module_name}"),
                            stage_name)
            stage(module, ctx)


def inline_into_kernels(module: Module, ctx: LoweringContext) -> None:
    """Inline helpers into kernels; drop every other defined function and unused declaration.

    Host-side stubs and helpers nothing calls go with them.
    """
    roots = [k.function for k in ctx.kernels]
    inline_calls(module, roots)
    keep = set(map(id, roots))
    module.functions = [fn for fn in module.functions if fn.is_declaration or id(fn) in keep]
    module.aliases = []
    remove_unused_declarations(module)
    _drop_unused_globals(module, ctx)


def _drop_unused_globals(module: Module, ctx: LoweringContext) -> None:
    used: set[int] = set()
    for kernel in ctx.kernels:
        for inst in kernel.function.instructions():
            _visit_operands(inst.ops, used)
    module.globals = [gv for gv in module.globals if id(gv) in used]


def _visit_operands(values: Iterable[object], used: set[int]) -> None:
    """Add the ids of ``values`` and of the constants and globals they reach through
    ``ops`` and ``elements`` to ``used``. An instruction operand is not entered: its own
    operands are a kernel instruction's, which the caller visits too."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if id(value) in used:
            continue
        used.add(id(value))
        if isinstance(value, Instruction):
            continue
        stack += getattr(value, "ops", ()) or ()
        stack += getattr(value, "elements", ()) or ()


def simplify(module: Module, ctx: LoweringContext) -> None:
    roots = [k.function for k in ctx.kernels]
    forward_aggregates(module, roots)
    load_pointer_fields(module, roots)
    remove_dead_code(module, roots)


_VISIBILITIES = frozenset({"hidden", "protected"})


def drop_object_file_details(module: Module, ctx: LoweringContext) -> None:
    """What a library of AIR cannot hold: comdats (Apple's object format has none, and
    CUB/thrust kernels arrive in them) go, and a symbol made internal or private keeps no
    ``hidden``/``protected`` visibility (LLVM rejects local symbols with one)."""
    module.comdats.clear()
    for value in (*module.globals, *module.functions):
        value.comdat = None
        if value.linkage in ("internal", "private"):
            value.qualifiers = [q for q in value.qualifiers if q not in _VISIBILITIES]


def decide_fast_math(module: Module, ctx: LoweringContext) -> None:
    """``--fast-math``/``--no-fast-math``, else fast when the input's kernels use ``fast``."""
    if ctx.options.fast_math is not None:
        ctx.fast_math = ctx.options.fast_math
        return
    ctx.fast_math = any(
        '"unsafe-fp-math"="true"' in k.function.fn_attrs
        or any(_fast_flags(getattr(inst, "flags", ())) for inst in k.function.instructions())
        for k in ctx.kernels)


# What -ffast-math and OpenCL's -cl-fast-relaxed-math leave on floating-point instructions.
_RELAXED_FLAGS = frozenset({"nnan", "ninf", "nsz", "afn"})


def _fast_flags(flags: tuple[str, ...]) -> bool:
    return "fast" in flags or _RELAXED_FLAGS.issubset(flags)


STAGES: tuple[Stage, ...] = (
    check_call_signatures,  # first: every later stage binds arguments to parameters 1:1
    discover_kernels,
    # before anything sizes types: images become texture pointers, samplers their bits
    lower_images,
    decide_fast_math,
    # before any lowering: 64-lane exchanges must never reach the 32-lane SIMD mapping
    refuse_wave64_cross_lane,
    lower_amdgpu_lanes,
    lower_amdgpu_wmma,  # its shuffles are ds.bpermute, lowered by lower_intrinsics
    lower_amdgpu_math,
    # libdevice definitions go first: their calls lower by name, bodies and all
    recognize_libdevice,
    # before inlining: reflect's dead paths (and their address-space-0 strings) must go
    # before globals are mapped, and PTX helpers (cuda_fp16.h) are translated once each
    evaluate_nvvm_reflect,
    translate_inline_ptx,
    drop_cuda_builtin_objects,  # -O0: `this` of threadIdx.operator dim3() is no buffer
    inline_into_kernels,
    # after inlining, before address spaces: threadgroup arrays in the source's space
    lower_rare_constructs,
    # after inlining: each field load sits beside its pointer; before lower_builtins,
    # which maps the __ockl_* size calls it leaves
    lower_amdgpu_implicitargs,
    lower_device_io,
    lower_nvvm_float,  # .sat, .ftz and approximations; exact rounding is nvvm_rounding's
    simplify,
    # before legalize_types: libdevice's trig reduction keeps no double to refuse
    lower_exact_f64_products,
    legalize_types,
    map_global_address_spaces,
    lower_kernel_abi,
    infer_address_spaces,
    lower_wmma,
    lower_intrinsics,
    lower_builtins,
    legalize,
    simplify,
    drop_object_file_details,
    synthesize_metadata,
)


def lower_to_air(module: Module, options: LoweringOptions) -> LoweringContext:
    """Run every stage; returns the context with the kernel signatures."""
    ctx = LoweringContext(options)
    for stage in STAGES:
        stage(module, ctx)
    remove_unused_declarations(module)
    return ctx
