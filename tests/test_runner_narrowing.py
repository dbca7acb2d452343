"""Narrowed rounds (:mod:`llvm_to_air.runner.narrowing`).

A round whose threads first branch on a uniform guard ``tid < s`` runs only the threads
the guard admits; the others' states are set as if they had branched past. These tests
run kernels whose guard admits a prefix for many bounds (none, some, all, past the group,
negative for signed compares), in its mirrored and inverted forms, on 1-D and 2-D
threadgroups with partial groups at the grid's edge, and check the results against
numpy; and they check which rounds were narrowed, and that a guard whose other branch
does something, or whose bound differs between threads, is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.ir.reader import read_module
from llvm_to_air.runner import run
from llvm_to_air.runner.compile import compile_kernel, kernel_bindings
from llvm_to_air.runner.load import find_kernel

FIXTURES = Path(__file__).parent / "fixtures"
RNG = np.random.default_rng(5)
# the grid: groups of 64 x 1 and 16 x 4 leave a partial column (but for kernels that read
# the threadgroup size, which need whole groups)
WIDTH, WHOLE, HEIGHT = 80, 128, 8

# each thread keeps in[g] across two barriers; between them, the threads the guard admits
# (block %work) store 2 * in[g] to out[g]; after the second barrier every thread adds
# in[g] and 1 to out[g] (zeros before): 3 * in[g] + 1 where admitted, in[g] + 1 elsewhere. The guard
# is {guard}, which defines %c; {branch} picks the blocks it goes to (%other stores
# -in[g], so that out[g] ends 1 there). Threads with x position {quit} or more finish
# before the first barrier (out[g] stays 0).
_MODULE = """\
target datalayout = "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-f32:32:32-n8:16:32"
target triple = "air64-apple-macosx14.0.0"

define void @k(float addrspace(1)* %in, float addrspace(1)* %out, <3 x i32> %gpos, i32 %lid, <3 x i32> %tpos, <3 x i32> %tsize, <3 x i32> %group) {
  %gx = extractelement <3 x i32> %gpos, i32 0
  %gy = extractelement <3 x i32> %gpos, i32 1
  %row = mul i32 %gy, {width}
  %g = add i32 %row, %gx
  %g64 = zext i32 %g to i64
  %ip = getelementptr inbounds float, float addrspace(1)* %in, i64 %g64
  %x = load float, float addrspace(1)* %ip, align 4
  %op = getelementptr inbounds float, float addrspace(1)* %out, i64 %g64
  %tx = extractelement <3 x i32> %tpos, i32 0
  %bx = extractelement <3 x i32> %group, i32 0
  %quit = icmp uge i32 %tx, {quit}
  br i1 %quit, label %exit, label %stay
stay:
  call void @air.wg.barrier(i32 2, i32 1) #0
{guard}
  br i1 %c, {branch}
work:
  %x2 = fmul float %x, 2.0
  store float %x2, float addrspace(1)* %op, align 4
  br label %join
other:
  %xn = fneg float %x
  store float %xn, float addrspace(1)* %op, align 4
  br label %join
join:
  call void @air.wg.barrier(i32 2, i32 1) #0
  %o = load float, float addrspace(1)* %op, align 4
  %sum = fadd float %o, %x
  %sum1 = fadd float %sum, 1.0
  store float %sum1, float addrspace(1)* %op, align 4
  ret void
exit:
  ret void
}

declare void @air.wg.barrier(i32, i32) #0

attributes #0 = { convergent nounwind }

