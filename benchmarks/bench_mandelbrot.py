"""Mandelbrot, 1024x1024 pixels, 128 iterations: the CPU runner's fast path against numpy
and numba, in one run, results checked against each other.

The kernel is ``tests/fixtures/src/cuda/mandelbrot.cu`` (clang-19 -O2 output in
``tests/fixtures/cuda19-O2/mandelbrot.ll``), lowered to AIR by llvm-to-air and run by
``llvm_to_air.runner`` on all CPU cores. numba (``@njit(parallel=True)``, same float32
arithmetic) is timed when it can be imported (``pip install numba``); otherwise its row
says skipped. Times are the best of ``--repeat`` runs after one warm-up run (compilation
excluded for the runner and numba).

    python3 benchmarks/bench_mandelbrot.py [--size 1024] [--iters 128] [--repeat 5]

The CUDA source uses float arithmetic that clang marks ``contract``, so the runner may fuse
multiply-adds; a few escape counts can then differ from strict float32 (numpy), and the
table says how many.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "tests" / "fixtures" / "cuda19-O2" / "mandelbrot.ll"


def best_of(repeat: int, fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    result = fn()  # warm-up (JIT compilation, caches)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def runner_mandelbrot(size: int, iters: int, workers: int | None,
                      checked: bool = False) -> Callable[[], np.ndarray]:
    from llvm_to_air.api import compile
    from llvm_to_air.runner import load_kernel

    air = compile(KERNEL.read_text(), str(KERNEL)).output
    kernel = load_kernel(air.encode(), "mandelbrot", check_bounds=checked)  # type: ignore[union-attr]
    out = np.zeros((size, size), np.int32)
    scalars = {1: np.int32(size), 2: np.int32(size), 3: np.int32(iters)}

    def go() -> np.ndarray:
        kernel.run((size, size), (16, 16), {0: out, **scalars}, workers=workers)
        return out

    return go


def numpy_mandelbrot(size: int, iters: int) -> Callable[[], np.ndarray]:
    def go() -> np.ndarray:
        py, px = np.mgrid[0:size, 0:size].astype(np.float32)
        cx = np.float32(-2) + np.float32(3) * px / np.float32(size)
        cy = np.float32(-1.5) + np.float32(3) * py / np.float32(size)
        x = np.zeros_like(cx)
        y = np.zeros_like(cy)
        it = np.zeros((size, size), np.int32)
        live = np.ones((size, size), bool)
        for _ in range(iters):
            xt = x * x - y * y + cx
            y = np.where(live, np.float32(2) * x * y + cy, y)
            x = np.where(live, xt, x)
            it += live
            live &= x * x + y * y <= np.float32(4)
        return it

    return go


def numba_mandelbrot(size: int, iters: int) -> Callable[[], np.ndarray] | None:
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=False)
    def kernel(out: np.ndarray, size: int, iters: int) -> None:
        for py in numba.prange(size):
            for px in range(size):
                cx = np.float32(-2.0) + np.float32(3.0) * np.float32(px) / np.float32(size)
                cy = np.float32(-1.5) + np.float32(3.0) * np.float32(py) / np.float32(size)
                x = np.float32(0.0)
                y = np.float32(0.0)
                it = 0
                while x * x + y * y <= np.float32(4.0) and it < iters:
                    xt = x * x - y * y + cx
                    y = np.float32(2.0) * x * y + cy
                    x = xt
                    it += 1
                out[py, px] = it

    out = np.zeros((size, size), np.int32)

    def go() -> np.ndarray:
        kernel(out, size, iters)
        return out

    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--iters", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None,
                        help="runner threads (default: all CPU cores)")
    args = parser.parse_args()
    size, iters = args.size, args.iters
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"mandelbrot {size}x{size}, {iters} iterations; {platform.processor() or platform.machine()},"
          f" {cores} CPU cores available, Python {platform.python_version()}")

    rows: list[tuple[str, float | None, np.ndarray | None]] = []
    t, reference = best_of(args.repeat, runner_mandelbrot(size, iters, args.workers))
    reference = reference.copy()
    rows.append(("llvm-to-air CPU runner (fast path, --no-check-bounds)", t, reference))
    t, result = best_of(args.repeat, runner_mandelbrot(size, iters, args.workers, checked=True))
    rows.append(("llvm-to-air CPU runner (fast path, checked: the default)", t, result.copy()))
    numba_fn = numba_mandelbrot(size, iters)
    if numba_fn is None:
        rows.append(("numba @njit(parallel=True)", None, None))
    else:
        t, result = best_of(args.repeat, numba_fn)
        rows.append(("numba @njit(parallel=True)", t, result.copy()))
    t, result = best_of(max(1, min(args.repeat, 2)), numpy_mandelbrot(size, iters))
    rows.append(("numpy (vectorized)", t, result))

    numpy_time = rows[-1][1]
    print()
    print("| implementation | time (ms) | vs numpy | pixels equal to the runner's |")
    print("|---|---:|---:|---:|")
    for name, seconds, image in rows:
        if seconds is None or image is None:
            print(f"| {name} | skipped (not importable) | | |")
            continue
        same = int((image == reference).sum())
        speed = f"{numpy_time / seconds:.1f}x" if numpy_time else ""
        print(f"| {name} | {seconds * 1000:.1f} | {speed} | {same}/{image.size} |")
    for name, _seconds, image in rows[1:]:
        if image is not None:
            differ = int((image != reference).sum())
            assert differ <= image.size // 1000, f"{name}: {differ} pixels differ"
    print(f"\ntotal escape iterations: {int(reference.sum())}")


if __name__ == "__main__":
    main()
