"""Triton's own GPU results against llvm-to-air's CPU runner, for the Triton fixtures.

Run by hand, in two steps (CI has no GPU):

1. on a machine with an NVIDIA GPU, Triton and PyTorch::

       python3 tests/gpu/compare_triton_h100.py device OUT_DIR

   runs each kernel of ``tests/fixtures/src/triton/kernels.py`` natively with Triton on
   the inputs of ``triton_cases.py`` and saves its outputs to ``OUT_DIR/<name>.npz``;
2. here::

       python3 tests/gpu/compare_triton_h100.py compare OUT_DIR [--table results.md]

   runs our AIR of the same kernels (``tests/fixtures/triton/sm80``) on the CPU runner
   with the same inputs and prints a table: bit-identical, within tolerance, or failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "src" / "triton"))

from triton_cases import CASES  # noqa: E402

SEED = 2026


def device(out: Path) -> None:
    import torch
    import triton
    from kernels import KERNELS

    out.mkdir(parents=True, exist_ok=True)
    for name, case in CASES.items():
        fn, _signature, constexprs, warps = KERNELS[name]
        args = case.make(np.random.default_rng(SEED))
        gpu = [torch.from_numpy(np.ascontiguousarray(a)).cuda() if isinstance(a, np.ndarray)
               else a.item() for a in args]
        fn[case.programs](*gpu, num_warps=warps, **constexprs)
        torch.cuda.synchronize()
        results = {f"out{k}": gpu[k].cpu().numpy() for k in case.outputs}
        np.savez(out / f"{name}.npz", device=torch.cuda.get_device_name(),
                 triton=triton.__version__, **results)
        print(f"{name}: done on {torch.cuda.get_device_name()}")


def compare(directory: Path, table: Path | None) -> int:
    import json

    import llvm_to_air

    manifest = json.loads((REPO / "tests/fixtures/triton/manifest.json").read_text())
    rows, failed = [], 0
    for name, case in CASES.items():
        saved = np.load(directory / f"{name}.npz")
        facts = manifest[name]["sm80"]
        args = case.make(np.random.default_rng(SEED))
        buffers = dict(enumerate(args))
        buffers[len(args)] = np.zeros(16, np.uint8)
        buffers[len(args) + 1] = np.zeros(16, np.uint8)
        threads = facts["num_warps"] * 32
        shared = facts["shared"]
        llvm_to_air.run(REPO / "tests/fixtures/triton/sm80" / f"{name}.ll", facts["kernel"],
                        (case.programs[0] * threads,), (threads,), buffers,
                        threadgroup_memory={0: -(-shared // 16) * 16} if shared else None)
        verdict, worst = "bit-identical", 0.0
        for k in case.outputs:
            ours, theirs = np.asarray(args[k]), saved[f"out{k}"]
            if np.array_equal(ours, theirs):
                continue
            diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
            scale = np.abs(theirs.astype(np.float64))
            worst = max(worst, float(np.max(diff / np.maximum(scale, 1e-30))))
            if np.allclose(ours, theirs, rtol=case.rtol, atol=case.atol):
                verdict = "within tolerance"
            else:
                verdict = "FAILED"
        failed += verdict == "FAILED"
        rows.append(f"| {name} | {verdict} | {worst:.2e} | {case.rtol:g} |")
        device_name = str(saved["device"])
    lines = [f"Triton {saved['triton']} on {device_name} against llvm-to-air's CPU runner",
             "", "| kernel | result | max rel. diff | rtol |", "|---|---|---:|---:|", *rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if table is not None:
        table.write_text(text)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("device", "compare"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--table", type=Path, default=None)
    args = parser.parse_args()
    if args.step == "device":
        device(args.directory)
        return 0
    return compare(args.directory, args.table)


if __name__ == "__main__":
    sys.exit(main())
