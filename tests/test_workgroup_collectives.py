"""Work-group collectives (``rewrite/workgroup_collectives.py``): OpenCL C 2.0's
``work_group_*`` functions and CUDA's ``__syncthreads_count``/``_and``/``_or``, lowered to a
threadgroup array, barriers and a fold, run on the CPU runner against numpy, and checked by
LLVM 14's assembler and verifier. Fixtures: ``src/opencl/workgroup_collectives.cl``
(clang-19, -O2 and -O0) and ``src/cuda-real/block_votes.cu`` (real CUDA headers)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Call
from llvm_to_air.ir.reader import read_module
from llvm_to_air.metadata.target import DEFAULT_TARGET, get_target
from llvm_to_air.rewrite.context import LoweringContext, LoweringOptions
from llvm_to_air.rewrite.workgroup_collectives import lower_workgroup_collectives
from llvm_to_air.runner import run

FIXTURES = Path(__file__).parent / "fixtures"
OPENCL = ["opencl19/workgroup_collectives.ll", "opencl19/workgroup_collectives-O0.ll"]
CUDA = ["cuda-real-O2/block_votes.ll", "cuda-real-O0/block_votes.ll"]
RNG = np.random.default_rng(7)


@functools.cache
def _lowered(rel: str) -> tuple[bytes, tuple[str, ...]]:
    result = compile((FIXTURES / rel).read_text(), rel)
    assert isinstance(result.output, str)
    return result.output.encode(), tuple(k.name for k in result.kernels)


def _kernel(rel: str) -> tuple[bytes, Callable[[str], str]]:
    air, names = _lowered(rel)

    def named(stem: str) -> str:
        found = [n for n in names if stem in n]
        assert len(found) == 1, (stem, names)
        return found[0]

    return air, named


# ------------------------------------------------------------------ OpenCL


@pytest.mark.parametrize("rel", OPENCL)
def test_stream_compaction_with_exclusive_scan_and_reduction(rel: str) -> None:
    air, k = _kernel(rel)
    groups, size = 4, 128
    x = RNG.uniform(-1, 1, groups * size).astype(np.float32)
    x[:size] = np.abs(x[:size]) + 0.5  # one group keeps everything
    x[size:2 * size] = -np.abs(x[size:2 * size]) - 0.5  # one keeps nothing
    out = np.full(groups * size, -7.0, np.float32)
    counts = np.zeros(groups, np.int32)
    run(air, k("compact_positive"), groups * size, size, {0: x, 1: out, 2: counts})
    for g in range(groups):
        chunk = x[g * size:(g + 1) * size]
        kept = chunk[chunk > 0]
        assert counts[g] == len(kept)
        np.testing.assert_array_equal(out[g * size:g * size + len(kept)], kept)
        assert (out[g * size + len(kept):(g + 1) * size] == -7.0).all()


@pytest.mark.parametrize("rel", OPENCL)
def test_softmax_with_work_group_max_and_sum(rel: str) -> None:
    air, k = _kernel(rel)
    rows, width = 4, 64
    logits = RNG.uniform(-20, 20, (rows, width)).astype(np.float32)
    probs = np.zeros_like(logits)
    run(air, k("softmax_rows"), rows * width, width, {0: logits.ravel(), 1: probs.reshape(-1)})
    e = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("rel", OPENCL)
def test_2d_broadcast_min_max_and_votes(rel: str) -> None:
    air, k = _kernel(rel)
    width, height, tx, ty = 16, 12, 8, 4
    v = RNG.integers(-50, 100, (height, width)).astype(np.int32)
    v[4:8, 0:8] = RNG.integers(1, 99, (4, 8))  # group (0, 1): all < 100 and no zero
    v[0:4, 8:16] = np.abs(v[0:4, 8:16]) + 100  # group (1, 0): none small
    v[9, 3] = 0  # group (0, 2) has a zero
    v[8:12, 0:8][v[8:12, 0:8] >= 100] = 5
    out = np.zeros_like(v)
    flags = np.zeros(2 * (width // tx) * (height // ty), np.uint32)
    run(air, k("leader_offsets"), (width, height), (tx, ty),
        {0: v.ravel(), 1: out.reshape(-1), 2: flags})
    for gy in range(height // ty):
        for gx in range(width // tx):
            block = v[gy * ty:(gy + 1) * ty, gx * tx:(gx + 1) * tx]
            g = gy * (width // tx) + gx
            np.testing.assert_array_equal(out[gy * ty:(gy + 1) * ty, gx * tx:(gx + 1) * tx],
                                          block - block[2, 1] + block.min())
            assert flags[2 * g] == block.astype(np.uint32).max()
            assert flags[2 * g + 1] == int((block < 100).all()) * 2 + int((block == 0).any())


@pytest.mark.parametrize("rel", OPENCL)
def test_scans_of_long_int_and_uint(rel: str) -> None:
    air, k = _kernel(rel)
    groups, size = 4, 64
    v = RNG.integers(-(1 << 40), 1 << 40, groups * size).astype(np.int64)
    incl = np.zeros_like(v)
    mins = np.zeros(groups * size, np.int32)
    maxs = np.zeros(groups * size, np.uint32)
    run(air, k("scans"), groups * size, size, {0: v, 1: incl, 2: mins, 3: maxs})
    for g in range(groups):
        part = slice(g * size, (g + 1) * size)
        np.testing.assert_array_equal(incl[part], np.cumsum(v[part]))
        np.testing.assert_array_equal(mins[part], np.minimum.accumulate(v[part].astype(np.int32)))
        low = (v[part] & 0xFFFF).astype(np.uint32)
        # exclusive: the first work-item gets max's identity, 0 for uint
        np.testing.assert_array_equal(maxs[part], np.concatenate(
            [[0], np.maximum.accumulate(low)[:-1]]))


# ------------------------------------------------------------------ CUDA


@pytest.mark.parametrize("rel", CUDA)
def test_syncthreads_count_per_block(rel: str) -> None:
    air, k = _kernel(rel)
    n = 1000
    x = RNG.uniform(-1, 1, n).astype(np.float32)
    counts = np.zeros(4, np.int32)
    run(air, k("count_above"), 1024, 256, {0: x, 1: np.float32(0.25), 2: np.int32(n),
                                            3: counts})
    padded = np.concatenate([x, np.full(24, -np.inf, np.float32)]).reshape(4, 256)
    np.testing.assert_array_equal(counts, (padded > 0.25).sum(axis=1))


@pytest.mark.parametrize("rel", CUDA)
def test_syncthreads_or_ends_a_loop_for_the_whole_block(rel: str) -> None:
    air, k = _kernel(rel)
    blocks, size = 2, 256
    v = RNG.uniform(0, 300, blocks * size).astype(np.float32)
    v[size] = -5.0  # block 1: one low value that spreads right, one step per round
    rounds = np.zeros(blocks, np.int32)
    expect, expect_rounds = v.copy().reshape(blocks, size), []
    for row in expect:
        count = 0
        while True:
            count += 1
            left = np.concatenate([row[:1], row[:-1]])
            nxt = np.minimum(row, left + np.float32(1.0))
            changed = (nxt != row).any()
            row[:] = nxt
            if not changed:
                break
        expect_rounds.append(count)
    run(air, k("relax_until_stable"), blocks * size, size, {0: v, 1: rounds})
    np.testing.assert_array_equal(v.reshape(blocks, size), expect)
    np.testing.assert_array_equal(rounds, expect_rounds)
    assert rounds.min() > 2  # the loop really ran several block-wide rounds


@pytest.mark.parametrize("rel", CUDA)
def test_syncthreads_and_or_votes(rel: str) -> None:
    air, k = _kernel(rel)
    size = 128
    x = RNG.uniform(0.1, 1, (4, size)).astype(np.float32)
    x[1, 17] = -0.5
    x[2, 100] = np.inf
    x[3, 3], x[3, 4] = -1.0, np.nan
    flags = np.zeros(4, np.int32)
    run(air, k("block_flags"), 4 * size, size, {0: x.ravel(), 1: flags})
    expect = [int(((r > 0) & np.isfinite(r)).all()) * 2 + int((r < 0).any()) for r in x]
    np.testing.assert_array_equal(flags, expect)


# ------------------------------------------------------------------ oracles, the stage alone


@pytest.mark.parametrize("rel", OPENCL + CUDA)
def test_lowered_collectives_pass_llvm14(rel: str) -> None:
    from oracles import llvm_as_14, opt_verify_14

    text = _lowered(rel)[0].decode()
    assert "work_group_" not in text and "barrier.cta.red" not in text
    llvm_as_14(text)
    opt_verify_14(text)
    library = compile((FIXTURES / rel).read_text(), rel, emit="metallib").output
    assert isinstance(library, bytes) and library[:4] == b"MTLB"


def _module(body: str, decl: str) -> tuple[object, LoweringContext]:
    text = f"""target triple = "nvptx64-nvidia-cuda"
