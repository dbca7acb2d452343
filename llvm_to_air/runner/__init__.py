"""CPU runner: execute AIR kernels on the host with Metal's binding model.

Use::

    from llvm_to_air.runner import run
    run("k.metallib", "vadd", grid=(n,), threadgroup=(256,),
        buffers={0: a, 1: b, 2: c, 3: np.int32(n)})        # c is updated in place

``module_or_path`` is an AIR :class:`~llvm_to_air.ir.model.Module`, a path or
the bytes of a ``.ll``/``.air``/``.metallib`` file, or any input
``llvm-to-air`` compiles (CUDA/OpenCL/MLIR LLVM IR: it is lowered first).
Kernels are described by their ``!air.kernel`` metadata, so AIR from other
producers runs too. :func:`run_cli` is the ``llvm-to-air run`` command.

Design
------
**Binding model.** Exactly what a Mac host passes: device and constant
buffers by location index (``setBuffer:atIndex:`` / ``setBytes:atIndex:``;
scalars and structs passed by value are constant buffers), threadgroup
buffers by ``setThreadgroupMemoryLength:atIndex:``. ``grid`` counts threads
per dimension (``dispatchThreads``); edge threadgroups may be partial, as on
Apple GPUs, except for kernels that read the threadgroup size or count
(CUDA ``blockDim``/``gridDim``), which must get whole threadgroups.

**Host IR** (:mod:`.hostir`, on our IR model). A private copy of the module
keeps the kernel only; its ``addrspace(3)`` globals become offsets in a
per-threadgroup block passed as an extra parameter; every address space is
erased to 0 (``addrspacecast`` becomes ``bitcast``); each ``air.*`` function
gets a host definition in LLVM IR (:mod:`.airlib`: LLVM intrinsics and libm
for math, saturating conversions, ``atomicrmw``/``cmpxchg`` for atomics). A
driver in LLVM IR (:mod:`.compile`) loops over threadgroups and threads,
computes the built-in inputs (positions, sizes, SIMD lane and group) and
calls the kernel, which is inlined. The whole is optimized at ``-O3`` for the
host CPU and JIT-compiled with llvmlite.

**Fast path.** A kernel without barriers or SIMD-group operations runs each
thread to completion. Threadgroup ranges are spread over CPU cores by a pool
of Python threads calling the JIT code through ctypes (which releases the
GIL); each worker owns a threadgroup-memory block, reused by the groups it
runs one after another (Metal leaves threadgroup memory uninitialized).

**Barriers and SIMD-group operations** (:func:`.hostir.make_step_function`).
The kernel is cut at every ``air.wg.barrier``, ``air.simdgroup.barrier`` and
``air.simd_*``/``air.quad_*`` call into phases: a thread stores the call's
operands in its *frame* (per-thread memory that also holds its private
arrays), saves the values live across the call and returns the call's site
number; called again with that number it restores them, reads the call's
result from the frame and continues. (Live values go through allocas that
LLVM's SROA turns back into registers, so code between calls stays fast; pure
values computed from the parameters, such as positions and pointers into
threadgroup memory, are recomputed on entry instead of saved.) The rounds run
inside the JIT code (:mod:`.rounds`, :mod:`.lockstep`): each worker takes
threadgroups one after the other, with one threadgroup's frames, states and
threadgroup memory that stay in cache, and alternates rounds: run every ready
thread to its next call, then resolve what threads wait for: first SIMD-group
calls, computed lane by lane in lock step over small arrays, over the lanes of
each SIMD group (32 threads in thread-index order) that reached the same call;
reductions, votes and ballots ignore the lanes that did not get there, as
inactive lanes on a GPU. A SIMD group whose lanes wait at different calls
resolves only the earliest (in program order) and the others wait: lanes that
left a divergent loop or branch thus reconverge with the rest before a later
SIMD call. Then, when no thread waits on a SIMD call, its threads waiting at
barriers go on together. A barrier is thus a real barrier for all threads of
the group, and a SIMD exchange sees the values of all lanes. A round in which
every thread resumes at the same point (the usual case) runs a copy of the
loop specialized to that point. Kernels with a SIMD-group operation that has
no IR version (``simd_shuffle_and_fill_*``) keep the same rounds in Python
(:mod:`.execute`, :mod:`.simd` with numpy) over chunks of resident threadgroups.

Compiled kernels are cached by content (the input's bytes, or the AIR text and
source lines of a module), so repeated runs in one process pay the JIT once.

**Atomics** are host atomics (``monotonic``, as Metal's relaxed order), so
they stay atomic across the worker threads.

**Checked mode** (the default; ``check_bounds=False`` or ``--no-check-bounds``
opts out) guards every load, store, atomic and memory intrinsic on device,
constant and threadgroup memory with a range check against the binding its
pointer comes from (or against all of them when that is not known
statically); a violation is redirected to scratch memory, recorded, and
reported after the run as a :class:`CompileError` naming the kernel, the
buffer index and the input's source line. The kernel runs on copies of the
device buffers it may write, copied back only when the run succeeds, so a
buggy kernel can neither corrupt the caller's memory nor leave half-written
results. Unchecked runs are faster and trust the kernel. Kernels with barriers
or SIMD-group calls keep most of that speed checked: where a guarded address is
a pure function of the thread's position and the bindings, one range check per
threadgroup clears it for all the group's threads, and groups that pass run a
copy of the kernel without those checks (:mod:`.versioning`); the others run
checked as before.

**Stopping.** The JIT code checks a stop flag at every threadgroup; Ctrl-C or
``timeout`` sets it, so a run ends within about a threadgroup's work. A thread
that never finishes its own work (a kernel that loops forever) cannot be
stopped inside the process: the command line then exits anyway; the API
raises and marks the kernel unusable.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from llvm_to_air.errors import CompileError
from llvm_to_air.runner.execute import Kernel
from llvm_to_air.runner.load import load_kernel
from llvm_to_air.runner.textures import Texture, parse_sampler_spec, parse_texture


def run(module_or_path: Any, kernel: str, grid: Sequence[int] | int,
        threadgroup: Sequence[int] | int, buffers: Mapping[int, Any],
        threadgroup_memory: Mapping[int, int] | None = None,
        check_bounds: bool = True, timeout: float | None = None,
        textures: Mapping[int, Any] | None = None,
        samplers: Mapping[int, Any] | None = None) -> None:
    """Run ``kernel`` over ``grid`` threads (per dimension) in threadgroups of
    ``threadgroup``; numpy arrays in ``buffers`` (by location index) change in place.

    ``textures`` (by texture index, as ``setTexture:atIndex:``): numpy images of shape
    ``(height, width[, channels])`` whose dtype names the pixel format (float32 ->
    rgba32float, uint8 -> rgba8unorm, int32 -> rgba32sint, ...), or
    :class:`~llvm_to_air.runner.textures.Texture` values naming another format; images the
    kernel writes change in place. ``samplers`` (by sampler index, as
    ``setSamplerState:atIndex:``) for ``sampler_t`` parameters: descriptions such as
    ``"normalized,repeat,linear"`` (words: normalized/unnormalized, none/clamp_to_edge/clamp/
    repeat/mirrored_repeat, nearest/linear; defaults unnormalized, clamp_to_edge, nearest).

    ``module_or_path``: an AIR module, ``os.PathLike`` or ``str`` path, or ``bytes`` of a
    ``.ll``/``.air``/``.metallib`` file or of any input ``llvm-to-air`` compiles.
    ``kernel``: its LLVM symbol or source name. ``timeout``: seconds.

    Raises :class:`CompileError` for bad input, bindings that do not match the kernel,
    out-of-bounds accesses (checked mode, the default: then no array is changed) and
    timeouts.
    """
    compiled = load_kernel(module_or_path, kernel, check_bounds)
    compiled.run(grid, threadgroup, buffers, threadgroup_memory or {}, timeout=timeout,
                 textures=textures, samplers=samplers)


_DTYPE_NAMES = {"int": "int32", "uint": "uint32", "float": "float32", "half": "float16",
                "long": "int64", "ulong": "uint64", "short": "int16", "ushort": "uint16",
                "char": "int8", "uchar": "uint8", "bool": "bool", "double": "float64"}


def _parse_dims(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, str):
        try:
            dims = tuple(int(v) for v in value.split(","))
        except ValueError:
            raise CompileError(f"--{what} must be X[,Y[,Z]] (positive integers), not "
                               f"'{value}'") from None
        return dims
    if isinstance(value, int):
        return (value,)
    return tuple(value)


def _parse_index(spec: str, option: str) -> tuple[int, str]:
    index, sep, rest = spec.partition("=")
    if not sep or not index.strip().isdigit() or not rest:
        raise CompileError(f"--{option} '{spec}' must be INDEX=...",
                           hint="for example --buffer 0=a.npy or --buffer 3=1024:int32")
    return int(index), rest


def _load_npy(path: str, index: int, option: str = "buffer") -> Any:
    """A ``.npy`` file, checked before numpy allocates what its header claims."""
    import numpy as np

    try:
        with open(path, "rb") as handle:
            if handle.read(6) != b"\x93NUMPY":
                handle.seek(0)
                if handle.read(4) == b"PK\x03\x04":
                    raise CompileError(f"--{option} {index}: '{path}' is an .npz archive",
                                       hint="save one array per file with numpy.save")
                raise CompileError(f"--{option} {index}: '{path}' is not a .npy file")
            handle.seek(0)
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(handle, max_header_size=1 << 20)
            start = handle.tell()
            size = os.fstat(handle.fileno()).st_size
    except CompileError:
        raise
    except (OSError, ValueError) as exc:
        raise CompileError(f"--{option} {index}: cannot read '{path}': {exc}") from None
    if dtype.hasobject:
        raise CompileError(f"--{option} {index}: '{path}' holds Python objects (dtype "
                           f"{dtype}); GPU buffers hold plain numbers")
    count = 1
    for extent in shape:
        count *= extent
    if count * dtype.itemsize > size - start:
        raise CompileError(f"--{option} {index}: '{path}' is truncated: its header says "
                           f"{count * dtype.itemsize} bytes of data, the file has "
                           f"{max(size - start, 0)}")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CompileError(f"--{option} {index}: cannot read '{path}': {exc}") from None
    # the runner works in the machine's byte order; results are saved that way too
    return array.astype(array.dtype.newbyteorder("=")) if not array.dtype.isnative else array


def parse_buffer(spec: str) -> tuple[int, Any]:
    """``INDEX=FILE.npy`` or ``INDEX=value[,value...]:dtype`` -> (index, array)."""
    import numpy as np

    index, rest = _parse_index(spec, "buffer")
    if rest.endswith((".npy", ".npz")) or os.path.exists(rest):
        return index, _load_npy(rest, index)
    value, sep, dtype_name = rest.rpartition(":")
    if not sep:
        raise CompileError(f"--buffer '{spec}': expected a .npy file or value:dtype",
                           hint="for example --buffer 3=1024:int32")
    try:
        dtype = np.dtype(_DTYPE_NAMES.get(dtype_name, dtype_name))
    except TypeError:
        raise CompileError(f"--buffer '{spec}': unknown dtype '{dtype_name}'") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise CompileError(f"--buffer '{spec}': dtype '{dtype_name}' is not a number type",
                           hint="use int32, uint32, float32, float16, int64, ...")
    try:
        values = [float(v) if dtype.kind == "f" else int(v, 0) for v in value.split(",")]
        array = np.array(values, dtype=dtype.newbyteorder("="))
    except (ValueError, OverflowError):
        raise CompileError(f"--buffer '{spec}': '{value}' is not a valid {dtype} value") from None
    return index, array


def _save_npy(directory: str, index: str, array: Any) -> str:
    """Write ``DIR/<index>.npy`` atomically, replacing (never following) a link there."""
    import tempfile

    import numpy as np

    path = os.path.join(directory, f"{index}.npy")
    if os.path.isdir(path) and not os.path.islink(path):
        raise CompileError(f"cannot write '{path}': it is a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{index}.", suffix=".npy.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            mask = os.umask(0o022)
            os.umask(mask)
            os.fchmod(handle.fileno(), 0o666 & ~mask)
            np.save(handle, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def run_cli(input_path: str, kernel: str, grid: Any, threadgroup: Any,
            buffer_specs: Sequence[str], threadgroup_memory_specs: Sequence[str],
            out_dir: str, check_bounds: bool = True, timeout: float | None = None,
            source: bytes | None = None, texture_specs: Sequence[str] = (),
            sampler_specs: Sequence[str] = ()) -> list[str]:
    """``llvm-to-air run``: bind ``--buffer``/``--threadgroup-memory``/``--texture`` specs,
    run, and write every bound buffer to ``out_dir/<INDEX>.npy`` and every texture to
    ``out_dir/texture<INDEX>.npy``. Returns the files written.

    ``source``: the input's bytes when they were already read (``-`` is stdin). Nothing
    is written when the run fails.
    """
    import numpy as np

    buffers: dict[int, Any] = {}
    for spec in buffer_specs:
        index, array = parse_buffer(spec)
        if index in buffers:
            raise CompileError(f"--buffer index {index} is given twice")
        buffers[index] = np.ascontiguousarray(array)
    textures: dict[int, Texture] = {}
    for spec in texture_specs:
        index, image = parse_texture(spec, lambda path, k: _load_npy(path, k, "texture"))
        if index in textures:
            raise CompileError(f"--texture index {index} is given twice")
        textures[index] = image
    samplers = dict(parse_sampler_spec(spec) for spec in sampler_specs)
    if len(samplers) != len(sampler_specs):
        raise CompileError("a --sampler index is given twice")
    tg_memory: dict[int, int] = {}
    for spec in threadgroup_memory_specs:
        index, rest = _parse_index(spec, "threadgroup-memory")
        try:
            tg_memory[index] = int(rest, 0)
        except ValueError:
            raise CompileError(f"--threadgroup-memory '{spec}': '{rest}' is not a byte "
                               "count") from None
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise CompileError(f"--out-dir '{out_dir}' exists and is not a directory")
    name = "<stdin>" if input_path == "-" else input_path
    compiled: Kernel = load_kernel(source if source is not None else input_path, kernel,
                                   check_bounds, file=name)
    compiled.run(_parse_dims(grid, "grid"), _parse_dims(threadgroup, "threadgroup"),
                 buffers, tg_memory, timeout=timeout, textures=textures,
                 samplers=samplers)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise CompileError(f"cannot create --out-dir '{out_dir}': {exc.strerror}") from None
    try:
        return [_save_npy(out_dir, str(index), array)
                for index, array in sorted(buffers.items())] + \
            [_save_npy(out_dir, f"texture{index}", image.array)
             for index, image in sorted(textures.items())]
    except OSError as exc:
        raise CompileError(f"cannot write to --out-dir '{out_dir}': {exc.strerror}") from None


__all__ = ["Kernel", "Texture", "load_kernel", "parse_buffer", "run", "run_cli"]
