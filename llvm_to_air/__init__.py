"""llvm-to-air: turn GPU LLVM IR into Apple AIR and metallib files."""

from llvm_to_air.errors import CompileError, SourceLocation

__all__ = ["CompileError", "SourceLocation"]
__version__ = "0.1.0"
