"""Triton kernels on Apple GPUs: compile a ``@triton.jit`` function without a GPU, lower it.

Use (``pip install 'llvm-to-air[triton]'``)::

    from llvm_to_air.triton import compile_triton
    k = compile_triton(add_kernel, {"x": "*fp32", "y": "*fp32", "out": "*fp32", "n": "i32"},
                       {"BLOCK": 1024})
    k.metallib                 # bytes of a .metallib with one kernel
    k.plan                     # LaunchPlan: buffer index per argument, threads, shared bytes
    k[(n + 1023) // 1024,](x, y, out, n)   # runs on the CPU runner, arrays change in place

Triton compiles for NVIDIA ``sm_80`` (or AMD ``gfx1100``, wave32) and stops at
its LLVM IR; that IR (printed by Triton's own, newer LLVM) is read by the
forward-compatible reader and lowered like any CUDA module. Triton's calling
convention: the kernel's parameters are the non-constexpr arguments in order,
then two scratch pointers (global and profile scratch) Triton appends; each
becomes a Metal buffer (pointers as device buffers, scalars as constant
buffers, by the indices in :class:`LaunchPlan`). ``@global_smem`` is dynamic
threadgroup memory of ``plan.shared`` bytes. A program is a threadgroup of
``num_warps x warp_size`` threads; the launch grid counts programs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llvm_to_air.errors import CompileError

TARGETS: dict[str, tuple[str, int | str, int]] = {
    "sm_80": ("cuda", 80, 32), "gfx1100": ("hip", "gfx1100", 32),
}
SCALAR_DTYPES = {"i1": np.int8, "i8": np.int8, "i16": np.int16, "i32": np.int32,
                 "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
                 "u64": np.uint64, "fp16": np.float16, "fp32": np.float32, "fp64": np.float64}


@dataclass(frozen=True)
class LaunchPlan:
    """How a host binds and dispatches the kernel (the same facts drive a Metal dispatch).

    ``buffer_index[k]`` is the ``setBuffer``/``setBytes`` index of the k-th
    non-constexpr argument; ``scratch_indices`` are the two buffers Triton
    appends (bind any 1-byte-or-larger buffer); ``threadgroup_memory`` maps a
    ``setThreadgroupMemoryLength`` index to its byte length (``shared`` rounded up to
    Metal's multiple of 16).
    """

    kernel: str
    arguments: tuple[str, ...]
    signature: tuple[str, ...]
    buffer_index: tuple[int, ...]
    scratch_indices: tuple[int, ...]
    threads_per_threadgroup: int
    shared: int
    threadgroup_memory: Mapping[int, int] = field(default_factory=dict)

    def grid_threads(self, programs: Sequence[int]) -> tuple[int, int, int]:
        """Threads per dimension for ``dispatchThreads`` from a Triton grid of programs."""
        dims = (*programs, 1, 1, 1)[:3]
        return (dims[0] * self.threads_per_threadgroup, dims[1], dims[2])


@dataclass
class TritonKernel:
    """A lowered Triton kernel: metallib bytes, its AIR module, and its launch plan."""

    metallib: bytes
    plan: LaunchPlan

    def __getitem__(self, grid: Sequence[int] | int) -> Callable[..., None]:
        programs = (grid,) if isinstance(grid, int) else tuple(grid)
        return lambda *args: self.launch(programs, *args)

    def launch(self, programs: Sequence[int], *args: Any) -> None:
        """Run on the CPU runner with Triton's calling convention; arrays change in place."""
        from llvm_to_air.runner import run

        plan = self.plan
        if len(args) != len(plan.arguments):
            raise CompileError(f"{plan.kernel} takes {len(plan.arguments)} arguments "
                               f"({', '.join(plan.arguments)}), got {len(args)}")
        buffers: dict[int, Any] = {}
        for value, sig, index, name in zip(args, plan.signature, plan.buffer_index,
                                           plan.arguments, strict=True):
            if sig.startswith("*"):
                if not isinstance(value, np.ndarray):
                    raise CompileError(f"argument '{name}' ({sig}) must be a numpy array")
                buffers[index] = value
            else:
                buffers[index] = SCALAR_DTYPES[sig](value)
        for index in plan.scratch_indices:
            buffers[index] = np.zeros(64, np.uint8)
        run(self.metallib, plan.kernel, plan.grid_threads(programs),
            (plan.threads_per_threadgroup, 1, 1), buffers, dict(plan.threadgroup_memory))


def lower_triton_ir(llir: str, *, kernel: str, arguments: Sequence[str],
                    signature: Sequence[str], num_warps: int, warp_size: int, shared: int,
                    file: str = "<triton>") -> TritonKernel:
    """Lower Triton's LLVM IR (e.g. a committed fixture) and build its launch plan."""
    from llvm_to_air import api

    if warp_size != 32:
        raise CompileError(f"Triton kernel {kernel} was compiled for {warp_size}-wide warps; "
                           "Apple SIMD groups are 32 wide",
                           hint="compile for sm_80 or a wave32 AMD target (gfx1100)")
    result = api.compile(llir, file, emit="metallib")
    metallib = result.output
    assert isinstance(metallib, bytes)
    signature_ = result.kernels[0]
    by_source = {a.source_index: a for a in signature_.arguments if a.source_index is not None}
    count = len(arguments)
    index = tuple(_index(by_source, k, name, kernel) for k, name in enumerate(arguments))
    scratch = tuple(by_source[k].location_index for k in sorted(by_source) if k >= count
                    and by_source[k].location_index is not None
                    and by_source[k].kind != "threadgroup")  # type: ignore[misc]
    # Metal takes threadgroup memory lengths in multiples of 16 bytes; Triton's count is
    # exact (4 bytes for one scalar atomic's broadcast slot)
    length = -(-shared // 16) * 16
    tg = {a.location_index: length for a in signature_.arguments
          if a.kind == "threadgroup" and a.location_index is not None}
    plan = LaunchPlan(signature_.name, tuple(arguments), tuple(signature), index,
                      scratch, num_warps * warp_size, shared, tg)  # type: ignore[arg-type]
    return TritonKernel(metallib, plan)


def _index(by_source: Mapping[int | None, Any], k: int, name: str, kernel: str) -> int:
    arg = by_source.get(k)
    if arg is None or arg.location_index is None:
        raise CompileError(f"argument '{name}' of Triton kernel {kernel} has no buffer index")
    return int(arg.location_index)


def compile_triton(fn: Any, signature: Mapping[str, str],
                   constexprs: Mapping[str, Any] | None = None, *, target: str = "sm_80",
                   num_warps: int = 4) -> TritonKernel:
    """Compile ``fn`` (a ``@triton.jit`` function) with Triton for ``target``, no GPU needed."""
    try:
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
        from triton.compiler import compile as triton_compile
    except ImportError:
        raise CompileError("llvm_to_air.triton needs Triton",
                           hint="pip install 'llvm-to-air[triton]'") from None
    if target not in TARGETS:
        raise CompileError(f"unknown Triton target '{target}'",
                           hint=f"use one of {', '.join(TARGETS)}")
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    constexprs = dict(constexprs or {})
    sig = dict(signature) | {name: "constexpr" for name in constexprs}
    compiled = triton_compile(ASTSource(fn, sig, constexprs), target=GPUTarget(*TARGETS[target]),
                              options={"num_warps": num_warps})
    return lower_triton_ir(compiled.asm["llir"], kernel=compiled.metadata.name,
                           arguments=list(signature), signature=list(signature.values()),
                           num_warps=compiled.metadata.num_warps,
                           warp_size=TARGETS[target][2], shared=compiled.metadata.shared,
                           file=f"<triton {compiled.metadata.name}>")
