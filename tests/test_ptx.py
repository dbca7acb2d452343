"""Inline PTX translator: each table row's translation, JIT-run on the CPU runner, computes
what the PTX ISA defines for the instruction (a numpy model per row kind)."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.rewrite import ptx_tables as T
from llvm_to_air.rewrite.ptx import parse_ptx
from llvm_to_air.runner import run

N = 64
RNG = np.random.default_rng(7)
REG = {16: ("h", "i16", np.uint16), 32: ("r", "i32", np.uint32), 64: ("l", "i64", np.uint64)}

HEAD = """target triple = "nvptx64-nvidia-cuda"
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
define ptx_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out, ptr addrspace(1) %pr) {
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %t = zext i32 %tid to i64
  %pp = getelementptr i8, ptr addrspace(1) %pr, i64 %t
  %pb = load i8, ptr addrspace(1) %pp
  %p = icmp ne i8 %pb, 0
"""


def _run(body: str, inp: np.ndarray, out: np.ndarray, pred: np.ndarray) -> None:
    text = HEAD + body + "  ret void\n}\n"
    lib = api.compile(text, "row.ll", emit="metallib").output
    run(lib, "k", (N,), (N,), {0: inp, 1: out, 2: pred})


def _rows(kind: str, space: int | None = 1) -> list[T.PtxRow]:
    return [r for r in T.ROWS if r.kind == kind and (space is None or r.addrspace == space)
            and r.bits in REG]


@pytest.mark.parametrize("row", _rows("load"), ids=lambda r: r.mnemonic)
def test_predicated_load_row(row: T.PtxRow) -> None:
    letter, ity, dtype = REG[row.bits]
    lanes = row.lanes
    outs = ", ".join(f"${k}" for k in range(lanes))
    ty = ity if lanes == 1 else "{ " + ", ".join([ity] * lanes) + " }"
    asm = "".join(f"mov.b{row.bits} ${k}, 0x5;\\0A" for k in range(lanes))
    asm += f"@${lanes + 1} {row.mnemonic} {{ {outs} }}, [ ${lanes} + 0 ];"
    cons = ",".join([f"={letter}"] * lanes) + ",l,b"
    body = (f"  %a = getelementptr [{lanes * row.bits // 8} x i8], ptr addrspace(1) %in, i64 %t\n"
            f"  %r = call {ty} asm sideeffect \"{asm}\", \"{cons}\"(ptr addrspace(1) %a, i1 %p)\n")
    for k in range(lanes):
        value = "%r" if lanes == 1 else f"%v{k}"
        if lanes > 1:
            body += f"  %v{k} = extractvalue {ty} %r, {k}\n"
        body += (f"  %i{k} = mul i64 %t, {lanes}\n  %j{k} = add i64 %i{k}, {k}\n"
                 f"  %o{k} = getelementptr {ity}, ptr addrspace(1) %out, i64 %j{k}\n"
                 f"  store {ity} {value}, ptr addrspace(1) %o{k}\n")
    inp = RNG.integers(0, 2 ** min(row.bits, 62), N * lanes, dtype=np.uint64).astype(dtype)
    pred = RNG.integers(0, 2, N).astype(np.uint8)
    out = np.zeros(N * lanes, dtype)
    _run(body, inp, out, pred)
    want = np.where(np.repeat(pred, lanes) != 0, inp, dtype(5))
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("row", _rows("store"), ids=lambda r: r.mnemonic)
def test_predicated_store_row(row: T.PtxRow) -> None:
    letter, ity, dtype = REG[row.bits]
    lanes = row.lanes
    body = ""
    for k in range(lanes):
        body += (f"  %i{k} = mul i64 %t, {lanes}\n  %j{k} = add i64 %i{k}, {k}\n"
                 f"  %s{k} = getelementptr {ity}, ptr addrspace(1) %in, i64 %j{k}\n"
                 f"  %v{k} = load {ity}, ptr addrspace(1) %s{k}\n")
    srcs = ", ".join(f"${k}" for k in range(lanes))
    asm = f"@${lanes + 1} {row.mnemonic} [ ${lanes} + 0 ], {{ {srcs} }};"
    cons = ",".join([letter] * lanes) + ",l,b"
    args = ", ".join(f"{ity} %v{k}" for k in range(lanes))
    body += (f"  %a = getelementptr [{lanes * row.bits // 8} x i8], ptr addrspace(1) %out, i64 %t\n"
             f"  call void asm sideeffect \"{asm}\", \"{cons}\"({args}, ptr addrspace(1) %a, "
             "i1 %p)\n")
    inp = RNG.integers(0, 2 ** min(row.bits, 62), N * lanes, dtype=np.uint64).astype(dtype)
    pred = RNG.integers(0, 2, N).astype(np.uint8)
    out = np.full(N * lanes, 9, dtype)
    _run(body, inp, out, pred)
    np.testing.assert_array_equal(out, np.where(np.repeat(pred, lanes) != 0, inp, dtype(9)))


@pytest.mark.parametrize("row", _rows("mov", None), ids=lambda r: r.mnemonic)
def test_mov_row(row: T.PtxRow) -> None:
    letter, ity, dtype = REG[row.bits]
    body = (f"  %s = getelementptr {ity}, ptr addrspace(1) %in, i64 %t\n"
            f"  %v = load {ity}, ptr addrspace(1) %s\n"
            f"  %r = call {ity} asm \"{row.mnemonic} $0, $1;\", \"={letter},{letter}\"({ity} %v)\n"
            f"  %o = getelementptr {ity}, ptr addrspace(1) %out, i64 %t\n"
            f"  store {ity} %r, ptr addrspace(1) %o\n")
    inp = RNG.integers(0, 2 ** min(row.bits, 62), N, dtype=np.uint64).astype(dtype)
    out = np.zeros(N, dtype)
    _run(body, inp, out, np.ones(N, np.uint8))
    np.testing.assert_array_equal(out, inp)


ATOMIC_MODEL = {"add": np.add, "fadd": np.add, "umax": np.maximum, "max": np.maximum,
                "umin": np.minimum, "min": np.minimum, "and": np.bitwise_and,
                "or": np.bitwise_or, "xor": np.bitwise_xor}
ATOMIC_ROWS = [r for r in T.ROWS if r.kind == "atomic" and r.op != "xchg" and r.bits == 32
               and not r.to  # 16-bit floats: test_half_atomic_row
               and (".gpu.acq_rel." in r.mnemonic or ".cta." in r.mnemonic
                    or r.mnemonic.count(".") == 3)]
HALF_ATOMIC_ROWS = [r for r in T.ROWS if r.kind == "atomic" and r.to
                    and r.mnemonic.startswith(("atom.add.", "atom.global.add."))]


@pytest.mark.parametrize("row", [*ATOMIC_ROWS, T.BY_MNEMONIC["atom.global.gpu.acq_rel.add.u64"]],
                         ids=lambda r: r.mnemonic)
def test_atomic_row(row: T.PtxRow) -> None:
    ty = "float" if row.float_result else f"i{row.bits}"
    letter = "f" if row.float_result else REG[row.bits][0]
    signed = row.mnemonic.endswith((".s32",))
    dtype = np.float32 if row.float_result else (
        (np.int32 if signed else np.uint32) if row.bits == 32 else np.uint64)
    body = (f"  %s = getelementptr {ty}, ptr addrspace(1) %in, i64 %t\n"
            f"  %v = load {ty}, ptr addrspace(1) %s\n"
            f"  %old = call {ty} asm sideeffect \"mov.b{row.bits} $0, 0x0;\\0A@$3 {row.mnemonic}"
            f" $0, [ $1 + 0 ], $2;\", \"={letter},l,{letter},b\"(ptr addrspace(1) %out, {ty} %v,"
            " i1 %p)\n")
    if dtype is np.float32:
        inp = RNG.integers(-8, 8, N + 1).astype(np.float32)
    else:
        inp = RNG.integers(0 if not signed else -1000, 1000, N + 1).astype(dtype)
    out = inp[N:].copy()  # out[0] starts as the extra element
    pred = RNG.integers(0, 2, N).astype(np.uint8)
    if row.bits == 32:
        _run(body, inp[:N].copy(), out, pred)
    if row.bits == 64:
        with pytest.raises(CompileError, match="64-bit atomic add"):
            _run(body, inp[:N].copy(), out, pred)
        return
    want = ATOMIC_MODEL[row.op].reduce(np.concatenate([inp[N:], inp[:N][pred != 0]]))
    np.testing.assert_array_equal(out[0], want)


@pytest.mark.parametrize("row", HALF_ATOMIC_ROWS, ids=lambda r: r.mnemonic)
def test_half_atomic_row(row: T.PtxRow) -> None:
    """atom.add.noftz.{f16,bf16}[x2] (cuda_fp16.h/cuda_bf16.h atomicAdd): every thread adds
    its eighths into one slot (exact in 16 bits, so any order gives the sum); the old
    values each thread gets back are slot states, one of them the start."""
    letter, ity, _ = REG[row.bits]
    body = (f"  %s = getelementptr {ity}, ptr addrspace(1) %in, i64 %t\n"
            f"  %v = load {ity}, ptr addrspace(1) %s\n"
            f"  %old = call {ity} asm sideeffect \"@$3 {row.mnemonic} $0, [ $1 + 0 ], $2;\", "
            f"\"={letter},l,{letter},b\"(ptr addrspace(1) %out, {ity} %v, i1 %p)\n")
    lanes = row.lanes
    dtype = np.float16 if row.to == "half" else np.uint16  # bf16: its bits
    eighths = RNG.integers(-8, 9, (N + 1) * lanes) / 8
    values = eighths.astype(np.float16) if dtype is np.float16 else (
        eighths.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    inp, out = values[:N * lanes].copy(), values[N * lanes:].copy()
    pred = RNG.integers(0, 2, N).astype(np.uint8)
    _run(body, inp.view(REG[row.bits][2]), out, pred)
    taken = np.concatenate([eighths[N * lanes:].reshape(1, lanes),
                            eighths[:N * lanes].reshape(N, lanes)[pred != 0]])
    got = out.astype(np.float64) if dtype is np.float16 else (
        (out.astype(np.uint32) << 16).view(np.float32).astype(np.float64))
    np.testing.assert_array_equal(got, taken.sum(axis=0))


@pytest.mark.parametrize(("row", "model"), [
    (T.BY_MNEMONIC["rcp.approx.ftz.f32"], lambda x: np.float32(1) / x),
    (T.BY_MNEMONIC["rcp.rn.f32"], lambda x: np.float32(1) / x),
], ids=lambda v: getattr(v, "mnemonic", ""))
def test_float_unary_row(row: T.PtxRow, model: object) -> None:
    body = ("  %s = getelementptr float, ptr addrspace(1) %in, i64 %t\n"
            "  %v = load float, ptr addrspace(1) %s\n"
            f"  %r = call float asm \"{row.mnemonic} $0, $1;\", \"=f,f\"(float %v)\n"
            "  %o = getelementptr float, ptr addrspace(1) %out, i64 %t\n"
            "  store float %r, ptr addrspace(1) %o\n")
    inp = (RNG.standard_normal(N) * 10).astype(np.float32)
    out = np.zeros(N, np.float32)
    _run(body, inp, out, np.ones(N, np.uint8))
    np.testing.assert_allclose(out, model(inp), rtol=2e-7)  # type: ignore[operator]


CONVERTS = {"half": ("h", "i16", np.float16), "float": ("f", "float", np.float32),
            "bfloat": ("h", "i16", None)}


@pytest.mark.parametrize("row", [r for r in T.ROWS if r.kind == "convert" and r.frm in CONVERTS],
                         ids=lambda r: r.mnemonic)
def test_convert_row(row: T.PtxRow) -> None:
    src_letter, src_ty, _ = CONVERTS[row.frm]
    dst_letter, dst_ty, _ = CONVERTS[row.to]
    dst_np = np.uint16 if dst_ty == "i16" else np.float32
    body = (f"  %s = getelementptr {src_ty}, ptr addrspace(1) %in, i64 %t\n"
            f"  %v = load {src_ty}, ptr addrspace(1) %s\n"
            f"  %r = call {dst_ty} asm \"{row.mnemonic} $0, $1;\", \"={dst_letter},{src_letter}\""
            f"({src_ty} %v)\n"
            f"  %o = getelementptr {dst_ty}, ptr addrspace(1) %out, i64 %t\n"
            f"  store {dst_ty} %r, ptr addrspace(1) %o\n")
    values = (RNG.standard_normal(N) * 100).astype(np.float32)
    if row.frm == "float":
        inp = values
    elif row.frm == "half":
        inp = values.astype(np.float16).view(np.uint16)
    else:
        inp = (values.view(np.uint32) >> 16).astype(np.uint16)
    out = np.zeros(N, dst_np)
    _run(body, inp, out, np.ones(N, np.uint8))
    if row.to == "half":  # cvt.rn: round to nearest even
        np.testing.assert_array_equal(out, values.astype(np.float16).view(np.uint16))
    elif row.to == "bfloat":
        bits = values.view(np.uint32).astype(np.uint64)
        want = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        np.testing.assert_array_equal(out, want)
    elif row.frm == "half":
        np.testing.assert_array_equal(out, inp.view(np.float16).astype(np.float32))
    else:
        np.testing.assert_array_equal(out, (inp.astype(np.uint32) << 16).view(np.float32))


def test_hints_are_dropped_and_policy_operand_goes() -> None:
    [stmt] = parse_ptx("@$3 ld.global.L1::evict_last.L2::cache_hint.b32 { $0 }, [ $1 + 0 ], $2;")
    assert stmt.mnemonic == "ld.global.b32" and len(stmt.operands) == 2


def test_unknown_instruction_is_an_error_quoting_it() -> None:
    text = HEAD + ("  %r = call i32 asm \"vabsdiff.u32.u32.u32 $0, $1, $1;\", \"=r,r\"(i32 %tid)\n"
                   "  store i32 %r, ptr addrspace(1) %out\n  ret void\n}\n")
    with pytest.raises(CompileError, match=r"'vabsdiff\.u32\.u32\.u32 \$0, \$1, \$1' has no "
                                           r"translation") as info:
        api.compile(text, "u.ll", emit="ll")
    assert info.value.location.line == 9


HALF_OPS = {"fadd": lambda a, b, c: a + b, "fsub": lambda a, b, c: a - b,
            "fmul": lambda a, b, c: a * b,
            "fma": lambda a, b, c: (a.astype(np.float64) * b + c).astype(np.float16)}


@pytest.mark.parametrize("row", [r for r in T.ROWS if r.kind == "half_arith"],
                         ids=lambda r: r.mnemonic)
def test_half_arith_row(row: T.PtxRow) -> None:
    letter, ity, dtype = REG[row.bits]
    srcs = 3 if row.op == "fma" else 2
    operands = ", ".join(f"${k}" for k in range(srcs + 1))
    args = ", ".join(f"{ity} %v{k}" for k in range(srcs))
    body = ""
    for k in range(srcs):
        body += (f"  %i{k} = add i64 %t, {k * N}\n"
                 f"  %s{k} = getelementptr {ity}, ptr addrspace(1) %in, i64 %i{k}\n"
                 f"  %v{k} = load {ity}, ptr addrspace(1) %s{k}\n")
    body += (f"  %r = call {ity} asm \"{{{row.mnemonic} {operands};\\0A}}\", "
             f"\"={letter}{',' + letter * 1 * 1}{(',' + letter) * (srcs - 1)}\"({args})\n"
             f"  %o = getelementptr {ity}, ptr addrspace(1) %out, i64 %t\n"
             f"  store {ity} %r, ptr addrspace(1) %o\n")
    halves = (RNG.standard_normal(N * srcs * row.lanes) * 8).astype(np.float16)
    inp = halves.view(dtype)
    out = np.zeros(N, dtype)
    _run(body, inp, out, np.ones(N, np.uint8))
    parts = [halves[k * N * row.lanes:(k + 1) * N * row.lanes] for k in range(srcs)]
    while len(parts) < 3:
        parts.append(parts[0])
    want = HALF_OPS[row.op](*parts).astype(np.float16)
    np.testing.assert_array_equal(out.view(np.float16), want)


@pytest.mark.parametrize("row", [r for r in T.ROWS if r.kind == "int_convert"],
                         ids=lambda r: r.mnemonic)
def test_int_convert_row(row: T.PtxRow) -> None:
    src_bits = 64 if row.op == "trunc" else 32
    s_letter, s_ty, s_np = REG[src_bits]
    d_letter, d_ty, d_np = REG[row.bits]
    body = (f"  %s = getelementptr {s_ty}, ptr addrspace(1) %in, i64 %t\n"
            f"  %v = load {s_ty}, ptr addrspace(1) %s\n"
            f"  %r = call {d_ty} asm \"{row.mnemonic} $0, $1;\", \"={d_letter},{s_letter}\""
            f"({s_ty} %v)\n"
            f"  %o = getelementptr {d_ty}, ptr addrspace(1) %out, i64 %t\n"
            f"  store {d_ty} %r, ptr addrspace(1) %o\n")
    inp = RNG.integers(0, 2 ** min(src_bits, 62), N, dtype=np.uint64).astype(s_np)
    out = np.zeros(N, d_np)
    _run(body, inp, out, np.ones(N, np.uint8))
    if row.op == "zext":
        want = inp.astype(np.uint64)
    elif row.op == "sext":
        want = inp.view(np.int32).astype(np.int64).view(np.uint64)
    else:
        want = inp.astype(np.uint32)
    np.testing.assert_array_equal(out, want)


def test_named_registers_and_scope_braces() -> None:
    stmts = parse_ptx("{\n\t .reg .u32 start;\n\t mov.u32 start, $1;\n\t mov.u32 $0, start;\n\t}")
    assert [s.mnemonic for s in stmts] == ["mov.u32", "mov.u32"]
    assert stmts[0].operands[0] == stmts[1].operands[1]


@pytest.mark.parametrize("trans", [False, True], ids=["plain", "trans"])
@pytest.mark.parametrize("count", [1, 2, 4])
def test_ldmatrix(count: int, trans: bool) -> None:
    """Lane l gives the address of row R(l) of a 64 x 8 half table in shared memory."""
    name = f"llvm.nvvm.ldmatrix.sync.aligned.m8n8.x{count}{'.trans' if trans else ''}.b16.p3"
    ret = "i32" if count == 1 else "{ " + ", ".join(["i32"] * count) + " }"
    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "@sm = internal addrspace(3) global [512 x i16] undef, align 16\n"
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "declare void @llvm.nvvm.barrier0()\n"
            f"declare {ret} @{name}(ptr addrspace(3))\n"
            "define ptx_kernel void @k(ptr addrspace(1) %in, ptr addrspace(1) %out) {\n"
            "  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "  br label %fill\n"
            "fill:\n"
            "  %e = phi i32 [ 0, %0 ], [ %e1, %fill ]\n"
            "  %base = mul i32 %tid, 16\n  %idx = add i32 %base, %e\n"
            "  %src = getelementptr i16, ptr addrspace(1) %in, i32 %idx\n"
            "  %v = load i16, ptr addrspace(1) %src\n"
            "  %dst = getelementptr i16, ptr addrspace(3) @sm, i32 %idx\n"
            "  store i16 %v, ptr addrspace(3) %dst\n"
            "  %e1 = add i32 %e, 1\n  %more = icmp ult i32 %e1, 16\n"
            "  br i1 %more, label %fill, label %go\n"
            "go:\n  call void @llvm.nvvm.barrier0()\n"
            "  %r5 = mul i32 %tid, 5\n  %r53 = add i32 %r5, 3\n  %row = urem i32 %r53, 64\n"
            "  %rowoff = mul i32 %row, 8\n"
            "  %rowp = getelementptr i16, ptr addrspace(3) @sm, i32 %rowoff\n"
            f"  %m = call {ret} @{name}(ptr addrspace(3) %rowp)\n")
    for j in range(count):
        value = "%m" if count == 1 else f"%m{j}"
        if count > 1:
            text += f"  %m{j} = extractvalue {ret} %m, {j}\n"
        text += (f"  %o{j}a = mul i32 %tid, 4\n  %o{j}b = add i32 %o{j}a, {j}\n"
                 f"  %o{j} = getelementptr i32, ptr addrspace(1) %out, i32 %o{j}b\n"
                 f"  store i32 {value}, ptr addrspace(1) %o{j}\n")
    text += "  ret void\n}\n"
    table = np.arange(512, dtype=np.uint16) * 7 + 1
    out = np.zeros(32 * 4, np.uint32)
    lib = api.compile(text, "ldm.ll", emit="metallib").output
    run(lib, "k", (32,), (32,), {0: table.copy(), 1: out})
    rows = table.reshape(64, 8)

    def matrix(j: int) -> np.ndarray:
        return np.stack([rows[((8 * j + r) * 5 + 3) % 64] for r in range(8)])

    for lane in range(32):
        for j in range(count):
            m = matrix(j).T if trans else matrix(j)
            lo, hi = m[lane // 4, 2 * (lane % 4)], m[lane // 4, 2 * (lane % 4) + 1]
            assert out[lane * 4 + j] == int(lo) | (int(hi) << 16), (lane, j)


def test_new_header_rows() -> None:
    """cvt.rn.f16.s32, cvt.rn.f16x2.f32 (first source to the high half) and fma.rn.f32."""
    body = ("  %s = getelementptr float, ptr addrspace(1) %in, i64 %t\n"
            "  %v = load float, ptr addrspace(1) %s\n"
            "  %a = call i16 asm \"cvt.rn.f16.s32 $0, $1;\", \"=h,r\"(i32 %tid)\n"
            "  %b = call i32 asm \"{ cvt.rn.f16x2.f32 $0, $2, $1; }\", \"=r,f,f\"(float %v, "
            "float 3.0)\n"
            "  %c = call float asm \"fma.rn.f32 $0, $1, $2, $3;\", \"=f,f,f,f\"(float %v, float %v,"
            " float 1.0)\n"
            "  %ci = bitcast float %c to i32\n  %az = zext i16 %a to i32\n"
            "  %o = mul i64 %t, 3\n"
            "  %p0 = getelementptr i32, ptr addrspace(1) %out, i64 %o\n"
            "  store i32 %az, ptr addrspace(1) %p0\n"
            "  %p1 = getelementptr i32, ptr addrspace(1) %p0, i64 1\n"
            "  store i32 %b, ptr addrspace(1) %p1\n"
            "  %p2 = getelementptr i32, ptr addrspace(1) %p0, i64 2\n"
            "  store i32 %ci, ptr addrspace(1) %p2\n")
    x = (RNG.standard_normal(N) * 5).astype(np.float32)
    out = np.zeros(3 * N, np.uint32)
    _run(body, x, out, np.ones(N, np.uint8))
    got = out.reshape(N, 3)
    np.testing.assert_array_equal(got[:, 0], np.arange(N).astype(np.float16).view(np.uint16))
    pair = np.stack([x.astype(np.float16), np.full(N, 3, np.float16)], axis=1).view(np.uint32)
    np.testing.assert_array_equal(got[:, 1], pair[:, 0])
    want = (x.astype(np.float64) * x + 1).astype(np.float32)
    np.testing.assert_array_equal(got[:, 2].view(np.float32), want)


def test_special_registers_read_through_nvvm_intrinsics() -> None:
    """``mov.u32 $0, %laneid`` (cooperative groups' thread_rank within a tile)."""
    import numpy as np

    import llvm_to_air

    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "define ptx_kernel void @k(ptr addrspace(1) %out) {\n"
            "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n  %i = zext i32 %t to i64\n"
            "  %q = getelementptr i32, ptr addrspace(1) %out, i64 %i\n"
            '  %lane = call i32 asm "mov.u32 $0, %laneid;", "=r"()\n'
            '  %tid = call i32 asm "mov.u32 $0, %tid.x;", "=r"()\n'
            "  %both = shl i32 %tid, 8\n  %v = or i32 %both, %lane\n"
            "  store i32 %v, ptr addrspace(1) %q\n  ret void\n}\n"
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n")
    out = np.zeros(64, np.int32)
    llvm_to_air.run(text, "k", 64, 64, {0: out})
    np.testing.assert_array_equal(out, (np.arange(64) << 8) | (np.arange(64) % 32))
