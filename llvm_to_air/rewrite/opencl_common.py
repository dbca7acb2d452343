"""OpenCL C's geometric, common and a few relational and integer builtins, expanded into
AIR math calls and plain instructions (OpenCL C 3.0 sections 6.15.2-6.15.6).

* geometric: ``cross`` (float3/float4, w = 0), ``length``/``distance`` (sqrt of the dot
  product, recomputed on the vector scaled by its largest magnitude when the sum of
  squares overflows or underflows; 0 for a zero vector, inf when an element is
  infinite), ``normalize`` (a zero vector is returned as it is; with infinite elements,
  the vector of their signs, normalized), ``fast_length``/``fast_distance``/
  ``fast_normalize`` (plain sqrt/rsqrt of the dot product);
* common: ``degrees``, ``radians``, ``step``, ``smoothstep`` (scalar edges splat);
* math: ``copysign`` (sign bit), ``fdim`` (``x - y`` if ``x > y``, else +0; NaN in, NaN
  out), ``maxmag``/``minmag``;
* relational: ``any``/``all`` (of the components' sign bits), ``bitselect``;
* integer: ``upsample(hi, lo)``.

Called by :mod:`intrinsic_math` for calls whose demangled name is in :data:`BUILDERS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from llvm_to_air.ir.forward import spell_float
from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantAggregate,
    ConstantFP,
    ConstantInt,
    ExtractElement,
    InsertElement,
    Poison,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, FloatType, IntType, Type, VectorType
from llvm_to_air.rewrite.intrinsic_base import Rewrite, _scalar, type_suffix

if TYPE_CHECKING:
    from llvm_to_air.rewrite.intrinsics import Lowering

_F32_BITS = {"half": 16, "bfloat": 16, "float": 32, "double": 64}


class _Code:
    """Small emitting helpers over one lowering, for one call."""

    def __init__(self, lw: Lowering) -> None:
        self.lw = lw

    def emit(self, inst: Value) -> Value:
        return self.lw.emit(inst)  # type: ignore[arg-type]

    def const(self, ty: Type, value: float | int) -> Value:
        scalar = _scalar(ty)
        if isinstance(scalar, FloatType):
            one: Value = ConstantFP(scalar, text=spell_float(scalar.kind, float(value)))
        else:
            one = ConstantInt(scalar, value=int(value))
        return ConstantAggregate(ty, elements=[one] * ty.count) \
            if isinstance(ty, VectorType) else one

    def splat(self, value: Value, ty: Type) -> Value:
        """A scalar operand widened to ``ty``'s lanes (OpenCL's scalar edges)."""
        if value.ty == ty or not isinstance(ty, VectorType):
            return value
        vec: Value = Poison(ty)
        for k in range(ty.count):
            vec = self.emit(InsertElement(ty, opcode="insertelement",
                                          ops=[vec, value, ConstantInt(I32, value=k)]))
        return vec

    def op(self, opcode: str, a: Value, b: Value) -> Value:
        return self.emit(BinaryOp(a.ty, opcode=opcode, ops=[a, b]))

    def cmp(self, predicate: str, a: Value, b: Value, float_cmp: bool = True) -> Value:
        ty = VectorType(a.ty.count, I1) if isinstance(a.ty, VectorType) else I1
        return self.emit(Compare(ty, opcode="fcmp" if float_cmp else "icmp",
                                 predicate=predicate, ops=[a, b]))

    def select(self, cond: Value, a: Value, b: Value) -> Value:
        return self.emit(Select(a.ty, opcode="select", ops=[cond, a, b]))

    def math(self, op: str, ty: Type, args: list[Value]) -> Value:
        fast = self.lw.fast and _scalar(ty) == FloatType("float")
        name = f"air.{'fast_' if fast else ''}{op}.{type_suffix(ty)}"
        return self.emit(self.lw.air.call(name, ty, args, "math", fast=self.lw.fast))

    def lanes(self, v: Value) -> list[Value]:
        if not isinstance(v.ty, VectorType):
            return [v]
        return [self.emit(ExtractElement(v.ty.element, opcode="extractelement",
                                         ops=[v, ConstantInt(I32, value=k)]))
                for k in range(v.ty.count)]

    def dot(self, a: Value, b: Value) -> Value:
        if not isinstance(a.ty, VectorType):
            return self.op("fmul", a, b)
        return self.emit(self.lw.air.call(f"air.dot.{type_suffix(a.ty)}", a.ty.element,
                                          [a, b], "math", fast=self.lw.fast))

    def fold(self, opcode: str, values: list[Value]) -> Value:
        acc = values[0]
        for v in values[1:]:
            acc = self.op(opcode, acc, v)
        return acc

    def max_magnitude(self, v: Value) -> Value:
        magnitudes = [self.math("fabs", x.ty, [x]) for x in self.lanes(v)]
        acc = magnitudes[0]
        for m in magnitudes[1:]:
            acc = self.math("fmax", acc.ty, [acc, m])
        return acc


# ----------------------------------------------------------------------- geometric


def _length(c: _Code, p: Value) -> Value:
    scalar = _scalar(p.ty)
    if not isinstance(p.ty, VectorType):
        return c.math("fabs", scalar, [p])
    squares = c.dot(p, p)
    plain = c.math("sqrt", scalar, [squares])
    biggest = c.max_magnitude(p)
    scaled_p = c.op("fmul", p, c.splat(c.op("fdiv", c.const(scalar, 1.0), biggest), p.ty))
    scaled = c.op("fmul", biggest, c.math("sqrt", scalar, [c.dot(scaled_p, scaled_p)]))
    tiny = 2.0 ** (-100 if scalar.kind != "half" else -20)  # type: ignore[attr-defined]
    overflowed = c.cmp("oeq", squares, c.const(scalar, math.inf))
    underflowed = c.cmp("olt", squares, c.const(scalar, tiny))
    result = c.select(c.op("or", overflowed, underflowed), scaled, plain)
    result = c.select(c.cmp("oeq", biggest, c.const(scalar, 0.0)), c.const(scalar, 0.0), result)
    return c.select(c.cmp("oeq", biggest, c.const(scalar, math.inf)),
                    c.const(scalar, math.inf), result)


def _normalize(c: _Code, p: Value) -> Value:
    ty, scalar = p.ty, _scalar(p.ty)
    # infinite elements: the vector of their signs (others 0) is what gets normalized
    infinite = c.cmp("oeq", c.math("fabs", ty, [p]), c.const(ty, math.inf))
    signs = _copysign(c, c.const(ty, 1.0), p)
    any_infinite = _reduce_bool(c, infinite, "or")
    p = c.select(c.splat(any_infinite, VectorType(ty.count, I1))
                 if isinstance(ty, VectorType) else any_infinite,
                 c.select(infinite, signs, c.const(ty, 0.0)), p)
    length = _length(c, p)
    unit = c.op("fmul", p, c.splat(c.op("fdiv", c.const(scalar, 1.0), length), ty))
    zero = c.cmp("oeq", length, c.const(scalar, 0.0))
    return c.select(c.splat(zero, VectorType(ty.count, I1)) if isinstance(ty, VectorType)
                    else zero, p, unit)


def _reduce_bool(c: _Code, bits: Value, opcode: str) -> Value:
    return c.fold(opcode, c.lanes(bits))


def _copysign(c: _Code, x: Value, y: Value) -> Value:
    ty = x.ty
    bits = _F32_BITS[_scalar(ty).kind]  # type: ignore[attr-defined]
    ity: Type = VectorType(ty.count, IntType(bits)) if isinstance(ty, VectorType) \
        else IntType(bits)
    xi = c.emit(Cast(ity, opcode="bitcast", ops=[x]))
    yi = c.emit(Cast(ity, opcode="bitcast", ops=[y]))
    sign = 1 << (bits - 1)
    both = c.op("or", c.op("and", xi, c.const(ity, sign - 1)), c.op("and", yi, c.const(ity, sign)))
    return c.emit(Cast(ty, opcode="bitcast", ops=[both]))


def _cross(c: _Code, a: Value, b: Value) -> Value:
    ax, ay, az, *_ = c.lanes(a)
    bx, by, bz, *_ = c.lanes(b)
    parts = [c.op("fsub", c.op("fmul", ay, bz), c.op("fmul", az, by)),
             c.op("fsub", c.op("fmul", az, bx), c.op("fmul", ax, bz)),
             c.op("fsub", c.op("fmul", ax, by), c.op("fmul", ay, bx))]
    ty = a.ty
    assert isinstance(ty, VectorType)
    if ty.count == 4:
        parts.append(c.const(ty.element, 0.0))
    vec: Value = Poison(ty)
    for k, part in enumerate(parts):
        vec = c.emit(InsertElement(ty, opcode="insertelement",
                                   ops=[vec, part, ConstantInt(I32, value=k)]))
    return vec


# ----------------------------------------------------------------------- builders


def _smoothstep(c: _Code, args: list[Value], ty: Type) -> Value:
    e0, e1, x = c.splat(args[0], ty), c.splat(args[1], ty), args[2]
    t = c.op("fdiv", c.op("fsub", x, e0), c.op("fsub", e1, e0))
    t = c.math("fmin", ty, [c.math("fmax", ty, [t, c.const(ty, 0.0)]), c.const(ty, 1.0)])
    return c.op("fmul", c.op("fmul", t, t),
                c.op("fsub", c.const(ty, 3.0), c.op("fmul", c.const(ty, 2.0), t)))


def _magnitude_pick(c: _Code, x: Value, y: Value, ty: Type, bigger: bool) -> Value:
    ax, ay = c.math("fabs", ty, [x]), c.math("fabs", ty, [y])
    first, second = ("ogt", "olt") if bigger else ("olt", "ogt")
    tie = c.math("fmax" if bigger else "fmin", ty, [x, y])
    return c.select(c.cmp(first, ax, ay), x, c.select(c.cmp(second, ax, ay), y, tie))


def _any_all(c: _Code, args: list[Value], opcode: str) -> Value:
    x = args[0]
    negative = c.cmp("slt", x, c.const(x.ty, 0), float_cmp=False)
    return c.emit(Cast(I32, opcode="zext", ops=[_reduce_bool(c, negative, opcode)]))


def _bitselect(c: _Code, args: list[Value], ty: Type) -> Value:
    a, b, sel = args
    scalar = _scalar(ty)
    if isinstance(scalar, FloatType):
        bits = IntType(_F32_BITS[scalar.kind])
        ity: Type = VectorType(ty.count, bits) if isinstance(ty, VectorType) else bits
        a, b, sel = (c.emit(Cast(ity, opcode="bitcast", ops=[v])) for v in (a, b, sel))
    else:
        ity = ty
    picked = c.op("or", c.op("and", a, c.op("xor", sel, c.const(ity, -1))), c.op("and", b, sel))
    return picked if ity == ty else c.emit(Cast(ty, opcode="bitcast", ops=[picked]))


def _upsample(c: _Code, args: list[Value], ty: Type, signed: bool) -> Value:
    hi, lo = args
    lo_bits = _scalar(lo.ty).bits  # type: ignore[attr-defined]
    wide_hi = c.emit(Cast(ty, opcode="sext" if signed else "zext", ops=[hi]))
    wide_lo = c.emit(Cast(ty, opcode="zext", ops=[lo]))
    return c.op("or", c.op("shl", wide_hi, c.const(ty, lo_bits)), wide_lo)


BUILDERS: dict[str, Callable[[_Code, list[Value], Type, str], Value]] = {
    "length": lambda c, a, t, k: _length(c, a[0]),
    "distance": lambda c, a, t, k: _length(c, c.op("fsub", a[0], a[1])),
    "normalize": lambda c, a, t, k: _normalize(c, a[0]),
    "fast_length": lambda c, a, t, k: c.math("sqrt", t, [c.dot(a[0], a[0])]),
    "fast_distance": lambda c, a, t, k: c.math(
        "sqrt", t, [c.dot(*[c.op("fsub", a[0], a[1])] * 2)]),
    "fast_normalize": lambda c, a, t, k: _fast_normalize(c, a[0]),
    "cross": lambda c, a, t, k: _cross(c, a[0], a[1]),
    "degrees": lambda c, a, t, k: c.op("fmul", a[0], c.const(t, 180.0 / math.pi)),
    "radians": lambda c, a, t, k: c.op("fmul", a[0], c.const(t, math.pi / 180.0)),
    "step": lambda c, a, t, k: c.select(c.cmp("olt", a[1], c.splat(a[0], t)),
                                        c.const(t, 0.0), c.const(t, 1.0)),
    "smoothstep": lambda c, a, t, k: _smoothstep(c, a, t),
    "copysign": lambda c, a, t, k: _copysign(c, a[0], a[1]),
    "fdim": lambda c, a, t, k: c.select(c.cmp("ole", a[0], a[1]), c.const(t, 0.0),
                                        c.op("fsub", a[0], a[1])),
    "maxmag": lambda c, a, t, k: _magnitude_pick(c, a[0], a[1], t, bigger=True),
    "minmag": lambda c, a, t, k: _magnitude_pick(c, a[0], a[1], t, bigger=False),
    "any": lambda c, a, t, k: _any_all(c, a, "or"),
    "all": lambda c, a, t, k: _any_all(c, a, "and"),
    "bitselect": lambda c, a, t, k: _bitselect(c, a, t),
    "upsample": lambda c, a, t, k: _upsample(c, a, t, signed=k == "s"),
}


def _fast_normalize(c: _Code, p: Value) -> Value:
    ty, scalar = p.ty, _scalar(p.ty)
    squares = c.dot(p, p)
    unit = c.op("fmul", p, c.splat(c.math("rsqrt", scalar, [squares]), ty))
    zero = c.cmp("oeq", squares, c.const(scalar, 0.0))
    return c.select(c.splat(zero, VectorType(ty.count, I1)) if isinstance(ty, VectorType)
                    else zero, p, unit)


def lower_common(lw: Lowering, call: Call, base: str, first_kind: str) -> Rewrite:
    """The expansion of OpenCL builtin ``base`` (a key of :data:`BUILDERS`)."""
    code = _Code(lw)
    return lw.done(BUILDERS[base](code, list(call.args), call.ty, first_kind))
