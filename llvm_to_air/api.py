"""The Python API: ``llvm_to_air.compile``.

One path for the command line and for library users: read, rewrite, write,
package. Nothing here keeps state between calls; a caller that compiles many inputs
passes a :class:`llvm_to_air.session.Session` (the child process that runs LLVM,
kept between calls).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.model import Module
from llvm_to_air.metadata.target import DEFAULT_TARGET, check_bitcode_target, get_target
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext, LoweringOptions
from llvm_to_air.sources import Source, read_source

if TYPE_CHECKING:
    from llvm_to_air.ir.worker import LLVMWorker
    from llvm_to_air.session import Session

Emit = Literal["ll", "air", "metallib"]


@dataclass
class CompileResult:
    """The output (text for ``ll``, bytes otherwise) and what the lowering found."""

    output: str | bytes
    kernels: list[KernelSignature] = field(default_factory=list)
    warnings: list[CompileError] = field(default_factory=list)
    module: Module | None = None


def lower(source: Source, file: str | None = None, *, target: str = DEFAULT_TARGET,
          kernels: Sequence[str] = (), renames: dict[str, str] | None = None,
          fast_math: bool | None = None, f64: str = "error",
          session: Session | None = None) -> tuple[Module, LoweringContext]:
    """Read ``source`` (LLVM IR text or bitcode; see :mod:`llvm_to_air.sources`) and lower
    it to an AIR module in our model. ``session``: see :func:`compile`."""
    from llvm_to_air.ir.gcpause import gc_paused
    from llvm_to_air.ir.reader import read_module
    from llvm_to_air.rewrite.pipeline import lower_to_air

    source, file = read_source(source, file)
    if f64 not in ("error", "demote"):
        raise CompileError(f"unknown --f64 mode '{f64}'", hint="use error or demote")
    options = LoweringOptions(target=get_target(target), kernels=tuple(kernels),
                              renames=tuple(sorted((renames or {}).items())),
                              fast_math=fast_math, f64=f64)  # type: ignore[arg-type]
    worker = session.worker if session is not None else None
    module = read_module(source, file, promote_fragments=True, worker=worker)
    module = _device_module(module, file, worker)
    with gc_paused():
        ctx = lower_to_air(module, options)
    return module, ctx


def _device_module(module: Module, file: str, worker: LLVMWorker | None) -> Module:
    """The device module embedded in a host module without kernels of its own (the whole
    ``mlir-translate`` output of a host module with a ``gpu.binary``), else ``module``."""
    from llvm_to_air.rewrite.discover import KERNEL_CALLING_CONVENTIONS

    if any(fn.cc in KERNEL_CALLING_CONVENTIONS for fn in module.functions) or \
            module.get_named_metadata("air.kernel") is not None:
        return module
    from llvm_to_air.ir.embedded import embedded_device_modules  # host modules only
    from llvm_to_air.ir.reader import read_module

    embedded = embedded_device_modules(module)
    if len(embedded) > 1:
        names = ", ".join(f"@{e.global_name}" for e in embedded)
        raise CompileError(f"the host module holds {len(embedded)} device modules ({names}); "
                           "one input gives one device module", SourceLocation(file),
                           hint="compile each gpu.module separately")
    if not embedded:
        if any(fn.name.startswith("mgpu") for fn in module.functions):
            raise CompileError(
                "this is an MLIR host module without LLVM IR of its device code",
                SourceLocation(file),
                hint="run mlir-opt's gpu-module-to-binary with format=llvm (or offloading) "
                     "before mlir-translate, or translate the gpu.module alone")
        return module
    return read_module(embedded[0].bitcode, f"{file} (@{embedded[0].global_name})",
                       promote_fragments=True, worker=worker)


def compile(source: Source, file: str | None = None, *, target: str = DEFAULT_TARGET,
            emit: Emit = "ll", kernels: Sequence[str] = (), renames: dict[str, str] | None = None,
            fast_math: bool | None = None, f64: str = "error",
            session: Session | None = None) -> CompileResult:
    """Compile GPU LLVM IR to AIR: LLVM 14 text (``ll``), a ``.air`` file or a ``.metallib``.

    ``source``: a path (``os.PathLike``, or a one-line ``str`` naming a file), the file's
    ``bytes``, or LLVM IR text; ``file`` names it in messages. ``kernels``/``renames``
    take LLVM symbols or source names. Raises :class:`CompileError` for bad input or
    constructs Apple GPUs cannot run; LLVM never runs in this process on the input, so
    no input can abort it. ``session`` (a :class:`llvm_to_air.Session`): LLVM runs in the
    session's child process, kept between calls, instead of one forked for this call;
    the output is the same.
    """
    return compile_many([(source, file)], target=target, emit=emit, kernels=kernels,
                        renames=renames, fast_math=fast_math, f64=f64, session=session)


@gc_paused()  # the whole compile: each re-enable costs a collection over the new objects
def compile_many(sources: Sequence[tuple[Source, str | None]], *, target: str = DEFAULT_TARGET,
                 emit: Emit = "ll", kernels: Sequence[str] = (),
                 renames: dict[str, str] | None = None, fast_math: bool | None = None,
                 f64: str = "error", toolchain: str = "native",
                 progress: bool = False, session: Session | None = None) -> CompileResult:
    """Compile several inputs; their kernels go into one library (``emit="metallib"``).

    Several inputs without a ``session`` are read by one session opened for this call.
    """
    if session is None and len(sources) > 1:
        from llvm_to_air.session import Session

        with Session() as own:
            return compile_many(sources, target=target, emit=emit, kernels=kernels,
                                renames=renames, fast_math=fast_math, f64=f64,
                                toolchain=toolchain, progress=progress, session=own)
    from llvm_to_air.ir.writer14 import write_llvm14
    from llvm_to_air.package import package

    if emit == "ll" and len(sources) > 1:
        raise CompileError("several inputs make one .metallib, not one text module",
                           hint="use -o lib.metallib (or --emit metallib)")
    units = []
    result = CompileResult("")
    for source, file in _progress(sources, progress):
        module, ctx = lower(source, file, target=target, kernels=kernels, renames=renames,
                            fast_math=fast_math, f64=f64, session=session)
        for kernel in ctx.kernels:
            kernel.function.name = kernel.name
        units.append((module, ctx))
        result.kernels += ctx.kernels
        result.warnings += ctx.warnings
        result.module = module
    if emit == "ll":
        result.output = write_llvm14(units[0][0])
    else:
        check_bitcode_target(units[0][1].target)
        result.output = package(units, emit=emit, target=units[0][1].target,
                                toolchain=toolchain,
                                content=session.packaging_content() if session else None)
    return result


def _progress(sources: Sequence[tuple[Source, str | None]], show: bool) -> \
        Sequence[tuple[Source, str | None]]:
    if not show:
        return sources
    from rich.progress import track

    return list(track(sources, description="lowering", transient=True))


__all__ = ["CompileResult", "compile", "compile_many", "lower"]
