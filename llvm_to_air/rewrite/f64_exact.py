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
from typing import TYPE_CHECKING

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
    ConstantFP,
    ConstantInt,
    Function,
    Instruction,
    Module,
    Value,
)
from llvm_to_air.ir.types import F32, F64, I1, I32, I64
from llvm_to_air.rewrite.context import LoweringContext

if TYPE_CHECKING:
    from llvm_to_air.rewrite.ptx_int import IntCode

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


class _Inserter:
    """Places instructions before ``anchor``, named ``f64x.N`` (``IntCode``'s ``em``)."""

    def __init__(self, module: Module, anchor: Instruction, names: NameSource) -> None:
        self.module, self.anchor, self.names = module, anchor, names

    def add(self, inst: Instruction) -> Value:
        inst.name = self.names("f64x")
        insert_before(self.anchor, inst)
        return inst


def _leading_zeros(code: IntCode, value: Value) -> Value:
    inserter = code.em
    ctlz = declare_function(inserter.module, _CTLZ, I64, (I64, I1), ("nounwind",))
    return inserter.add(Call(I64, opcode="call", ops=[value, ConstantInt(I1, value=0), ctlz],
                             function_type=ctlz.function_type))


def _round_off(code: IntCode, kept: Value, dropped: Value, half: Value | int) -> Value:
    """``kept`` plus one when ``dropped`` (the bits below it) rounds up: above ``half``,
    or equal to it with ``kept`` odd."""
    above = code.icmp("ugt", dropped, half)
    tie = code.icmp("eq", dropped, half)
    odd = code.resize(kept, I1)
    up = code.op("or", above, code.op("and", tie, odd))
    return code.op("add", kept, code.resize(up, I64))


def _renormalized(code: IntCode, mantissa: Value, bits: int) -> tuple[Value, Value]:
    """A rounded ``mantissa`` that reached ``2^bits`` back to ``2^(bits-1)``, and the
    exponent's carry (0 or 1, i64)."""
    carry = code.resize(code.icmp("eq", mantissa, 1 << bits), I64)
    return code.op("lshr", mantissa, carry), carry


def _exact_float(code: IntCode, integer: Value, signed: bool, scale: _Scale) -> Value:
    """The float nearest to the double nearest to ``double(integer) * scale``."""
    # |integer| as an unsigned 64-bit value (INT64_MIN's is 2^63), and its sign
    negative: Value | int = 0
    magnitude = integer
    if signed:
        negative = code.icmp("slt", integer, 0)
        magnitude = code.select(negative, code.op("sub", 0, integer), integer)
    is_zero = code.icmp("eq", magnitude, 0)
    safe = code.select(is_zero, 1, magnitude)  # keeps the shifts below in range
    # 1. sitofp: normalize to bit 63, keep 53 bits, round
    zeros = _leading_zeros(code, safe)
    top = code.op("shl", safe, zeros)
    first, carry1 = _renormalized(
        code, _round_off(code, code.op("lshr", top, 11), code.op("and", top, 0x7FF), 0x400), 53)
    # 2. the 106-bit product of the mantissas, from 32-bit limbs, rounded to 53 bits
    m_hi, m_lo = code.op("lshr", first, 32), code.op("and", first, 0xFFFFFFFF)
    c_hi, c_lo = scale.mantissa >> 32, scale.mantissa & 0xFFFFFFFF
    low_low = code.op("mul", m_lo, c_lo)
    middle = code.op("add", code.op("add", code.op("mul", m_lo, c_hi), code.op("mul", m_hi, c_lo)),
                   code.op("lshr", low_low, 32))
    low = code.op("or", code.op("and", low_low, 0xFFFFFFFF), code.op("shl", middle, 32))
    high = code.op("add", code.op("mul", m_hi, c_hi), code.op("lshr", middle, 32))
    wide = code.op("and", code.op("lshr", high, 41), 1)  # the product reached 2^105
    shift = code.op("add", wide, 52)
    kept = code.op("or", code.op("shl", high, code.op("sub", 64, shift)),
                 code.op("lshr", low, shift))
    dropped = code.op("and", low, code.op("sub", code.op("shl", 1, shift), 1))
    half = code.op("shl", 1, code.op("sub", shift, 1))
    second, carry2 = _renormalized(code, _round_off(code, kept, dropped, half), 53)
    # 3. fptrunc: 53 bits to 24
    third, carry3 = _renormalized(
        code, _round_off(code, code.op("lshr", second, 29), code.op("and", second, (1 << 29) - 1),
                         1 << 28), 24)
    # value = third * 2^(11 - zeros + carry1 + scale.exponent + 52 + wide + carry2 + 29
    # + carry3); a float's biased exponent is that power + 23 + 127
    power = code.op("add", code.op("add", code.op("add", code.op("sub", carry1, zeros), wide),
                               code.op("add", carry2, carry3)),
                  11 + scale.exponent + 52 + 29 + 23 + 127)
    fields = code.op("or", code.op("shl", power, 23), code.op("and", third, (1 << 23) - 1))
    sign: Value | int = 1 if scale.negative else 0
    if signed:
        sign = code.op("xor", code.resize(negative, I64), sign)  # type: ignore[arg-type]
    signed_fields = code.op("or", fields, code.op("shl", sign, 31)) if isinstance(sign, Value) \
        else code.op("or", fields, sign << 31)
    zero_bits = (1 << 31) if scale.negative else 0  # +0.0 * C keeps C's sign
    bits = code.resize(code.select(is_zero, zero_bits, signed_fields), I32)
    return code.em.add(Cast(F32, opcode="bitcast", ops=[bits]))


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
    # loaded only here: the integer builder lives with the PTX translator, which most
    # compiles never load
    from llvm_to_air.rewrite.ptx_int import IntCode

    uses = users(fn)
    names = NameSource(fn)
    mapping: dict[Value, Value] = {}
    for fptrunc in truncations:
        found = _chain(fptrunc, uses)
        if found is None:
            continue
        product, converted, scale = found
        code = IntCode(_Inserter(module, fptrunc, names))  # type: ignore[arg-type]
        result = _exact_float(code, converted.ops[0], _CONVERSIONS[converted.opcode], scale)
        mapping[fptrunc] = result
        for dead in (fptrunc, product, converted):
            remove(dead)
    replace_all_uses(fn.instructions(), mapping)
