"""Benchmark: the main job's whole-process time against clang-19, and lowering throughput.

Run by hand: ``python benchmarks/bench_lowering.py``. In one run it measures

1. ``llvm-to-air examples/vadd.ll -o vadd.air.ll`` as a process (median of N runs,
   bytecode cached, as after ``pip install``) against ``clang-19`` producing that
   ``vadd.ll`` from ``examples/vadd.cu``, and the ratio;
2. in-process lowering (read + all rewrite stages + LLVM 14 text) of generated
   modules of 1k, 10k and 100k instructions, all functions CUDA kernels, with the
   growth factor per 10x.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_module import generate  # noqa: E402


def median_time(command: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        ours = median_time([sys.executable, "-m", "llvm_to_air", str(REPO / "examples/vadd.ll"),
                            "-o", f"{tmp}/vadd.air.ll"], args.runs, env)
        print(f"llvm-to-air examples/vadd.ll -o vadd.air.ll : {ours * 1000:7.1f} ms")
        library = median_time([sys.executable, "-m", "llvm_to_air",
                               str(REPO / "examples/vadd.ll"), "-o", f"{tmp}/vadd.metallib"],
                              args.runs, env)
        print(f"llvm-to-air examples/vadd.ll -o vadd.metallib: {library * 1000:7.1f} ms")
        clang = shutil.which("clang-19")
        if clang:
            theirs = median_time([clang, "-x", "cuda", "--cuda-device-only",
                                  "--cuda-gpu-arch=sm_70", "-nocudainc", "-nocudalib",
                                  "-Wno-unknown-cuda-version", "-S", "-emit-llvm", "-O2",
                                  "-I", str(REPO / "examples"), str(REPO / "examples/vadd.cu"),
                                  "-o", f"{tmp}/vadd.ll"], args.runs, env)
            print(f"clang-19 vadd.cu -> vadd.ll                  : {theirs * 1000:7.1f} ms")
            print(f"ratio ours/clang (.ll, .metallib)             : {ours / theirs:7.2f} "
                  f"{library / theirs:7.2f}")
        else:
            print("clang-19 not installed: no comparison")
    from llvm_to_air.api import compile

    print(f"\n{'instructions':>12} {'lowering s':>11} {'instr/s':>10} {'growth':>7}")
    previous = None
    for size in (int(s) for s in args.sizes.split(",")):
        text = generate(size, cc="ptx_kernel")
        n = sum(1 for line in text.splitlines() if line.startswith("  "))
        start = time.perf_counter()
        compile(text, "bench.ll")
        elapsed = time.perf_counter() - start
        growth = f"{elapsed / previous:.1f}x" if previous else "-"
        print(f"{n:>12} {elapsed:>11.3f} {n / elapsed:>10.0f} {growth:>7}")
        previous = elapsed


if __name__ == "__main__":
    main()
