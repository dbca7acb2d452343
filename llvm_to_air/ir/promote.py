"""-O0 WMMA kernels: fragments promoted to registers with LLVM's own passes.

At -O0 clang keeps every ``wmma::fragment`` in a stack object that the headers' helpers
(``load_matrix_sync``, ``mma_sync``, ``fill_fragment``'s loop over ``x[i]``) read and write
through ``this`` slots. A fragment maps onto simdgroup matrices only as registers, so when
lowering (never for ``downgrade`` or ``inspect``) a module that calls ``llvm.nvvm.wmma.*``
and holds ``optnone`` code gets what -O1 would give it: ``optnone`` dropped, every function
inlined (``noinline`` becomes ``alwaysinline``), then SROA, instcombine, CFG simplification
and full unrolling of the constant loops (``num_elements``), and SROA again. These passes
keep the program's meaning; ``target-cpu``/``target-features`` (which the lowering drops
anyway) are removed first, as LLVM's host target machine runs the passes.

Runs in the reader's child process (:mod:`.isolate`), on a parsed llvmlite module.
"""

from __future__ import annotations

import re
from typing import Any

_ATTRIBUTE_LINE = re.compile(r"^attributes #\d+ = \{.*\}$", re.M)
_TARGET_ATTRIBUTES = re.compile(r' ?"target-(cpu|features)"="[^"]*"')


def needs_promotion(text: str) -> bool:
    return "@llvm.nvvm.wmma." in text and re.search(r"\boptnone\b", text) is not None


def _unpin(line: re.Match[str]) -> str:
    text = re.sub(r" ?\boptnone\b", "", line.group(0))
    text = re.sub(r"\bnoinline\b", "alwaysinline", text)
    return _TARGET_ATTRIBUTES.sub("", text)


def promote_fragments(text: str, llvm: Any) -> str:
    """``text`` (LLVM 22 IR) with -O0's stack fragments promoted, as LLVM text."""
    text = _ATTRIBUTE_LINE.sub(_unpin, text)
    text = re.sub(r"\b(define [^\n]*?)\boptnone\b", r"\1", text)
    context = llvm.create_context()
    module = llvm.parse_assembly(text, context)
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        machine = llvm.Target.from_default_triple().create_target_machine()
        builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(1))
        passes = llvm.create_new_module_pass_manager()
        passes.add_always_inliner_pass()
        for _ in range(2):
            passes.add_sroa_pass()
            passes.add_instruction_combine_pass()
            passes.add_simplify_cfg_pass()
            passes.add_loop_rotate_pass()
            passes.add_loop_unroll_pass()
        passes.add_sroa_pass()
        passes.add_instruction_combine_pass()
        passes.add_simplify_cfg_pass()
        passes.run(module, builder)
        module.verify()
        return str(module)
    finally:
        module.close()
