#!/usr/bin/env python3
"""The GPU step of the H100 comparison: run a prepared bundle's PTX kernels on an NVIDIA GPU.

``h100_prepare.py`` copies this file into the bundle as ``run_on_gpu.py``; it needs only
Python, numpy and ``libcuda.so.1`` (no llvmlite, no ``llvm_to_air``, no CUDA toolkit) and
imports nothing else from the repository, so the bundle folder is all the GPU machine needs::

    python3 BUNDLE/run_on_gpu.py --out DIR     # writes DIR/gpu_results.npz and gpu_log.json

It loads each PTX with the CUDA driver API through ctypes, launches the kernel with the
bundle's inputs (CUDA's parameter ABI: device pointers, by-value scalars and vectors,
``byval`` structs as bytes; ``__device__`` globals through ``cuModuleGetGlobal``), and
writes every device buffer back. Each buffer sits between guard bytes that are checked
after the launch. Cases run in worker processes, so a faulting kernel cannot spoil the
ones after it; a case that makes no progress for ``CASE_TIMEOUT_S`` is killed.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

GUARD = 256          # guard bytes before and after every device buffer
GUARD_BYTE = 0xA5
CASE_TIMEOUT_S = 40  # a case that makes no progress for this long is killed
TOTAL_BUDGET_S = 200  # the GPU step stops starting cases after this long

STICKY = {700, 701, 702, 714, 715, 716, 717, 718, 719, 720, 999}


class CudaError(RuntimeError):
    def __init__(self, code: int, what: str, name: str, log: str = "") -> None:
        super().__init__(f"{what}: CUDA error {code} {name}{' ' + log if log else ''}")
        self.code = code


class Driver:
    """The few CUDA driver API calls we need, through ctypes."""

    def __init__(self) -> None:
        c = ctypes
        self.lib = lib = c.CDLL("libcuda.so.1")
        u64, sz, vp, ci, cu = c.c_uint64, c.c_size_t, c.c_void_p, c.c_int, c.c_uint
        sigs = {
            "cuInit": [cu], "cuDeviceGet": [c.POINTER(ci), ci],
            "cuDeviceGetName": [c.c_char_p, ci, ci], "cuDriverGetVersion": [c.POINTER(ci)],
            "cuDeviceGetAttribute": [c.POINTER(ci), ci, ci],
            "cuDevicePrimaryCtxRetain": [c.POINTER(vp), ci], "cuCtxSetCurrent": [vp],
            "cuModuleLoadDataEx": [c.POINTER(vp), c.c_char_p, cu, c.POINTER(ci),
                                   c.POINTER(vp)],
            "cuModuleGetFunction": [c.POINTER(vp), vp, c.c_char_p],
            "cuModuleGetGlobal_v2": [c.POINTER(u64), c.POINTER(sz), vp, c.c_char_p],
            "cuModuleUnload": [vp], "cuMemAlloc_v2": [c.POINTER(u64), sz],
            "cuMemFree_v2": [u64], "cuMemsetD8_v2": [u64, c.c_ubyte, sz],
            "cuMemcpyHtoD_v2": [u64, vp, sz], "cuMemcpyDtoH_v2": [vp, u64, sz],
            "cuLaunchKernel": [vp, cu, cu, cu, cu, cu, cu, cu, vp, c.POINTER(vp), c.POINTER(vp)],
            "cuCtxSynchronize": [], "cuGetErrorName": [ci, c.POINTER(c.c_char_p)],
            "cuFuncGetAttribute": [c.POINTER(ci), ci, vp],
        }
        for name, args in sigs.items():
            getattr(lib, name).argtypes = args
            getattr(lib, name).restype = ci
        self.check(lib.cuInit(0), "cuInit")
        self.dev = ci()
        self.check(lib.cuDeviceGet(c.byref(self.dev), 0), "cuDeviceGet")
        name = c.create_string_buffer(256)
        self.check(lib.cuDeviceGetName(name, 256, self.dev), "cuDeviceGetName")
        self.name = name.value.decode()
        ver = ci()
        self.check(lib.cuDriverGetVersion(c.byref(ver)), "cuDriverGetVersion")
        self.cuda_version = f"{ver.value // 1000}.{ver.value % 1000 // 10}"
        major, minor = ci(), ci()
        lib.cuDeviceGetAttribute(c.byref(major), 75, self.dev)  # COMPUTE_CAPABILITY_MAJOR
        lib.cuDeviceGetAttribute(c.byref(minor), 76, self.dev)
        self.cc = f"{major.value}.{minor.value}"
        self.ctx = vp()
        self.check(lib.cuDevicePrimaryCtxRetain(c.byref(self.ctx), self.dev), "ctx retain")
        self.check(lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    def check(self, code: int, what: str, log: str = "") -> None:
        if code:
            name = ctypes.c_char_p()
            self.lib.cuGetErrorName(code, ctypes.byref(name))
            raise CudaError(code, what, (name.value or b"?").decode(), log)

    def load(self, ptx: bytes) -> ctypes.c_void_p:
        c = ctypes
        err, info = c.create_string_buffer(8192), c.create_string_buffer(8192)
        opts = (c.c_int * 4)(5, 6, 3, 4)  # CU_JIT_{ERROR,INFO}_LOG_BUFFER(_SIZE_BYTES)
        vals = (c.c_void_p * 4)(c.cast(err, c.c_void_p), c.c_void_p(8192),
                                c.cast(info, c.c_void_p), c.c_void_p(8192))
        mod = c.c_void_p()
        code = self.lib.cuModuleLoadDataEx(c.byref(mod), ptx + b"\0", 4, opts, vals)
        self.check(code, "cuModuleLoadDataEx", err.value.decode(errors="replace"))
        return mod


def run_case(drv: Driver, bundle: Path, case: dict[str, Any], inputs: Any) -> dict[str, Any]:
    c, lib = ctypes, drv.lib
    mod = drv.load((bundle / case["ptx"]).read_bytes())
    allocs: list[int] = []
    out: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    try:
        fn = c.c_void_p()
        drv.check(lib.cuModuleGetFunction(c.byref(fn), mod, case["entry"].encode()),
                  "cuModuleGetFunction")
        regs = c.c_int()
        lib.cuFuncGetAttribute(c.byref(regs), 4, fn)  # CU_FUNC_ATTRIBUTE_NUM_REGS
        info["registers"] = regs.value
        device: dict[str, tuple[int, int]] = {}   # key -> (allocation, bytes)
        for p in case["params"]:
            if p["kind"] == "buffer" and p["key"] not in device:
                host = np.ascontiguousarray(inputs[p["key"]])
                ptr = c.c_uint64()
                total = host.nbytes + 2 * GUARD
                drv.check(lib.cuMemAlloc_v2(c.byref(ptr), total), "cuMemAlloc")
                allocs.append(ptr.value)
                drv.check(lib.cuMemsetD8_v2(ptr.value, GUARD_BYTE, total), "cuMemsetD8")
                drv.check(lib.cuMemcpyHtoD_v2(ptr.value + GUARD, host.ctypes.data, host.nbytes),
                          "cuMemcpyHtoD")
                device[p["key"]] = (ptr.value, host.nbytes)
        for g in case["globals"]:
            ptr, size = c.c_uint64(), c.c_size_t()
            drv.check(lib.cuModuleGetGlobal_v2(c.byref(ptr), c.byref(size), mod,
                                               g["name"].encode()), f"global {g['name']}")
            host = np.ascontiguousarray(inputs[g["key"]])
            if size.value != host.nbytes:
                raise RuntimeError(f"global {g['name']} is {size.value} bytes, "
                                   f"binding {host.nbytes}")
            drv.check(lib.cuMemcpyHtoD_v2(ptr.value, host.ctypes.data, host.nbytes), "HtoD")
            device[g["key"]] = (ptr.value - GUARD, host.nbytes)  # no guards around globals
        storage = []
        for p in case["params"]:
            if p["kind"] == "buffer":
                storage.append(c.c_uint64(device[p["key"]][0] + GUARD))
            else:
                raw = bytes.fromhex(p["hex"])
                storage.append(c.create_string_buffer(raw, max(len(raw), 8)))
        argv = (c.c_void_p * max(1, len(storage)))(
            *[c.cast(c.pointer(s), c.c_void_p) if isinstance(s, c.c_uint64)
              else c.cast(s, c.c_void_p) for s in storage])
        gx, gy, gz = (case["grid_dim"] + [1, 1])[:3]
        bx, by, bz = (case["block_dim"] + [1, 1])[:3]
        t0 = time.perf_counter()
        drv.check(lib.cuLaunchKernel(fn, gx, gy, gz, bx, by, bz, case["shared_bytes"], None,
                                     argv, None), "cuLaunchKernel")
        drv.check(lib.cuCtxSynchronize(), "cuCtxSynchronize")
        info["kernel_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        guards_ok = True
        for key, (ptr, nbytes) in device.items():
            ref = inputs[key]
            if key.split("__")[-1].startswith("g"):
                res = np.empty_like(ref)
                drv.check(lib.cuMemcpyDtoH_v2(res.ctypes.data, ptr + GUARD, nbytes), "DtoH")
            else:
                raw = np.empty(nbytes + 2 * GUARD, np.uint8)
                drv.check(lib.cuMemcpyDtoH_v2(raw.ctypes.data, ptr, raw.nbytes), "DtoH")
                guard = np.concatenate([raw[:GUARD], raw[GUARD + nbytes:]])
                guards_ok &= bool((guard == GUARD_BYTE).all())
                res = raw[GUARD:GUARD + nbytes].view(ref.dtype).reshape(ref.shape)
            out[key] = res
        info["guards_intact"] = guards_ok
        return {"ok": True, "info": info, "outputs": out}
    finally:
        for a in allocs:
            lib.cuMemFree_v2(a)
        lib.cuModuleUnload(mod)


def gpu_worker(bundle: Path, work: Path, start: int) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    inputs = np.load(bundle / "inputs.npz")
    drv = Driver()
    progress = (work / "progress.jsonl").open("a")

    def say(**kw: Any) -> None:
        progress.write(json.dumps(kw) + "\n")
        progress.flush()

    say(event="device", name=drv.name, cuda=drv.cuda_version, cc=drv.cc)
    for index in range(start, len(manifest["cases"])):
        case = manifest["cases"][index]
        say(event="start", index=index, name=case["name"])
        try:
            res = run_case(drv, bundle, case, inputs)
            np.savez(work / f"{case['slug']}.npz", **res["outputs"])
            say(event="done", index=index, name=case["name"], ok=True, **res["info"])
        except CudaError as exc:
            say(event="done", index=index, name=case["name"], ok=False, error=str(exc))
            if exc.code in STICKY:
                return 3  # context is dead: the parent starts a new worker
        except Exception as exc:
            say(event="done", index=index, name=case["name"], ok=False,
                error=f"{type(exc).__name__}: {exc}")
    return 0


def gpu_main(bundle: Path, out: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    n = len(manifest["cases"])
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu_work_{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    log: dict[str, Any] = {"cases": {}}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30)
        log["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except Exception as exc:
        log["nvidia_smi"] = f"unavailable: {exc}"
    print("nvidia-smi:", log["nvidia_smi"], flush=True)
    t_start = time.monotonic()
    index = 0
    seen = 0
    while index < n:
        if time.monotonic() - t_start > TOTAL_BUDGET_S:
            for k in range(index, n):
                log["cases"][manifest["cases"][k]["name"]] = {"ok": False, "error": "not run "
                                                              "(time budget)"}
            break
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "gpu-worker",
                                 "--bundle", str(bundle), "--work", str(work),
                                 "--start", str(index)])
        current, last = index, time.monotonic()
        while True:
            rc = proc.poll()
            lines = (work / "progress.jsonl").read_text().splitlines() \
                if (work / "progress.jsonl").exists() else []
            for line in lines[seen:]:
                ev = json.loads(line)
                last = time.monotonic()
                if ev["event"] == "device":
                    log["device"] = {k: ev[k] for k in ("name", "cuda", "cc")}
                elif ev["event"] == "start":
                    current = ev["index"]
                elif ev["event"] == "done":
                    log["cases"][ev["name"]] = {k: v for k, v in ev.items()
                                                if k not in ("event", "name", "index")}
                    print(f"{ev['name']:45s} {'ok' if ev['ok'] else 'ERROR ' + ev['error']}",
                          flush=True)
                    current = ev["index"] + 1
            seen = len(lines)
            if rc is not None:
                break
            if time.monotonic() - last > CASE_TIMEOUT_S:
                proc.kill()
                proc.wait()
                name = manifest["cases"][current]["name"]
                log["cases"][name] = {"ok": False, "error": f"timeout ({CASE_TIMEOUT_S}s)"}
                print(f"{name:45s} TIMEOUT", flush=True)
                current += 1
                break
            time.sleep(0.05)
        if rc not in (None, 0, 3) and current < n:
            name = manifest["cases"][current]["name"]
            if name not in log["cases"]:
                log["cases"][name] = {"ok": False, "error": f"worker exited {rc}"}
                current += 1
        if rc == 0:
            break
        index = current
    results: dict[str, np.ndarray] = {}
    for case in manifest["cases"]:
        f = work / f"{case['slug']}.npz"
        if f.exists():
            with np.load(f) as z:
                results.update({k: z[k] for k in z.files})
    np.savez_compressed(out / "gpu_results.npz", **results)
    log["wall_s"] = round(time.monotonic() - t_start, 2)
    (out / "gpu_log.json").write_text(json.dumps(log, indent=1))
    ok = sum(1 for v in log["cases"].values() if v.get("ok"))
    print(f"{ok}/{n} cases ran on {log.get('device')}, {log['wall_s']} s", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        argv = ["gpu", *argv]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("gpu", help="run the bundle on the GPU (needs libcuda.so.1)")
    p.add_argument("--bundle", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    p = sub.add_parser("gpu-worker")
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--start", type=int, default=0)
    args = ap.parse_args(argv)
    if args.cmd == "gpu":
        return gpu_main(args.bundle, args.out)
    return gpu_worker(args.bundle, args.work, args.start)


if __name__ == "__main__":
    sys.exit(main())
