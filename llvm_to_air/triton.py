"""Triton kernels on Apple GPUs, with no fork of Triton: ``llvm_to_air.triton``.

Triton compiles a ``@triton.jit`` function to LLVM IR for an NVIDIA target without a
GPU; llvm-to-air lowers that IR (LLVM 24 text, inline PTX, linked libdevice) to AIR.
This module does both and says how to launch the result::

    from llvm_to_air.triton import kernel
    add = kernel(add_kernel)                      # any @triton.jit function
    add[(triton.cdiv(n, 1024),)](x, y, out, n, BLOCK_SIZE=1024)   # runs on the CPU runner

    compiled = add.compile(x, y, out, n, BLOCK_SIZE=1024)
    compiled.metallib, compiled.plan              # the library and its launch plan

The launch plan is what a Metal host needs (``docs/triton.md``): the buffer index of
each Triton argument (in order, constexprs removed), the two scratch buffers Triton
appends, threads per threadgroup (``num_warps * 32``), threadgroup memory index 0 for
``@global_smem`` (``metadata.shared`` bytes, rounded up to 16), and the grid: program
``(px, py, pz)`` is threadgroup ``(px, py, pz)`` of a dispatch of
``(px * threads, py, pz)`` threads.

Needs the optional extra ``llvm-to-air[triton]`` (Triton from PyPI).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llvm_to_air.errors import CompileError

SCRATCH_BYTES = 16
THREADS_PER_WARP = 32
_DTYPE_SIGNATURES = {np.dtype(np.float32): "fp32", np.dtype(np.float16): "fp16",
                     np.dtype(np.int32): "i32", np.dtype(np.uint32): "u32",
                     np.dtype(np.int64): "i64", np.dtype(np.int8): "i8",
                     np.dtype(np.uint8): "u8", np.dtype(np.int16): "i16"}


@dataclass(frozen=True)
class LaunchPlan:
    """How a host launches one compiled Triton kernel (the CPU runner and Metal alike)."""

    kernel: str                          # the function's name in the metallib
    arguments: tuple[str, ...]           # Triton's runtime arguments, buffer indices 0..n-1
    scratch_indices: tuple[int, int]     # global and profile scratch buffers
    threads_per_threadgroup: int         # num_warps * 32
    threadgroup_memory: dict[int, int] = field(default_factory=dict)

    def dispatch(self, programs: Sequence[int]) -> tuple[tuple[int, int, int],
                                                         tuple[int, int, int]]:
        """(threads per grid, threads per threadgroup) for a Triton grid of programs."""
        px, py, pz = (*programs, 1, 1)[:3]
        return ((px * self.threads_per_threadgroup, py, pz),
                (self.threads_per_threadgroup, 1, 1))


@dataclass
class CompiledKernel:
    metallib: bytes
    air_text: str
    plan: LaunchPlan
    triton_ir: str                        # Triton's LLVM IR, as Triton printed it

    def run(self, programs: Sequence[int], args: Sequence[Any], timeout: float | None = None,
            check_bounds: bool = True) -> None:
        """Run on the CPU runner; numpy arrays among ``args`` are updated in place."""
        from llvm_to_air.runner import run

        buffers: dict[int, Any] = {}
        for index, value in enumerate(args):
            buffers[index] = _runtime_value(value)
        for index in self.plan.scratch_indices:
            buffers[index] = np.zeros(SCRATCH_BYTES, np.uint8)
        grid, threadgroup = self.plan.dispatch(tuple(programs))
        run(self.metallib, self.plan.kernel, grid, threadgroup, buffers,
            threadgroup_memory=self.plan.threadgroup_memory or None, timeout=timeout,
            check_bounds=check_bounds)


def _runtime_value(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value
    if isinstance(value, bool | int):
        return np.int32(value)
    if isinstance(value, float):
        return np.float32(value)
    raise CompileError(f"a Triton argument must be a numpy array or a number, not "
                       f"{type(value).__name__}")


def _signature_of(value: Any) -> str:
    if isinstance(value, np.ndarray):
        kind = _DTYPE_SIGNATURES.get(value.dtype)
        if kind is None:
            raise CompileError(f"arrays of {value.dtype} are not supported as Triton pointers")
        return f"*{kind}"
    if isinstance(value, np.generic):
        kind = _DTYPE_SIGNATURES.get(value.dtype)
        if kind is None:
            raise CompileError(f"scalars of {value.dtype} are not supported")
        return kind
    if isinstance(value, bool | int):
        return "i32"
    if isinstance(value, float):
        return "fp32"
    raise CompileError(f"cannot pass {type(value).__name__} to a Triton kernel")


def compile_triton(fn: Any, signature: dict[str, str], constexprs: dict[str, Any],
                   num_warps: int = 4, target: str = "macos14",
                   arch: int = 80) -> CompiledKernel:
    """Compile ``fn`` with Triton for ``sm_<arch>`` (no GPU needed), then to a metallib."""
    try:
        os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
        from triton.compiler import compile as triton_compile
    except ImportError:
        raise CompileError("llvm_to_air.triton needs Triton",
                           hint="pip install 'llvm-to-air[triton]'") from None
    full_signature = {**signature, **{name: "constexpr" for name in constexprs}}
    compiled = triton_compile(ASTSource(fn=fn, signature=full_signature, constexprs=constexprs),
                              target=GPUTarget("cuda", arch, THREADS_PER_WARP),
                              options={"num_warps": num_warps})
    ir = compiled.asm["llir"]
    name = compiled.metadata.name
    from llvm_to_air.api import compile as lower_compile

    metallib = lower_compile(ir, f"{name}.ll", target=target, emit="metallib").output
    air_text = lower_compile(ir, f"{name}.ll", target=target, emit="ll").output
    arguments = tuple(signature)
    shared = int(compiled.metadata.shared)
    plan = LaunchPlan(kernel=name, arguments=arguments,
                      scratch_indices=(len(arguments), len(arguments) + 1),
                      threads_per_threadgroup=int(compiled.metadata.num_warps) * THREADS_PER_WARP,
                      threadgroup_memory={0: -(-shared // 16) * 16} if shared else {})
    return CompiledKernel(bytes(metallib), str(air_text), plan, ir)


class TritonKernel:
    """A ``@triton.jit`` function callable as Triton calls it: ``k[grid](*args, **consts)``."""

    def __init__(self, fn: Any, num_warps: int = 4, target: str = "macos14") -> None:
        self.fn = fn
        self.num_warps = num_warps
        self.target = target
        self._cache: dict[tuple[Any, ...], CompiledKernel] = {}

    def _argument_names(self) -> list[str]:
        names = list(getattr(self.fn, "arg_names", []))
        if not names:
            raise CompileError("kernel() takes a @triton.jit function")
        return names

    def compile(self, *args: Any, **constexprs: Any) -> CompiledKernel:
        names = [n for n in self._argument_names() if n not in constexprs]
        if len(names) != len(args):
            raise CompileError(f"{getattr(self.fn, '__name__', 'kernel')} takes "
                               f"{len(names)} runtime arguments ({', '.join(names)}), "
                               f"got {len(args)}")
        signature = {name: _signature_of(value) for name, value in zip(names, args, strict=True)}
        key = (tuple(signature.items()), tuple(sorted(constexprs.items())))
        if key not in self._cache:
            self._cache[key] = compile_triton(self.fn, signature, constexprs, self.num_warps,
                                              self.target)
        return self._cache[key]

    def __getitem__(self, grid: Any) -> Callable[..., None]:
        def launch(*args: Any, **constexprs: Any) -> None:
            compiled = self.compile(*args, **constexprs)
            programs = grid(constexprs) if callable(grid) else grid
            programs = (programs,) if isinstance(programs, int) else tuple(programs)
            compiled.run(programs, args)

        return launch


def kernel(fn: Any, num_warps: int = 4, target: str = "macos14") -> TritonKernel:
    """Wrap a ``@triton.jit`` function for Apple targets (see the module docstring)."""
    return TritonKernel(fn, num_warps, target)


__all__ = ["CompiledKernel", "LaunchPlan", "TritonKernel", "compile_triton", "kernel"]
