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


def test_directed_rounding_is_a_warning_naming_it() -> None:
    result = llvm_to_air.compile(kernel("float @llvm.nvvm.add.rz.f(float %x, float %y)"))
    [warning] = result.warnings
    assert "rounds toward zero" in warning.message and "llvm.nvvm.add.rz.f" in warning.message
