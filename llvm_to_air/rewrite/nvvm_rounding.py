"""NVVM intrinsics that inlined libdevice and CUDA headers leave behind: rounding-mode
arithmetic and conversions, ``fabs``, ``activemask`` and ``prmt``.

Expects: called by :mod:`intrinsics` for declared ``llvm.nvvm.*`` callees (names as LLVM 22
reads them). Guarantees: each handled call is replaced by AIR calls and plain instructions
computing the PTX ISA definition:

- ``add``/``mul``/``div`` with ``.rn`` are IEEE round-to-nearest, as AIR's ``fadd``/``fmul``/
  ``fdiv``; with ``.rz``/``.rm``/``.rp`` the nearest result is corrected by one ulp from the
  sign of the exact error (TwoSum, ``fma``-based TwoProduct and remainder), which is exact
  while no intermediate overflows or underflows and fast math is off;
- ``fma.rn`` is ``air.fma``; ``fma.rz/rm/rp`` are computed to nearest with a warning;
- ``f2i``/``f2ui``/``f2ll``/``f2ull`` round first (``air.rint``/``floor``/``ceil``, or
  truncation) and then convert; ``i2f``/``ui2f`` of 32-bit integers correct the nearest
  conversion by the sign of the exact 64-bit difference; 64-bit sources with directed
  rounding are converted to nearest with a warning;
- ``mulhi``/``sad`` (integer) are ``air.mul_hi``/``air.abs_diff`` (plus the addend);
- ``activemask`` is the ballot of the lanes that reach it; ``prmt`` (default mode) selects
  bytes of the pair {b, a} by the selector's nibbles, replicating sign bits on request;
- ``fns`` (CUDA's ``__fns``) finds the n-th set bit of a mask from a base bit, upwards for
  a positive offset and downwards for a negative one, as a loop-free rank selection (five
  halving steps over population counts); 0xffffffff when there is none.

``.ftz`` forms are treated as the plain ones: AIR modules flush subnormals
(``air.compile.denorms_disable``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantFP,
    ConstantInt,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, I64, FloatType, IntType, Type
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.intrinsic_base import type_suffix

if TYPE_CHECKING:
    from llvm_to_air.rewrite.intrinsics import Lowering, Rewrite

_ARITH_RE = re.compile(r"llvm\.nvvm\.(add|mul|div|fma)\.(rn|rz|rm|rp)(\.ftz)?\.(f|d|f32|f64)")
_F2I_RE = re.compile(r"llvm\.nvvm\.[fd]2(i|ui|ll|ull)\.(rn|rz|rm|rp)(\.ftz)?")
_I2F_RE = re.compile(r"llvm\.nvvm\.(i|ui|ll|ull)2[fd]\.(rn|rz|rm|rp)")
_FABS_RE = re.compile(r"llvm\.nvvm\.fabs\.(f32|f64|f16|bf16|v2f16|v2bf16)")
_FLOAT_BITS = {"half": 16, "bfloat": 16, "float": 32, "double": 64}
_INT_RE = re.compile(r"llvm\.nvvm\.(mulhi|sad)\.(s|us|i|ui|ll|ull)")
_ROUND_FIRST = {"rn": "rint", "rm": "floor", "rp": "ceil"}

# How LLVM 22's reader renames NVVM intrinsics of older inputs: errors name the old spelling.
UPGRADED_SPELLINGS: dict[str, str] = {
    "llvm.nvvm.fabs.f32": "llvm.nvvm.fabs.f", "llvm.nvvm.fabs.f64": "llvm.nvvm.fabs.d",
    "llvm.nvvm.fabs.ftz.f32": "llvm.nvvm.fabs.ftz.f",
}


def source_spelling(name: str) -> str:
    """``@name`` as an older input spells it, with the LLVM 22 name in brackets."""
    old = UPGRADED_SPELLINGS.get(name)
    return f"'@{old}' (read by LLVM 22 as '@{name}')" if old else f"'@{name}'"


def lower_nvvm_rounding(lw: Lowering, call: Call) -> Rewrite | None:
    name = call.callee_function.name  # type: ignore[union-attr]
    if name in T.NVVM_MATH or name in T.NVVM_DIVIDES:
        return None  # the general NVVM table has these
    if name.endswith(".f32") and name[:-2] in T.NVVM_MATH:
        # LLVM 22 spells some older ``.f`` intrinsics ``.f32`` (ex2.approx.ftz.f32)
        op, fast = T.NVVM_MATH[name[:-2]]
        return lw.float_op(call, T.FLOAT_OPS[op], force_fast=fast)
    if _FABS_RE.fullmatch(name):
        return lw.float_op(call, T.FLOAT_OPS["fabs"])
    m = _ARITH_RE.fullmatch(name)
    if m:
        return _arith(lw, call, m.group(1), m.group(2))
    m = _F2I_RE.fullmatch(name)
    if m:
        return _float_to_int(lw, call, m.group(1), m.group(2))
    m = _I2F_RE.fullmatch(name)
    if m:
        return _int_to_float(lw, call, m.group(1), m.group(2))
    if name == "llvm.nvvm.activemask":
        mask = lw.emit(lw.simd("simd_ballot", I64, [ConstantInt(I1, value=1)]))
        return lw.done(lw.emit(Cast(I32, opcode="trunc", ops=[mask])))
    if name == "llvm.nvvm.prmt":
        return _prmt(lw, call)
    if name == "llvm.nvvm.fns":
        return lw.done(_find_nth_set(lw, *call.args))
    m = _INT_RE.fullmatch(name)
    if m:
        sign = "u" if m.group(2).startswith("u") else "s"
        if m.group(1) == "mulhi":
            return lw.int_op(call, T.IntOp("mul_hi", sign), sign)
        a, b, c = call.args  # sad: |a - b| + c
        diff = _air_math(lw, f"abs_diff.{sign}", call.ty, [a, b])
        return lw.done(_op(lw, "add", call.ty, diff, c))
    return None


# ------------------------------------------------------------------ helpers


def _op(lw: Lowering, opcode: str, ty: Type, a: Value, b: Value) -> Value:
    return lw.emit(BinaryOp(ty, opcode=opcode, ops=[a, b]))


def _cmp(lw: Lowering, kind: str, pred: str, a: Value, b: Value) -> Value:
    return lw.emit(Compare(I1, opcode=kind, predicate=pred, ops=[a, b]))


def _select(lw: Lowering, cond: Value, a: Value, b: Value) -> Value:
    return lw.emit(Select(a.ty, opcode="select", ops=[cond, a, b]))


def _zero(ty: Type) -> Value:
    return ConstantFP(ty, text="0.000000e+00")


def _air_math(lw: Lowering, op: str, ty: Type, args: list[Value]) -> Value:
    return lw.emit(lw.air.call(f"air.{op}.{type_suffix(ty)}", ty, args, "math"))


def _convert(lw: Lowering, opcode: str, ty: Type, value: Value) -> Value:
    rewrite = lw._conversion(Cast(ty, opcode=opcode, ops=[value]))
    assert rewrite is not None
    for inst in rewrite.instructions:
        lw.emit(inst)
    return rewrite.instructions[-1]


def _nudge(lw: Lowering, mode: str, s: Value, e_pos: Value, e_neg: Value) -> Value:
    """``s`` (the nearest result) moved one ulp as rounding ``mode`` asks, the exact result
    being ``s + e`` with the sign of ``e`` given by ``e_pos``/``e_neg``. Floats are
    sign-magnitude: adding 1 to the bits moves away from zero, subtracting moves toward it."""
    ty = s.ty
    assert isinstance(ty, FloatType)
    ity = IntType(_FLOAT_BITS[ty.kind])
    one, minus_one, none = (ConstantInt(ity, value=v) for v in (1, -1, 0))
    s_pos = _cmp(lw, "fcmp", "ogt", s, _zero(ty))
    if mode == "rz":
        move = _select(lw, s_pos, e_neg, e_pos)
        delta = _select(lw, move, minus_one, none)
    elif mode == "rp":
        delta = _select(lw, e_pos, _select(lw, s_pos, one, minus_one), none)
    else:  # rm
        delta = _select(lw, e_neg, _select(lw, s_pos, minus_one, one), none)
    bits = lw.emit(Cast(ity, opcode="bitcast", ops=[s]))
    return lw.emit(Cast(ty, opcode="bitcast", ops=[_op(lw, "add", ity, bits, delta)]))


def _sign_tests(lw: Lowering, e: Value) -> tuple[Value, Value]:
    return (_cmp(lw, "fcmp", "ogt", e, _zero(e.ty)), _cmp(lw, "fcmp", "olt", e, _zero(e.ty)))


# ------------------------------------------------------------------- fns


def _find_nth_set(lw: Lowering, mask: Value, base: Value, offset: Value) -> Value:
    """PTX ``fns.b32 d, mask, base, offset`` (base in 0..31). Offset 0: ``base`` when that
    bit is set. Offset k > 0: the k-th set bit at or above ``base``, counting up; k < 0: the
    |k|-th at or below it, counting down, which is the (total - |k| + 1)-th counting up."""
    def i32(v: int) -> ConstantInt:
        return ConstantInt(I32, value=v)

    upward = _cmp(lw, "icmp", "sgt", offset, i32(0))
    above = _op(lw, "shl", I32, i32(-1), base)  # bits base..31
    below = _op(lw, "sub", I32, _op(lw, "shl", I32, i32(2), base), i32(1))  # bits 0..base
    bits = _op(lw, "and", I32, mask, _select(lw, upward, above, below))
    total = _air_math(lw, "popcount", I32, [bits])
    from_top = _op(lw, "add", I32, _op(lw, "add", I32, total, offset), i32(1))
    rank = _select(lw, upward, offset, from_top)  # 1-based, counting up
    found = _op(lw, "and", I1, _cmp(lw, "icmp", "sge", rank, i32(1)),
                _cmp(lw, "icmp", "sle", rank, total))
    position: Value = i32(0)
    for width in (16, 8, 4, 2, 1):  # skip the low half while it holds fewer than rank bits
        window = _op(lw, "and", I32, _op(lw, "lshr", I32, bits, position),
                     i32((1 << width) - 1))
        low = _air_math(lw, "popcount", I32, [window])
        skip = _cmp(lw, "icmp", "sgt", rank, low)
        position = _select(lw, skip, _op(lw, "add", I32, position, i32(width)), position)
        rank = _select(lw, skip, _op(lw, "sub", I32, rank, low), rank)
    nth = _select(lw, found, position, i32(-1))
    base_set = _cmp(lw, "icmp", "ne", _op(lw, "and", I32, _op(lw, "lshr", I32, mask, base),
                                          i32(1)), i32(0))
    at_base = _select(lw, base_set, base, i32(-1))
    return _select(lw, _cmp(lw, "icmp", "eq", offset, i32(0)), at_base, nth)


# --------------------------------------------------------------- arithmetic


def _arith(lw: Lowering, call: Call, op: str, mode: str) -> Rewrite:
    ty = call.ty
    args = list(call.args)
    if op == "fma":
        if mode != "rn":
            lw.ctx.warnings.append(lw.error(
                call, f"'@{call.callee_function.name}' (fused multiply-add rounded "  # type: ignore[union-attr]
                f"{_MODE_WORDS[mode]}) is computed rounded to nearest",
                "AIR has no directed rounding; results may differ in the last place"))
        return lw.done(_air_math(lw, "fma", ty, args))
    a, b = args
    opcode = {"add": "fadd", "mul": "fmul", "div": "fdiv"}[op]
    s = _op(lw, opcode, ty, a, b)
    if mode == "rn":
        return lw.done(s)
    if op == "add":  # TwoSum (Knuth): s + e == a + b exactly
        bb = _op(lw, "fsub", ty, s, a)
        aa = _op(lw, "fsub", ty, s, bb)
        e = _op(lw, "fadd", ty, _op(lw, "fsub", ty, a, aa), _op(lw, "fsub", ty, b, bb))
        e_pos, e_neg = _sign_tests(lw, e)
    elif op == "mul":  # TwoProduct: e = fma(a, b, -s) exactly
        neg = lw.emit(BinaryOp(ty, opcode="fsub", ops=[ConstantFP(ty, text="-0.000000e+00"), s]))
        e = _air_math(lw, "fma", ty, [a, b, neg])
        e_pos, e_neg = _sign_tests(lw, e)
    else:  # a/b - s = r/b with the exact remainder r = fma(-s, b, a)
        neg = lw.emit(BinaryOp(ty, opcode="fsub", ops=[ConstantFP(ty, text="-0.000000e+00"), s]))
        r = _air_math(lw, "fma", ty, [neg, b, a])
        r_pos, r_neg = _sign_tests(lw, r)
        b_pos = _cmp(lw, "fcmp", "ogt", b, _zero(ty))
        e_pos = _select(lw, b_pos, r_pos, r_neg)
        e_neg = _select(lw, b_pos, r_neg, r_pos)
    return lw.done(_nudge(lw, mode, s, e_pos, e_neg))


_MODE_WORDS = {"rz": "toward zero", "rm": "toward -infinity", "rp": "toward +infinity",
               "rn": "to nearest"}


# -------------------------------------------------------------- conversions


def _float_to_int(lw: Lowering, call: Call, kind: str, mode: str) -> Rewrite:
    src = call.args[0]
    value = src if mode == "rz" else _air_math(lw, _ROUND_FIRST[mode], src.ty, [src])
    opcode = "fptoui" if kind.startswith("u") else "fptosi"
    return lw.done(_convert(lw, opcode, call.ty, value))


def _int_to_float(lw: Lowering, call: Call, kind: str, mode: str) -> Rewrite:
    src = call.args[0]
    unsigned = kind.startswith("u")
    s = _convert(lw, "uitofp" if unsigned else "sitofp", call.ty, src)
    if mode == "rn":
        return lw.done(s)
    if src.ty != I32:
        lw.ctx.warnings.append(lw.error(
            call, f"'@{call.callee_function.name}' (64-bit integer to float rounded "  # type: ignore[union-attr]
            f"{_MODE_WORDS[mode]}) is converted rounded to nearest",
            "AIR has no directed rounding; results may differ in the last place"))
        return lw.done(s)
    wide = lw.emit(Cast(I64, opcode="zext" if unsigned else "sext", ops=[src]))
    back = _convert(lw, "fptosi", I64, s)  # |s| <= 2^32: exact in i64
    diff = _op(lw, "sub", I64, wide, back)
    e_pos = _cmp(lw, "icmp", "sgt", diff, ConstantInt(I64, value=0))
    e_neg = _cmp(lw, "icmp", "slt", diff, ConstantInt(I64, value=0))
    return lw.done(_nudge(lw, mode, s, e_pos, e_neg))


# --------------------------------------------------------------------- prmt


def _prmt(lw: Lowering, call: Call) -> Rewrite:
    """PTX ``prmt.b32`` default mode: byte k of the result is byte ``sel[4k+2:4k]`` of
    {b, a} (a = bytes 0-3), or that byte's sign replicated when ``sel[4k+3]`` is set."""
    a, b, sel = call.args
    pair = _op(lw, "or", I64, lw.emit(Cast(I64, opcode="zext", ops=[a])),
               _op(lw, "shl", I64, lw.emit(Cast(I64, opcode="zext", ops=[b])),
                   ConstantInt(I64, value=32)))
    result: Value = ConstantInt(I32, value=0)
    for k in range(4):
        nibble = _op(lw, "lshr", I32, sel, ConstantInt(I32, value=4 * k))
        index = _op(lw, "and", I32, nibble, ConstantInt(I32, value=7))
        shift = lw.emit(Cast(I64, opcode="zext", ops=[
            _op(lw, "shl", I32, index, ConstantInt(I32, value=3))]))
        byte = _op(lw, "and", I32, lw.emit(Cast(I32, opcode="trunc", ops=[
            _op(lw, "lshr", I64, pair, shift)])), ConstantInt(I32, value=0xFF))
        replicate = _cmp(lw, "icmp", "ne", _op(lw, "and", I32, nibble,
                                               ConstantInt(I32, value=8)), ConstantInt(I32, value=0))
        negative = _cmp(lw, "icmp", "ugt", byte, ConstantInt(I32, value=0x7F))
        signs = _select(lw, negative, ConstantInt(I32, value=0xFF), ConstantInt(I32, value=0))
        chosen = _select(lw, replicate, signs, byte)
        placed = _op(lw, "shl", I32, chosen, ConstantInt(I32, value=8 * k))
        result = _op(lw, "or", I32, result, placed)
    return lw.done(result)


__all__ = ["UPGRADED_SPELLINGS", "lower_nvvm_rounding", "source_spelling"]
