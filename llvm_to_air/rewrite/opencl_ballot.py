"""cl_khr_subgroup_ballot: sub-group ballots as ``uint4`` masks (OpenCL extension spec,
"Sub-group Ballot Functions").

Expects: called by :mod:`intrinsic_math` for OpenCL builtins whose demangled name is in
:data:`BALLOT_BUILTINS`, inside a kernel. Guarantees: each call is replaced by
``air.simd_ballot`` (an ``i64``: lane k is bit k) and plain instructions. A ``uint4`` ballot
holds lanes 0-31 in ``.x`` and 32-63 in ``.y``; ``.z``/``.w`` are 0 (Apple SIMD groups
have 32 lanes, so bits past 63 never exist). Functions that read a ``uint4`` join ``.x`` and
``.y`` into one 64-bit mask:

- ``sub_group_ballot(p)``: the lanes whose ``p`` is non-zero;
- ``sub_group_inverse_ballot(v)`` / ``sub_group_ballot_bit_extract(v, i)``: bit ``lane`` /
  ``i`` of ``v``, as 0 or 1;
- ``sub_group_ballot_bit_count``: the set bits; ``..._inclusive_scan`` /
  ``..._exclusive_scan``: the set bits at lanes <= / < this one;
- ``sub_group_ballot_find_lsb`` / ``find_msb``: the lowest / highest set bit;
- ``get_sub_group_{eq,ge,gt,le,lt}_mask()``: the lanes ==, >=, >, <=, < this one (``ge``/
  ``gt`` stop at the sub-group's last lane, 31, as SPIR-V's SubgroupGeMask does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    InsertElement,
    Poison,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, I64, Type
from llvm_to_air.rewrite.intrinsic_base import Rewrite

if TYPE_CHECKING:
    from llvm_to_air.rewrite.intrinsics import Lowering

SIMD_LANES_MASK = (1 << 32) - 1  # Apple SIMD groups: 32 lanes


class _Ballot:
    """Emitting helpers over one lowering, for one call."""

    def __init__(self, lw: Lowering) -> None:
        self.lw = lw

    def op(self, opcode: str, ty: Type, a: Value, b: Value | int) -> Value:
        other = ConstantInt(ty, value=b) if isinstance(b, int) else b
        return self.lw.emit(BinaryOp(ty, opcode=opcode, ops=[a, other]))

    def cast(self, opcode: str, ty: Type, value: Value) -> Value:
        return self.lw.emit(Cast(ty, opcode=opcode, ops=[value]))

    def mask64(self, vec: Value) -> Value:
        """``.x | .y << 32`` of a ``uint4`` ballot."""
        x, y = (self.lw.emit(ExtractElement(I32, opcode="extractelement",
                                            ops=[vec, ConstantInt(I32, value=k)]))
                for k in (0, 1))
        high = self.op("shl", I64, self.cast("zext", I64, y), 32)
        return self.op("or", I64, high, self.cast("zext", I64, x))

    def uint4(self, mask: Value, ty: Type) -> Value:
        vec: Value = Poison(ty)
        words = [self.cast("trunc", I32, mask),
                 self.cast("trunc", I32, self.op("lshr", I64, mask, 32)),
                 ConstantInt(I32, value=0), ConstantInt(I32, value=0)]
        for k, word in enumerate(words):
            vec = self.lw.emit(InsertElement(ty, opcode="insertelement",
                                             ops=[vec, word, ConstantInt(I32, value=k)]))
        return vec

    def lane(self) -> Value:
        return self.cast("zext", I64, self.lw.lane_id())

    def bit(self, mask: Value, index: Value) -> Value:
        """Bit ``index`` (i64) of ``mask`` as an i32 0 or 1 (0 past bit 63)."""
        inside = self.lw.emit(Compare(I1, opcode="icmp", predicate="ult",
                                      ops=[index, ConstantInt(I64, value=64)]))
        safe = self.lw.emit(BinaryOp(I64, opcode="and", ops=[index, ConstantInt(I64, value=63)]))
        one = self.op("and", I64, self.op("lshr", I64, mask, safe), 1)
        value = self.cast("trunc", I32, one)
        return self.lw.emit(_select(inside, value, ConstantInt(I32, value=0)))

    def count(self, mask: Value) -> Value:
        total = self.lw.emit(self.lw.air.call("air.popcount.i64", I64, [mask], "math"))
        return self.cast("trunc", I32, total)

    def below(self, inclusive: bool) -> Value:
        """The lanes below this one (and this one when ``inclusive``)."""
        shift = self.op("add", I64, self.lane(), 1) if inclusive else self.lane()
        return self.op("sub", I64, self.op("shl", I64, ConstantInt(I64, value=1), shift), 1)


def _select(cond: Value, a: Value, b: Value) -> Value:
    return Select(a.ty, opcode="select", ops=[cond, a, b])


def _ballot(b: _Ballot, call: Call) -> Value:
    pred = b.lw.emit(Compare(I1, opcode="icmp", predicate="ne",
                             ops=[call.args[0], ConstantInt(call.args[0].ty, value=0)]))
    return b.uint4(b.lw.emit(b.lw.simd("simd_ballot", I64, [pred])), call.ty)


def _inverse(b: _Ballot, call: Call) -> Value:
    return b.bit(b.mask64(call.args[0]), b.lane())


def _extract(b: _Ballot, call: Call) -> Value:
    return b.bit(b.mask64(call.args[0]), b.cast("zext", I64, call.args[1]))


def _count(b: _Ballot, call: Call) -> Value:
    return b.count(b.mask64(call.args[0]))


def _scan(inclusive: bool) -> Callable[[_Ballot, Call], Value]:
    def build(b: _Ballot, call: Call) -> Value:
        return b.count(b.op("and", I64, b.mask64(call.args[0]), b.below(inclusive)))
    return build


def _find(lowest: bool) -> Callable[[_Ballot, Call], Value]:
    """The lowest/highest set bit (the spec leaves an empty mask undefined: -1 here)."""
    def build(b: _Ballot, call: Call) -> Value:
        mask = b.mask64(call.args[0])
        name = "air.ctz.i64" if lowest else "air.clz.i64"
        zeros = b.cast("trunc", I32, b.lw.emit(b.lw.air.call(name, I64, [mask], "math")))
        return zeros if lowest else b.op("sub", I32, ConstantInt(I32, value=63), zeros)
    return build


def _lane_mask(which: str) -> Callable[[_Ballot, Call], Value]:
    def build(b: _Ballot, call: Call) -> Value:
        if which in ("ge", "gt"):  # the complement of lt / le, up to the group's last lane
            mask = b.op("xor", I64, b.below(inclusive=which == "gt"), SIMD_LANES_MASK)
        elif which == "eq":
            mask = b.op("shl", I64, ConstantInt(I64, value=1), b.lane())
        else:
            mask = b.below(inclusive=which == "le")
        return b.uint4(mask, call.ty)
    return build


BALLOT_BUILTINS: dict[str, Callable[[_Ballot, Call], Value]] = {
    "sub_group_ballot": _ballot,
    "sub_group_inverse_ballot": _inverse,
    "sub_group_ballot_bit_extract": _extract,
    "sub_group_ballot_bit_count": _count,
    "sub_group_ballot_inclusive_scan": _scan(True),
    "sub_group_ballot_exclusive_scan": _scan(False),
    "sub_group_ballot_find_lsb": _find(True),
    "sub_group_ballot_find_msb": _find(False),
    **{f"get_sub_group_{w}_mask": _lane_mask(w) for w in ("eq", "ge", "gt", "le", "lt")},
}


def lower_ballot(lw: Lowering, call: Call, base: str) -> Rewrite:
    return lw.done(BALLOT_BUILTINS[base](_Ballot(lw), call))
