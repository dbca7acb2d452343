"""IR core: read any LLVM 14-22 IR into our model, print it back as LLVM 14 text."""

from __future__ import annotations

from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.legalize14 import legalize_for_llvm14
from llvm_to_air.ir.model import Module
from llvm_to_air.ir.reader import read_module
from llvm_to_air.ir.writer14 import WriterOptions, write_llvm14


def downgrade(text: str | bytes, file: str = "<input>", strip_debug: bool = True) -> str:
    """Translate LLVM IR (text of LLVM 14 to 22, or bitcode) to LLVM 14 text, changing nothing
    but the dialect.

    Raises :class:`llvm_to_air.errors.CompileError` for malformed input or a
    construct LLVM 14 cannot express.
    """
    with gc_paused():
        module = read_module(text, file)
        legalize_for_llvm14(module)
        return write_llvm14(module, WriterOptions(strip_debug=strip_debug))


__all__ = ["Module", "WriterOptions", "downgrade", "read_module", "write_llvm14"]
