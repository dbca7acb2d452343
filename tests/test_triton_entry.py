"""``llvm_to_air.triton``: a @triton.jit function compiled without a GPU and run with
Triton's calling convention (needs Triton: CI installs it)."""

from __future__ import annotations

import numpy as np
import pytest

triton = pytest.importorskip("triton", reason="Triton is not installed (pip install "
                             "'llvm-to-air[triton]'); CI installs it")
tl = pytest.importorskip("triton.language")

from llvm_to_air.triton import kernel  # noqa: E402


@triton.jit
def scaled_sum(x_ptr, y_ptr, out_ptr, n, alpha, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, alpha * x + y, mask=mask)


@triton.jit
def row_max(x_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    values = tl.load(x_ptr + row * n_cols + cols, mask=cols < n_cols, other=-float("inf"))
    tl.store(out_ptr + row, tl.max(values, axis=0))


def test_launch_like_triton() -> None:
    n = 4097
    rng = np.random.default_rng(5)
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    out = np.zeros(n, np.float32)
    add = kernel(scaled_sum)
    add[lambda meta: (triton.cdiv(n, meta["BLOCK_SIZE"]),)](x, y, out, n, 2.0, BLOCK_SIZE=1024)
    np.testing.assert_array_equal(out, np.float32(2.0) * x + y)


def test_plan_says_how_to_dispatch() -> None:
    x = np.zeros((3, 100), np.float32)
    out = np.zeros(3, np.float32)
    compiled = kernel(row_max, num_warps=2).compile(x, out, 100, BLOCK=128)
    plan = compiled.plan
    assert plan.arguments == ("x_ptr", "out_ptr", "n_cols")
    assert plan.scratch_indices == (3, 4)
    assert plan.threads_per_threadgroup == 64
    assert plan.dispatch((3,)) == ((192, 1, 1), (64, 1, 1))
    assert compiled.metallib[:4] == b"MTLB"
    x[:] = np.random.default_rng(1).standard_normal((3, 100))
    compiled.run((3,), (x, out, 100))
    np.testing.assert_array_equal(out, x.max(axis=1))
