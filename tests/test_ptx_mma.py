"""``mma.sync`` rows of the inline-PTX table: every m16n8 form, JIT-run on the CPU runner for
one warp, matches numpy's ``A @ B + C``. The registers are filled per the PTX ISA figures
"Matrix Fragments for mma.m16n8k4 / k8 / k16 / k32" (element i of a lane's fragment; the
same formulas for every element width)."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.rewrite import ptx_tables as T
from llvm_to_air.runner import run

ROWS = [r for r in T.ROWS if r.kind == "mma"]
# element kind -> (elements per 32-bit register, numpy type of an element's bits)
WIDTH = {"f16": (2, np.uint16), "bf16": (2, np.uint16), "tf32": (1, np.uint32),
         "i8": (4, np.uint8), "u8": (4, np.uint8)}
HEAD = """target triple = "nvptx64-nvidia-cuda"
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
define ptx_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) {
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %t = zext i32 %tid to i64
"""


def _matrix(kind: str, shape: tuple[int, int], rng: np.random.Generator,
            big: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(exact values as float64 or int64, their element bits) of one random input matrix."""
    if kind in ("i8", "u8"):
        low, high = (-128, 128) if kind == "i8" else (0, 256)
        if big:  # products at the ends of the range, so a k32 sum of 8 tiles overflows s32
            values = rng.choice([low, high - 1], shape).astype(np.int64)
        else:
            values = rng.integers(low, high, shape).astype(np.int64)
        return values, values.astype(np.uint8)
    x = rng.standard_normal(shape).astype(np.float32)
    if kind == "f16":
        h = x.astype(np.float16)
        return h.astype(np.float64), h.view(np.uint16)
    if kind == "bf16":  # truncated to bfloat16
        bits = (x.view(np.uint32) >> 16).astype(np.uint16)
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64), bits
    bits = x.view(np.uint32) & 0xFFFFE000  # tf32, as cvt.rna.tf32.f32 leaves it
    return bits.view(np.float32).astype(np.float64), bits


def _word(elements: list[int], per_word: int) -> int:
    width = 32 // per_word
    return sum(int(e) << (width * i) for i, e in enumerate(elements))


