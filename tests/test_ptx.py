"""Inline PTX: one kernel per translated form, run on the CPU runner and checked against
what the PTX ISA says the instruction does."""

from __future__ import annotations

import numpy as np
import pytest

import llvm_to_air
from llvm_to_air import CompileError
from llvm_to_air.rewrite.ptx import parse_statement

HEAD = 'target triple = "nvptx64-nvidia-cuda"\n'
TAIL = "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"


def kernel(body: str, params: str = "ptr addrspace(1) %in, ptr addrspace(1) %out") -> str:
    return (f"{HEAD}define ptx_kernel void @k({params}) {{\n"
            "  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "  %i = zext i32 %tid to i64\n" + body + "  ret void\n}\n" + TAIL)


def unary(asm: str, constraints: str, in_ty: str, out_ty: str) -> str:
    return kernel(f"  %pin = getelementptr {in_ty}, ptr addrspace(1) %in, i64 %i\n"
                  f"  %pout = getelementptr {out_ty}, ptr addrspace(1) %out, i64 %i\n"
                  f"  %x = load {in_ty}, ptr addrspace(1) %pin\n"
                  f'  %r = call {out_ty} asm "{asm}", "{constraints}"({in_ty} %x)\n'
                  f"  store {out_ty} %r, ptr addrspace(1) %pout\n")


X = np.linspace(0.25, 8.0, 64, dtype=np.float32)
UNARY = {
    "rcp.approx.ftz.f32": (unary("rcp.approx.ftz.f32 $0, $1;", "=f,f", "float", "float"),
                           X, np.float32, lambda x: 1 / x, 1e-6),
    "sqrt.approx.f32": (unary("sqrt.approx.f32 $0, $1;", "=f,f", "float", "float"),
                        X, np.float32, np.sqrt, 1e-6),
    "ex2.approx.ftz.f32": (unary("ex2.approx.ftz.f32 $0, $1;", "=f,f", "float", "float"),
                           X, np.float32, np.exp2, 1e-6),
    "lg2.approx.f32": (unary("lg2.approx.f32 $0, $1;", "=f,f", "float", "float"),
                       X, np.float32, np.log2, 1e-6),
    # cuda_fp16.h's __float2half_rn: the half's bits in a 16-bit register
    "cvt.rn.f16.f32": (unary("cvt.rn.f16.f32 $0, $1;", "=h,f", "float", "i16"),
                       X * 1.37, np.int16, lambda x: x.astype(np.float16).view(np.int16), 0),
    "cvt.f32.f16": (unary("cvt.f32.f16 $0, $1;", "=f,h", "i16", "float"),
                    (X * 1.37).astype(np.float16).view(np.int16), np.float32,
                    lambda h: h.view(np.float16).astype(np.float32), 0),
}


@pytest.mark.parametrize("form", sorted(UNARY))
def test_unary_form(form: str) -> None:
    text, data, out_dtype, reference, rtol = UNARY[form]
    out = np.zeros(len(data), out_dtype)
    llvm_to_air.run(text, "k", len(data), len(data), {0: data.copy(), 1: out})
    np.testing.assert_allclose(out, reference(data), rtol=rtol)


GUARDED_LOAD = kernel(
    "  %pin = getelementptr i32, ptr addrspace(1) %in, i64 %i\n"
    "  %pout = getelementptr i32, ptr addrspace(1) %out, i64 %i\n"
    "  %inside = icmp ult i32 %tid, 40\n"
    '  %v = call i32 asm sideeffect "mov.u32 $0, 0x7;\\0A\\09@$2 ld.global.b32 { $0 }, '
    '[ $1 + 0 ];", "=r,l,b"(ptr addrspace(1) %pin, i1 %inside)\n'
    "  store i32 %v, ptr addrspace(1) %pout\n")


def test_guarded_load_takes_the_mov_default_and_never_reads_when_off() -> None:
    data = np.arange(40, dtype=np.int32) * 3       # only 40 elements: lanes 40-63 are off
    out = np.zeros(64, np.int32)
    llvm_to_air.run(GUARDED_LOAD, "k", 64, 64, {0: data, 1: out})  # checked: no OOB read
    np.testing.assert_array_equal(out, np.concatenate([data, np.full(24, 7, np.int32)]))


def test_guarded_store_and_16_bit_registers() -> None:
    text = kernel(
        "  %pin = getelementptr i16, ptr addrspace(1) %in, i64 %i\n"
        "  %pout = getelementptr i16, ptr addrspace(1) %out, i64 %i\n"
        "  %inside = icmp ult i32 %tid, 10\n"
        '  %v = call i16 asm sideeffect "mov.u16 $0, 0x0;\\0A\\09@$2 ld.global.b16 { $0 }, '
        '[ $1 + 0 ];", "=c,l,b"(ptr addrspace(1) %pin, i1 %inside)\n'
        '  call void asm sideeffect "@$2 st.global.b16 [ $1 + 0 ], { $0 };", "c,l,b"'
        "(i16 %v, ptr addrspace(1) %pout, i1 %inside)\n")
    data = np.arange(10, dtype=np.int16) + 100
    out = np.zeros(10, np.int16)
    llvm_to_air.run(text, "k", 32, 32, {0: data, 1: out})
    np.testing.assert_array_equal(out, data)


