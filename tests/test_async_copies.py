"""OpenCL's asynchronous work-group copies (``rewrite/async_copies.py``): each work-item copies
its share, ``wait_group_events`` is a barrier, events vanish. Fixture
``src/opencl30/async_copy.cl`` (clang-19 -cl-std=CL3.0, -O2 and -O0) on the CPU runner against numpy, and the
lowered text through LLVM 14's assembler and verifier."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run

FIXTURES = Path(__file__).parent / "fixtures"
VARIANTS = ["opencl30/no-llvm14/async_copy.ll", "opencl30/no-llvm14/async_copy-O0.ll"]
RNG = np.random.default_rng(11)
RADIUS = 2


@functools.cache
def air(rel: str) -> bytes:
    out = compile((FIXTURES / rel).read_text(), rel).output
    assert isinstance(out, str)
    return out.encode()


@pytest.mark.parametrize("rel", VARIANTS)
def test_tile_with_halo_staged_by_async_copy(rel: str) -> None:
    groups, n = 3, 64
    signal = RNG.uniform(-1, 1, groups * n).astype(np.float32)
    padded = np.pad(signal, RADIUS)
    out = np.zeros_like(signal)
    run(air(rel), "blur_1d", groups * n, n, {0: padded, 1: out},
        threadgroup_memory={0: 4 * (n + 2 * RADIUS + 12)})
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * RADIUS + 1)
    expect = np.zeros_like(signal)
    for k in range(2 * RADIUS + 1):  # the kernel's order of float32 additions
        expect = (expect + windows[:, k]).astype(np.float32)
    np.testing.assert_allclose(out, expect / np.float32(2 * RADIUS + 1), rtol=1e-6)


@pytest.mark.parametrize("rel", VARIANTS)
def test_strided_gather_and_scatter_of_float4_columns(rel: str) -> None:
    rows, width = 32, 6
    m = RNG.uniform(-1, 1, (rows, width, 4)).astype(np.float32)
    out = np.full_like(m, 9.0)
    run(air(rel), "column_scale", width * rows, rows,
        {0: m.reshape(-1), 1: out.reshape(-1), 2: np.int32(width), 3: np.float32(1.5)})
    np.testing.assert_array_equal(out, m * np.float32(1.5))


@pytest.mark.parametrize("rel", VARIANTS)
def test_chained_events_in_an_array(rel: str) -> None:
    groups, n = 2, 64
    a = RNG.integers(-1000, 1000, groups * n).astype(np.int32)
    b = RNG.integers(-300, 300, groups * n).astype(np.int16)
    out = np.zeros(groups * n, np.int32)
    run(air(rel), "two_tiles", groups * n, n, {0: a, 1: b, 2: out})
    expect = a.reshape(groups, n)[:, ::-1] * b.reshape(groups, n).astype(np.int32)
    np.testing.assert_array_equal(out.reshape(groups, n), expect)


@pytest.mark.parametrize("rel", VARIANTS)
def test_no_event_or_copy_builtin_remains_and_llvm14_accepts(rel: str) -> None:
    from oracles import llvm_as_14, opt_verify_14

    text = air(rel).decode()
    assert "spirv.Event" not in text and "async_work_group" not in text
    assert "wait_group_events" not in text and "prefetch" not in text
    llvm_as_14(text)
    opt_verify_14(text)


def test_an_event_used_otherwise_is_refused_by_name() -> None:
    source = """target triple = "spir64-unknown-unknown"
define spir_kernel void @k(ptr addrspace(1) %out, ptr addrspace(3) %tile) {
  %e = call spir_func target("spirv.Event") @_Z21async_work_group_copyPU3AS3fPU3AS1Kfm9ocl_event(ptr addrspace(3) %tile, ptr addrspace(1) %out, i64 4, target("spirv.Event") zeroinitializer)
  call void @keep(target("spirv.Event") %e)
  ret void
}
declare spir_func target("spirv.Event") @_Z21async_work_group_copyPU3AS3fPU3AS1Kfm9ocl_event(ptr addrspace(3), ptr addrspace(1), i64, target("spirv.Event"))
declare void @keep(target("spirv.Event"))
"""
    with pytest.raises(CompileError, match=r"k\.ll:4:\d+: error: an OpenCL event is used by "
                                           r"'call' in @k"):
        compile(source, "k.ll")
