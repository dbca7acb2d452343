"""The one double computation of libdevice's float trigonometry, done exactly in integers.

libdevice's ``sinf``/``cosf``/``tanf``/``sincosf`` reduce a huge argument (Payne-Hanek)
to a 64-bit fixed-point fraction ``p`` and turn it into a float as
``fptrunc(sitofp(i64 p) to double) * C) to float`` with ``C`` = pi/2 * 2^-64. Inlined by
clang (CUDA with the real headers) or by Triton (``tl.sin``, ``tl.cos``, ``tl.randn``), that
chain is the only double in the kernel, and Apple GPUs have no double. Each such chain
becomes integer code that gives the same float bit for bit: the conversion rounded to 53
bits, the product of the two 53-bit mantissas (106 bits, from 32-bit limbs) rounded to
53 bits, then that rounded to 24 bits, each to nearest, ties to even, as the three
instructions round.

A chain qualifies when the conversion (``sitofp``/``uitofp`` from ``i64``) and the product
(``fmul``, either operand order, any flags: the exact result is always allowed) each have
this one use, and ``C`` is a normal double with 2^-126 <= |C| < 2^62: the converted
integer lies in [1, 2^64], so no step can overflow and every nonzero result is a normal
float.

Expects: kernels inlined; before ``legalize_types`` (which refuses, or demotes, every double
left). Guarantees: each qualifying chain is replaced by i64/i32 code ending in a float
``bitcast``; its three double instructions are gone.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llvm_to_air.ir.edit import (
    NameSource,
    declare_function,
    insert_before,
    remove,
    replace_all_uses,
    users,
)
from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantFP,
    ConstantInt,
    Function,
    Instruction,
    Module,
    Select,
    Value,
)
from llvm_to_air.ir.types import F32, F64, I1, I32, I64, IntType
from llvm_to_air.rewrite.context import LoweringContext

_CONVERSIONS = {"sitofp": True, "uitofp": False}  # opcode -> signed
_CTLZ = "llvm.ctlz.i64"


@dataclass(frozen=True)
class _Scale:
    """A double constant ``(-1)^negative * mantissa * 2^exponent``, mantissa of 53 bits."""

    negative: bool
    mantissa: int
    exponent: int


def _scale_of(value: Value) -> _Scale | None:
    """The constant's parts when it is a double in the range the rounding code assumes."""
    if not isinstance(value, ConstantFP) or value.ty != F64:
        return None
    text = value.text
    try:
        if text.startswith("0x") and len(text) == 18:
            bits = int(text[2:], 16)
        else:
            bits = struct.unpack("<Q", struct.pack("<d", float(text)))[0]
    except ValueError:
        return None
    biased = (bits >> 52) & 0x7FF
    if biased == 0 or biased == 0x7FF:  # zero, subnormal, infinity, NaN
        return None
    exponent = biased - 1075
    if not -126 <= exponent + 52 < 62:
        return None
    return _Scale(bool(bits >> 63), (bits & ((1 << 52) - 1)) | (1 << 52), exponent)


class _Emitter:
    """Integer instructions inserted before ``anchor``, named after ``stem``."""

    def __init__(self, module: Module, anchor: Instruction, names: NameSource) -> None:
        self.module, self.anchor, self.names = module, anchor, names

    def _add(self, inst: Instruction) -> Value:
        inst.name = self.names("f64x")
        insert_before(self.anchor, inst)
        return inst

    def op(self, opcode: str, a: Value, b: Value | int) -> Value:
        other = b if isinstance(b, Value) else _constant(a.ty, b)  # type: ignore[arg-type]
        return self._add(BinaryOp(a.ty, opcode=opcode, ops=[a, other]))

    def icmp(self, predicate: str, a: Value, b: Value | int) -> Value:
        other = b if isinstance(b, Value) else _constant(a.ty, b)  # type: ignore[arg-type]
        return self._add(Compare(I1, opcode="icmp", predicate=predicate, ops=[a, other]))

    def select(self, cond: Value, a: Value | int, b: Value | int) -> Value:
        ty = a.ty if isinstance(a, Value) else b.ty  # type: ignore[union-attr]
        ops = [x if isinstance(x, Value) else _constant(ty, x) for x in (a, b)]
        return self._add(Select(ty, opcode="select", ops=[cond, *ops]))

    def cast(self, opcode: str, value: Value, ty: IntType) -> Value:
        return self._add(Cast(ty, opcode=opcode, ops=[value]))

    def leading_zeros(self, value: Value) -> Value:
        ctlz = declare_function(self.module, _CTLZ, I64, (I64, I1), ("nounwind",))
        return self._add(Call(I64, opcode="call", ops=[value, ConstantInt(I1, value=0), ctlz],
                              function_type=ctlz.function_type))

    def round_off(self, kept: Value, dropped: Value, half: Value | int) -> Value:
        """``kept`` plus one when ``dropped`` (the bits below it) rounds up: above ``half``,
        or equal to it with ``kept`` odd."""
        above = self.icmp("ugt", dropped, half)
        tie = self.icmp("eq", dropped, half)
        odd = self.cast("trunc", kept, I1)
        up = self.op("or", above, self.op("and", tie, odd))
        return self.op("add", kept, self.cast("zext", up, I64))


def _constant(ty: IntType, value: int) -> ConstantInt:
    value &= (1 << ty.bits) - 1
    return ConstantInt(ty, value=value - (1 << ty.bits) if value >> (ty.bits - 1) else value)


