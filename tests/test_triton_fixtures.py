"""Triton kernels (tests/fixtures/src/triton/kernels.py, compiled by Triton 3.9 for sm_80 and
gfx1100/gfx90a): each lowers, passes the LLVM 14 oracles and verify, and matches numpy on
the CPU runner through llvm_to_air.triton's launcher."""

from __future__ import annotations

import json
from collections.abc import Callable
from math import erf
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.triton import TritonKernel, lower_triton_ir
from llvm_to_air.verify import verify_air_text
from tests.oracles import llvm_as_14, opt_verify_14

FIXTURES = Path(__file__).parent / "fixtures" / "triton"
RNG = np.random.default_rng(10)


def load(target: str, name: str) -> TritonKernel:
    facts = json.loads((FIXTURES / target / f"{name}.json").read_text())
    return lower_triton_ir((FIXTURES / target / f"{name}.ll").read_text(),
                           kernel=facts["kernel"], arguments=[n for n, _ in facts["signature"]],
                           signature=[t for _, t in facts["signature"]],
                           num_warps=facts["num_warps"], warp_size=facts["warp_size"],
                           shared=facts["shared"], file=f"{target}/{name}.ll")


def f32(n: int) -> np.ndarray:
    return RNG.standard_normal(n).astype(np.float32)


