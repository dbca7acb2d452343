"""The binding plan on every fixture kernel: one encoder call per bound parameter, of the
kind its LLVM parameter needs, at its location index; and its checks."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llvm_to_air.api import lower
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.types import PointerType
from llvm_to_air.plan import (
    MAX_SET_BYTES,
    SetBuffer,
    SetBytes,
    SetThreadgroupMemoryLength,
    plan_dispatch,
)
from llvm_to_air.runner.compile import Binding, kernel_bindings, kernel_names

FIXTURES = Path(__file__).parent / "fixtures"
FOLDERS = ("cuda19-O2", "cuda19-O0", "cuda14-O2", "cuda19-g", "opencl19", "mlir-nvvm",
           "mlir-rocdl", "apple-twins", "runner")
FILES = sorted(str(p.relative_to(FIXTURES)) for folder in FOLDERS
               for p in (FIXTURES / folder).glob("*.ll"))
_SCALAR = re.compile(
    r"(?:atomic_)?(u?char|u?short|u?int|u?long|half|float|bfloat|double|bool|size_t)(\d*)")
_DTYPES = {"char": np.int8, "uchar": np.uint8, "bool": np.uint8, "short": np.int16,
           "ushort": np.uint16, "int": np.int32, "uint": np.uint32, "long": np.int64,
           "ulong": np.uint64, "size_t": np.uint64, "bfloat": np.uint16, "half": np.float16, "float": np.float32, "double": np.float64}


@functools.cache
def kernels_of(rel: str) -> list[tuple[str, list[Binding]]] | None:
    try:
        module, _ = lower((FIXTURES / rel).read_text(), rel)
    except CompileError:
        return None  # fixtures made for error tests (double, unsupported constructs)
    return [(name, kernel_bindings(module, name).bindings) for name in kernel_names(module)]


def array_for(b: Binding, nbytes: int = 64) -> np.ndarray:
    match = _SCALAR.fullmatch(b.type_name)
    dtype = np.dtype(_DTYPES[match.group(1)]) if match else np.dtype(np.uint8)
    need = max(b.type_size or 1, b.buffer_size or 0, nbytes)
    return np.zeros(-(-need // dtype.itemsize), dtype)


def arguments(bindings: list[Binding]) -> tuple[dict[int, Any], dict[int, int]]:
    buffers = {b.index: array_for(b) for b in bindings
               if b.kind in ("buffer", "constant") and b.index is not None}
    memory = {b.index: 64 for b in bindings if b.kind == "threadgroup" and b.index is not None}
    return buffers, memory


def test_every_fixture_folder_has_kernels_to_plan() -> None:
    planned = [rel for rel in FILES if kernels_of(rel)]
    assert len(planned) >= 100
    for folder in FOLDERS:
        assert any(rel.startswith(folder + "/") for rel in planned), folder


@pytest.mark.parametrize("rel", FILES)
def test_plan_of_every_fixture_kernel(rel: str) -> None:
    found = kernels_of(rel)
    if found is None:
        pytest.skip(f"{rel} is an error-test fixture: it does not lower")
    for name, bindings in found:
        buffers, memory = arguments(bindings)
        plan = plan_dispatch(name, bindings, (64, 2), (32, 2), buffers, memory)
        assert plan.grid == (64, 2, 1) and plan.threadgroup == (32, 2, 1)
        assert plan.threadgroups == (2, 1, 1)
        by_position = {call.position: call for call in plan.calls}
        assert len(by_position) == len(plan.calls)
        for b in bindings:
            call = by_position.get(b.position)
            space = b.llvm_type.addrspace if isinstance(b.llvm_type, PointerType) else None
            if b.kind == "builtin":
                assert call is None and space is None, (name, b)
                continue
            assert call is not None and call.index == b.index, (name, b)
            if space == 3:
                assert isinstance(call, SetThreadgroupMemoryLength) and call.length == 64
            elif space == 2:
                assert isinstance(call, SetBytes | SetBuffer)
                assert isinstance(call, SetBytes) == (call.array.nbytes <= MAX_SET_BYTES)
                assert call.array is buffers[b.index] or call.array.base is not None
            else:
                assert space == 1 and isinstance(call, SetBuffer), (name, b)
                assert call.array is buffers[b.index]
                assert call.writes == (b.access != "read")
        # device/constant buffers share one index space, threadgroup memory has its own
        buffer_indices = [c.index for c in plan.calls if not
                          isinstance(c, SetThreadgroupMemoryLength)]
        tg_indices = [c.index for c in plan.calls if isinstance(c, SetThreadgroupMemoryLength)]
        assert len(set(buffer_indices)) == len(buffer_indices)
        assert len(set(tg_indices)) == len(tg_indices)
        assert plan.threadgroup_bytes == 64 * len(tg_indices)
        assert len(plan.describe()) == len(plan.calls) + 1


def _vadd() -> tuple[str, list[Binding]]:
    found = kernels_of("cuda19-O2/vadd.ll")
    assert found
    return found[0]


def test_plan_of_vadd_spelled_out() -> None:
    name, bindings = _vadd()
    a, b, c = (np.zeros(8, np.float32) for _ in range(3))
    plan = plan_dispatch(name, bindings, 8, 4, {0: a, 1: b, 2: c, 3: 8})
    assert [type(call).__name__ for call in plan.calls] == [
        "SetBuffer", "SetBuffer", "SetBuffer", "SetBytes"]
    assert [call.index for call in plan.calls] == [0, 1, 2, 3]
    assert [getattr(call, "writes", None) for call in plan.calls] == [False, False, True, None]
    scalar = plan.calls[3]
    assert isinstance(scalar, SetBytes) and scalar.array.dtype == np.int32 and scalar.array == 8
    assert plan.describe()[-1] == "dispatchThreads:(8, 1, 1) threadsPerThreadgroup:(4, 1, 1)"


def test_large_constant_data_goes_in_a_buffer() -> None:
    found = kernels_of("opencl19/local_param.ll")
    assert found
    name, bindings = found[0]
    buffers, memory = arguments(bindings)
    constant = next(b for b in bindings if isinstance(b.llvm_type, PointerType)
                    and b.llvm_type.addrspace == 2 and b.type_name == "float")
    buffers[constant.index] = np.zeros(MAX_SET_BYTES // 4 + 1, np.float32)
    plan = plan_dispatch(name, bindings, 64, 64, buffers, memory)
    call = next(c for c in plan.calls if c.index == constant.index
                and not isinstance(c, SetThreadgroupMemoryLength))
    assert isinstance(call, SetBuffer) and not call.writes


@pytest.mark.parametrize(("change", "words"), [
    ({"drop": 2}, "needs a buffer at index 2"),
    ({"set": (0, np.zeros(8, np.float64))}, "the array's dtype is float64"),
    ({"set": (3, np.float32(8))}, "holds int (int of 4 bytes), but the array's dtype is float32"),
    ({"set": (0, np.zeros(16, np.float32)[::2])}, "not a contiguous array"),
    ({"set": (2, np.zeros(8, np.float32).setflags(write=False))}, "must be a numpy array"),
    ({"set": (3, "8")}, "must be a numpy array, not str"),
    ({"grid": (8, 0)}, "grid must be 1 to 3 positive integers"),
    ({"threadgroup": (64, 32)}, "Apple GPUs allow at most 1024"),
])
def test_plan_errors_name_the_kernel_and_index(change: dict[str, Any], words: str) -> None:
    name, bindings = _vadd()
    buffers: dict[int, Any] = {0: np.zeros(8, np.float32), 1: np.zeros(8, np.float32),
                               2: np.zeros(8, np.float32), 3: np.int32(8)}
    if "drop" in change:
        del buffers[change["drop"]]
    if "set" in change:
        index, value = change["set"]
        buffers[index] = value
    with pytest.raises(CompileError, match=re.escape(words)):
        plan_dispatch(name, bindings, change.get("grid", 8), change.get("threadgroup", 8),
                      buffers)


def test_read_only_array_for_a_written_buffer() -> None:
    name, bindings = _vadd()
    c = np.zeros(8, np.float32)
    c.setflags(write=False)
    with pytest.raises(CompileError, match="written by the kernel but the array is read-only"):
        plan_dispatch(name, bindings, 8, 8, {0: c.copy(), 1: c.copy(), 2: c, 3: 8})


def test_threadgroup_memory_rules_and_uniform_threadgroups() -> None:
    found = kernels_of("cuda19-O2/dynamic_shared.ll")
    assert found
    name, bindings = found[0]
    buffers = {0: np.zeros(256, np.float32), 1: np.zeros(256, np.float32), 2: np.int32(256)}
    with pytest.raises(CompileError, match="needs threadgroup memory at index 0"):
        plan_dispatch(name, bindings, 256, 128, buffers)
    with pytest.raises(CompileError, match="positive multiple of 16 bytes"):
        plan_dispatch(name, bindings, 256, 128, buffers, {0: 100})
    with pytest.raises(CompileError, match="Apple GPUs have 32768"):
        plan_dispatch(name, bindings, 256, 128, buffers, {0: 512},
                      static_threadgroup_bytes=32768)
    plan_dispatch(name, bindings, 250, 128, buffers, {0: 512})  # partial groups are fine
    # CUDA gridDim: every threadgroup must be full
    found = kernels_of("cuda19-O2/histogram.ll")
    assert found
    hist, hist_bindings = found[0]
    hist_buffers = {0: np.zeros(64, np.uint8), 1: np.zeros(64, np.uint32), 2: np.int32(64)}
    with pytest.raises(CompileError, match=r"reads the number of threadgroups .* grid x = 250 "
                                            r"is not a multiple of threadgroup x = 128"):
        plan_dispatch(hist, hist_bindings, 250, 128, hist_buffers)
    plan = plan_dispatch(name, bindings, 256, 128, buffers, {0: 512})
    assert plan.calls[-1] == SetThreadgroupMemoryLength(0, plan.calls[-1].position,
                                                        plan.calls[-1].name, 512)