def _renormalized(em: _Emitter, mantissa: Value, bits: int) -> tuple[Value, Value]:
    """A rounded ``mantissa`` that reached ``2^bits`` back to ``2^(bits-1)``, and the
    exponent's carry (0 or 1, i64)."""
    carry = em.cast("zext", em.icmp("eq", mantissa, 1 << bits), I64)
    return em.op("lshr", mantissa, carry), carry


def _exact_float(em: _Emitter, integer: Value, signed: bool, scale: _Scale) -> Value:
    """The float nearest to the double nearest to ``double(integer) * scale``."""
    # |integer| as an unsigned 64-bit value (INT64_MIN's is 2^63), and its sign
    negative: Value | int = 0
    magnitude = integer
    if signed:
        negative = em.icmp("slt", integer, 0)
        magnitude = em.select(negative, em.op("sub", _constant(I64, 0), integer), integer)
    is_zero = em.icmp("eq", magnitude, 0)
    safe = em.select(is_zero, 1, magnitude)  # keeps the shifts below in range
    # 1. sitofp: normalize to bit 63, keep 53 bits, round
    zeros = em.leading_zeros(safe)
    top = em.op("shl", safe, zeros)
    first, carry1 = _renormalized(
        em, em.round_off(em.op("lshr", top, 11), em.op("and", top, 0x7FF), 0x400), 53)
    # 2. the 106-bit product of the mantissas, from 32-bit limbs, rounded to 53 bits
    m_hi, m_lo = em.op("lshr", first, 32), em.op("and", first, 0xFFFFFFFF)
    c_hi, c_lo = scale.mantissa >> 32, scale.mantissa & 0xFFFFFFFF
    low_low = em.op("mul", m_lo, c_lo)
    middle = em.op("add", em.op("add", em.op("mul", m_lo, c_hi), em.op("mul", m_hi, c_lo)),
                   em.op("lshr", low_low, 32))
    low = em.op("or", em.op("and", low_low, 0xFFFFFFFF), em.op("shl", middle, 32))
    high = em.op("add", em.op("mul", m_hi, c_hi), em.op("lshr", middle, 32))
    wide = em.op("and", em.op("lshr", high, 41), 1)  # the product reached 2^105
    shift = em.op("add", wide, 52)
    kept = em.op("or", em.op("shl", high, em.op("sub", _constant(I64, 64), shift)),
                 em.op("lshr", low, shift))
    dropped = em.op("and", low, em.op("sub", em.op("shl", _constant(I64, 1), shift), 1))
    half = em.op("shl", _constant(I64, 1), em.op("sub", shift, 1))
    second, carry2 = _renormalized(em, em.round_off(kept, dropped, half), 53)
    # 3. fptrunc: 53 bits to 24
    third, carry3 = _renormalized(
        em, em.round_off(em.op("lshr", second, 29), em.op("and", second, (1 << 29) - 1),
                         1 << 28), 24)
    # value = third * 2^(11 - zeros + carry1 + scale.exponent + 52 + wide + carry2 + 29
    # + carry3); a float's biased exponent is that power + 23 + 127
    power = em.op("add", em.op("add", em.op("add", em.op("sub", carry1, zeros), wide),
                               em.op("add", carry2, carry3)),
                  11 + scale.exponent + 52 + 29 + 23 + 127)
    fields = em.op("or", em.op("shl", power, 23), em.op("and", third, (1 << 23) - 1))
    sign: Value | int = 1 if scale.negative else 0
    if signed:
        sign = em.op("xor", em.cast("zext", negative, I64), sign)  # type: ignore[arg-type]
    signed_fields = em.op("or", fields, em.op("shl", sign, 31)) if isinstance(sign, Value) \
        else em.op("or", fields, sign << 31)
    zero_bits = (1 << 31) if scale.negative else 0  # +0.0 * C keeps C's sign
    bits = em.cast("trunc", em.select(is_zero, zero_bits, signed_fields), I32)
    return em._add(Cast(F32, opcode="bitcast", ops=[bits]))


def _chain(fptrunc: Instruction, uses: dict[Value, list[tuple[Instruction, int]]]
           ) -> tuple[Instruction, Instruction, _Scale] | None:
    """``(fmul, conversion, C)`` when ``fptrunc`` ends a qualifying chain."""
    if fptrunc.ty != F32 or not isinstance(fptrunc.ops[0], BinaryOp):
        return None
    product = fptrunc.ops[0]
    if product.opcode != "fmul" or product.ty != F64 or len(uses.get(product, ())) != 1:
        return None
    for converted, constant in ((product.ops[0], product.ops[1]),
                                (product.ops[1], product.ops[0])):
        scale = _scale_of(constant)
        if (scale is not None and isinstance(converted, Cast)
                and converted.opcode in _CONVERSIONS and converted.ops[0].ty == I64
                and len(uses.get(converted, ())) == 1):
            return product, converted, scale
    return None


def lower_exact_f64_products(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        _lower_function(module, kernel.function)


def _lower_function(module: Module, fn: Function) -> None:
    truncations = [inst for inst in fn.instructions()
                   if isinstance(inst, Cast) and inst.opcode == "fptrunc"
                   and inst.ops[0].ty == F64]
    if not truncations:
        return
    uses = users(fn)
    names = NameSource(fn)
    mapping: dict[Value, Value] = {}
    for fptrunc in truncations:
        found = _chain(fptrunc, uses)
        if found is None:
            continue
        product, converted, scale = found
        em = _Emitter(module, fptrunc, names)
        result = _exact_float(em, converted.ops[0], _CONVERSIONS[converted.opcode], scale)
        mapping[fptrunc] = result
        for dead in (fptrunc, product, converted):
            remove(dead)
    replace_all_uses(fn.instructions(), mapping)
