"""The binding plan: what a Metal host encodes for one dispatch.

:func:`plan_dispatch` turns a kernel's bindings (from its ``!air.kernel``
metadata, :func:`llvm_to_air.runner.compile.kernel_bindings`) and the user's
arrays into the list of compute-encoder calls a Mac host makes, plus the
grid and threadgroup sizes of ``dispatchThreads:threadsPerThreadgroup:``.
It checks everything a host can get wrong (missing or too small buffers,
wrong dtypes, threadgroup memory rules, partial threadgroups for kernels
that read the threadgroup size) and raises :class:`CompileError` naming
the kernel, the location index and what to pass instead.

Both executors use it: the CPU runner (:mod:`llvm_to_air.runner.execute`)
and the Metal path (:mod:`llvm_to_air.metal`), which only executes the list.

Calls, in parameter order:

* :class:`SetBuffer`: ``setBuffer:offset:atIndex:``, device memory (and
  constant data over :data:`MAX_SET_BYTES`); copied back after the run when
  the kernel may write it.
* :class:`SetBytes`: ``setBytes:length:atIndex:``, constant data (scalars and
  structs passed by value, small ``constant`` arrays).
* :class:`SetThreadgroupMemoryLength`: ``setThreadgroupMemoryLength:atIndex:``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llvm_to_air.errors import CompileError

if TYPE_CHECKING:
    from llvm_to_air.rewrite.samplers import Sampler
    from llvm_to_air.runner.compile import Binding
    from llvm_to_air.runner.textures import BoundTexture, Texture

MAX_THREADS_PER_THREADGROUP = 1024
MAX_THREADGROUP_MEMORY = 32 * 1024
# Metal's grid is uint3 per dimension; the driver numbers threadgroups in 32 bits
MAX_GRID_DIMENSION = 2**32 - 1
MAX_THREADGROUPS = 2**32 - 1
MAX_SET_BYTES = 4096  # Metal: setBytes is for single-use data smaller than 4 KB
UNIFORM_ROLES = {"threads_per_threadgroup": "the threadgroup size (CUDA blockDim, OpenCL "
                                            "get_local_size)",
                 "threadgroups_per_grid": "the number of threadgroups (CUDA gridDim, "
                                          "OpenCL get_num_groups)"}

_SCALAR_NAMES = re.compile(
    r"(?:atomic_)?(u?char|u?short|u?int|u?long|half|float|bfloat|double|bool|size_t)(\d*)")
_KINDS = {"char": ("any", 1), "uchar": ("any", 1), "bool": ("any", 1),
          "short": ("int", 2), "ushort": ("int", 2), "int": ("int", 4), "uint": ("int", 4),
          "long": ("int", 8), "ulong": ("int", 8), "size_t": ("int", 8),
          "half": ("float", 2), "bfloat": ("any", 2), "float": ("float", 4),
          "double": ("float", 8)}
_DEFAULT_DTYPES = {"char": np.int8, "uchar": np.uint8, "bool": np.uint8, "short": np.int16,
                   "ushort": np.uint16, "int": np.int32, "uint": np.uint32, "long": np.int64,
                   "ulong": np.uint64, "size_t": np.uint64, "half": np.float16,
                   "float": np.float32, "double": np.float64}

Dims = tuple[int, int, int]


@dataclass(frozen=True)
class SetBuffer:
    """``setBuffer:offset:atIndex:`` with a buffer holding ``array``."""

    index: int
    position: int            # the kernel parameter it binds
    name: str
    array: np.ndarray
    writes: bool             # the kernel may write it: copy back after the run


@dataclass(frozen=True)
class SetBytes:
    """``setBytes:length:atIndex:`` with the bytes of ``array``."""

    index: int
    position: int
    name: str
    array: np.ndarray


@dataclass(frozen=True)
class SetThreadgroupMemoryLength:
    """``setThreadgroupMemoryLength:atIndex:``."""

    index: int
    position: int
    name: str
    length: int


@dataclass(frozen=True)
class SetTexture:
    """``setTexture:atIndex:`` with a texture of ``bound``'s image; ``array`` is the
    descriptor the CPU runner passes for it (runner/textures.py)."""

    index: int
    position: int
    name: str
    bound: BoundTexture

    @property
    def array(self) -> np.ndarray:
        return self.bound.descriptor


@dataclass(frozen=True)
class SetSamplerState:
    """``setSamplerState:atIndex:`` with ``sampler``; ``array`` is its AIR sampler state
    (rewrite/samplers.py), which the CPU runner passes by address."""

    index: int
    position: int
    name: str
    sampler: Sampler

    @property
    def array(self) -> np.ndarray:
        return np.array([self.sampler.air_state, 0], dtype=np.uint64)


EncoderCall = SetBuffer | SetBytes | SetThreadgroupMemoryLength | SetTexture | SetSamplerState


@dataclass(frozen=True)
class DispatchPlan:
    """Encoder calls, then ``dispatchThreads:grid threadsPerThreadgroup:threadgroup``."""

    kernel: str
    calls: tuple[EncoderCall, ...]
    grid: Dims
    threadgroup: Dims
    threadgroup_bytes: int   # host-set threadgroup memory plus the kernel's own

    @property
    def threadgroups(self) -> Dims:
        g, t = self.grid, self.threadgroup
        return (-(-g[0] // t[0]), -(-g[1] // t[1]), -(-g[2] // t[2]))

    def describe(self) -> list[str]:
        """One line per call, as the Objective-C a host would write."""
        lines = []
        for call in self.calls:
            if isinstance(call, SetBuffer):
                lines.append(f"setBuffer:<{call.array.nbytes} bytes> offset:0 "
                             f"atIndex:{call.index}  // {call.name}"
                             f"{' (read back)' if call.writes else ''}")
            elif isinstance(call, SetTexture):
                image = call.bound.texture
                lines.append(f"setTexture:<{image.array.shape[1]}x{image.array.shape[0]} "
                             f"{image.format.name}> atIndex:{call.index}  // {call.name}"
                             f"{' (read back)' if call.bound.writes else ''}")
            elif isinstance(call, SetSamplerState):
                lines.append(f"setSamplerState:<{call.sampler.describe()}> "
                             f"atIndex:{call.index}  // {call.name}")
            elif isinstance(call, SetBytes):
                lines.append(f"setBytes:<{call.array.nbytes} bytes> "
                             f"length:{call.array.nbytes} atIndex:{call.index}  // {call.name}")
            else:
                lines.append(f"setThreadgroupMemoryLength:{call.length} "
                             f"atIndex:{call.index}  // {call.name}")
        lines.append(f"dispatchThreads:{self.grid} threadsPerThreadgroup:{self.threadgroup}")
        return lines


def dims(value: Any, what: str) -> Dims:
    """1 to 3 positive integers, padded with 1s."""
    if isinstance(value, int):
        value = (value,)
    try:
        result = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise CompileError(f"{what} must be 1 to 3 positive integers, not {value!r}") from None
    if not 1 <= len(result) <= 3 or any(d < 1 for d in result):
        raise CompileError(f"{what} must be 1 to 3 positive integers, not {value!r}")
    return (*result, *(1,) * (3 - len(result)))  # type: ignore[return-value]


def check_dispatch(kernel: str, roles: set[str], grid: Any, threadgroup: Any) -> \
        tuple[Dims, Dims]:
    """The grid and threadgroup sizes, checked against Apple's limits and the kernel."""
    g = dims(grid, "grid")
    t = dims(threadgroup, "threadgroup")
    if any(d > MAX_GRID_DIMENSION for d in (*g, *t)):
        raise CompileError(f"grid {g} or threadgroup {t} has a dimension over "
                           f"{MAX_GRID_DIMENSION} (Metal's grid sizes are 32-bit)")
    groups = 1
    for gd, td in zip(g, t, strict=True):
        groups *= -(-gd // td)
    if groups > MAX_THREADGROUPS:
        raise CompileError(f"grid {g} in threadgroups of {t} makes {groups} threadgroups; "
                           f"the CPU runner runs at most {MAX_THREADGROUPS}")
    if t[0] * t[1] * t[2] > MAX_THREADS_PER_THREADGROUP:
        raise CompileError(f"threadgroup {t[0]}x{t[1]}x{t[2]} has "
                           f"{t[0] * t[1] * t[2]} threads; Apple GPUs allow at most "
                           f"{MAX_THREADS_PER_THREADGROUP}")
    for role, what in UNIFORM_ROLES.items():
        if role not in roles:
            continue
        for axis, (gd, td) in enumerate(zip(g, t, strict=True)):
            if gd % td:
                raise CompileError(
                    f"kernel '{kernel}' reads {what}, so every threadgroup must be "
                    f"full: grid {'xyz'[axis]} = {gd} is not a multiple of threadgroup "
                    f"{'xyz'[axis]} = {td}",
                    hint="round the grid up to a multiple of the threadgroup size (the "
                         "kernel's own bounds check skips the extra threads)")
    return g, t


# what the caller binds -> (the binding kinds it may name, what an index is called)
_BOUND_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "buffers": (("buffer", "constant"), "buffer"),
    "tg_memory": (("threadgroup",), "threadgroup memory"),
    "textures": (("texture",), "texture"),
    "samplers": (("sampler",), "sampler"),
}


