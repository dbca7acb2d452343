"""LLVM 14 bitcode writer: our typed IR model -> raw bitcode Apple's GPU loader reads.

``write_bitcode(module)`` takes a module from
:func:`llvm_to_air.ir.parser.parse_llvm14_module` (typed pointers) and
returns raw bitcode (``BC 0xC0DE ...``, no Darwin wrapper; see
:mod:`llvm_to_air.bitcode_wrapper` for that). ``llvm14_text_to_bitcode``
does both steps from LLVM 14 text.
"""

from llvm_to_air.bitcode.writer import WriterOptions, llvm14_text_to_bitcode, write_bitcode

__all__ = ["WriterOptions", "llvm14_text_to_bitcode", "write_bitcode"]
