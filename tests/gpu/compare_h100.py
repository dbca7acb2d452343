#!/usr/bin/env python3
"""Compare the CPU runner with a real NVIDIA GPU (H100) on the CUDA and MLIR-NVVM fixtures.

Run by hand; CI has no GPU and pytest does not collect this folder (no ``test_`` files).
Three steps (see ``tests/gpu/README.md``)::

    python3 tests/gpu/compare_h100.py prepare                # here: no GPU needed
    python3 .gpubundle/run_on_gpu.py --out DIR               # on the GPU machine
    python3 tests/gpu/compare_h100.py compare --gpu-dir DIR  # here again: writes results/

The concerns live apart: ``h100_cases.py`` (what runs, with which inputs and tolerances),
``h100_prepare.py`` (PTX, runner outputs, the bundle), ``cuda_driver.py`` (the GPU step,
copied into the bundle as ``run_on_gpu.py``) and this file (the command line and
``compare``, which checks the GPU's outputs against the runner's and writes
``tests/gpu/results/h100_comparison.md`` and ``h100_comparison.json``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BUNDLE = REPO / ".gpubundle"
RESULTS = HERE / "results"
Check = dict[str, Any]

# ------------------------------------------------------------------ compare (local)


def compare_arrays(gpu: np.ndarray, ref: np.ndarray, check: Check) -> dict[str, Any]:
    mode = check["mode"]
    res: dict[str, Any] = {"mode": mode, "elements": int(ref.size)}
    if check.get("why"):
        res["why"] = check["why"]
    if mode == "skip":
        res.update(elements=0, passed=True, max_abs=None, max_rel=None)
        return res
    if ref.dtype.names:  # structured: compare raw bytes
        gpu, ref = gpu.view(np.uint8), ref.view(np.uint8)
    g, r = gpu.reshape(-1), ref.reshape(-1)
    keep = np.ones(r.size, bool)
    for i in check.get("ignore", []):
        keep[i] = False
    res["elements"] = int(keep.sum())
    is_float = r.dtype.kind == "f"
    g64, r64 = g[keep].astype(np.float64), r[keep].astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(g64 - r64)
        both_nan = np.isnan(g64) & np.isnan(r64)
        diff[both_nan] = 0
        nonzero = r64 != 0  # relative difference where the runner's value is not zero
        rel = diff[nonzero] / np.abs(r64[nonzero])
    res["max_abs"] = float(np.nanmax(diff)) if diff.size else 0.0
    res["max_rel"] = float(np.nanmax(rel)) if rel.size else 0.0
    res["mismatches"] = int(np.count_nonzero(g64 != r64) - np.count_nonzero(both_nan))
    if mode == "exact":
        passed = res["mismatches"] == 0 and not np.isnan(diff).any()
    elif mode == "close":
        passed = bool(np.allclose(g64, r64, rtol=check["rtol"], atol=check["atol"],
                                  equal_nan=check.get("equal_nan", False)))
        res["tolerance"] = f"rtol {check['rtol']:g}, atol {check['atol']:g}"
    elif mode == "fraction":
        frac = float(np.mean(g64 == r64))
        res["fraction_equal"] = frac
        passed = frac >= check["min_equal"]
        res["tolerance"] = f">= {check['min_equal']:.0%} equal"
    else:
        raise ValueError(mode)
    if check.get("ignore") and ref.dtype.kind in "iu":
        # the order-dependent entries must still hold a valid thread id on both
        for i in check["ignore"]:
            passed &= bool(0 <= int(g[i]) < 1 << 16) and bool(0 <= int(r[i]) < 1 << 16)
    res["float"] = is_float
    res["passed"] = bool(passed)
    return res


def compare(bundle: Path, gpu_dir: Path, results: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    log = json.loads((gpu_dir / "gpu_log.json").read_text())
    gpu = np.load(gpu_dir / "gpu_results.npz")
    expected = np.load(bundle / "expected.npz")
    rows = []
    for case in manifest["cases"]:
        run_info = log["cases"].get(case["name"], {"ok": False, "error": "no result"})
        row: dict[str, Any] = {k: case[k] for k in ("name", "producer", "fixture", "kernel",
                                                    "entry", "grid", "threadgroup", "note",
                                                    "ptx_notes", "ptxas_sm_90")}
        row["gpu"] = run_info
        row["buffers"] = []
        if run_info.get("ok"):
            for comp in case["compared"]:
                r = compare_arrays(gpu[comp["key"]], expected[comp["key"]], comp["check"])
                r["binding"] = comp["index"]
                row["buffers"].append(r)
            row["passed"] = all(b["passed"] for b in row["buffers"]) and \
                run_info.get("guards_intact", True)
        else:
            row["passed"] = False
        rows.append(row)
    results.mkdir(parents=True, exist_ok=True)
    summary = {"device": log.get("device"), "nvidia_smi": log.get("nvidia_smi"),
               "gpu_wall_s": log.get("wall_s"), "skipped": manifest["skipped"],
               "failed_prepare": manifest["failed_prepare"], "cases": rows}
    (results / "h100_comparison.json").write_text(json.dumps(summary, indent=1) + "\n")
    shutil.copyfile(gpu_dir / "gpu_log.json", results / "h100_gpu_log.json")  # the GPU's own log
    (results / "h100_comparison.md").write_text(_markdown(summary))
    passed = sum(r["passed"] for r in rows)
    print(f"{passed}/{len(rows)} cases pass; wrote {results}")
    return 0 if passed == len(rows) else 1


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.2g}"


def _markdown(s: dict[str, Any]) -> str:
    dev = s.get("device") or {}
    lines = [
        "# CPU runner vs NVIDIA H100: the original IR as PTX on the GPU, our AIR on the runner",
        "",
        "Generated by `tests/gpu/compare_h100.py compare`; do not edit by hand.",
        "",
        f"- GPU: **{dev.get('name', '?')}** (compute capability {dev.get('cc', '?')}), "
        f"CUDA driver API {dev.get('cuda', '?')}; nvidia-smi: `{s.get('nvidia_smi')}`",
        f"- GPU step wall time: {s.get('gpu_wall_s')} s for {len(s['cases'])} cases",
        "- PTX: llvmlite 0.50 (LLVM 22) NVPTX backend, `sm_90`, from the fixture as it is "
        "(libdevice 10 linked where it calls `__nv_*`); loaded with `cuModuleLoadDataEx`.",
        "- Expected: `llvm_to_air` lowering to AIR, run on the CPU runner with the same "
        "inputs (fixed seeds). Every device buffer of the kernel is compared (inputs too).",
        "- Check: `exact` = bit-equal; `close` = `numpy.allclose` with the tolerance shown; "
        "`fraction` = share of equal elements. Max rel = max |gpu-cpu| / |cpu| over"
        " elements where cpu != 0 (float buffers only).",
        "",
        "| case | producer | grid / threadgroup (threads) | elements | max abs | max rel "
        "| check | result |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    notes = []
    for r in s["cases"]:
        grid = "x".join(map(str, r["grid"])) + " / " + "x".join(map(str, r["threadgroup"]))
        if not r["gpu"].get("ok"):
            lines.append(f"| `{r['name']}` | {r['producer']} | {grid} | - | - | - | - | "
                         f"**FAIL** (GPU: {r['gpu'].get('error', '?')[:80]}) |")
            continue
        bufs = [b for b in r["buffers"] if b["mode"] != "skip"]
        elements = sum(b["elements"] for b in bufs)
        max_abs = max((b["max_abs"] for b in bufs), default=0.0)
        max_rel = max((b["max_rel"] for b in bufs if b.get("float")), default=None)
        modes = sorted({b.get("tolerance", b["mode"]) for b in bufs})
        result = "PASS" if r["passed"] else "**FAIL**"
        if not r["gpu"].get("guards_intact", True):
            result += " (guard bytes overwritten)"
        lines.append(f"| `{r['name']}` | {r['producer']} | {grid} | {elements} | "
                     f"{_fmt(max_abs)} | {_fmt(max_rel) if max_rel is not None else '(int)'} | "
                     f"{'; '.join(modes)} | {result} |")
        why = sorted({f"binding {b['binding']}: {b['why']}" for b in r["buffers"]
                      if b.get("why")})
        extra = [x for x in (r.get("note"),) if x]
        if why or extra:
            notes.append(f"- `{r['name']}`: " + "; ".join(extra + why))
    passed = sum(r["passed"] for r in s["cases"])
    inexact = [r["name"] for r in s["cases"] if r["gpu"].get("ok") and any(
        b.get("mismatches") for b in r["buffers"] if b["mode"] != "skip")]
    lines += ["", f"**{passed} of {len(s['cases'])} cases pass**; "
              f"{len(s['cases']) - len(inexact)} are bit-identical in every compared buffer. "
              "Not bit-identical (within the tolerance shown): "
              + ", ".join(f"`{n}`" for n in inexact) + ".", ""]
    if notes:
        lines += ["Per-case notes (tolerances and what is not compared):", "", *notes, ""]
    if s["skipped"] or s["failed_prepare"]:
        lines += ["Not compared:", ""]
        for k in s["skipped"]:
            lines.append(f"- `{k['fixture']}`: {k['why']}")
        for k in s["failed_prepare"]:
            lines.append(f"- `{k['name']}`: failed before the GPU step: {k['error'][:200]}")
        lines.append("")
    lines += [
        "Reproduce (from the repository root; the GPU step needs only numpy and "
        "`libcuda.so.1`):",
        "",
        "```sh",
        "python3 tests/gpu/compare_h100.py prepare            # writes .gpubundle/ (no GPU)",
        "# on the GPU machine, with .gpubundle/ copied along:",
        "OUT=gpu-out python3 .gpubundle/run_on_gpu.py          # writes gpu-out/gpu_results.npz",
        "python3 tests/gpu/compare_h100.py compare --gpu-dir gpu-out",
        "```",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build the bundle here (no GPU)")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument("--only", nargs="*", default=[], help="substrings of case names")
    p = sub.add_parser("gpu", help="run the bundle on the GPU (as BUNDLE/run_on_gpu.py does)")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument("--out", type=Path, default=Path("gpu-out"))
    p = sub.add_parser("compare", help="compare the GPU outputs with the runner's")
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    p.add_argument("--gpu-dir", type=Path, required=True)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "prepare":
        sys.path.insert(0, str(REPO))
        from h100_prepare import prepare

        prepare(args.bundle, args.only)
        return 0
    if args.cmd == "gpu":
        import subprocess

        return subprocess.call([sys.executable, str(args.bundle / "run_on_gpu.py"),
                                "--bundle", str(args.bundle), "--out", str(args.out)])
    return compare(args.bundle, args.gpu_dir, args.results)


if __name__ == "__main__":
    sys.exit(main())
