"""Run kernels on the Apple GPU from Python, with Metal's binding model.

Use (on a Mac)::

    from llvm_to_air.metal import run
    run("k.metallib", "vadd", grid=(n,), threadgroup=(256,),
        buffers={0: a, 1: b, 2: c, 3: np.int32(n)})        # c is updated in place

The signature is :func:`llvm_to_air.runner.run`'s, and so are the bindings:
one :func:`llvm_to_air.plan.plan_dispatch` turns the kernel's ``!air.kernel``
metadata and the arrays into the encoder calls both executors make.
``module_or_path`` is a ``.metallib`` (ours or Apple's: its bytes go to
``newLibraryWithData:error:`` unchanged) or any GPU LLVM IR ``llvm-to-air``
compiles (lowered and packaged first, for ``target``).

This module imports on every OS; the Objective-C runtime and the Metal framework
are loaded on first use (:mod:`.objc`, the only module that talks to them).
:func:`unavailable` says why Metal cannot be used here, or None.

None of this has been run on an Apple GPU by the project: see docs/metal.md.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.metal.objc import MetalAPI


def unavailable() -> str | None:
    """Why the Metal path cannot run here (what is missing), or None when it can."""
    if sys.platform != "darwin":
        return (f"Metal needs macOS with a Metal GPU; this is {platform.system() or sys.platform}"
                " (no Objective-C runtime, no Metal.framework)")
    try:
        api = _api()
    except OSError as exc:
        return f"cannot load the Objective-C runtime or Metal.framework: {exc}"
    pool = api.pool_push()
    try:
        device = api.default_device()
        if not device:
            return "MTLCreateSystemDefaultDevice returned nil: this Mac has no Metal GPU"
        api.release(device)
    finally:
        api.pool_pop(pool)
    return None


@functools.cache
def _api() -> MetalAPI:
    from llvm_to_air.metal.objc import Runtime

    return MetalAPI(Runtime())


def api() -> MetalAPI:
    """The Metal API on the real runtime; a clear :class:`CompileError` where there is none."""
    reason = unavailable()
    if reason is not None:
        raise CompileError(f"the Metal device is not available: {reason}",
                           SourceLocation("--device metal"), hint="use device='cpu' (--device cpu), which runs the same "
                                "bindings on the CPU runner")
    return _api()


def facts(metal: MetalAPI | None = None) -> dict[str, object]:
    """The machine facts for a bug report: OS, and where Metal runs, GPU, families, Metal."""
    import llvmlite
    import numpy

    from llvm_to_air.metal.execute import device_facts

    result: dict[str, object] = {"os": _os_name(), "machine": platform.machine(),
                                 "python": platform.python_version(),
                                 "numpy": numpy.__version__, "llvmlite": llvmlite.__version__}
    if metal is None and unavailable() is not None:
        result["metal"] = "unavailable: " + str(unavailable())
        return result
    result.update(device_facts(metal or _api()))
    return result


def _os_name() -> str:
    mac = platform.mac_ver()[0]
    if mac:
        return f"macOS {mac}"
    return f"{platform.system()} {platform.release()}".strip()


def load_library(module_or_path: Any, target: str | None = None) -> tuple[bytes, str, list]:
    """The metallib bytes, a display name, and the AIR modules inside (for the bindings)."""
    from llvm_to_air.ir.model import Module
    from llvm_to_air.runner.load import _read_input

    data: bytes
    if isinstance(module_or_path, Module):
        raise CompileError("the Metal path loads a .metallib: pass the library (or the GPU "
                           "LLVM IR file) instead of an IR module",
                           SourceLocation(module_or_path.file),
                           hint="llvm_to_air.compile(source, emit='metallib').output")
    if isinstance(module_or_path, bytes | bytearray | memoryview):
        data, file = bytes(module_or_path), "<input>"
    elif isinstance(module_or_path, str | os.PathLike):
        file = os.fspath(module_or_path)
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CompileError(f"cannot read input: {exc.strerror}", SourceLocation(file)) \
                from None
    else:
        raise CompileError(f"the Metal path takes a .metallib or GPU LLVM IR as a path or "
                           f"bytes, not {type(module_or_path).__name__}")
    if data[:4] != b"MTLB":
        from llvm_to_air.api import compile as compile_
        from llvm_to_air.metadata.target import DEFAULT_TARGET

        output = compile_(data, file, emit="metallib", target=target or DEFAULT_TARGET).output
        assert isinstance(output, bytes)
        data = output
    modules, _ = _read_input(data)
    return data, file, modules


def run(module_or_path: Any, kernel: str, grid: Sequence[int] | int,
        threadgroup: Sequence[int] | int, buffers: Mapping[int, Any],
        threadgroup_memory: Mapping[int, int] | None = None,
        check_bounds: bool | None = None, timeout: float | None = None, *,
        metal: MetalAPI | None = None, target: str | None = None) -> None:
    """Run ``kernel`` on the Metal GPU over ``grid`` threads in threadgroups of
    ``threadgroup``; numpy arrays in ``buffers`` (by location index) change in place.

    ``check_bounds=True`` is refused (Metal has no bounds checks: use the CPU runner);
    ``timeout`` (seconds) and Ctrl-C stop waiting for the GPU (nothing is copied back).
    ``metal`` replaces the real Objective-C runtime (tests pass one built on a fake).
    Raises :class:`CompileError` for bad bindings (the same checks as the CPU runner),
    a library, function or pipeline Metal refuses, and a command buffer that fails.
    """
    from llvm_to_air.metal.execute import execute
    from llvm_to_air.plan import plan_dispatch
    from llvm_to_air.runner.compile import kernel_bindings
    from llvm_to_air.runner.load import find_kernel

    if check_bounds:
        raise CompileError("check_bounds is a CPU-runner feature: Metal has no bounds checks",
                           hint="run it with device='cpu' and check_bounds=True to find "
                                "out-of-bounds accesses")
    api_ = metal or api()
    library, file, modules = load_library(module_or_path, target)
    module, name = find_kernel(modules, kernel, file)
    info = kernel_bindings(module, name)
    plan = plan_dispatch(name, info.bindings, grid, threadgroup, buffers, threadgroup_memory)
    execute(api_, library, file, name, plan, timeout)


__all__ = ["api", "facts", "load_library", "run", "unavailable"]
