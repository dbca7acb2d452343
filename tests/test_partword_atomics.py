"""Atomics on 8- and 16-bit values (``rewrite/partword_atomics.py``): a compare-exchange loop
on the 32-bit word around them, in device and threadgroup memory, with neighbouring values
of one word contended by other threads; the CPU runner checks the value's own bytes."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import llvm_as_14, opt_verify_14

from llvm_to_air import CompileError, compile, run

RNG = np.random.default_rng(16)
GROUP = 64

HEADER = """\
target triple = "nvptx64-nvidia-cuda"
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare void @llvm.nvvm.barrier0()
"""


def _rmw_kernel(ty: str, operation: str) -> str:
    """Thread i applies ``operation`` of value[i] to slot[index[i]]; old values kept."""
    return HEADER + f"""\
define void @rmw(ptr %index, ptr %value, ptr %slot, ptr %old) {{
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %b = mul i32 %c, {GROUP}
  %g = add i32 %b, %t
  %i = zext i32 %g to i64
  %ip = getelementptr inbounds i32, ptr %index, i64 %i
  %k32 = load i32, ptr %ip, align 4
  %k = zext i32 %k32 to i64
  %vp = getelementptr inbounds {ty}, ptr %value, i64 %i
  %v = load {ty}, ptr %vp
  %sp = getelementptr inbounds {ty}, ptr %slot, i64 %k
  %was = atomicrmw {operation} ptr %sp, {ty} %v monotonic
  %op = getelementptr inbounds {ty}, ptr %old, i64 %i
  store {ty} %was, ptr %op
  ret void
}}
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @rmw, !"kernel", i32 1}}
"""


CASES = {  # (LLVM type, operation): (numpy dtype, values, fold)
    ("i16", "add"): (np.int16, lambda n: RNG.integers(-300, 300, n), np.add),
    ("i8", "add"): (np.int8, lambda n: RNG.integers(-3, 4, n), np.add),
    ("i16", "max"): (np.int16, lambda n: RNG.integers(-30000, 30000, n), np.maximum),
    ("i8", "umin"): (np.uint8, lambda n: RNG.integers(0, 256, n), np.minimum),
    ("i16", "or"): (np.uint16, lambda n: 1 << RNG.integers(0, 16, n), np.bitwise_or),
    ("half", "fadd"): (np.float16, lambda n: RNG.integers(-8, 9, n) / 8, np.add),
}


@pytest.mark.parametrize(("ty", "operation"), sorted(CASES))
def test_partword_rmw_in_device_memory_matches_numpy(ty: str, operation: str) -> None:
    dtype, make, fold = CASES[(ty, operation)]
    n, slots = 8 * GROUP, 13  # 13 slots of 1 or 2 bytes: neighbours share words, and the
    # buffer's length is no multiple of 4
    index = RNG.integers(0, slots, n).astype(np.int32)
    value = np.asarray(make(n)).astype(dtype)
    start = np.asarray(make(slots)).astype(dtype)
    slot, old = start.copy(), np.zeros(n, dtype)
    result = compile(_rmw_kernel(ty, operation), "rmw.ll")
    llvm_as_14(result.output)
    opt_verify_14(result.output)
    run(result.output.encode(), "rmw", n, GROUP, {0: index, 1: value, 2: slot, 3: old})
    want = start.astype(np.float64 if dtype == np.float16 else np.int64)
    fold.at(want, index, value.astype(want.dtype))
    np.testing.assert_array_equal(slot, want.astype(dtype))
    # each old value is the slot as some order of the updates left it: the start value
    # or a result of folding a subset of that slot's values into it
    firsts = {int(k): np.flatnonzero(index == k) for k in range(slots)}
    for k, threads in firsts.items():
        seen = old[threads]
        assert start[k] in seen or len(threads) == 0


def test_partword_cmpxchg_claims_each_slot_once() -> None:
    """A 16-bit compare-exchange (0 -> thread + 1) on a packed table: one winner a slot."""
    text = HEADER + f"""\
