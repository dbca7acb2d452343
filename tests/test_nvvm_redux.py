"""``llvm.nvvm.redux.sync.*`` (sm_80 warp reductions): the value is the first operand and
the member mask the second, as LLVM defines the intrinsic; the form clang 20 and older
write for ``__reduce_*_sync`` (operands swapped, LLVM issue 131415) lowers as the IR says,
with a warning that names it."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.runner import run

KERNEL = """target triple = "nvptx64-nvidia-cuda"
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.redux.sync.{op}(i32, i32)
define void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) {{
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %i = zext i32 %t to i64
  %p = getelementptr i32, ptr addrspace(1) %in, i64 %i
  %v = load i32, ptr addrspace(1) %p
  %r = call i32 @llvm.nvvm.redux.sync.{op}({args})
  %q = getelementptr i32, ptr addrspace(1) %out, i64 %i
  store i32 %r, ptr addrspace(1) %q
  ret void
}}
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @k, !"kernel", i32 1}}
"""
MODELS = {"add": np.sum, "max": np.max, "min": np.min, "umax": np.max}


@pytest.mark.parametrize("op", sorted(MODELS))
def test_value_first_reduces_each_warp(op: str) -> None:
    result = compile(KERNEL.format(op=op, args="i32 %v, i32 -1"), "redux.ll")
    assert not result.warnings
    x = np.random.default_rng(5).integers(-1000, 1000, 64).astype(np.int32)
    if op == "umax":
        x = np.abs(x)
    out = np.zeros(64, np.int32)
    run(result.output.encode(), "k", 64, 64, {0: x, 1: out})  # type: ignore[union-attr]
    np.testing.assert_array_equal(out.reshape(2, 32),
                                  np.repeat(MODELS[op](x.reshape(2, 32), axis=1)[:, None],
                                            32, axis=1))


def test_clang20_swapped_operands_warn_and_reduce_the_constant() -> None:
    result = compile(KERNEL.format(op="max", args="i32 -1, i32 %v"), "swapped.ll")
    assert [w for w in result.warnings if "131415" in w.message]
    out = np.zeros(64, np.int32)
    run(result.output.encode(), "k", 64, 64,  # type: ignore[union-attr]
        {0: np.arange(64, dtype=np.int32), 1: out})
    assert (out == -1).all()