!air.kernel = !{!0}
!air.version = !{!9}
!0 = !{void (float addrspace(1)*, float addrspace(1)*, <3 x i32>, i32, <3 x i32>, <3 x i32>, <3 x i32>)* @k, !1, !2}
!1 = !{}
!2 = !{!3, !4, !5, !6, !7, !8, !10}
!3 = !{i32 0, !"air.buffer", !"air.location_index", i32 0, i32 1, !"air.read", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"float", !"air.arg_name", !"in"}
!4 = !{i32 1, !"air.buffer", !"air.location_index", i32 1, i32 1, !"air.read_write", !"air.address_space", i32 1, !"air.arg_type_size", i32 4, !"air.arg_type_align_size", i32 4, !"air.arg_type_name", !"float", !"air.arg_name", !"out"}
!5 = !{i32 2, !"air.thread_position_in_grid", !"air.arg_type_name", !"uint3", !"air.arg_name", !"gpos"}
!6 = !{i32 3, !"air.thread_index_in_threadgroup", !"air.arg_type_name", !"uint", !"air.arg_name", !"lid"}
!7 = !{i32 4, !"air.thread_position_in_threadgroup", !"air.arg_type_name", !"uint3", !"air.arg_name", !"tpos"}
!8 = !{i32 5, !"air.{size_role}", !"air.arg_type_name", !"uint3", !"air.arg_name", !"tsize"}
!10 = !{i32 6, !"air.threadgroup_position_in_grid", !"air.arg_type_name", !"uint3", !"air.arg_name", !"group"}
!9 = !{i32 2, i32 6, i32 0}
"""

WORK_FIRST = "label %work, label %join"
WORK_SECOND = "label %join, label %work"
OTHER_SECOND = "label %work, label %other"


class Threads:
    """Each grid position's built-in inputs (arrays over the grid, row-major), as the
    runner computes them for ``group``."""

    def __init__(self, group: tuple[int, int], width: int = WIDTH) -> None:
        gw, gh = group
        y, x = np.mgrid[0:HEIGHT, 0:width].astype(np.int64)
        self.tx, ty = x % gw, y % gh
        self.bx = x // gw
        self.nx = np.minimum(gw, width - self.bx * gw)  # threads_per_threadgroup
        self.dispatch_nx = np.full_like(x, gw)          # dispatch_threads_per_threadgroup
        self.lid = ty * self.nx + self.tx
        self.gy = y


def _u32(s: int) -> int:
    return s % (1 << 32)


def _s32(s: int) -> int:
    return _u32(s) - (1 << 32) if _u32(s) >> 31 else _u32(s)


# guard text (S: the bound), branch, which threads it admits
Admits = Callable[[Threads, int], np.ndarray]
NARROWED: dict[str, tuple[str, str, Admits]] = {
    "lid ult": ("%c = icmp ult i32 %lid, S", WORK_FIRST, lambda t, s: t.lid < _u32(s)),
    "lid slt": ("%c = icmp slt i32 %lid, S", WORK_FIRST, lambda t, s: t.lid < _s32(s)),
    "tx ule": ("%c = icmp ule i32 %tx, S", WORK_FIRST, lambda t, s: t.tx <= _u32(s)),
    "tx sle": ("%c = icmp sle i32 %tx, S", WORK_FIRST, lambda t, s: t.tx <= _s32(s)),
    "mirrored ugt": ("%c = icmp ugt i32 S, %tx", WORK_FIRST, lambda t, s: t.tx < _u32(s)),
    "mirrored sge": ("%c = icmp sge i32 S, %lid", WORK_FIRST, lambda t, s: t.lid <= _s32(s)),
    "inverted uge": ("%c = icmp uge i32 %lid, S", WORK_SECOND, lambda t, s: t.lid < _u32(s)),
    "inverted sgt": ("%c = icmp sgt i32 %tx, S", WORK_SECOND, lambda t, s: t.tx <= _s32(s)),
    "widened slt": ("%w = zext i32 %lid to i64\n  %c = icmp slt i64 %w, S", WORK_FIRST,
                    lambda t, s: t.lid < s),
}
BOUNDS = [0, 1, 15, 16, 17, 63, 64, 65, 1000, -1, -5, 2147483647, -2147483648]
# the forms past the first two: the bounds at the edges (each bound is a kernel to compile)
EDGES = [0, 16, 64, 65, -1, -2147483648]
GROUPS = [(64, 1), (16, 4)]  # threadgroup shapes: one row, and rows of 16


def _air(guard: str, branch: str, size_role: str = "dispatch_threads_per_threadgroup",
         quit: int = 1 << 16) -> bytes:
    """The kernel; ``%tsize`` is ``size_role`` (``threads_per_threadgroup`` needs whole
    groups: a grid of ``WHOLE``)."""
    width = WHOLE if size_role == "threads_per_threadgroup" else WIDTH
    return _MODULE.replace("{guard}", "  " + guard).replace("{branch}", branch) \
        .replace("{width}", str(width)).replace("{size_role}", size_role) \
        .replace("{quit}", str(quit)).encode()


def _narrowed_sites(air: bytes, checked: bool) -> set[int]:
    """The sites after which the groups driver narrows its round (both drivers alike)."""
    module, kernel = find_kernel([read_module(air.decode())], "k", "test")
    texts: dict[str, str] = {}
    compile_kernel(module, kernel_bindings(module, kernel), checked, dump=texts)
    return {int(k) for k in re.findall(r"^s(\d+)_xdone:", texts["runtime"], flags=re.M)}


def _check(air: bytes, group: tuple[int, int], admitted: np.ndarray, other: float,
           finished: np.ndarray | None = None) -> None:
    """Run checked and unchecked; admitted threads end with 3 * in, the others with
    in + ``other`` * in (and 1 added), ``finished`` ones with 0."""
    data = RNG.standard_normal(admitted.shape).astype(np.float32)
    expected = np.where(admitted, data * np.float32(2) + data,
                        np.float32(other) * data + data) + np.float32(1)
    if finished is not None:
        expected[finished] = 0
    for checked in (True, False):
        out = np.zeros_like(data)
        run(air, "k", data.shape[::-1], group, {0: data, 1: out}, check_bounds=checked)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("form", sorted(NARROWED))
def test_a_prefix_guard_narrows_its_round_for_every_bound(form: str) -> None:
    guard, branch, admits = NARROWED[form]
    for s in BOUNDS if form == "lid ult" else EDGES:  # EDGES has the signed extremes
        air = _air(guard.replace("S", str(s)), branch)
        if s == 0:
            assert _narrowed_sites(air, checked=True) == {1}
        for group in GROUPS:  # one compiled kernel (cached), two shapes
            _check(air, group, admits(Threads(group), s), other=0.0)


SIZE_HALF = ("%nx = extractelement <3 x i32> %tsize, i32 0\n  %h = lshr i32 %nx, 1\n"
             "  %c = icmp ult i32 %tx, %h")


@pytest.mark.parametrize("group", [(64, 1), (16, 4)])
@pytest.mark.parametrize("role", ["threads_per_threadgroup", "dispatch_threads_per_threadgroup"])
def test_a_bound_from_the_threadgroup_size(role: str, group: tuple[int, int]) -> None:
    # the dispatch size is the whole group's: past a partial group's threads
    air = _air(SIZE_HALF, WORK_FIRST, role)
    assert _narrowed_sites(air, checked=True) == {1}
    threads = Threads(group, WHOLE if role == "threads_per_threadgroup" else WIDTH)
    size = threads.nx if role == "threads_per_threadgroup" else threads.dispatch_nx
    _check(air, group, threads.tx < size // 2, other=0.0)


@pytest.mark.parametrize("form", ["lid ult", "tx sle", "inverted uge"])
def test_threads_that_finished_before_stay_finished(form: str) -> None:
    # threads with x >= 12 (of each row) finish before the barriers: the skipped threads
    # of a round are then some finished, some going on
    guard, branch, admits = NARROWED[form]
    for s in (0, 5, 11, 12, 20, 64):
        air = _air(guard.replace("S", str(s)), branch, quit=12)
        if s == 0:
            assert _narrowed_sites(air, checked=False) == {1}
        for group in GROUPS:
            threads = Threads(group)
            _check(air, group, admits(threads, s), other=0.0, finished=threads.tx >= 12)


# bounds the driver computes per group from built-in inputs
@pytest.mark.parametrize("group", [(64, 1), (16, 4)])
@pytest.mark.parametrize("guard, admits", [
    # -20, 20, 60, 100, 140 by group column: nobody, some, all
    ("%m = mul i32 %bx, 40\n  %s = sub i32 %m, 20\n  %c = icmp slt i32 %lid, %s",
     lambda t: t.lid < t.bx * 40 - 20),
    ("%c = icmp eq i32 %lid, 0", lambda t: t.lid == 0),
    ("%c = icmp ne i32 %tx, 0", lambda t: t.tx != 0),  # %work first: admits a suffix
])
def test_a_bound_from_built_in_inputs_is_computed_per_group(
        guard: str, admits: Callable[[Threads], np.ndarray], group: tuple[int, int]) -> None:
    air = _air(guard, WORK_FIRST)
    assert _narrowed_sites(air, checked=False) == (set() if "ne" in guard else {1})
    _check(air, group, admits(Threads(group)), other=0.0)


def test_tid_not_zero_with_the_work_second_admits_only_thread_zero() -> None:
    air = _air("%c = icmp ne i32 %tx, 0", WORK_SECOND)
    assert _narrowed_sites(air, checked=True) == {1}
    _check(air, (16, 4), Threads((16, 4)).tx == 0, other=0.0)


@pytest.mark.parametrize("guard, branch, admits, other", [
    # the other branch stores: those threads must run
    ("%c = icmp ult i32 %lid, 20", OTHER_SECOND, lambda t: t.lid < 20, -1.0),
    # a bound that differs between the threads of a group
    ("%c = icmp ult i32 %tx, %gy", WORK_FIRST, lambda t: t.tx < t.gy, 0.0),
    ("%v = fptoui float %x to i32\n  %c = icmp ult i32 %tx, %v", WORK_FIRST, None, 0.0),
    # a suffix, and one thread other than the first
    ("%c = icmp ugt i32 %lid, 5", WORK_FIRST, lambda t: t.lid > 5, 0.0),
    ("%c = icmp eq i32 %lid, 3", WORK_FIRST, lambda t: t.lid == 3, 0.0),
    # the thread's y position: not the index a round's loop narrows
    ("%ty = extractelement <3 x i32> %tpos, i32 1\n  %c = icmp ult i32 %ty, 2", WORK_FIRST,
     lambda t: t.lid // t.nx < 2, 0.0),
])
def test_a_guard_that_is_not_a_uniform_prefix_with_nothing_else_is_not_narrowed(
        guard: str, branch: str, admits: Callable[[Threads], np.ndarray] | None,
        other: float) -> None:
    air = _air(guard, branch)
    assert _narrowed_sites(air, checked=True) == set()
    threads = Threads((16, 4))
    if admits is None:  # fptoui of a standard normal float: 0, 1 or 2 (or poison: skip)
        return
    _check(air, (16, 4), admits(threads), other)


def test_the_cuda_tree_reduction_narrows_every_level_and_the_last_round() -> None:
    air = compile((FIXTURES / "cuda19-O2" / "reduce_shared.ll").read_text(),
                  "reduce_shared.ll").output.encode()  # type: ignore[union-attr]
    module, kernel = find_kernel([read_module(air.decode())], "reduce_sum", "test")
    texts: dict[str, str] = {}
    compile_kernel(module, kernel_bindings(module, kernel), True, dump=texts)
    assert set(map(int, re.findall(r"^s(\d+)_xdone:", texts["runtime"], flags=re.M))) \
        == set(range(1, 10))  # tid < 128, 64, ..., 2; tid == 0 twice
    n = 9 * 256 + 77  # a partial last group
    data = RNG.standard_normal(n).astype(np.float32)
    groups = -(-n // 256)
    expected = np.zeros(groups, np.float32)
    padded = np.zeros(groups * 256, np.float32)
    padded[:n] = data
    tree = padded.reshape(groups, 256)
    for s in (128, 64, 32, 16, 8, 4, 2, 1):  # the kernel's order of additions
        tree[:, :s] = tree[:, s:2 * s] + tree[:, :s]
    expected[:] = tree[:, 0]
    for checked in (True, False):
        partial = np.zeros(groups, np.float32)
        run(air, "reduce_sum", (groups * 256,), (256,),
            {0: data, 1: partial, 2: np.int32(n)}, check_bounds=checked)
        np.testing.assert_array_equal(partial, expected)
