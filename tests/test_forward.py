"""Text from LLVM newer than llvmlite's: float literal forms respelled, values unchanged."""

from __future__ import annotations

import struct

import pytest

from llvm_to_air.ir.forward import forward
from llvm_to_air.ir.reader import read_module


def _float_bits(text: str) -> int:
    """The float32 bits of the constant in ``define float @f() { ret float <c> }``."""
    import llvmlite.binding as llvm

    module = llvm.parse_assembly(forward(f"define float @f() {{\n  ret float {text}\n}}\n"))
    printed = str(module).split("ret float ")[1].split()[0]
    value = struct.unpack("<d", struct.pack("<Q", int(printed, 16)))[0] \
        if printed.startswith("0x") else float(printed)
    return struct.unpack("<I", struct.pack("<f", value))[0]


@pytest.mark.parametrize(("literal", "bits"), [
    ("f0x3FB8AA3B", 0x3FB8AA3B),            # log2(e), as Triton writes it
    ("1.1", struct.unpack("<I", struct.pack("<f", 1.1))[0]),   # shortest, inexact decimal
    ("-inf", 0xFF800000),
    ("inf", 0x7F800000),
    ("1.000000e+00", 0x3F800000),
])
def test_float_literals_keep_their_value(literal: str, bits: int) -> None:
    assert _float_bits(literal) == bits


def test_half_bfloat_and_double_forms() -> None:
    text = ("define void @f(ptr %p) {\n  store half f0x3C00, ptr %p\n"
            "  store bfloat 1.1, ptr %p\n  store half 0.1, ptr %p\n"
            "  store double f0x3FF8000000000000, ptr %p\n  ret void\n}\n")
    out = forward(text)
    assert "half 0xH3C00" in out and "bfloat 0xR3F8D" in out and "half 0xH2E66" in out
    assert "double 0x3FF8000000000000" in out
    read_module(text, "f.ll")  # llvmlite's LLVM reads it through the reader


def test_strings_comments_and_attributes_are_left_alone() -> None:
    text = ('@s = constant [4 x i8] c"inf\\00"\n'
            "define float @f(float nofpclass(nan inf) %x) {\n"
            "  %y = fadd float %x, 1.1 ; 1.1 in a comment stays\n  ret float %y\n}\n")
    out = forward(text)
    assert 'c"inf\\00"' in out and "nofpclass(nan inf)" in out and "comment stays" in out
    assert "fadd float %x, 0x3FF19999A0000000" in out
    assert out.count("\n") == text.count("\n")
