"""LLVM 14 bitcode writer: our typed IR model -> raw bitcode Apple's GPU loader reads.

``write_bitcode(module)`` takes a typed-pointer module, as
:func:`llvm_to_air.ir.typed14.typed_module14` builds it from our model (the
route of ``.air``/``.metallib`` output) or
:func:`llvm_to_air.ir.parser.parse_llvm14_module` reads it from LLVM 14 text,
and returns raw bitcode (``BC 0xC0DE ...``, no Darwin wrapper; see
:mod:`llvm_to_air.bitcode_wrapper` for that). ``llvm14_text_to_bitcode``
does the second route's two steps from LLVM 14 text.
"""

from llvm_to_air.bitcode.options import ContentCache
from llvm_to_air.bitcode.writer import (
    LibraryCache,
    WriterOptions,
    llvm14_text_to_bitcode,
    write_bitcode,
)

__all__ = ["ContentCache", "LibraryCache", "WriterOptions", "llvm14_text_to_bitcode", "write_bitcode"]
