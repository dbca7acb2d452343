"""NVVM rounding-mode arithmetic and conversions, ``fabs``, ``activemask`` and ``prmt``:
lowered to AIR and run on the CPU runner against exact references (Python fractions for
the directed roundings, the PTX ISA's byte-permute definition for ``prmt``)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run
from tests.rounding import directed

RNG = np.random.default_rng(1111)
N = 512


def _binary_kernel(intrinsic: str, ty: str = "float", rty: str = "float",
                   nargs: int = 2) -> str:
    params = ", ".join([ty] * nargs)
    loads = "\n".join(
        f"  %p{k} = getelementptr inbounds {ty}, ptr addrspace(1) %in{k}, i32 %i\n"
        f"  %a{k} = load {ty}, ptr addrspace(1) %p{k}" for k in range(nargs))
    args = ", ".join(f"{ty} %a{k}" for k in range(nargs))
    ins = ", ".join(f"ptr addrspace(1) %in{k}" for k in range(nargs))
    return f"""target triple = "nvptx64-nvidia-cuda"
define ptx_kernel void @k({ins}, ptr addrspace(1) %out) {{
  %i = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
{loads}
  %r = call {rty} @{intrinsic}({args})
  %q = getelementptr inbounds {rty}, ptr addrspace(1) %out, i32 %i
  store {rty} %r, ptr addrspace(1) %q
  ret void
}}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare {rty} @{intrinsic}({params})
"""


def _run(ir: str, inputs: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    air = compile(ir, "k.ll").output.encode()
    buffers = {k: a for k, a in enumerate(inputs)}
    buffers[len(inputs)] = out
    run(air, "k", len(out), len(out), buffers)
    return out


def _floats(n: int) -> np.ndarray:
    mags = np.exp2(RNG.uniform(-20, 20, n))
    return (mags * RNG.choice([-1.0, 1.0], n)).astype(np.float32)


_EXACT = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@pytest.mark.parametrize("mode", ["rn", "rz", "rm", "rp"])
def test_directed_rounding_arithmetic_is_exact(op: str, mode: str) -> None:
    a, b = _floats(N), _floats(N)
    a[:8] = b[:8]  # a few exact results (x + x, x * x, x / x)
    got = _run(_binary_kernel(f"llvm.nvvm.{op}.{mode}.f"), [a, b], np.zeros(N, np.float32))
    want = np.array([directed(_EXACT[op](Fraction(float(x)), Fraction(float(y))), mode)
                     for x, y in zip(a, b, strict=True)], np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_fma_directed_rounding_warns_and_rounds_to_nearest() -> None:
    ir = _binary_kernel("llvm.nvvm.fma.rz.f", nargs=3)
    result = compile(ir, "k.ll")
    assert any("fma.rz.f" in str(w) and "rounded to nearest" in str(w)
               for w in result.warnings)
    a, b, c = _floats(N), _floats(N), _floats(N)
    got = _run(ir, [a, b, c], np.zeros(N, np.float32))
    want = np.array([directed(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)),
                               "rn") for x, y, z in zip(a, b, c, strict=True)], np.float32)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("mode", ["rn", "rz", "rm", "rp"])
@pytest.mark.parametrize("kind", ["i", "ui", "ll"])
def test_float_to_int(kind: str, mode: str) -> None:
    rty = {"i": "i32", "ui": "i32", "ll": "i64"}[kind]
    dtype = {"i": np.int32, "ui": np.uint32, "ll": np.int64}[kind]
    a = RNG.uniform(-1000, 1000, N).astype(np.float32)
    a[:6] = [0.5, 1.5, 2.5, -0.5, -1.5, 3.0]
    if kind == "ui":
        a = np.abs(a)
    got = _run(_binary_kernel(f"llvm.nvvm.f2{kind}.{mode}", rty=rty, nargs=1), [a],
               np.zeros(N, dtype))
    rounder = {"rn": np.rint, "rz": np.trunc, "rm": np.floor, "rp": np.ceil}[mode]
    assert np.array_equal(got, rounder(a.astype(np.float64)).astype(dtype))


@pytest.mark.parametrize("mode", ["rn", "rz", "rm", "rp"])
@pytest.mark.parametrize("kind", ["i", "ui"])
def test_int_to_float(kind: str, mode: str) -> None:
    dtype = np.int32 if kind == "i" else np.uint32
    info = np.iinfo(dtype)
    a = RNG.integers(info.min, info.max, N, dtype=np.int64).astype(dtype)
    a[:4] = [0, 1, 16777217, 33554435] if kind == "ui" else [0, -16777217, 16777217, -1]
    got = _run(_binary_kernel(f"llvm.nvvm.{kind}2f.{mode}", ty="i32", nargs=1), [a],
               np.zeros(N, np.float32))
    want = np.array([directed(Fraction(int(x)), mode) for x in a], np.float32)
    assert np.array_equal(got, want)


def _prmt_reference(a: int, b: int, sel: int) -> int:
    pair = (b << 32) | a
    out = 0
    for k in range(4):
        nibble = (sel >> (4 * k)) & 0xF
        byte = (pair >> (8 * (nibble & 7))) & 0xFF
        if nibble & 8:
            byte = 0xFF if byte & 0x80 else 0
        out |= byte << (8 * k)
    return out


def test_prmt_default_mode() -> None:
    a, b, s = (RNG.integers(0, 2**32, N, dtype=np.uint64).astype(np.uint32) for _ in range(3))
    s[:3] = [0x3210, 0x7654, 0x0123]
    got = _run(_binary_kernel("llvm.nvvm.prmt", ty="i32", rty="i32", nargs=3), [a, b, s],
               np.zeros(N, np.uint32))
    want = [_prmt_reference(int(x), int(y), int(z)) for x, y, z in zip(a, b, s, strict=True)]
    assert got.tolist() == want


def test_fabs_as_llvm_22_reads_it_and_activemask() -> None:
    ir = """target triple = "nvptx64-nvidia-cuda"
