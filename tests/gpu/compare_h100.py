#!/usr/bin/env python3
"""Compare the CPU runner with a real NVIDIA GPU (H100) on the CUDA and MLIR-NVVM fixtures.

Run by hand; CI has no GPU and pytest does not collect this file (no ``test_`` prefix).
Three steps (see ``tests/gpu/README.md``)::

    python3 tests/gpu/compare_h100.py prepare              # here: no GPU needed
    python3 .gpubundle/run_on_gpu.py                       # on the GPU machine, writes $OUT
    python3 tests/gpu/compare_h100.py compare --gpu-dir DIR  # here again: writes results/

``prepare`` builds, for every case below, seeded inputs, lowers the *original* fixture
to AIR with ``llvm_to_air`` and runs it on the CPU runner (the expected outputs), and
compiles the *original* fixture IR to PTX for ``sm_90`` with llvmlite's NVPTX target
(libdevice linked where the module calls ``__nv_*``). Everything goes into one bundle
folder, together with a copy of this file as ``run_on_gpu.py``.

``run_on_gpu.py`` needs only Python, numpy and ``libcuda.so.1``: it loads each PTX with
the CUDA driver API through ctypes, launches the kernel with the same inputs (CUDA's
parameter ABI: device pointers, by-value scalars and vectors, ``byval`` structs as bytes;
``__device__`` globals through ``cuModuleGetGlobal``), and writes every device buffer back.
Each buffer sits between guard bytes that are checked after the launch. Cases run in
worker processes, so a faulting kernel cannot spoil the ones after it.

``compare`` checks GPU outputs against the runner's and writes
``tests/gpu/results/h100_comparison.md`` and ``h100_comparison.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / "tests" / "fixtures"
DEFAULT_BUNDLE = REPO / ".gpubundle"
RESULTS = HERE / "results"
LIBDEVICE_CANDIDATES = [
    os.environ.get("LIBDEVICE", ""),
    "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc",
    *sorted(str(p) for p in Path("/usr/local").glob("cuda*/nvvm/libdevice/libdevice.10.bc")),
]
PRODUCERS = {
    "cuda19-O2": "CUDA clang-19 -O2",
    "cuda19-O0": "CUDA clang-19 -O0",
    "cuda14-O2": "CUDA clang-14 -O2 (typed ptrs)",
    "mlir-nvvm": "MLIR NVVM (mlir-translate-19)",
    "cuda-real-O2": "CUDA clang-19 -O2, real CUDA 12.4 headers + libdevice",
}
CUDA = ["cuda19-O2", "cuda19-O0", "cuda14-O2"]
GUARD = 256          # guard bytes before and after every device buffer
GUARD_BYTE = 0xA5
CASE_TIMEOUT_S = 40  # a case that makes no progress for this long is killed
TOTAL_BUDGET_S = 200  # the GPU step stops starting cases after this long

# ------------------------------------------------------------------ cases

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


SKIPPED = {
    "double_kernel": "fp64 (daxpy_sin): Apple GPUs have no double; the lowering rejects it "
                     "by design, so there is no runner result to compare",
}


def real_cuda_cases() -> list[Case]:
    """Kernels built against the real CUDA headers (cuda-real-O2): inlined libdevice,
    rounding-mode intrinsics, CUB-style collectives, PolyBench-style loops and WMMA tensor
    cores (simdgroup matrices on our side)."""
    v = "cuda-real-O2"
    exact = {"mode": "exact"}
    n = 256

    def h16(r: np.random.Generator, *shape: int) -> np.ndarray:
        return r.uniform(-1, 1, shape).astype(np.float16)

    def wide(r: np.random.Generator, count: int) -> np.ndarray:
        return (np.exp2(r.uniform(-10, 10, count)) * r.choice([-1, 1], count)).astype(
            np.float32)

    return [
        Case(v, "wmma_gemm.ll", "_Z20wmma_gemm_f32_kernelPK6__halfS1_Pfiii", (64, 3), (32, 1),
             lambda r: {0: h16(r, 32, 64), 1: h16(r, 48, 64), 2: np.zeros((32, 48), np.float32),
                        3: np.int32(32), 4: np.int32(48), 5: np.int32(64)},
             checks={2: close(1e-5, 1e-5, "tensor-core accumulation order")}),
        Case(v, "wmma_gemm.ll", "_Z20wmma_gemm_f16_kernelPK6__halfS1_S1_PS_i", (128,), (32,),
             lambda r: {0: h16(r, 32, 32), 1: h16(r, 32, 32), 2: h16(r, 32, 32),
                        3: np.zeros((32, 32), np.float16), 4: np.int32(32)},
             checks={3: close(1e-2, 1e-2, "f16 accumulator: where the sums are rounded")}),
        Case(v, "wmma_scaled.ll", "_Z18wmma_scaled_kernelPK6__halfS1_Pfffi", (32,), (32,),
             lambda r: {0: h16(r, 16, 16), 1: h16(r, 16, 16), 2: f32(r, 16, 16),
                        3: np.float32(1.5), 4: np.float32(-0.5), 5: np.int32(16)},
             checks={2: close(1e-5, 1e-5, "tensor-core accumulation order")}),
        Case(v, "nvvm_intrinsics.ll", "_Z19interval_add_kernelPKfS0_PfS1_S1_i", (n,), (64,),
             lambda r: {0: wide(r, n), 1: wide(r, n), 2: np.zeros(n, np.float32),
                        3: np.zeros(n, np.float32), 4: np.zeros(n, np.float32),
                        5: np.int32(n)}, checks={2: exact, 3: exact, 4: exact}),
        Case(v, "nvvm_intrinsics.ll", "_Z23interval_mul_div_kernelPKfS0_Pfi", (n,), (64,),
             lambda r: {0: wide(r, n), 1: wide(r, n), 2: np.zeros(6 * n, np.float32),
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
        Case(v, "nvvm_intrinsics.ll", "_Z17bit_tricks_kernelPKjS0_Pji", (n,), (64,),
             lambda r: {0: r.integers(1, 2**32, n, dtype=np.uint64).astype(np.uint32),
                        1: r.integers(1, 2**32, n, dtype=np.uint64).astype(np.uint32),
                        2: np.zeros(5 * n, np.uint32), 3: np.int32(n)}),
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
        Case(v, "polybench_style.ll", "_Z11gemm_kerneliiiffPKfS0_Pf", (40, 48), (8, 8),
             lambda r: {0: np.int32(48), 1: np.int32(40), 2: np.int32(32), 3: np.float32(1.5),
                        4: np.float32(1.2), 5: f32(r, 48, 32), 6: f32(r, 32, 40),
                        7: f32(r, 48, 40)}, checks={7: close(1e-5, 1e-5, "fma contraction")}),
        Case(v, "polybench_style.ll", "_Z13conv2d_kerneliiPKfPf", (40, 32), (8, 8),
             lambda r: {0: np.int32(32), 1: np.int32(40), 2: f32(r, 32, 40),
                        3: np.zeros((32, 40), np.float32)},
             checks={3: close(1e-5, 1e-6, "fma contraction")}),
        Case(v, "polybench_style.ll", "_Z23transpose_padded_kernelPKfPfii", (64, 24), (32, 8),
             lambda r: {0: f32(r, 96, 64), 1: np.zeros((64, 96), np.float32),
                        2: np.int32(64), 3: np.int32(96)}),
        Case(v, "polybench_style.ll", "_Z24saxpy_grid_stride_kernelifPKfPf", (1024,), (256,),
             lambda r: {0: np.int32(5000), 1: np.float32(2.0), 2: f32(r, 5000),
                        3: f32(r, 5000)}, checks={3: close(1e-6, 1e-7, "fma contraction")}),
    ]


def all_cases() -> list[Case]:
    return cuda_cases() + mlir_cases() + real_cuda_cases()


# ------------------------------------------------------------------ prepare (local)


def _libdevice() -> bytes:
    for p in LIBDEVICE_CANDIDATES:
        if p and Path(p).is_file():
            return Path(p).read_bytes()
    raise SystemExit("libdevice.10.bc not found: set LIBDEVICE=/path/to/libdevice.10.bc")


def _entry_name(module: Any, kernel: str) -> Any:
    for fn in module.functions:
        if fn.is_declaration:
            continue
        if fn.name == kernel or fn.name.startswith(f"_Z{len(kernel)}{kernel}"):
            return fn
    raise KeyError(f"kernel {kernel} not in module")


def compile_ptx(text: str, kernel: str) -> tuple[str, str, list[dict[str, Any]], str]:
    """The original IR to PTX for sm_90. Returns (ptx, entry, params, notes)."""
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    notes = []
    if "@llvm.exp.f32(" in text:  # no NVPTX lowering for fexp in LLVM 22 (fatal error)
        text = text.replace("@llvm.exp.f32(", "@__nv_fast_expf(")
        notes.append("llvm.exp.f32 -> __nv_fast_expf")
    module = llvm.parse_assembly(text)
    machine = llvm.Target.from_triple("nvptx64-nvidia-cuda").create_target_machine(
        cpu="sm_90", opt=2)
    libdevice = any(f.is_declaration and f.name.startswith("__nv_") for f in module.functions)
    if libdevice:
        lib = llvm.parse_bitcode(_libdevice())
        lib.triple, lib.data_layout = module.triple, module.data_layout
        module.link_in(lib)
        for fn in module.functions:
            if fn.name.startswith("__nv") and not fn.is_declaration:
                fn.linkage = "internal"
        notes.append("libdevice linked")
    # Drop what nothing uses: libdevice's other functions, and the unused `threadIdx`/...
    # declarations that clang -O0 leaves (ptxas would warn of unresolved externs).
    pm = llvm.create_new_module_pass_manager()
    pm.add_global_dead_code_eliminate_pass()
    pm.run(module, llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options()))
    module.verify()
    fn = _entry_name(module, kernel)
    data = llvm.create_target_data(module.data_layout)
    params = []
    for arg in fn.arguments:
        byval = any(a.startswith(b"byval") for a in arg.attributes)
        kind = "byval" if byval else ("pointer" if arg.type.is_pointer else "value")
        size = 0 if kind == "byval" else data.get_abi_size(arg.type)
        params.append({"kind": kind, "type": str(arg.type), "size": size})
    ptx = machine.emit_assembly(module)
    for param, ptx_size in zip(params, _ptx_param_sizes(ptx, fn.name), strict=True):
        param["ptx_bytes"] = ptx_size
    return ptx, fn.name, params, ", ".join(notes)


def _ptx_param_sizes(ptx: str, entry: str) -> list[int]:
    """Bytes of each ``.param`` of PTX entry ``entry`` (what cuLaunchKernel copies)."""
    head = ptx.split(f".entry {entry}(", 1)[1].split(")", 1)[0]
    sizes = []
    for decl in filter(None, (d.strip() for d in head.split(","))):
        array = re.search(r"\.b8\s+\S+\[(\d+)\]", decl)
        scalar = re.search(r"\.[busf](8|16|32|64)\b", decl)
        if array:
            sizes.append(int(array.group(1)))
        elif scalar:
            sizes.append(int(scalar.group(1)) // 8)
        else:
            raise ValueError(f"unknown PTX parameter {decl!r}")
    return sizes


def _ptxas_check(ptx: str) -> str:
    ptxas = shutil.which("ptxas") or next(
        (str(p) for p in sorted(Path("/usr/local").glob("cuda*/bin/ptxas"))), None)
    if not ptxas:
        return "ptxas not found"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"cmp_h100_{os.getpid()}.ptx"
    tmp.write_text(ptx)
    try:
        r = subprocess.run([ptxas, "-arch=sm_90", str(tmp), "-o", os.devnull],
                           capture_output=True, text=True, timeout=120)
    finally:
        tmp.unlink(missing_ok=True)
    return "ok" if r.returncode == 0 and not r.stderr.strip() else \
        f"rc={r.returncode} {r.stderr.strip()[:300]}"


def _dup(bindings: dict[int, Any]) -> dict[int, Any]:
    """Copy the bindings, keeping aliasing (MLIR alloc/aligned pointers share an array)."""
    memo: dict[int, Any] = {}
    out = {}
    for k, v in bindings.items():
        if isinstance(v, np.ndarray):
            out[k] = memo.setdefault(id(v), v.copy())
        else:
            out[k] = v
    return out


def prepare(bundle: Path, only: list[str]) -> None:
    from llvm_to_air.api import compile as lower_compile
    from llvm_to_air.runner import run

    if bundle.exists():
        shutil.rmtree(bundle)
    (bundle / "ptx").mkdir(parents=True)
    inputs: dict[str, np.ndarray] = {}
    expected: dict[str, np.ndarray] = {}
    manifest: dict[str, Any] = {"cases": [], "skipped": [], "failed_prepare": []}
    for case in all_cases():
        if only and not any(o in case.name for o in only):
            continue
        t0 = time.perf_counter()
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        bindings = case.make(rng)
        text = (FIXTURES / case.variant / case.file).read_text()
        entry_info: dict[str, Any] = {
            "name": case.name, "slug": case.slug, "variant": case.variant,
            "producer": PRODUCERS[case.variant], "fixture": f"{case.variant}/{case.file}",
            "kernel": case.kernel, "grid": list(case.grid), "threadgroup": list(case.threadgroup),
            "note": case.note}
        try:
            ptx, entry, params, ptx_notes = compile_ptx(text, case.kernel)
            ptxas = _ptxas_check(ptx)
            gpu_bindings = _dup(bindings)
            air = lower_compile(text, f"{case.variant}/{case.file}", emit="ll").output
            air = air.encode() if isinstance(air, str) else air  # a str would be a path
            run(air, case.kernel, case.grid, case.threadgroup, bindings,
                threadgroup_memory=dict(case.threadgroup_memory))
        except Exception as exc:  # a lowering/runner/PTX failure is a finding: record it
            manifest["failed_prepare"].append({**entry_info, "error": f"{type(exc).__name__}: "
                                               f"{str(exc)[:500]}"})
            print(f"FAILED {case.name}: {exc}", file=sys.stderr)
            continue
        n_bind = len(bindings) - len(case.globals)
        if n_bind != len(params):
            raise SystemExit(f"{case.name}: {len(params)} kernel parameters, {n_bind} bindings")
        # parameters of the original kernel, bound as CUDA would: bindings 0..n-1 in order
        keys: dict[int, str] = {}   # id(array) -> key of the device buffer
        launch_params: list[dict[str, Any]] = []
        compared: list[dict[str, Any]] = []
        for index, param in enumerate(params):
            value = gpu_bindings[index]
            if param["kind"] == "pointer":
                if param["ptx_bytes"] != 8:
                    raise SystemExit(f"{case.name}: PTX parameter {index} is not a pointer")
                if not isinstance(value, np.ndarray):
                    raise SystemExit(f"{case.name}: binding {index} must be an array")
                if id(value) not in keys:
                    key = f"{case.slug}__b{index}"
                    keys[id(value)] = key
                    inputs[key] = value
                    expected[key] = bindings[index]
                    compared.append({"key": key, "index": index,
                                     "check": case.checks.get(index, _default_check(value))})
                launch_params.append({"kind": "buffer", "key": keys[id(value)]})
            else:
                raw = np.asarray(value).tobytes()
                if len(raw) != param["ptx_bytes"] or (param["kind"] == "value"
                                                       and len(raw) != param["size"]):
                    raise SystemExit(f"{case.name}: binding {index} is {len(raw)} bytes, "
                                     f"parameter {param['type']} takes {param['size']} "
                                     f"(PTX .param: {param['ptx_bytes']})")
                launch_params.append({"kind": "bytes", "hex": raw.hex(), "type": param["type"]})
        global_params = []
        for index, gname in case.globals.items():
            key = f"{case.slug}__g{index}"
            inputs[key] = gpu_bindings[index]
            expected[key] = bindings[index]
            global_params.append({"name": gname, "key": key})
            compared.append({"key": key, "index": index,
                             "check": case.checks.get(index, _default_check(bindings[index]))})
        (bundle / "ptx" / f"{case.slug}.ptx").write_text(ptx)
        entry_info.update({
            "entry": entry, "ptx": f"ptx/{case.slug}.ptx", "ptx_notes": ptx_notes,
            "ptxas_sm_90": ptxas,
            "grid_dim": [g // t for g, t in zip(case.grid, case.threadgroup, strict=True)],
            "block_dim": list(case.threadgroup),
            "shared_bytes": sum(case.threadgroup_memory.values()),
            "params": launch_params, "globals": global_params, "compared": compared,
            "prepare_s": round(time.perf_counter() - t0, 2)})
        for g, t in zip(case.grid, case.threadgroup, strict=True):
            if g % t:
                raise SystemExit(f"{case.name}: grid {case.grid} not a multiple of the "
                                 f"threadgroup {case.threadgroup}")
        manifest["cases"].append(entry_info)
        print(f"prepared {case.name:45s} {entry_info['prepare_s']:6.2f}s ptxas:{ptxas}")
    for stem, why in SKIPPED.items():
        manifest["skipped"].append({"fixture": f"{{{','.join(CUDA)}}}/{stem}.ll", "why": why})
    np.savez_compressed(bundle / "inputs.npz", **inputs)
    np.savez_compressed(bundle / "expected.npz", **expected)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.copy(Path(__file__), bundle / "run_on_gpu.py")
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    print(f"bundle {bundle}: {len(manifest['cases'])} cases, "
          f"{len(manifest['failed_prepare'])} failed, {size / 2**20:.2f} MiB")


def _default_check(array: np.ndarray) -> Check:
    return dict(F32) if array.dtype.kind == "f" else dict(EXACT)


# ------------------------------------------------------------------ GPU (device machine)

STICKY = {700, 701, 702, 714, 715, 716, 717, 718, 719, 720, 999}


class CudaError(RuntimeError):
    def __init__(self, code: int, what: str, name: str, log: str = "") -> None:
        super().__init__(f"{what}: CUDA error {code} {name}{' ' + log if log else ''}")
        self.code = code


class Driver:
    """The few CUDA driver API calls we need, through ctypes."""

    def __init__(self) -> None:
        c = ctypes
        self.lib = lib = c.CDLL("libcuda.so.1")
        u64, sz, vp, ci, cu = c.c_uint64, c.c_size_t, c.c_void_p, c.c_int, c.c_uint
        sigs = {
            "cuInit": [cu], "cuDeviceGet": [c.POINTER(ci), ci],
            "cuDeviceGetName": [c.c_char_p, ci, ci], "cuDriverGetVersion": [c.POINTER(ci)],
            "cuDeviceGetAttribute": [c.POINTER(ci), ci, ci],
            "cuDevicePrimaryCtxRetain": [c.POINTER(vp), ci], "cuCtxSetCurrent": [vp],
            "cuModuleLoadDataEx": [c.POINTER(vp), c.c_char_p, cu, c.POINTER(ci),
                                   c.POINTER(vp)],
            "cuModuleGetFunction": [c.POINTER(vp), vp, c.c_char_p],
            "cuModuleGetGlobal_v2": [c.POINTER(u64), c.POINTER(sz), vp, c.c_char_p],
            "cuModuleUnload": [vp], "cuMemAlloc_v2": [c.POINTER(u64), sz],
            "cuMemFree_v2": [u64], "cuMemsetD8_v2": [u64, c.c_ubyte, sz],
            "cuMemcpyHtoD_v2": [u64, vp, sz], "cuMemcpyDtoH_v2": [vp, u64, sz],
            "cuLaunchKernel": [vp, cu, cu, cu, cu, cu, cu, cu, vp, c.POINTER(vp), c.POINTER(vp)],
            "cuCtxSynchronize": [], "cuGetErrorName": [ci, c.POINTER(c.c_char_p)],
            "cuFuncGetAttribute": [c.POINTER(ci), ci, vp],
        }
        for name, args in sigs.items():
            getattr(lib, name).argtypes = args
            getattr(lib, name).restype = ci
        self.check(lib.cuInit(0), "cuInit")
        self.dev = ci()
        self.check(lib.cuDeviceGet(c.byref(self.dev), 0), "cuDeviceGet")
        name = c.create_string_buffer(256)
        self.check(lib.cuDeviceGetName(name, 256, self.dev), "cuDeviceGetName")
        self.name = name.value.decode()
        ver = ci()
        self.check(lib.cuDriverGetVersion(c.byref(ver)), "cuDriverGetVersion")
        self.cuda_version = f"{ver.value // 1000}.{ver.value % 1000 // 10}"
        major, minor = ci(), ci()
        lib.cuDeviceGetAttribute(c.byref(major), 75, self.dev)  # COMPUTE_CAPABILITY_MAJOR
        lib.cuDeviceGetAttribute(c.byref(minor), 76, self.dev)
        self.cc = f"{major.value}.{minor.value}"
        self.ctx = vp()
        self.check(lib.cuDevicePrimaryCtxRetain(c.byref(self.ctx), self.dev), "ctx retain")
        self.check(lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    def check(self, code: int, what: str, log: str = "") -> None:
        if code:
            name = ctypes.c_char_p()
            self.lib.cuGetErrorName(code, ctypes.byref(name))
            raise CudaError(code, what, (name.value or b"?").decode(), log)

    def load(self, ptx: bytes) -> ctypes.c_void_p:
        c = ctypes
        err, info = c.create_string_buffer(8192), c.create_string_buffer(8192)
        opts = (c.c_int * 4)(5, 6, 3, 4)  # CU_JIT_{ERROR,INFO}_LOG_BUFFER(_SIZE_BYTES)
        vals = (c.c_void_p * 4)(c.cast(err, c.c_void_p), c.c_void_p(8192),
                                c.cast(info, c.c_void_p), c.c_void_p(8192))
        mod = c.c_void_p()
        code = self.lib.cuModuleLoadDataEx(c.byref(mod), ptx + b"\0", 4, opts, vals)
        self.check(code, "cuModuleLoadDataEx", err.value.decode(errors="replace"))
        return mod


def run_case(drv: Driver, bundle: Path, case: dict[str, Any], inputs: Any) -> dict[str, Any]:
    c, lib = ctypes, drv.lib
    mod = drv.load((bundle / case["ptx"]).read_bytes())
    allocs: list[int] = []
    out: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    try:
        fn = c.c_void_p()
        drv.check(lib.cuModuleGetFunction(c.byref(fn), mod, case["entry"].encode()),
                  "cuModuleGetFunction")
        regs = c.c_int()
        lib.cuFuncGetAttribute(c.byref(regs), 4, fn)  # CU_FUNC_ATTRIBUTE_NUM_REGS
        info["registers"] = regs.value
        device: dict[str, tuple[int, int]] = {}   # key -> (allocation, bytes)
        for p in case["params"]:
            if p["kind"] == "buffer" and p["key"] not in device:
                host = np.ascontiguousarray(inputs[p["key"]])
                ptr = c.c_uint64()
                total = host.nbytes + 2 * GUARD
                drv.check(lib.cuMemAlloc_v2(c.byref(ptr), total), "cuMemAlloc")
                allocs.append(ptr.value)
                drv.check(lib.cuMemsetD8_v2(ptr.value, GUARD_BYTE, total), "cuMemsetD8")
                drv.check(lib.cuMemcpyHtoD_v2(ptr.value + GUARD, host.ctypes.data, host.nbytes),
                          "cuMemcpyHtoD")
                device[p["key"]] = (ptr.value, host.nbytes)
        for g in case["globals"]:
            ptr, size = c.c_uint64(), c.c_size_t()
            drv.check(lib.cuModuleGetGlobal_v2(c.byref(ptr), c.byref(size), mod,
                                               g["name"].encode()), f"global {g['name']}")
            host = np.ascontiguousarray(inputs[g["key"]])
            if size.value != host.nbytes:
                raise RuntimeError(f"global {g['name']} is {size.value} bytes, "
                                   f"binding {host.nbytes}")
            drv.check(lib.cuMemcpyHtoD_v2(ptr.value, host.ctypes.data, host.nbytes), "HtoD")
            device[g["key"]] = (ptr.value - GUARD, host.nbytes)  # no guards around globals
        storage = []
        for p in case["params"]:
            if p["kind"] == "buffer":
                storage.append(c.c_uint64(device[p["key"]][0] + GUARD))
            else:
                raw = bytes.fromhex(p["hex"])
                storage.append(c.create_string_buffer(raw, max(len(raw), 8)))
        argv = (c.c_void_p * max(1, len(storage)))(
            *[c.cast(c.pointer(s), c.c_void_p) if isinstance(s, c.c_uint64)
              else c.cast(s, c.c_void_p) for s in storage])
        gx, gy, gz = (case["grid_dim"] + [1, 1])[:3]
        bx, by, bz = (case["block_dim"] + [1, 1])[:3]
        t0 = time.perf_counter()
        drv.check(lib.cuLaunchKernel(fn, gx, gy, gz, bx, by, bz, case["shared_bytes"], None,
                                     argv, None), "cuLaunchKernel")
        drv.check(lib.cuCtxSynchronize(), "cuCtxSynchronize")
        info["kernel_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        guards_ok = True
        for key, (ptr, nbytes) in device.items():
            ref = inputs[key]
            if key.split("__")[-1].startswith("g"):
                res = np.empty_like(ref)
                drv.check(lib.cuMemcpyDtoH_v2(res.ctypes.data, ptr + GUARD, nbytes), "DtoH")
            else:
                raw = np.empty(nbytes + 2 * GUARD, np.uint8)
                drv.check(lib.cuMemcpyDtoH_v2(raw.ctypes.data, ptr, raw.nbytes), "DtoH")
                guard = np.concatenate([raw[:GUARD], raw[GUARD + nbytes:]])
                guards_ok &= bool((guard == GUARD_BYTE).all())
                res = raw[GUARD:GUARD + nbytes].view(ref.dtype).reshape(ref.shape)
            out[key] = res
        info["guards_intact"] = guards_ok
        return {"ok": True, "info": info, "outputs": out}
    finally:
        for a in allocs:
            lib.cuMemFree_v2(a)
        lib.cuModuleUnload(mod)


def gpu_worker(bundle: Path, work: Path, start: int) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    inputs = np.load(bundle / "inputs.npz")
    drv = Driver()
    progress = (work / "progress.jsonl").open("a")

    def say(**kw: Any) -> None:
        progress.write(json.dumps(kw) + "\n")
        progress.flush()

    say(event="device", name=drv.name, cuda=drv.cuda_version, cc=drv.cc)
    for index in range(start, len(manifest["cases"])):
        case = manifest["cases"][index]
        say(event="start", index=index, name=case["name"])
        try:
            res = run_case(drv, bundle, case, inputs)
            np.savez(work / f"{case['slug']}.npz", **res["outputs"])
            say(event="done", index=index, name=case["name"], ok=True, **res["info"])
        except CudaError as exc:
            say(event="done", index=index, name=case["name"], ok=False, error=str(exc))
            if exc.code in STICKY:
                return 3  # context is dead: the parent starts a new worker
        except Exception as exc:
            say(event="done", index=index, name=case["name"], ok=False,
                error=f"{type(exc).__name__}: {exc}")
    return 0


def gpu_main(bundle: Path, out: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    n = len(manifest["cases"])
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu_work_{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    log: dict[str, Any] = {"cases": {}}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30)
        log["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except Exception as exc:
        log["nvidia_smi"] = f"unavailable: {exc}"
    print("nvidia-smi:", log["nvidia_smi"], flush=True)
    t_start = time.monotonic()
    index = 0
    seen = 0
    while index < n:
        if time.monotonic() - t_start > TOTAL_BUDGET_S:
            for k in range(index, n):
                log["cases"][manifest["cases"][k]["name"]] = {"ok": False, "error": "not run "
                                                              "(time budget)"}
            break
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "gpu-worker",
                                 "--bundle", str(bundle), "--work", str(work),
                                 "--start", str(index)])
        current, last = index, time.monotonic()
        while True:
            rc = proc.poll()
            lines = (work / "progress.jsonl").read_text().splitlines() \
                if (work / "progress.jsonl").exists() else []
            for line in lines[seen:]:
                ev = json.loads(line)
                last = time.monotonic()
                if ev["event"] == "device":
                    log["device"] = {k: ev[k] for k in ("name", "cuda", "cc")}
                elif ev["event"] == "start":
                    current = ev["index"]
                elif ev["event"] == "done":
                    log["cases"][ev["name"]] = {k: v for k, v in ev.items()
                                                if k not in ("event", "name", "index")}
                    print(f"{ev['name']:45s} {'ok' if ev['ok'] else 'ERROR ' + ev['error']}",
                          flush=True)
                    current = ev["index"] + 1
            seen = len(lines)
            if rc is not None:
                break
            if time.monotonic() - last > CASE_TIMEOUT_S:
                proc.kill()
                proc.wait()
                name = manifest["cases"][current]["name"]
                log["cases"][name] = {"ok": False, "error": f"timeout ({CASE_TIMEOUT_S}s)"}
                print(f"{name:45s} TIMEOUT", flush=True)
                current += 1
                break
            time.sleep(0.05)
        if rc not in (None, 0, 3) and current < n:
            name = manifest["cases"][current]["name"]
            if name not in log["cases"]:
                log["cases"][name] = {"ok": False, "error": f"worker exited {rc}"}
                current += 1
        if rc == 0:
            break
        index = current
    results: dict[str, np.ndarray] = {}
    for case in manifest["cases"]:
        f = work / f"{case['slug']}.npz"
        if f.exists():
            with np.load(f) as z:
                results.update({k: z[k] for k in z.files})
    np.savez_compressed(out / "gpu_results.npz", **results)
    log["wall_s"] = round(time.monotonic() - t_start, 2)
    (out / "gpu_log.json").write_text(json.dumps(log, indent=1))
    ok = sum(1 for v in log["cases"].values() if v.get("ok"))
    print(f"{ok}/{n} cases ran on {log.get('device')}, {log['wall_s']} s", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


# ------------------------------------------------------------------ compare (local)


def compare_arrays(gpu: np.ndarray, ref: np.ndarray, check: Check) -> dict[str, Any]:
    mode = check["mode"]
    res: dict[str, Any] = {"mode": mode, "elements": int(ref.size)}
    if check.get("why"):
        res["why"] = check["why"]
    if mode == "skip":
        res.update(elements=0, passed=True, max_abs=None, max_rel=None)
        return res
    if ref.dtype.names:  # structured: compare raw bytes
        gpu, ref = gpu.view(np.uint8), ref.view(np.uint8)
    g, r = gpu.reshape(-1), ref.reshape(-1)
    keep = np.ones(r.size, bool)
    for i in check.get("ignore", []):
        keep[i] = False
    res["elements"] = int(keep.sum())
    is_float = r.dtype.kind == "f"
    g64, r64 = g[keep].astype(np.float64), r[keep].astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(g64 - r64)
        both_nan = np.isnan(g64) & np.isnan(r64)
        diff[both_nan] = 0
        nonzero = r64 != 0  # relative difference where the runner's value is not zero
        rel = diff[nonzero] / np.abs(r64[nonzero])
    res["max_abs"] = float(np.nanmax(diff)) if diff.size else 0.0
    res["max_rel"] = float(np.nanmax(rel)) if rel.size else 0.0
    res["mismatches"] = int(np.count_nonzero(g64 != r64) - np.count_nonzero(both_nan))
    if mode == "exact":
        passed = res["mismatches"] == 0 and not np.isnan(diff).any()
    elif mode == "close":
        passed = bool(np.allclose(g64, r64, rtol=check["rtol"], atol=check["atol"],
                                  equal_nan=check.get("equal_nan", False)))
        res["tolerance"] = f"rtol {check['rtol']:g}, atol {check['atol']:g}"
    elif mode == "fraction":
        frac = float(np.mean(g64 == r64))
        res["fraction_equal"] = frac
        passed = frac >= check["min_equal"]
        res["tolerance"] = f">= {check['min_equal']:.0%} equal"
    else:
        raise ValueError(mode)
    if check.get("ignore") and ref.dtype.kind in "iu":
        # the order-dependent entries must still hold a valid thread id on both
        for i in check["ignore"]:
            passed &= bool(0 <= int(g[i]) < 1 << 16) and bool(0 <= int(r[i]) < 1 << 16)
    res["float"] = is_float
    res["passed"] = bool(passed)
    return res


def compare(bundle: Path, gpu_dir: Path, results: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    log = json.loads((gpu_dir / "gpu_log.json").read_text())
    gpu = np.load(gpu_dir / "gpu_results.npz")
    expected = np.load(bundle / "expected.npz")
    rows = []
    for case in manifest["cases"]:
        run_info = log["cases"].get(case["name"], {"ok": False, "error": "no result"})
        row: dict[str, Any] = {k: case[k] for k in ("name", "producer", "fixture", "kernel",
                                                    "entry", "grid", "threadgroup", "note",
                                                    "ptx_notes", "ptxas_sm_90")}
        row["gpu"] = run_info
        row["buffers"] = []
        if run_info.get("ok"):
            for comp in case["compared"]:
                r = compare_arrays(gpu[comp["key"]], expected[comp["key"]], comp["check"])
                r["binding"] = comp["index"]
                row["buffers"].append(r)
            row["passed"] = all(b["passed"] for b in row["buffers"]) and \
                run_info.get("guards_intact", True)
        else:
            row["passed"] = False
        rows.append(row)
    results.mkdir(parents=True, exist_ok=True)
    summary = {"device": log.get("device"), "nvidia_smi": log.get("nvidia_smi"),
               "gpu_wall_s": log.get("wall_s"), "skipped": manifest["skipped"],
               "failed_prepare": manifest["failed_prepare"], "cases": rows}
    (results / "h100_comparison.json").write_text(json.dumps(summary, indent=1) + "\n")
    shutil.copyfile(gpu_dir / "gpu_log.json", results / "h100_gpu_log.json")  # the GPU's own log
    (results / "h100_comparison.md").write_text(_markdown(summary))
    passed = sum(r["passed"] for r in rows)
    print(f"{passed}/{len(rows)} cases pass; wrote {results}")
    return 0 if passed == len(rows) else 1


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.2g}"


def _markdown(s: dict[str, Any]) -> str:
    dev = s.get("device") or {}
    lines = [
        "# CPU runner vs NVIDIA H100: the original IR as PTX on the GPU, our AIR on the runner",
        "",
        "Generated by `tests/gpu/compare_h100.py compare`; do not edit by hand.",
        "",
        f"- GPU: **{dev.get('name', '?')}** (compute capability {dev.get('cc', '?')}), "
        f"CUDA driver API {dev.get('cuda', '?')}; nvidia-smi: `{s.get('nvidia_smi')}`",
        f"- GPU step wall time: {s.get('gpu_wall_s')} s for {len(s['cases'])} cases",
        "- PTX: llvmlite 0.50 (LLVM 22) NVPTX backend, `sm_90`, from the fixture as it is "
        "(libdevice 10 linked where it calls `__nv_*`); loaded with `cuModuleLoadDataEx`.",
        "- Expected: `llvm_to_air` lowering to AIR, run on the CPU runner with the same "
        "inputs (fixed seeds). Every device buffer of the kernel is compared (inputs too).",
        "- Check: `exact` = bit-equal; `close` = `numpy.allclose` with the tolerance shown; "
        "`fraction` = share of equal elements. Max rel = max |gpu-cpu| / |cpu| over"
        " elements where cpu != 0 (float buffers only).",
        "",
        "| case | producer | grid / threadgroup (threads) | elements | max abs | max rel "
        "| check | result |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    notes = []
    for r in s["cases"]:
        grid = "x".join(map(str, r["grid"])) + " / " + "x".join(map(str, r["threadgroup"]))
        if not r["gpu"].get("ok"):
            lines.append(f"| `{r['name']}` | {r['producer']} | {grid} | - | - | - | - | "
                         f"**FAIL** (GPU: {r['gpu'].get('error', '?')[:80]}) |")
            continue
        bufs = [b for b in r["buffers"] if b["mode"] != "skip"]
        elements = sum(b["elements"] for b in bufs)
        max_abs = max((b["max_abs"] for b in bufs), default=0.0)
        max_rel = max((b["max_rel"] for b in bufs if b.get("float")), default=None)
        modes = sorted({b.get("tolerance", b["mode"]) for b in bufs})
        result = "PASS" if r["passed"] else "**FAIL**"
        if not r["gpu"].get("guards_intact", True):
            result += " (guard bytes overwritten)"
        lines.append(f"| `{r['name']}` | {r['producer']} | {grid} | {elements} | "
                     f"{_fmt(max_abs)} | {_fmt(max_rel) if max_rel is not None else '(int)'} | "
                     f"{'; '.join(modes)} | {result} |")
        why = sorted({f"binding {b['binding']}: {b['why']}" for b in r["buffers"]
                      if b.get("why")})
        extra = [x for x in (r.get("note"),) if x]
        if why or extra:
            notes.append(f"- `{r['name']}`: " + "; ".join(extra + why))
    passed = sum(r["passed"] for r in s["cases"])
    inexact = [r["name"] for r in s["cases"] if r["gpu"].get("ok") and any(
        b.get("mismatches") for b in r["buffers"] if b["mode"] != "skip")]
    lines += ["", f"**{passed} of {len(s['cases'])} cases pass**; "
              f"{len(s['cases']) - len(inexact)} are bit-identical in every compared buffer. "
              "Not bit-identical (within the tolerance shown): "
              + ", ".join(f"`{n}`" for n in inexact) + ".", ""]
    if notes:
        lines += ["Per-case notes (tolerances and what is not compared):", "", *notes, ""]
    if s["skipped"] or s["failed_prepare"]:
        lines += ["Not compared:", ""]
        for k in s["skipped"]:
            lines.append(f"- `{k['fixture']}`: {k['why']}")
        for k in s["failed_prepare"]:
            lines.append(f"- `{k['name']}`: failed before the GPU step: {k['error'][:200]}")
        lines.append("")
    lines += [
        "Reproduce (from the repository root; the GPU step needs only numpy and "
        "`libcuda.so.1`):",
        "",
        "```sh",
        "python3 tests/gpu/compare_h100.py prepare            # writes .gpubundle/ (no GPU)",
        "# on the GPU machine, with .gpubundle/ copied along:",
        "OUT=gpu-out python3 .gpubundle/run_on_gpu.py          # writes gpu-out/gpu_results.npz",
        "python3 tests/gpu/compare_h100.py compare --gpu-dir gpu-out",
        "```",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if Path(__file__).name == "run_on_gpu.py" and (not argv or argv[0].startswith("-")):
        argv = ["gpu", *argv]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build the bundle here (no GPU)")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument("--only", nargs="*", default=[], help="substrings of case names")
    p = sub.add_parser("gpu", help="run the bundle on the GPU (needs libcuda.so.1)")
    p.add_argument("--bundle", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    p = sub.add_parser("gpu-worker")
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--start", type=int, default=0)
    p = sub.add_parser("compare", help="compare the GPU outputs with the runner's")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument("--gpu-dir", type=Path, required=True)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        sys.path.insert(0, str(REPO))
        prepare(args.bundle, args.only)
        return 0
    if args.cmd == "gpu":
        return gpu_main(args.bundle, args.out)
    if args.cmd == "gpu-worker":
        return gpu_worker(args.bundle, args.work, args.start)
    return compare(args.bundle, args.gpu_dir, args.results)


if __name__ == "__main__":
    sys.exit(main())
