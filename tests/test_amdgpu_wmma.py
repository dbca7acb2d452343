"""gfx11 wave32 WMMA on the CPU runner against numpy: fragments are laid out per the RDNA3
ISA (lane l: A row l%16, B column l%16, D[2v + l/16][l%16] in register v), two waves of
different data per run, D compared with the matrix product in float64 (or exact integers).
Wave64 WMMA and MFMA are refused."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run
from llvm_to_air.verify import verify_air_text
from tests.oracles import llvm_as_14, opt_verify_14

WAVES = 2
LANES = 32 * WAVES
RNG = np.random.default_rng(11)


def _kernel(call: str, ab: str, cd: str) -> str:
    return f"""target triple = "amdgcn-amd-amdhsa"
declare i32 @llvm.amdgcn.workitem.id.x()
define amdgpu_kernel void @k(ptr addrspace(1) %a, ptr addrspace(1) %b, ptr addrspace(1) %c,
                             ptr addrspace(1) %d) #0 {{
  %tid = call i32 @llvm.amdgcn.workitem.id.x()
  %t = zext i32 %tid to i64
  %pa = getelementptr {ab}, ptr addrspace(1) %a, i64 %t
  %va = load {ab}, ptr addrspace(1) %pa, align 4
  %pb = getelementptr {ab}, ptr addrspace(1) %b, i64 %t
  %vb = load {ab}, ptr addrspace(1) %pb, align 4
  %pc = getelementptr {cd}, ptr addrspace(1) %c, i64 %t
  %vc = load {cd}, ptr addrspace(1) %pc, align 4
  %r = {call}
  %pd = getelementptr {cd}, ptr addrspace(1) %d, i64 %t
  store {cd} %r, ptr addrspace(1) %pd, align 4
  ret void
}}
attributes #0 = {{ "target-cpu"="gfx1100" }}
"""


def _fragments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lane A rows and B columns of WAVES independent 16x16 tiles, lanes 16-31 repeating."""
    lanes = np.arange(LANES)
    wave, idx = lanes // 32, lanes % 16
    return a[wave, idx, :], b[wave, :, idx]


def _d_positions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lanes = np.arange(LANES)[:, None]
    v = np.arange(8)[None, :]
    return lanes // 32 + 0 * v, 2 * v + (lanes % 32) // 16, lanes % 16 + 0 * v


def _compile_and_run(text: str, buffers: dict[int, np.ndarray]) -> None:
    air = api.compile(text, "wmma.ll", emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, "wmma.ll") == []
    lib = api.compile(text, "wmma.ll", emit="metallib").output
    run(lib, "k", (LANES,), (LANES,), buffers)


@pytest.mark.parametrize("inputs", ["f16", "bf16"])
def test_wmma_f32_accumulator(inputs: str) -> None:
    a = RNG.standard_normal((WAVES, 16, 16)).astype(np.float32)
    b = RNG.standard_normal((WAVES, 16, 16)).astype(np.float32)
    if inputs == "f16":
        a, b = a.astype(np.float16), b.astype(np.float16)
        ab, store = "<16 x half>", (lambda x: x)
    else:  # bfloat16: the top half of an f32
        a = (a.view(np.uint32) & 0xFFFF0000).view(np.float32)
        b = (b.view(np.uint32) & 0xFFFF0000).view(np.float32)
        ab, store = "<16 x i16>", (lambda x: (x.view(np.uint32) >> 16).astype(np.uint16))
    c = RNG.standard_normal((WAVES, 16, 16)).astype(np.float32)
    fa, fb = _fragments(a, b)
    w, r, n = _d_positions()
    out = np.zeros((LANES, 8), np.float32)
    call = (f"call <8 x float> @llvm.amdgcn.wmma.f32.16x16x16.{inputs}.v8f32."
            f"{'v16f16' if inputs == 'f16' else 'v16i16'}({ab} %va, {ab} %vb, <8 x float> %vc)")
    _compile_and_run(_kernel(call, ab, "<8 x float>"),
                     {0: store(np.ascontiguousarray(fa)), 1: store(np.ascontiguousarray(fb)),
                      2: np.ascontiguousarray(c[w, r, n]), 3: out})
    want = np.einsum("wmk,wkn->wmn", a.astype(np.float64), b.astype(np.float64)) + c
    np.testing.assert_allclose(out, want[w, r, n], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opsel", [0, 1])
@pytest.mark.parametrize("kind", ["f16", "bf16"])
def test_wmma_16bit_accumulator_keeps_the_other_half(kind: str, opsel: int) -> None:
    a = RNG.standard_normal((WAVES, 16, 16)).astype(np.float16).astype(np.float32)
    b = RNG.standard_normal((WAVES, 16, 16)).astype(np.float16).astype(np.float32)
    if kind == "bf16":
        a = (a.view(np.uint32) & 0xFFFF0000).view(np.float32)
        b = (b.view(np.uint32) & 0xFFFF0000).view(np.float32)

    def bits(x: np.ndarray) -> np.ndarray:
        if kind == "f16":
            return x.astype(np.float16).view(np.uint16)
        return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)  # truncates

    def value(x: np.ndarray) -> np.ndarray:
        if kind == "f16":
            return x.view(np.float16).astype(np.float64)
        return (x.astype(np.uint32) << 16).view(np.float32).astype(np.float64)

    c16 = bits(RNG.standard_normal((WAVES, 16, 16)).astype(np.float32))
    fa, fb = _fragments(a, b)
    w, r, n = _d_positions()
    regs = RNG.integers(0, 1 << 16, (LANES, 16)).astype(np.uint16)  # the other halves
    regs[:, opsel::2] = c16[w, r, n]
    out = np.zeros_like(regs)
    ty = "<16 x half>" if kind == "f16" else "<16 x i16>"
    call = (f"call {ty} @llvm.amdgcn.wmma.{kind}.16x16x16.{kind}.{ty[6:-1].replace(' x ', '')}"
            f"({ty} %va, {ty} %vb, {ty} %vc, i1 {'true' if opsel else 'false'})")
    call = call.replace(".16half", ".v16f16").replace(".16i16", ".v16i16")
    typed = (lambda x: x.view(np.float16)) if kind == "f16" else (lambda x: x)
    _compile_and_run(_kernel(call, ty, ty), {0: typed(bits(fa)), 1: typed(bits(fb)),
                                             2: typed(regs.copy()), 3: typed(out)})
    np.testing.assert_array_equal(out[:, 1 - opsel::2], regs[:, 1 - opsel::2])
    exact = np.einsum("wmk,wkn->wmn", a.astype(np.float64), b.astype(np.float64))
    want = exact[w, r, n] + value(c16[w, r, n])
    ulp = 2.0 ** -10 if kind == "f16" else 2.0 ** -7
    np.testing.assert_allclose(value(out[:, opsel::2]), want, rtol=ulp, atol=ulp)


