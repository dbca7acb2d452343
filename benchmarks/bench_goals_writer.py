"""Benchmark: issue 12's compile-latency goals for the bitcode path, in one run.

Run by hand: ``python benchmarks/bench_goals_writer.py [--reps 15] [--sizes 10000,100000]
[--goal warm|sizes|all]`` (``--goal warm``: only the first goal).

Prints, with min and median of interleaved repetitions (each repetition runs
every contender once, in turn, so machine load hits them alike) and the load
average before and after:

1. warm in-process ``llvm_to_air.compile(matmul_tiled.ll, emit="metallib")``
   against llvmlite's parse + verify + print of the same text (goal <= 6x), both
   the plain call (a child forked to run LLVM per call) and the call with a
   ``Session`` (one child kept between calls);
2. per generated module size (all functions CUDA kernels): the whole
   in-process ``.metallib`` compile, and the packaging stage alone (lowered
   module -> ``.air``, one bitcode module as ``llvm-as-14`` writes; lowered
   module -> ``.metallib``, one bitcode module per kernel as Apple's tools
   write) against ``llvm-as-14`` on the module's LLVM 14 text (goal <= 15x,
   linear), each beside the old route through LLVM 14 text and its parser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_module import generate  # noqa: E402

from llvm_to_air import package  # noqa: E402
from llvm_to_air.api import compile, lower  # noqa: E402
from llvm_to_air.ir.writer14 import write_llvm14  # noqa: E402
from llvm_to_air.session import Session  # noqa: E402

MATMUL = REPO / "tests" / "fixtures" / "cuda19-O2" / "matmul_tiled.ll"


def interleaved(contenders: dict[str, Callable[[], object]], reps: int) -> dict[str, list[float]]:
    """Seconds per call of each contender, ``reps`` rounds, one call of each per round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm: imports, caches, first-call costs
        fn()
    for _ in range(reps):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def row(name: str, times: list[float], base: list[float] | None = None) -> str:
    text = f"  {name:<34} min {min(times) * 1000:9.2f} ms  median " \
           f"{statistics.median(times) * 1000:9.2f} ms"
    if base is not None:
        text += (f"   ratio min {min(times) / min(base):6.2f}x  "
                 f"median {statistics.median(times) / statistics.median(base):6.2f}x")
    return text


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def llvmlite_goal(reps: int) -> None:
    import llvmlite.binding as llvm

    text = MATMUL.read_text()

    def llvmlite_parse_verify_print() -> None:
        module = llvm.parse_assembly(text)
        module.verify()
        str(module)

    with Session() as session:
        plain = compile(text, str(MATMUL), emit="metallib").output
        assert compile(text, str(MATMUL), emit="metallib", session=session).output == plain
        times = interleaved({
            "llvmlite parse+verify+print": llvmlite_parse_verify_print,
            "compile -> .metallib (fork per call)": lambda: compile(text, str(MATMUL),
                                                                    emit="metallib"),
            "compile -> .metallib (session)": lambda: compile(text, str(MATMUL),
                                                              emit="metallib",
                                                              session=session),
        }, reps)
    print(f"1. warm in-process compile of {MATMUL.name} (goal <= 6x llvmlite)")
    base = times["llvmlite parse+verify+print"]
    for name, ts in times.items():
        print(row(name, ts, None if ts is base else base))


def llvm_as_goal(sizes: list[int], reps: int) -> None:
    tool = shutil.which("llvm-as-14")
    if tool is None:
        print("2. llvm-as-14 is not installed: no comparison")
        return
    print("\n2. generated modules, all functions kernels (goal: packaging <= 15x llvm-as-14, "
          "linear)")
    previous: dict[str, float] = {}
    for size in sizes:
        source = generate(size, cc="ptx_kernel")
        module, ctx = lower(source, "bench.ll")
        for kernel in ctx.kernels:
            kernel.function.name = kernel.name
        units = [(module, ctx)]
        text = write_llvm14(module)
        n = sum(1 for line in text.splitlines() if line.startswith("  "))
        with tempfile.NamedTemporaryFile("w", suffix=".ll", delete=False) as handle:
            handle.write(text)
        try:
            def llvm_as(path: str = handle.name) -> None:
                subprocess.run([tool, path, "-o", os.devnull], check=True)

            def old_route(units: list = units, target: object = ctx.target) -> None:
                direct = package.air_bytes
                package.air_bytes = package.air_bytes_via_text  # type: ignore[assignment]
                try:
                    package.metallib_bytes(units, target)  # type: ignore[arg-type]
                finally:
                    package.air_bytes = direct  # type: ignore[assignment]

            times = interleaved({
                "llvm-as-14 (LLVM 14 text)": llvm_as,
                ".air (one module), typed view": lambda m=module: package.air_bytes(m),
                ".air (one module), via text": lambda m=module: package.air_bytes_via_text(m),
                ".metallib, typed view (now)": lambda u=units, c=ctx: package.metallib_bytes(u, c.target),
                ".metallib, via text (before)": old_route,
                "whole compile -> .metallib": lambda s=source: compile(s, "bench.ll",
                                                              emit="metallib"),
            }, reps)
        finally:
            os.unlink(handle.name)
        print(f" {n} instructions, {len(ctx.kernels)} kernels")
        base = times["llvm-as-14 (LLVM 14 text)"]
        for name, ts in times.items():
            growth = ""
            if name in previous:
                growth = f"  growth x{statistics.median(ts) / previous[name]:.1f}"
            print(row(name, ts, None if ts is base else base) + growth)
            previous[name] = statistics.median(ts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--big-reps", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--goal", choices=("warm", "sizes", "all"), default="all",
                        help="warm: only goal 1; sizes: only goal 2")
    args = parser.parse_args()
    print(load())
    if args.goal in ("warm", "all"):
        llvmlite_goal(args.reps)
    if args.goal in ("sizes", "all"):
        llvm_as_goal([int(s) for s in args.sizes.split(",")], args.big_reps)
    print(load())


if __name__ == "__main__":
    main()