def test_vector_load_and_store_with_an_offset() -> None:
    text = kernel(
        "  %four = shl i64 %i, 4\n"
        "  %pin = getelementptr i8, ptr addrspace(1) %in, i64 %four\n"
        "  %pout = getelementptr i8, ptr addrspace(1) %out, i64 %four\n"
        '  %v = call { i32, i32, i32, i32 } asm sideeffect "ld.global.v4.b32 '
        '{ $0, $1, $2, $3 }, [ $4 + 0 ];", "=r,=r,=r,=r,l"(ptr addrspace(1) %pin)\n'
        "  %a = extractvalue { i32, i32, i32, i32 } %v, 0\n"
        "  %b = extractvalue { i32, i32, i32, i32 } %v, 1\n"
        "  %c = extractvalue { i32, i32, i32, i32 } %v, 2\n"
        "  %d = extractvalue { i32, i32, i32, i32 } %v, 3\n"
        '  call void asm sideeffect "st.global.v4.b32 [ $4 + 0 ], { $3, $2, $1, $0 };", '
        '"r,r,r,r,l"(i32 %a, i32 %b, i32 %c, i32 %d, ptr addrspace(1) %pout)\n')
    data = np.arange(32, dtype=np.int32)
    out = np.zeros(32, np.int32)
    llvm_to_air.run(text, "k", 8, 8, {0: data, 1: out})
    np.testing.assert_array_equal(out, data.reshape(8, 4)[:, ::-1].ravel())


@pytest.mark.parametrize(("asm", "dtype", "value_ty"), [
    ("atom.global.gpu.acq_rel.add.f32", np.float32, "float"),
    ("atom.global.gpu.relaxed.add.u32", np.uint32, "i32"),
])
def test_atomic_add_returns_the_old_value(asm: str, dtype: type, value_ty: str) -> None:
    constraint = "f" if value_ty == "float" else "r"
    text = kernel(
        f'  %old = call {value_ty} asm sideeffect "{asm} $0, [ $1 + 0 ], $2;", '
        f'"={constraint},l,{constraint}"(ptr addrspace(1) %in, {value_ty} '
        f'{"1.0" if value_ty == "float" else "1"})\n'
        f"  %pout = getelementptr {value_ty}, ptr addrspace(1) %out, i64 %i\n"
        f"  store {value_ty} %old, ptr addrspace(1) %pout\n")
    total = np.zeros(1, dtype)
    olds = np.zeros(64, dtype)
    llvm_to_air.run(text, "k", 64, 64, {0: total, 1: olds})
    assert total[0] == 64
    np.testing.assert_array_equal(np.sort(olds), np.arange(64, dtype=dtype))


def test_shared_store_then_load() -> None:
    text = (HEAD + "@tile = internal addrspace(3) global [64 x i32] undef\n"
            "define ptx_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) {\n"
            "  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "  %i = zext i32 %tid to i64\n"
            "  %slot = getelementptr i32, ptr addrspace(3) @tile, i64 %i\n"
            '  call void asm sideeffect "st.shared::cta.b32 [ $0 + 0 ], $1;", "r,r"'
            "(ptr addrspace(3) %slot, i32 %tid)\n"
            "  call void @llvm.nvvm.barrier0()\n"
            "  %r = sub i32 63, %tid\n  %ri = zext i32 %r to i64\n"
            "  %other = getelementptr i32, ptr addrspace(3) @tile, i64 %ri\n"
            '  %v = call i32 asm sideeffect "ld.shared.b32 $0, [ $1 + 0 ];", "=r,r"'
            "(ptr addrspace(3) %other)\n"
            "  %pout = getelementptr i32, ptr addrspace(1) %out, i64 %i\n"
            "  store i32 %v, ptr addrspace(1) %pout\n  ret void\n}\n" + TAIL +
            "declare void @llvm.nvvm.barrier0()\n")
    out = np.zeros(64, np.int32)
    llvm_to_air.run(text, "k", 64, 64, {0: np.zeros(1, np.int32), 1: out})
    np.testing.assert_array_equal(out, np.arange(63, -1, -1, dtype=np.int32))


def test_untranslated_ptx_is_an_error_quoting_it() -> None:
    text = unary("brev.b32 $0, $1;", "=r,r", "i32", "i32")
    with pytest.raises(CompileError, match=r"PTX instruction 'brev.b32 \$0, \$1' is not "
                                           "translated"):
        llvm_to_air.compile(text, "k.ll")


def test_statements_parse_into_guard_mnemonic_and_operands() -> None:
    s = parse_statement("@!$3 ld.global.L1::evict_last.v2.b32 { $0, $1 }, [ $2 + 8 ]")
    assert (s.predicate, s.negated) == (3, True)
    assert s.mnemonic == ["ld", "global", "L1::evict_last", "v2", "b32"]
    assert s.operands == ["{ $0, $1 }", "[ $2 + 8 ]"]


def test_special_registers_read_through_nvvm() -> None:
    text = kernel("  %pout = getelementptr i32, ptr addrspace(1) %out, i64 %i\n"
                  '  %lane = call i32 asm "mov.u32 $0, %laneid;", "=r"()\n'
                  "  store i32 %lane, ptr addrspace(1) %pout\n")
    out = np.zeros(64, np.int32)
    llvm_to_air.run(text, "k", 64, 64, {0: np.zeros(1, np.int32), 1: out})
    np.testing.assert_array_equal(out, np.arange(64) % 32)
