"""The cases of the H100 comparison: fixture, kernel, launch shape, seeded inputs, checks.

A ``Case`` names a fixture kernel, the grid and threadgroup (threads, as Metal's
``dispatchThreads``; the GPU step launches ``grid / threadgroup`` blocks), the bindings
(``make`` builds them from a generator seeded by the case's name) and how each device
buffer is compared (default: integers exact, floats ``F32``). Bindings ``0..n-1`` are the
kernel's parameters in order; ``globals`` bind CUDA ``__device__`` variables by name.
Every tolerance other than the default carries its reason (``Check["why"]``), which the
report prints. Only numpy is needed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PRODUCERS = {
    "cuda19-O2": "CUDA clang-19 -O2",
    "cuda19-O0": "CUDA clang-19 -O0",
    "cuda14-O2": "CUDA clang-14 -O2 (typed ptrs)",
    "mlir-nvvm": "MLIR NVVM (mlir-translate-19)",
    "cuda-real-O2": "CUDA clang-19 -O2, real CUDA 12.4 headers + libdevice",
    "cuda-real-O0": "CUDA clang-19 -O0, real CUDA 12.4 headers + libdevice",
}
CUDA = ["cuda19-O2", "cuda19-O0", "cuda14-O2"]


Check = dict[str, Any]
EXACT: Check = {"mode": "exact"}
F32: Check = {"mode": "close", "rtol": 1e-5, "atol": 1e-6}


def close(rtol: float, atol: float, why: str = "") -> Check:
    return {"mode": "close", "rtol": rtol, "atol": atol, "why": why}


@dataclass
class Case:
    variant: str               # fixture folder
    file: str                  # fixture file name
    kernel: str                # AIR kernel name (the runner's)
    grid: tuple[int, ...]      # threads per dimension (Metal dispatchThreads)
    threadgroup: tuple[int, ...]
    make: Callable[[np.random.Generator], dict[int, Any]]
    checks: dict[int, Check] = field(default_factory=dict)  # default: exact ints, F32 floats
    threadgroup_memory: dict[int, int] = field(default_factory=dict)
    globals: dict[int, str] = field(default_factory=dict)   # binding -> CUDA __device__ global
    note: str = ""
    lower_alone: bool = False  # lower only this kernel (the module's others are refused)

    @property
    def name(self) -> str:
        stem = self.file.removesuffix(".ll")
        return f"{self.variant}/{stem}" + ("" if stem == self.kernel else f":{self.kernel}")

    @property
    def slug(self) -> str:
        return self.name.replace("/", "__").replace(":", "--").replace("-", "_")


def f32(rng: np.random.Generator, *shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return rng.uniform(lo, hi, shape).astype(np.float32)


def i32(rng: np.random.Generator, *shape: int, lo: int = -100, hi: int = 100) -> np.ndarray:
    return rng.integers(lo, hi, shape).astype(np.int32)


def memref(array: np.ndarray, first: int) -> dict[int, Any]:
    """MLIR's strided memref descriptor, one binding per field (alloc and aligned alias)."""
    bind: dict[int, Any] = {first: array, first + 1: array, first + 2: np.int64(0)}
    strides = [s // array.itemsize for s in array.strides]
    for k, size in enumerate(array.shape):
        bind[first + 3 + k] = np.int64(size)
        bind[first + 3 + array.ndim + k] = np.int64(strides[k])
    return bind


def _warp_vote_input(rng: np.random.Generator) -> np.ndarray:
    v = i32(rng, 256, lo=-3, hi=10)
    v[32:64] = np.abs(v[32:64]) + 1
    v[64:96] = np.abs(v[64:96])
    return v


def cuda_cases() -> list[Case]:
    cases: list[Case] = []
    for v in CUDA:
        cases += [
            Case(v, "vadd.ll", "vadd", (1024,), (256,), lambda r: {
                0: f32(r, 1000), 1: f32(r, 1000), 2: np.zeros(1000, np.float32),
                3: np.int32(1000)}),
            Case(v, "saxpy.ll", "saxpy", (1024,), (128,), lambda r: {
                0: np.int32(777), 1: np.float32(2.5), 2: f32(r, 777), 3: f32(r, 777)}),
            Case(v, "scale_int.ll", "scale_int", (256,), (64,), lambda r: {
                0: i32(r, 1000), 1: np.int32(3), 2: np.uint32(1000)}),
            Case(v, "grid3d.ll", "grid3d", (24, 12, 6), (8, 4, 2), lambda r: {
                0: np.full((6, 12, 20), -1, np.float32), 1: np.int32(20), 2: np.int32(12),
                3: np.int32(6)}),
            Case(v, "matmul_naive.ll", "matmul_naive", (48, 48), (16, 16), lambda r: {
                0: f32(r, 33, 17), 1: f32(r, 17, 40), 2: np.zeros((33, 40), np.float32),
                3: np.int32(33), 4: np.int32(40), 5: np.int32(17)},
                checks={2: close(1e-5, 1e-5, "fma contraction")}),
            Case(v, "matmul_tiled.ll", "matmul_tiled", (64, 64), (16, 16), lambda r: {
                0: f32(r, 64, 64), 1: f32(r, 64, 64), 2: np.zeros((64, 64), np.float32),
                3: np.int32(64)}, checks={2: close(1e-5, 1e-5, "fma contraction")}),
            Case(v, "transpose_tiled.ll", "transpose", (96, 64), (32, 32), lambda r: {
                0: np.zeros((70, 45), np.float32), 1: f32(r, 45, 70), 2: np.int32(70),
                3: np.int32(45)}),
            Case(v, "reduce_shared.ll", "reduce_sum", (1024,), (256,), lambda r: {
                0: f32(r, 1024), 1: np.zeros(4, np.float32), 2: np.int32(1000)}),
            Case(v, "reverse_shared.ll", "reverse_block", (512,), (64,), lambda r: {
                0: i32(r, 512, lo=-1000, hi=1000)}),
            Case(v, "prefix_scan.ll", "prefix_scan", (512,), (256,), lambda r: {
                0: f32(r, 512), 1: np.zeros(512, np.float32)}),
            Case(v, "dot_product.ll", "dot_product", (1024,), (256,), lambda r: {
                0: f32(r, 5000), 1: f32(r, 5000), 2: np.zeros(1, np.float32),
                3: np.int32(5000)},
                checks={2: close(1e-5, 1e-5, "float atomicAdd of 4 block sums: order differs")}),
            Case(v, "histogram.ll", "histogram", (1024,), (256,), lambda r: {
                0: r.integers(0, 256, 10000).astype(np.uint8), 1: np.zeros(64, np.uint32),
                2: np.int32(10000)}),
            Case(v, "atomics_all.ll", "atomics_all", (64,), (64,), lambda r: {
                0: np.array([5, 1000, 7, 50, -3, -1, 0, 0x5A, 0], np.int32),
                1: np.array([1, 1000, 0, 0, 0xFF], np.uint32),
                2: np.array([0.0, -5.0], np.float32),
                3: np.zeros(64, np.int32)},
                checks={0: {"mode": "exact", "ignore": [2, 8],
                            "why": "ia[2] atomicExch and ia[8] atomicCAS keep whichever thread "
                                   "came last/first: only checked to be a thread id"},
                        3: {"mode": "skip", "why": "old values returned by the atomics depend "
                                                   "on the order threads ran in"}}),
            Case(v, "warp_reduce.ll", "warp_reduce", (256,), (128,), lambda r: {
                0: f32(r, 256), 1: i32(r, 256), 2: np.zeros(8, np.float32),
                3: np.zeros(8, np.int32)}),
            Case(v, "warp_vote.ll", "warp_vote", (256,), (64,), lambda r: {
                0: _warp_vote_input(r), 1: np.zeros(8, np.uint32), 2: np.zeros(8, np.int32),
                3: np.zeros(256, np.int32)}),
            Case(v, "softmax_row.ll", "softmax_row", (6 * 32,), (32,), lambda r: {
                0: f32(r, 6, 100, lo=-4, hi=4), 1: np.zeros((6, 100), np.float32),
                2: np.int32(100)}, checks={1: close(1e-5, 1e-7, "libdevice expf vs host expf")}),
            Case(v, "math_funcs.ll", "math_funcs", (256,), (64,), lambda r: {
                0: f32(r, 256, lo=-2, hi=2), 1: f32(r, 256, lo=0.1, hi=3),
                2: np.zeros((256, 14), np.float32), 3: np.int32(256)},
                checks={2: {**close(4e-6, 1e-6, "libdevice (<=2 ulp) vs host libm"),
                            "equal_nan": True}}),
            Case(v, "fast_math.ll", "fast_math", (320,), (64,), lambda r: {
                0: f32(r, 300, lo=-3, hi=3), 1: np.zeros(300, np.float32), 2: np.int32(300)},
                checks={1: close(1e-5, 1e-5, "fast-math: approximate exp (ex2.approx) on GPU")},
                note="llvm.exp.f32 (fast) mapped to libdevice __nv_fast_expf: LLVM 22's NVPTX "
                     "has no lowering for it"),
            Case(v, "struct_param.ll", "struct_param", (256,), (64,), lambda r: {
                0: f32(r, 200), 1: np.zeros(200, np.float32),
                2: np.array([(1.5, 7, -0.25)], dtype=[("scale", "<f4"), ("offset", "<i4"),
                                                      ("bias", "<f4")]),
                3: np.int32(200)}),
            Case(v, "vector_types.ll", "vector_types", (128,), (32,), lambda r: {
                0: f32(r, 100, 4), 1: f32(r, 100, 4), 2: np.zeros((100, 4), np.float32),
                3: np.array([2.0, -0.5], np.float32), 4: np.int32(100)}),
            Case(v, "local_array.ll", "local_array", (128,), (32,), lambda r: {
                0: i32(r, 96, lo=0, hi=1000), 1: f32(r, 96 * 16), 2: np.zeros(96, np.float32),
                3: np.int32(96)}),
            Case(v, "stencil_1d.ll", "stencil_1d", (1024,), (128,), lambda r: {
                0: i32(r, 1024), 1: np.zeros(1024, np.int32), 2: np.int32(1000)}),
            Case(v, "constant_mem.ll", "conv5", (320,), (64,), lambda r: {
                0: f32(r, 300), 1: np.zeros(300, np.float32), 2: np.int32(300),
                3: np.zeros(1, np.int32)}, globals={3: "processed"}),
            Case(v, "device_helper.ll", "blend", (256,), (64,), lambda r: {
                0: f32(r, 200), 1: f32(r, 200), 2: np.zeros(200, np.float32),
                3: np.float32(0.25), 4: np.int32(200)}),
            Case(v, "device_helper.ll", "blend_rows", (40,), (8,), lambda r: {
                0: f32(r, 5, 8), 1: np.int32(8), 2: np.float32(0.75)}),
            Case(v, "mandelbrot.ll", "mandelbrot", (256, 192), (16, 8), lambda r: {
                0: np.zeros((192, 256), np.int32), 1: np.int32(256), 2: np.int32(192),
                3: np.int32(128)},
                checks={0: {"mode": "fraction", "min_equal": 0.99,
                            "why": "fma contraction may move a few escape times"}}),
            Case(v, "dynamic_shared.ll", "dynamic_shared", (256,), (128,), lambda r: {
                0: f32(r, 256), 1: np.zeros(256, np.float32), 2: np.int32(256)},
                threadgroup_memory={0: 512}),
        ]
    return cases


def mlir_cases() -> list[Case]:
    v = "mlir-nvvm"

    def two(r: np.random.Generator, n_out: int, bare: bool) -> dict[int, Any]:
        x, out = f32(r, 1024), np.zeros(n_out, np.float32)
        return {0: x, 1: out} if bare else {**memref(x, 0), **memref(out, 5)}

    return [
        Case(v, "elementwise_add.ll", "vadd", (320,), (64,), lambda r: {
            **memref(f32(r, 300), 0), **memref(f32(r, 300), 5),
            **memref(np.zeros(300, np.float32), 10)}),
        Case(v, "saxpy_scalar.ll", "saxpy", (256,), (64,), lambda r: {
            0: np.float32(1.5), 1: np.int64(200), **memref(f32(r, 200), 2),
            **memref(f32(r, 200), 7)}, checks={7: close(1e-5, 1e-6, "libdevice expf/sqrtf")}),
        Case(v, "matrix_2d.ll", "scale_2d", (32, 24), (8, 8), lambda r: {
            **memref(f32(r, 20, 28), 0), **memref(np.zeros((28, 20), np.float32), 7)}),
        Case(v, "shared_reduce.ll", "block_sum", (1024,), (256,), lambda r: two(r, 4, False)),
        Case(v, "shared_reduce_bare.ll", "block_sum", (1024,), (256,),
             lambda r: two(r, 4, True)),
        Case(v, "shuffle_xor.ll", "warp_allreduce", (1024,), (128,),
             lambda r: two(r, 1024, False)),
        Case(v, "shuffle_xor_bare.ll", "warp_allreduce", (1024,), (128,),
             lambda r: two(r, 1024, True)),
        Case(v, "warp_shuffle.ll", "warp_sum", (1024,), (256,), lambda r: two(r, 1024, False)),
        Case(v, "global_shared.ll", "reverse64", (256,), (64,), lambda r: memref(
            i32(r, 256, lo=-1000, hi=1000), 0)),
    ]


# fixtures not compared, and why (the report lists them)
SKIPPED = [
    {"fixture": "{cuda19-O2,cuda19-O0,cuda14-O2}/double_kernel.ll",
     "why": "fp64 (daxpy_sin): Apple GPUs have no double; the lowering rejects it by design, "
            "so there is no runner result to compare"},
    {"fixture": "cuda-real-{O2,O0}/wmma_int8.ll",
     "why": "integer WMMA (s8 inputs, s32 accumulator): no integer simdgroup matrix, the "
            "lowering refuses it with the reason"},
    {"fixture": "cuda-real-{O2,O0}/device_io.ll:traced_kernel",
     "why": "device printf: refused by the lowering (checked_scale, the assert kernel of the "
            "same file, is compared)"},
    {"fixture": "cuda-real-{O2,O0}/struct_args.ll:{multi_tensor_axpy,byte_offsets,"
                "strided_fill}",
     "why": "raw device pointers inside by-value structs: the GPU step would have to write "
            "its own allocations' addresses into the struct bytes (consume_range and "
            "countdown, of the same file, are compared)"},
]
REAL = ["cuda-real-O2", "cuda-real-O0"]


def h16(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.uniform(-1, 1, shape).astype(np.float16)


def bf16_bits(r: np.random.Generator, *shape: int) -> np.ndarray:
    """bf16 values in [-1, 1] as their bits (the top half of a float32)."""
    return (f32(r, *shape).view(np.uint32) >> 16).astype(np.uint16)


def _wide(r: np.random.Generator, count: int) -> np.ndarray:
    return (np.exp2(r.uniform(-10, 10, count)) * r.choice([-1, 1], count)).astype(np.float32)


# Tensor-core tolerances. Products of f16, bf16 and tf32 inputs are exact in f32 (at most
# 11 + 11 significant bits), so the two sides differ only in how the K-long f32 sums are
# rounded: the tensor core adds a k16 (k8 for tf32) step at a time with its own alignment
# and rounding, our simdgroup_matrix_8x8 steps round after every 8 products. Each side's
# error is bounded by about K * 2^-24 * sum|a b| (2e-5 worst case for K = 64 and inputs in
# [-1, 1], where sum|a b| ~ K / 4); random signs make it ~sqrt(K) times smaller, and the
# f32 GEMM measured 3.3e-6 on the H100 (K = 64). rtol = atol = 1e-5 keeps a 3x margin over
# that while a real error (a wrong element, a rounded instead of truncated tf32 input:
# ~1e-3) is 100x beyond it.
TENSOR_F32 = close(1e-5, 1e-5, "f32 accumulation: tensor-core k16 steps vs our 8x8 "
                               "simdgroup steps round the K-sum at different points "
                               "(products are exact)")
# A half accumulator rounds to f16 (2^-11 relative) at every step: our 8x8 steps round
# K/8 times, the tensor core once per k16 step; with |d| up to ~4 an f16 ulp is 3.9e-3
# (the f16 GEMM measured exactly that); 1e-2 + 1e-2|d| allows ~3 ulps of drift.
TENSOR_F16 = close(1e-2, 1e-2, "f16 accumulator: both sides round the sums to f16, at "
                               "different points (about 1 f16 ulp = 3.9e-3 at |d| ~ 4)")
FMA = close(1e-5, 1e-5, "fma contraction (NVPTX fuses contract-flagged mul+add) and "
                        "summation order over <= 64 terms")
# One f16 ulp relative: __hfma is fused (one rounding) on the GPU; if our side rounds the
# f32 result of a*x+y to f16 the two can differ by double rounding, at most 1 ulp.
HALF_ULP = close(2**-10, 6e-8, "one f16 ulp: fused f16 fma vs f32-then-f16 rounding")
LIBDEVICE = {**close(4e-6, 1e-6, "libdevice code inlined by clang (<= 2 ulp, rcp.approx "
                                 "in erff/tanhf) vs the runner's math; absolute floor "
                                 "where a sum of two functions cancels"),
             "equal_nan": True}


def _tile_gemm(v: str, kernel: str, m: int, n: int, k: int, tile: tuple[int, int],
               operand: Callable[..., np.ndarray], check: Check) -> Case:
    """wmma_shapes' tile_gemm: C[m x n] f32 = A (m x k, row-major) B (given column-major,
    n x k), one warp (one block of 32) per tile of C."""
    tiles = (m // tile[0]) * (n // tile[1])
    return Case(v, "wmma_shapes.ll", kernel, (tiles * 32,), (32,), lambda r: {
        0: operand(r, m, k), 1: operand(r, n, k), 2: np.zeros((m, n), np.float32),
        3: np.int32(n), 4: np.int32(k)}, checks={2: check})


def wmma_cases(v: str) -> list[Case]:
    """WMMA tensor-core GEMMs (f16, bf16 and tf32 inputs; m16n16k16, m32n8k16, m8n32k16 and
    m16n16k8 tiles); our side runs them on simdgroup_matrix 8x8 tiles."""
    return [
        Case(v, "wmma_gemm.ll", "_Z20wmma_gemm_f32_kernelPK6__halfS1_Pfiii", (64, 3), (32, 1),
             lambda r: {0: h16(r, 32, 64), 1: h16(r, 48, 64), 2: np.zeros((32, 48), np.float32),
                        3: np.int32(32), 4: np.int32(48), 5: np.int32(64)},
             checks={2: TENSOR_F32}),
        Case(v, "wmma_gemm.ll", "_Z20wmma_gemm_f16_kernelPK6__halfS1_S1_PS_i", (128,), (32,),
             lambda r: {0: h16(r, 32, 32), 1: h16(r, 32, 32), 2: h16(r, 32, 32),
                        3: np.zeros((32, 32), np.float16), 4: np.int32(32)},
             checks={3: TENSOR_F16}),
        Case(v, "wmma_scaled.ll", "_Z18wmma_scaled_kernelPK6__halfS1_Pfffi", (32,), (32,),
             lambda r: {0: h16(r, 16, 16), 1: h16(r, 16, 16), 2: f32(r, 16, 16),
                        3: np.float32(1.5), 4: np.float32(-0.5), 5: np.int32(16)},
             checks={2: TENSOR_F32}),
        _tile_gemm(v, "_Z20wmma_m32n8k16_kernelPK6__halfS1_Pfii", 64, 64, 48, (32, 8), h16,
                   TENSOR_F32),
        _tile_gemm(v, "_Z20wmma_m8n32k16_kernelPK6__halfS1_Pfii", 64, 64, 48, (8, 32), h16,
                   TENSOR_F32),
        _tile_gemm(v, "_Z16wmma_bf16_kernelPK13__nv_bfloat16S1_Pfii", 32, 32, 64, (16, 16),
                   bf16_bits, TENSOR_F32),
        _tile_gemm(v, "_Z25wmma_bf16_m32n8k16_kernelPK13__nv_bfloat16S1_Pfii", 32, 32, 64,
                   (32, 8), bf16_bits, TENSOR_F32),
        _tile_gemm(v, "_Z16wmma_tf32_kernelPKfS0_Pfii", 32, 32, 32, (16, 16), f32,
                   {**TENSOR_F32, "why": TENSOR_F32["why"] + "; tf32: both sides use the top "
                    "19 bits of each f32 input (ours clears the low 13): a GPU that rounded "
                    "them instead would differ by ~1e-3 and fail"}),
        Case(v, "wmma_shapes.ll", "_Z27wmma_m8n32k16_f16acc_kernelPK6__halfS1_S1_PS_ii",
             (4 * 32,), (32,), lambda r: {
                 0: h16(r, 16, 32), 1: h16(r, 32, 64), 2: h16(r, 16, 64),
                 3: np.zeros((16, 64), np.float16), 4: np.int32(64), 5: np.int32(32)},
             checks={3: TENSOR_F16}),
        Case(v, "wmma_shapes.ll", "_Z25wmma_m32n8k16_gemm_kernelPK6__halfS1_PKfPfiiff",
             (4 * 32,), (32,), lambda r: {
                 0: h16(r, 64, 32), 1: h16(r, 16, 32), 2: f32(r, 16, 64),
                 3: np.zeros((16, 64), np.float32), 4: np.int32(16), 5: np.int32(32),
                 6: np.float32(2.0), 7: np.float32(-0.5)},
             checks={3: {**TENSOR_F32, "why": TENSOR_F32["why"] + "; the alpha/beta epilogue "
                         "may be fused into an fma"}}),
    ]


def nvvm_cases(v: str) -> list[Case]:
    """Rounding-mode intrinsics (bit for bit), __byte_perm, bit tricks, __activemask."""
    exact, n = dict(EXACT), 256
    return [
        Case(v, "nvvm_intrinsics.ll", "_Z19interval_add_kernelPKfS0_PfS1_S1_i", (n,), (64,),
             lambda r: {0: _wide(r, n), 1: _wide(r, n), 2: np.zeros(n, np.float32),
                        3: np.zeros(n, np.float32), 4: np.zeros(n, np.float32),
                        5: np.int32(n)}, checks={2: exact, 3: exact, 4: exact}),
        Case(v, "nvvm_intrinsics.ll", "_Z23interval_mul_div_kernelPKfS0_Pfi", (n,), (64,),
             lambda r: {0: _wide(r, n), 1: _wide(r, n), 2: np.zeros(6 * n, np.float32),
                        3: np.int32(n)}, checks={2: exact}),
        Case(v, "nvvm_intrinsics.ll", "_Z15quantize_kernelPKfPiPjPfi", (n,), (64,),
             lambda r: {0: f32(r, n, lo=-300, hi=300), 1: np.zeros(4 * n, np.int32),
                        2: np.zeros(n, np.uint32), 3: np.zeros(2 * n, np.float32),
                        4: np.int32(n)}, checks={3: exact}),
        Case(v, "nvvm_intrinsics.ll", "_Z15saturate_kernelPKfPfi", (n,), (64,),
             lambda r: {0: f32(r, n, lo=-2, hi=2), 1: np.zeros(n, np.float32), 2: np.int32(n)},
             checks={1: exact}),
        Case(v, "nvvm_intrinsics.ll", "_Z16byte_perm_kernelPKjS0_S0_Pji", (n,), (64,),
             lambda r: {k: r.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
                        for k in range(3)} | {3: np.zeros(2 * n, np.uint32), 4: np.int32(n)}),
        Case(v, "nvvm_intrinsics.ll", "_Z19active_lanes_kernelPKiPjPi", (128,), (128,),
             lambda r: {0: r.integers(0, 2, 128).astype(np.int32),
                        1: np.zeros(128, np.uint32), 2: np.zeros(128, np.int32)},
             note="__activemask() inside `if (flags[i])`: CUDA only promises the lanes "
                  "converged at that point; the runner answers the lanes that took the "
                  "branch, which the H100 should too for this straight-line branch"),
        Case(v, "nvvm_intrinsics.ll", "_Z17bit_tricks_kernelPKjS0_Pji", (n,), (64,),
             lambda r: {0: r.integers(1, 2**32, n, dtype=np.uint64).astype(np.uint32),
                        1: r.integers(1, 2**32, n, dtype=np.uint64).astype(np.uint32),
                        2: np.zeros(5 * n, np.uint32), 3: np.int32(n)}),
    ]


def collective_cases(v: str) -> list[Case]:
    """CUB-style block reductions and scans, cooperative groups (tiles, shuffles, votes)."""
    def cg_vote_input(r: np.random.Generator) -> np.ndarray:
        signs = i32(r, 256, lo=-3, hi=3)
        signs[64:96], signs[96:128] = 1, -1  # a warp that votes all yes, one all no
        return signs

    return [
        Case(v, "block_reduce.ll", "_Z16block_sum_kernelPKfPfi", (1024,), (256,),
             lambda r: {0: f32(r, 1000), 1: np.zeros(4, np.float32), 2: np.int32(1000)},
             checks={1: close(1e-5, 1e-5, "summation order")}),
        Case(v, "block_reduce.ll", "_Z16block_max_kernelPKiPii", (1024,), (256,),
             lambda r: {0: i32(r, 1000, lo=-10**6, hi=10**6),
                        1: np.array([-2**31], np.int32), 2: np.int32(1000)}),
        Case(v, "block_reduce.ll", "_Z27block_inclusive_scan_kernelPKiPi", (512,), (256,),
             lambda r: {0: i32(r, 512), 1: np.zeros(512, np.int32)}),
        Case(v, "block_reduce.ll", "_Z17warp_count_kernelPKffPi", (256,), (128,),
             lambda r: {0: f32(r, 256), 1: np.float32(0.25), 2: np.zeros(8, np.int32)}),
        Case(v, "coop_groups.ll", "_Z18cg_tile_sum_kernelPKfPf", (512,), (128,),
             lambda r: {0: f32(r, 512), 1: np.zeros(1, np.float32)},
             checks={1: close(1e-5, 1e-5, "float atomicAdd of 16 warp sums: order differs "
                                          "(|sum| <~ 20, 16 roundings of 2^-24 relative)")}),
        Case(v, "coop_groups.ll", "_Z17cg_reverse_kernelPi", (512,), (256,),
             lambda r: {0: i32(r, 512, lo=-1000, hi=1000)}),
        Case(v, "coop_groups.ll", "_Z20cg_tile16_max_kernelPKiPi", (256,), (64,),
             lambda r: {0: i32(r, 256, lo=-1000, hi=1000), 1: np.zeros(256, np.int32)}),
        Case(v, "coop_groups.ll", "_Z14cg_vote_kernelPKiPiS1_Pj", (256,), (128,),
             lambda r: {0: cg_vote_input(r), 1: np.zeros(8, np.int32),
                        2: np.zeros(8, np.int32), 3: np.zeros(8, np.uint32)}),
    ]


def polybench_cases(v: str) -> list[Case]:
    """PolyBench-style loops (GEMM, ATAX, GESUMMV, 2D convolution, Jacobi), a padded
    transpose and a grid-stride SAXPY."""
    nx, ny, n = 64, 48, 40
    return [
        Case(v, "polybench_style.ll", "_Z11gemm_kerneliiiffPKfS0_Pf", (40, 48), (8, 8),
             lambda r: {0: np.int32(48), 1: np.int32(40), 2: np.int32(32), 3: np.float32(1.5),
                        4: np.float32(1.2), 5: f32(r, 48, 32), 6: f32(r, 32, 40),
                        7: f32(r, 48, 40)}, checks={7: close(1e-5, 1e-5, "fma contraction")}),
        Case(v, "polybench_style.ll", "_Z12atax_kernel1iiPKfS0_Pf", (nx,), (32,),
             lambda r: {0: np.int32(nx), 1: np.int32(ny), 2: f32(r, nx, ny), 3: f32(r, ny),
                        4: np.zeros(nx, np.float32)}, checks={4: FMA}),
        Case(v, "polybench_style.ll", "_Z12atax_kernel2iiPKfPfS0_", (64,), (32,),
             lambda r: {0: np.int32(nx), 1: np.int32(ny), 2: f32(r, nx, ny),
                        3: np.zeros(ny, np.float32), 4: f32(r, nx)}, checks={3: FMA}),
        Case(v, "polybench_style.ll", "_Z14gesummv_kerneliffPKfS0_S0_PfS1_", (64,), (32,),
             lambda r: {0: np.int32(n), 1: np.float32(0.5), 2: np.float32(2.0),
                        3: f32(r, n, n), 4: f32(r, n, n), 5: f32(r, n),
                        6: np.zeros(n, np.float32), 7: np.zeros(n, np.float32)},
             checks={6: FMA, 7: FMA}),
        Case(v, "polybench_style.ll", "_Z13conv2d_kerneliiPKfPf", (40, 32), (8, 8),
             lambda r: {0: np.int32(32), 1: np.int32(40), 2: f32(r, 32, 40),
                        3: np.zeros((32, 40), np.float32)},
             checks={3: close(1e-5, 1e-6, "fma contraction")}),
        Case(v, "polybench_style.ll", "_Z15jacobi2d_kerneliPKfPf", (36, 36), (6, 6),
             lambda r: {0: np.int32(36), 1: f32(r, 36, 36), 2: np.zeros((36, 36), np.float32)}),
        Case(v, "polybench_style.ll", "_Z23transpose_padded_kernelPKfPfii", (64, 24), (32, 8),
             lambda r: {0: f32(r, 96, 64), 1: np.zeros((64, 96), np.float32),
                        2: np.int32(64), 3: np.int32(96)}),
        Case(v, "polybench_style.ll", "_Z24saxpy_grid_stride_kernelifPKfPf", (1024,), (256,),
             lambda r: {0: np.int32(5000), 1: np.float32(2.0), 2: f32(r, 5000),
                        3: f32(r, 5000)}, checks={3: close(1e-6, 1e-7, "fma contraction")}),
    ]


def header_feature_cases(v: str) -> list[Case]:
    """CUDA header features: __half arithmetic (inline PTX), libdevice math inlined by
    clang, string constants, by-value structs, a device assert."""
    n = 256
    range_args = np.dtype([("num_items", "<i4"), ("offset", "<i4"), ("scale", "<f4")])
    return [
        Case(v, "half_arith.ll", "_Z12haxpy_kerneli6__halfPKS_PS_", (128,), (64,),
             lambda r: {0: np.int32(128), 1: np.float16(2.0), 2: h16(r, 128),
                        3: h16(r, 128)}, checks={3: HALF_ULP}),
        Case(v, "half_arith.ll", "_Z20h2_scale_bias_kerneliPK7__half2PS_", (128,), (64,),
             lambda r: {0: np.int32(128), 1: h16(r, 128, 2), 2: h16(r, 128, 2)},
             checks={2: HALF_ULP}),
        Case(v, "half_arith.ll", "_Z20half_to_float_kerneliPK6__halfPf", (128,), (64,),
             lambda r: {0: np.int32(128), 1: h16(r, 128), 2: np.zeros(128, np.float32)}),
        Case(v, "math_real.ll", "_Z15softplus_kernelPKfPfi", (n,), (64,), lambda r: {
            0: f32(r, n, lo=-4, hi=4), 1: np.zeros(n, np.float32), 2: np.int32(n)},
            checks={1: LIBDEVICE}),
        Case(v, "math_real.ll", "_Z11gelu_kernelPKfPfi", (n,), (64,), lambda r: {
            0: f32(r, n, lo=-4, hi=4), 1: np.zeros(n, np.float32), 2: np.int32(n)},
            checks={1: LIBDEVICE}),
        Case(v, "math_real.ll", "_Z22rounding_family_kernelPKfPfi", (n,), (64,), lambda r: {
            0: f32(r, n, lo=-4, hi=4), 1: np.zeros(4 * n, np.float32), 2: np.int32(n)},
            checks={1: dict(EXACT)}),
        Case(v, "math_real.ll", "_Z12norm3_kernelPK6float3PfPS_i", (n,), (64,), lambda r: {
            0: f32(r, n, 3, lo=-2, hi=2), 1: np.zeros(n, np.float32),
            2: np.zeros((n, 3), np.float32), 3: np.int32(n)},
            checks={1: LIBDEVICE, 2: LIBDEVICE}),
        Case(v, "math_real.ll", "_Z21log_exp_family_kernelPKfPfi", (n,), (64,), lambda r: {
            0: f32(r, n, lo=-4, hi=4), 1: np.zeros(3 * n, np.float32), 2: np.int32(n)},
            checks={1: LIBDEVICE}),
        Case(v, "const_strings.ll", "_Z17hex_encode_kernelPKhPci", (128,), (64,), lambda r: {
            0: r.integers(0, 256, 100).astype(np.uint8), 1: np.zeros(200, np.uint8),
            2: np.int32(100)}),
        Case(v, "const_strings.ll", "_Z21base64_symbols_kernelPKiPci", (64,), (32,),
             lambda r: {0: i32(r, 64, lo=0, hi=1000), 1: np.zeros(64, np.uint8),
                        2: np.int32(64)}),
        Case(v, "struct_args.ll", "_Z20consume_range_kernelPKfPf9RangeArgs", (256,), (64,),
             lambda r: {0: f32(r, 1000), 1: np.zeros(1000, np.float32),
                        2: np.array([(1000, 0, 0.5)], range_args)}),
        Case(v, "struct_args.ll", "_Z16countdown_kernelPiii", (128,), (64,),
             lambda r: {0: np.zeros(128, np.int32), 1: np.int32(100), 2: np.int32(7)}),
        Case(v, "device_io.ll", "_Z20checked_scale_kernelPfif", (n,), (64,),
             lambda r: {0: f32(r, n), 1: np.int32(n), 2: np.float32(2.5)}, lower_alone=True,
             note="device assert (__assertfail on the GPU, a warning and no check on ours); "
                  "lowered alone, as the module's printf kernel is refused"),
    ]


def u32(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)


def votes_matches_cases(v: str) -> list[Case]:
    """Block votes (__syncthreads_count/_and/_or), warp match, scoped and CAS-loop atomics."""
    def flags_input(r: np.random.Generator) -> np.ndarray:
        x = r.uniform(0.1, 1, (4, 128)).astype(np.float32)
        x[1, 17], x[2, 100], x[3, 3], x[3, 4] = -0.5, np.inf, -1.0, np.nan
        return x

    def relax_input(r: np.random.Generator) -> np.ndarray:
        x = r.uniform(0, 300, 512).astype(np.float32)
        x[256] = -5.0
        return x

    def uniform_input(r: np.random.Generator) -> np.ndarray:
        x = i32(r, 256, lo=0, hi=3)
        x[0:32], x[64:96] = 5, 7
        return x

    return [
        Case(v, "block_votes.ll", "_Z11count_abovePKffiPi", (1024,), (256,),
             lambda r: {0: f32(r, 1000), 1: np.float32(0.25), 2: np.int32(1000),
                        3: np.zeros(4, np.int32)}),
        Case(v, "block_votes.ll", "_Z18relax_until_stablePfPi", (512,), (256,),
             lambda r: {0: relax_input(r), 1: np.zeros(2, np.int32)}),
        Case(v, "block_votes.ll", "_Z11block_flagsPKfPi", (512,), (128,),
             lambda r: {0: flags_input(r), 1: np.zeros(4, np.int32)}),
        Case(v, "float_atomic_cas.ll", "_Z9block_maxPK6float4iPfS2_", (1024,), (128,),
             lambda r: {0: f32(r, 4000, lo=-5, hi=3), 1: np.int32(1000),
                        2: np.array([-np.inf], np.float32), 3: np.zeros(1, np.float32)}),
        Case(v, "warp_match.ll", "_Z20aggregated_histogramPKiiPjS1_", (1024,), (128,),
             lambda r: {0: i32(r, 1000, lo=0, hi=16), 1: np.int32(1000),
                        2: np.zeros(16, np.uint32), 3: np.zeros(1, np.uint32)}),
        Case(v, "warp_match.ll", "_Z12warp_uniformPKiPjPi", (256,), (64,),
             lambda r: {0: uniform_input(r), 1: np.zeros(16, np.uint32),
                        2: np.zeros(8, np.int32)}),
        Case(v, "warp_match.ll", "_Z15scoped_countersPKiPiPjS1_", (512,), (128,),
             lambda r: {0: i32(r, 512, lo=-10**9, hi=10**9),
                        1: np.array([-2**31] * 4 + [2**31 - 1] * 4, np.int32),
                        2: np.zeros(8, np.uint32), 3: np.zeros(5, np.int32)},
             checks={3: {"mode": "skip", "why": "which thread wins the CAS is a race; the "
                                                 "test checks the flags are set"}}),
    ]


def int_ptx_cases(v: str) -> list[Case]:
    """Integer inline PTX: carry chains, 64x64->128 products, CUB-style bit helpers."""
    n = 256
    return [
        Case(v, "int_ptx.ll", "_Z13add128_kernelPKjS0_Pji", (n,), (64,),
             lambda r: {0: u32(r, 4 * n), 1: u32(r, 4 * n), 2: np.zeros(4 * n, np.uint32),
                        3: np.int32(n)}),
        Case(v, "int_ptx.ll", "_Z12mul64_kernelPKyS0_PjPyi", (n,), (64,),
             lambda r: {0: r.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + 1,
                        1: r.integers(0, 2**63, n, dtype=np.uint64),
                        2: np.zeros(4 * n, np.uint32), 3: np.zeros(n, np.uint64),
                        4: np.int32(n)}),
        Case(v, "int_ptx.ll", "_Z11bits_kernelPKjS0_S0_Pji", (n,), (64,),
             lambda r: {0: u32(r, n), 1: u32(r, n), 2: u32(r, n),
                        3: np.zeros(8 * n, np.uint32), 4: np.int32(n)}),
    ]


def trig_cases(v: str) -> list[Case]:
    """sincosf/powf inlined from libdevice: huge angles take the Payne-Hanek reduction
    (inline PTX carry chain, 2/pi table, the fp64 chain computed exactly in integers)."""
    n = 256

    def inputs(r: np.random.Generator) -> dict[int, Any]:
        angles = f32(r, n, lo=-3.0, hi=3.0)
        angles[:64] = (r.uniform(-1, 1, 64) * 10.0 ** r.integers(4, 39, 64)).astype(np.float32)
        return {0: f32(r, n, lo=0.1, hi=3.0), 1: angles, 2: np.zeros(n, np.float32),
                3: np.zeros(n, np.float32), 4: np.int32(n)}

    return [Case(v, "math_sincos.ll", "_Z12polar_kernelPKfS0_PfS1_i", (n,), (64,), inputs)]


def real_cuda_cases() -> list[Case]:
    """Kernels built against the real CUDA 12.4 headers, at -O2 and -O0."""
    cases: list[Case] = []
    for v in REAL:
        cases += (wmma_cases(v) + nvvm_cases(v) + collective_cases(v) + polybench_cases(v)
                  + header_feature_cases(v) + votes_matches_cases(v) + trig_cases(v))
    return cases


def all_cases() -> list[Case]:
    return (cuda_cases() + mlir_cases() + real_cuda_cases()
            + [c for v in CUDA for c in int_ptx_cases(v)])


def default_check(array: np.ndarray) -> Check:
    return dict(F32) if array.dtype.kind == "f" else dict(EXACT)
