"""llvm-to-air: turn GPU LLVM IR into Apple AIR and metallib files.

``llvm_to_air.compile``, ``llvm_to_air.run`` and ``llvm_to_air.Session`` are loaded on first use (so that
``import llvm_to_air`` stays cheap); ``help()`` shows their real signatures.
"""

from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation

__all__ = ["CompileError", "Session", "SourceLocation", "compile", "run"]
__version__ = "0.1.0"

_LAZY = {"compile": ("llvm_to_air.api", "compile"), "run": ("llvm_to_air.device", "run"),
         "Session": ("llvm_to_air.session", "Session")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llvm_to_air' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
