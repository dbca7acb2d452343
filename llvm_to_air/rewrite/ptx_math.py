"""Builders of the inline-PTX rows for float arithmetic, comparisons, bit operations and
conversions (``cuda_fp16.h``/``cuda_bf16.h`` templates), one per row kind.

Each builder emits what the PTX ISA defines for the instruction (section "Half Precision
Floating-Point Instructions", "Comparison and Selection Instructions", ``cvt``):

- ``float_arith``: ``add``/``sub``/``mul``/``fma`` on f32, f16, f16x2, bf16, bf16x2 with
  round-to-nearest-even. bf16 is computed in f32: a sum or product of two bf16 values
  rounded to f32 and then to bf16 is correctly rounded (24 >= 2*8 + 2 bits); ``fma`` rounds
  the exact ``a*b + c`` to f32 *by odd* (TwoSum gives the exact error) first, so the final
  rounding is exact too.
- ``float_sign``: ``neg``/``abs`` flip or clear the sign bit (a NaN stays a NaN).
- ``min_max``: ``min``/``max`` are ``minnum``/``maxnum`` (a NaN operand yields the other).
- ``nvvm_float``: an NVVM intrinsic on f32 (``ex2``/``lg2``/``sqrt``/``rsqrt``/``sin``/
  ``cos``/``div``/``tanh`` approximations), which ``lower_nvvm_float``/``lower_intrinsics``
  map; f16 forms are computed in f32 and rounded.
- ``compare``: ``setp`` (a predicate) and ``set`` (1.0 or 0 in an f16 register).
- ``select``: ``selp``; ``bitwise``: ``and``/``or``/``xor``/``not``.
- ``directed_convert``: ``cvt.{rz,rm,rp}.{f16,bf16}.f32``: the nearest value, moved one
  step toward zero, -inf or +inf when it lies on the wrong side of the source.
- ``float_to_int``: ``cvt.{rni,rzi}.s32.{f16,f32}``, saturating, NaN to 0.
- ``int_to_bf16``: ``cvt.rn.bf16.{s32,u32}`` (sm_90), rounded once (by odd to f32 first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantFP,
    ConstantInt,
    ExtractElement,
    Function,
    InsertElement,
    Select,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    F32,
    I1,
    I32,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    Type,
    VectorType,
)

if TYPE_CHECKING:
    from llvm_to_air.rewrite.ptx import Reg, Statement, _Emitter
    from llvm_to_air.rewrite.ptx_tables import PtxRow

Builder = Callable[["PtxRow", "Statement", "_Emitter"], None]

def _declare(em: _Emitter, name: str, ret: Type, params: tuple[Type, ...]) -> Function:
    found = em.module.get_function(name)
    if found is None:
        found = Function(PointerType(0), name=name, function_type=FunctionType(ret, params),
                         fn_attrs=["nounwind", "memory(none)"])
        em.module.functions.append(found)
    return found


def _call(em: _Emitter, name: str, ret: Type, args: list[Value]) -> Value:
    fn = _declare(em, name, ret, tuple(a.ty for a in args))
    return em.add(Call(ret, opcode="call", ops=[*args, fn], function_type=fn.function_type))


def _binary(em: _Emitter, op: str, a: Value, b: Value | int) -> Value:
    other = ConstantInt(a.ty, b) if isinstance(b, int) else b
    return em.add(BinaryOp(a.ty, opcode=op, ops=[a, other]))


def _register(row: PtxRow) -> IntType:
    return IntType(row.bits)


def _elements(em: _Emitter, operand: Reg, row: PtxRow, kind: str) -> list[Value]:
    """The float elements of a register operand, lowest half first."""
    elem = FloatType(kind)
    if row.lanes == 1:
        return [em.value(operand, elem)]
    vec = VectorType(row.lanes, elem)
    whole = em.coerce(em.value(operand, _register(row)), vec)
    return [em.add(ExtractElement(elem, opcode="extractelement",
                                  ops=[whole, ConstantInt(I32, k)])) for k in range(row.lanes)]


def _set_elements(em: _Emitter, dst: Reg, row: PtxRow, values: list[Value]) -> None:
    if len(values) == 1:
        result = values[0]
    else:
        vec = VectorType(len(values), values[0].ty)
        result = Undef(vec)
        for k, value in enumerate(values):
            result = em.add(InsertElement(vec, opcode="insertelement",
                                          ops=[result, value, ConstantInt(I32, k)]))
    em.set(dst, em.coerce(result, em.types.get(dst.index, result.ty if row.lanes == 1
                                               else _register(row))))


def _to_f32(em: _Emitter, value: Value) -> Value:
    return value if value.ty == F32 else em.add(Cast(F32, opcode="fpext", ops=[value]))


def _from_f32(em: _Emitter, value: Value, kind: str) -> Value:
    return value if kind == "float" else em.add(Cast(FloatType(kind), opcode="fptrunc",
                                                     ops=[value]))


def build_float_arith(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, *srcs = stmt.operands
    columns = [_elements(em, s, row, row.to) for s in srcs]  # type: ignore[arg-type]
    results = []
    for lane_values in zip(*columns, strict=True):
        if row.to == "bfloat":
            wide = [_to_f32(em, v) for v in lane_values]
            value = _fma_round_odd(em, *wide) if row.op == "fma" else \
                em.add(BinaryOp(F32, opcode=row.op, ops=wide))
            results.append(_from_f32(em, value, "bfloat"))
        elif row.op == "fma":
            ty = lane_values[0].ty
            suffix = {"half": "f16", "float": "f32"}[ty.kind]  # type: ignore[attr-defined]
            results.append(_call(em, f"llvm.fma.{suffix}", ty, list(lane_values)))
        else:
            results.append(em.add(BinaryOp(lane_values[0].ty, opcode=row.op,
                                            ops=list(lane_values))))
    _set_elements(em, dst, row, results)  # type: ignore[arg-type]


def _fma_round_odd(em: _Emitter, a: Value, b: Value, c: Value) -> Value:
    """``a*b + c`` rounded to f32 by odd: exact products of bf16 values, TwoSum's exact
    error ``e``; an inexact even result moves one step toward the error (to the odd one
    of the two f32 values around the exact sum). NaN or infinite sums stay as they are."""
    p = em.add(BinaryOp(F32, opcode="fmul", ops=[a, b]))
    s = em.add(BinaryOp(F32, opcode="fadd", ops=[p, c]))
    bb = em.add(BinaryOp(F32, opcode="fsub", ops=[s, p]))
    e = em.add(BinaryOp(F32, opcode="fadd", ops=[
        em.add(BinaryOp(F32, opcode="fsub", ops=[p, em.add(BinaryOp(
            F32, opcode="fsub", ops=[s, bb]))])),
        em.add(BinaryOp(F32, opcode="fsub", ops=[c, bb]))]))
    zero = ConstantFP(F32, text="0.000000e+00")
    exact = em.add(Compare(I1, opcode="fcmp", predicate="ueq", ops=[e, zero]))
    s_bits = em.add(Cast(I32, opcode="bitcast", ops=[s]))
    e_bits = em.add(Cast(I32, opcode="bitcast", ops=[e]))
    odd = em.add(Compare(I1, opcode="icmp", predicate="ne", ops=[_binary(em, "and", s_bits, 1),
                                                                  ConstantInt(I32, 0)]))
    keep = em.add(BinaryOp(I1, opcode="or", ops=[exact, odd]))
    same_sign = em.add(Compare(I1, opcode="icmp", predicate="eq", ops=[
        _binary(em, "lshr", s_bits, 31), _binary(em, "lshr", e_bits, 31)]))
    step = em.add(Select(I32, opcode="select", ops=[same_sign, ConstantInt(I32, 1),
                                                    ConstantInt(I32, -1)]))
    moved = _binary(em, "add", s_bits, step)
    chosen = em.add(Select(I32, opcode="select", ops=[keep, s_bits, moved]))
    return em.add(Cast(F32, opcode="bitcast", ops=[chosen]))


def build_float_sign(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, src = stmt.operands
    reg = _register(row)
    width = row.bits // row.lanes
    sign = sum(1 << (width * k + width - 1) for k in range(row.lanes))
    value = em.value(src, reg)  # type: ignore[arg-type]
    result = _binary(em, "xor", value, sign) if row.op == "neg" else \
        _binary(em, "and", value, ~sign & ((1 << row.bits) - 1))
    em.set(dst, em.coerce(result, em.types.get(dst.index, reg)))  # type: ignore[union-attr]


def build_min_max(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, a, b = stmt.operands
    results = []
    for x, y in zip(_elements(em, a, row, row.to), _elements(em, b, row, row.to),  # type: ignore
                    strict=True):
        wide = _call(em, f"llvm.{row.op}.f32", F32, [_to_f32(em, x), _to_f32(em, y)])
        results.append(_from_f32(em, wide, row.to))
    _set_elements(em, dst, row, results)  # type: ignore[arg-type]


def build_nvvm_float(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, *srcs = stmt.operands
    columns = [_elements(em, s, row, row.to) for s in srcs]  # type: ignore[arg-type]
    results = [_from_f32(em, _call(em, row.op, F32, [_to_f32(em, v) for v in lane]), row.to)
               for lane in zip(*columns, strict=True)]
    _set_elements(em, dst, row, results)  # type: ignore[arg-type]


def build_compare(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    """``setp.CMP.TYPE p, a, b`` or ``set.CMP.f16.TYPE d, a, b`` (d = 1.0 or 0); the packed
    ``set.CMP.f16x2.f16x2`` (cuda_fp16.h's ``__heq2``, ``h2exp``'s special-case masks)
    compares each half and sets each half of ``d`` to 1.0 or 0."""
    dst, a, b = stmt.operands
    tests = [em.add(Compare(I1, opcode="fcmp", predicate=row.op,
                            ops=[_to_f32(em, x), _to_f32(em, y)]))
             for x, y in zip(_elements(em, a, row, row.frm),  # type: ignore[arg-type]
                             _elements(em, b, row, row.frm), strict=True)]  # type: ignore
    if row.to == "pred":
        em.set(dst, tests[0])  # type: ignore[arg-type]
        return
    one = {"half": 0x3C00, "bfloat": 0x3F80, "float": 0x3F800000}[row.to]
    lane = IntType(row.bits // row.lanes)
    _set_elements(em, dst, row, [  # type: ignore[arg-type]
        em.add(Select(lane, opcode="select", ops=[t, ConstantInt(lane, one),
                                                  ConstantInt(lane, 0)])) for t in tests])


def build_select(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, a, b, p = stmt.operands
    reg = _register(row)
    value = em.add(Select(reg, opcode="select", ops=[
        em.value(p, I1), em.value(a, reg), em.value(b, reg)]))  # type: ignore[arg-type]
    em.set(dst, em.coerce(value, em.types.get(dst.index, reg)))  # type: ignore[union-attr]


def build_bitwise(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, *srcs = stmt.operands
    reg = _register(row)
    values = [em.value(s, reg) for s in srcs]  # type: ignore[arg-type]
    result = _binary(em, "xor", values[0], -1) if row.op == "not" else \
        em.add(BinaryOp(reg, opcode=row.op, ops=values))
    em.set(dst, em.coerce(result, em.types.get(dst.index, reg)))  # type: ignore[union-attr]


def build_directed_convert(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, src = stmt.operands
    x = em.value(src, F32)  # type: ignore[arg-type]
    nearest = em.add(Cast(FloatType(row.to), opcode="fptrunc", ops=[x]))
    back = em.add(Cast(F32, opcode="fpext", ops=[nearest]))
    reg = IntType(16)
    bits = em.add(Cast(reg, opcode="bitcast", ops=[nearest]))
    negative = em.add(Compare(I1, opcode="icmp", predicate="slt", ops=[bits,
                                                                       ConstantInt(reg, 0)]))
    if row.op == "rz":  # one step toward zero when the nearest lies farther out
        magnitudes = [_call(em, "llvm.fabs.f32", F32, [v]) for v in (back, x)]
        wrong = em.add(Compare(I1, opcode="fcmp", predicate="ogt", ops=magnitudes))
        step: Value = ConstantInt(reg, -1)
    else:  # rm: one step down when above; rp: one step up when below
        wrong = em.add(Compare(I1, opcode="fcmp", predicate="ogt" if row.op == "rm" else "olt",
                               ops=[back, x]))
        away, toward = (1, -1) if row.op == "rm" else (-1, 1)
        step = em.add(Select(reg, opcode="select", ops=[negative, ConstantInt(reg, away),
                                                        ConstantInt(reg, toward)]))
    moved = em.add(BinaryOp(reg, opcode="add", ops=[bits, step]))
    result = em.add(Select(reg, opcode="select", ops=[wrong, moved, bits]))
    em.set(dst, em.coerce(result, em.types.get(dst.index, reg)))  # type: ignore[union-attr]


def build_float_to_int(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    dst, src = stmt.operands
    x = _to_f32(em, em.value(src, FloatType(row.frm)))  # type: ignore[arg-type]
    if row.op == "rni":
        x = _call(em, "llvm.roundeven.f32", F32, [x])
    else:
        x = _call(em, "llvm.trunc.f32", F32, [x])
    limit = ConstantFP(F32, text="0x41E0000000000000")  # 2^31
    low = ConstantFP(F32, text="0xC1E0000000000000")  # -2^31
    converted = em.add(Cast(I32, opcode="fptosi", ops=[
        _call(em, "llvm.minnum.f32", F32, [_call(em, "llvm.maxnum.f32", F32, [x, low]),
                                           ConstantFP(F32, text="0x41DFFFFFE0000000")])]))
    high = em.add(Compare(I1, opcode="fcmp", predicate="oge", ops=[x, limit]))
    nan = em.add(Compare(I1, opcode="fcmp", predicate="uno", ops=[x, x]))
    value = em.add(Select(I32, opcode="select", ops=[high, ConstantInt(I32, 0x7FFFFFFF),
                                                     converted]))
    value = em.add(Select(I32, opcode="select", ops=[nan, ConstantInt(I32, 0), value]))
    em.set(dst, em.coerce(value, em.types.get(dst.index, I32)))  # type: ignore[union-attr]


def build_int_to_bf16(row: PtxRow, stmt: Statement, em: _Emitter) -> None:
    """``cvt.rn.bf16.{s32,u32}``: the integer rounded to f32 by odd (the exact difference
    from the rounded value, in i64, says which way), then to bf16 once."""
    dst, src = stmt.operands
    signed = row.op == "s32"
    i64 = IntType(64)
    x = em.value(src, I32)  # type: ignore[arg-type]
    wide = em.add(Cast(i64, opcode="sext" if signed else "zext", ops=[x]))
    f = em.add(Cast(F32, opcode="sitofp" if signed else "uitofp", ops=[x]))
    back = em.add(Cast(i64, opcode="fptosi", ops=[f]))  # |f| <= 2^32: exact in i64
    diff = em.add(BinaryOp(i64, opcode="sub", ops=[wide, back]))
    bits = em.add(Cast(I32, opcode="bitcast", ops=[f]))
    inexact = em.add(Compare(I1, opcode="icmp", predicate="ne", ops=[diff, ConstantInt(i64, 0)]))
    even = em.add(Compare(I1, opcode="icmp", predicate="eq", ops=[_binary(em, "and", bits, 1),
                                                                   ConstantInt(I32, 0)]))
    move = em.add(BinaryOp(I1, opcode="and", ops=[inexact, even]))
    up = em.add(Compare(I1, opcode="icmp", predicate="sgt", ops=[diff, ConstantInt(i64, 0)]))
    negative = em.add(Compare(I1, opcode="icmp", predicate="slt", ops=[bits,
                                                                       ConstantInt(I32, 0)]))
    grows = em.add(BinaryOp(I1, opcode="xor", ops=[up, negative]))  # magnitude increases
    step = em.add(Select(I32, opcode="select", ops=[grows, ConstantInt(I32, 1),
                                                    ConstantInt(I32, -1)]))
    odd = em.add(Select(I32, opcode="select", ops=[move, _binary(em, "add", bits, step), bits]))
    result = _from_f32(em, em.add(Cast(F32, opcode="bitcast", ops=[odd])), "bfloat")
    em.set(dst, em.coerce(result, em.types.get(dst.index, IntType(16))))  # type: ignore


BUILDERS: dict[str, Builder] = {
    "float_arith": build_float_arith, "float_sign": build_float_sign,
    "min_max": build_min_max, "nvvm_float": build_nvvm_float, "compare": build_compare,
    "select": build_select, "bitwise": build_bitwise,
    "directed_convert": build_directed_convert, "float_to_int": build_float_to_int,
    "int_to_bf16": build_int_to_bf16,
}
