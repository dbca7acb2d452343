"""llvm-to-air: turn GPU LLVM IR into Apple AIR and metallib files."""

from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation

__all__ = ["CompileError", "SourceLocation", "compile", "run"]


def compile(*args: Any, **kwargs: Any) -> Any:
    """``llvm_to_air.api.compile``: lower GPU LLVM IR to AIR text, .air or .metallib."""
    from llvm_to_air.api import compile as compile_

    return compile_(*args, **kwargs)


def run(*args: Any, device: str | None = None, **kwargs: Any) -> None:
    """Execute a kernel, updating numpy arrays: ``llvm_to_air.runner.run`` on the CPU, or
    ``llvm_to_air.metal.run`` on the Apple GPU (``device="metal"``; the default where
    Metal is available, ``"cpu"`` elsewhere)."""
    if device is None:
        from llvm_to_air.metal import unavailable

        device = "cpu" if unavailable() else "metal"
    if device == "metal":
        from llvm_to_air.metal import run as run_metal

        run_metal(*args, **kwargs)
        return
    if device != "cpu":
        raise CompileError(f"unknown device '{device}'", hint="use 'cpu' or 'metal'")
    from llvm_to_air.runner import run as run_

    run_(*args, **kwargs)
__version__ = "0.1.0"
