"""OpenCL saturating conversions and half-precision loads and stores
(``rewrite/opencl_sat_half.py``): fixture ``src/opencl/saturate_half.cl`` (clang-19 -O2)
run on the CPU runner against numpy transcriptions of OpenCL C 3.0 sections 6.4.3 and
6.15.7, and the lowered text through LLVM 14's assembler and verifier."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from llvm_to_air.api import compile
from llvm_to_air.runner import run

FIXTURE = "opencl19/saturate_half.ll"
PATH = Path(__file__).parent / "fixtures" / FIXTURE
RNG = np.random.default_rng(31)


@functools.cache
def air() -> bytes:
    out = compile(PATH.read_text(), FIXTURE).output
    assert isinstance(out, str)
    return out.encode()


def saturate(values: np.ndarray, dtype: type, rounding: str = "rtz") -> np.ndarray:
    """OpenCL's convert_<type>_sat[_<rounding>] of float values: round, NaN -> 0, clamp."""
    info = np.iinfo(dtype)
    rounded = {"rtz": np.trunc, "rte": np.rint}[rounding](values.astype(np.float64))
    return np.where(np.isnan(rounded), 0, np.clip(rounded, info.min, info.max)).astype(dtype)


def test_float_colour_to_rgba8_rounds_to_even_and_saturates() -> None:
    hdr = np.abs(RNG.standard_normal((256, 4)) * 3).astype(np.float32)
    hdr[0] = [np.inf, np.nan, 0.0, 1e30]
    rgba = np.zeros((256, 4), np.uint8)
    run(air(), "to_rgba8", 256, 64, {0: hdr, 1: rgba, 2: np.float32(1.5)})
    c = hdr * np.float32(1.5)
    with np.errstate(invalid="ignore"):
        c = c / (np.float32(1.0) + c)
    np.testing.assert_array_equal(rgba, saturate(c * np.float32(255.0), np.uint8, "rte"))


def test_int8_quantization_clips_both_ends() -> None:
    x = (RNG.standard_normal(512) * 2).astype(np.float32)
    x[:5] = [np.nan, np.inf, -np.inf, 1.27, -1.285]
    q = np.zeros(512, np.int8)
    run(air(), "quantize_int8", 512, 128, {0: x, 1: q, 2: np.float32(100.0)})
    np.testing.assert_array_equal(q, saturate(x * np.float32(100.0), np.int8, "rte"))


def test_integer_saturation_between_widths() -> None:
    a = RNG.integers(-(1 << 30), 1 << 30, 256).astype(np.int32)
    b = RNG.integers(-40000, 40000, 256).astype(np.int32)
    a[:3], b[:3] = [0, 30000, -70000], [0, 30000, 5000]
    out, peaks = np.zeros((256, 2), np.int16), np.zeros(256, np.uint8)
    run(air(), "mix_pcm", 256, 64, {0: a, 1: b, 2: out, 3: peaks})
    s = np.stack([a + b, a - b], axis=1).astype(np.int64)
    np.testing.assert_array_equal(out, np.clip(s, -32768, 32767))
    np.testing.assert_array_equal(peaks, np.clip(np.abs(s[:, 0]) >> 8, 0, 255))


def test_fp16_vectors_load_widen_and_store_rounded() -> None:
    n = 64
    x = RNG.standard_normal(4 * n).astype(np.float16)
    y = RNG.standard_normal(4 * n).astype(np.float16)
    expect = (np.float32(0.75) * x.astype(np.float32) + y.astype(np.float32)).astype(np.float16)
    run(air(), "fp16_axpy", n, 32, {0: x, 1: y, 2: np.float32(0.75)})
    np.testing.assert_array_equal(y, expect)


def test_aligned_half3_steps_by_four_and_scalar_stores() -> None:
    n = 64
    x = RNG.standard_normal(4 * n).astype(np.float16)
    sums = np.zeros(n, np.float32)
    scaled = np.full(1024 + 4 * n, 7.0, np.float16)
    run(air(), "fp16_to_float_sum", n, 32, {0: x, 1: sums, 2: scaled})
    v = x.reshape(n, 4)[:, :3].astype(np.float32)
    np.testing.assert_array_equal(sums, (v[:, 0] + v[:, 1]) + v[:, 2])
    np.testing.assert_array_equal(scaled[:n], (v[:, 0] * np.float32(0.5)).astype(np.float16))
    stored = scaled[1024:].reshape(n, 4)
    np.testing.assert_array_equal(stored[:, :3], (v * np.float32(2.0)).astype(np.float16))
    assert (stored[:, 3] == 7.0).all()  # vstorea_half3 writes three of its four slots


def test_lowered_text_passes_llvm14() -> None:
    from oracles import llvm_as_14, opt_verify_14

    text = air().decode()
    assert "@_Z" not in text  # no OpenCL builtin call is left
    llvm_as_14(text)
    opt_verify_14(text)