def check_indices(kernel: str, bindings: Sequence[Binding], buffers: Mapping[int, Any],
                  tg_memory: Mapping[int, int], textures: Mapping[int, Any] | None = None,
                  samplers: Mapping[int, Any] | None = None) -> None:
    """Every index the caller binds must be one the kernel has (a typo would otherwise
    leave the kernel's buffer unbound and write back an untouched array)."""
    given = {"buffers": buffers, "tg_memory": tg_memory, "textures": textures or {},
             "samplers": samplers or {}}
    for role, (kinds, noun) in _BOUND_KINDS.items():
        have = {b.index for b in bindings if b.kind in kinds}
        for index in given[role]:
            if index not in have:
                listed = ", ".join(str(i) for i in sorted(i for i in have if i is not None))
                raise CompileError(f"kernel '{kernel}' has no {noun} at index {index} (its "
                                   f"{noun.split()[0]} indices: {listed or 'none'})",
                                   hint="bind only the indices that inspect or -v list")


def plan_dispatch(kernel: str, bindings: Sequence[Binding], grid: Any, threadgroup: Any,
                  buffers: Mapping[int, Any], threadgroup_memory: Mapping[int, int] | None = None,
                  static_threadgroup_bytes: int = 0,
                  textures: Mapping[int, Texture] | None = None,
                  samplers: Mapping[int, Sampler] | None = None) -> DispatchPlan:
    """The encoder calls and dispatch sizes that run ``kernel`` with the user's arrays.

    ``buffers`` maps location indices to numpy arrays (or numpy/Python scalars for by-value
    parameters); ``threadgroup_memory`` maps threadgroup location indices to byte lengths.
    """
    tg_memory = threadgroup_memory or {}
    g, t = check_dispatch(kernel, {b.role for b in bindings if b.role}, grid, threadgroup)
    check_indices(kernel, bindings, buffers, tg_memory, textures, samplers)
    calls: list[EncoderCall] = []
    total = static_threadgroup_bytes
    for b in bindings:
        if b.kind in ("buffer", "constant"):
            array = _buffer(kernel, b, buffers)
            if array is None:
                continue
            assert b.index is not None
            if b.kind == "constant" and array.nbytes <= MAX_SET_BYTES:
                calls.append(SetBytes(b.index, b.position, b.name, array))
            else:
                writes = b.kind == "buffer" and b.access != "read"
                calls.append(SetBuffer(b.index, b.position, b.name, array, writes))
        elif b.kind == "threadgroup":
            length = _threadgroup_length(kernel, b, tg_memory)
            assert b.index is not None
            calls.append(SetThreadgroupMemoryLength(b.index, b.position, b.name, length))
            total += length
        elif b.kind == "texture":
            calls.append(_texture(kernel, b, textures or {}))
        elif b.kind == "sampler":
            if b.index not in (samplers or {}):
                raise CompileError(
                    f"kernel '{kernel}' needs a sampler at index {b.index} ('{b.name}'); "
                    "none was bound", hint=f"bind it with samplers={{{b.index}: "
                    "'normalized,repeat,linear'}} (--sampler "
                    f"{b.index}=normalized,repeat,linear), as setSamplerState:atIndex: does")
            assert b.index is not None and samplers is not None
            calls.append(SetSamplerState(b.index, b.position, b.name, samplers[b.index]))
    if total > MAX_THREADGROUP_MEMORY:
        raise CompileError(f"kernel '{kernel}' needs {total} bytes of threadgroup "
                           f"memory; Apple GPUs have {MAX_THREADGROUP_MEMORY}")
    return DispatchPlan(kernel, tuple(calls), g, t, total)


