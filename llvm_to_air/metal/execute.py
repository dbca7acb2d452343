"""Execute a :class:`~llvm_to_air.plan.DispatchPlan` on a Metal device.

Only this sequence, through :class:`~llvm_to_air.metal.objc.MetalAPI`:
library (``newLibraryWithData:error:``), function, compute pipeline, command
queue, one shared-storage buffer per :class:`~llvm_to_air.plan.SetBuffer`, the
plan's encoder calls in order, ``dispatchThreads:threadsPerThreadgroup:``,
``endEncoding``, ``commit``, ``waitUntilCompleted``, the command buffer's status,
then the written buffers copied back into the user's arrays. Metal's own errors
become :class:`CompileError`s located at the library file.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.metal.objc import (
    COMMAND_BUFFER_COMPLETED,
    COMMAND_BUFFER_ERRORS,
    COMMAND_BUFFER_STATUS,
    GPU_FAMILIES,
    MetalAPI,
)
from llvm_to_air.plan import (
    MAX_THREADGROUP_MEMORY,
    DispatchPlan,
    EncoderCall,
    SetBuffer,
    SetBytes,
    SetThreadgroupMemoryLength,
)


@dataclass
class _Owned:
    """Objects we created (``new...``), released in reverse order at the end."""

    api: MetalAPI
    objects: list[int] = field(default_factory=list)

    def keep(self, obj: int | None) -> int | None:
        if obj:
            self.objects.append(obj)
        return obj

    def release(self) -> None:
        while self.objects:
            self.api.release(self.objects.pop())


def _device(api: MetalAPI, owned: _Owned) -> int:
    device = owned.keep(api.default_device())
    if not device:
        raise CompileError("Metal found no GPU: MTLCreateSystemDefaultDevice returned nil",
                           hint="run on a Mac with a Metal GPU, or use device='cpu'")
    return device


def device_facts(api: MetalAPI) -> dict[str, object]:
    """The GPU's name, the MTLGPUFamily values it supports, and its Metal version."""
    pool = api.pool_push()
    owned = _Owned(api)
    try:
        device = _device(api, owned)
        families = [name for name, value in GPU_FAMILIES.items()
                    if api.supports_family(device, value)]
        metal = "Metal 4" if "metal4" in families else "Metal 3" if "metal3" in families \
            else "Metal 2 or older"
        return {"gpu": api.device_name(device), "gpu_families": families, "metal": metal}
    finally:
        owned.release()
        api.pool_pop(pool)


def execute(api: MetalAPI, library: bytes, file: str, function: str,
            plan: DispatchPlan, timeout: float | None = None) -> None:
    """Run ``function`` of the metallib ``library`` as ``plan`` says; arrays change in place.

    The wait polls the command buffer's status, so Ctrl-C and ``timeout`` (seconds) stop
    waiting; the GPU then finishes (or Metal's watchdog stops) the work on its own, the
    command buffer keeps the buffers alive, and nothing is copied back.
    """
    where = SourceLocation(file)
    pool = api.pool_push()
    owned = _Owned(api)
    try:
        device = _device(api, owned)
        _check_nonuniform(api, device)
        lib, error = api.new_library(device, library)
        if not owned.keep(lib):
            raise CompileError(f"Metal refused the library: {api.error_text(error)}", where,
                               hint="check the deployment target (--target) against this "
                                    "macOS version; run 'llvm-to-air selftest --device "
                                    "metal' and send us its output")
        fn = owned.keep(api.new_function(lib, function))
        if not fn:
            names = ", ".join(api.function_names(lib)) or "none"
            raise CompileError(f"Metal found no function '{function}' in the library "
                               f"(functions: {names})", where)
        pipeline, error = api.new_pipeline(device, fn)
        if not owned.keep(pipeline):
            raise CompileError(f"Metal could not build a compute pipeline for kernel "
                               f"'{function}': {api.error_text(error)}", where,
                               hint="this is the GPU compiler rejecting our AIR: please "
                                    "send us the message and the input")
        _check_limits(api, pipeline, function, plan, where)
        queue = owned.keep(api.new_command_queue(device))
        if not queue:
            raise CompileError("Metal could not create a command queue", where)
        copies = _encode(api, owned, device, queue, pipeline, plan, where)
        _wait(api, copies.command_buffer, function, timeout, where)
        if api.status(copies.command_buffer) != COMMAND_BUFFER_COMPLETED:
            status = api.status(copies.command_buffer)
            code, text = api.command_buffer_error(copies.command_buffer)
            raise CompileError(
                f"the GPU did not complete kernel '{function}': command buffer status "
                f"{COMMAND_BUFFER_STATUS.get(status, status)}, error "
                f"{COMMAND_BUFFER_ERRORS.get(code, code)}: {text}", where,
                hint="a page fault usually means an out-of-bounds access: run it on the CPU "
                     "with check_bounds=True")
        for call, buffer, offset in copies.read_back:
            contents = api.buffer_contents(buffer)
            if not contents:
                raise CompileError(f"Metal gave no contents for buffer {call.index}", where)
            ctypes.memmove(call.array.ctypes.data, contents + offset, call.array.nbytes)
    finally:
        owned.release()
        api.pool_pop(pool)


# dispatchThreads:threadsPerThreadgroup: needs non-uniform threadgroup sizes (Metal feature
# set tables: the Apple4 and later families, and Mac2)
NONUNIFORM_FAMILIES = ("mac2", "apple4", "apple5", "apple6", "apple7", "apple8", "apple9",
                       "apple10")


