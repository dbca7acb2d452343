"""Forward-compatible reader: LLVM 23/24 float literals become LLVM 22 spellings."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.forward import normalize_forward
from llvm_to_air.ir.reader import read_module

TRITON = Path(__file__).parent / "fixtures" / "triton"


@pytest.mark.parametrize(("line", "expected"), [
    ("  %a = fmul float %x, f0x3F3504F3", "  %a = fmul float %x, 0x3FE6A09E60000000"),
    ("  %a = select i1 %c, float %x, float -inf",
     "  %a = select i1 %c, float %x, float 0xFFF0000000000000"),
    ("  %a = select i1 %c, bfloat +nan(0x3F), bfloat %y",
     "  %a = select i1 %c, bfloat 0xR7FFF, bfloat %y"),
    ("  %a = fadd half %x, +inf", "  %a = fadd half %x, 0xH7C00"),
    ("  %a = fadd double %x, +nan", "  %a = fadd double %x, 0x7FF8000000000000"),
    ("  %a = fadd float %x, 0.1", "  %a = fadd float %x, 0x3FB99999A0000000"),
    ("  %a = fadd float %x, 1.000000e+00", "  %a = fadd float %x, 1.000000e+00"),
    ("  %a = fadd double %x, 0.1", "  %a = fadd double %x, 0.1"),
    ('  call void @f(ptr @"float -inf") ; float -inf',
     '  call void @f(ptr @"float -inf") ; float -inf'),
])
def test_literal_forms(line: str, expected: str) -> None:
    assert normalize_forward(line) == expected


def test_float_hex_round_trips_through_llvm22() -> None:
    bits = 0x3FB8AA3B
    text = f"define float @f() {{\n  ret float f0x{bits:08X}\n}}\n"
    module = read_module(normalize_forward(text), "t.ll")
    ret = next(module.functions[0].instructions())
    text = ret.ops[0].text  # llvmlite prints floats as the hex of the double
    value = struct.unpack("<d", struct.pack("<Q", int(text, 16)))[0]
    assert struct.unpack("<I", struct.pack("<f", value))[0] == bits


def test_unmappable_form_is_named() -> None:
    with pytest.raises(CompileError, match=r"fp128 f0x.*LLVM 23"):
        normalize_forward("  %a = fadd fp128 %x, f0x0000000000000000\n", "t.ll")


@pytest.mark.parametrize("path", sorted(TRITON.glob("*/*.ll")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_triton_llvm24_text_reads_with_lines_kept(path: Path) -> None:
    text = path.read_text()
    normalized = normalize_forward(text, str(path))
    assert normalized.count("\n") == text.count("\n")
    module = read_module(text, path.name)
    kernel = next(fn for fn in module.functions if not fn.is_declaration)
    assert kernel.location.line == next(n for n, ln in enumerate(text.splitlines(), 1)
                                        if ln.startswith("define"))
