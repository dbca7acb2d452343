"""OpenCL C 3.0 integer dot products (``cl_khr_integer_dot_product``), emulated exactly.

``dot(a, b)`` of ``(u)char4`` vectors, ``dot_acc_sat(a, b, acc)``, and the packed forms
``dot_4x8packed_{uu_uint,ss_int,us_int,su_int}`` / ``dot_acc_sat_4x8packed_*`` (four 8-bit
lanes in one 32-bit integer, lane 0 in the least significant byte). AIR has no integer dot;
each lane is widened to 32 bits (sign- or zero-extended as its operand's signedness says),
multiplied and summed — exact, since |sum| <= 4 * 255 * 255 fits — and the accumulating
forms add with saturation (``air.add_sat``) in the result's signedness.

Expects: a demangled OpenCL call (name and parameter signedness from ``demangle``).
Guarantees: integer dots become plain IR plus ``air.add_sat``; float ``dot`` is left to the
float table (returns None).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import BinaryOp, Call, Cast, ConstantInt, ExtractElement, Value
from llvm_to_air.ir.types import I8, I32, IntType, VectorType

if TYPE_CHECKING:
    from llvm_to_air.rewrite.intrinsics import Lowering, Rewrite

_PACKED = re.compile(r"dot(_acc_sat)?_4x8packed_(uu|ss|us|su)_(u?int)")


def lower_integer_dot(lw: Lowering, call: Call, base: str, params: list[str]) -> Rewrite | None:
    m = _PACKED.fullmatch(base)
    if m:
        accumulate, signs = m.group(1) is not None, m.group(2)
        lanes_a = _unpack(lw, call.args[0], signs[0])
        lanes_b = _unpack(lw, call.args[1], signs[1])
        result_sign = "u" if signs == "uu" else "s"
    elif base in ("dot", "dot_acc_sat") and call.args and \
            isinstance(call.args[0].ty, VectorType) and \
            isinstance(call.args[0].ty.element, IntType):
        accumulate = base == "dot_acc_sat"
        sa = params[0] if params else "s"
        sb = params[1] if len(params) > 1 else sa
        lanes_a = _lanes(lw, call.args[0], sa)
        lanes_b = _lanes(lw, call.args[1], sb)
        result_sign = "u" if (sa, sb) == ("u", "u") else "s"
    else:
        return None
    total: Value | None = None
    for x, y in zip(lanes_a, lanes_b, strict=True):
        product = lw.emit(BinaryOp(I32, opcode="mul", ops=[x, y]))
        total = product if total is None else lw.emit(BinaryOp(I32, opcode="add",
                                                               ops=[total, product]))
    assert total is not None
    if accumulate:
        acc = call.args[2]
        total = lw.emit(lw.air.call(f"air.add_sat.{result_sign}.i32", I32, [total, acc], "math"))
    return lw.done(total)


def _widen(lw: Lowering, byte: Value, sign: str) -> Value:
    return lw.emit(Cast(I32, opcode="sext" if sign == "s" else "zext", ops=[byte]))


def _lanes(lw: Lowering, vector: Value, sign: str) -> list[Value]:
    assert isinstance(vector.ty, VectorType)
    return [_widen(lw, lw.emit(ExtractElement(vector.ty.element, opcode="extractelement",
                                              ops=[vector, ConstantInt(I32, value=k)])), sign)
            for k in range(vector.ty.count)]


def _unpack(lw: Lowering, packed: Value, sign: str) -> list[Value]:
    lanes = []
    for k in range(4):
        shifted = packed if k == 0 else lw.emit(BinaryOp(I32, opcode="lshr",
                                                         ops=[packed, ConstantInt(I32, value=8 * k)]))
        lanes.append(_widen(lw, lw.emit(Cast(I8, opcode="trunc", ops=[shifted])), sign))
    return lanes