def _texture(kernel: str, b: Binding, textures: Mapping[int, Texture]) -> SetTexture:
    from llvm_to_air.runner.textures import bind, check_element

    if b.index not in textures:
        raise CompileError(
            f"kernel '{kernel}' needs a texture at index {b.index} ('{b.name}', "
            f"{b.type_name}); none was bound",
            hint=f"bind it with textures={{{b.index}: image_array}} (--texture "
                 f"{b.index}=IMAGE.npy[:FORMAT]), as setTexture:atIndex: does")
    image = textures[b.index]
    check_element(kernel, b.index, b.type_name, image)
    writes = (b.access or "read") != "read"
    return SetTexture(b.index, b.position, b.name, bind(image, writes))


def _threadgroup_length(kernel: str, b: Binding, tg_memory: Mapping[int, int]) -> int:
    if b.index not in tg_memory:
        raise CompileError(
            f"kernel '{kernel}' needs threadgroup memory at index {b.index} "
            f"('{b.name}', {b.type_name}); none was set",
            hint=f"pass threadgroup_memory={{{b.index}: BYTES}} "
                 f"(--threadgroup-memory {b.index}=BYTES), as "
                 "setThreadgroupMemoryLength:atIndex: does")
    length = int(tg_memory[b.index])
    if length <= 0 or length % 16:
        raise CompileError(
            f"threadgroup memory length {length} at index {b.index} must be a "
            "positive multiple of 16 bytes (Metal's rule)")
    return length


