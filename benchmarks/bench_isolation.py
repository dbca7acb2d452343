"""Benchmark: what reading input through LLVM in a child process costs (issue: no process
death from input).

Run by hand: ``python benchmarks/bench_isolation.py``. Interleaved in one run:

1. in-process ``llvm_to_air.compile`` of ``examples/vadd.ll`` to a ``.metallib``, with
   LLVM isolated in a forked child (the default) and in this process
   (``LLVM_TO_AIR_NO_ISOLATION=1``), min and median of each;
2. the same for the whole command-line process (``llvm-to-air examples/vadd.ll -o
   vadd.metallib``);
3. the same for a 10k-instruction module in-process.

Prints the machine's load average next to the figures: the ratio is what to read.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_module import generate  # noqa: E402

import llvm_to_air  # noqa: E402

VADD = REPO / "examples" / "vadd.ll"


def interleaved(runs: int, isolated: Callable[[], object],
                in_process: Callable[[], object]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"isolated": [], "in-process": []}
    for _ in range(runs):
        for name, fn in (("isolated", isolated), ("in-process", in_process)):
            if name == "in-process":
                os.environ["LLVM_TO_AIR_NO_ISOLATION"] = "1"
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            os.environ.pop("LLVM_TO_AIR_NO_ISOLATION", None)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    iso, inp = times["isolated"], times["in-process"]
    print(f"{title}")
    for name, values in times.items():
        print(f"  {name:10s} min {min(values) * 1e3:8.2f} ms  median "
              f"{statistics.median(values) * 1e3:8.2f} ms")
    print(f"  cost of isolation: +{(min(iso) - min(inp)) * 1e3:.2f} ms (min), "
          f"+{(statistics.median(iso) - statistics.median(inp)) * 1e3:.2f} ms (median), "
          f"ratio {statistics.median(iso) / statistics.median(inp):.2f}x")


def main() -> None:
    print(f"load average: {os.getloadavg()}")
    source = VADD.read_text()
    llvm_to_air.compile(source, "vadd.ll", emit="metallib")  # imports and caches warm

    def vadd() -> object:
        return llvm_to_air.compile(source, "vadd.ll", emit="metallib")

    report("vadd.ll -> .metallib, in-process (warm)", interleaved(40, vadd, vadd))
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "vadd.metallib")
        command = [sys.executable, "-m", "llvm_to_air", str(VADD), "-o", out]
        env = {**os.environ, "PYTHONPATH": str(REPO)}

        def process() -> object:
            return subprocess.run(command, check=True, capture_output=True,
                                  env={**env, **({"LLVM_TO_AIR_NO_ISOLATION": "1"} if
                                                 os.environ.get("LLVM_TO_AIR_NO_ISOLATION")
                                                 else {})})

        report("vadd.ll -> .metallib, whole process", interleaved(15, process, process))
    big = generate(10_000, cc="ptx_kernel ")

    def large() -> object:
        return llvm_to_air.compile(big, "big.ll", emit="ll")

    report("10k instructions -> .ll, in-process", interleaved(5, large, large))


if __name__ == "__main__":
    main()
