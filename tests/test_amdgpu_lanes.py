"""Wave32 DPP / permlanex16 / readlane and buffer resources: each control's translation,
run on the CPU runner, computes what the AMD ISA defines (a numpy model per control)."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run

N = 64
HEAD = """target triple = "amdgcn-amd-amdhsa"
declare i32 @llvm.amdgcn.workitem.id.x()
declare i32 @llvm.amdgcn.update.dpp.i32(i32, i32, i32, i32, i32, i1)
declare i32 @llvm.amdgcn.permlanex16.i32(i32, i32, i32, i32, i1, i1)
declare i32 @llvm.amdgcn.permlane16.i32(i32, i32, i32, i32, i1, i1)
declare i32 @llvm.amdgcn.mov.dpp8.i32(i32, i32)
declare i32 @llvm.amdgcn.readlane.i32(i32, i32)
declare ptr addrspace(8) @llvm.amdgcn.make.buffer.rsrc.p8.p1(ptr addrspace(1), i16, i64, i32)
declare float @llvm.amdgcn.raw.ptr.buffer.load.f32(ptr addrspace(8), i32, i32, i32)
declare void @llvm.amdgcn.raw.ptr.buffer.store.f32(float, ptr addrspace(8), i32, i32, i32)
define amdgpu_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) #0 {
  %tid = call i32 @llvm.amdgcn.workitem.id.x()
  %t = zext i32 %tid to i64
  %s = getelementptr i32, ptr addrspace(1) %in, i64 %t
  %v = load i32, ptr addrspace(1) %s
