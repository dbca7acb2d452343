"""Fixtures lowered once per test session: the compile result, and a kernel-name lookup."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from llvm_to_air.api import CompileResult, compile

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def compiled(rel: str, kernels: tuple[str, ...] = ()) -> CompileResult:
    """The AIR of fixture ``rel`` (of the named kernels only, when given); raises as
    ``compile`` does."""
    path = FIXTURES / rel
    return compile(path.read_text(), str(path), kernels=kernels)


def lower(rel: str, *kernels: str) -> tuple[bytes, Callable[[str], str]]:
    """The AIR text of a fixture and a lookup from a unique part of a kernel's symbol."""
    result = compiled(rel, kernels)
    names = [k.name for k in result.kernels]

    def kernel(stem: str) -> str:
        found = [n for n in names if stem in n]
        assert len(found) == 1, (stem, names)
        return found[0]

    return result.output.encode(), kernel  # type: ignore[union-attr]