define ptx_kernel void @k(ptr addrspace(1) %x, ptr addrspace(1) %m) {
  %i = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %p = getelementptr inbounds float, ptr addrspace(1) %x, i32 %i
  %v = load float, ptr addrspace(1) %p
  %a = call float @llvm.nvvm.fabs.f(float %v)
  store float %a, ptr addrspace(1) %p
  %odd = and i32 %i, 1
  %c = icmp eq i32 %odd, 1
  br i1 %c, label %then, label %end
then:
  %mask = call i32 @llvm.nvvm.activemask()
  %q = getelementptr inbounds i32, ptr addrspace(1) %m, i32 %i
  store i32 %mask, ptr addrspace(1) %q
  br label %end
end:
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare float @llvm.nvvm.fabs.f(float)
declare i32 @llvm.nvvm.activemask()
"""
    x = _floats(64)
    m = np.zeros(64, np.uint32)
    air = compile(ir, "k.ll").output.encode()
    assert b"air.fabs.f32" in air and b"air.simd_ballot" in air
    run(air, "k", 64, 64, {0: x.copy(), 1: m})
    out = x.copy()
    run(air, "k", 64, 64, {0: out, 1: m})
    assert np.array_equal(out, np.abs(x))
    assert m[1::2].tolist() == [0xAAAAAAAA] * 32 and m[0::2].tolist() == [0] * 32


def test_unsupported_upgraded_intrinsic_named_as_the_input_spells_it() -> None:
    ir = _binary_kernel("llvm.nvvm.fabs.ftz.f", nargs=1)
    try:
        compile(ir, "k.ll")
    except CompileError as err:
        assert "'@llvm.nvvm.fabs.ftz.f'" in str(err)
    else:  # the ftz variants are mapped by another change: then it must compute fabs
        x = _floats(32)
        assert np.array_equal(_run(ir, [x], np.zeros(32, np.float32)), np.abs(x))


def test_libdevice_rounding_functions_become_nvvm_intrinsics() -> None:
    """__nv_fadd_rd / __nv_float2int_ru, declared (or linked), compute their rounding."""
    ir = """target triple = "nvptx64-nvidia-cuda"
define ptx_kernel void @k(ptr addrspace(1) %a, ptr addrspace(1) %b, ptr addrspace(1) %s,
                          ptr addrspace(1) %q) {
  %i = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %pa = getelementptr inbounds float, ptr addrspace(1) %a, i32 %i
  %pb = getelementptr inbounds float, ptr addrspace(1) %b, i32 %i
  %x = load float, ptr addrspace(1) %pa
  %y = load float, ptr addrspace(1) %pb
  %sum = call float @__nv_fadd_rd(float %x, float %y)
  %ps = getelementptr inbounds float, ptr addrspace(1) %s, i32 %i
  store float %sum, ptr addrspace(1) %ps
  %up = call i32 @__nv_float2int_ru(float %x)
  %pq = getelementptr inbounds i32, ptr addrspace(1) %q, i32 %i
  store i32 %up, ptr addrspace(1) %pq
  ret void
}
define internal float @__nv_fadd_rd(float %x, float %y) {
  %r = fadd float %x, %y
  ret float %r
}
declare i32 @__nv_float2int_ru(float)
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
"""
    air = compile(ir, "k.ll").output.encode()
    assert b"__nv_" not in air
    a, b = _floats(N), _floats(N)
    s, q = np.zeros(N, np.float32), np.zeros(N, np.int32)
    run(air, "k", N, N, {0: a, 1: b, 2: s, 3: q})
    want = [directed(Fraction(float(x)) + Fraction(float(y)), "rm")
            for x, y in zip(a, b, strict=True)]
    assert np.array_equal(s, np.array(want, np.float32))
    big = np.abs(a) < 2**30
    assert np.array_equal(q[big], np.ceil(a[big].astype(np.float64)).astype(np.int32))


def test_private_copy_holding_two_address_spaces_is_refused() -> None:
    ir = """target triple = "nvptx64-nvidia-cuda"
@tile = internal addrspace(3) global [64 x float] undef
define ptx_kernel void @k(ptr %out) {
  %pair = alloca { ptr, ptr }
  %f0 = getelementptr inbounds { ptr, ptr }, ptr %pair, i32 0, i32 0
  %f1 = getelementptr inbounds { ptr, ptr }, ptr %pair, i32 0, i32 1
  store ptr %out, ptr %f0
  store ptr addrspacecast (ptr addrspace(3) @tile to ptr), ptr %f1
  %p = load ptr, ptr %f0
  store float 1.0, ptr %p
  ret void
}
"""
    with pytest.raises(CompileError, match="holds pointers to device and to threadgroup"):
        compile(ir, "k.ll")