define void @k(ptr addrspace(1) %out, i1 %p) {{
{body}
  ret void
}}
{decl}
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @k, !"kernel", i32 1}}
"""
    return read_module(text, "k.ll"), LoweringContext(LoweringOptions(get_target(DEFAULT_TARGET)))


def test_stage_leaves_no_collective_and_one_scratch_array() -> None:
    module, ctx = _module(
        "  %a = call i32 @llvm.nvvm.barrier.cta.red.popc.aligned.all(i32 0, i1 %p)\n"
        "  %b = call i1 @llvm.nvvm.barrier.cta.red.and.aligned.all(i32 0, i1 %p)\n"
        "  %c = zext i1 %b to i32\n  %d = add i32 %a, %c\n"
        "  store i32 %d, ptr addrspace(1) %out",
        "declare i32 @llvm.nvvm.barrier.cta.red.popc.aligned.all(i32, i1)\n"
        "declare i1 @llvm.nvvm.barrier.cta.red.and.aligned.all(i32, i1)")
    lower_workgroup_collectives(module, ctx)  # type: ignore[arg-type]
    fn = module.get_function("k")  # type: ignore[attr-defined]
    callees = [i.callee_function.name for i in fn.instructions()
               if isinstance(i, Call) and i.callee_function is not None]
    assert not [c for c in callees if ".red." in c]
    assert callees.count("llvm.nvvm.barrier.cta.sync.aligned.all") == 4
    scratch = [g for g in module.globals if g.name.startswith("__air_workgroup_scratch")]  # type: ignore[attr-defined]
    assert len(scratch) == 1 and scratch[0].addrspace == 3


def test_partial_block_barrier_reduction_is_refused_with_its_location() -> None:
    module, ctx = _module(
        "  %a = call i32 @llvm.nvvm.barrier.cta.red.popc.aligned.count(i32 1, i32 64, i1 %p)\n"
        "  store i32 %a, ptr addrspace(1) %out",
        "declare i32 @llvm.nvvm.barrier.cta.red.popc.aligned.count(i32, i32, i1)")
    with pytest.raises(CompileError, match=r"k\.ll:\d+:\d+: .*barrier reduction over part of "
                                           r"a block"):
        lower_workgroup_collectives(module, ctx)  # type: ignore[arg-type]
