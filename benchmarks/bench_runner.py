"""The CPU runner against numba ``prange`` versions of the same computations, in one run.

Kernels (CUDA sources in ``tests/fixtures/src/cuda``, clang-19 -O2 output in
``tests/fixtures/cuda19-O2``), lowered to AIR by llvm-to-air and run by
``llvm_to_air.runner`` on all CPU cores:

* ``matmul_tiled``: C = A * B, 512 x 512, 16 x 16 threadgroup tiles in threadgroup
  memory, two barriers per tile step (the step path);
* ``reduce_sum``: shared-memory tree reduction, 256 threads per group, a barrier per
  level (the step path);
* ``warp_reduce``: ``__shfl_down_sync`` sums of float and int per 32-lane SIMD group
  (the step path, SIMD-group shuffles);
* ``mandelbrot``: no barriers (the fast path).

Each numba version (``@njit(parallel=True)``, ``prange`` over the same work items,
float32 arithmetic) computes the same thing; results are checked against each other and
against numpy. Runner and numba runs alternate (interleaved repetitions after one warm-up
run each: JIT compilation excluded); the table gives the min and median time of each and
the ratio runner / numba of both, checked (the default) and ``--no-check-bounds``.

    pip install numba   # not a project dependency
    python3 benchmarks/bench_runner.py [--repeat 7] [--only matmul,reduce,warp,mandelbrot]
                                       [--workers N]

``--workers N`` runs both on N threads (numba's ``set_num_threads``, the runner's
``workers``). On a loaded machine, ``--workers 1 --cpu-time`` gives steady ratios: the
process's CPU time per run instead of wall time (with one worker thread they agree on an
idle machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "cuda19-O2"

Runnable = Callable[[], np.ndarray]


@dataclass
class Case:
    """One kernel: how to run it on the runner (checked, unchecked) and with numba."""

    name: str
    runner: Callable[[bool], Runnable]
    numba: Runnable
    reference: np.ndarray
    rtol: float


WORKERS: list[int | None] = [None]  # --workers (None: all cores)


class _Kernel:
    """A runner kernel run on ``--workers`` threads."""

    def __init__(self, kernel: object) -> None:
        self.kernel = kernel

    def run(self, *args: object) -> None:
        self.kernel.run(*args, workers=WORKERS[0])  # type: ignore[attr-defined]


def _kernel(fixture: str, name: str, checked: bool) -> _Kernel:
    from llvm_to_air.api import compile
    from llvm_to_air.runner import load_kernel

    path = FIXTURES / fixture
    air = compile(path.read_text(), str(path)).output
    return _Kernel(load_kernel(air.encode(), name, check_bounds=checked))  # type: ignore[union-attr]


# ---------------------------------------------------------------- matmul_tiled


def matmul_case(n: int = 512) -> Case:
    import numba

    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)

    def runner(checked: bool) -> Runnable:
        kernel = _kernel("matmul_tiled.ll", "matmul_tiled", checked)
        c = np.zeros((n, n), np.float32)

        def go() -> np.ndarray:
            kernel.run((n, n), (16, 16), {0: a, 1: b, 2: c, 3: np.int32(n)})
            return c

        return go

    @numba.njit(parallel=True, cache=False)
    def matmul(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        size = a.shape[0]
        for row in numba.prange(size):
            for col in range(size):
                acc = np.float32(0.0)
                for k in range(size):
                    acc += a[row, k] * b[k, col]
                c[row, col] = acc

    out = np.zeros((n, n), np.float32)

    def with_numba() -> np.ndarray:
        matmul(a, b, out)
        return out

    return Case(f"matmul_tiled {n}x{n}", runner, with_numba, a @ b, 1e-3)


# ------------------------------------------------------------------ reduce_sum


def reduce_case(n: int = 1 << 22) -> Case:
    import numba

    block = 256
    groups = -(-n // block)
    x = np.random.default_rng(2).standard_normal(n, dtype=np.float32)

    def runner(checked: bool) -> Runnable:
        kernel = _kernel("reduce_shared.ll", "reduce_sum", checked)
        partial = np.zeros(groups, np.float32)

        def go() -> np.ndarray:
            kernel.run((groups * block,), (block,), {0: x, 1: partial, 2: np.int32(n)})
            return partial

        return go

    @numba.njit(parallel=True, cache=False)
    def tree(x: np.ndarray, partial: np.ndarray) -> None:
        for g in numba.prange(partial.shape[0]):
            sdata = np.zeros(block, np.float32)
            for tid in range(block):
                i = g * block + tid
                if i < x.shape[0]:
                    sdata[tid] = x[i]
            s = block // 2
            while s > 0:
                for tid in range(s):
                    sdata[tid] += sdata[tid + s]
                s >>= 1
            partial[g] = sdata[0]

    out = np.zeros(groups, np.float32)

    def with_numba() -> np.ndarray:
        tree(x, out)
        return out

    padded = np.zeros(groups * block, np.float32)
    padded[:n] = x
    reference = padded.reshape(groups, block).astype(np.float64).sum(axis=1)
    return Case(f"reduce_sum {n} floats", runner, with_numba, reference, 1e-4)


# ----------------------------------------------------------------- warp_reduce


def warp_case(n: int = 1 << 20) -> Case:
    import numba

    rng = np.random.default_rng(3)
    x = rng.standard_normal(n, dtype=np.float32)
    ix = rng.integers(-1000, 1000, n, dtype=np.int32)
    warps = n // 32

    def runner(checked: bool) -> Runnable:
        kernel = _kernel("warp_reduce.ll", "warp_reduce", checked)
        out = np.zeros(warps, np.float32)
        iout = np.zeros(warps, np.int32)

        def go() -> np.ndarray:
            kernel.run((n,), (256,), {0: x, 1: ix, 2: out, 3: iout})
            return out + iout

        return go

    @numba.njit(parallel=True, cache=False)
    def shuffle_sums(x: np.ndarray, ix: np.ndarray, out: np.ndarray,
                     iout: np.ndarray) -> None:
        for w in numba.prange(out.shape[0]):
            v = np.empty(32, np.float32)
            iv = np.empty(32, np.int32)
            for lane in range(32):
                v[lane] = x[w * 32 + lane]
                iv[lane] = ix[w * 32 + lane]
            off = 16
            while off > 0:  # lane i adds lane i + off (its own value past the end)
                for lane in range(32 - off):
                    v[lane] += v[lane + off]
                    iv[lane] += iv[lane + off]
                for lane in range(32 - off, 32):
                    v[lane] += v[lane]
                    iv[lane] += iv[lane]
                off >>= 1
            out[w] = v[0]
            iout[w] = iv[0]

    out = np.zeros(warps, np.float32)
    iout = np.zeros(warps, np.int32)

    def with_numba() -> np.ndarray:
        shuffle_sums(x, ix, out, iout)
        return out + iout

    reference = x.reshape(warps, 32).astype(np.float64).sum(axis=1) + \
        ix.reshape(warps, 32).sum(axis=1)
    return Case(f"warp_reduce {n} floats+ints", runner, with_numba, reference, 1e-4)


# ------------------------------------------------------------------ mandelbrot


def mandelbrot_case(size: int = 1024, iters: int = 128) -> Case:
    from bench_mandelbrot import numba_mandelbrot, numpy_mandelbrot

    def runner(checked: bool) -> Runnable:
        kernel = _kernel("mandelbrot.ll", "mandelbrot", checked)
        out = np.zeros((size, size), np.int32)
        scalars = {1: np.int32(size), 2: np.int32(size), 3: np.int32(iters)}

        def go() -> np.ndarray:
            kernel.run((size, size), (16, 16), {0: out, **scalars})
            return out

        return go

    with_numba = numba_mandelbrot(size, iters)
    assert with_numba is not None
    reference = numpy_mandelbrot(size, iters)().astype(np.float64)
    # contracted multiply-adds may move a few escape counts: compare the sum
    return Case(f"mandelbrot {size}x{size} (fast path)", runner, with_numba, reference, 1e-3)


CASES: dict[str, Callable[[], Case]] = {"matmul": matmul_case, "reduce": reduce_case,
                                        "warp": warp_case, "mandelbrot": mandelbrot_case}


def _close(result: np.ndarray, reference: np.ndarray, rtol: float) -> bool:
    got = result.astype(np.float64)
    if reference.ndim == 2 and reference.dtype == np.float64 and got.dtype == np.float64 \
            and np.issubdtype(result.dtype, np.integer):
        return abs(got.sum() - reference.sum()) <= rtol * abs(reference.sum())
    scale = np.abs(reference).max() or 1.0
    return bool(np.allclose(got, reference, rtol=rtol, atol=rtol * scale))


def measure(case: Case, repeat: int, clock: Callable[[], float] = time.perf_counter) \
        -> dict[str, list[float]]:
    """Interleaved repetitions of the runner (checked, unchecked) and numba."""
    runs = {"checked": case.runner(True), "unchecked": case.runner(False),
            "numba": case.numba}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name, fn in runs.items():  # warm-up: JIT compilation, first-touch of buffers
        result = fn()
        assert _close(result, case.reference, case.rtol), f"{case.name}: {name} is wrong"
    for _ in range(repeat):
        for name, fn in runs.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return times


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for the runner and numba (default: all cores)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time runs by the process's CPU time, not wall time")
    args = parser.parse_args()
    if args.workers:
        import numba

        numba.set_num_threads(args.workers)
        WORKERS[0] = args.workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{platform.processor() or platform.machine()}, {cores} CPU cores available, "
          f"{args.workers or cores} used, {'CPU' if args.cpu_time else 'wall'} time, "
          f"load average {os.getloadavg()[0]:.2f}, Python {platform.python_version()}")
    print()
    print("| kernel | numba min / median (ms) | runner checked min / median (ms) | ratio "
          "min / median | runner unchecked min / median (ms) | ratio min / median |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in args.only.split(","):
        case = CASES[key]()
        times = measure(case, args.repeat,
                        time.process_time if args.cpu_time else time.perf_counter)
        nmin, nmed = min(times["numba"]), statistics.median(times["numba"])
        cells = [f"{nmin * 1e3:.1f} / {nmed * 1e3:.1f}"]
        for name in ("checked", "unchecked"):
            tmin, tmed = min(times[name]), statistics.median(times[name])
            cells += [f"{tmin * 1e3:.1f} / {tmed * 1e3:.1f}",
                      f"{tmin / nmin:.1f}x / {tmed / nmed:.1f}x"]
        print(f"| {case.name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