def _check_nonuniform(api: MetalAPI, device: int) -> None:
    if not any(api.supports_family(device, GPU_FAMILIES[name]) for name in NONUNIFORM_FAMILIES):
        raise CompileError(f"the GPU '{api.device_name(device)}' has no non-uniform threadgroup "
                           "sizes (none of the Mac2 or Apple4+ families), which "
                           "dispatchThreads:threadsPerThreadgroup: needs",
                           hint="run it with device='cpu'")


POLL_SECONDS = 0.0005


def _wait(api: MetalAPI, command_buffer: int, function: str, timeout: float | None,
          where: SourceLocation) -> None:
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    while api.status(command_buffer) < COMMAND_BUFFER_COMPLETED:
        if deadline is not None and time.monotonic() >= deadline:
            raise CompileError(f"kernel '{function}' did not finish on the GPU within "
                               f"{timeout:g} s", where,
                               hint="look for a loop that never ends, or raise the timeout")
        time.sleep(POLL_SECONDS)
    api.wait_until_completed(command_buffer)  # returns at once: completion handlers ran


def _check_limits(api: MetalAPI, pipeline: int, function: str, plan: DispatchPlan,
                  where: SourceLocation) -> None:
    t = plan.threadgroup
    most = api.max_threads_per_threadgroup(pipeline)
    if t[0] * t[1] * t[2] > most:
        raise CompileError(f"threadgroup {t[0]}x{t[1]}x{t[2]} has {t[0] * t[1] * t[2]} "
                           f"threads; this pipeline for kernel '{function}' allows at most "
                           f"{most} (maxTotalThreadsPerThreadgroup)", where,
                           hint="use a smaller threadgroup")
    total = plan.threadgroup_bytes + api.static_threadgroup_memory(pipeline)
    if total > MAX_THREADGROUP_MEMORY:
        raise CompileError(f"kernel '{function}' needs {total} bytes of threadgroup memory "
                           f"(its own variables and the lengths set); Apple GPUs have "
                           f"{MAX_THREADGROUP_MEMORY}", where)


@dataclass
class _Encoded:
    command_buffer: int
    read_back: list[tuple[SetBuffer, int, int]]     # call, MTLBuffer, byte offset


def memory_groups(calls: tuple[EncoderCall, ...]) -> list[tuple[int, int, list[int]]]:
    """Plan positions of the :class:`SetBuffer` calls grouped by overlapping host memory:
    ``(first byte address, end address, [call positions])``.

    Arrays that share memory (the same array at two indices, as MLIR's allocated and
    aligned pointers, or overlapping views) must share one ``MTLBuffer``, bound at an
    offset, or the kernel would see two copies and the copy back would undo a write.
    """
    spans = sorted((call.array.ctypes.data, call.array.ctypes.data + call.array.nbytes, k)
                   for k, call in enumerate(calls)
                   if isinstance(call, SetBuffer) and call.array.nbytes)
    groups: list[tuple[int, int, list[int]]] = []
    for lo, hi, k in spans:
        if groups and lo < groups[-1][1]:
            first, end, members = groups[-1]
            groups[-1] = (first, max(end, hi), [*members, k])
        else:
            groups.append((lo, hi, [k]))
    return groups


def _encode(api: MetalAPI, owned: _Owned, device: int, queue: int, pipeline: int,
            plan: DispatchPlan, where: SourceLocation) -> _Encoded:
    # buffers first (one per group of arrays sharing memory): the encoder only references them
    bound: dict[int, tuple[int, int]] = {}        # call position -> (MTLBuffer, offset)
    read_back = []
    for lo, hi, members in memory_groups(plan.calls):
        buffer = owned.keep(api.new_buffer(device, lo, hi - lo))
        if not buffer:
            names = ", ".join(f"{plan.calls[k].index}" for k in members)
            raise CompileError(f"Metal could not allocate {hi - lo} bytes for buffer(s) "
                               f"{names}", where)
        for k in members:
            call = plan.calls[k]
            assert isinstance(call, SetBuffer)
            offset = call.array.ctypes.data - lo
            bound[k] = (buffer, offset)
            if call.writes:
                read_back.append((call, buffer, offset))
    for k, call in enumerate(plan.calls):
        if isinstance(call, SetBuffer) and k not in bound:   # an empty array
            buffer = owned.keep(api.new_empty_buffer(device, 16))
            if not buffer:
                raise CompileError(f"Metal could not allocate buffer {call.index}", where)
            bound[k] = (buffer, 0)
    command_buffer = api.command_buffer(queue)
    encoder = api.compute_encoder(command_buffer) if command_buffer else None
    if not command_buffer or not encoder:
        raise CompileError("Metal could not create a command buffer and compute encoder",
                           where)
    api.set_pipeline(encoder, pipeline)
    for k, call in enumerate(plan.calls):
        if isinstance(call, SetBuffer):
            api.set_buffer(encoder, bound[k][0], call.index, bound[k][1])
        elif isinstance(call, SetBytes):
            api.set_bytes(encoder, call.array.ctypes.data, call.array.nbytes, call.index)
        elif isinstance(call, SetThreadgroupMemoryLength):
            api.set_threadgroup_memory_length(encoder, call.length, call.index)
    api.dispatch_threads(encoder, plan.grid, plan.threadgroup)
    api.end_encoding(encoder)
    api.commit(command_buffer)
    return _Encoded(command_buffer, read_back)


__all__ = ["device_facts", "execute"]
