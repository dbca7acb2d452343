#!/usr/bin/env python3
"""Compare Triton kernels run natively on an NVIDIA H100 with our AIR on the CPU runner.

Run by hand; CI has no GPU and pytest does not collect this file. Two steps::

    python3 tests/gpu/compare_triton_h100.py prepare --bundle B   # here: no GPU, no Triton
    python3 B/compare_triton_h100.py gpu --bundle B --out OUT      # on the H100 (Triton, torch)

``prepare`` makes seeded inputs for each kernel of ``tests/fixtures/src/triton/kernels.py``,
lowers its committed sm_80 fixture with ``llvm_to_air.triton.lower_triton_ir`` and runs it on
the CPU runner (the "ours" outputs); it writes ``B/<case>.npz`` plus copies of this script
and of ``kernels.py``. ``gpu`` launches the same ``@triton.jit`` function natively
(``kernel[grid](...)`` with the same constexprs and inputs), compares every output array
with ours and writes ``OUT/triton_h100.md`` and ``OUT/triton_h100.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

# case -> (kernel key, input maker, programs, tolerance (rtol, atol), output argument names)
Maker = Callable[[np.random.Generator], list[Any]]


def _f32(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def _angles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Angles in [-4, 4], a quarter of them huge (to 1e38: the Payne-Hanek reduction)."""
    x = _f32(rng, n) * 4
    x[: n // 4] = (rng.uniform(-1, 1, n // 4) * 10.0 ** rng.integers(4, 39, n // 4))
    return x.astype(np.float32)


CASES: dict[str, tuple[Maker, tuple[int, ...], tuple[float, float], tuple[int, ...]]] = {
    "vadd": (lambda r: [_f32(r, 1000), _f32(r, 1000), np.zeros(1000, np.float32), 1000],
             (4,), (0.0, 0.0), (2,)),
    "axpy_f16": (lambda r: [_f32(r, 700).astype(np.float16), _f32(r, 700).astype(np.float16),
                            1.5, 700], (3,), (1e-3, 1e-3), (1,)),
    "row_softmax": (lambda r: [np.zeros(500, np.float32), _f32(r, 500), 100, 100, 100], (5,),
                    (1e-5, 1e-6), (0,)),
    "block_sum": (lambda r: [_f32(r, 1000), np.zeros(4, np.float32), 1000], (4,),
                  (1e-5, 1e-5), (1,)),
    "prefix_sum": (lambda r: [r.integers(-50, 50, 300).astype(np.int32),
                              np.zeros(300, np.int32), 300], (3,), (0.0, 0.0), (1,)),
    "atomic_hist": (lambda r: [_f32(r, 500), np.zeros(1, np.float32), np.zeros(4, np.int32),
                               500], (4,), (1e-4, 1e-4), (1, 2)),
    "gelu_silu": (lambda r: [_f32(r, 600) * 3, np.zeros(600, np.float32),
                             np.zeros(600, np.float32), 600], (3,), (1e-5, 1e-6), (1, 2)),
    "dropout": (lambda r: [_f32(r, 1000), np.zeros(1000, np.float32), 1000, 0.5, 123], (4,),
                (1e-6, 0.0), (1,)),
    "layer_norm": (lambda r: [_f32(r, 400), np.zeros(400, np.float32), _f32(r, 100),
                              _f32(r, 100), 100, 100, 1e-5], (4,), (1e-4, 1e-5), (1,)),
    "bf16_scale": (lambda r: [(_f32(r, 300).view(np.uint32) >> 16).astype(np.uint16),
                              np.zeros(300, np.uint16), 300], (2,), (1 / 128, 0.0), (1,)),
    # tl.dot: ours is the sm_80 mma.sync fixture, the H100's native build uses sm_90 wgmma;
    # f32 operands go through tf32 on both sides (the rounding of the dropped bits may
    # differ, hence the wider tolerance; measured: 5.7e-6)
    "matmul_f16": (lambda r: [_f32(r, 64 * 32).astype(np.float16),
                              _f32(r, 32 * 64).astype(np.float16),
                              np.zeros(64 * 64, np.float32), 64, 64, 32], (2, 2),
                   (1e-4, 1e-4), (2,)),
    "matmul_f32": (lambda r: [_f32(r, 64 * 32), _f32(r, 32 * 64),
                              np.zeros(64 * 64, np.float32), 64, 64, 32], (2, 2),
                   (1e-2, 1e-2), (2,)),
    # libdevice sin/cos (huge angles: its fp64 chain, computed exactly in integers by us)
    # and tl.randn (Philox, Box-Muller)
    "trig_noise": (lambda r: [_angles(r, 1024), np.zeros(1024, np.float32),
                              np.zeros(1024, np.float32), np.zeros(1024, np.float32), 1024,
                              1234], (4,), (1e-5, 1e-6), (1, 2, 3)),
    # exp2/log2/rsqrt are approximations on the GPU (ex2.approx, lg2.approx, rsqrt.approx)
    "fast_math": (lambda r: [_f32(r, 1000) * 3, np.zeros(1000, np.float32), 1000], (4,),
                  (1e-5, 1e-5), (1,)),
    "counter_lock": (lambda r: [np.zeros(1, np.int32), np.zeros(1, np.int32)], (16,),
                     (0.0, 0.0), (0, 1)),
}


# tl.dot of bf16 (into f32), int8 (into int32, exact) and f16 into an f16 accumulator (its
# rounding inside the tensor core is not specified: a few f16 ulps at |D| ~ 30 allowed)
CASES |= {
    "dot_bf16": (lambda r: [(_f32(r, 64 * 64).view(np.uint32) >> 16).astype(np.uint16),
                            (_f32(r, 64 * 64).view(np.uint32) >> 16).astype(np.uint16),
                            np.zeros(64 * 64, np.float32), 64, 64, 64], (2, 2),
                 (1e-4, 1e-4), (2,)),
    "dot_i8": (lambda r: [r.integers(-128, 128, 64 * 64).astype(np.int8),
                          r.integers(-128, 128, 64 * 64).astype(np.int8),
                          np.zeros(64 * 64, np.int32), 64, 64, 64], (2, 2), (0.0, 0.0), (2,)),
    "dot_f16_acc": (lambda r: [_f32(r, 64 * 64).astype(np.float16),
                               _f32(r, 64 * 64).astype(np.float16),
                               np.zeros(64 * 64, np.float16), 64, 64, 64], (2, 2),
                    (4e-3, 3e-2), (2,)),
}


def _as_float(name: str, sig: str, a: np.ndarray) -> np.ndarray:
    if sig == "*bf16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float64)


def prepare(bundle: Path) -> None:
    sys.path.insert(0, str(HERE.parent.parent))
    from llvm_to_air.triton import lower_triton_ir

    fixtures = HERE.parent / "fixtures" / "triton" / "sm_80"
    bundle.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, bundle / "compare_triton_h100.py")
    shutil.copy(HERE.parent / "fixtures" / "src" / "triton" / "kernels.py", bundle / "kernels.py")
    for case, (make, programs, _tol, _outs) in CASES.items():
        facts = json.loads((fixtures / f"{case}.json").read_text())
        kernel = lower_triton_ir((fixtures / f"{case}.ll").read_text(), kernel=facts["kernel"],
                                 arguments=[n for n, _ in facts["signature"]],
                                 signature=[t for _, t in facts["signature"]],
                                 num_warps=facts["num_warps"], warp_size=32,
                                 shared=facts["shared"], file=f"{case}.ll")
        args = make(np.random.default_rng(2026))
        inputs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        kernel[programs](*args)
        np.savez(bundle / f"{case}.npz",
                 **{f"in{k}": np.asarray(a) for k, a in enumerate(inputs)},
                 **{f"ours{k}": np.asarray(a) for k, a in enumerate(args)})
        print(f"prepared {case}")


