"""llvm_to_air.triton.compile_triton end to end (skipped where Triton is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

triton = pytest.importorskip("triton")
tl = pytest.importorskip("triton.language")


@triton.jit
def _scale_shift(x_ptr, out_ptr, a, n, BLOCK: tl.constexpr):
    idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = idx < n
    tl.store(out_ptr + idx, tl.load(x_ptr + idx, mask=live) * a + 1.0, mask=live)


@pytest.mark.parametrize("target", ["sm_80", "gfx1100"])
def test_compile_triton_runs_with_tritons_calling_convention(target: str) -> None:
    from llvm_to_air.triton import compile_triton

    k = compile_triton(_scale_shift, {"x_ptr": "*fp32", "out_ptr": "*fp32", "a": "fp32",
                                      "n": "i32"}, {"BLOCK": 128}, target=target, num_warps=2)
    assert k.metallib[:4] == b"MTLB"
    assert k.plan.threads_per_threadgroup == 64 and k.plan.buffer_index == (0, 1, 2, 3)
    assert k.plan.grid_threads((3,)) == (192, 1, 1)
    x = np.arange(300, dtype=np.float32)
    out = np.zeros(300, np.float32)
    k[(3,)](x, out, 2.0, 300)
    np.testing.assert_array_equal(out, x * 2 + 1)
