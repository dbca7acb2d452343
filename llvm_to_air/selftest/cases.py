"""The self-test corpus: one entry per kernel run, with a numpy reference.

Each fixture in ``data/`` is a copy of one of the project's own fixtures in
``tests/fixtures`` (compiler output of kernels the project wrote; a test keeps
the copies identical). Adding a case is adding a :class:`Case` to :data:`CASES`
(and the fixture to ``data/``): its inputs from a seeded generator, and a
reference computed with numpy from a copy of those inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Buffers = dict[int, Any]

PRODUCERS = {
    "cuda19-O2": "CUDA clang-19 -O2",
    "cuda19-O0": "CUDA clang-19 -O0",
    "cuda14-O2": "CUDA clang-14 -O2",
    "opencl19": "OpenCL clang-19",
    "mlir-nvvm": "MLIR NVVM (mlir-19)",
    "mlir-rocdl": "MLIR ROCDL (mlir-19)",
    "apple-twins": "Apple twin (clang-19)",
    "triton": "Triton",
}


@dataclass(frozen=True)
class Case:
    """One kernel run and what it must compute."""

    fixture: str                                  # data/<folder>/<file>.ll
    kernel: str
    grid: tuple[int, ...]                         # threads per dimension (dispatchThreads)
    threadgroup: tuple[int, ...]
    inputs: Callable[[np.random.Generator], Buffers]
    reference: Callable[[Buffers], dict[int, np.ndarray]]  # expected outputs by index
    rtol: float = 0.0                             # 0 and 0: exact
    atol: float = 0.0
    threadgroup_memory: dict[int, int] = field(default_factory=dict)
    what: str = ""

    @property
    def name(self) -> str:
        stem = self.fixture.rsplit("/", 1)[-1].removesuffix(".ll")
        return f"{self.fixture.split('/')[0]}/{stem}" + \
            ("" if stem == self.kernel else f":{self.kernel}")

    @property
    def producer(self) -> str:
        folder = self.fixture.split("/")[0]
        return PRODUCERS.get(folder, folder)


def f32(r: np.random.Generator, *shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return r.uniform(lo, hi, shape).astype(np.float32)


def i32(r: np.random.Generator, *shape: int, lo: int = -100, hi: int = 100) -> np.ndarray:
    return r.integers(lo, hi, shape).astype(np.int32)


def memref(array: np.ndarray, first: int) -> Buffers:
    """MLIR's strided memref descriptor as consecutive bindings: allocated and aligned
    pointer, offset, sizes, strides."""
    bind: Buffers = {first: array, first + 1: array, first + 2: np.int64(0)}
    strides = [s // array.itemsize for s in array.strides]
    for k, size in enumerate(array.shape):
        bind[first + 3 + k] = np.int64(size)
        bind[first + 3 + array.ndim + k] = np.int64(strides[k])
    return bind


def _vadd_inputs(n: int) -> Callable[[np.random.Generator], Buffers]:
    return lambda r: {0: f32(r, n), 1: f32(r, n), 2: np.zeros(n, np.float32), 3: np.int32(n)}


def _block_sums(x: np.ndarray, n: int, block: int) -> np.ndarray:
    groups = -(-len(x) // block)
    return np.array([x[k * block:min(n, (k + 1) * block)].sum(dtype=np.float64)
                     for k in range(groups)], np.float32)


def _subgroups_reference(b: Buffers) -> dict[int, np.ndarray]:
    w = b[0].reshape(4, 32)
    out = np.broadcast_to(w.sum(axis=1, keepdims=True) + w[:, :1], (4, 32)).reshape(-1)
    return {1: out.astype(np.float32)}


def _local_param_reference(b: Buffers) -> dict[int, np.ndarray]:
    n, lsz = len(b[0]), 64
    lid = np.arange(n) % lsz
    j = (np.arange(n) // lsz) * lsz + (lid + 3) % lsz
    return {1: b[0][j] * b[2][lid & 3] * np.float32(b[3]["scale"][0])}


def _silu(b: Buffers) -> dict[int, np.ndarray]:
    x1, x3 = b[0].astype(np.float32), b[1].astype(np.float32)
    return {2: (x3 * x1 / (1 + np.exp(-x1))).astype(np.float16)}


def _vec_add(b: Buffers) -> dict[int, np.ndarray]:
    c = b[2].copy()
    c[5] = b[0][5] + b[1][5]       # the kernel's thread id is the constant 5
    return {2: c}


_PARAMS = np.dtype([("scale", "<f4"), ("offset", "<i4"), ("bias", "<f4")])

def _softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Triton's calling convention: its arguments, then two scratch buffers; num_warps * 32
# threads per program; @global_smem is threadgroup memory 0 (docs/triton.md)
_TRITON_SCRATCH = {4: np.zeros(16, np.uint8), 5: np.zeros(16, np.uint8)}

CASES: list[Case] = [
    Case("triton/sm_80/vadd.ll", "vadd", (12 * 128,), (128,),
         lambda r: {0: f32(r, 3000), 1: f32(r, 3000), 2: np.zeros(3000, np.float32),
                    3: np.int32(3000), **_TRITON_SCRATCH},
         lambda b: {2: b[0] + b[1]}, what="Triton 3.9 (LLVM 24 text, inline PTX)"),
    Case("triton/sm_80/row_softmax.ll", "row_softmax", (6 * 128,), (128,),
         lambda r: {0: np.zeros((6, 100), np.float32), 1: f32(r, 6, 100), 2: np.int32(100),
                    3: np.int32(100), 4: np.int32(100), 5: np.zeros(16, np.uint8),
                    6: np.zeros(16, np.uint8)},
         lambda b: {0: _softmax_rows(b[1])}, rtol=2e-6, atol=1e-8,
         threadgroup_memory={0: 16}, what="Triton: warp shuffles, dynamic shared memory"),
    *(Case(f"{v}/vadd.ll", "vadd", (1024,), (256,), _vadd_inputs(1000),
           lambda b: {2: b[0] + b[1]}, what="elementwise, bounds check")
      for v in ("cuda19-O2", "cuda19-O0", "cuda14-O2")),
    Case("cuda19-O2/saxpy.ll", "saxpy", (1024,), (128,),
         lambda r: {0: np.int32(777), 1: np.float32(2.5), 2: f32(r, 777), 3: f32(r, 777)},
         lambda b: {3: np.float32(2.5) * b[2] + b[3]}, rtol=1e-6, atol=1e-6,
         what="by-value scalars (setBytes)"),
    Case("cuda19-O2/reduce_shared.ll", "reduce_sum", (1024,), (256,),
         lambda r: {0: f32(r, 1024), 1: np.zeros(4, np.float32), 2: np.int32(1000)},
         lambda b: {1: _block_sums(b[0], 1000, 256)}, rtol=1e-5, atol=1e-5,
         what="threadgroup memory, barriers in a loop"),
    Case("cuda19-O2/matmul_tiled.ll", "matmul_tiled", (64, 64), (16, 16),
         lambda r: {0: f32(r, 64, 64), 1: f32(r, 64, 64), 2: np.zeros((64, 64), np.float32),
                    3: np.int32(64)},
         lambda b: {2: (b[0].astype(np.float64) @ b[1]).astype(np.float32)},
         rtol=1e-5, atol=1e-5, what="2D grid, shared tiles, two barriers per step"),
    Case("cuda19-O2/warp_reduce.ll", "warp_reduce", (256,), (128,),
         lambda r: {0: f32(r, 256), 1: i32(r, 256), 2: np.zeros(8, np.float32),
                    3: np.zeros(8, np.int32)},
         lambda b: {2: b[0].reshape(8, 32).sum(axis=1), 3: b[1].reshape(8, 32).sum(axis=1)},
         rtol=1e-5, atol=1e-5, what="SIMD-group shuffles (__shfl_down_sync)"),
    Case("cuda19-O2/histogram.ll", "histogram", (1024,), (256,),
         lambda r: {0: r.integers(0, 256, 10000).astype(np.uint8),
                    1: np.zeros(64, np.uint32), 2: np.int32(10000)},
         lambda b: {1: np.bincount(b[0] % 64, minlength=64).astype(np.uint32)},
         what="threadgroup and device atomics"),
    Case("cuda19-O2/dynamic_shared.ll", "dynamic_shared", (256,), (128,),
         lambda r: {0: f32(r, 256), 1: np.zeros(256, np.float32), 2: np.int32(256)},
         lambda b: {1: b[0].reshape(2, 128)[:, ::-1].reshape(-1) * 2},
         threadgroup_memory={0: 512},
         what="extern __shared__ (setThreadgroupMemoryLength)"),
    Case("cuda14-O2/struct_param.ll", "struct_param", (256,), (64,),
         lambda r: {0: f32(r, 200), 1: np.zeros(200, np.float32),
                    2: np.array([(1.5, 7, -0.25)], _PARAMS), 3: np.int32(200)},
         lambda b: {1: b[0][(np.arange(200) + 7) % 200] * np.float32(1.5) - np.float32(0.25)},
         rtol=1e-6, atol=1e-7, what="struct by value, typed-pointer input"),
    Case("opencl19/vadd.ll", "vadd", (1000,), (256,), _vadd_inputs(1000),
         lambda b: {2: b[0] + b[1]}, what="partial edge threadgroup"),
    Case("opencl19/reduce_local.ll", "reduce_local", (512,), (128,),
         lambda r: {0: f32(r, 512), 1: np.zeros(4, np.float32), 2: np.int32(500)},
         lambda b: {1: _block_sums(b[0], 500, 128)}, rtol=1e-5, atol=1e-5,
         what="__local array, barriers"),
    Case("opencl19/local_param.ll", "local_param", (256,), (64,),
         lambda r: {0: f32(r, 256), 1: np.zeros(256, np.float32),
                    2: np.array([1.0, 2.0, 3.0, 4.0], np.float32),
                    3: np.array([(0.5, 3)], [("scale", "<f4"), ("shift", "<i4")])},
         _local_param_reference, rtol=1e-6, threadgroup_memory={0: 256},
         what="__local parameter, __constant array, struct"),
    Case("opencl19/subgroups.ll", "subgroups", (128,), (64,),
         lambda r: {0: np.abs(f32(r, 128)) + np.float32(0.1), 1: np.zeros(128, np.float32),
                    2: np.zeros(16, np.uint32)},
         _subgroups_reference, rtol=1e-5, atol=1e-6, what="sub-group reduce and broadcast"),
    Case("mlir-nvvm/elementwise_add.ll", "vadd", (320,), (64,),
         lambda r: {**memref(f32(r, 300), 0), **memref(f32(r, 300), 5),
                    **memref(np.zeros(300, np.float32), 10)},
         lambda b: {10: b[0] + b[5]}, what="memref descriptors"),
    Case("mlir-nvvm/shared_reduce_bare.ll", "block_sum", (1024,), (256,),
         lambda r: {0: f32(r, 1024), 1: np.zeros(4, np.float32)},
         lambda b: {1: b[0].reshape(4, 256).sum(axis=1)}, rtol=1e-5, atol=1e-5,
         what="workgroup attribution, bare pointers"),
    Case("mlir-rocdl/shuffle_xor.ll", "warp_allreduce", (1024,), (128,),
         lambda r: {**memref(f32(r, 1024), 0), **memref(np.zeros(1024, np.float32), 5)},
         lambda b: {5: np.repeat(b[0].reshape(32, 32).sum(axis=1), 32)}, rtol=1e-5,
         atol=1e-5, what="ds.bpermute shuffles"),
    Case("apple-twins/silu.ll", "silu", (256,), (64,),
         lambda r: {0: f32(r, 256, lo=-4, hi=4).astype(np.float16),
                    1: f32(r, 256).astype(np.float16), 2: np.zeros(256, np.float16)},
         _silu, rtol=2e-3, atol=2e-3, what="half in and out, fast exp"),
    Case("apple-twins/shared_mem_kernel.ll", "shared_mem_kernel", (256,), (64,),
         lambda r: {0: f32(r, 256), 1: np.zeros(256, np.float32)},
         lambda b: {1: b[0] + np.float32(1)}, threadgroup_memory={0: 256},
         what="threadgroup buffer parameter, barrier"),
    Case("apple-twins/vecAdd.ll", "vecAdd", (1,), (1,),
         lambda r: {0: f32(r, 8, 2), 1: f32(r, 8, 2), 2: np.zeros((8, 2), np.float32),
                    3: np.array([8], np.uint32)},
         _vec_add, what="float2 buffers, constant pointer"),
]

__all__ = ["CASES", "PRODUCERS", "Case", "memref"]