define void @claim(ptr %slot_of, ptr %owner, ptr %won) {{
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %b = mul i32 %c, {GROUP}
  %g = add i32 %b, %t
  %i = zext i32 %g to i64
  %sp = getelementptr inbounds i32, ptr %slot_of, i64 %i
  %s32 = load i32, ptr %sp, align 4
  %s = zext i32 %s32 to i64
  %me32 = add i32 %g, 1
  %me = trunc i32 %me32 to i16
  %op = getelementptr inbounds i16, ptr %owner, i64 %s
  %pair = cmpxchg ptr %op, i16 0, i16 %me monotonic monotonic
  %ok = extractvalue {{ i16, i1 }} %pair, 1
  %seen = extractvalue {{ i16, i1 }} %pair, 0
  %ok32 = zext i1 %ok to i32
  %seen32 = zext i16 %seen to i32
  %flag = shl i32 %seen32, 1
  %both = or i32 %flag, %ok32
  %wp = getelementptr inbounds i32, ptr %won, i64 %i
  store i32 %both, ptr %wp, align 4
  ret void
}}
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @claim, !"kernel", i32 1}}
"""
    n, slots = 4 * GROUP, 31
    slot_of = RNG.integers(0, slots, n).astype(np.int32)
    owner, won = np.zeros(slots, np.uint16), np.zeros(n, np.int32)
    result = compile(text, "claim.ll")
    run(result.output.encode(), "claim", n, GROUP, {0: slot_of, 1: owner, 2: won})
    ok, seen = won & 1, won >> 1
    for k in range(slots):
        threads = np.flatnonzero(slot_of == k)
        if len(threads) == 0:
            assert owner[k] == 0
            continue
        winners = threads[ok[threads] == 1]
        assert len(winners) == 1 and owner[k] == winners[0] + 1
        assert (seen[winners] == 0).all()  # the winner saw the expected 0
        losers = threads[ok[threads] == 0]
        assert (seen[losers] == owner[k]).all()  # a loser saw the winner


def test_partword_atomics_in_threadgroup_memory() -> None:
    """Per-group 16-bit bins in threadgroup memory, then copied out."""
    text = HEADER + f"""\
@bins = internal addrspace(3) global [7 x i16] undef, align 2
define void @hist(ptr %key, ptr %out) {{
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %small = icmp ult i32 %t, 7
  br i1 %small, label %zero, label %count
zero:
  %zt = zext i32 %t to i64
  %zp = getelementptr inbounds [7 x i16], ptr addrspace(3) @bins, i64 0, i64 %zt
  store i16 0, ptr addrspace(3) %zp, align 2
  br label %count
count:
  call void @llvm.nvvm.barrier0()
  %b = mul i32 %c, {GROUP}
  %g = add i32 %b, %t
  %i = zext i32 %g to i64
  %kp = getelementptr inbounds i32, ptr %key, i64 %i
  %k32 = load i32, ptr %kp, align 4
  %k = zext i32 %k32 to i64
  %bp = getelementptr inbounds [7 x i16], ptr addrspace(3) @bins, i64 0, i64 %k
  %was = atomicrmw add ptr addrspace(3) %bp, i16 1 monotonic
  call void @llvm.nvvm.barrier0()
  br i1 %small, label %copy, label %done
copy:
  %ct = zext i32 %t to i64
  %cp = getelementptr inbounds [7 x i16], ptr addrspace(3) @bins, i64 0, i64 %ct
  %v = load i16, ptr addrspace(3) %cp, align 2
  %row = mul i32 %c, 7
  %o32 = add i32 %row, %t
  %o = zext i32 %o32 to i64
  %op = getelementptr inbounds i16, ptr %out, i64 %o
  store i16 %v, ptr %op, align 2
  br label %done
done:
  ret void
}}
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @hist, !"kernel", i32 1}}
"""
    groups = 4
    key = RNG.integers(0, 7, groups * GROUP).astype(np.int32)
    out = np.zeros(groups * 7, np.uint16)
    result = compile(text, "hist.ll")
    run(result.output.encode(), "hist", groups * GROUP, GROUP, {0: key, 1: out})
    want = np.stack([np.bincount(key[g * GROUP:(g + 1) * GROUP], minlength=7)
                     for g in range(groups)]).reshape(-1)
    np.testing.assert_array_equal(out, want)


def test_a_partword_atomic_past_the_buffer_is_still_an_error() -> None:
    index = np.full(GROUP, 13, np.int32)  # one past the 13 slots
    value = np.ones(GROUP, np.int16)
    slot, old = np.zeros(13, np.int16), np.zeros(GROUP, np.int16)
    result = compile(_rmw_kernel("i16", "add"), "rmw.ll")
    with pytest.raises(CompileError, match="out-of-bounds"):
        run(result.output.encode(), "rmw", GROUP, GROUP, {0: index, 1: value, 2: slot, 3: old})
    assert not slot.any()
