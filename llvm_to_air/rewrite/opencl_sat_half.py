"""OpenCL's saturating conversions (``convert_<type>_sat[_<rounding>]``) and half-precision
loads and stores (``vload_half[n]``, ``vloada_half[n]``, ``vstore_half[n][_<rounding>]``,
``vstorea_half[n][_<rounding>]``), OpenCL C 3.0 sections 6.4.3 and 6.15.7.

Saturation clamps to the destination's range: between integers, the source is clamped with
``air.min``/``air.max`` to the bounds it can hold, then truncated or extended; from floats,
the value is rounded as the suffix asks (toward zero by default), values at or beyond the
bounds (powers of two, exact in every float type, or infinity where the type cannot hold
them) select the destination's extreme, and NaN selects 0 -- the conversion of an
out-of-range value is never used.

Half loads read ``n`` halves at ``p + offset * n`` (``vloada_half3`` steps by 4, as its
alignment rule says) and widen them exactly; stores narrow to nearest (``_rte`` and the
default) and write. AIR has no directed rounding for narrowing, so ``_rtz``/``_rtp``/
``_rtn`` stores round to nearest with a warning, as ``convert_half_rtz`` does.

Called by :mod:`intrinsic_math` for calls it identified by their demangled names.
"""

from __future__ import annotations

import re
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
    GetElementPtr,
    Load,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import F16, I1, VOID, FloatType, IntType, Type, VectorType
from llvm_to_air.rewrite.intrinsic_base import Rewrite, _scalar, type_suffix

if TYPE_CHECKING:
    from llvm_to_air.rewrite.intrinsics import Lowering

_ROUNDING_OPS = {"rte": "rint", "rtp": "ceil", "rtn": "floor"}  # rtz: the conversion's own
HALF_MEMORY = re.compile(r"(vloada?_half|vstorea?_half)(\d*)(?:_(rt[enpz]))?")


def _splat(ty: Type, scalar: Value) -> Value:
    if isinstance(ty, VectorType):
        return ConstantAggregate(ty, elements=[scalar] * ty.count)
    return scalar


def _int_bounds(kind: str, bits: int) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind == "s" else (0, (1 << bits) - 1)


def _float_constant(ty: FloatType, value: float) -> ConstantFP:
    """``value`` in ``ty`` (infinity where the type cannot hold it)."""
    return ConstantFP(ty, text=spell_float(ty.kind, value))


def saturating_convert(lw: Lowering, call: Call, dst_kind: str, src_kind: str,
                       rounding: str | None) -> Rewrite:
    """``convert_<int type>_sat[_<rounding>]`` of an integer or float source."""
    src = call.args[0]
    dst_ty, src_ty = call.ty, src.ty
    dst, source = _scalar(dst_ty), _scalar(src_ty)
    assert isinstance(dst, IntType)
    low, high = _int_bounds(dst_kind, dst.bits)
    if isinstance(source, FloatType):
        return lw.done(_from_float(lw, src, dst_ty, dst_kind, rounding, low, high))
    assert isinstance(source, IntType)
    src_low, src_high = _int_bounds(src_kind, source.bits)
    clamped = src
    if high < src_high:
        clamped = _min_max(lw, "min", src_kind, clamped, high)
    if low > src_low:
        clamped = _min_max(lw, "max", src_kind, clamped, low)
    if dst.bits == source.bits:
        return lw.done(clamped) if clamped is not src else lw.done(src)
    opcode = "trunc" if dst.bits < source.bits else ("sext" if src_kind == "s" else "zext")
    return lw.done(lw.emit(Cast(dst_ty, opcode=opcode, ops=[clamped])))


def _min_max(lw: Lowering, op: str, kind: str, value: Value, bound: int) -> Value:
    ty = value.ty
    name = f"air.{op}.{kind}.{type_suffix(ty)}"
    return lw.emit(lw.air.call(name, ty, [value, _splat(ty, ConstantInt(_scalar(ty),
                                                                          value=bound))],
                               "math"))


def _from_float(lw: Lowering, src: Value, dst_ty: Type, dst_kind: str, rounding: str | None,
                low: int, high: int) -> Value:
    src_ty = src.ty
    source = _scalar(src_ty)
    assert isinstance(source, FloatType)
    bool_ty: Type = VectorType(src_ty.count, I1) if isinstance(src_ty, VectorType) else I1
    if rounding in _ROUNDING_OPS:
        src = lw.emit(lw.air.call(f"air.{_ROUNDING_OPS[rounding]}.{type_suffix(src_ty)}",
                                  src_ty, [src], "math"))
    name = f"air.convert.{dst_kind}.{type_suffix(dst_ty)}.f.{type_suffix(src_ty)}"
    converted = lw.emit(lw.air.call(name, dst_ty, [src], "math", fast=lw.fast))

    def where(predicate: str, bound: float, then: int, otherwise: Value) -> Value:
        test = lw.emit(Compare(bool_ty, opcode="fcmp", predicate=predicate, ops=[
            src, _splat(src_ty, _float_constant(source, bound))]))
        value = _splat(dst_ty, ConstantInt(_scalar(dst_ty), value=then))
        return lw.emit(Select(dst_ty, opcode="select", ops=[test, value, otherwise]))

    # at or above high + 1 (a power of two), or below low (a power of two or 0): the bound
    result = where("oge", float(high + 1), high, converted)
    result = where("olt", float(low), low, result) if low != 0 else \
        where("ole", -1.0, 0, result)  # unsigned: rounded values in (-1, 0) convert to 0
    return where("uno", 0.0, 0, result)


def half_memory(lw: Lowering, call: Call, base: str) -> Rewrite | None:
    """``vload_half*``/``vstore_half*`` (see the module docstring)."""
    m = HALF_MEMORY.fullmatch(base)
    if m is None:
        return None
    op, width, rounding = m.group(1), int(m.group(2) or 1), m.group(3)
    step = 4 if op.endswith("a_half") and width == 3 else width
    if op.startswith("vload"):
        offset, ptr = call.args
        data_ty: Type = VectorType(width, F16) if width > 1 else F16
        addr = _half_address(lw, ptr, offset, step)
        loaded = lw.emit(Load(data_ty, opcode="load", ops=[addr], align=2))
        return lw.done(lw.emit(Cast(call.ty, opcode="fpext", ops=[loaded])))
    data, offset, ptr = call.args
    source = _scalar(data.ty)
    if rounding in ("rtz", "rtp", "rtn"):
        lw.ctx.warnings.append(lw.error(call, f"'{base}' is stored rounded to nearest",
                                        "AIR has no directed rounding for narrowing float "
                                        "conversions"))
    half_ty: Type = VectorType(width, F16) if width > 1 else F16
    narrowed = lw.emit(Cast(half_ty, opcode="fptrunc", ops=[data])) if source != F16 else data
    addr = _half_address(lw, ptr, offset, step)
    lw.emit(Store(VOID, opcode="store", ops=[narrowed, addr], align=2))
    return lw.done(None)


def _half_address(lw: Lowering, ptr: Value, offset: Value, step: int) -> Value:
    index = offset
    if step != 1:
        index = lw.emit(BinaryOp(offset.ty, opcode="mul",
                                 ops=[offset, ConstantInt(offset.ty, value=step)]))
    return lw.emit(GetElementPtr(ptr.ty, opcode="getelementptr", ops=[ptr, index],
                                 source_type=F16))
