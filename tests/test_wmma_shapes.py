"""WMMA beyond m16n16k16 half (cuda-real-*/wmma_shapes.ll, clang-19 sm_80, real CUDA 12.4
headers, -O2 and -O0): m32n8k16 and m8n32k16 tiles, bf16 (m16n16k16, m32n8k16) and tf32
(m16n16k8) inputs, a half accumulator and a float epilogue, lowered onto 8x8 simdgroup
matrices and run on the CPU runner against numpy; integer WMMA is refused with its reason."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run

FIXTURES = Path(__file__).parent / "fixtures"
RNG = np.random.default_rng(80)


@cache
def _air(rel: str) -> tuple[bytes, dict[str, str]]:
    path = FIXTURES / rel
    result = compile(path.read_text(), str(path))
    assert result.output is not None
    names = {k.name: k.name for k in result.kernels}
    return result.output if isinstance(result.output, bytes) else result.output.encode(), names


def _kernel(names: dict[str, str], stem: str) -> str:
    found = [n for n in names if f"{stem}_kernel" in n]
    assert len(found) == 1, (stem, names)
    return found[0]


def _half(shape: tuple[int, int]) -> np.ndarray:
    return RNG.uniform(-1, 1, shape).astype(np.float16)


def _bf16(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Random bf16 values: their bits (uint16) and their exact float64 values."""
    bits = (RNG.uniform(-1, 1, shape).astype(np.float32).view(np.uint32) >> 16).astype(
        np.uint16)
    return bits, (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _tile_gemm(air: bytes, kernel: str, a: np.ndarray, b_cols: np.ndarray, m: int, n: int,
               k: int, tm: int, tn: int) -> np.ndarray:
    """C = A B for A (m x k) row-major and B given column-major (n x k), a warp per tile."""
    c = np.zeros((m, n), np.float32)
    tiles = (m // tm) * (n // tn)
    run(air, kernel, tiles * 32, 32, {0: a, 1: b_cols, 2: c, 3: np.int32(n), 4: np.int32(k)})
    return c


VARIANTS = ["cuda-real-O2/wmma_shapes.ll", "cuda-real-O0/wmma_shapes.ll"]


@pytest.mark.parametrize("rel", VARIANTS)
@pytest.mark.parametrize(("stem", "tm", "tn"), [("wmma_m32n8k16", 32, 8),
                                                ("wmma_m8n32k16", 8, 32)])
def test_tall_and_wide_half_tiles(rel: str, stem: str, tm: int, tn: int) -> None:
    air, names = _air(rel)
    m, n, k = 64, 64, 48
    a, b = _half((m, k)), _half((k, n))
    c = _tile_gemm(air, _kernel(names, stem), a, np.ascontiguousarray(b.T), m, n, k, tm, tn)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("rel", VARIANTS)
@pytest.mark.parametrize(("stem", "tm", "tn"), [("wmma_bf16", 16, 16),
                                                ("wmma_bf16_m32n8k16", 32, 8)])
def test_bf16_inputs(rel: str, stem: str, tm: int, tn: int) -> None:
    air, names = _air(rel)
    assert b"v64f32.v64f32.v64f32.v64f32" in air
    m, n, k = 32, 32, 64
    a_bits, a = _bf16((m, k))
    b_bits, b = _bf16((k, n))
    c = _tile_gemm(air, _kernel(names, stem), a_bits, np.ascontiguousarray(b_bits.T), m, n,
                   k, tm, tn)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rel", VARIANTS)
def test_tf32_inputs_ignore_the_low_mantissa_bits(rel: str) -> None:
    air, names = _air(rel)
    m, n, k = 32, 32, 32
    a = RNG.uniform(-1, 1, (m, k)).astype(np.float32)
    b = RNG.uniform(-1, 1, (k, n)).astype(np.float32)

    def tf32(x: np.ndarray) -> np.ndarray:
        return (x.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32).astype(np.float64)

    c = _tile_gemm(air, _kernel(names, "wmma_tf32"), a, np.ascontiguousarray(b.T), m, n, k,
                   16, 16)
    want = tf32(a) @ tf32(np.ascontiguousarray(b))
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
    # the full-precision product differs by more than float rounding: truncation is real
    assert np.abs(c - a.astype(np.float64) @ b.astype(np.float64)).max() > 1e-4


@pytest.mark.parametrize("rel", VARIANTS)
def test_m8n32k16_half_accumulator_from_c(rel: str) -> None:
    air, names = _air(rel)
    m, n, k = 16, 64, 32
    a, b, c = _half((m, k)), _half((k, n)), _half((m, n))
    d = np.zeros((m, n), np.float16)
    run(air, _kernel(names, "wmma_m8n32k16_f16acc"), (m // 8) * (n // 32) * 32, 32,
        {0: a, 1: b, 2: c, 3: d, 4: np.int32(n), 5: np.int32(k)})
    want = a.astype(np.float64) @ b.astype(np.float64) + c
    np.testing.assert_allclose(d.astype(np.float64), want, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("rel", VARIANTS)
def test_m32n8k16_epilogue_with_column_major_c(rel: str) -> None:
    air, names = _air(rel)
    m, n, k = 64, 16, 32
    a, b = _half((m, k)), _half((k, n))
    c_cols = RNG.uniform(-1, 1, (n, m)).astype(np.float32)  # C column-major: C^T row-major
    d_cols = np.zeros((n, m), np.float32)
    run(air, _kernel(names, "wmma_m32n8k16_gemm"), (m // 32) * (n // 8) * 32, 32,
        {0: a, 1: np.ascontiguousarray(b.T), 2: c_cols, 3: d_cols, 4: np.int32(n),
         5: np.int32(k), 6: np.float32(2.0), 7: np.float32(-0.5)})
    want = 2.0 * (a.astype(np.float64) @ b.astype(np.float64)) - 0.5 * c_cols.T
    np.testing.assert_allclose(d_cols.T, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rel", ["cuda-real-O2/wmma_int8.ll", "cuda-real-O0/wmma_int8.ll"])
def test_integer_wmma_is_refused_with_the_reason(rel: str) -> None:
    path = FIXTURES / rel
    with pytest.raises(CompileError, match="no integer simdgroup matrix") as info:
        compile(path.read_text(), str(path))
    assert "s8" in str(info.value) or "s32" in str(info.value)
    assert info.value.location is not None and info.value.location.line > 1


@pytest.mark.parametrize("rel", VARIANTS)
def test_lowered_module_passes_the_llvm14_oracles(rel: str) -> None:
    from oracles import llvm_as_14, opt_verify_14

    from llvm_to_air.verify import errors_of, verify_air_text

    path = FIXTURES / rel
    text = compile(path.read_text(), str(path), emit="ll").output
    assert isinstance(text, str)
    llvm_as_14(text)
    opt_verify_14(text)
    assert not errors_of(verify_air_text(text, "wmma_shapes.ll", profile="ours"))
