"""Triton kernels (LLVM 24 text with inline PTX and linked libdevice) lowered and run.

The fixtures are Triton's own output for kernels this project wrote
(``tests/fixtures/src/triton/kernels.py``), so CI needs no Triton. Each kernel runs
with Triton's calling convention on the CPU runner: its arguments in order, then the
two scratch pointers Triton appends; ``num_warps * 32`` threads per program; the
dynamic shared memory ``@global_smem`` as threadgroup memory of ``shared`` bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from oracles import FIXTURES, llvm_as_14, opt_verify_14

import llvm_to_air
from llvm_to_air.verify import errors_of, verify_air_text

TRITON = FIXTURES / "triton"
MANIFEST = json.loads((TRITON / "manifest.json").read_text())
RNG = np.random.default_rng(3)


def launch(target: str, name: str, programs: int, arrays: list[np.ndarray | np.generic]) -> None:
    facts = MANIFEST[name][target]
    buffers: dict[int, object] = dict(enumerate(arrays))
    scratch = len(arrays)
    buffers[scratch] = np.zeros(16, np.uint8)       # global scratch
    buffers[scratch + 1] = np.zeros(16, np.uint8)   # profile scratch
    threads = facts["num_warps"] * facts["threads_per_warp"]
    shared = facts["shared"]
    llvm_to_air.run(TRITON / target / f"{name}.ll", facts["kernel"], programs * threads,
                    threads, buffers,
                    threadgroup_memory={0: -(-shared // 16) * 16} if shared else None)


def _vector_add(target: str) -> None:
    n = 3000
    x, y, out = RNG.random(n, dtype=np.float32), RNG.random(n, dtype=np.float32), \
        np.zeros(n, np.float32)
    launch(target, "vector_add", -(-n // 512), [x, y, out, np.int32(n)])
    np.testing.assert_array_equal(out, x + y)


def _row_softmax(target: str) -> None:
    rows, cols = 6, 777
    x, out = RNG.standard_normal((rows, cols), dtype=np.float32), np.zeros((rows, cols),
                                                                          np.float32)
    launch(target, "row_softmax", rows, [x, out, np.int32(cols), np.int32(cols)])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=2e-6, atol=1e-8)


def _block_sum_atomic(target: str) -> None:
    n = 10_000
    x, total = RNG.random(n, dtype=np.float32), np.zeros(1, np.float32)
    launch(target, "block_sum_atomic", -(-n // 256), [x, total, np.int32(n)])
    np.testing.assert_allclose(total[0], x.astype(np.float64).sum(), rtol=1e-5)


def _axpy_fp16(target: str) -> None:
    n = 5000
    x, y = RNG.random(n).astype(np.float16), RNG.random(n).astype(np.float16)
    expected = (np.float32(0.75) * x.astype(np.float32) + y.astype(np.float32)).astype(
        np.float16)
    launch(target, "axpy_fp16", -(-n // 1024), [x, y, np.float32(0.75), np.int32(n)])
    np.testing.assert_array_equal(y, expected)


def _layer_norm_rows(target: str) -> None:
    rows, cols = 5, 300
    x = RNG.standard_normal((rows, cols), dtype=np.float32)
    w, b = RNG.random(cols, dtype=np.float32), RNG.random(cols, dtype=np.float32)
    out = np.zeros_like(x)
    launch(target, "layer_norm_rows", rows, [x, w, b, out, np.int32(cols), np.float32(1e-5)])
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5) * w + b, rtol=1e-4,
                               atol=1e-5)


def _gelu_silu(target: str) -> None:
    n = 2000
    x = RNG.standard_normal(n, dtype=np.float32) * 3
    gelu, silu = np.zeros(n, np.float32), np.zeros(n, np.float32)
    launch(target, "gelu_silu", -(-n // 256), [x, gelu, silu, np.int32(n)])
    x64 = x.astype(np.float64)
    ref_gelu = 0.5 * x64 * (1 + np.tanh(0.7978845608 * (x64 + 0.044715 * x64 ** 3)))
    np.testing.assert_allclose(gelu, ref_gelu, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(silu, x64 / (1 + np.exp(-x64)), rtol=1e-5, atol=1e-6)


def _row_cumsum(target: str) -> None:
    rows, cols = 4, 200
    x = RNG.integers(-50, 50, (rows, cols), dtype=np.int32)
    out = np.zeros_like(x)
    launch(target, "row_cumsum", rows, [x, out, np.int32(cols)])
    np.testing.assert_array_equal(out, np.cumsum(x, axis=1, dtype=np.int32))


CHECKS: dict[str, Callable[[str], None]] = {
    "vector_add": _vector_add, "row_softmax": _row_softmax,
    "block_sum_atomic": _block_sum_atomic, "axpy_fp16": _axpy_fp16,
    "layer_norm_rows": _layer_norm_rows, "gelu_silu": _gelu_silu, "row_cumsum": _row_cumsum,
}
CASES = [(target, name) for name, targets in sorted(MANIFEST.items()) for target in targets]


def test_every_fixture_has_a_reference() -> None:
    assert set(MANIFEST) == set(CHECKS)


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_triton_kernel_lowers_to_valid_air(target: str, name: str) -> None:
    path = TRITON / target / f"{name}.ll"
    source = path.read_text()
    assert "asm sideeffect" in source or "__nvvm_reflect" in source or "f0x" in source or \
        name in ("row_cumsum",), "the fixture no longer exercises what it is for"
    text = llvm_to_air.compile(path).output
    assert isinstance(text, str) and "asm" not in text
    llvm_as_14(text)
    opt_verify_14(text)
    assert not errors_of(verify_air_text(text, str(path), profile="ours"))


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_triton_kernel_matches_numpy(target: str, name: str) -> None:
    CHECKS[name](target)