def _a_position(i: int, g: int, t: int, per: int, k: int) -> tuple[int, int]:
    """ISA: row = groupID (+ 8 for the 2nd and 4th group of ``per`` elements); col =
    tig * per + (i % per) (+ K/2 for the second half of the elements)."""
    return g + 8 * ((i // per) % 2), t * per + i % per + (k // 2) * (i // (2 * per))


def _b_position(i: int, g: int, t: int, per: int, k: int) -> tuple[int, int]:
    """ISA: row = tig * per + (i % per) (+ K/2 for the second register); col = groupID."""
    return t * per + i % per + (k // 2) * (i // per), g


def _acc_position(i: int, g: int, t: int) -> tuple[int, int]:
    """ISA (C and D): row = groupID (+ 8 for c2, c3); col = tig * 2 + (i & 1)."""
    return g + 8 * (i // 2), 2 * t + (i & 1)


def _asm_call(row: T.PtxRow, n_a: int, n_b: int, n_c: int, n_d: int) -> str:
    groups, next_ = [], 0
    for n in (n_d, n_a, n_b, n_c):
        groups.append("{ " + ", ".join(f"${next_ + j}" for j in range(n)) + " }")
        next_ += n
    out_ty = "{ " + ", ".join(["i32"] * n_d) + " }"
    cons = ",".join(["=r"] * n_d + ["r"] * (n_a + n_b + n_c))
    args = ", ".join(f"i32 %w{r}" for r in range(n_a + n_b + n_c))
    return (f"  %d = call {out_ty} asm sideeffect \"{row.mnemonic} {', '.join(groups)};\", "
            f"\"{cons}\"({args})\n")


def _run_mma(row: T.PtxRow, words: np.ndarray, n_a: int, n_b: int, n_c: int,
             n_d: int) -> np.ndarray:
    n_in = n_a + n_b + n_c
    body = ""
    for r in range(n_in):
        body += (f"  %w{r}i = mul i64 %t, {n_in}\n  %w{r}j = add i64 %w{r}i, {r}\n"
                 f"  %w{r}p = getelementptr i32, ptr addrspace(1) %in, i64 %w{r}j\n"
                 f"  %w{r} = load i32, ptr addrspace(1) %w{r}p\n")
    body += _asm_call(row, n_a, n_b, n_c, n_d)
    for r in range(n_d):
        body += (f"  %d{r} = extractvalue {{ {', '.join(['i32'] * n_d)} }} %d, {r}\n"
                 f"  %o{r}i = mul i64 %t, {n_d}\n  %o{r}j = add i64 %o{r}i, {r}\n"
                 f"  %o{r} = getelementptr i32, ptr addrspace(1) %out, i64 %o{r}j\n"
                 f"  store i32 %d{r}, ptr addrspace(1) %o{r}\n")
    lib = api.compile(HEAD + body + "  ret void\n}\n", "mma.ll", emit="metallib").output
    out = np.zeros(32 * n_d, np.uint32)
    run(lib, "k", (32,), (32,), {0: words.reshape(-1).copy(), 1: out})
    return out.reshape(32, n_d)


def _accumulator_bits(kind: str, c: np.ndarray, g: int, t: int) -> list[int]:
    elements = [c[_acc_position(i, g, t)] for i in range(4)]
    if kind == "f16":
        h = np.array(elements, np.float16).view(np.uint16)
        return [_word([h[0], h[1]], 2), _word([h[2], h[3]], 2)]
    dtype = np.float32 if kind == "f32" else np.int32
    return [int(v) for v in np.array(elements, dtype).view(np.uint32)]


def _d_values(kind: str, out: np.ndarray) -> np.ndarray:
    d = np.zeros((16, 8), np.float64 if kind != "s32" else np.int64)
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        if kind == "f16":
            elements = out[lane].astype(np.uint32).view(np.float16).astype(np.float64)
        elif kind == "f32":
            elements = out[lane].view(np.float32).astype(np.float64)
        else:
            elements = out[lane].view(np.int32).astype(np.int64)
        for i in range(4):
            d[_acc_position(i, g, t)] = elements[i]
    return d


def _mma_case(row: T.PtxRow, rng: np.random.Generator, big: bool = False) -> tuple:
    """(D the row computes, exact A @ B + C) for random inputs."""
    k = row.bits
    per_a, _ = WIDTH[row.op]
    per_b, _ = WIDTH[row.frm]
    a, a_bits = _matrix(row.op, (16, k), rng, big)
    b, b_bits = _matrix(row.frm, (k, 8), rng, big)
    if row.c_kind == "s32":
        c = rng.integers(-1000, 1000, (16, 8)).astype(np.int64)
        if big:  # rows 0-7 near the top of the s32 range, rows 8-15 near the bottom
            c[:8] += 2 ** 31 - 2 ** 16 - 1000
            c[8:] -= 2 ** 31 - 2 ** 16 - 1000
    else:
        c = rng.standard_normal((16, 8)).astype(np.float16 if row.c_kind == "f16"
                                                  else np.float32).astype(np.float64)
    n_a, n_b = 2 * k // (4 * per_a), k // (4 * per_b)
    n_c, n_d = (2 if row.c_kind == "f16" else 4), (2 if row.to == "f16" else 4)
    words = np.zeros((32, n_a + n_b + n_c), np.uint32)
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        a_el = [a_bits[_a_position(i, g, t, per_a, k)] for i in range(n_a * per_a)]
        b_el = [b_bits[_b_position(i, g, t, per_b, k)] for i in range(n_b * per_b)]
        words[lane, :n_a] = [_word(a_el[r * per_a:(r + 1) * per_a], per_a)
                             for r in range(n_a)]
        words[lane, n_a:n_a + n_b] = [_word(b_el[r * per_b:(r + 1) * per_b], per_b)
                                      for r in range(n_b)]
        words[lane, n_a + n_b:] = _accumulator_bits(row.c_kind, c, g, t)
    got = _d_values(row.to, _run_mma(row, words, n_a, n_b, n_c, n_d))
    return got, a @ b + c


# every row but the integer ones without .satfinite, which differ from their .satfinite
# twins only past the s32 range (test_mma_integer_overflow_saturates_or_wraps): each row is
# a kernel to JIT, and CI has a time budget
@pytest.mark.parametrize("row", [r for r in ROWS if r.to != "s32" or r.saturate],
                         ids=lambda r: r.mnemonic)
def test_mma_row_matches_numpy(row: T.PtxRow) -> None:
    got, want = _mma_case(row, np.random.default_rng(11))
    if row.to == "s32":
        np.testing.assert_array_equal(got, want)  # small inputs: no overflow, exact
    elif row.to == "f16":
        # one rounding of the f32 sum to f16: within half an f16 ulp of it; the ISA leaves
        # the internal precision open, so hardware may differ from this in the last bit
        np.testing.assert_allclose(got, want, rtol=2 ** -10, atol=2 ** -14)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("row", [r for r in ROWS if r.to == "s32" and r.bits == 32
                                 and r.op == r.frm], ids=lambda r: r.mnemonic)
def test_mma_integer_overflow_saturates_or_wraps(row: T.PtxRow) -> None:
    """``.satfinite`` clamps an out-of-range s32 result, the plain form wraps (mod 2^32)."""
    got, want = _mma_case(row, np.random.default_rng(5), big=True)
    assert (want > 2 ** 31 - 1).any() or (want < -2 ** 31).any()
    if row.saturate:
        np.testing.assert_array_equal(got, np.clip(want, -2 ** 31, 2 ** 31 - 1))
    else:
        np.testing.assert_array_equal(got, (want + 2 ** 31) % 2 ** 32 - 2 ** 31)


def test_mma_f16_accumulator_rounds_once() -> None:
    """An f16 D is the f32 sum rounded once to nearest even (the documented choice): the
    emulation equals numpy's f32 sum in k order rounded to f16, bit for bit."""
    row = next(r for r in ROWS if r.mnemonic.endswith("m16n8k16.row.col.f16.f16.f16.f16"))
    rng = np.random.default_rng(3)
    got, want = _mma_case(row, rng)
    rng = np.random.default_rng(3)  # the same inputs again, summed as the emulation does
    a, _ = _matrix("f16", (16, 16), rng)
    b, _ = _matrix("f16", (16, 8), rng)
    c = rng.standard_normal((16, 8)).astype(np.float16).astype(np.float32)
    acc = c.copy()
    for k in range(16):
        acc = (acc + (a[:, k:k + 1] * b[k:k + 1, :]).astype(np.float32)).astype(np.float32)
    np.testing.assert_array_equal(got, acc.astype(np.float16).astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2 ** -10, atol=2 ** -14)


def test_mma_operand_count_is_checked() -> None:
    row = next(r for r in ROWS if r.mnemonic.endswith("m16n8k32.row.col.satfinite.s32.s8.s8.s32"))
    body = ("  %d = call { i32, i32, i32, i32 } asm sideeffect \"" + row.mnemonic +
            " { $0, $1, $2, $3 }, { $4, $5 }, { $6, $7 }, { $8, $9, $10, $11 };\", "
            "\"=r,=r,=r,=r,r,r,r,r,r,r,r,r\"(" + ", ".join(["i32 0"] * 8) + ")\n"
            "  ret void\n}\n")
    with pytest.raises(CompileError, match=r"operands of .mma\.sync"):
        api.compile(HEAD + body, "bad.ll", emit="ll")


def test_mma_m8n8_shape_is_refused_by_name() -> None:
    """The m8n8 shapes have other fragment layouts: no row, a located error quoting them."""
    body = ("  %d = call { i32, i32 } asm sideeffect \"mma.sync.aligned.m8n8k16.row.col.s32.s8."
            "s8.s32 { $0, $1 }, { $2 }, { $3 }, { $4, $5 };\", \"=r,=r,r,r,r,r\"(i32 0, i32 0, "
            "i32 0, i32 0)\n  ret void\n}\n")
    with pytest.raises(CompileError, match=r"m8n8k16.* has no translation") as info:
        api.compile(HEAD + body, "m8n8.ll", emit="ll")
    assert info.value.location.line == 6