def _buffer(kernel: str, b: Binding, buffers: Mapping[int, Any]) -> np.ndarray | None:
    what = "buffer" if b.kind == "buffer" else "constant buffer"
    if b.index not in buffers:
        if b.unused:
            return None
        raise CompileError(
            f"kernel '{kernel}' needs a {what} at index {b.index} ('{b.name}', "
            f"{b.type_name}); none was bound",
            hint=f"bind it with buffers={{{b.index}: array}} (--buffer {b.index}=FILE.npy "
                 "or INDEX=value:dtype), as setBuffer:atIndex:/setBytes:atIndex: do")
    array = buffers[b.index]
    match = _SCALAR_NAMES.fullmatch(b.type_name)
    if not isinstance(array, np.ndarray):
        if isinstance(array, np.generic):
            array = np.array(array)
        elif isinstance(array, bool | int | float) and match and not match.group(2):
            array = np.array(array, dtype=_DEFAULT_DTYPES.get(match.group(1), np.int32))
        else:
            raise CompileError(f"buffer {b.index} of kernel '{kernel}' must be a numpy "
                               f"array, not {type(array).__name__}")
    if array.dtype.hasobject:
        raise CompileError(f"buffer {b.index} of kernel '{kernel}' holds Python objects "
                           f"(dtype {array.dtype}); GPU buffers hold plain numbers")
    if not array.dtype.isnative:
        raise CompileError(f"buffer {b.index} of kernel '{kernel}' is in non-native "
                           f"byte order (dtype {array.dtype.str})",
                           hint="convert it with array.astype(array.dtype.newbyteorder('='))")
    if not array.flags.c_contiguous:
        raise CompileError(f"buffer {b.index} of kernel '{kernel}' is not a contiguous "
                           "array", hint="pass numpy.ascontiguousarray(array)")
    if b.access in ("read_write", "write") and not array.flags.writeable:
        raise CompileError(f"buffer {b.index} of kernel '{kernel}' is written by the "
                           "kernel but the array is read-only")
    if match:
        kind, size = _KINDS[match.group(1)]
        lanes = int(match.group(2) or 1)
        dt = array.dtype
        # A device buffer is bytes (Metal checks nothing); its element type is often an
        # inference from the kernel's accesses (CUDA's float atomics go through atomicCAS on
        # int), so only an element of another size is refused there. Scalars passed by value
        # have a declared type: their kind must match too.
        same_size = dt.kind in "iuf" and dt.itemsize == size
        ok = dt.kind == "V" or kind == "any" or (same_size and b.kind == "buffer") or (
            kind == "int" and dt.kind in "iu" and same_size) or (
            kind == "float" and dt.kind == "f" and same_size)
        if not ok:
            raise CompileError(
                f"{what} {b.index} of kernel '{kernel}' holds {b.type_name} "
                f"({kind} of {size} bytes{' x ' + str(lanes) if lanes > 1 else ''}), but "
                f"the array's dtype is {dt}",
                hint="convert it with array.astype(...)")
    need = max(b.type_size or 1, b.buffer_size or 0)
    if array.nbytes < need:
        raise CompileError(
            f"{what} {b.index} of kernel '{kernel}' is too small: {b.type_name} needs "
            f"{need} bytes, the array has {array.nbytes}")
    return array


__all__ = ["MAX_SET_BYTES", "MAX_THREADGROUP_MEMORY", "MAX_THREADS_PER_THREADGROUP",
           "DispatchPlan", "EncoderCall", "SetBuffer", "SetBytes",
           "SetThreadgroupMemoryLength", "check_dispatch", "check_indices", "dims",
           "plan_dispatch"]
