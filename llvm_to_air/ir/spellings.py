"""Tokens that LLVM renamed after the producer that wrote them, respelled for llvmlite.

llvmlite's LLVM (22) no longer reads some spellings that older producers
(clang 14 to 20) write. Each row maps the old token to the new one and says
which LLVM release renamed it; the replacement keeps every line where it was,
so locations in messages stay right.
"""

from __future__ import annotations

import re

# old spelling -> (new spelling, the LLVM release that renamed it)
RENAMED_TOKENS: dict[str, tuple[str, str]] = {
    # clang -g for OpenCL kernels; LLVM 21 renamed the calling convention for all targets
    "DW_CC_LLVM_OpenCLKernel": ("DW_CC_LLVM_DeviceKernel", "LLVM 21"),
}
_TOKEN_RE = re.compile(r"\b(" + "|".join(map(re.escape, RENAMED_TOKENS)) + r")\b")


def respell(text: str) -> str:
    """``text`` with every renamed token in its current spelling."""
    if not any(old in text for old in RENAMED_TOKENS):
        return text
    return _TOKEN_RE.sub(lambda m: RENAMED_TOKENS[m.group(1)][0], text)


__all__ = ["RENAMED_TOKENS", "respell"]
