"""The Triton fixture kernels' launches: inputs, grid and outputs, shared by the CPU tests
(``tests/test_triton.py``) and the H100 comparison (``compare_triton_h100.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Args = list[np.ndarray | np.generic]


@dataclass(frozen=True)
class TritonCase:
    """One launch: ``make(rng)`` builds the arguments (arrays are updated in place),
    ``programs`` the grid, ``outputs`` which arguments the kernel writes, ``rtol``/``atol``
    the tolerance against the other side (0: bit-identical)."""

    name: str
    make: Callable[[np.random.Generator], Args]
    programs: tuple[int, ...]
    outputs: tuple[int, ...]
    rtol: float = 0.0
    atol: float = 0.0


def _vector_add(rng: np.random.Generator) -> Args:
    n = 3000
    return [rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32),
            np.zeros(n, np.float32), np.int32(n)]


def _row_softmax(rng: np.random.Generator) -> Args:
    x = rng.standard_normal((6, 777), dtype=np.float32)
    return [x, np.zeros_like(x), np.int32(777), np.int32(777)]


def _block_sum(rng: np.random.Generator) -> Args:
    return [rng.random(10_000, dtype=np.float32), np.zeros(1, np.float32), np.int32(10_000)]


def _axpy_fp16(rng: np.random.Generator) -> Args:
    n = 5000
    return [rng.random(n).astype(np.float16), rng.random(n).astype(np.float16),
            np.float32(0.75), np.int32(n)]


def _layer_norm(rng: np.random.Generator) -> Args:
    x = rng.standard_normal((5, 300), dtype=np.float32)
    return [x, rng.random(300, dtype=np.float32), rng.random(300, dtype=np.float32),
            np.zeros_like(x), np.int32(300), np.float32(1e-5)]


def _gelu_silu(rng: np.random.Generator) -> Args:
    x = rng.standard_normal(2000, dtype=np.float32) * 3
    return [x, np.zeros_like(x), np.zeros_like(x), np.int32(2000)]


def _row_cumsum(rng: np.random.Generator) -> Args:
    x = rng.integers(-50, 50, (4, 200), dtype=np.int32)
    return [x, np.zeros_like(x), np.int32(200)]


CASES: dict[str, TritonCase] = {c.name: c for c in (
    TritonCase("vector_add", _vector_add, (6,), (2,)),
    TritonCase("row_softmax", _row_softmax, (6,), (1,), rtol=2e-6, atol=1e-8),
    # float atomics add in thread order: the last bits depend on it
    TritonCase("block_sum_atomic", _block_sum, (40,), (1,), rtol=1e-5),
    TritonCase("axpy_fp16", _axpy_fp16, (5,), (1,)),
    TritonCase("layer_norm_rows", _layer_norm, (5,), (3,), rtol=1e-5, atol=1e-6),
    # exp: GPU ex2.approx against the host's exp2
    TritonCase("gelu_silu", _gelu_silu, (8,), (1, 2), rtol=1e-5, atol=1e-6),
    TritonCase("row_cumsum", _row_cumsum, (4,), (1,)),
)}