"""
TAIL = """  %o = getelementptr i32, ptr addrspace(1) %out, i64 %t
  store i32 %r, ptr addrspace(1) %o
  ret void
}
attributes #0 = { "target-cpu"="gfx1100" }
"""


def _run(body: str) -> tuple[np.ndarray, np.ndarray]:
    lib = api.compile(HEAD + body + TAIL, "lanes.ll", emit="metallib").output
    inp = np.arange(100, 100 + N, dtype=np.int32)
    out = np.zeros(N, np.int32)
    run(lib, "k", (N,), (N,), {0: inp, 1: out})
    return inp, out


def _model(ctrl: int, inp: np.ndarray, bound: bool, old: int) -> np.ndarray:
    out = np.empty_like(inp)
    for lane in range(N):
        base, i = lane & ~15, lane & 15
        src: int | None
        if ctrl <= 0xFF:
            src = (lane & ~3) | ((ctrl >> (2 * (lane & 3))) & 3)
        elif 0x101 <= ctrl <= 0x10F:
            src = base + i + (ctrl & 15) if i + (ctrl & 15) < 16 else None
        elif 0x111 <= ctrl <= 0x11F:
            src = base + i - (ctrl & 15) if i >= (ctrl & 15) else None
        elif 0x121 <= ctrl <= 0x12F:  # row_ror: rotate right within the row
            src = base + (i - (ctrl & 15)) % 16
        elif ctrl == 0x140:
            src = base + 15 - i
        elif ctrl == 0x141:
            src = base + (i & 8) + 7 - (i & 7)
        elif 0x150 <= ctrl <= 0x15F:
            src = base + (ctrl & 15)
        else:
            src = base + (i ^ (ctrl & 15))
        out[lane] = inp[src] if src is not None else (0 if bound else old)
    return out


CONTROLS = [0x1B, 0xE4, 0x39, 0x101, 0x104, 0x111, 0x112, 0x114, 0x118, 0x121, 0x125, 0x12F,
            0x140, 0x141, 0x153, 0x161, 0x162, 0x16F]


@pytest.mark.parametrize("bound", [True, False])
@pytest.mark.parametrize("ctrl", CONTROLS, ids=hex)
def test_update_dpp_control(ctrl: int, bound: bool) -> None:
    body = (f"  %r = call i32 @llvm.amdgcn.update.dpp.i32(i32 7, i32 %v, i32 {ctrl}, i32 15, "
            f"i32 15, i1 {'true' if bound else 'false'})\n")
    inp, out = _run(body)
    np.testing.assert_array_equal(out, _model(ctrl, inp, bound, 7))


@pytest.mark.parametrize(("lo", "hi"), [(-1, -1), (0x76543210, -0x0123457), (0x01234567, 0)])
def test_permlanex16(lo: int, hi: int) -> None:
    inp, out = _run(f"  %r = call i32 @llvm.amdgcn.permlanex16.i32(i32 0, i32 %v, i32 {lo}, "
                    f"i32 {hi}, i1 true, i1 false)\n")
    want = np.empty_like(inp)
    for lane in range(N):
        i = lane & 15
        sel = (hi if i > 7 else lo) & 0xFFFFFFFF
        want[lane] = inp[(lane & ~31) + ((lane & 16) ^ 16) + ((sel >> (4 * (i & 7))) & 15)]
    np.testing.assert_array_equal(out, want)


def test_readlane() -> None:
    inp, out = _run("  %r = call i32 @llvm.amdgcn.readlane.i32(i32 %v, i32 5)\n")
    np.testing.assert_array_equal(out, np.repeat(inp[[5, 37]], 32))


@pytest.mark.parametrize(("row_mask", "bank_mask"), [(1, 15), (2, 15), (3, 5), (2, 8), (0, 15)])
def test_update_dpp_row_and_bank_masks(row_mask: int, bank_mask: int) -> None:
    body = (f"  %r = call i32 @llvm.amdgcn.update.dpp.i32(i32 7, i32 %v, i32 273, "
            f"i32 {row_mask}, i32 {bank_mask}, i1 false)\n")  # row_shr:1
    inp, out = _run(body)
    lanes = np.arange(N) % 32
    enabled = ((row_mask >> (lanes // 16)) & (bank_mask >> ((lanes // 4) % 4)) & 1) == 1
    np.testing.assert_array_equal(out, np.where(enabled, _model(0x111, inp, False, 7), 7))


@pytest.mark.parametrize("selector", [0o76543210, 0o01234567, 0o00000000, 0o12703456])
def test_mov_dpp8(selector: int) -> None:
    inp, out = _run(f"  %r = call i32 @llvm.amdgcn.mov.dpp8.i32(i32 %v, i32 {selector})\n")
    lanes = np.arange(N)
    src = (lanes & ~7) | ((selector >> (3 * (lanes & 7))) & 7)
    np.testing.assert_array_equal(out, inp[src])


@pytest.mark.parametrize(("lo", "hi"), [(0x76543210, -0x0123457), (0x0F0F0F0F, 0x01234567)])
def test_permlane16_stays_in_its_row(lo: int, hi: int) -> None:
    inp, out = _run(f"  %r = call i32 @llvm.amdgcn.permlane16.i32(i32 0, i32 %v, i32 {lo}, "
                    f"i32 {hi}, i1 false, i1 false)\n")
    want = np.empty_like(inp)
    for lane in range(N):
        i = lane & 15
        sel = (hi if i > 7 else lo) & 0xFFFFFFFF
        want[lane] = inp[(lane & ~15) + ((sel >> (4 * (i & 7))) & 15)]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize(("ctrl", "named"), [(0x142, "row_bcast:15"), (0x143, "row_bcast:31"),
                                             (0x130, "wave_shl:1"), (0x13C, "wave_ror:1")])
def test_gfx9_only_dpp_controls_are_refused(ctrl: int, named: str) -> None:
    with pytest.raises(CompileError, match=f"0x{ctrl:x} \\({named}\\): it exists only on "
                                           "gfx8/gfx9") as info:
        api.compile(HEAD + f"  %r = call i32 @llvm.amdgcn.update.dpp.i32(i32 0, i32 %v, "
                    f"i32 {ctrl}, i32 15, i32 15, i1 true)\n" + TAIL, "b.ll", emit="ll")
    assert info.value.location is not None and info.value.location.line == 16


def test_buffer_resource_bounds_checked() -> None:
    # records = 40 bytes: lanes 0..9 are inside; a store outside writes nothing
    body = ("  %rs = call ptr addrspace(8) @llvm.amdgcn.make.buffer.rsrc.p8.p1(ptr addrspace(1) "
            "%in, i16 0, i64 40, i32 0)\n"
            "  %off = shl i32 %tid, 2\n"
            "  %f = call float @llvm.amdgcn.raw.ptr.buffer.load.f32(ptr addrspace(8) %rs, "
            "i32 %off, i32 0, i32 0)\n"
            "  %ro = call ptr addrspace(8) @llvm.amdgcn.make.buffer.rsrc.p8.p1(ptr addrspace(1) "
            "%out, i16 0, i64 80, i32 0)\n"
            "  %f2 = fadd float %f, 1.0\n"
            "  call void @llvm.amdgcn.raw.ptr.buffer.store.f32(float %f2, ptr addrspace(8) %ro, "
            "i32 %off, i32 0, i32 0)\n"
            "  ret void\n}\nattributes #0 = { \"target-cpu\"=\"gfx1100\" }\n")
    lib = api.compile(HEAD + body, "buf.ll", emit="metallib").output
    inp = np.arange(N, dtype=np.float32).view(np.int32)
    out = np.full(N, -5.0, np.float32)
    run(lib, "k", (N,), (N,), {0: inp, 1: out})
    want = np.full(N, -5.0, np.float32)
    want[:10] = np.arange(10) + 1
    want[10:20] = 1.0  # inside the output's 80 bytes, outside the input's 40: loads read 0
    np.testing.assert_array_equal(out, want)


def test_buffer_atomics_bounds_checked() -> None:
    """raw.ptr.buffer.atomic.add/cmpswap: inside num_records an atomic on the element, its
    old value returned; outside, nothing changes and the result is 0."""
    text = ('target triple = "amdgcn-amd-amdhsa"\n'
            "declare i32 @llvm.amdgcn.workitem.id.x()\n"
            "declare ptr addrspace(8) @llvm.amdgcn.make.buffer.rsrc.p8.p1(ptr addrspace(1), "
            "i16, i64, i32)\n"
            "declare i32 @llvm.amdgcn.raw.ptr.buffer.atomic.add.i32(i32, ptr addrspace(8), "
            "i32, i32, i32)\n"
            "declare i32 @llvm.amdgcn.raw.ptr.buffer.atomic.cmpswap.i32(i32, i32, "
            "ptr addrspace(8), i32, i32, i32)\n"
            "define amdgpu_kernel void @k(ptr addrspace(1) %cells, ptr addrspace(1) %old) #0 {\n"
            "  %tid = call i32 @llvm.amdgcn.workitem.id.x()\n"
            "  %rs = call ptr addrspace(8) @llvm.amdgcn.make.buffer.rsrc.p8.p1(ptr addrspace(1) "
            "%cells, i16 0, i64 16, i32 0)\n"
            "  %slot = and i32 %tid, 7\n  %off = shl i32 %slot, 2\n"
            "  %was = call i32 @llvm.amdgcn.raw.ptr.buffer.atomic.add.i32(i32 1, ptr addrspace(8) "
            "%rs, i32 %off, i32 0, i32 0)\n"
            "  %swap = call i32 @llvm.amdgcn.raw.ptr.buffer.atomic.cmpswap.i32(i32 100, i32 -1, "
            "ptr addrspace(8) %rs, i32 %off, i32 0, i32 0)\n"
            "  %t = zext i32 %tid to i64\n"
            "  %o = getelementptr i32, ptr addrspace(1) %old, i64 %t\n"
            "  %sum = add i32 %was, %swap\n  store i32 %sum, ptr addrspace(1) %o\n"
            "  ret void\n}\nattributes #0 = { \"target-cpu\"=\"gfx1100\" }\n")
    lib = api.compile(text, "atomics.ll", emit="metallib").output
    cells = np.full(8, 1000, np.int32)
    old = np.full(32, -7, np.int32)
    run(lib, "k", (32,), (32,), {0: cells, 1: old})
    # 16 bytes of records: slots 0-3 each get 4 adds (tid, tid+8, ...); 4-7 stay untouched
    np.testing.assert_array_equal(cells, [1004] * 4 + [1000] * 4)
    assert (old.reshape(4, 8)[:, 4:] == 0).all()  # outside: add and cmpswap return 0
    inside = old.reshape(4, 8)[:, :4]
    # each add returned 1000 + (adds before it), each cmpswap (which never matches -1) the
    # value after this thread's add or later ones
    assert ((inside >= 2000) & (inside <= 2007)).all()


@pytest.mark.parametrize(("name", "model"), [
    ("sqrt", np.sqrt), ("rcp", lambda x: 1 / x), ("rsq", lambda x: 1 / np.sqrt(x)),
    ("exp2", lambda x: np.exp2(x / 16)), ("log", np.log2)])
def test_amdgpu_math_generic_form(name: str, model: object) -> None:
    text = ('target triple = "amdgcn-amd-amdhsa"\n'
            "declare i32 @llvm.amdgcn.workitem.id.x()\n"
            f"declare float @llvm.amdgcn.{name}.f32(float)\n"
            "define amdgpu_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) #0 {\n"
            "  %tid = call i32 @llvm.amdgcn.workitem.id.x()\n"
            "  %s = getelementptr float, ptr addrspace(1) %in, i32 %tid\n"
            "  %v = load float, ptr addrspace(1) %s\n"
            f"  %r = call float @llvm.amdgcn.{name}.f32(float %v)\n"
            "  %o = getelementptr float, ptr addrspace(1) %out, i32 %tid\n"
            "  store float %r, ptr addrspace(1) %o\n  ret void\n}\n"
            'attributes #0 = { "target-cpu"="gfx1100" }\n')
    lib = api.compile(text, "m.ll", emit="metallib").output
    x = np.random.default_rng(5).uniform(0.1, 100, N).astype(np.float32)
    if name == "exp2":
        x /= 16
    out = np.zeros(N, np.float32)
    run(lib, "k", (N,), (N,), {0: x, 1: out})
    want = model(x.astype(np.float64) * (16 if name == "exp2" else 1))  # type: ignore[operator]
    np.testing.assert_allclose(out, want, rtol=3e-7)


def _median_model(a: float, b: float, c: float) -> float:
    """LLVM's fold of llvm.amdgcn.fmed3 (AMDGPUInstCombineIntrinsic, fmed3AMDGCN)."""
    def maxnum(x: float, y: float) -> float:
        return y if np.isnan(x) else x if np.isnan(y) else max(x, y)

    largest = maxnum(maxnum(a, b), c)
    if largest == a:
        return maxnum(b, c)
    if largest == b:
        return maxnum(a, c)
    return maxnum(a, b)


