"""Benchmark: ``llvm-as-14`` (text -> bitcode) against our LLVM 14 text -> bitcode, side by side.

Run by hand: ``python benchmarks/bench_bitcode.py [--sizes 1000,10000,100000] [--runs 3]``.

The input is GPU-like IR from ``gen_module.generate`` downgraded to LLVM 14
text (what the bitcode writer gets in the pipeline). Per module size it
prints the best of N runs of:

* ``llvm-as-14``: the subprocess, text in through stdin, bitcode out (it
  also verifies the module);
* ``parse+write``: ``llvm14_text_to_bitcode`` (``parse_llvm14_module`` then
  ``write_bitcode``, with Python's cyclic collector paused, as in the tool);
* ``write``: ``write_bitcode`` alone on the parsed module;
* ``typed+write``: the route ``.air``/``.metallib`` output takes, from the
  model (as ``read_module`` and ``legalize_for_llvm14`` leave it):
  ``typed_module14`` then ``write_bitcode``, no text in between;

with the ratios to llvm-as-14 and the growth factor from the previous size
(10x input should cost about 10x time).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from llvm_to_air.bitcode import llvm14_text_to_bitcode, write_bitcode
from llvm_to_air.ir import downgrade, read_module
from llvm_to_air.ir.legalize14 import legalize_for_llvm14
from llvm_to_air.ir.parser import parse_llvm14_module
from llvm_to_air.ir.typed14 import typed_module14

try:
    from gen_module import best_of, generate
except ImportError:  # run as a module
    from benchmarks.gen_module import best_of, generate


def llvm_as(tool: str, text: bytes) -> bytes:
    result = subprocess.run([tool, "-", "-o", "-"], input=text, capture_output=True, check=True)
    return result.stdout


def llvm14_module_text(n_instructions: int) -> str:
    """LLVM 14 text of a generated module of about ``n_instructions`` instructions."""
    return downgrade(generate(n_instructions), "bench.ll")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tool = shutil.which("llvm-as-14")
    if tool is None:
        sys.exit("llvm-as-14 is not installed (Debian package llvm-14)")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'instructions':>12} {'bytes':>9} {'llvm-as-14 s':>12} {'parse+write s':>13} "
          f"{'ratio':>6} {'write s':>8} {'ratio':>6} {'typed+write s':>13} {'ratio':>6} "
          f"{'growth p+w':>10} {'growth w':>9} {'growth t+w':>10}")
    previous: tuple[float, float, float] | None = None
    for size in sizes:
        source = generate(size)
        model = read_module(source, "bench.ll")
        legalize_for_llvm14(model)
        text = llvm14_module_text(size)
        n = sum(1 for line in text.splitlines() if line.startswith("  ") and
                not line.startswith("   "))
        data = text.encode()
        module = parse_llvm14_module(text, "bench.ll")
        bitcode = write_bitcode(module)
        assert write_bitcode(typed_module14(model)) == bitcode, "the two routes differ"
        theirs = best_of(args.runs, lambda d=data: llvm_as(tool, d))
        both = best_of(args.runs, lambda t=text: llvm14_text_to_bitcode(t, "bench.ll"))
        write = best_of(args.runs, lambda m=module: write_bitcode(m))
        typed = best_of(args.runs, lambda m=model: write_bitcode(typed_module14(m)))
        growth = ("-", "-", "-") if previous is None else (
            f"{both / previous[0]:.1f}x", f"{write / previous[1]:.1f}x",
            f"{typed / previous[2]:.1f}x")
        print(f"{n:>12} {len(bitcode):>9} {theirs:>12.3f} {both:>13.3f} {both / theirs:>6.2f} "
              f"{write:>8.3f} {write / theirs:>6.2f} {typed:>13.3f} {typed / theirs:>6.2f} "
              f"{growth[0]:>10} {growth[1]:>9} {growth[2]:>10}")
        previous = (both, write, typed)


if __name__ == "__main__":
    main()
