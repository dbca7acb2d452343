"""Generate a large, valid, GPU-like LLVM IR module (modern opaque-pointer syntax) for benchmarks.

``generate(n_instructions)`` returns text with about that many instructions,
spread over functions of ~100 instructions each: address arithmetic, loads and
stores, integer and float math, compares, phis across a loop, intrinsic calls,
atomics and a barrier, so every hot path of the reader and writers is exercised.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

_HEADER = """target datalayout = "e-i64:64-i128:128-v16:16-v32:32-n16:32:64"
target triple = "nvptx64-nvidia-cuda"

@shared = internal addrspace(3) global [256 x float] undef, align 4
"""

_DECLS = """
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare float @llvm.fma.f32(float, float, float)
declare void @llvm.nvvm.barrier0()
"""

# One loop body: 20 instructions using %i (the loop counter) and the arguments.
_BODY = """  %a{k} = getelementptr inbounds float, ptr %in, i64 %i
  %b{k} = load float, ptr %a{k}, align 4
  %c{k} = fmul contract float %b{k}, %s
  %d{k} = call float @llvm.fma.f32(float %c{k}, float %b{k}, float 1.000000e+00)
  %e{k} = fadd float %d{k}, %acc
  %f{k} = fptosi float %e{k} to i32
  %g{k} = add nsw i32 %f{k}, %t
  %h{k} = and i32 %g{k}, 255
  %j{k} = zext i32 %h{k} to i64
  %l{k} = getelementptr inbounds [256 x float], ptr addrspace(3) @shared, i64 0, i64 %j{k}
  store float %e{k}, ptr addrspace(3) %l{k}, align 4
  %m{k} = getelementptr inbounds i32, ptr %out, i64 %j{k}
  %n{k} = atomicrmw add ptr %m{k}, i32 1 monotonic, align 4
  %o{k} = icmp slt i32 %n{k}, %g{k}
  %p{k} = select i1 %o{k}, float %e{k}, float %b{k}
  %q{k} = getelementptr inbounds float, ptr %in, i64 %j{k}
  store float %p{k}, ptr %q{k}, align 4
  %r{k} = sitofp i32 %g{k} to float
  %u{k} = fsub float %r{k}, %p{k}
  %v{k} = bitcast float %u{k} to i32
"""


def _function(index: int, bodies: int, cc: str = "") -> str:
    prefix = f"{cc} " if cc else ""
    lines = [f"define {prefix}void @kernel{index}(ptr %in, ptr %out, float %s, i64 %n) {{",
             "entry:",
             "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()",
             "  br label %loop",
             "loop:",
             "  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]",
             "  %acc = phi float [ 0.000000e+00, %entry ], [ %u0, %loop ]"]
    for k in range(bodies):
        lines.append(_BODY.format(k=k).rstrip("\n"))
    lines += ["  call void @llvm.nvvm.barrier0()",
              "  %i.next = add nuw nsw i64 %i, 1",
              "  %cond = icmp ult i64 %i.next, %n",
              "  br i1 %cond, label %loop, label %exit",
              "exit:",
              "  ret void",
              "}", ""]
    return "\n".join(lines)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of ``runs`` timed calls of ``fn``, in seconds (shared by the benchmarks)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def generate(n_instructions: int, per_function: int = 100, cc: str = "") -> str:
    """``cc="ptx_kernel"`` makes every function a CUDA kernel (for the lowering benchmark)."""
    bodies = max(1, (per_function - 10) // 20)
    per_fn = bodies * 20 + 10
    n_functions = max(1, n_instructions // per_fn)
    parts = [_HEADER]
    parts.extend(_function(i, bodies, cc) for i in range(n_functions))
    parts.append(_DECLS)
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
