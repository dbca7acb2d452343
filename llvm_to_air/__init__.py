"""llvm-to-air: turn GPU LLVM IR into Apple AIR and metallib files."""

from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation

__all__ = ["CompileError", "SourceLocation", "compile", "run"]


def compile(*args: Any, **kwargs: Any) -> Any:
    """``llvm_to_air.api.compile``: lower GPU LLVM IR to AIR text, .air or .metallib."""
    from llvm_to_air.api import compile as compile_

    return compile_(*args, **kwargs)


def run(*args: Any, **kwargs: Any) -> None:
    """``llvm_to_air.runner.run``: execute a kernel on the CPU, updating numpy arrays."""
    from llvm_to_air.runner import run as run_

    run_(*args, **kwargs)
__version__ = "0.1.0"
