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
            plan: DispatchPlan) -> None:
    """Run ``function`` of the metallib ``library`` as ``plan`` says; arrays change in place."""
    where = SourceLocation(file)
    pool = api.pool_push()
    owned = _Owned(api)
    try:
        device = _device(api, owned)
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
        if api.status(copies.command_buffer) != COMMAND_BUFFER_COMPLETED:
            status = api.status(copies.command_buffer)
            code, text = api.command_buffer_error(copies.command_buffer)
            raise CompileError(
                f"the GPU did not complete kernel '{function}': command buffer status "
                f"{COMMAND_BUFFER_STATUS.get(status, status)}, error "
                f"{COMMAND_BUFFER_ERRORS.get(code, code)}: {text}", where,
                hint="a page fault usually means an out-of-bounds access: run it on the CPU "
                     "with check_bounds=True")
        for call, buffer in copies.read_back:
            contents = api.buffer_contents(buffer)
            if not contents:
                raise CompileError(f"Metal gave no contents for buffer {call.index}", where)
            ctypes.memmove(call.array.ctypes.data, contents, call.array.nbytes)
    finally:
        owned.release()
        api.pool_pop(pool)


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
    read_back: list[tuple[SetBuffer, int]]


def _encode(api: MetalAPI, owned: _Owned, device: int, queue: int, pipeline: int,
            plan: DispatchPlan, where: SourceLocation) -> _Encoded:
    # buffers first: the encoder then only references them
    buffers: dict[int, int] = {}
    read_back = []
    for k, call in enumerate(plan.calls):
        if not isinstance(call, SetBuffer):
            continue
        nbytes = call.array.nbytes
        buffer = api.new_buffer(device, call.array.ctypes.data, nbytes) if nbytes \
            else api.new_empty_buffer(device, 16)
        if not owned.keep(buffer):
            raise CompileError(f"Metal could not allocate {nbytes} bytes for buffer "
                               f"{call.index} ('{call.name}')", where)
        assert buffer is not None
        buffers[k] = buffer
        if call.writes and nbytes:
            read_back.append((call, buffer))
    command_buffer = api.command_buffer(queue)
    encoder = api.compute_encoder(command_buffer) if command_buffer else None
    if not command_buffer or not encoder:
        raise CompileError("Metal could not create a command buffer and compute encoder",
                           where)
    api.set_pipeline(encoder, pipeline)
    for k, call in enumerate(plan.calls):
        if isinstance(call, SetBuffer):
            api.set_buffer(encoder, buffers[k], call.index)
        elif isinstance(call, SetBytes):
            api.set_bytes(encoder, call.array.ctypes.data, call.array.nbytes, call.index)
        elif isinstance(call, SetThreadgroupMemoryLength):
            api.set_threadgroup_memory_length(encoder, call.length, call.index)
    api.dispatch_threads(encoder, plan.grid, plan.threadgroup)
    api.end_encoding(encoder)
    api.commit_and_wait(command_buffer)
    return _Encoded(command_buffer, read_back)


__all__ = ["device_facts", "execute"]
