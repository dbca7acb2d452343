"""``__match_any_sync``/``__match_all_sync`` (NVVM ``match.{any,all}.sync``) as a loop of
SIMD shuffles.

``match.any.sync(mask, v)``: the lanes of ``mask`` whose ``v`` equals this lane's;
``match.all.sync(mask, v)``: ``mask`` and true when every lane of ``mask`` holds this lane's
``v``, else 0 and false (PTX ISA, ``match.sync``). Metal has no match instruction: each lane
reads every lane's value with a full-warp ``shfl.sync.idx`` in a loop over the 32 lanes
(one shuffle site, a uniform trip count, so every lane runs every shuffle) and sets the
bits of the equal ones. 64-bit values travel as two 32-bit halves.

Expects: kernels inlined, before ``lower_intrinsics`` (which lowers the shuffles).
Guarantees: no ``llvm.nvvm.match.*`` call remains.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantInt,
    InsertValue,
    Instruction,
    Module,
    Poison,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, I64
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.group_code import GroupCode

_MATCH = re.compile(r"llvm\.nvvm\.match\.(any|all)\.sync\.(i32|i64)p?")
_SHUFFLE_IDX = "llvm.nvvm.shfl.sync.idx.i32"
_FULL_WARP = 0x1F  # shfl.sync's c operand: no segments, clamp at lane 31


def lower_nvvm_match(module: Module, ctx: LoweringContext) -> None:
    for fn in module.functions:
        for inst in list(fn.instructions()):
            callee = inst.callee_function if isinstance(inst, Call) else None
            m = _MATCH.fullmatch(callee.name) if callee is not None else None
            if m is not None:
                assert isinstance(inst, Call)
                _expand(GroupCode(module, fn, inst, "match"), m.group(1) == "all")


def _expand(code: GroupCode, all_lanes: bool) -> None:
    call = code.call
    mask, value = call.args
    shuffle = code.declare(_SHUFFLE_IDX, I32, (I32, I32, I32, I32))

    def lane_of(part: Value, lane: Value, out: list[Instruction]) -> Value:
        return code.call_fn(shuffle, [ConstantInt(I32, value=-1), part, lane,
                                      ConstantInt(I32, value=_FULL_WARP)], out)

    def body(lane: Value, carried: list[Value], out: list[Instruction]) -> list[Value]:
        if value.ty == I64:
            halves = []
            for shift in (0, 32):
                part = value if shift == 0 else code.binary("lshr", value, shift, out)
                low = code.emit(Cast(I32, opcode="trunc", ops=[part]), out)
                got = lane_of(low, lane, out)
                halves.append(code.emit(Cast(I64, opcode="zext", ops=[got]), out))
            other = code.binary("or", halves[0], code.binary("shl", halves[1], 32, out), out)
        else:
            other = lane_of(value, lane, out)
        equal = code.emit(Compare(I1, opcode="icmp", predicate="eq", ops=[other, value]), out)
        bit = code.emit(BinaryOp(I32, opcode="shl", ops=[ConstantInt(I32, value=1), lane]), out)
        chosen = code.emit(Select(I32, opcode="select",
                                  ops=[equal, bit, ConstantInt(I32, value=0)]), out)
        return [code.binary("or", carried[0], chosen, out)]

    [same] = code.counted_loop(ConstantInt(I32, value=0), ConstantInt(I32, value=32), 1,
                               [ConstantInt(I32, value=0)], body)
    same = code.binary("and", same, mask)
    if not all_lanes:
        code.finish(same)
        return
    everyone = code.emit(Compare(I1, opcode="icmp", predicate="eq", ops=[same, mask]))
    result = code.emit(Select(I32, opcode="select", ops=[everyone, mask,
                                                        ConstantInt(I32, value=0)]))
    pair = call.ty
    first = code.emit(InsertValue(pair, opcode="insertvalue", ops=[Poison(pair), result],
                                  indices=[0]))
    code.finish(code.emit(InsertValue(pair, opcode="insertvalue", ops=[first, everyone],
                                      indices=[1])))