def case_vadd(k: TritonKernel) -> None:
    n = 1000
    a, b, c = f32(n), f32(n), np.zeros(n, np.float32)
    k[(n + 255) // 256,](a, b, c, n)
    np.testing.assert_array_equal(c, a + b)


def case_axpy_f16(k: TritonKernel) -> None:
    n = 700
    x, y = f32(n).astype(np.float16), f32(n).astype(np.float16)
    want = (np.float32(1.5) * x.astype(np.float32) + y.astype(np.float32)).astype(np.float16)
    k[(n + 255) // 256,](x, y, 1.5, n)
    np.testing.assert_allclose(y.astype(np.float32), want.astype(np.float32), rtol=1e-3,
                               atol=1e-3)


def case_row_softmax(k: TritonKernel) -> None:
    rows, cols = 5, 100
    x, out = f32(rows * cols), np.zeros(rows * cols, np.float32)
    k[(rows,)](out, x, cols, cols, cols)
    m = x.reshape(rows, cols)
    e = np.exp(m - m.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out.reshape(rows, cols), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-6)


def case_block_sum(k: TritonKernel) -> None:
    n = 1000
    x, out = f32(n), np.zeros(4, np.float32)
    k[(4,)](x, out, n)
    want = [x[i * 256:(i + 1) * 256].sum() for i in range(4)]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def case_prefix_sum(k: TritonKernel) -> None:
    n = 300
    x = RNG.integers(-50, 50, n).astype(np.int32)
    out = np.zeros(n, np.int32)
    k[(3,)](x, out, n)
    want = np.concatenate([np.cumsum(x[i:i + 128]) for i in range(0, n, 128)])
    np.testing.assert_array_equal(out, want)


def case_atomic_hist(k: TritonKernel) -> None:
    n = 500
    x, total, bins = f32(n), np.zeros(1, np.float32), np.zeros(4, np.int32)
    k[(4,)](x, total, bins, n)
    np.testing.assert_allclose(total[0], x.sum(), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(bins, np.bincount(np.arange(n) % 4, minlength=4))


def case_gelu_silu(k: TritonKernel) -> None:
    n = 600
    x, g, s = f32(n) * 3, np.zeros(n, np.float32), np.zeros(n, np.float32)
    k[(3,)](x, g, s, n)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(g, 0.5 * xd * (1 + np.vectorize(erf)(xd / np.sqrt(2))),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s, xd / (1 + np.exp(-xd)), rtol=1e-5, atol=1e-6)


def case_dropout(k: TritonKernel) -> None:
    n = 1000
    x, out = f32(n), np.full(n, 7.0, np.float32)
    k[(4,)](x, out, n, 0.5, 123)
    kept = out != 0
    # Philox keeps about half; kept values are scaled by 1/(1-p), dropped are zero
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(out[kept], x[kept] * 2, rtol=1e-6)


def case_layer_norm(k: TritonKernel) -> None:
    rows, cols = 4, 100
    x, y = f32(rows * cols), np.zeros(rows * cols, np.float32)
    w, b = f32(cols), f32(cols)
    k[(rows,)](x, y, w, b, cols, cols, 1e-5)
    m = x.reshape(rows, cols).astype(np.float64)
    mean = m.mean(axis=1, keepdims=True)
    var = ((m - mean) ** 2).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(y.reshape(rows, cols), (m - mean) / np.sqrt(var + 1e-5) * w + b,
                               rtol=1e-4, atol=1e-5)


def case_bf16_scale(k: TritonKernel) -> None:
    n = 300
    x32 = f32(n)
    x = (x32.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16 bits, truncated
    out = np.zeros(n, np.uint16)
    k[(2,)](x, out, n)
    xf = (x.astype(np.uint32) << 16).view(np.float32)
    got = (out.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_allclose(got, xf * 2 + 1, rtol=1 / 128)


def case_matmul_f32(k: TritonKernel, tf32: bool = False) -> None:
    m = n = 64
    kk = 32
    a, b, c = f32(m * kk), f32(kk * n), np.zeros(m * n, np.float32)
    k[(m // 32, n // 32)](a, b, c, m, n, kk)
    if tf32:  # sm_80 tl.dot: tf32 mma, which reads the top 19 bits of each operand
        a = (a.view(np.uint32) & 0xFFFFE000).view(np.float32)
        b = (b.view(np.uint32) & 0xFFFFE000).view(np.float32)
    want = a.reshape(m, kk).astype(np.float64) @ b.reshape(kk, n)
    np.testing.assert_allclose(c.reshape(m, n), want, rtol=1e-4, atol=1e-4)


def case_matmul_f16(k: TritonKernel) -> None:
    m = n = 64
    kk = 32
    a, b = f32(m * kk).astype(np.float16), f32(kk * n).astype(np.float16)
    c = np.zeros(m * n, np.float32)
    k[(m // 32, n // 32)](a, b, c, m, n, kk)
    want = a.reshape(m, kk).astype(np.float64) @ b.reshape(kk, n).astype(np.float64)
    np.testing.assert_allclose(c.reshape(m, n), want, rtol=1e-4, atol=1e-4)


def case_argmax_rows(k: TritonKernel) -> None:
    rows, cols = 6, 100
    x = f32(rows * cols).reshape(rows, cols)
    x[2, 17] = x[2, 40] = 9.0  # a tie: tl.max's index is the first
    where, best = np.zeros(rows, np.int32), np.zeros(rows, np.float32)
    k[(rows,)](x.ravel(), where, best, cols)
    np.testing.assert_array_equal(where, x.argmax(axis=1))
    np.testing.assert_array_equal(best, x.max(axis=1))


def case_tile_transpose(k: TritonKernel) -> None:
    x, y = f32(32 * 64), np.zeros(64 * 32, np.float32)
    k[(1,)](x, y)
    np.testing.assert_array_equal(y.reshape(64, 32), x.reshape(32, 64).T)


def case_row_cumsum(k: TritonKernel) -> None:
    x, y = f32(16 * 64), np.zeros(16 * 64, np.float32)
    k[(1,)](x, y)
    np.testing.assert_allclose(y.reshape(16, 64), np.cumsum(x.reshape(16, 64), axis=1,
                                                            dtype=np.float64),
                               rtol=1e-5, atol=1e-5)


def case_product_reduce(k: TritonKernel) -> None:
    x = (1 + f32(256) * 0.01).astype(np.float32)
    out = np.zeros(1, np.float32)
    k[(1,)](x, out)
    np.testing.assert_allclose(out[0], np.prod(x.astype(np.float64)), rtol=1e-5)


def case_sort_hist(k: TritonKernel) -> None:
    x = f32(128)
    keys = RNG.integers(0, 16, 128).astype(np.int32)
    ordered, hist = np.zeros(128, np.float32), np.zeros(16, np.int32)
    k[(1,)](x, keys, ordered, hist)
    np.testing.assert_array_equal(ordered, np.sort(x))
    np.testing.assert_array_equal(hist, np.bincount(keys, minlength=16))


def case_atomic_ops(k: TritonKernel) -> None:
    x = RNG.integers(-1000, 1000, 128).astype(np.int32)
    extremes = np.array([-10**9, 10**9], np.int32)
    flag, slots = np.zeros(1, np.int32), np.zeros(128, np.int32)
    k[(1,)](x, extremes, flag, slots)
    assert extremes.tolist() == [x.max(), x.min()] and flag[0] == 1
    np.testing.assert_array_equal(slots, x)


def _philox(seed: int, counter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two words of Philox-4x32-10 (Salmon et al., SC'11) for counters
    ``(counter, 0, 0, 0)`` and key ``(seed, 0)``, as ``tl.randint4x`` computes them."""
    mask = np.uint64(0xFFFFFFFF)
    c = [counter.astype(np.uint64), *(np.zeros_like(counter, np.uint64) for _ in range(3))]
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    round_a, round_b = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    for _ in range(10):
        product_a, product_b = round_a * c[0], round_b * c[2]
        c = [(product_b >> np.uint64(32)) ^ c[1] ^ k0, product_b & mask,
             (product_a >> np.uint64(32)) ^ c[3] ^ k1, product_a & mask]
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & mask, (k1 + np.uint64(0xBB67AE85)) & mask
    return c[0].astype(np.uint32), c[1].astype(np.uint32)


def _uniform(bits: np.ndarray) -> np.ndarray:
    """``tl``'s ``uint_to_uniform_float`` for 32-bit words, in float32 as it computes."""
    signed = bits.view(np.int32)
    return np.where(signed < 0, ~signed, signed).astype(np.float32) * np.float32(4.6566127342e-10)


def case_trig_noise(k: TritonKernel) -> None:
    """Angles up to 1e38 take libdevice's (sm_80) or OCML's (gfx1100) reduction of huge
    arguments; the noise is tl.randn's Box-Muller of two Philox uniforms (a log, a sqrt
    and a cos of its own), against a numpy Philox."""
    n, seed = 4096, 1234
    x = f32(n) * 4
    x[:16] = [1e5, -1e5, 3e7, 123456.7, 1e30, -2e20, 1e10, 7e5, 3.4e38, -1.7e38, 105616.0,
              2.0 ** 60, 6.2831855, 1e-30, 0.0, -0.0]
    sines, cosines = np.zeros(n, np.float32), np.zeros(n, np.float32)
    noise = np.zeros(n, np.float32)
    k[(n // 256,)](x, sines, cosines, noise, n, seed)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(sines, np.sin(xd), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cosines, np.cos(xd), rtol=1e-5, atol=1e-6)
    first, second = _philox(seed, np.arange(n, dtype=np.uint32))
    u1 = np.maximum(np.float32(1e-7), _uniform(first)).astype(np.float64)
    angle = (np.float32(6.283185307179586) * _uniform(second)).astype(np.float64)
    np.testing.assert_allclose(noise, np.sqrt(-2 * np.log(u1)) * np.cos(angle), rtol=1e-5,
                               atol=1e-5)
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05


def case_fast_math(k: TritonKernel) -> None:
    n = 1000
    x = f32(n) * 3
    y = np.zeros(n, np.float32)
    k[(4,)](x, y, n)
    xd = x.astype(np.float64)
    want = np.exp2(xd) + np.log2(np.abs(xd) + 1) + 1 / np.sqrt(np.abs(xd) + 1)
    want = np.clip(want + xd * xd + 1, -10, 10) + xd / 3
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=2e-6)


def case_counter_lock(k: TritonKernel) -> None:
    lock, count = np.zeros(1, np.int32), np.zeros(1, np.int32)
    k[(16,)](lock, count)
    assert count[0] == 16 and lock[0] == 0


# tl.dot with bf16 and int8 inputs and an f16 accumulator (kernels.py dot_acc)
DOT_M = DOT_N = DOT_K = 64


def _bf16(n: int) -> np.ndarray:
    """Random bfloat16 bits (truncated f32), as numpy has no bfloat16."""
    return (f32(n).view(np.uint32) >> 16).astype(np.uint16)


def _bf16_values(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def _run_dot(k: TritonKernel, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    k[(DOT_M // 32, DOT_N // 32)](a, b, c, DOT_M, DOT_N, DOT_K)
    return c.reshape(DOT_M, DOT_N)


def case_dot_bf16(k: TritonKernel) -> None:
    a, b = _bf16(DOT_M * DOT_K), _bf16(DOT_K * DOT_N)
    got = _run_dot(k, a, b, np.zeros(DOT_M * DOT_N, np.float32))
    want = _bf16_values(a).reshape(DOT_M, DOT_K) @ _bf16_values(b).reshape(DOT_K, DOT_N)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # exact products, f32 sums


def case_dot_i8(k: TritonKernel) -> None:
    a = RNG.integers(-128, 128, DOT_M * DOT_K).astype(np.int8)
    b = RNG.integers(-128, 128, DOT_K * DOT_N).astype(np.int8)
    got = _run_dot(k, a, b, np.zeros(DOT_M * DOT_N, np.int32))
    want = a.reshape(DOT_M, DOT_K).astype(np.int32) @ b.reshape(DOT_K, DOT_N).astype(np.int32)
    np.testing.assert_array_equal(got, want)


def case_dot_f16_acc(k: TritonKernel) -> None:
    a, b = f32(DOT_M * DOT_K).astype(np.float16), f32(DOT_K * DOT_N).astype(np.float16)
    got = _run_dot(k, a, b, np.zeros(DOT_M * DOT_N, np.float16)).astype(np.float64)
    am = a.reshape(DOT_M, DOT_K).astype(np.float64)
    bm = b.reshape(DOT_K, DOT_N).astype(np.float64)
    # the f16 accumulator is rounded after every k16 step (K / 16 times) and each rounding
    # is within half an f16 ulp (2^-11 relative) of a partial sum bounded by |A| @ |B|;
    # hardware may round differently in the last bits, which this bound also covers
    bound = (DOT_K // 16 + 1) * 2.0 ** -11 * (np.abs(am) @ np.abs(bm))
    assert (np.abs(got - am @ bm) <= bound).all()


CASES: dict[str, Callable[[TritonKernel], None]] = {
    name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}
NVIDIA_PENDING: set[str] = set()


@pytest.mark.parametrize("name", sorted(set(CASES) - NVIDIA_PENDING))
def test_sm80_kernel_matches_numpy(name: str) -> None:
    if name == "matmul_f32":
        case_matmul_f32(load("sm_80", name), tf32=True)
    else:
        CASES[name](load("sm_80", name))


@pytest.mark.parametrize("name", sorted(set(CASES) - NVIDIA_PENDING))
def test_sm80_kernel_passes_llvm14_oracles_and_verify(name: str) -> None:
    text = (FIXTURES / "sm_80" / f"{name}.ll").read_text()
    air = api.compile(text, f"{name}.ll", emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, f"{name}.ll") == []




@pytest.mark.parametrize("path", sorted((FIXTURES / "gfx90a").glob("*.ll")), ids=lambda p: p.stem)
def test_wave64_cross_lane_kernels_are_refused(path: Path) -> None:
    with pytest.raises(CompileError, match="64-lane AMD wavefront") as info:
        api.compile(path.read_text(), path.name, emit="ll")
    assert info.value.location.line > 0


def test_wave64_uniform_broadcast_is_not_cross_lane() -> None:
    text = ('target triple = "amdgcn-amd-amdhsa"\n'
            "declare i32 @llvm.amdgcn.workgroup.id.x()\n"
            "declare i32 @llvm.amdgcn.readfirstlane.i32(i32)\n"
            "define amdgpu_kernel void @k(ptr addrspace(1) %p) #0 {\n"
            "  %g = call i32 @llvm.amdgcn.workgroup.id.x()\n"
            "  %u = call i32 @llvm.amdgcn.readfirstlane.i32(i32 %g)\n"
            "  store i32 %u, ptr addrspace(1) %p\n  ret void\n}\n"
            'attributes #0 = { "target-cpu"="gfx90a" }\n')
    from llvm_to_air.ir.reader import read_module
    from llvm_to_air.rewrite.amdgpu_wave import refuse_wave64_cross_lane

    refuse_wave64_cross_lane(read_module(text, "u.ll"), None)  # type: ignore[arg-type]
    lane = text.replace("call i32 @llvm.amdgcn.workgroup.id.x()", "add i32 0, 0").replace(
        "declare i32 @llvm.amdgcn.workgroup.id.x()\n", "declare i32 @llvm.amdgcn.workitem.id.x()\n")
    lane = lane.replace("%g = add i32 0, 0", "%g = call i32 @llvm.amdgcn.workitem.id.x()")
    with pytest.raises(CompileError, match=r"readfirstlane.*gfx90a"):
        refuse_wave64_cross_lane(read_module(lane, "l.ll"), None)  # type: ignore[arg-type]


WAVE32_LOWERING = ["vadd", "axpy_f16", "bf16_scale", "dropout", "gelu_silu", "prefix_sum",
                   "matmul_f32", "matmul_f16", "atomic_hist", "block_sum", "row_softmax",
                   "layer_norm", "argmax_rows", "tile_transpose", "row_cumsum",
                   "product_reduce", "sort_hist", "atomic_ops", "trig_noise", "fast_math",
                   "counter_lock"]
WAVE32_LOWERING += ["dot_bf16", "dot_i8", "dot_f16_acc"]  # gfx11 WMMA (rewrite/amdgpu_wmma.py)


@pytest.mark.parametrize("name", WAVE32_LOWERING)
def test_gfx1100_kernel_lowers_and_passes_oracles(name: str) -> None:
    text = (FIXTURES / "gfx1100" / f"{name}.ll").read_text()
    air = api.compile(text, f"{name}.ll", emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, f"{name}.ll") == []


# dot_f16_acc runs the f32 WMMA of matmul_f16 and rounds its results: on gfx1100 it is
# lowered and checked by the oracles only (a 30-second JIT each, and CI has a time budget)
GFX1100_LOWER_ONLY = {"dot_f16_acc"}


@pytest.mark.parametrize("name", sorted(set(WAVE32_LOWERING) & set(CASES) - GFX1100_LOWER_ONLY))
def test_gfx1100_kernel_matches_numpy(name: str) -> None:
    CASES[name](load("gfx1100", name))
