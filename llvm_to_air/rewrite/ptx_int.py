"""Builders of the inline-PTX integer rows (CUB's ``util_ptx.cuh`` helpers, hash and
bignum kernels, the carry chains of CUDA's math headers), one per row kind.

Each builder emits what the PTX ISA 8.x defines ("Integer Arithmetic Instructions",
"Extended-Precision Integer Arithmetic Instructions", "Logic and Shift Instructions") on
registers of the row's width. Where LLVM's instruction is poison or undefined for operands
PTX defines (shift amounts >= the width, bit positions past the msb, division by zero), the
operand is clamped or replaced first, so no lowered statement can be folded into UB:

- ``int_add``: ``add``/``sub``, ``.sat.s32`` (``llvm.s{add,sub}.sat``), and the carry forms
  ``add.cc``/``addc[.cc]``/``sub.cc``/``subc[.cc]``. CC.CF is an ``i1`` register of the
  emitter (``CARRY_FLAG``) that lives across the statements of one asm block and is clear
  at its start; add writes the carry-out, sub the borrow-out (``subc``: ``d = a - (b +
  CC.CF)``, borrow-out to CC.CF, as the ISA words it).
- ``int_mul``: ``mul``/``mad`` ``.lo``/``.hi``/``.wide``, ``mad.hi.sat.s32`` and
  ``mad[c].{lo,hi}[.cc]`` (the carry is that of the final addition). The high half of a
  64-bit product is built from 32-bit pieces: AIR has no i128.
- ``int_mul24``: ``mul24``/``mad24`` ``.lo``/``.hi``: the 48-bit product of the low 24 bits
  (sign-extended for ``.s32``); ``.hi`` is bits 47..16.
- ``int_binary``: ``min``/``max``/``div``/``rem``. Division by zero is undefined in PTX and
  immediate UB in LLVM: the divisor becomes 1 there and ``div`` gives all ones (what NVIDIA
  GPUs give for unsigned division), ``rem`` the dividend; ``MIN / -1`` gives MIN, rem 0.
- ``int_unary``: ``abs``/``neg`` (wrapping: ``abs(MIN) = MIN``), ``cnot`` (1 for 0, else 0).
- ``int_shift``: ``shl``, ``shr.{b,u,s}``; the amount is a u32, and past the width ``shl``
  and ``shr.{b,u}`` give 0, ``shr.s`` the sign fill.
- ``bit_count``: ``popc``/``clz`` (u32 results), ``brev``; ``bfind[.shiftamt]``: the
  position of the most significant non-sign bit, 0xffffffff when there is none.
- ``bfe``/``bfi``: position and length are the low 8 bits of their operands.
- ``prmt``: the generic byte permute (4-bit selectors; bit 3 replicates the byte's sign)
  and the ``f4e``/``b4e``/``rc8``/``ecl``/``ecr``/``rc16`` modes (selector ``c & 3``).
- ``shf``: funnel shifts of ``{b, a}``, the amount clamped to 32 or taken mod 32.
- ``lop3``: the 8-bit truth table (an immediate) applied bit by bit, index ``4a + 2b + c``.
- ``dp4a``: the four-way byte dot product with a 32-bit accumulator (wrapping).
- ``int_compare``: ``setp.CMP.{b,u,s}NN`` into a predicate register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import BinaryOp, Cast, Compare, ConstantInt, Select, Value
from llvm_to_air.ir.types import I1, I32, IntType, Type
from llvm_to_air.rewrite.ptx_math import Builder, _call

if TYPE_CHECKING:
    from llvm_to_air.rewrite.ptx import Reg, Statement, _Emitter
    from llvm_to_air.rewrite.ptx_tables import PtxRow

CARRY_FLAG = -1_000  # the emitter's register of CC.CF (negative: never an operand number)
I64 = IntType(64)

# prmt modes: for selector c & 3, the source byte (of {b, a}) of result bytes 0..3
# (PTX ISA, prmt: the table of the f4e, b4e, rc8, ecl, ecr and rc16 modes).
PRMT_TABLE: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "f4e": ((0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 6)),
    "b4e": ((0, 7, 6, 5), (1, 0, 7, 6), (2, 1, 0, 7), (3, 2, 1, 0)),
    "rc8": ((0, 0, 0, 0), (1, 1, 1, 1), (2, 2, 2, 2), (3, 3, 3, 3)),
    "ecl": ((0, 1, 2, 3), (1, 1, 2, 3), (2, 2, 2, 3), (3, 3, 3, 3)),
    "ecr": ((0, 0, 0, 0), (0, 1, 1, 1), (0, 1, 2, 2), (0, 1, 2, 3)),
    "rc16": ((0, 1, 0, 1), (2, 3, 2, 3), (0, 1, 0, 1), (2, 3, 2, 3)),
}
_DIVISIONS = {("div", True): "sdiv", ("div", False): "udiv", ("rem", True): "srem",
              ("rem", False): "urem"}


def _int(ty: Type, value: int) -> ConstantInt:
    """``value`` as a constant of ``ty``, spelled in the signed range LLVM prints."""
    bits = ty.bits  # type: ignore[attr-defined]
    value &= (1 << bits) - 1
    return ConstantInt(ty, value - (1 << bits) if value >> (bits - 1) else value)


@dataclass
class IntCode:
    """Short spellings of integer instructions, emitted into ``em`` (anything with an
    ``add(inst)`` that places and names an instruction: the PTX engine's emitter, or
    ``rewrite/f64_exact.py``'s inserter)."""

    em: _Emitter

    def op(self, opcode: str, a: Value | int, b: Value | int) -> Value:
        ty = a.ty if isinstance(a, Value) else b.ty  # type: ignore[union-attr]
        ops = [x if isinstance(x, Value) else _int(ty, x) for x in (a, b)]
        return self.em.add(BinaryOp(ty, opcode=opcode, ops=ops))

    def icmp(self, predicate: str, a: Value, b: Value | int) -> Value:
        other = b if isinstance(b, Value) else _int(a.ty, b)
        return self.em.add(Compare(I1, opcode="icmp", predicate=predicate, ops=[a, other]))

    def select(self, cond: Value, a: Value | int, b: Value | int) -> Value:
        ty = a.ty if isinstance(a, Value) else b.ty  # type: ignore[union-attr]
        ops = [x if isinstance(x, Value) else _int(ty, x) for x in (a, b)]
        return self.em.add(Select(ty, opcode="select", ops=[cond, *ops]))

    def resize(self, value: Value, ty: IntType, signed: bool = False) -> Value:
        """``value`` truncated or extended (by its sign when ``signed``) to ``ty``."""
        have = value.ty.bits  # type: ignore[attr-defined]
        if have == ty.bits:
            return value
        opcode = "trunc" if have > ty.bits else "sext" if signed else "zext"
        return self.em.add(Cast(ty, opcode=opcode, ops=[value]))

    def low_mask(self, count: Value, ty: IntType) -> Value:
        """Ones in the low ``count`` bits (an i32 in 0..width) of a ``ty`` value."""
        full = self.icmp("uge", count, ty.bits)
        shift = self.resize(self.select(full, 0, count), ty)
        return self.select(full, -1, self.op("sub", self.op("shl", 1, shift), 1))


def _values(em: _Emitter, stmt: Statement, types: list[IntType]) -> tuple[Reg, list[Value]]:
    """The destination register and the sources as values of ``types``; any other shape
    (a missing operand, a vector or an address) is an error quoting the statement."""
    from llvm_to_air.rewrite.ptx import Imm, PtxError, Reg

    dst, *srcs = stmt.operands
    if len(srcs) != len(types) or not isinstance(dst, Reg) or \
            not all(isinstance(s, Reg | Imm) for s in srcs):
        raise PtxError(f"'{stmt.text}' (expected a register and {len(types)} scalar operands)")
    return dst, [em.value(s, ty) for s, ty in zip(srcs, types, strict=True)]  # type: ignore


def _set(em: _Emitter, dst: Reg, value: Value) -> None:
    em.set(dst, em.coerce(value, em.types.get(dst.index, value.ty)))


def _add_carrying(ir: IntCode, op: str, a: Value, b: Value, row: PtxRow) -> Value:
    """``a op b [op CC.CF]``; with ``row.carry_out`` the carry (add) or borrow (sub) of the
    whole operation goes to CC.CF."""
    em = ir.em
    result = ir.op(op, a, b)
    out = (ir.icmp("ult", result, a) if op == "add" else ir.icmp("ult", a, b)) \
        if row.carry_out else None
    if row.carry_in:
        flag = em.regs.get(CARRY_FLAG, ConstantInt(I1, 0))
        carry = ir.resize(em.coerce(flag, I1), a.ty)  # type: ignore[arg-type]
        before, result = result, ir.op(op, result, carry)
        if out is not None:
            second = ir.icmp("ult", result, before) if op == "add" else \
                ir.icmp("ult", before, carry)
            out = ir.op("or", out, second)
    if out is not None:
        em.regs[CARRY_FLAG] = out
    return result


def build_int_add(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ty = IntType(row.bits)
    dst, (a, b) = _values(em, stmt, [ty, ty])
    if row.saturate:
        result = _call(em, f"llvm.s{row.op}.sat.i{row.bits}", ty, [a, b])
    else:
        result = _add_carrying(IntCode(em), row.op, a, b, row)
    _set(em, dst, result)


def _mul_hi(ir: IntCode, a: Value, b: Value, signed: bool) -> Value:
    """The high half of the double-width product of ``a`` and ``b``."""
    bits = a.ty.bits  # type: ignore[attr-defined]
    if bits <= 32:
        wide = IntType(2 * bits)
        product = ir.op("mul", ir.resize(a, wide, signed), ir.resize(b, wide, signed))
        return ir.resize(ir.op("lshr", product, bits), IntType(bits))
    low = 0xFFFFFFFF  # 64 x 64: four exact 32 x 32 -> 64 products, summed with carries
    a_lo, a_hi, b_lo, b_hi = (ir.op("and", a, low), ir.op("lshr", a, 32),
                              ir.op("and", b, low), ir.op("lshr", b, 32))
    ll, lh = ir.op("mul", a_lo, b_lo), ir.op("mul", a_lo, b_hi)
    hl, hh = ir.op("mul", a_hi, b_lo), ir.op("mul", a_hi, b_hi)
    middle = ir.op("add", ir.op("add", ir.op("lshr", ll, 32), ir.op("and", lh, low)),
                   ir.op("and", hl, low))
    high = ir.op("add", ir.op("add", hh, ir.op("lshr", lh, 32)), ir.op("lshr", hl, 32))
    high = ir.op("add", high, ir.op("lshr", middle, 32))
    if signed:  # hi_s(a, b) = hi_u(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0), mod 2^64
        high = ir.op("sub", high, ir.select(ir.icmp("slt", a, 0), b, 0))
        high = ir.op("sub", high, ir.select(ir.icmp("slt", b, 0), a, 0))
    return high


def build_int_mul(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    part_ty = IntType(2 * row.bits) if row.to == "wide" else ty
    types = [ty, ty] + ([part_ty] if row.op == "mad" else [])
    dst, (a, b, *addend) = _values(em, stmt, types)
    if row.to == "wide":
        part = ir.op("mul", ir.resize(a, part_ty, row.signed), ir.resize(b, part_ty, row.signed))
    elif row.to == "lo":
        part = ir.op("mul", a, b)
    else:
        part = _mul_hi(ir, a, b, row.signed)
    if row.op == "mad" and row.saturate:
        part = _call(em, f"llvm.sadd.sat.i{row.bits}", ty, [part, addend[0]])
    elif row.op == "mad":
        part = _add_carrying(ir, "add", part, addend[0], row)
    _set(em, dst, part)


def build_int_mul24(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    dst, (a, b, *addend) = _values(em, stmt, [I32] * (3 if row.op == "mad" else 2))

    def low24(x: Value) -> Value:
        field = ir.op("ashr", ir.op("shl", x, 8), 8) if row.signed else ir.op("and", x, 0xFFFFFF)
        return ir.resize(field, I64, row.signed)

    product = ir.op("mul", low24(a), low24(b))
    part = ir.resize(product if row.to == "lo" else ir.op("lshr", product, 16), I32)
    if addend:
        part = ir.op("add", part, addend[0])
    _set(em, dst, part)


def build_int_binary(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a, b) = _values(em, stmt, [ty, ty])
    if row.op in ("min", "max"):
        predicate = ("s" if row.signed else "u") + ("lt" if row.op == "min" else "gt")
        _set(em, dst, ir.select(ir.icmp(predicate, a, b), a, b))
        return
    zero = ir.icmp("eq", b, 0)
    unsafe = zero
    if row.signed:  # MIN / -1 overflows: dividing by 1 gives the PTX result (MIN, rem 0)
        overflow = ir.op("and", ir.icmp("eq", a, 1 << (row.bits - 1)), ir.icmp("eq", b, -1))
        unsafe = ir.op("or", zero, overflow)
    quotient = ir.op(_DIVISIONS[row.op, row.signed], a, ir.select(unsafe, 1, b))
    _set(em, dst, ir.select(zero, -1 if row.op == "div" else a, quotient))


def build_int_unary(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a,) = _values(em, stmt, [ty])
    if row.op == "cnot":
        result = ir.resize(ir.icmp("eq", a, 0), ty)
    else:
        negated = ir.op("sub", 0, a)
        result = negated if row.op == "neg" else ir.select(ir.icmp("slt", a, 0), negated, a)
    _set(em, dst, result)


def build_int_shift(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a, amount) = _values(em, stmt, [ty, I32])
    past = ir.icmp("uge", amount, row.bits)
    clamped = ir.resize(ir.select(past, row.bits - 1, amount), ty)
    shifted = ir.op(row.op, a, clamped)
    _set(em, dst, shifted if row.op == "ashr" else ir.select(past, 0, shifted))


def build_bit_count(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ty = IntType(row.bits)
    dst, (a,) = _values(em, stmt, [ty])
    args = [a, ConstantInt(I1, 0)] if row.op == "ctlz" else [a]  # ctlz(0) is the width
    result = _call(em, f"llvm.{row.op}.i{row.bits}", ty, args)
    _set(em, dst, result if row.op == "bitreverse" else IntCode(em).resize(result, I32))


def build_bfind(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a,) = _values(em, stmt, [ty])
    if row.signed:  # the most significant 0 of a negative value: its complement's 1
        a = ir.select(ir.icmp("slt", a, 0), ir.op("xor", a, -1), a)
    zeros = ir.resize(_call(em, f"llvm.ctlz.i{row.bits}", ty, [a, ConstantInt(I1, 0)]), I32)
    if row.op == "shiftamt":
        result = ir.select(ir.icmp("eq", a, 0), -1, zeros)
    else:
        result = ir.op("sub", row.bits - 1, zeros)  # no bit: width - 1 - width = 0xffffffff
    _set(em, dst, result)


def _field(ir: IntCode, position: Value, length: Value, bits: int) -> tuple[Value, Value]:
    """Of ``pos = position & 0xff``, ``len = length & 0xff``: ``pos`` clamped to 0 past the
    msb (shifting by it is then harmless), and the number of field bits that lie inside
    the register, ``min(len, bits - pos)`` (0 past the msb); both i32."""
    pos, count = ir.op("and", position, 0xFF), ir.op("and", length, 0xFF)
    past = ir.icmp("uge", pos, bits)
    room = ir.op("sub", bits, ir.select(past, bits, pos))
    return ir.select(past, 0, pos), ir.select(ir.icmp("ult", count, room), count, room)


def build_bfe(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a, position, length) = _values(em, stmt, [ty, I32, I32])
    pos, inside = _field(ir, position, length, row.bits)
    keep = ir.low_mask(inside, ty)
    result = ir.op("and", ir.op("lshr", a, ir.resize(pos, ty)), keep)
    if row.signed:  # the bits past the field are a[min(pos + len - 1, msb)] (0 if len = 0)
        count = ir.op("and", length, 0xFF)
        last = ir.op("sub", ir.op("add", ir.op("and", position, 0xFF), count), 1)
        top = ir.select(ir.icmp("ugt", last, row.bits - 1), row.bits - 1, last)
        sign = ir.op("and", ir.op("lshr", a, ir.resize(top, ty)), 1)
        fill = ir.op("sub", 0, ir.select(ir.icmp("eq", count, 0), 0, sign))
        result = ir.op("or", result, ir.op("and", fill, ir.op("xor", keep, -1)))
    _set(em, dst, result)


def build_bfi(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    ty = IntType(row.bits)
    dst, (a, b, position, length) = _values(em, stmt, [ty, ty, I32, I32])
    pos, inside = _field(ir, position, length, row.bits)
    shift = ir.resize(pos, ty)
    mask = ir.op("shl", ir.low_mask(inside, ty), shift)
    inserted = ir.op("and", ir.op("shl", a, shift), mask)
    _set(em, dst, ir.op("or", ir.op("and", b, ir.op("xor", mask, -1)), inserted))


def build_prmt(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    dst, (a, b, control) = _values(em, stmt, [I32, I32, I32])
    source = ir.op("or", ir.op("shl", ir.resize(b, I64), 32), ir.resize(a, I64))
    selector = ir.op("and", control, 3)
    result: Value = _int(I32, 0)
    for k in range(4):
        if row.op:  # a mode: the table's byte for selector c & 3
            choices = [entry[k] for entry in PRMT_TABLE[row.op]]
            index: Value = _int(I32, choices[0])
            if len(set(choices)) > 1:
                for sel in (1, 2, 3):
                    index = ir.select(ir.icmp("eq", selector, sel), choices[sel], index)
        else:
            nibble = ir.op("and", ir.op("lshr", control, 4 * k), 0xF)
            index = ir.op("and", nibble, 7)
        shift = ir.resize(ir.op("shl", index, 3), I64)
        byte = ir.op("and", ir.resize(ir.op("lshr", source, shift), I32), 0xFF)
        if not row.op:  # selector bit 3: the byte's sign bit replicated over the byte
            sign = ir.op("and", ir.op("ashr", ir.op("shl", byte, 24), 31), 0xFF)
            byte = ir.select(ir.icmp("ne", ir.op("and", nibble, 8), 0), sign, byte)
        result = ir.op("or", result, ir.op("shl", byte, 8 * k) if k else byte)
    _set(em, dst, result)


def build_shf(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    ir = IntCode(em)
    dst, (a, b, amount) = _values(em, stmt, [I32, I32, I32])
    if row.to == "clamp":
        count = ir.select(ir.icmp("ugt", amount, 32), 32, amount)
    else:
        count = ir.op("and", amount, 31)
    pair = ir.op("or", ir.op("shl", ir.resize(b, I64), 32), ir.resize(a, I64))
    shift = ir.resize(count, I64)
    moved = ir.op("lshr", ir.op("shl", pair, shift), 32) if row.op == "l" else \
        ir.op("lshr", pair, shift)
    _set(em, dst, ir.resize(moved, I32))


def build_lop3(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    from llvm_to_air.rewrite.ptx import Imm, PtxError, Reg

    ir = IntCode(em)
    *_, table_operand = stmt.operands
    table = table_operand.value if isinstance(table_operand, Imm) else \
        em.regs.get(table_operand.index) if isinstance(table_operand, Reg) else None
    if isinstance(table, ConstantInt):
        table = table.value
    if not isinstance(table, int):
        raise PtxError(f"'{stmt.text}' (the truth table must be an immediate)")
    dst, (a, b, c, _) = _values(em, stmt, [I32, I32, I32, I32])
    inverted: dict[int, Value] = {}

    def literal(k: int, value: Value, positive: bool) -> Value:
        if positive:
            return value
        if k not in inverted:
            inverted[k] = ir.op("xor", value, -1)
        return inverted[k]

    result: Value = _int(I32, 0)
    for index in range(8):  # minterm index 4a + 2b + c (ta = 0xF0, tb = 0xCC, tc = 0xAA)
        if table >> index & 1:
            a_, b_, c_ = (literal(k, v, bool(index >> (2 - k) & 1))
                          for k, v in enumerate((a, b, c)))
            result = ir.op("or", result, ir.op("and", ir.op("and", a_, b_), c_))
    _set(em, dst, result)


def build_dp4a(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    """``dp4a.atype.btype d, a, b, c``: ``c`` plus the four products of the bytes of ``a``
    and ``b`` (each byte sign-extended when its type is .s32), wrapping in 32 bits."""
    ir = IntCode(em)
    dst, (a, b, total) = _values(em, stmt, [I32, I32, I32])

    def byte(word: Value, k: int, signed: bool) -> Value:
        if signed:
            return ir.op("ashr", ir.op("shl", word, 24 - 8 * k), 24)
        return ir.op("and", ir.op("lshr", word, 8 * k) if k else word, 0xFF)

    for k in range(4):
        product = ir.op("mul", byte(a, k, row.op == "s32"), byte(b, k, row.to == "s32"))
        total = ir.op("add", total, product)
    _set(em, dst, total)


def build_int_compare(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    """``setp.CMP.TYPE p, a, b``: the predicate register (i1) of an integer comparison."""
    ty = IntType(row.bits)
    dst, (a, b) = _values(em, stmt, [ty, ty])
    em.set(dst, IntCode(em).icmp(row.op, a, b))


INT_BUILDERS: dict[str, Builder] = {
    "int_add": build_int_add, "int_mul": build_int_mul, "int_mul24": build_int_mul24,
    "int_binary": build_int_binary, "int_unary": build_int_unary,
    "int_shift": build_int_shift, "bit_count": build_bit_count, "bfind": build_bfind,
    "bfe": build_bfe, "bfi": build_bfi, "prmt": build_prmt, "shf": build_shf,
    "lop3": build_lop3, "dp4a": build_dp4a, "int_compare": build_int_compare,
}