def gpu(bundle: Path, out: Path) -> None:
    import torch
    import triton

    sys.path.insert(0, str(bundle))
    from kernels import KERNELS  # type: ignore[import-not-found]

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for case, (_make, programs, (rtol, atol), outs) in CASES.items():
        fn, signature, constexprs = KERNELS[case]
        sigs = list(signature.values())
        data = np.load(bundle / f"{case}.npz")
        args: list[Any] = []
        for k, sig in enumerate(sigs):
            a = data[f"in{k}"]
            if sig.startswith("*"):
                t = torch.from_numpy(a.view(np.int16) if sig == "*bf16" else a).cuda()
                args.append(t.view(torch.bfloat16) if sig == "*bf16" else t)
            else:
                args.append(a.item())
        fn[programs](*args, **constexprs)
        torch.cuda.synchronize()
        worst, ok = 0.0, True
        for k in outs:
            t = args[k]
            native = (t.view(torch.int16).cpu().numpy().view(np.uint16) if sigs[k] == "*bf16"
                      else t.cpu().numpy())
            ours = data[f"ours{k}"]
            a, b = _as_float("", sigs[k], native), _as_float("", sigs[k], ours)
            err = float(np.max(np.abs(a - b) / (atol + rtol * np.abs(b) + 1e-30))) \
                if (rtol or atol) else float(np.max(a != b))
            worst = max(worst, float(np.max(np.abs(a - b))))
            ok = ok and (np.array_equal(a, b) if not (rtol or atol) else err <= 1.0)
        rows.append({"kernel": case, "outputs": len(outs), "max_abs_diff": worst,
                     "rtol": rtol, "atol": atol, "pass": bool(ok)})
        print(case, "pass" if ok else "FAIL", worst)
    device = torch.cuda.get_device_name(0)
    (out / "triton_h100.json").write_text(json.dumps({"device": device, "triton":
                                                      triton.__version__, "rows": rows},
                                                     indent=1) + "\n")
    lines = [f"Device: {device}, Triton {triton.__version__}, native sm_90 launch vs our AIR "
             "(from the sm_80 fixture) on the CPU runner, same inputs.", "",
             "| kernel | outputs | max abs diff | tolerance (rtol, atol) | result |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['kernel']} | {r['outputs']} | {r['max_abs_diff']:.3g} | "
                     f"{r['rtol']}, {r['atol']} | {'pass' if r['pass'] else 'FAIL'} |")
    (out / "triton_h100.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "gpu"])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    ns = parser.parse_args()
    if ns.step == "prepare":
        prepare(ns.bundle)
    else:
        gpu(ns.bundle, ns.out or ns.bundle / "results")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