def test_amdgpu_fmed3_is_the_median_and_passes_nans_over() -> None:
    text = ('target triple = "amdgcn-amd-amdhsa"\n'
            "declare i32 @llvm.amdgcn.workitem.id.x()\n"
            "declare i32 @llvm.amdgcn.workgroup.id.x()\n"
            "declare float @llvm.amdgcn.fmed3.f32(float, float, float)\n"
            "define amdgpu_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) #0 {\n"
            "  %lid = call i32 @llvm.amdgcn.workitem.id.x()\n"
            "  %group = call i32 @llvm.amdgcn.workgroup.id.x()\n"
            f"  %first = mul i32 %group, {N}\n"
            "  %tid = add i32 %first, %lid\n"
            "  %i = mul i32 %tid, 3\n"
            "  %pa = getelementptr float, ptr addrspace(1) %in, i32 %i\n"
            "  %pb = getelementptr float, ptr addrspace(1) %pa, i32 1\n"
            "  %pc = getelementptr float, ptr addrspace(1) %pa, i32 2\n"
            "  %a = load float, ptr addrspace(1) %pa\n  %b = load float, ptr addrspace(1) %pb\n"
            "  %c = load float, ptr addrspace(1) %pc\n"
            "  %r = call float @llvm.amdgcn.fmed3.f32(float %a, float %b, float %c)\n"
            "  %o = getelementptr float, ptr addrspace(1) %out, i32 %tid\n"
            "  store float %r, ptr addrspace(1) %o\n  ret void\n}\n"
            'attributes #0 = { "target-cpu"="gfx1100" }\n')
    lib = api.compile(text, "med3.ll", emit="metallib").output
    rng = np.random.default_rng(8)
    values = [np.nan, -np.inf, np.inf, 0.0, -0.0, 1.0, -2.5, 3.0]
    triples = [(a, b, c) for a in values for b in values for c in values]
    triples += [tuple(rng.integers(-3, 4, 3).astype(float)) for _ in range(192)]  # ties
    triples += [tuple(rng.standard_normal(3)) for _ in range(128)]
    x = np.array(triples, np.float32).reshape(-1)
    out = np.zeros(len(triples), np.float32)
    run(lib, "k", (len(triples),), (N,), {0: x, 1: out})
    want = np.array([_median_model(*t) for t in np.array(triples, np.float32).tolist()],
                    np.float32)
    np.testing.assert_array_equal(out, want)  # NaN equals NaN here; zeros by value
