"""NVVM float intrinsics with rounding modes and .ftz (libdevice's and CUDA headers'),
each run on the CPU runner against its PTX ISA definition."""

from __future__ import annotations

import numpy as np
import pytest

import llvm_to_air

X = np.array([-2.5, -1.5, -0.7, -0.5, 0.0, 0.5, 0.7, 1.5, 2.5, 3.25, 100.75, -7.5],
             dtype=np.float32)
Y = np.array([0.25, 2.0, -1.0, 4.0, 1.0, 3.0, 0.5, -2.0, 8.0, 0.125, 0.5, 2.0],
             dtype=np.float32)


def kernel(call: str, ret: str = "float") -> str:
    return ('target triple = "nvptx64-nvidia-cuda"\n'
            "define ptx_kernel void @k(ptr addrspace(1) %px, ptr addrspace(1) %py, "
            "ptr addrspace(1) %pout) {\n"
            "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n  %i = zext i32 %t to i64\n"
            "  %ax = getelementptr float, ptr addrspace(1) %px, i64 %i\n"
            "  %ay = getelementptr float, ptr addrspace(1) %py, i64 %i\n"
            f"  %ao = getelementptr {ret}, ptr addrspace(1) %pout, i64 %i\n"
            "  %x = load float, ptr addrspace(1) %ax\n  %y = load float, ptr addrspace(1) %ay\n"
            f"  %r = call {call}\n  store {ret} %r, ptr addrspace(1) %ao\n  ret void\n}}\n"
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n")


CASES = {
    "fabs.f32": ("float @llvm.nvvm.fabs.f32(float %x)", "float", lambda x, y: np.abs(x)),
    "fabs.ftz.f32": ("float @llvm.nvvm.fabs.ftz.f32(float %x)", "float",
                     lambda x, y: np.abs(x)),
    "fma.rn.ftz.f": ("float @llvm.nvvm.fma.rn.ftz.f(float %x, float %y, float %y)", "float",
                     lambda x, y: (x.astype(np.float64) * y + y).astype(np.float32)),
    "mul.rn.f": ("float @llvm.nvvm.mul.rn.f(float %x, float %y)", "float", lambda x, y: x * y),
    "add.rn.sat.f": ("float @llvm.nvvm.add.rn.sat.f(float %x, float %y)", "float",
                     lambda x, y: np.clip(x + y, 0, 1)),
    "sqrt.rn.ftz.f": ("float @llvm.nvvm.sqrt.rn.ftz.f(float %y)", "float",
                      lambda x, y: np.sqrt(np.abs(y)) * np.where(y < 0, np.nan, 1)),
    "rcp.rn.f": ("float @llvm.nvvm.rcp.rn.f(float %y)", "float",
                 lambda x, y: np.float32(1) / y),
    "f2i.rn": ("i32 @llvm.nvvm.f2i.rn(float %x)", "i32", lambda x, y: np.rint(x)),
    "f2i.rz": ("i32 @llvm.nvvm.f2i.rz(float %x)", "i32", lambda x, y: np.trunc(x)),
    "f2i.rm": ("i32 @llvm.nvvm.f2i.rm(float %x)", "i32", lambda x, y: np.floor(x)),
    "f2i.rp": ("i32 @llvm.nvvm.f2i.rp(float %x)", "i32", lambda x, y: np.ceil(x)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nvvm_float_intrinsic(name: str) -> None:
    call, ret, reference = CASES[name]
    out = np.zeros(len(X), np.float32 if ret == "float" else np.int32)
    llvm_to_air.run(kernel(call, ret), "k", len(X), len(X), {0: X.copy(), 1: Y.copy(), 2: out})
    np.testing.assert_array_equal(out, reference(X, Y).astype(out.dtype))


def _prmt_reference(a: int, b: int, selector: int) -> int:
    both = (b << 32) | a
    result = 0
    for k in range(4):
        nibble = (selector >> (4 * k)) & 15
        byte = (both >> (8 * (nibble & 7))) & 0xFF
        if nibble & 8:
            byte = 0xFF if byte & 0x80 else 0
        result |= byte << (8 * k)
    return result


def test_prmt_byte_permute_matches_the_ptx_definition() -> None:
    rng = np.random.default_rng(9)
    a = rng.integers(0, 2**32, 64, dtype=np.uint32)
    b = rng.integers(0, 2**32, 64, dtype=np.uint32)
    sel = rng.integers(0, 2**16, 64, dtype=np.uint32)
    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "define ptx_kernel void @k(ptr addrspace(1) %pa, ptr addrspace(1) %pb, "
            "ptr addrspace(1) %ps, ptr addrspace(1) %po) {\n"
            "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n  %i = zext i32 %t to i64\n"
            + "".join(f"  %q{n} = getelementptr i32, ptr addrspace(1) %p{n}, i64 %i\n"
                      f"  %v{n} = load i32, ptr addrspace(1) %q{n}\n" for n in "abs")
            + "  %r = call i32 @llvm.nvvm.prmt(i32 %va, i32 %vb, i32 %vs)\n"
            "  %qo = getelementptr i32, ptr addrspace(1) %po, i64 %i\n"
            "  store i32 %r, ptr addrspace(1) %qo\n  ret void\n}\n"
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "declare i32 @llvm.nvvm.prmt(i32, i32, i32)\n")
    out = np.zeros(64, np.uint32)
    llvm_to_air.run(text, "k", 64, 64, {0: a, 1: b, 2: sel, 3: out})
    expected = [_prmt_reference(int(x), int(y), int(s)) for x, y, s in zip(a, b, sel,
                                                                          strict=True)]
    np.testing.assert_array_equal(out, np.array(expected, np.uint32))


def test_activemask_is_the_ballot_of_the_lanes_that_reach_it() -> None:
    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "define ptx_kernel void @k(ptr addrspace(1) %out) {\n"
            "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n  %i = zext i32 %t to i64\n"
            "  %odd = and i32 %t, 1\n  %c = icmp eq i32 %odd, 1\n"
            "  br i1 %c, label %inside, label %done\n"
            "inside:\n  %m = call i32 @llvm.nvvm.activemask()\n"
            "  %q = getelementptr i32, ptr addrspace(1) %out, i64 %i\n"
            "  store i32 %m, ptr addrspace(1) %q\n  br label %done\n"
            "done:\n  ret void\n}\n"
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\ndeclare i32 @llvm.nvvm.activemask()\n")
    out = np.zeros(32, np.uint32)
    llvm_to_air.run(text, "k", 32, 32, {0: out})
    np.testing.assert_array_equal(out[1::2], np.full(16, 0xAAAAAAAA, np.uint32))
