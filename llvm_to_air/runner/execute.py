"""Binding buffers as a Metal host does, and running the grid.

:class:`Kernel` wraps one compiled kernel; :meth:`Kernel.run` checks the
dispatch and the bindings, then drives the JIT code:

* fast path: threadgroups are split into ranges run by a pool of OS threads
  (ctypes releases the GIL while the JIT code runs), each with its own
  threadgroup-memory block;
* step path, rounds in the JIT code (``groups``, the usual case): like the fast
  path, each worker owning the frames, states and threadgroup memory of the one
  group it runs at a time;
* step path, rounds in Python (kernels with a SIMD-group operation
  :mod:`~llvm_to_air.runner.lockstep` has no IR version of): a chunk of
  threadgroups is resident at once (frames, states,
  fresh threadgroup memory per group). Rounds alternate between running every
  ready thread to its next barrier or SIMD-group call (in parallel, by
  threadgroup ranges) and resolving what the threads wait for: SIMD-group
  operations over the lanes that reached them (:mod:`~llvm_to_air.runner.simd`),
  then threadgroup barriers once no thread of the group can run any more.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.types import FloatType, IntType, Type, VectorType
from llvm_to_air.plan import (
    DispatchPlan,
    SetTexture,
    SetThreadgroupMemoryLength,
    plan_dispatch,
)
from llvm_to_air.runner import simd
from llvm_to_air.runner.compile import DONE, CompiledKernel
from llvm_to_air.runner.lanes import LANE_CAP
from llvm_to_air.runner.textures import samplers_of, textures_of

# how long an interrupted or timed-out run waits for its worker threads to reach the
# next threadgroup boundary (where they check the stop flag)
STOP_GRACE_SECONDS = 2.0
POLL_SECONDS = 0.1
FRAME_MEMORY_BUDGET = 64 * 1024 * 1024


def _aligned(nbytes: int, align: int = 64) -> np.ndarray:
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes]


def numpy_type(ty: Type, sign: str = "s") -> tuple[np.dtype, int]:
    """numpy dtype and lane count of a SIMD operand/result type."""
    lanes = 1
    if isinstance(ty, VectorType):
        lanes, ty = ty.count, ty.element
    if isinstance(ty, IntType):
        if ty.bits == 1:
            return np.dtype(np.uint8), lanes
        if ty.bits in (8, 16, 32, 64):
            return np.dtype(f"{'u' if sign == 'u' else 'i'}{ty.bits // 8}"), lanes
    if isinstance(ty, FloatType) and ty.kind in ("half", "float", "double"):
        return np.dtype({"half": np.float16, "float": np.float32, "double": np.float64}[ty.kind]
                        ), lanes
    raise CompileError(f"the CPU runner has no SIMD-group operations on {ty}")


class RunTimeout(Exception):
    """A run passed its deadline (turned into a CompileError by :meth:`Kernel.run`)."""


class Kernel:
    """A JIT-compiled AIR kernel, run with Metal's binding model."""

    def __init__(self, compiled: CompiledKernel, source: str) -> None:
        self.compiled = compiled
        self.info = compiled.info
        self.name = compiled.info.name
        self.source = source
        self.checked = bool(compiled.checks) or compiled.checked
        # a run abandoned while its threads still ran (a kernel thread that never ends):
        # the kernel cannot run again, and what those threads use must stay alive
        self.abandoned: list[Any] = []

    # ---------------------------------------------------------------- checks

    def _bind(self, plan: DispatchPlan) -> tuple[np.ndarray, np.ndarray, list[Any], int]:
        n = len(self.info.bindings)
        args = np.zeros(n, dtype=np.uint64)
        bounds = np.zeros(2 * (n + 1), dtype=np.uint64)
        keep: list[Any] = []
        offset = self.compiled.tg_static
        for call in plan.calls:
            if isinstance(call, SetThreadgroupMemoryLength):
                args[call.position] = offset
                bounds[2 * call.position] = offset
                bounds[2 * call.position + 1] = offset + call.length
                offset += call.length
            else:
                array = call.array
                keep.append(array)
                address = array.ctypes.data
                args[call.position] = address
                bounds[2 * call.position] = address
                bounds[2 * call.position + 1] = address + array.nbytes
        bounds[2 * n] = 0
        bounds[2 * n + 1] = offset
        return args, bounds, keep, offset

    # ------------------------------------------------------------------- run

    def run(self, grid: Any, threadgroup: Any, buffers: Mapping[int, Any],
            threadgroup_memory: Mapping[int, int] | None = None,
            workers: int | None = None, timeout: float | None = None,
            textures: Mapping[int, Any] | None = None,
            samplers: Mapping[int, Any] | None = None) -> None:
        """See :meth:`_run`; errors that know no file are located at the kernel's input."""
        try:
            self._run(grid, threadgroup, buffers, threadgroup_memory, workers, timeout,
                      textures, samplers)
        except CompileError as error:
            if error.location.file != "<input>":
                raise
            raise error.with_file(self.source) from None

    def _run(self, grid: Any, threadgroup: Any, buffers: Mapping[int, Any],
             threadgroup_memory: Mapping[int, int] | None = None,
             workers: int | None = None, timeout: float | None = None,
             textures: Mapping[int, Any] | None = None,
             samplers: Mapping[int, Any] | None = None) -> None:
        """Dispatch ``grid`` threads in threadgroups of ``threadgroup``; arrays change in place.

        ``textures`` maps texture indices to numpy images (runner/textures.py), written
        back like buffers; ``samplers`` maps sampler indices to sampler descriptions
        (``"normalized,repeat,linear"``, runner/textures.py).

        Checked kernels (the default) run on copies of the device buffers, copied back
        only when the run succeeds: a failed run leaves the caller's arrays as they were.
        ``timeout`` (seconds) and Ctrl-C stop the run at the next threadgroup boundary.
        """
        if self.abandoned:
            raise CompileError(f"kernel '{self.name}' was stopped while its threads still "
                               "ran; load it again to run it")
        tg_memory = threadgroup_memory or {}
        staged = self._stage(buffers)
        plan = plan_dispatch(self.name, self.info.bindings, grid, threadgroup, staged,
                             tg_memory, self.compiled.tg_static, textures_of(textures),
                             samplers_of(samplers))
        g, t = plan.grid, plan.threadgroup
        args, bounds, keep, tg_bytes = self._bind(plan)
        ng = tuple(-(-gd // td) for gd, td in zip(g, t, strict=True))
        dims = np.array([*g, *t, *ng], dtype=np.uint32)
        total = ng[0] * ng[1] * ng[2]
        workers = max(1, min(workers or os.cpu_count() or 1, total))
        c = self.compiled
        err = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_int64 * 2).from_address(
            c.err_address))
        stop = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_int32 * 1).from_address(
            c.stop_address)) if c.stop_address else np.zeros(1, np.int32)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        pool = ThreadPoolExecutor(workers)
        inflight: list[Future[Any]] = []
        with c.lock:
            err[:] = 0
            stop[0] = 0
            try:
                if c.mode == "groups":
                    self._run_groups(args, dims, bounds, tg_bytes, t, total, workers, pool,
                                     inflight, deadline)
                elif c.step:
                    self._run_steps(args, dims, bounds, tg_bytes, g, t, ng, total, workers,
                                    pool, inflight, deadline)
                else:
                    self._run_fast(args, dims, bounds, tg_bytes, total, workers, pool,
                                   inflight, deadline)
            except BaseException as exc:  # Ctrl-C, timeout, an error in a worker
                stopped = self._stop(stop, pool, inflight, (staged, args, bounds, keep, dims))
                if isinstance(exc, RunTimeout):
                    raise CompileError(
                        f"kernel '{self.name}' did not finish within {timeout:g} s" +
                        ("" if stopped else " (a thread is still running: the kernel may "
                                            "loop forever)"),
                        hint="look for a loop that never ends, or raise the timeout") from None
                raise
            pool.shutdown()
            site, address = int(err[0]), int(err[1])
        if site:
            raise self._bounds_error(site - 1, address, args, bounds)
        for index, copy in staged.items():
            if copy is not buffers[index]:
                np.copyto(buffers[index], copy)
        for call in plan.calls:
            if isinstance(call, SetTexture):
                call.bound.write_back()
        del keep

    def _stage(self, buffers: Mapping[int, Any]) -> dict[int, Any]:
        """Copies of the device buffers the kernel may write, when checked."""
        if not self.checked:
            return dict(buffers)
        written = {b.index for b in self.info.bindings
                   if b.kind == "buffer" and b.access != "read"}
        return {index: (array.copy() if index in written and isinstance(array, np.ndarray)
                        and array.flags.writeable else array)
                for index, array in buffers.items()}

    def _stop(self, stop: np.ndarray, pool: ThreadPoolExecutor, inflight: list[Future[Any]],
              alive: Any) -> bool:
        """Ask running threads to stop; True when they all did within the grace time."""
        stop[0] = 1
        pending = [f for f in inflight if not f.done()]
        if pending:
            wait(pending, timeout=STOP_GRACE_SECONDS)
        if any(not f.done() for f in pending):
            self.abandoned.append(alive)  # their memory must outlive them
            pool.shutdown(wait=False, cancel_futures=True)
            return False
        pool.shutdown(wait=True, cancel_futures=True)
        return True

    @staticmethod
    def _wait(futures: Iterable[Future[Any]], deadline: float | None) -> None:
        """Wait for ``futures`` in short steps (so Ctrl-C is seen), raising their errors and
        :class:`RunTimeout` past ``deadline``."""
        pending = set(futures)
        while pending:
            step = POLL_SECONDS if deadline is None else \
                max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            done, pending = wait(pending, timeout=step, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()
            if pending and deadline is not None and time.monotonic() >= deadline:
                raise RunTimeout

    def _run_fast(self, args: np.ndarray, dims: np.ndarray, bounds: np.ndarray, tg_bytes: int,
                  total: int, workers: int, pool: ThreadPoolExecutor,
                  inflight: list[Future[Any]], deadline: float | None) -> None:
        entry = self.compiled.entry
        pa, pd, pb = args.ctypes.data, dims.ctypes.data, bounds.ctypes.data

        def call(block: tuple[np.ndarray, ...], g0: int, g1: int) -> None:
            entry(pa, pd, block[0].ctypes.data, pb, g0, g1)

        blocks = [(_aligned(max(tg_bytes, 16)),) for _ in range(workers)]
        self._spread(call, blocks, total, pool, inflight, deadline)

    def _run_groups(self, args: np.ndarray, dims: np.ndarray, bounds: np.ndarray,
                    tg_bytes: int, t: tuple[int, int, int], total: int, workers: int,
                    pool: ThreadPoolExecutor, inflight: list[Future[Any]],
                    deadline: float | None) -> None:
        """Step path with the rounds in the JIT code: like the fast path, each worker owns
        the frames, states and threadgroup memory of the one group it runs at a time (the
        frames laid out by lane for up to ``LANE_CAP`` threads, see :mod:`.lanes`)."""
        entry = self.compiled.entry
        fstride = self.compiled.frame_size
        cap = -(-(t[0] * t[1] * t[2]) // 32) * 32
        pa, pd, pb = args.ctypes.data, dims.ctypes.data, bounds.ctypes.data

        def call(block: tuple[np.ndarray, ...], g0: int, g1: int) -> None:
            tg, frames, state = block
            entry(pa, pd, tg.ctypes.data, pb, frames.ctypes.data, fstride,
                  state.ctypes.data, g0, g1)

        blocks = [(_aligned(max(tg_bytes, 16)), _aligned(LANE_CAP * fstride),
                   np.empty(cap, dtype=np.int32)) for _ in range(workers)]
        self._spread(call, blocks, total, pool, inflight, deadline)

    def _spread(self, call: Any, blocks: list[tuple[np.ndarray, ...]], total: int,
                pool: ThreadPoolExecutor, inflight: list[Future[Any]],
                deadline: float | None) -> None:
        """Run threadgroups ``[0, total)`` as ranges over the pool's threads: ``call(block,
        g0, g1)`` with a per-worker ``block`` of memory, one range at a time per block."""
        workers = len(blocks)
        pieces = 1 if workers == 1 else min(total, workers * 8)
        edges = [total * k // pieces for k in range(pieces + 1)]
        free = list(blocks)
        lock = threading.Lock()

        def work(k: int) -> None:
            with lock:
                block = free.pop()
            try:
                call(block, edges[k], edges[k + 1])
            finally:
                with lock:
                    free.append(block)

        inflight += [pool.submit(work, k) for k in range(pieces)]
        inflight.append(pool.submit(lambda: blocks))  # keeps the blocks alive with the run
        self._wait(inflight, deadline)

    def _run_steps(self, args: np.ndarray, dims: np.ndarray, bounds: np.ndarray,
                   tg_bytes: int, g: tuple[int, int, int], t: tuple[int, int, int],
                   ng: tuple[int, ...], total: int, workers: int, pool: ThreadPoolExecutor,
                   inflight: list[Future[Any]], deadline: float | None) -> None:
        c = self.compiled
        per_group = t[0] * t[1] * t[2]
        cap = -(-per_group // 32) * 32
        fstride = c.frame_size
        tgstride = (tg_bytes + 63) // 64 * 64
        per_group_bytes = cap * fstride + tgstride
        chunk = max(1, min(total, FRAME_MEMORY_BUDGET // max(per_group_bytes, 1)))
        for first in range(0, total, chunk):
            count = min(chunk, total - first)
            self._run_chunk(args, dims, bounds, g, t, ng, first, count, cap, fstride,
                            tgstride, workers, pool, inflight, deadline)

    def _run_chunk(self, args: np.ndarray, dims: np.ndarray, bounds: np.ndarray,
                   g: tuple[int, int, int], t: tuple[int, int, int], ng: tuple[int, ...],
                   first: int, count: int, cap: int, fstride: int, tgstride: int,
                   workers: int, pool: ThreadPoolExecutor, inflight: list[Future[Any]],
                   deadline: float | None) -> None:
        c = self.compiled
        gid = np.arange(first, first + count, dtype=np.int64)
        coords = [gid % ng[0], (gid // ng[0]) % ng[1], gid // (ng[0] * ng[1])]
        extents = [np.minimum(t[k], g[k] - coords[k] * t[k]) for k in range(3)]
        threads = extents[0] * extents[1] * extents[2]
        state = np.full(count * cap, DONE, dtype=np.int32)
        state.reshape(count, cap)[np.arange(cap)[None, :] < threads[:, None]] = 0
        frames = _aligned(count * cap * fstride)
        tgmem = _aligned(max(count * tgstride, 16))
        pa, pd, pb = args.ctypes.data, dims.ctypes.data, bounds.ctypes.data
        pf, ps, pt = frames.ctypes.data, state.ctypes.data, tgmem.ctypes.data
        entry = c.entry
        pieces = min(count, workers * 4)
        edges = [first + count * k // pieces for k in range(pieces + 1)]

        def run_range(k: int) -> None:
            entry(pa, pd, pt, tgstride, pb, pf, fstride, ps, cap, first, edges[k],
                  edges[k + 1])

        frames3 = frames.reshape(-1, 32, fstride)
        state2 = state.reshape(-1, 32)
        sites = c.sites
        collective = np.array([False] + [s.kind != "threadgroup_barrier" for s in sites])
        big = len(sites) + 1
        alive = (frames, state, tgmem)
        while True:
            inflight[:] = [pool.submit(run_range, k) for k in range(pieces)]
            inflight.append(pool.submit(lambda: alive))
            self._wait(inflight, deadline)
            waiting = (state < 0) & (state != DONE)
            if not waiting.any():
                return
            site_of = np.where(waiting, -state, 0).reshape(-1, 32)
            simd_wait = collective[site_of]
            if simd_wait.any():
                # each SIMD group resolves only its earliest waiting call (in program order):
                # lanes that reach a later call wait there for the others, as lanes
                # reconverge on a GPU before what follows a divergent branch or loop
                earliest = np.where(simd_wait, site_of, big).min(axis=1)
                for s in np.unique(earliest[earliest < big]):
                    self._resolve(sites[int(s) - 1], state2, frames3, earliest == s)
                continue
            state[waiting] = -state[waiting]

    def _resolve(self, site: Any, state2: np.ndarray, frames3: np.ndarray,
                 groups: np.ndarray) -> None:
        """Compute SIMD-group call ``site`` in SIMD groups ``groups`` (a mask) for the lanes
        waiting at it."""
        active_all = (state2 == -site.id) & groups[:, None]
        rows = np.flatnonzero(active_all.any(axis=1))
        if site.kind == "simd" and len(rows):
            # a contiguous range of SIMD groups (the usual case) is a view, not a copy
            sel: Any = slice(int(rows[0]), int(rows[-1]) + 1) \
                if rows[-1] - rows[0] + 1 == len(rows) else rows
            active = active_all[sel]
            frames = frames3[sel]
            count = active.shape[0]
            sign = "u" if ".u." in site.name else "s"
            operands = []
            for k, ty in enumerate(site.arg_types):
                dtype, lanes = numpy_type(ty, sign)
                nbytes = dtype.itemsize * lanes
                if k in site.constants:  # a constant operand is not in the frame
                    wrapped = np.array(site.constants[k] % (1 << 64), dtype=np.uint64)
                    operands.append(np.full((count, 32, lanes), wrapped.astype(dtype)))
                    continue
                at = self.compiled.slots.slot * k
                raw = np.ascontiguousarray(frames[:, :, at:at + nbytes])
                operands.append(raw.view(dtype).reshape(count, 32, lanes))
            out_at = self.compiled.slots.out_offset
            if str(site.result_type) != "void":
                rdtype, rlanes = numpy_type(site.result_type, sign)
                result = simd.evaluate(site.op, operands, active, rdtype, site.name)
                result = np.ascontiguousarray(result.astype(rdtype)).reshape(count, 32, rlanes)
                nbytes = rdtype.itemsize * rlanes
                out = result.view(np.uint8).reshape(count, 32, nbytes)
                if isinstance(sel, slice):
                    np.copyto(frames[:, :, out_at:out_at + nbytes], out,
                              where=active[:, :, None])
                else:
                    current = frames[:, :, out_at:out_at + nbytes]
                    frames3[sel, :, out_at:out_at + nbytes] = np.where(
                        active[:, :, None], out, current)
        state2[active_all] = site.id

    # ---------------------------------------------------------------- errors

    def _bounds_error(self, site_index: int, address: int, args: np.ndarray,
                      bounds: np.ndarray) -> CompileError:
        c = self.compiled
        site = c.checks[site_index] if site_index < len(c.checks) else None
        what = site.what if site else "access"
        where = f" ({site.location})" if site and site.location else \
            f" (in the lowered AIR of {self.source}: bitcode has no source lines)"
        n = len(self.info.bindings)
        entry = site.entry if site else None
        if entry is not None and entry < n:
            b = self.info.bindings[entry]
            if b.kind == "threadgroup":
                return CompileError(f"out-of-bounds {what} in kernel '{self.name}': "
                                    f"threadgroup memory index {b.index} ('{b.name}'){where}")
            lo, hi = int(bounds[2 * entry]), int(bounds[2 * entry + 1])
            return CompileError(
                f"out-of-bounds {what} in kernel '{self.name}': buffer index {b.index} "
                f"('{b.name}'): byte offset {address - lo} of a {hi - lo}-byte buffer{where}")
        if entry == n:
            return CompileError(f"out-of-bounds {what} in kernel '{self.name}': "
                                f"threadgroup memory (the kernel's threadgroup variables)"
                                f"{where}")
        best = None
        for b in self.info.bindings:
            if b.kind not in ("buffer", "constant") or not args[b.position]:
                continue
            lo, hi = int(bounds[2 * b.position]), int(bounds[2 * b.position + 1])
            distance = 0 if lo <= address < hi else min(abs(address - lo), abs(address - hi))
            if best is None or distance < best[0]:
                best = (distance, b, lo, hi)
        if best is not None and best[0] < max(4096, (best[3] - best[2])):
            _, b, lo, hi = best
            return CompileError(
                f"out-of-bounds {what} in kernel '{self.name}': the address is in no bound "
                f"buffer; nearest is buffer index {b.index} ('{b.name}'): byte offset "
                f"{address - lo} of a {hi - lo}-byte buffer{where}")
        return CompileError(f"out-of-bounds {what} in kernel '{self.name}': address "
                            f"0x{address:x} is in no bound buffer{where}")


__all__ = ["Kernel", "numpy_type"]
