"""Benchmark: llvmlite's own parse+verify+print against our whole ``downgrade``, side by side.

Run by hand: ``python benchmarks/bench_downgrade.py [--sizes 1000,10000,100000]``.
Prints, per module size, the best of N runs for each, the ratio ours/llvmlite,
and the growth factor from the previous size (10x input should be <= 11x time).
"""

from __future__ import annotations

import argparse

import llvmlite.binding as llvm

from llvm_to_air.ir import downgrade
from llvm_to_air.ir.legalize14 import legalize_for_llvm14
from llvm_to_air.ir.parser import parse_module
from llvm_to_air.ir.reader import normalize_module, normalize_with_llvmlite
from llvm_to_air.ir.writer14 import write_llvm14

try:
    from gen_module import best_of, generate
except ImportError:  # run as a module
    from benchmarks.gen_module import best_of, generate


def llvmlite_round_trip(text: str) -> str:
    module = llvm.parse_assembly(text, llvm.create_context())
    module.verify()
    return str(module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'instructions':>12} {'llvmlite s':>11} {'ours s':>9} {'ratio':>6} "
          f"{'ours growth':>11}  (ours = llvmlite step + parse + legalize + write)")
    previous = None
    for size in sizes:
        text = generate(size)
        n = sum(1 for line in text.splitlines() if line.startswith("  "))
        base = best_of(args.runs, lambda t=text: llvmlite_round_trip(t))
        ours = best_of(args.runs, lambda t=text: downgrade(t, "bench.ll"))
        growth = f"{ours / previous:.1f}x" if previous else "-"
        print(f"{n:>12} {base:>11.3f} {ours:>9.3f} {ours / base:>6.2f} {growth:>11}")
        previous = ours
    # where the time goes, on the largest size
    text = generate(sizes[-1])
    normalized = normalize_with_llvmlite(text, "bench.ll")
    t_parse = best_of(1, lambda: parse_module(normalized, "bench.ll"))
    module = parse_module(normalized, "bench.ll")
    normalize_module(module)
    legalize_for_llvm14(module)
    t_write = best_of(1, lambda: write_llvm14(module))
    print(f"breakdown at {sizes[-1]}: parse {t_parse:.3f}s, write {t_write:.3f}s")


if __name__ == "__main__":
    main()
