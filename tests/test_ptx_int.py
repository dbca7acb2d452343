"""Inline PTX integer rows (rewrite/ptx_int.py): each row, JIT-run on the CPU runner, against a
Python model written from the PTX ISA's pseudo-code, on edge values (0, 1, all ones, sign
bits, shift amounts and bit positions at and past the width, carries out of every word).
Rows that read CC.CF run after an ``add.cc`` that sets it from an input; rows that write it
are run a second time with ``addc.u32 $0, 0, 0`` reading it back."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air import api
from llvm_to_air.errors import CompileError
from llvm_to_air.rewrite import ptx_tables as T
from llvm_to_air.rewrite.ptx_int import INT_BUILDERS
from llvm_to_air.runner import run
from tests.test_ptx_math import N, _kernel, _run_sm

RNG = np.random.default_rng(31)
DTYPES = {16: np.uint16, 32: np.uint32, 64: np.uint64}


def _rows(*kinds: str) -> list[T.PtxRow]:
    return [r for r in T.ROWS if r.kind in kinds]


def _mask(bits: int) -> int:
    return (1 << bits) - 1


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def _edges(bits: int) -> list[int]:
    """Eight values: 0, 1, all ones, the sign bit, the largest positive, a pattern, random."""
    m, sign = _mask(bits), 1 << (bits - 1)
    return [0, 1, m, sign, sign - 1, 0x5555_5555_5555_5555 & m,
            *(int(x) & m for x in RNG.integers(0, 1 << 62, 2, dtype=np.int64) * 7)]


def _pick(values: list[int]) -> list[int]:
    """N values drawn from ``values``."""
    return [values[k] for k in RNG.integers(0, len(values), N)]


def _operands(widths: list[int]) -> list[list[int]]:
    """N lanes: every pair of edge values for the first two operands, the rest random edges."""
    first, second = zip(*product(_edges(widths[0]), _edges(widths[1])), strict=True)
    columns = [list(first), list(second)][:len(widths)]
    for bits in widths[2:]:
        columns.append(_pick(_edges(bits)))
    return columns


def _amounts() -> list[int]:
    """u32 shift amounts and bit positions: at, around and far past every width."""
    base = [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 0xFFFFFFFF, 0x108]
    return (base * (N // len(base) + 1))[:N]


def _run(asm: str, columns: list[list[int]], widths: list[int], dst: int) -> list[int]:
    inputs = [np.array(c, dtype=DTYPES[w]) for c, w in zip(columns, widths, strict=True)]
    return [int(x) for x in _run_sm(asm, inputs, dst, DTYPES[dst], 80)]


def _check(row: T.PtxRow, widths: list[int], dst: int, columns: list[list[int]],
           model: Callable[..., tuple[int, int]]) -> None:
    """Runs ``row`` on ``columns`` (plus a CC.CF input when it reads one) and compares its
    result, and the CC.CF it writes, with ``model(*operands, carry_in) -> (d, carry_out)``."""
    ops = ", ".join(f"${k + 1}" for k in range(len(widths)))
    if row.carry_in:
        flag = len(widths) + 1
        columns = [*columns, [k % 2 for k in range(N)]]
        widths = [*widths, 32]
        setup = f"add.cc.u32 cf, ${flag}, -1; "  # CC.CF = the flag input
    else:
        setup = ""
    flags = columns[-1] if row.carry_in else [0] * N
    want = [model(*lane, flag) for *lane, flag in zip(*columns[:len(ops.split(", "))], flags,
                                                      strict=True)]
    got = _run(f"{{ .reg .u32 cf; {setup}{row.mnemonic} $0, {ops}; }}", columns, widths, dst)
    assert got == [d & _mask(dst) for d, _ in want], row.mnemonic
    if row.carry_out:
        carried = _run(f"{{ .reg .u32 cf; .reg .b{dst} d; {setup}{row.mnemonic} d, {ops}; "
                       f"addc.u32 $0, 0, 0; }}", columns, widths, 32)
        assert carried == [c for _, c in want], f"{row.mnemonic} CC.CF"


# ------------------------------------------------------------------- arithmetic

def _add_model(row: T.PtxRow) -> Callable[..., tuple[int, int]]:
    bits = row.bits

    def model(a: int, b: int, cf: int) -> tuple[int, int]:
        cf = cf if row.carry_in else 0
        if row.saturate:
            total = _signed(a, bits) + (1 if row.op == "add" else -1) * _signed(b, bits)
            return max(-(1 << (bits - 1)), min(total, (1 << (bits - 1)) - 1)), 0
        if row.op == "add":
            total = a + b + cf
            return total, total >> bits
        return a - (b + cf), int(a < b + cf)  # subc: d = a - (b + CC.CF), borrow out

    return model


@pytest.mark.parametrize("row", _rows("int_add"), ids=lambda r: r.mnemonic)
def test_add_sub_row(row: T.PtxRow) -> None:
    _check(row, [row.bits] * 2, row.bits, _operands([row.bits] * 2), _add_model(row))


def _product(row: T.PtxRow, a: int, b: int) -> int:
    if row.signed:
        return _signed(a, row.bits) * _signed(b, row.bits)
    return a * b


def _mul_model(row: T.PtxRow) -> Callable[..., tuple[int, int]]:
    bits = row.bits
    width = 2 * bits if row.to == "wide" else bits

    def model(a: int, b: int, *rest: int) -> tuple[int, int]:
        t = _product(row, a, b)
        part = {"lo": t, "hi": t >> bits, "wide": t}[row.to] & _mask(width)
        if row.op == "mul":
            return part, 0
        c, cf = rest[0], rest[1] if row.carry_in else 0
        if row.saturate:  # mad.hi.sat.s32
            total = _signed(part, bits) + _signed(c, bits)
            return max(-(1 << 31), min(total, (1 << 31) - 1)), 0
        total = part + c + cf
        return total, total >> width

    return model


@pytest.mark.parametrize("row", _rows("int_mul"), ids=lambda r: r.mnemonic)
def test_mul_mad_row(row: T.PtxRow) -> None:
    width = 2 * row.bits if row.to == "wide" else row.bits
    widths = [row.bits, row.bits] + ([width] if row.op == "mad" else [])
    _check(row, widths, width, _operands(widths), _mul_model(row))


@pytest.mark.parametrize("row", _rows("int_mul24"), ids=lambda r: r.mnemonic)
def test_mul24_row(row: T.PtxRow) -> None:
    def low24(x: int) -> int:
        return _signed(x & 0xFFFFFF, 24) if row.signed else x & 0xFFFFFF

    def model(a: int, b: int, *rest: int) -> tuple[int, int]:
        t = low24(a) * low24(b)
        part = t if row.to == "lo" else t >> 16
        return part + (rest[0] if row.op == "mad" else 0), 0

    widths = [32] * (3 if row.op == "mad" else 2)
    _check(row, widths, 32, _operands(widths), model)


def _truncating_division(a: int, b: int) -> tuple[int, int]:
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return q, a - q * b


@pytest.mark.parametrize("row", _rows("int_binary"), ids=lambda r: r.mnemonic)
def test_min_max_div_rem_row(row: T.PtxRow) -> None:
    bits = row.bits

    def model(a: int, b: int, _cf: int) -> tuple[int, int]:
        x, y = (_signed(a, bits), _signed(b, bits)) if row.signed else (a, b)
        if row.op in ("min", "max"):
            return (min if row.op == "min" else max)(x, y), 0
        if y == 0:  # undefined in PTX: all ones / the dividend (see rewrite/ptx_int.py)
            return (-1 if row.op == "div" else a), 0
        q, r = _truncating_division(x, y)
        return (q if row.op == "div" else r), 0

    _check(row, [bits] * 2, bits, _operands([bits] * 2), model)


@pytest.mark.parametrize("row", _rows("int_unary"), ids=lambda r: r.mnemonic)
def test_abs_neg_cnot_row(row: T.PtxRow) -> None:
    bits = row.bits
    ops = {"abs": lambda a: abs(_signed(a, bits)), "neg": lambda a: -a,
           "cnot": lambda a: int(a == 0)}
    _check(row, [bits], bits, [_edges(bits) * (N // 8)],
           lambda a, _cf: (ops[row.op](a), 0))


# --------------------------------------------------------------- shifts and bits

@pytest.mark.parametrize("row", _rows("int_shift"), ids=lambda r: r.mnemonic)
def test_shift_row(row: T.PtxRow) -> None:
    bits = row.bits

    def model(a: int, n: int, _cf: int) -> tuple[int, int]:
        if row.op == "ashr":  # shr.s: past the width, every bit is the sign
            return _signed(a, bits) >> min(n, bits - 1), 0
        if n >= bits:
            return 0, 0
        return (a << n if row.op == "shl" else a >> n), 0

    values = _pick(_edges(bits))
    _check(row, [bits, 32], bits, [values, _amounts()], model)


@pytest.mark.parametrize("row", _rows("bit_count", "bfind"), ids=lambda r: r.mnemonic)
def test_bit_count_row(row: T.PtxRow) -> None:
    bits = row.bits

    def bfind(a: int) -> int:  # the ISA's loop
        if row.signed and a >> (bits - 1):
            a = ~a & _mask(bits)
        d = 0xFFFFFFFF
        for i in range(bits - 1, -1, -1):
            if a >> i & 1:
                d = i
                break
        return bits - 1 - d if row.op == "shiftamt" and d != 0xFFFFFFFF else d

    ops = {"ctpop": lambda a: bin(a).count("1"), "ctlz": lambda a: bits - a.bit_length(),
           "bitreverse": lambda a: int(f"{a:0{bits}b}"[::-1], 2)}
    single_bits = [1 << k for k in range(bits)] + [_mask(bits) >> k for k in range(bits)]
    values = (_edges(bits) + single_bits)[:N]
    dst = bits if row.op == "bitreverse" else 32
    model = ops.get(row.op, bfind)
    _check(row, [bits], dst, [values], lambda a, _cf: (model(a), 0))


def _bfe_model(bits: int, signed: bool) -> Callable[..., tuple[int, int]]:
    def model(a: int, b: int, c: int, _cf: int) -> tuple[int, int]:  # the ISA's loop
        msb, pos, length = bits - 1, b & 0xFF, c & 0xFF
        sbit = 0 if not signed or length == 0 else a >> min(pos + length - 1, msb) & 1
        d = 0
        for i in range(msb + 1):
            bit = a >> (pos + i) & 1 if i < length and pos + i <= msb else sbit
            d |= bit << i
        return d, 0

    return model


@pytest.mark.parametrize("row", _rows("bfe"), ids=lambda r: r.mnemonic)
def test_bfe_row(row: T.PtxRow) -> None:
    values = _pick(_edges(row.bits))
    lengths = list(reversed(_amounts()))
    _check(row, [row.bits, 32, 32], row.bits, [values, _amounts(), lengths],
           _bfe_model(row.bits, row.signed))


def _bfi_model(bits: int) -> Callable[..., tuple[int, int]]:
    def model(a: int, b: int, c: int, d: int, _cf: int) -> tuple[int, int]:  # the ISA's loop
        pos, length = c & 0xFF, d & 0xFF
        f = b
        i = 0
        while i < length and pos + i <= bits - 1:
            f = (f & ~(1 << (pos + i))) | ((a >> i & 1) << (pos + i))
            i += 1
        return f, 0

    return model


@pytest.mark.parametrize("row", _rows("bfi"), ids=lambda r: r.mnemonic)
def test_bfi_row(row: T.PtxRow) -> None:
    a, b = _operands([row.bits, row.bits])
    _check(row, [row.bits, row.bits, 32, 32], row.bits,
           [a, b, _amounts(), list(reversed(_amounts()))], _bfi_model(row.bits))


# prmt modes: the source byte of result byte k for selector s (PTX ISA's table, as formulas)
PRMT_MODELS: dict[str, Callable[[int, int], int]] = {
    "f4e": lambda s, k: s + k, "b4e": lambda s, k: (s - k) & 7, "rc8": lambda s, k: s,
    "ecl": lambda s, k: max(s, k), "ecr": lambda s, k: min(s, k),
    "rc16": lambda s, k: (s & 1) * 2 + (k & 1),
}


def _prmt_model(mode: str) -> Callable[..., tuple[int, int]]:
    def model(a: int, b: int, c: int, _cf: int) -> tuple[int, int]:
        source = b << 32 | a
        d = 0
        for k in range(4):
            if mode:
                byte = source >> (8 * PRMT_MODELS[mode](c & 3, k)) & 0xFF
            else:
                ctl = c >> (4 * k) & 0xF
                byte = source >> (8 * (ctl & 7)) & 0xFF
                if ctl & 8:
                    byte = 0xFF if byte & 0x80 else 0
            d |= byte << (8 * k)
        return d, 0

    return model


@pytest.mark.parametrize("row", _rows("prmt"), ids=lambda r: r.mnemonic)
def test_prmt_row(row: T.PtxRow) -> None:
    a = [int(x) for x in RNG.integers(0, 1 << 32, N)]
    b = [0x80FF7F01, 0x01020384, *(int(x) for x in RNG.integers(0, 1 << 32, N - 2))]
    controls = [0x3210, 0x7654, 0xFEDC, 0x89AB, 0, 1, 2, 3,
                *(int(x) for x in RNG.integers(0, 1 << 32, N - 8))]
    _check(row, [32, 32, 32], 32, [a, b, controls], _prmt_model(row.op))


@pytest.mark.parametrize("row", _rows("shf"), ids=lambda r: r.mnemonic)
def test_funnel_shift_row(row: T.PtxRow) -> None:
    def shl(x: int, n: int) -> int:  # PTX shifts of a u32: 0 once n reaches 32
        return x << n & _mask(32) if n < 32 else 0

    def shr(x: int, n: int) -> int:
        return x >> n if n < 32 else 0

    def model(a: int, b: int, c: int, _cf: int) -> tuple[int, int]:
        n = min(c, 32) if row.to == "clamp" else c & 0x1F
        return (shl(b, n) | shr(a, 32 - n) if row.op == "l" else shl(b, 32 - n) | shr(a, n)), 0

    a, b = _operands([32, 32])
    _check(row, [32, 32, 32], 32, [a, b, _amounts()], model)


@pytest.mark.parametrize("row", _rows("dp4a"), ids=lambda r: r.mnemonic)
def test_dp4a_row(row: T.PtxRow) -> None:
    def lanes(word: int, signed: bool) -> list[int]:
        return [_signed(word >> (8 * k) & 0xFF, 8) if signed else word >> (8 * k) & 0xFF
                for k in range(4)]

    def model(a: int, b: int, c: int, _cf: int) -> tuple[int, int]:
        pairs = zip(lanes(a, row.op == "s32"), lanes(b, row.to == "s32"), strict=True)
        return c + sum(x * y for x, y in pairs), 0

    bytes_ = [0, 1, 0x7F, 0x80, 0xFF, 0x01FF7F80, 0x80808080, 0xFFFFFFFF]
    a, b = (_pick(bytes_ + _edges(32)) for _ in range(2))
    _check(row, [32] * 3, 32, [a, b, _pick(_edges(32))], model)


ICMP = {"eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
        "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "ge": lambda x, y: x >= y}


@pytest.mark.parametrize("row", _rows("int_compare"), ids=lambda r: r.mnemonic)
def test_int_compare_row(row: T.PtxRow) -> None:
    """setp into a predicate, read back with selp; s: signed order, u/b and lo/ls/hi/hs:
    unsigned order."""
    bits = row.bits
    _, cmp, ty = row.mnemonic.split(".")
    signed = ty[0] == "s"
    test = ICMP[{"lo": "lt", "ls": "le", "hi": "gt", "hs": "ge"}.get(cmp, cmp)]
    asm = f"{{ .reg .pred p; {row.mnemonic} p, $1, $2; selp.u32 $0, 1, 0, p; }}"
    a, b = _operands([bits, bits])
    got = _run(asm, [a, b], [bits, bits], 32)
    order = (lambda v: _signed(v, bits)) if signed else (lambda v: v)
    assert got == [int(test(order(x), order(y))) for x, y in zip(a, b, strict=True)]


@pytest.mark.parametrize("table", [0x00, 0xFF, 0xF0, 0xCC, 0xAA, 0x96, 0xE8, 0xCA, 0x1E, 0x80])
def test_lop3_row(table: int) -> None:
    """xor3 (0x96), majority (0xE8), select (0xCA) and others: bit i of the result is bit
    (4a + 2b + c) of the table."""
    a, b = _operands([32, 32])
    c = [int(x) for x in RNG.integers(0, 1 << 32, N)]
    want = [sum((table >> (4 * (x >> i & 1) + 2 * (y >> i & 1) + (z >> i & 1)) & 1) << i
                for i in range(32)) for x, y, z in zip(a, b, c, strict=True)]
    got = _run(f"lop3.b32 $0, $1, $2, $3, {table:#x};", [a, b, c], [32] * 3, 32)
    assert got == want


def test_lop3_table_from_an_n_constraint() -> None:
    """CUDA code passes the table as an "n" operand: a constant argument of the call."""
    text = _kernel("lop3.b32 $0, $1, $2, $3, $4;", [32, 32, 32], 32).replace(
        '"=r,r,r,r"(i32 %v0, i32 %v1, i32 %v2)', '"=r,r,r,r,n"(i32 %v0, i32 %v1, i32 %v2, i32 150)')
    assert "i32 150" in text
    lib = api.compile(text, "lop3.ll", emit="metallib").output
    xs = [RNG.integers(0, 1 << 32, N, dtype=np.uint64).astype(np.uint32) for _ in range(3)]
    out = np.zeros(N, np.uint32)
    run(lib, "k", (N,), (N,), {0: xs[0], 1: xs[1], 2: xs[2], 3: out})
    np.testing.assert_array_equal(out, xs[0] ^ xs[1] ^ xs[2])


# ------------------------------------------------------------------ carry chains

def test_carry_chain_128_bit_add_and_sub() -> None:
    """add.cc/addc.cc/addc.cc/addc over four words, and the borrow chain of sub.cc/subc."""
    words = [_pick([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF])
             for _ in range(8)]
    words[0][:4] = [0xFFFFFFFF, 0, 1, 0]  # a carry that ripples through every word
    words[4][:4] = [1, 0, 0xFFFFFFFF, 0]
    for k in (1, 2, 3):
        words[k][0] = 0xFFFFFFFF
    for op, carry in (("add", "addc"), ("sub", "subc")):
        for word in range(4):
            chain = [f"{op if k == 0 else carry}{'.cc' if k < 3 else ''}.u32 r{k}, ${k + 1}, "
                     f"${k + 5};" for k in range(4)]
            asm = "{ .reg .u32 r0, r1, r2, r3; " + " ".join(chain) + f" mov.b32 $0, r{word}; }}"
            got = _run(asm, words, [32] * 8, 32)
            for lane in range(N):
                x = sum(words[k][lane] << (32 * k) for k in range(4))
                y = sum(words[k + 4][lane] << (32 * k) for k in range(4))
                total = (x + y if op == "add" else x - y) & _mask(128)
                assert got[lane] == total >> (32 * word) & _mask(32), (op, word, lane)


def test_carry_flag_survives_a_predicated_statement() -> None:
    """``@p add.cc`` runs in a block of its own: CC.CF after it is its carry where ``p`` holds
    and the earlier one elsewhere."""
    asm = "{ .reg .u32 t; add.cc.u32 t, $1, $2; @$3 add.cc.u32 t, 0, 0; addc.u32 $0, 0, 0; }"
    a, b = (np.array(c, np.uint32) for c in _operands([32, 32]))
    p = (np.arange(N) % 2).astype(np.uint8)
    got = _run_sm(asm, [a, b, p], 32, np.uint32, 80)
    want = [0 if f else (int(x) + int(y)) >> 32 for x, y, f in zip(a, b, p, strict=True)]
    assert [int(g) for g in got] == want and any(want)


def test_malformed_operands_are_a_located_error() -> None:
    text = _kernel("bfe.u32 $0, $1, 3;", [32], 32)
    with pytest.raises(CompileError, match=r"'bfe\.u32 \$0, \$1, 3' \(expected a register and "
                                           r"3 scalar operands\)") as info:
        api.compile(text, "u.ll", emit="ll")
    assert info.value.location is not None


def test_instruction_outside_the_table_is_a_located_error() -> None:
    text = _kernel("vabsdiff4.u32.u32.u32 $0, $1, $2, $3;", [32, 32, 32], 32)
    with pytest.raises(CompileError, match=r"'vabsdiff4\.u32\.u32\.u32 \$0, \$1, \$2, \$3' has "
                                           r"no translation") as info:
        api.compile(text, "u.ll", emit="ll")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "vabsdiff4" in t)
    assert info.value.location is not None and info.value.location.line == line


# ------------------------------------------------------- CUDA written with them

FIXTURES = Path(__file__).parent / "fixtures"
INT_PTX = ["cuda19-O0/int_ptx.ll", "cuda19-O2/int_ptx.ll", "cuda14-O2/int_ptx.ll"]


@pytest.mark.parametrize("rel", INT_PTX)
def test_cuda_integer_ptx_kernels(rel: str) -> None:
    """src/cuda/int_ptx.cu through clang: a 128-bit carry-chain add, the ISA's 64x64->128
    multiply from mad.lo.cc/madc.hi pieces (and mul.hi.u64), CUB-style bfe/bfi/prmt."""
    result = api.compile((FIXTURES / rel).read_text(), rel, emit="metallib")
    names = {k.name.split("_kernel")[0].lstrip("_Z0123456789"): k.name for k in result.kernels}
    lib, n = result.output, 256
    m32, m64 = _mask(32), _mask(64)
    words = [_pick([0, 1, m32, 1 << 31, m32 - 1]) for _ in range(2)]  # carries everywhere
    a = np.array([[w] + [int(x) for x in RNG.integers(0, 1 << 32, 3)] for w in words[0] * 4])
    b = np.array([[w] * 2 + [int(x) for x in RNG.integers(0, 1 << 32, 2)]
                  for w in words[1] * 4])
    a, b = a[:n].astype(np.uint32), b[:n].astype(np.uint32)
    out = np.zeros((n, 4), np.uint32)
    run(lib, names["add128"], n, 64, {0: a, 1: b, 2: out, 3: np.int32(n)})
    for lane in range(n):
        x, y, got = (sum(int(v[lane, k]) << (32 * k) for k in range(4)) for v in (a, b, out))
        assert got == (x + y) & _mask(128), lane

    wide = np.array(_pick([0, 1, m64, 1 << 63, m32, m32 << 32]) * 4, np.uint64)
    other = RNG.integers(0, 1 << 63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    other[:64] = np.array(_pick([0, 1, m64, 1 << 63, m32, m32 << 32]), np.uint64)
    high = np.zeros(n, np.uint64)
    run(lib, names["mul64"], n, 64, {0: wide, 1: other, 2: out, 3: high, 4: np.int32(n)})
    for lane in range(n):
        p = int(wide[lane]) * int(other[lane])
        assert sum(int(out[lane, k]) << (32 * k) for k in range(4)) == p, lane
        assert int(high[lane]) == p >> 64, lane

    x, y, s = (RNG.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32) for _ in range(3))
    x[:4] = [0, m32, 1 << 31, 0x7FFFFFFF]
    bits = np.zeros((n, 8), np.uint32)
    run(lib, names["bits"], n, 64, {0: x, 1: y, 2: s, 3: bits, 4: np.int32(n)})
    bfe, bfi, prmt = _bfe_model(32, False), _bfi_model(32), _prmt_model("")
    for lane in range(n):
        xi, yi, si = int(x[lane]), int(y[lane]), int(s[lane])
        start, length = si & 31, si >> 5 & 31
        rot = si & 31
        # CUB's BFI(ret, x, y, ...) inserts the low bits of y into x
        want = [bfe(xi, start, length, 0)[0], bfi(yi, xi, start, length, 0)[0],
                ((xi << (si & 31)) + yi) & m32, prmt(xi, yi, si, 0)[0], xi ^ yi ^ si,
                ((xi << rot) | (xi >> (32 - rot))) & m32,
                (xi ^ m32 if xi >> 31 else xi).bit_length() - 1 & m32, (xi & 0xFF) * 3]
        assert [int(v) for v in bits[lane]] == want, lane


# --------------------------------------------------------------------- oracles

def _shape(row: T.PtxRow) -> tuple[list[int], int]:
    """Operand widths and result width of a row (CC.CF rows read the flag as it starts)."""
    b = row.bits
    wide = 2 * b if row.to == "wide" else b
    shapes = {"int_add": ([b, b], b), "int_mul": ([b, b] + [wide] * (row.op == "mad"), wide),
              "int_mul24": ([32] * (2 + (row.op == "mad")), 32), "int_binary": ([b, b], b),
              "int_unary": ([b], b), "int_shift": ([b, 32], b),
              "bit_count": ([b], b if row.op == "bitreverse" else 32), "bfind": ([b], 32),
              "bfe": ([b, 32, 32], b), "bfi": ([b, b, 32, 32], b), "prmt": ([32] * 3, 32),
              "shf": ([32] * 3, 32), "dp4a": ([32] * 3, 32)}
    return shapes[row.kind]


def test_every_integer_row_lowers_to_ir_llvm14_accepts() -> None:
    """One kernel per row in one module: the lowered AIR passes llvm-as-14 and the verifier
    (no i128, no shift or division that LLVM could treat as poison is left unguarded)."""
    from tests.oracles import llvm_as_14, opt_verify_14

    rows = [r for r in T.ROWS if r.kind in INT_BUILDERS and r.kind not in ("lop3", "int_compare")]
    parts = []
    for k, row in enumerate(rows):
        widths, dst = _shape(row)
        ops = ", ".join(f"${j}" for j in range(len(widths) + 1))
        text = _kernel(f"{row.mnemonic} {ops};", widths, dst).replace("@k(", f"@k{k}(")
        if k:  # one copy of the declarations and attributes
            text = "\n".join(line for line in text.splitlines()
                             if not line.startswith(("target", "declare", "attributes")))
        parts.append(text)
    air = api.compile("\n".join(parts), "rows.ll", emit="ll").output
    assert air.count("define ") == len(rows) and "i128" not in air
    opt_verify_14(air)
    assert llvm_as_14(air)