@pytest.mark.parametrize("clamp", [False, True])
@pytest.mark.parametrize(("inputs", "a_signed", "b_signed"),
                         [("iu8", True, True), ("iu8", False, True), ("iu4", True, False),
                          ("iu4", False, False)])
def test_wmma_integer(inputs: str, a_signed: bool, b_signed: bool, clamp: bool) -> None:
    bits = 8 if inputs == "iu8" else 4

    def draw(signed: bool) -> np.ndarray:
        low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        return RNG.integers(low, high, (WAVES, 16, 16)).astype(np.int64)

    def pack(frag: np.ndarray) -> np.ndarray:
        mask = (1 << bits) - 1
        per = 32 // bits
        words = np.zeros((LANES, 16 // per), np.uint32)
        for k in range(16):
            words[:, k // per] |= ((frag[:, k] & mask) << (bits * (k % per))).astype(np.uint32)
        return words.view(np.int32)

    a, b = draw(a_signed), draw(b_signed)
    c = RNG.integers(-(1 << 31), 1 << 31, (WAVES, 16, 16)).astype(np.int64)
    c[0, :4] = (1 << 31) - 3  # near the limits: the product pushes these past them
    c[1, :4] = -(1 << 31) + 3
    fa, fb = _fragments(a, b)
    w, r, n = _d_positions()
    out = np.zeros((LANES, 8), np.int32)
    n_words = 16 // (32 // bits)
    vec = f"<{n_words} x i32>"
    call = (f"call <8 x i32> @llvm.amdgcn.wmma.i32.16x16x16.{inputs}.v8i32.v{n_words}i32("
            f"i1 {str(a_signed).lower()}, {vec} %va, i1 {str(b_signed).lower()}, {vec} %vb, "
            f"<8 x i32> %vc, i1 {str(clamp).lower()})")
    _compile_and_run(_kernel(call, vec, "<8 x i32>"),
                     {0: pack(fa), 1: pack(fb), 2: c[w, r, n].astype(np.int32), 3: out})
    exact = np.einsum("wmk,wkn->wmn", a, b) + c
    want = np.clip(exact, -(1 << 31), (1 << 31) - 1) if clamp else exact
    np.testing.assert_array_equal(out, want[w, r, n].astype(np.uint64).astype(np.uint32)
                                  .view(np.int32))


def test_gfx12_layout_is_refused() -> None:
    call = ("call <8 x float> @llvm.amdgcn.wmma.f32.16x16x16.f16.v8f32.v8f16(<8 x half> %va, "
            "<8 x half> %vb, <8 x float> %vc)")
    with pytest.raises(CompileError, match="gfx12"):
        api.compile(_kernel(call, "<8 x half>", "<8 x float>"), "w.ll", emit="ll")


@pytest.mark.parametrize(("cpu", "call", "ab", "cd"), [
    ("gfx90a", "call <4 x float> @llvm.amdgcn.mfma.f32.16x16x16f16(<4 x half> %va, "
               "<4 x half> %vb, <4 x float> %vc, i32 0, i32 0, i32 0)", "<4 x half>",
     "<4 x float>"),
    ("gfx1100\" \"target-features\"=\"+wavefrontsize64",
     "call <4 x float> @llvm.amdgcn.wmma.f32.16x16x16.f16.v4f32.v16f16(<16 x half> %va, "
     "<16 x half> %vb, <4 x float> %vc)", "<16 x half>", "<4 x float>")])
def test_wave64_matrix_ops_are_refused(cpu: str, call: str, ab: str, cd: str) -> None:
    text = _kernel(call, ab, cd).replace('"target-cpu"="gfx1100"', f'"target-cpu"="{cpu}"')
    with pytest.raises(CompileError, match="64-lane AMD wavefront") as info:
        api.compile(text, "w64.ll", emit="ll")
    assert info.value.location is not None and info.value.location.line == 13
