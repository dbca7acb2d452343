"""Inline PTX from the real cuda_fp16.h / cuda_bf16.h / cooperative_groups.h (clang-19 with a
CUDA path made of PyPI nvidia-cuda-* wheels; see tests/fixtures/cuda-headers/regenerate.sh):
the kernels lower, pass the LLVM 14 oracles and verify, and match numpy on the CPU runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llvm_to_air import api
from llvm_to_air.runner import run
from llvm_to_air.verify import verify_air_text
from tests.oracles import llvm_as_14, opt_verify_14

FIXTURE = Path(__file__).parent / "fixtures" / "cuda-headers" / "fp16_groups.ll"


def _bf16_rne(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def test_header_asm_lowers_and_passes_oracles() -> None:
    text = FIXTURE.read_text()
    assert "cvt.rn.f16.f32" in text and "%reserved_smem_offset" in text
    air = api.compile(text, FIXTURE.name, emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, FIXTURE.name) == []


def test_fp16_bf16_header_functions_match_numpy() -> None:
    n = 200
    x = (np.random.default_rng(3).standard_normal(n) * 4).astype(np.float32)
    h, b, y = np.zeros(n, np.float16), np.zeros(n, np.uint16), np.zeros(n, np.float32)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z5halfsPKfP6__halfP13__nv_bfloat16Pfi", (256,), (64,),
        {0: x, 1: h, 2: b, 3: y, 4: np.int32(n)})
    a = x.astype(np.float16)
    want_h = ((a + np.float16(1)) * a).astype(np.float16)
    np.testing.assert_array_equal(h, want_h)
    np.testing.assert_array_equal(b, _bf16_rne(x))
    bf = (_bf16_rne(x).astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(y, want_h.astype(np.float32) + bf)


def test_cooperative_groups_tile_shuffle_matches_numpy() -> None:
    n = 100
    y = np.arange(n, dtype=np.float32)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z6groupsPfi", (128,), (128,), {0: y, 1: np.int32(n)})
    src = np.concatenate([np.arange(n, dtype=np.float32), np.zeros(28, np.float32)])
    down = np.array([src[i + 1] if i % 32 != 31 else src[i] for i in range(128)])
    np.testing.assert_array_equal(y, (src + down)[:n])


def test_half2_pack_fma_and_int_conversion_match_numpy() -> None:
    n = 100
    x = (np.random.default_rng(4).standard_normal(n) * 3).astype(np.float32)
    h2, h = np.zeros(2 * n, np.float16), np.zeros(n, np.float16)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z5pairsPKfP7__half2P6__halfi", (128,), (64,),
        {0: x, 1: h2, 2: h, 3: np.int32(n)})
    p = np.stack([x.astype(np.float16), np.full(n, 2, np.float16)], axis=1)  # .x low, .y high
    doubled = (p + p).astype(np.float64)
    want2 = (p.astype(np.float64) * p + doubled).astype(np.float16)  # fma: one rounding
    np.testing.assert_array_equal(h2.reshape(n, 2), want2)
    np.testing.assert_array_equal(h, want2[:, 0] + np.arange(n).astype(np.float16))


MATH = Path(__file__).parent / "fixtures" / "cuda-headers" / "fp16_math.ll"


def _math_lib() -> bytes:
    lib = api.compile(MATH.read_text(), MATH.name, emit="metallib").output
    assert isinstance(lib, bytes)
    return lib


def _bf16(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _bf16_round(x: np.ndarray) -> np.ndarray:
    """float64 values rounded once to bfloat16 (nearest even), as bits."""
    m, e = np.frexp(x)
    rounded = (np.rint(m * 256) * 2.0 ** (e - 8)).astype(np.float32)
    return (rounded.view(np.uint32) >> 16).astype(np.uint16)


def test_math_header_asm_lowers_and_passes_oracles() -> None:
    text = MATH.read_text()
    assert "ex2.approx.ftz.f32" in text and "fma.rn.bf16" in text and "set.eq.f16.f16" in text
    air = api.compile(text, MATH.name, emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, MATH.name) == []


def test_half_math_functions_within_one_ulp() -> None:
    """hexp2 .. hlog10 (ex2/lg2/sqrt/rsqrt/rcp approximations with the header's corrections):
    within one f16 ulp of the exact function; neg/abs/max exact."""
    n = 96
    x = np.random.default_rng(6).uniform(0.25, 4, n).astype(np.float16)
    out = np.zeros(12 * n, np.float16)
    run(_math_lib(), "_Z9half_mathPK6__halfPS_i", (n,), (32,), {0: x, 1: out, 2: np.int32(n)})
    got = out.reshape(n, 12).astype(np.float64)
    a = x.astype(np.float64)
    models = [np.exp2, np.exp, lambda v: 10 ** v, np.sqrt, lambda v: 1 / np.sqrt(v),
              lambda v: 1 / v, np.log, np.log2, np.log10]
    for k, model in enumerate(models):
        np.testing.assert_allclose(got[:, k], model(a), rtol=2.0 ** -10, atol=2.0 ** -14,
                                   err_msg=f"function {k}")
    np.testing.assert_array_equal(got[:, 9], -a)
    np.testing.assert_array_equal(got[:, 10], np.abs(a))
    np.testing.assert_array_equal(got[:, 11], np.maximum(a, a[0]))


def test_half2_math_functions_within_one_ulp() -> None:
    n = 64
    x = np.random.default_rng(8).uniform(0.25, 4, 2 * n).astype(np.float16)
    out = np.zeros(4 * n, np.float16)
    run(_math_lib(), "_Z10half2_mathPK7__half2PS_i", (n,), (32,), {0: x, 1: out, 2: np.int32(n)})
    got = out.reshape(n, 2, 2).astype(np.float64)
    a = x.reshape(n, 2).astype(np.float64)
    np.testing.assert_allclose(got[:, 0], np.exp2(a), rtol=2.0 ** -10)
    np.testing.assert_allclose(got[:, 1], np.sqrt(a), rtol=2.0 ** -10)


def test_bf16_arithmetic_is_correctly_rounded() -> None:
    """sm_80's cuda_bf16.h writes add/sub/mul as fma.rn.bf16 with 1.0, -1.0 and -0.0."""
    n = 96
    rng = np.random.default_rng(9)
    x = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    out = np.zeros(8 * n, np.uint16)
    run(_math_lib(), "_Z9bf16_mathPK13__nv_bfloat16PS_i", (n,), (32,),
        {0: x, 1: out, 2: np.int32(n)})
    got = out.reshape(n, 8)
    a, b = _bf16(x), _bf16(x[::-1])
    for k, exact in enumerate([a + b, a - b, a * b, a * b + a, -a, np.abs(a),
                               np.maximum(a, b), np.minimum(a, b)]):
        np.testing.assert_array_equal(got[:, k], _bf16_round(exact), err_msg=f"result {k}")

    pairs = np.zeros(2 * n, np.uint16)
    run(_math_lib(), "_Z10bf16x2_fmaPK14__nv_bfloat162PS_i", (n,), (32,),
        {0: np.concatenate([x, x[::-1]]), 1: pairs, 2: np.int32(n)})
    v = _bf16(np.concatenate([x, x[::-1]])).reshape(n, 2)
    np.testing.assert_array_equal(pairs.reshape(n, 2), _bf16_round(v * v[::-1] + v))


def test_directed_conversions() -> None:
    n = 96
    x = (np.random.default_rng(10).standard_normal(n) * 30).astype(np.float32)
    h, b, k = np.zeros(4 * n, np.float16), np.zeros(n, np.uint16), np.zeros(2 * n, np.int32)
    run(_math_lib(), "_Z11conversionsPKfP6__halfP13__nv_bfloat16Pii", (n,), (32,),
        {0: x, 1: h, 2: b, 3: k, 4: np.int32(n)})
    got = h.reshape(n, 4).astype(np.float64)
    xd = x.astype(np.float64)
    near = x.astype(np.float16).astype(np.float64)
    up = np.where(near < xd, np.nextafter(near.astype(np.float16), np.float16(np.inf)), near)
    down = np.where(near > xd, np.nextafter(near.astype(np.float16), np.float16(-np.inf)), near)
    np.testing.assert_array_equal(got[:, 0], np.where(xd >= 0, down, up))  # rz
    np.testing.assert_array_equal(got[:, 1], down)
    np.testing.assert_array_equal(got[:, 2], up)
    np.testing.assert_array_equal(got[:, 3], np.arange(n, dtype=np.float16))
    np.testing.assert_array_equal(b, (x.view(np.uint32) >> 16).astype(np.uint16))  # bf16 rz
    half = x.astype(np.float16).astype(np.float64)
    np.testing.assert_array_equal(k.reshape(n, 2), np.stack([np.rint(half), np.trunc(half)],
                                                            axis=1))
