"""Differential tests: fixtures lowered to AIR by ``compile`` and run on the CPU runner
must compute what numpy computes (tolerances for transcendental math).

Kernels come from ``tests/fixtures`` (CUDA at -O2/-O0 and clang-14, OpenCL, MLIR
NVVM/ROCDL): elementwise, reductions through threadgroup memory and barriers,
atomics, histograms, transposes, tiled matmul, warp shuffles and votes, math,
2D/3D grids, struct and scalar parameters, MLIR memref descriptors.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.runner import run

FIXTURES = Path(__file__).parent / "fixtures"
CUDA = ["cuda19-O2", "cuda19-O0", "cuda14-O2"]
MLIR = ["mlir-nvvm", "mlir-rocdl"]
RNG = np.random.default_rng(20240601)


@functools.cache
def air(rel: str, emit: str = "ll") -> bytes:
    """Our AIR for fixture ``rel`` (LLVM 14 text, ``.air`` or ``.metallib`` bytes)."""
    out = compile((FIXTURES / rel).read_text(), rel, emit=emit).output  # type: ignore[arg-type]
    return out.encode() if isinstance(out, str) else out


def f32(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def i32(*shape: int, lo: int = -100, hi: int = 100) -> np.ndarray:
    return RNG.integers(lo, hi, shape).astype(np.int32)


# ------------------------------------------------------------------ CUDA


@pytest.mark.parametrize("variant", CUDA)
def test_vadd(variant: str) -> None:
    n = 1000
    a, b, c = f32(n), f32(n), np.zeros(n, np.float32)
    run(air(f"{variant}/vadd.ll"), "vadd", (1024,), (256,), {0: a, 1: b, 2: c, 3: np.int32(n)})
    np.testing.assert_array_equal(c, a + b)


@pytest.mark.parametrize("variant", CUDA)
def test_saxpy_scalar_parameters(variant: str) -> None:
    n = 777
    x, y = f32(n), f32(n)
    expect = np.float32(2.5) * x + y
    run(air(f"{variant}/saxpy.ll"), "saxpy", (1024,), (128,),
        {0: np.int32(n), 1: np.float32(2.5), 2: x, 3: y})
    np.testing.assert_allclose(y, expect, rtol=1e-6, atol=1e-6)  # fma contraction


def test_scale_int_grid_stride_loop() -> None:
    n = 1000
    data = i32(n)
    expect = data * 3 + (np.arange(n) & 7)
    run(air("cuda19-O2/scale_int.ll"), "scale_int", (256,), (64,),
        {0: data, 1: np.int32(3), 2: np.uint32(n)})
    np.testing.assert_array_equal(data, expect)


@pytest.mark.parametrize("variant", CUDA)
def test_grid3d(variant: str) -> None:
    nx, ny, nz = 20, 12, 6
    vol = np.full((nz, ny, nx), -1, np.float32)
    run(air(f"{variant}/grid3d.ll"), "grid3d", (24, 12, 6), (8, 4, 2),
        {0: vol, 1: np.int32(nx), 2: np.int32(ny), 3: np.int32(nz)})
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    np.testing.assert_array_equal(vol, (x + y + z).astype(np.float32))


def test_matmul_naive_2d() -> None:
    m, n, k = 33, 40, 17
    a, b, c = f32(m, k), f32(k, n), np.zeros((m, n), np.float32)
    run(air("cuda19-O2/matmul_naive.ll"), "matmul_naive", (48, 48), (16, 16),
        {0: a, 1: b, 2: c, 3: np.int32(m), 4: np.int32(n), 5: np.int32(k)})
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_matmul_tiled_shared_memory_barriers(variant: str) -> None:
    n = 64
    a, b, c = f32(n, n), f32(n, n), np.zeros((n, n), np.float32)
    run(air(f"{variant}/matmul_tiled.ll"), "matmul_tiled", (n, n), (16, 16),
        {0: a, 1: b, 2: c, 3: np.int32(n)})
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", ["cuda19-O2", "cuda19-O0"])
def test_transpose_tiled(variant: str) -> None:
    width, height = 70, 45
    src, out = f32(height, width), np.zeros((width, height), np.float32)
    run(air(f"{variant}/transpose_tiled.ll"), "transpose", (96, 64), (32, 32),
        {0: out, 1: src, 2: np.int32(width), 3: np.int32(height)})
    np.testing.assert_array_equal(out, src.T)


@pytest.mark.parametrize("variant", CUDA)
def test_reduce_shared(variant: str) -> None:
    n = 1000
    x, partial = f32(1024), np.zeros(4, np.float32)
    run(air(f"{variant}/reduce_shared.ll"), "reduce_sum", (1024,), (256,),
        {0: x, 1: partial, 2: np.int32(n)})
    expect = [x[k * 256:min(n, (k + 1) * 256)].sum() for k in range(4)]
    np.testing.assert_allclose(partial, expect, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_reverse_shared(variant: str) -> None:
    d = np.arange(512, dtype=np.int32)
    run(air(f"{variant}/reverse_shared.ll"), "reverse_block", (512,), (64,), {0: d})
    np.testing.assert_array_equal(d, np.arange(512).reshape(8, 64)[:, ::-1].reshape(-1))


def test_prefix_scan_double_buffered() -> None:
    x, out = f32(512), np.zeros(512, np.float32)
    run(air("cuda19-O2/prefix_scan.ll"), "prefix_scan", (512,), (256,), {0: x, 1: out})
    np.testing.assert_allclose(out, np.cumsum(x.reshape(2, 256), axis=1).reshape(-1),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("variant", CUDA)
def test_dot_product_barriers_and_float_atomic(variant: str) -> None:
    n = 5000
    a, b, result = f32(n), f32(n), np.zeros(1, np.float32)
    run(air(f"{variant}/dot_product.ll"), "dot_product", (1024,), (256,),
        {0: a, 1: b, 2: result, 3: np.int32(n)})
    np.testing.assert_allclose(result[0], np.dot(a.astype(np.float64), b), rtol=1e-4)


@pytest.mark.parametrize("variant", CUDA)
def test_histogram_threadgroup_atomics(variant: str) -> None:
    n = 10000
    data = RNG.integers(0, 256, n).astype(np.uint8)
    bins = np.zeros(64, np.uint32)
    run(air(f"{variant}/histogram.ll"), "histogram", (1024,), (256,),
        {0: data, 1: bins, 2: np.int32(n)})
    np.testing.assert_array_equal(bins, np.bincount(data % 64, minlength=64))


def _atomics_all_sequential(ia: np.ndarray, ua: np.ndarray, fa: np.ndarray, threads: int) \
        -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """atomics_all.cu executed one thread after another (a valid interleaving)."""
    ia, ua, fa = ia.astype(np.int64), ua.astype(np.int64), fa.astype(np.float32)
    out = np.zeros(threads, np.int64)
    for t in range(threads):
        old = ia.copy()
        ia[:9] = [old[0] + t, old[1] - t, t, min(old[3], t), max(old[4], t), old[5] & t,
                  old[6] | t, old[7] ^ t, t if old[8] == 0 else old[8]]
        uold = ua.copy()
        ua[:] = [uold[0] + t, min(uold[1], t), max(uold[2], t),
                 0 if uold[3] >= 100 else uold[3] + 1, uold[4] & 0xF0]
        out[t] = old.sum() + uold.sum() + int(fa[0])
        fa[0] = fa[0] + np.float32(1.5)
        fa[1] = max(fa[1], np.float32(t))
    return ia, ua, fa, out


@pytest.mark.parametrize("variant", CUDA)
def test_atomics_all(variant: str) -> None:
    threads = 64
    ia = np.array([5, 1000, 7, 50, -3, -1, 0, 0x5A, 0], np.int32)
    ua = np.array([1, 1000, 0, 0, 0xFF], np.uint32)
    fa = np.array([0.0, -5.0], np.float32)
    out = np.zeros(threads, np.int32)
    e_ia, e_ua, e_fa, e_out = _atomics_all_sequential(ia, ua, fa, threads)
    run(air(f"{variant}/atomics_all.ll"), "atomics_all", (threads,), (threads,),
        {0: ia, 1: ua, 2: fa, 3: out})
    np.testing.assert_array_equal(ia, e_ia.astype(np.int32))
    np.testing.assert_array_equal(ua, e_ua.astype(np.uint32))
    np.testing.assert_array_equal(fa, e_fa)
    np.testing.assert_array_equal(out, e_out.astype(np.int32))  # threads run in order here


def test_atomics_all_float_buffer_metadata() -> None:
    """`float *fa` is used by atomicAdd(float) and, cast to int*, by a CAS loop: the access
    right at the pointer (the float add) decides its element type."""
    from llvm_to_air.runner.load import load_kernel

    kernel = load_kernel(air("cuda19-O2/atomics_all.ll"), "atomics_all")
    assert kernel.info.bindings[2].type_name == "float"


@pytest.mark.parametrize("variant", CUDA)
def test_warp_reduce_shuffle_down(variant: str) -> None:
    x, ix = f32(256), i32(256)
    out, iout = np.zeros(8, np.float32), np.zeros(8, np.int32)
    run(air(f"{variant}/warp_reduce.ll"), "warp_reduce", (256,), (128,),
        {0: x, 1: ix, 2: out, 3: iout})
    np.testing.assert_allclose(out, x.reshape(8, 32).sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(iout, ix.reshape(8, 32).sum(axis=1))


@pytest.mark.parametrize("variant", CUDA)
def test_warp_vote_ballot_shuffle_up(variant: str) -> None:
    v = i32(256, lo=-3, hi=10)
    v[32:64] = np.abs(v[32:64]) + 1
    v[64:96] = np.abs(v[64:96])
    ballots, flags, scan = np.zeros(8, np.uint32), np.zeros(8, np.int32), np.zeros(256, np.int32)
    run(air(f"{variant}/warp_vote.ll"), "warp_vote", (256,), (64,),
        {0: v, 1: ballots, 2: flags, 3: scan})
    w = v.reshape(8, 32).astype(np.int64)
    expect_ballot = ((w > 0) << np.arange(32)).sum(axis=1)
    popcount = np.array([bin(int(b)).count("1") for b in expect_ballot])
    expect_flags = ((w < 0).any(axis=1) << 1) | (w != 0).all(axis=1) | (popcount << 2)
    np.testing.assert_array_equal(ballots, expect_ballot.astype(np.uint32))
    np.testing.assert_array_equal(flags, expect_flags)
    np.testing.assert_array_equal(scan, (np.cumsum(w, axis=1) + w[:, :1]).reshape(-1))


@pytest.mark.parametrize("variant", ["cuda19-O2", "cuda14-O2"])
def test_softmax_row_shuffle_xor(variant: str) -> None:
    rows, cols = 6, 100
    x, y = f32(rows, cols, lo=-4, hi=4), np.zeros((rows, cols), np.float32)
    run(air(f"{variant}/softmax_row.ll"), "softmax_row", (rows * 32,), (32,),
        {0: x, 1: y, 2: np.int32(cols)})
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("variant", CUDA)
def test_math_funcs(variant: str) -> None:
    n = 256
    a, b = f32(n, lo=-2, hi=2), f32(n, lo=0.1, hi=3)
    out = np.zeros((n, 14), np.float32)
    run(air(f"{variant}/math_funcs.ll"), "math_funcs", (n,), (64,),
        {0: a, 1: b, 2: out, 3: np.int32(n)})
    with np.errstate(invalid="ignore"):
        expect = np.stack([np.sin(a), np.cos(a), np.exp(a), np.log(b), np.sqrt(b),
                           np.power(a, b), np.abs(a), np.floor(a), 1 / np.sqrt(b), np.tanh(a),
                           np.exp2(a), a * b + 1, np.minimum(a, b), np.maximum(a, b)], axis=1)
    np.testing.assert_allclose(out, expect, rtol=2e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("variant", ["cuda19-O2", "cuda14-O2"])
def test_fast_math(variant: str) -> None:
    n = 300
    x, out = f32(n, lo=-3, hi=3), np.zeros(n, np.float32)
    run(air(f"{variant}/fast_math.ll"), "fast_math", (320,), (64,), {0: x, 1: out, 2: np.int32(n)})
    e = np.exp(x) / (1 + np.exp(x))
    np.testing.assert_allclose(out, np.sqrt(np.abs(x)) * e + (x * x + np.floor(x)), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("variant", CUDA)
def test_struct_param(variant: str) -> None:
    n = 200
    params = np.array([(1.5, 7, -0.25)], dtype=[("scale", "<f4"), ("offset", "<i4"),
                                                 ("bias", "<f4")])
    x, out = f32(n), np.zeros(n, np.float32)
    run(air(f"{variant}/struct_param.ll"), "struct_param", (256,), (64,),
        {0: x, 1: out, 2: params, 3: np.int32(n)})
    j = (np.arange(n) + 7) % n
    np.testing.assert_allclose(out, x[j] * np.float32(1.5) - np.float32(0.25), rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("variant", CUDA)
def test_vector_types_float4(variant: str) -> None:
    n = 100
    a, b, c = f32(n, 4), f32(n, 4), np.zeros((n, 4), np.float32)
    k = np.array([2.0, -0.5], np.float32)
    run(air(f"{variant}/vector_types.ll"), "vector_types", (128,), (32,),
        {0: a, 1: b, 2: c, 3: k, 4: np.int32(n)})
    r = a * k[0] + b * k[1]
    r[:, 3] = a[:, 0] + b[:, 3]
    np.testing.assert_allclose(c, r[:, ::-1], rtol=1e-6)


@pytest.mark.parametrize("variant", CUDA)
def test_local_array_private_memory(variant: str) -> None:
    n = 96
    idx, x, out = i32(n, lo=0, hi=1000), f32(n * 16), np.zeros(n, np.float32)
    run(air(f"{variant}/local_array.ll"), "local_array", (128,), (32,),
        {0: idx, 1: x, 2: out, 3: np.int32(n)})
    buf = x.reshape(n, 16) * np.arange(16, dtype=np.float32)
    buf[np.arange(n), idx & 15] += 1
    np.testing.assert_allclose(out, buf[np.arange(n), idx[(np.arange(n) + 1) % n] & 15])


@pytest.mark.parametrize("variant", ["cuda19-O2", "cuda19-O0"])
def test_stencil_1d_halo(variant: str) -> None:
    n = 1000
    x, out = i32(1024), np.zeros(1024, np.int32)
    run(air(f"{variant}/stencil_1d.ll"), "stencil_1d", (1024,), (128,),
        {0: x, 1: out, 2: np.int32(n)})
    padded = np.concatenate([np.zeros(3, np.int64), x[:n], np.zeros(3, np.int64)])
    expect = sum(padded[k:k + n] for k in range(7))
    np.testing.assert_array_equal(out[:n], expect)


def test_constant_memory_taps() -> None:
    n = 300
    x, out = f32(n), np.zeros(n, np.float32)
    processed = np.zeros(1, np.int32)  # the __device__ counter is buffer 3
    run(air("cuda19-O2/constant_mem.ll"), "conv5", (320,), (64,),
        {0: x, 1: out, 2: np.int32(n), 3: processed})
    assert processed[0] == n - 4
    taps = np.array([0.1, 0.2, 0.4, 0.2, 0.1], np.float32)
    expect = np.zeros(n, np.float32)
    expect[2:n - 2] = sum(taps[k] * x[k:n - 4 + k] for k in range(5))
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["cuda19-O2", "cuda19-O0"])
def test_device_helper_two_kernels(variant: str) -> None:
    lib = air(f"{variant}/device_helper.ll", "metallib")  # both kernels in one metallib
    n = 200
    a, b, out = f32(n), f32(n), np.zeros(n, np.float32)
    run(lib, "blend", (256,), (64,), {0: a, 1: b, 2: out, 3: np.float32(0.25), 4: np.int32(n)})
    np.testing.assert_allclose(out, a + (b - a) * np.float32(0.25), rtol=1e-6, atol=1e-7)
    img = f32(5, 8)
    expect = img + (np.float32(0) - img) * np.float32(0.75)
    run(lib, "blend_rows", (40,), (8,), {0: img, 1: np.int32(8), 2: np.float32(0.75)})
    np.testing.assert_allclose(img, expect, atol=1e-6)


def test_mandelbrot() -> None:
    w, h, iters = 96, 64, 64
    out = np.zeros((h, w), np.int32)
    run(air("cuda19-O2/mandelbrot.ll"), "mandelbrot", (w, h), (16, 8),
        {0: out, 1: np.int32(w), 2: np.int32(h), 3: np.int32(iters)})
    py, px = np.mgrid[0:h, 0:w]
    cx = np.float32(-2) + np.float32(3) * px.astype(np.float32) / np.float32(w)
    cy = np.float32(-1.5) + np.float32(3) * py.astype(np.float32) / np.float32(h)
    x, y = np.zeros_like(cx), np.zeros_like(cy)
    it = np.zeros((h, w), np.int32)
    for _ in range(iters):
        live = x * x + y * y <= 4
        xt = x * x - y * y + cx
        y = np.where(live, 2 * x * y + cy, y)
        x = np.where(live, xt, x)
        it += live
    # fused multiply-adds (allowed by the input's `contract`) may move a few escape times
    assert np.mean(out == it) > 0.99
    assert np.abs(out - it).max() <= iters


@pytest.mark.parametrize("variant", CUDA)
def test_dynamic_shared_threadgroup_memory_length(variant: str) -> None:
    n = 256
    x, out = f32(n), np.zeros(n, np.float32)
    run(air(f"{variant}/dynamic_shared.ll"), "dynamic_shared", (n,), (128,),
        {0: x, 1: out, 2: np.int32(n)}, threadgroup_memory={0: 512})
    np.testing.assert_allclose(out, x.reshape(2, 128)[:, ::-1].reshape(-1) * 2)


# ---------------------------------------------------------------- OpenCL


@pytest.mark.parametrize("name", ["vadd.ll", "vadd-O0.ll"])
def test_opencl_vadd_partial_threadgroup(name: str) -> None:
    n = 1000
    a, b, c = f32(n), f32(n), np.zeros(n, np.float32)
    run(air(f"opencl19/{name}"), "vadd", (n,), (256,), {0: a, 1: b, 2: c, 3: np.int32(n)})
    np.testing.assert_array_equal(c, a + b)


def test_opencl_matrix_2d() -> None:
    width, height, pitch = 50, 30, 64
    a, b, c = f32(height, pitch), f32(height, pitch), np.zeros((height, pitch), np.float32)
    run(air("opencl19/matrix_2d.ll"), "matrix_add_2d", (width, height), (16, 8),
        {0: a, 1: b, 2: c, 3: np.int32(width), 4: np.int32(height), 5: np.int32(pitch)})
    expect = np.zeros_like(c)
    expect[:, :width] = a[:, :width] + b[:, :width]
    np.testing.assert_array_equal(c, expect)


@pytest.mark.parametrize("name", ["reduce_local.ll", "reduce_local-O0.ll"])
def test_opencl_reduce_local(name: str) -> None:
    n = 500
    x, partial = f32(512), np.zeros(4, np.float32)
    run(air(f"opencl19/{name}"), "reduce_local", (512,), (128,),
        {0: x, 1: partial, 2: np.int32(n)})
    expect = [x[k * 128:min(n, (k + 1) * 128)].sum() for k in range(4)]
    np.testing.assert_allclose(partial, expect, rtol=1e-5, atol=1e-5)


def test_opencl_local_param_threadgroup_buffer() -> None:
    n, lsz = 256, 64
    x, out = f32(n), np.zeros(n, np.float32)
    weights = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    cfg = np.array([(0.5, 3)], dtype=[("scale", "<f4"), ("shift", "<i4")])
    run(air("opencl19/local_param.ll"), "local_param", (n,), (lsz,),
        {0: x, 1: out, 2: weights, 3: cfg}, threadgroup_memory={0: lsz * 4})
    lid = np.arange(n) % lsz
    j = (np.arange(n) // lsz) * lsz + (lid + 3) % lsz
    np.testing.assert_allclose(out, x[j] * weights[lid & 3] * np.float32(0.5), rtol=1e-6)


def test_opencl_atomics() -> None:
    threads = 64
    g = np.array([0, 10, 100, 0, 1000, 0, 0], np.int32)
    ug = np.array([3], np.uint32)
    a2 = np.array([0], np.int32)
    out = np.zeros(threads, np.int32)
    run(air("opencl19/atomics.ll"), "atomics", (threads,), (threads,),
        {0: g, 1: ug, 2: a2, 3: out})
    lid = np.arange(threads)
    assert g[0] == lid.sum() and g[1] == 10 + threads and g[2] == 100 - threads
    assert g[3] in lid and g[4] == 0 and g[5] in lid and ug[0] == threads - 1
    assert a2[0] == threads
    # threadgroup: l[0] = 64 adds, l[1] = 64 incs, l[2] = some lid, l[3] = OR of 1 << lid = -1
    assert g[6] - 64 - 64 + 1 in lid


def test_opencl_subgroups() -> None:
    n = 128
    x = f32(n)
    x[:32] = np.abs(x[:32]) + 0.1
    out, info = np.zeros(n, np.float32), np.zeros(16, np.uint32)
    run(air("opencl19/subgroups.ll"), "subgroups", (n,), (64,), {0: x, 1: out, 2: info})
    w = x.reshape(4, 32)
    expect = np.broadcast_to(w.sum(axis=1, keepdims=True) + w[:, :1], (4, 32))
    np.testing.assert_allclose(out.reshape(4, 32), expect, rtol=1e-5, atol=1e-6)
    local = info.reshape(4, 4)[:2]  # info[sub_group_id * 4 ...], ids 0 and 1 per group
    np.testing.assert_array_equal(local[:, 0], [32, 32])
    np.testing.assert_array_equal(local[:, 1], [2, 2])


def test_opencl_sizes_builtins() -> None:
    n = 96
    out = np.zeros((n, 9), np.uint32)
    run(air("opencl19/sizes.ll"), "sizes", (n,), (32,), {0: out})
    g = np.arange(n)
    expect = np.stack([np.full(n, 32), np.full(n, 3), np.full(n, n), g // 32, g % 32,
                       np.full(n, 3), np.zeros(n), np.full(n, 32), g], axis=1)
    np.testing.assert_array_equal(out, expect)


def test_opencl_dim_loop_2d() -> None:
    out = np.zeros(12 * 5, np.uint64)
    run(air("opencl19/dim_loop.ll"), "dim_loop", (12, 5), (4, 5), {0: out})
    np.testing.assert_array_equal(out, np.arange(60))


def test_opencl_vector_ops() -> None:
    n = 64
    a, b = f32(n * 4), f32(n * 4)
    c, ic, dots = np.zeros(n * 4, np.float32), np.zeros((n, 4), np.int32), np.zeros(n, np.float32)
    run(air("opencl19/vector_ops.ll"), "vector_ops", (n,), (32,),
        {0: a * 10, 1: b * 10, 2: c, 3: ic, 4: dots})
    x, y = (a * 10).reshape(n, 4), (b * 10).reshape(n, 4)
    np.testing.assert_allclose(c.reshape(n, 4), x * y + x[:, ::-1], rtol=1e-6, atol=1e-5)  # fma
    np.testing.assert_array_equal(ic, np.where(x > y, y, x).astype(np.int32))
    np.testing.assert_allclose(dots, (x * y).sum(axis=1) + x[:, 3], rtol=1e-5, atol=1e-5)


def test_opencl_math_builtins() -> None:
    n = 64
    x, out, v = f32(n, lo=-2, hi=2), np.zeros((n, 12), np.float32), f32(n, 4)
    v0 = v.copy()
    run(air("opencl19/math_builtins.ll"), "math_builtins", (n,), (32,), {0: x, 1: out, 2: v})
    ax = np.abs(x)
    expect = np.stack([np.sin(x), np.exp(x), np.sqrt(ax), ax ** 1.5, x * x + 1, x * 2 + 3,
                       np.clip(x, -1, 1), 1 / np.sqrt(ax + 1), np.sin(x), np.exp(x),
                       np.sqrt(ax), 1 / (x + 2)], axis=1)
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, np.cos(v0) + x[:, None], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ MLIR


def memref(array: np.ndarray, first: int) -> dict[int, object]:
    """A strided memref descriptor as consecutive bindings: alloc, aligned, offset, sizes,
    strides."""
    bind: dict[int, object] = {first: array, first + 1: array, first + 2: np.int64(0)}
    strides = [s // array.itemsize for s in array.strides]
    for k, size in enumerate(array.shape):
        bind[first + 3 + k] = np.int64(size)
        bind[first + 3 + array.ndim + k] = np.int64(strides[k])
    return bind


@pytest.mark.parametrize("target", MLIR)
def test_mlir_elementwise_add_descriptors(target: str) -> None:
    n = 300
    a, b, c = f32(n), f32(n), np.zeros(n, np.float32)
    run(air(f"{target}/elementwise_add.ll"), "vadd", (320,), (64,),
        {**memref(a, 0), **memref(b, 5), **memref(c, 10)})
    np.testing.assert_array_equal(c, a + b)


@pytest.mark.parametrize("target", MLIR)
def test_mlir_saxpy_scalar(target: str) -> None:
    n = 200
    x, y = f32(n), f32(n)
    expect = 1.5 * x + y + np.sqrt(np.exp(x))
    run(air(f"{target}/saxpy_scalar.ll"), "saxpy", (256,), (64,),
        {0: np.float32(1.5), 1: np.int64(n), **memref(x, 2), **memref(y, 7)})
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target", MLIR)
def test_mlir_matrix_2d(target: str) -> None:
    rows, cols = 20, 28
    src, out = f32(rows, cols), np.zeros((cols, rows), np.float32)
    run(air(f"{target}/matrix_2d.ll"), "scale_2d", (32, 24), (8, 8),
        {**memref(src, 0), **memref(out, 7)})
    np.testing.assert_array_equal(out, (src * 2).T)


@pytest.mark.parametrize("name", ["shared_reduce.ll", "shared_reduce_bare.ll"])
@pytest.mark.parametrize("target", MLIR)
def test_mlir_shared_reduce(target: str, name: str) -> None:
    x, out = f32(1024), np.zeros(4, np.float32)
    bind = {0: x, 1: out} if "bare" in name else {**memref(x, 0), **memref(out, 5)}
    run(air(f"{target}/{name}"), "block_sum", (1024,), (256,), bind)
    np.testing.assert_allclose(out, x.reshape(4, 256).sum(axis=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["shuffle_xor.ll", "shuffle_xor_bare.ll"])
@pytest.mark.parametrize("target", MLIR)
def test_mlir_shuffle_xor(target: str, name: str) -> None:
    x, out = f32(1024), np.zeros(1024, np.float32)
    bind = {0: x, 1: out} if "bare" in name else {**memref(x, 0), **memref(out, 5)}
    run(air(f"{target}/{name}"), "warp_allreduce", (1024,), (128,), bind)
    sums = np.repeat(x.reshape(32, 32).sum(axis=1), 32)
    np.testing.assert_allclose(out, sums, rtol=1e-5, atol=1e-5)


def test_mlir_warp_shuffle_up_down_idx() -> None:
    x, out = f32(1024), np.zeros(1024, np.float32)
    run(air("mlir-nvvm/warp_shuffle.ll"), "warp_sum", (1024,), (256,),
        {**memref(x, 0), **memref(out, 5)})
    w = x.reshape(32, 32)
    lane = np.arange(32)
    s1 = w + w[:, lane ^ 16]
    s2 = s1 + np.where(lane + 8 < 32, s1[:, np.minimum(lane + 8, 31)], 0)
    expect = s2[:, :1] + lane  # shuffle idx 0, then up by 1 (lane 0 keeps its value)
    np.testing.assert_allclose(out.reshape(32, 32), expect, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target", MLIR)
def test_mlir_global_shared_reverse(target: str) -> None:
    d = np.arange(256, dtype=np.int32)
    run(air(f"{target}/global_shared.ll"), "reverse64", (256,), (64,), memref(d, 0))
    np.testing.assert_array_equal(d, np.arange(256).reshape(4, 64)[:, ::-1].reshape(-1) + 4)
