"""Kernel discovery: which functions are kernels, from every producer's way of saying so.

Expects a module as the reader returns it (LLVM 22 has already turned old
``nvvm.annotations`` kernel entries into the ``ptx_kernel`` calling convention).
Guarantees: ``ctx.kernels`` lists the kernels in module order with their
producer and source argument names; kernel functions use the default calling
convention and external linkage; ``--kernel`` selection applied (and plain
``define void`` functions it names are kernels); renames recorded. Raises
CompileError when no kernel is found or a selected name is missing.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.model import Function, MDNode, MDString, MDValue, Module
from llvm_to_air.ir.types import VoidType
from llvm_to_air.names import resolve, spelled
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext, Producer

# Calling conventions that mark kernels, and who writes them.
KERNEL_CALLING_CONVENTIONS: dict[str, Producer] = {
    "ptx_kernel": "cuda",
    "spir_kernel": "opencl",
    "amdgpu_kernel": "rocdl",
}
# clang 20+ OpenCL: the kernel body lives in a spir_func copy that is not a kernel.
OPENCL_KERNEL_COPY_PREFIX = "__clang_ocl_kern_imp_"


def discover_kernels(module: Module, ctx: LoweringContext) -> None:
    found = _air_kernels(module) or _calling_convention_kernels(module)
    selected = ctx.options.kernels
    if selected:
        by_name = {k.source_name: k for k in found}
        defined = [fn.name for fn in module.functions if not fn.is_declaration]
        chosen: list[KernelSignature] = []
        for name in selected:
            symbol = name if name in by_name else (
                _resolve_or_none(name, by_name) or resolve(name, defined, module.file,
                                                           "--kernel"))
            kernel = by_name.get(symbol)
            if kernel is None:
                kernel = _plain_kernel(module, symbol)
            chosen.append(kernel)
        found = chosen
    if not found:
        raise CompileError(
            "no kernels found in the module",
            SourceLocation(module.file, 1, 1),
            hint="kernels are ptx_kernel, spir_kernel or amdgpu_kernel functions; "
                 "mark a plain function with --kernel NAME",
        )
    symbols = [k.source_name for k in found]
    renames = {resolve(old, symbols, module.file, "--rename"): new
               for old, new in ctx.options.renames}
    for kernel in found:
        fn = kernel.function
        kernel.name = renames.get(kernel.source_name, kernel.source_name)
        _check_utf8_name(kernel.name, fn)
        kernel.source_arg_names = _arg_metadata(fn, "kernel_arg_name", [a.name for a in fn.args])
        kernel.source_arg_types = _arg_metadata(fn, "kernel_arg_type", [None] * len(fn.args))
        fn.cc = ""
        fn.linkage = ""
        fn.qualifiers = [q for q in fn.qualifiers if q in ("local_unnamed_addr",)]
        # producer-specific kernel metadata is replaced by !air.kernel later
        fn.metadata = [(k, md) for k, md in fn.metadata if not k.startswith("kernel_arg_")
                       and k not in ("reqd_work_group_size", "work_group_size_hint")]
    ctx.kernels = found
    _drop_nvvm_annotations(module)


def _calling_convention_kernels(module: Module) -> list[KernelSignature]:
    kernels = []
    for fn in module.functions:
        producer = KERNEL_CALLING_CONVENTIONS.get(fn.cc)
        if producer is None or fn.is_declaration:
            continue
        if fn.name.startswith(OPENCL_KERNEL_COPY_PREFIX):
            continue
        kernels.append(KernelSignature(fn, fn.name, producer))
    return kernels


def _air_kernels(module: Module) -> list[KernelSignature]:
    """Kernels of a module that is already AIR (it carries ``!air.kernel``)."""
    air = module.get_named_metadata("air.kernel")
    if air is None:
        return []
    kernels = []
    for node in air.nodes:
        if isinstance(node, MDNode) and node.operands and isinstance(node.operands[0], MDValue):
            fn = node.operands[0].value
            if isinstance(fn, Function):
                kernels.append(KernelSignature(fn, fn.name, "air"))
    return kernels


def _check_utf8_name(name: str, fn: Function) -> None:
    """Metal finds a kernel by its name, a UTF-8 string in the library."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = spelled(name)
        raise CompileError(f"kernel name '{shown}' is not valid UTF-8, which Metal needs to "
                           "find it by name", fn.location,
                           hint=f"rename it with --rename '{shown}=NEW'") from None


def _resolve_or_none(name: str, kernels: dict[str, KernelSignature]) -> str | None:
    """The kernel ``name`` means (symbol or unique source name), or None."""
    try:
        return resolve(name, kernels, "", "--kernel")
    except CompileError:
        return None


def _plain_kernel(module: Module, name: str) -> KernelSignature:
    fn = module.get_function(name)
    if fn is None or fn.is_declaration:
        raise CompileError(f"--kernel {name}: no function '@{name}' is defined in the module",
                           SourceLocation(module.file, 1, 1),
                           hint="use the LLVM symbol name (mangled for C++)")
    if not isinstance(fn.function_type.ret, VoidType):
        raise CompileError(f"--kernel {name}: a kernel must return void, '@{name}' returns "
                           f"{fn.function_type.ret}", fn.location)
    producer: Producer = KERNEL_CALLING_CONVENTIONS.get(fn.cc, "plain")
    return KernelSignature(fn, name, producer)


def _arg_metadata(fn: Function, kind: str, default: list[str | None]) -> list[str | None]:
    """Per-argument strings from OpenCL ``kernel_arg_*`` metadata, else ``default``."""
    values = list(default)
    for attached, md in fn.metadata:
        if attached == kind and isinstance(md, MDNode):
            for k, op in enumerate(md.operands[:len(values)]):
                if isinstance(op, MDString):
                    values[k] = op.value.decode("utf-8", "replace")
    return values


def _drop_nvvm_annotations(module: Module) -> None:
    module.named_metadata = [n for n in module.named_metadata
                             if n.name not in ("nvvm.annotations", "opencl.ocl.version",
                                               "opencl.spir.version", "nvvmir.version")]
