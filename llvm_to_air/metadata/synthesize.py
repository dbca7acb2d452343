"""AIR module metadata, as Apple's compiler writes it, from the kernel signatures and target.

Replaces the producer's module metadata and flags with Apple's set
(AIR_NOTES section 2): ``llvm.module.flags`` (SDK Version, wchar_size,
frame-pointer, the ``air.max_*`` limits), ``!air.kernel`` with one complete
argument node per parameter (section 3), ``!air.version``,
``!air.language_version``, ``!air.compile_options``, ``!llvm.ident`` and
``!air.source_file_name``; sets the triple and data layout; and gives kernels
Apple's function attributes (``convergent`` when they synchronize or use
SIMD-group operations, the fast-math string attributes under fast math).

Expects the rewrite stages done. Guarantees a module that ``verify`` accepts
as far as metadata goes. Everything version-dependent comes from the target.
"""

from __future__ import annotations

from llvm_to_air import __version__
from llvm_to_air.ir.model import (
    ConstantAggregate,
    ConstantInt,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    Module,
    NamedMetadata,
)
from llvm_to_air.ir.types import I32, ArrayType
from llvm_to_air.metadata.target import AirTarget
from llvm_to_air.rewrite.context import KernelArgument, KernelSignature, LoweringContext

# Module flags Apple writes after the SDK version and wchar_size: (behaviour, name, value).
AIR_LIMIT_FLAGS = (
    (7, "frame-pointer", 2),
    (7, "air.max_device_buffers", 31),
    (7, "air.max_constant_buffers", 31),
    (7, "air.max_threadgroup_buffers", 31),
    (7, "air.max_textures", 128),
    (7, "air.max_read_write_textures", 8),
    (7, "air.max_samplers", 16),
)
# Function attributes that describe the producer's target, not the program.
PRODUCER_ATTRIBUTE_PREFIXES = ('"target-cpu"', '"target-features"', '"nvvm.', '"amdgpu-',
                               '"uniform-work-group-size"', '"stack-protector-buffer-size"',
                               '"tune-cpu"', '"min-legal-vector-width"', '"frame-pointer"',
                               '"denormal-fp-math', '"no-trapping-math"', '"approx-func-fp-math"',
                               '"no-infs-fp-math"', '"no-nans-fp-math"',
                               '"no-signed-zeros-fp-math"', '"unsafe-fp-math"', "optnone",
                               "noinline", '"no-builtins"')
FAST_MATH_ATTRIBUTES = ('"approx-func-fp-math"="true"', '"no-infs-fp-math"="true"',
                        '"no-nans-fp-math"="true"', '"no-signed-zeros-fp-math"="true"',
                        '"unsafe-fp-math"="true"')


def synthesize_metadata(module: Module, ctx: LoweringContext) -> None:
    target = ctx.target
    module.triple = target.triple
    module.datalayout = target.datalayout
    debug_flags = [n for n in _flag_nodes(module) if _flag_name(n) in ("Dwarf Version",
                                                                       "Debug Info Version")]
    kept = [n for n in module.named_metadata
            if n.name.startswith("llvm.dbg.") or n.name in ("llvm.linker.options",)]
    source = module.source_filename or module.file
    module.named_metadata = [
        NamedMetadata("llvm.module.flags", [*_module_flags(target), *debug_flags]),
        NamedMetadata("air.kernel", [_kernel_node(k) for k in ctx.kernels]),
        NamedMetadata("air.compile_options", [
            MDNode([MDString(b"air.compile.denorms_disable")]),
            MDNode([MDString(b"air.compile.fast_math_enable" if ctx.fast_math
                             else b"air.compile.fast_math_disable")]),
            MDNode([MDString(b"air.compile.framebuffer_fetch_enable")]),
        ]),
        NamedMetadata("llvm.ident", [MDNode([MDString(f"llvm-to-air {__version__}".encode())])]),
        NamedMetadata("air.version", [MDNode([_i32(v) for v in target.air_version])]),
        NamedMetadata("air.language_version", [
            MDNode([MDString(b"Metal"), *(_i32(v) for v in target.msl_version)])]),
        NamedMetadata("air.source_file_name", [MDNode([MDString(source.encode())])]),
        *_sampler_states(module),
        *kept,
    ]
    for kernel in ctx.kernels:
        _kernel_attributes(kernel, ctx.fast_math)


def _sampler_states(module: Module) -> list[NamedMetadata]:
    """``!air.sampler_states``: one ``!{!"air.sampler_state", ptr @__air_sampler_state}``
    per constant sampler, as Apple lists them (none when the module has none)."""
    states = [MDNode([MDString(b"air.sampler_state"), MDValue(gv)]) for gv in module.globals
              if gv.name.startswith("__air_sampler_state")]
    return [NamedMetadata("air.sampler_states", states)] if states else []


