"""AMD implicit kernel arguments (code object v5/v4) and dispatch-packet fields, loaded at
constant offsets as clang emits them for ``__builtin_amdgcn_workgroup_size_x`` /
``grid_size_x`` and HIP's blockDim/gridDim, run on the CPU runner over a grid whose last
threadgroup is partial: each field reads what the AMDGPUUsage layout defines for that
dispatch. Other bytes and other uses of the pointer are refused, naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run
from llvm_to_air.verify import verify_air_text
from tests.oracles import llvm_as_14, opt_verify_14

GRID, GROUP = 100, 32  # three whole groups of 32 and one of 4


def _kernel(base: str, loads: list[tuple[int, int]], version: int = 500) -> str:
    """A kernel storing, for each (offset, bits) load from ``base``, its value (as i64)."""
    body = []
    for k, (offset, bits) in enumerate(loads):
        body += [f"  %p{k} = getelementptr inbounds i8, ptr addrspace(4) %base, i64 {offset}",
                 f"  %v{k} = load i{bits}, ptr addrspace(4) %p{k}, align 2",
                 f"  %w{k} = zext i{bits} %v{k} to i64" if bits < 64 else
                 f"  %w{k} = add i64 %v{k}, 0",
                 f"  %i{k} = add i64 %row, {k}",
                 f"  %o{k} = getelementptr i64, ptr addrspace(1) %out, i64 %i{k}",
                 f"  store i64 %w{k}, ptr addrspace(1) %o{k}"]
    lines = "\n".join(body)
    return f"""target triple = "amdgcn-amd-amdhsa"
declare i32 @llvm.amdgcn.workitem.id.x()
declare i32 @llvm.amdgcn.workgroup.id.x()
declare ptr addrspace(4) @llvm.amdgcn.{base}()
define amdgpu_kernel void @k(ptr addrspace(1) %out) #0 {{
  %tid = call i32 @llvm.amdgcn.workitem.id.x()
  %gid = call i32 @llvm.amdgcn.workgroup.id.x()
  %g = mul i32 %gid, {GROUP}
  %t = add i32 %g, %tid
  %t64 = zext i32 %t to i64
  %row = mul i64 %t64, {len(loads)}
  %base = call ptr addrspace(4) @llvm.amdgcn.{base}()
{lines}
  ret void
}}
attributes #0 = {{ "target-cpu"="gfx1100" }}
!llvm.module.flags = !{{!0}}
!0 = !{{i32 1, !"amdhsa_code_object_version", i32 {version}}}
"""


def _run(text: str, count: int) -> np.ndarray:
    air = api.compile(text, "ia.ll", emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, "ia.ll") == []
    out = np.full((GRID, count), -1, np.int64)
    run(api.compile(text, "ia.ll", emit="metallib").output, "k", (GRID,), (GROUP,), {0: out})
    return out


def test_code_object_v5_fields() -> None:
    loads = [(0, 32), (12, 16), (18, 16), (40, 64), (48, 64), (14, 16), (16, 16),
             (12, 32), (4, 32)]
    out = _run(_kernel("implicitarg.ptr", loads), len(loads))
    whole, remainder = GRID // GROUP, GRID % GROUP
    # block_count_x, group_size_x, remainder_x, global offsets x/y, group sizes y/z,
    # group_size_x|group_size_y<<16 in one i32, block_count_y (1 whole group of 1)
    want = [whole, GROUP, remainder, 0, 0, 1, 1, GROUP | 1 << 16, 1]
    np.testing.assert_array_equal(out, np.tile(want, (GRID, 1)))


def test_grid_dims_reads_3_with_a_warning() -> None:
    result = api.compile(_kernel("implicitarg.ptr", [(64, 16)]), "gd.ll", emit="ll")
    assert any("hidden_grid_dims" in str(w) for w in result.warnings)
    out = np.zeros((GRID, 1), np.int64)
    run(api.compile(_kernel("implicitarg.ptr", [(64, 16)]), "gd.ll", emit="metallib").output,
        "k", (GRID,), (GROUP,), {0: out})
    assert (out == 3).all()


def test_code_object_v4_global_offsets() -> None:
    out = _run(_kernel("implicitarg.ptr", [(0, 64), (16, 64)], version=400), 2)
    assert (out == 0).all()


def test_dispatch_packet_fields() -> None:
    loads = [(4, 16), (6, 16), (12, 32), (16, 32)]
    out = _run(_kernel("dispatch.ptr", loads), len(loads))
    np.testing.assert_array_equal(out, np.tile([GROUP, 1, GRID, 1], (GRID, 1)))


@pytest.mark.parametrize(("base", "offset", "named"), [
    ("implicitarg.ptr", 80, "hidden_hostcall_buffer"),
    ("implicitarg.ptr", 30, "reserved bytes"),
    ("dispatch.ptr", 40, "kernarg_address"),
    ("dispatch.ptr", 0, "header/setup")])
def test_other_fields_are_refused_by_name(base: str, offset: int, named: str) -> None:
    with pytest.raises(CompileError, match=named) as info:
        api.compile(_kernel(base, [(offset, 32)]), "bad.ll", emit="ll")
    assert info.value.location is not None and info.value.location.line == 14


def test_escaping_pointer_is_refused() -> None:
    text = _kernel("implicitarg.ptr", [(12, 16)]).replace(
        "  ret void", "  store ptr addrspace(4) %base, ptr addrspace(1) %out\n  ret void")
    with pytest.raises(CompileError, match="implicit-argument pointer is used by 'store'"):
        api.compile(text, "esc.ll", emit="ll")
