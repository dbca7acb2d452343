"""``llvm_to_air.run``: run a kernel on the CPU runner or on the Apple GPU.

``device="cpu"`` is :func:`llvm_to_air.runner.run`, ``device="metal"`` is
:func:`llvm_to_air.metal.run` (same arguments, same bindings, one binding plan);
without ``device``, Metal where it is available and the CPU elsewhere.
"""

from __future__ import annotations

from typing import Any

from llvm_to_air.errors import CompileError


def run(*args: Any, device: str | None = None, **kwargs: Any) -> Any:
    """Execute a kernel, updating numpy arrays in place, on ``device`` ("cpu" or "metal")."""
    if device is None:
        from llvm_to_air.metal import unavailable

        device = "cpu" if unavailable() else "metal"
    if device == "metal":
        from llvm_to_air.metal import run as run_metal

        return run_metal(*args, **kwargs)
    if device != "cpu":
        raise CompileError(f"unknown device '{device}'", hint="use 'cpu' or 'metal'")
    from llvm_to_air.runner import run as run_cpu

    return run_cpu(*args, **kwargs)


__all__ = ["run"]