def _module_flags(target: AirTarget) -> list[Metadata]:
    sdk = ConstantAggregate(ArrayType(2, I32), elements=[ConstantInt(I32, value=v)
                                                        for v in target.sdk_version])
    flags: list[Metadata] = [
        MDNode([_i32(2), MDString(b"SDK Version"), MDValue(sdk)]),
        MDNode([_i32(1), MDString(b"wchar_size"), _i32(4)]),
    ]
    for behaviour, name, value in AIR_LIMIT_FLAGS:
        if name == "frame-pointer" and target.air_version < (2, 6, 0):
            continue  # Apple's AIR 2.5 and older modules carry no frame-pointer flag
        flags.append(MDNode([_i32(behaviour), MDString(name.encode()), _i32(value)]))
    return flags


def _kernel_node(kernel: KernelSignature) -> MDNode:
    args = [argument_node(index, arg) for index, arg in enumerate(kernel.arguments)]
    return MDNode([MDValue(kernel.function), MDNode([]), MDNode(list(args))])


def argument_node(index: int, arg: KernelArgument) -> MDNode:
    """One ``!air.kernel`` argument node, fields in Apple's order."""
    ops: list[Metadata | None] = [_i32(index)]
    if arg.kind == "builtin":
        assert arg.role is not None
        ops += [MDString(f"air.{arg.role}".encode()),
                MDString(b"air.arg_type_name"), MDString(arg.type_name.encode()),
                MDString(b"air.arg_name"), MDString(arg.name.encode())]
        return MDNode(ops)
    if arg.kind == "texture":  # as Apple writes a texture2d<T, access> parameter
        ops += [MDString(b"air.texture"), MDString(b"air.location_index"),
                _i32(arg.location_index or 0), _i32(1), MDString((arg.access or "").encode()),
                MDString(b"air.arg_type_name"), MDString(arg.type_name.encode()),
                MDString(b"air.arg_name"), MDString(arg.name.encode())]
        return MDNode(ops)
    if arg.kind == "sampler":  # as Apple writes a sampler parameter
        ops += [MDString(b"air.sampler"), MDString(b"air.location_index"),
                _i32(arg.location_index or 0), _i32(1),
                MDString(b"air.arg_type_name"), MDString(arg.type_name.encode()),
                MDString(b"air.arg_name"), MDString(arg.name.encode())]
        return MDNode(ops)
    ops.append(MDString(b"air.buffer"))
    if arg.buffer_size is not None and arg.address_space == 2:
        ops += [MDString(b"air.buffer_size"), _i32(arg.buffer_size)]
    ops += [MDString(b"air.location_index"), _i32(arg.location_index or 0), _i32(1),
            MDString((arg.access or "air.read").encode()),
            MDString(b"air.address_space"), _i32(arg.address_space or 1)]
    if arg.struct_fields:
        info: list[Metadata | None] = []
        for f in arg.struct_fields:
            info += [_i32(f.offset), _i32(f.size), _i32(f.array_length),
                     MDString(f.type_name.encode()), MDString(f.name.encode())]
        ops += [MDString(b"air.struct_type_info"), MDNode(info)]
    ops += [MDString(b"air.arg_type_size"), _i32(arg.type_size),
            MDString(b"air.arg_type_align_size"), _i32(arg.type_align),
            MDString(b"air.arg_type_name"), MDString(arg.type_name.encode()),
            MDString(b"air.arg_name"), MDString(arg.name.encode())]
    if arg.unused:
        ops.append(MDString(b"air.arg_unused"))
    return MDNode(ops)


def _kernel_attributes(kernel: KernelSignature, fast_math: bool) -> None:
    fn = kernel.function
    # producers mark every OpenCL function convergent; Apple only those that synchronize
    attrs = [a for a in fn.fn_attrs if not a.startswith(PRODUCER_ATTRIBUTE_PREFIXES)
             and not a.startswith(("memory(", "argmemonly", "readnone", "readonly",
                                   "writeonly", "inaccessiblememonly", "convergent"))]
    if (kernel.uses_barrier or kernel.uses_simd) and "convergent" not in attrs:
        attrs.append("convergent")
    for word in ("mustprogress", "nounwind"):
        if word not in attrs:
            attrs.append(word)
    attrs += ['"frame-pointer"="all"', '"no-trapping-math"="true"']
    if fast_math:
        attrs += FAST_MATH_ATTRIBUTES
    fn.fn_attrs = attrs


def _flag_nodes(module: Module) -> list[Metadata]:
    flags = module.get_named_metadata("llvm.module.flags")
    return list(flags.nodes) if flags else []


def _flag_name(node: Metadata) -> str | None:
    if isinstance(node, MDNode) and len(node.operands) > 1 and \
            isinstance(node.operands[1], MDString):
        return node.operands[1].value.decode("utf-8", "replace")
    return None


def _i32(value: int) -> MDValue:
    return MDValue(ConstantInt(I32, value=value))


__all__ = ["argument_node", "synthesize_metadata"]
