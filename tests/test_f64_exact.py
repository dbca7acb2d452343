"""``rewrite/f64_exact.py``: ``fptrunc(sitofp/uitofp(i64) * C)`` computed in integers gives
the float that the three double instructions give, bit for bit (numpy rounds each step
as IEEE does), and chains it cannot compute exactly stay doubles that are refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from oracles import llvm_as_14, opt_verify_14

from llvm_to_air import CompileError, compile, run

RNG = np.random.default_rng(20261205)

# libdevice's Payne-Hanek scale (pi/2 * 2^-64), and others at the ends of the range the
# stage takes (2^-126 <= |C| < 2^62) and with extreme mantissas
SCALES = {
    "libdevice": 0x3BF921FB54442D19,
    "negative": 0xBBF921FB54442D19,
    "one": 0x3FF0000000000000,
    "smallest": 0x3810000000000000,  # 2^-126
    "largest": 0x43CFFFFFFFFFFFFF,  # the double below 2^62
    "ones": 0x3FEFFFFFFFFFFFFF,  # mantissa all ones
    "third": 0x3FD5555555555555,
}


def _kernel(conversion: str, scale_bits: int) -> str:
    return f"""\
target triple = "nvptx64-nvidia-cuda"
define void @convert(ptr %in, ptr %out) {{
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %ctaid = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %ntid = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
  %base = mul i32 %ctaid, %ntid
  %i32 = add i32 %base, %tid
  %i = zext i32 %i32 to i64
  %src = getelementptr inbounds i64, ptr %in, i64 %i
  %x = load i64, ptr %src, align 8
  %d = {conversion} i64 %x to double
  %m = fmul nnan double %d, 0x{scale_bits:016X}
  %f = fptrunc double %m to float
  %dst = getelementptr inbounds float, ptr %out, i64 %i
  store float %f, ptr %dst, align 4
  ret void
}}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
!nvvm.annotations = !{{!0}}
!0 = !{{ptr @convert, !"kernel", i32 1}}
"""


def _inputs(signed: bool) -> np.ndarray:
    """Edge cases, every power of two with neighbours, ties at each rounding step, random."""
    special = [0, 1, 2, 3, (1 << 53) - 1, 1 << 53, (1 << 53) + 1, (1 << 54) + 2,
               (1 << 63) - 1, (1 << 62) + (1 << 9), (1 << 62) + (1 << 10) * 3,
               0x7FFFFFFFFFFFFC00, 0x7FFFFFFFFFFFFBFF, 0x00000000FFFFFFFF]
    powers = [v for k in range(63) for v in ((1 << k) - 1, 1 << k, (1 << k) + 1)]
    # magnitudes of every bit length, with low bits that land on rounding ties
    lengths = RNG.integers(1, 64, 4000)
    randoms = [int(RNG.integers(0, 1 << 62)) >> (63 - n) for n in lengths]
    tie_bits = [((v >> 11) << 11) | 0x400 for v in randoms if v >> 53]
    values = np.array([*special, *powers, *randoms, *tie_bits], dtype=np.uint64)
    if not signed:
        return np.concatenate([values, values | np.uint64(1 << 63)])
    as_signed = values.astype(np.int64)
    return np.concatenate([as_signed, -as_signed, np.array([-(1 << 63)], np.int64)])


def _run(conversion: str, scale_bits: int, values: np.ndarray) -> np.ndarray:
    result = compile(_kernel(conversion, scale_bits), "convert.ll")
    assert "double" not in result.output
    llvm_as_14(result.output)
    opt_verify_14(result.output)
    count = -(-len(values) // 64) * 64
    padded = np.zeros(count, values.dtype)
    padded[:len(values)] = values
    out = np.zeros(count, np.float32)
    run(result.output.encode(), "convert", count, 64, {0: padded, 1: out})
    return out[:len(values)]


@pytest.mark.parametrize("scale", sorted(SCALES))
@pytest.mark.parametrize("conversion", ["sitofp", "uitofp"])
def test_the_float_is_the_one_the_double_chain_gives(conversion: str, scale: str) -> None:
    bits = SCALES[scale]
    c = struct.unpack("<d", struct.pack("<Q", bits))[0]
    values = _inputs(conversion == "sitofp")
    got = _run(conversion, bits, values)
    want = (values.astype(np.float64) * np.float64(c)).astype(np.float32)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize(("bits", "why"), [
    (0x43D0000000000000, "2^62: 2^64 (uitofp of 2^64 - 1) times it would round to +inf"),
    (0x3800000000000000, "2^-127: a small integer times it is a subnormal float"),
    (0x0000000000000001, "a subnormal double"),
    (0x7FF8000000000000, "NaN"),
])
def test_scales_outside_the_exact_range_stay_doubles_and_are_refused(bits: int,
                                                                     why: str) -> None:
    with pytest.raises(CompileError, match="double precision"):
        compile(_kernel("sitofp", bits), "convert.ll")


def test_a_conversion_with_another_use_is_left_alone() -> None:
    text = _kernel("sitofp", SCALES["libdevice"]).replace(
        "  %dst = getelementptr", "  %again = fadd double %d, %d\n"
        "  %small = fptrunc double %again to float\n  %sum = fadd float %f, %small\n"
        "  %dst = getelementptr").replace("store float %f,", "store float %sum,")
    with pytest.raises(CompileError, match="double precision"):
        compile(text, "convert.ll")


def test_demoting_keeps_the_exact_chain() -> None:
    """--f64=demote would round the integer to float first; the exact chain runs before."""
    values = np.array([(1 << 62) + 12345, -(1 << 61) - 777, 123456789012345], np.int64)
    bits = SCALES["libdevice"]
    result = compile(_kernel("sitofp", bits), "convert.ll", f64="demote")
    out = np.zeros(64, np.float32)
    run(result.output.encode(), "convert", 64, 64,
        {0: np.resize(values, 64), 1: out})
    c = struct.unpack("<d", struct.pack("<Q", bits))[0]
    want = (values.astype(np.float64) * c).astype(np.float32)
    np.testing.assert_array_equal(out[:3].view(np.uint32), want.view(np.uint32))
