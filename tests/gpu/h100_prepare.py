"""``prepare``: build the bundle the GPU step runs (here, no GPU needed).

For every case of ``h100_cases`` (or those ``--only`` picks): seeded inputs; the *original*
fixture IR compiled to PTX for ``sm_90`` with llvmlite's NVPTX target (libdevice linked
where the module calls ``__nv_*``; checked with ``ptxas`` when one is installed); the same
fixture lowered to AIR with ``llvm_to_air`` and run on the CPU runner (the expected
outputs). The bundle holds ``manifest.json``, ``inputs.npz``, ``expected.npz``, ``ptx/``
and ``run_on_gpu.py`` (a copy of ``cuda_driver.py``, which needs only numpy and
``libcuda.so.1``): the folder is all the GPU machine needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from h100_cases import PRODUCERS, SKIPPED, all_cases, default_check

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
LIBDEVICE_CANDIDATES = [
    os.environ.get("LIBDEVICE", ""),
    "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc",
    *sorted(str(p) for p in Path("/usr/local").glob("cuda*/nvvm/libdevice/libdevice.10.bc")),
]


def _libdevice() -> bytes:
    for p in LIBDEVICE_CANDIDATES:
        if p and Path(p).is_file():
            return Path(p).read_bytes()
    raise SystemExit("libdevice.10.bc not found: set LIBDEVICE=/path/to/libdevice.10.bc")


def _entry_name(module: Any, kernel: str) -> Any:
    for fn in module.functions:
        if fn.is_declaration:
            continue
        if fn.name == kernel or fn.name.startswith(f"_Z{len(kernel)}{kernel}"):
            return fn
    raise KeyError(f"kernel {kernel} not in module")


def compile_ptx(text: str, kernel: str) -> tuple[str, str, list[dict[str, Any]], str]:
    """The original IR to PTX for sm_90. Returns (ptx, entry, params, notes)."""
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    notes = []
    if "@llvm.exp.f32(" in text:  # no NVPTX lowering for fexp in LLVM 22 (fatal error)
        text = text.replace("@llvm.exp.f32(", "@__nv_fast_expf(")
        notes.append("llvm.exp.f32 -> __nv_fast_expf")
    module = llvm.parse_assembly(text)
    machine = llvm.Target.from_triple("nvptx64-nvidia-cuda").create_target_machine(
        cpu="sm_90", opt=2)
    libdevice = any(f.is_declaration and f.name.startswith("__nv_") for f in module.functions)
    if libdevice:
        lib = llvm.parse_bitcode(_libdevice())
        lib.triple, lib.data_layout = module.triple, module.data_layout
        module.link_in(lib)
        for fn in module.functions:
            if fn.name.startswith("__nv") and not fn.is_declaration:
                fn.linkage = "internal"
        notes.append("libdevice linked")
    # Drop what nothing uses: libdevice's other functions, and the unused `threadIdx`/...
    # declarations that clang -O0 leaves (ptxas would warn of unresolved externs).
    pm = llvm.create_new_module_pass_manager()
    pm.add_global_dead_code_eliminate_pass()
    pm.run(module, llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options()))
    module.verify()
    fn = _entry_name(module, kernel)
    data = llvm.create_target_data(module.data_layout)
    params = []
    for arg in fn.arguments:
        byval = any(a.startswith(b"byval") for a in arg.attributes)
        kind = "byval" if byval else ("pointer" if arg.type.is_pointer else "value")
        size = 0 if kind == "byval" else data.get_abi_size(arg.type)
        params.append({"kind": kind, "type": str(arg.type), "size": size})
    ptx = machine.emit_assembly(module)
    for param, ptx_size in zip(params, _ptx_param_sizes(ptx, fn.name), strict=True):
        param["ptx_bytes"] = ptx_size
    return ptx, fn.name, params, ", ".join(notes)


def _ptx_param_sizes(ptx: str, entry: str) -> list[int]:
    """Bytes of each ``.param`` of PTX entry ``entry`` (what cuLaunchKernel copies)."""
    head = ptx.split(f".entry {entry}(", 1)[1].split(")", 1)[0]
    sizes = []
    for decl in filter(None, (d.strip() for d in head.split(","))):
        array = re.search(r"\.b8\s+\S+\[(\d+)\]", decl)
        scalar = re.search(r"\.[busf](8|16|32|64)\b", decl)
        if array:
            sizes.append(int(array.group(1)))
        elif scalar:
            sizes.append(int(scalar.group(1)) // 8)
        else:
            raise ValueError(f"unknown PTX parameter {decl!r}")
    return sizes


def _ptxas_check(ptx: str) -> str:
    ptxas = shutil.which("ptxas") or next(
        (str(p) for p in sorted(Path("/usr/local").glob("cuda*/bin/ptxas"))), None)
    if not ptxas:
        return "ptxas not found"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"cmp_h100_{os.getpid()}.ptx"
    tmp.write_text(ptx)
    try:
        r = subprocess.run([ptxas, "-arch=sm_90", str(tmp), "-o", os.devnull],
                           capture_output=True, text=True, timeout=120)
    finally:
        tmp.unlink(missing_ok=True)
    return "ok" if r.returncode == 0 and not r.stderr.strip() else \
        f"rc={r.returncode} {r.stderr.strip()[:300]}"


def _dup(bindings: dict[int, Any]) -> dict[int, Any]:
    """Copy the bindings, keeping aliasing (MLIR alloc/aligned pointers share an array)."""
    memo: dict[int, Any] = {}
    out = {}
    for k, v in bindings.items():
        if isinstance(v, np.ndarray):
            out[k] = memo.setdefault(id(v), v.copy())
        else:
            out[k] = v
    return out


def prepare(bundle: Path, only: list[str]) -> None:
    from llvm_to_air.api import compile as lower_compile
    from llvm_to_air.runner import run

    if bundle.exists():
        shutil.rmtree(bundle)
    (bundle / "ptx").mkdir(parents=True)
    inputs: dict[str, np.ndarray] = {}
    expected: dict[str, np.ndarray] = {}
    manifest: dict[str, Any] = {"cases": [], "skipped": [], "failed_prepare": []}
    for case in all_cases():
        if only and not any(o in case.name for o in only):
            continue
        t0 = time.perf_counter()
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        bindings = case.make(rng)
        text = (FIXTURES / case.variant / case.file).read_text()
        entry_info: dict[str, Any] = {
            "name": case.name, "slug": case.slug, "variant": case.variant,
            "producer": PRODUCERS[case.variant], "fixture": f"{case.variant}/{case.file}",
            "kernel": case.kernel, "grid": list(case.grid), "threadgroup": list(case.threadgroup),
            "note": case.note}
        try:
            ptx, entry, params, ptx_notes = compile_ptx(text, case.kernel)
            ptxas = _ptxas_check(ptx)
            gpu_bindings = _dup(bindings)
            air = lower_compile(text, f"{case.variant}/{case.file}", emit="ll",
                                kernels=[case.kernel] if case.lower_alone else ()).output
            air = air.encode() if isinstance(air, str) else air  # a str would be a path
            run(air, case.kernel, case.grid, case.threadgroup, bindings,
                threadgroup_memory=dict(case.threadgroup_memory))
        except Exception as exc:  # a lowering/runner/PTX failure is a finding: record it
            manifest["failed_prepare"].append({**entry_info, "error": f"{type(exc).__name__}: "
                                               f"{str(exc)[:500]}"})
            print(f"FAILED {case.name}: {exc}", file=sys.stderr)
            continue
        n_bind = len(bindings) - len(case.globals)
        if n_bind != len(params):
            raise SystemExit(f"{case.name}: {len(params)} kernel parameters, {n_bind} bindings")
        # parameters of the original kernel, bound as CUDA would: bindings 0..n-1 in order
        keys: dict[int, str] = {}   # id(array) -> key of the device buffer
        launch_params: list[dict[str, Any]] = []
        compared: list[dict[str, Any]] = []
        for index, param in enumerate(params):
            value = gpu_bindings[index]
            if param["kind"] == "pointer":
                if param["ptx_bytes"] != 8:
                    raise SystemExit(f"{case.name}: PTX parameter {index} is not a pointer")
                if not isinstance(value, np.ndarray):
                    raise SystemExit(f"{case.name}: binding {index} must be an array")
                if id(value) not in keys:
                    key = f"{case.slug}__b{index}"
                    keys[id(value)] = key
                    inputs[key] = value
                    expected[key] = bindings[index]
                    compared.append({"key": key, "index": index,
                                     "check": case.checks.get(index, default_check(value))})
                launch_params.append({"kind": "buffer", "key": keys[id(value)]})
            else:
                raw = np.asarray(value).tobytes()
                if len(raw) != param["ptx_bytes"] or (param["kind"] == "value"
                                                       and len(raw) != param["size"]):
                    raise SystemExit(f"{case.name}: binding {index} is {len(raw)} bytes, "
                                     f"parameter {param['type']} takes {param['size']} "
                                     f"(PTX .param: {param['ptx_bytes']})")
                launch_params.append({"kind": "bytes", "hex": raw.hex(), "type": param["type"]})
        global_params = []
        for index, gname in case.globals.items():
            key = f"{case.slug}__g{index}"
            inputs[key] = gpu_bindings[index]
            expected[key] = bindings[index]
            global_params.append({"name": gname, "key": key})
            compared.append({"key": key, "index": index,
                             "check": case.checks.get(index, default_check(bindings[index]))})
        (bundle / "ptx" / f"{case.slug}.ptx").write_text(ptx)
        entry_info.update({
            "entry": entry, "ptx": f"ptx/{case.slug}.ptx", "ptx_notes": ptx_notes,
            "ptxas_sm_90": ptxas,
            "grid_dim": [g // t for g, t in zip(case.grid, case.threadgroup, strict=True)],
            "block_dim": list(case.threadgroup),
            "shared_bytes": sum(case.threadgroup_memory.values()),
            "params": launch_params, "globals": global_params, "compared": compared,
            "prepare_s": round(time.perf_counter() - t0, 2)})
        for g, t in zip(case.grid, case.threadgroup, strict=True):
            if g % t:
                raise SystemExit(f"{case.name}: grid {case.grid} not a multiple of the "
                                 f"threadgroup {case.threadgroup}")
        manifest["cases"].append(entry_info)
        print(f"prepared {case.name:45s} {entry_info['prepare_s']:6.2f}s ptxas:{ptxas}")
    manifest["skipped"] = [dict(s) for s in SKIPPED]
    np.savez_compressed(bundle / "inputs.npz", **inputs)
    np.savez_compressed(bundle / "expected.npz", **expected)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.copy(HERE / "cuda_driver.py", bundle / "run_on_gpu.py")
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    print(f"bundle {bundle}: {len(manifest['cases'])} cases, "
          f"{len(manifest['failed_prepare'])} failed, {size / 2**20:.2f} MiB")

