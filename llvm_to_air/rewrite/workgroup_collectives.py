"""Work-group collectives: OpenCL 2.0's ``work_group_*`` functions and CUDA's
``__syncthreads_count``/``_and``/``_or``, as threadgroup memory, barriers and a loop.

Metal has no threadgroup-wide reduction, scan, vote or broadcast; a Metal kernel writes
them with a threadgroup array, and so does this stage. Each collective call becomes

    scratch[local linear id] = value;  barrier;
    result = fold of scratch[0, end) in local-id order   (a broadcast: one load);  barrier

where ``end`` is the threadgroup's size (reductions, votes), ``id + 1`` (inclusive scans)
or ``id`` (exclusive scans, whose first work-item gets the operation's identity, as the
OpenCL C specification defines). Every thread folds in the same order, so all work-items
of a group get the same reduction, bit for bit, as OpenCL requires of floating point too.
The closing barrier lets the next collective reuse the array. The array is one per module,
``__air_workgroup_scratch``: 1,024 slots (Apple GPUs' largest threadgroup) of the widest
element any collective uses.

The code is built by :class:`~llvm_to_air.rewrite.group_code.GroupCode` (local ids and sizes
from OpenCL's built-ins, NVVM barriers, counted loops).

Expects: kernels inlined (collectives called from helpers are in the kernels), before the
address spaces are mapped (the array is made in the producers' threadgroup space, 3) and
before the intrinsic and built-in stages.
Guarantees: no call to a work-group collective remains; a form with no equivalent (CUDA's
``.count`` barriers over part of a block) is a located error naming it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.forward import spell_float
from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantFP,
    ConstantInt,
    Function,
    GetElementPtr,
    GlobalVariable,
    Instruction,
    Load,
    Module,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    I32,
    VOID,
    ArrayType,
    FloatType,
    IntType,
    PointerType,
    Type,
)
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.demangle import demangle
from llvm_to_air.rewrite.group_code import GroupCode

SCRATCH = "__air_workgroup_scratch"
MAX_THREADS = 1024  # Apple GPUs' largest threadgroup
THREADGROUP_SPACE = 3  # every producer's (and AIR's) threadgroup/shared/local space


@dataclass(frozen=True)
class Collective:
    """One collective: how it combines (``add``/``min``/``max``/``and``/``or``, or
    ``broadcast``), over which slots (``all``/``inclusive``/``exclusive``), and whether its
    operand is a predicate (nonzero = true; folded as 0/1 in i32)."""

    combine: str
    span: str = "all"
    predicate: bool = False


# OpenCL C 2.0 work-group functions, by demangled name (the element type comes from the call)
OPENCL_COLLECTIVES: dict[str, Collective] = {
    "work_group_all": Collective("and", predicate=True),
    "work_group_any": Collective("or", predicate=True),
    "work_group_broadcast": Collective("broadcast"),
    **{f"work_group_reduce_{op}": Collective(op) for op in ("add", "min", "max")},
    **{f"work_group_scan_{span}_{op}": Collective(op, span)
       for span in ("inclusive", "exclusive") for op in ("add", "min", "max")},
}
# CUDA's barrier reductions: __syncthreads_count (popc), _and, _or. LLVM 20+ spells them
# barrier.cta.red.*(i32 id, i1 pred), older LLVM barrier0.*(i32 pred).
_NVVM_REDUCTION = re.compile(
    r"llvm\.nvvm\.(?:barrier\.cta\.red\.(popc|and|or)\.(?:aligned\.)?(all|count)"
    r"|barrier0\.(popc|and|or))")
_NVVM_COMBINE = {"popc": "add", "and": "and", "or": "or"}

_INT_OPS = {"add": "add", "and": "and", "or": "or"}
_MINMAX = {("min", "s"): "llvm.smin", ("min", "u"): "llvm.umin", ("min", "f"): "llvm.minnum",
           ("max", "s"): "llvm.smax", ("max", "u"): "llvm.umax", ("max", "f"): "llvm.maxnum"}


def lower_workgroup_collectives(module: Module, ctx: LoweringContext) -> None:
    sites = [(fn, call, found) for fn in module.functions if not fn.is_declaration
             for call in fn.instructions() if isinstance(call, Call)
             for found in [_recognize(call)] if found is not None]
    if not sites:
        return
    widest = max(_element_bytes(_element_type(call)) for _, call, (kind, _) in sites)
    slots = ArrayType(MAX_THREADS, IntType(8 * widest))
    scratch = GlobalVariable(PointerType(THREADGROUP_SPACE), name=_unique_global(module),
                             linkage="internal", value_type=slots, initializer=Undef(slots),
                             align=max(widest, 4))
    module.globals.append(scratch)
    for fn, call, (kind, collective) in sites:
        _Expansion(module, fn, call, scratch, kind, collective).run()


def _recognize(call: Call) -> tuple[str, Collective] | None:
    """The collective ``call`` makes and its element kind (``s``/``u``/``f``), if any."""
    callee = call.callee_function
    if callee is None:
        return None
    m = _NVVM_REDUCTION.fullmatch(callee.name)
    if m is not None:
        if m.group(2) == "count":
            raise CompileError(
                f"'@{callee.name}' (a barrier reduction over part of a block, bar.red with a "
                "thread count) has no Metal equivalent", call.location,
                hint="reduce over the whole block (__syncthreads_count/_and/_or)")
        return "u", Collective(_NVVM_COMBINE[m.group(1) or m.group(3)], predicate=True)
    if not callee.name.startswith("_Z") or "work_group_" not in callee.name:
        return None
    parsed = demangle(callee.name)
    if parsed is None or parsed[0] not in OPENCL_COLLECTIVES:
        return None
    base, params = parsed
    collective = OPENCL_COLLECTIVES[base]
    kind = params[0] if params and params[0] in ("s", "u", "f") else "s"
    if collective.predicate:
        kind = "s"
    return kind, collective


def _element_type(call: Call) -> Type:
    """What one scratch slot holds: the operand's type, or i32 for a predicate."""
    operand = _operand(call)
    return I32 if operand.ty == I1 else operand.ty


def _operand(call: Call) -> Value:
    name = call.callee_function.name  # type: ignore[union-attr]
    if name.startswith("llvm.nvvm.barrier.cta.red."):
        return call.args[1]
    return call.args[0]


def _element_bytes(ty: Type) -> int:
    if isinstance(ty, IntType):
        return max(ty.bits // 8, 1)
    assert isinstance(ty, FloatType)
    return {"half": 2, "bfloat": 2, "float": 4, "double": 8}[ty.kind]


def _unique_global(module: Module) -> str:
    taken = {gv.name for gv in module.globals}
    name, k = SCRATCH, 0
    while name in taken:
        k += 1
        name = f"{SCRATCH}.{k}"
    return name


class _Expansion(GroupCode):
    """Rewrites one collective call in place."""

    def __init__(self, module: Module, fn: Function, call: Call, scratch: GlobalVariable,
                 kind: str, collective: Collective) -> None:
        super().__init__(module, fn, call, "wg")
        self.scratch, self.kind, self.collective = scratch, kind, collective

    def slot(self, ty: Type, index: Value, into: list[Instruction] | None = None) -> Value:
        return self.emit(GetElementPtr(self.scratch.ty, opcode="getelementptr",
                                       ops=[self.scratch, index], source_type=ty,
                                       flags=("inbounds",)), into)

    # ------------------------------------------------------------- semantics
    def combine(self, acc: Value, x: Value, into: list[Instruction]) -> Value:
        op = self.collective.combine
        ty = acc.ty
        if op == "add" and isinstance(ty, FloatType):
            return self.emit(BinaryOp(ty, opcode="fadd", ops=[acc, x]), into)
        if op in _INT_OPS:
            return self.emit(BinaryOp(ty, opcode=_INT_OPS[op], ops=[acc, x]), into)
        stem = _MINMAX[(op, self.kind)]
        suffix = f"i{ty.bits}" if isinstance(ty, IntType) else {  # type: ignore[attr-defined]
            "half": "f16", "bfloat": "bf16", "float": "f32", "double": "f64"}[ty.kind]
        fn = self.declare(f"{stem}.{suffix}", ty, (ty, ty),
                          ("nounwind", "readnone", "speculatable", "willreturn"))
        return self.call_fn(fn, [acc, x], into)

    def identity(self, ty: Type, neutral: bool) -> Value:
        """The fold's starting value; ``neutral`` gives -0.0 for a float sum (so an
        all -0.0 sum stays -0.0), else the identity OpenCL names (0 for add)."""
        op = self.collective.combine
        if isinstance(ty, FloatType):
            start = -0.0 if op == "add" and neutral else {"add": 0.0, "min": math.inf,
                                                          "max": -math.inf}[op]
            return ConstantFP(ty, text=spell_float(ty.kind, start))
        assert isinstance(ty, IntType)
        bits = ty.bits
        start_int = {"add": 0, "or": 0, "and": -1,
                     "min": (1 << (bits - 1)) - 1 if self.kind == "s" else -1,
                     "max": -(1 << (bits - 1)) if self.kind == "s" else 0}[op]
        return ConstantInt(ty, value=start_int)

    # ------------------------------------------------------------- rewrite
    def run(self) -> None:
        call, collective = self.call, self.collective
        operand = _operand(call)
        ty = _element_type(call)
        if collective.predicate:
            truth = operand if operand.ty == I1 else self.emit(Compare(
                I1, opcode="icmp", predicate="ne", ops=[operand, ConstantInt(operand.ty,
                                                                                value=0)]))
            operand = self.emit(Cast(I32, opcode="zext", ops=[truth]))
        ids, sizes = self.group()
        linear = self.linear(ids, sizes)
        self.emit(Store(VOID, opcode="store", ops=[operand, self.slot(ty, linear)],
                        align=_element_bytes(ty)))
        self.barrier()
        if collective.combine == "broadcast":
            coords = [self.resize(v, I32) for v in call.args[1:]]
            coords += [ConstantInt(I32, value=0)] * (3 - len(coords))
            result: Value = self.emit(Load(ty, opcode="load", align=_element_bytes(ty),
                                           ops=[self.slot(ty, self.linear(coords, sizes))]))
        else:
            end = {"all": self.count(sizes), "inclusive": self.binary("add", linear, 1),
                   "exclusive": linear}[collective.span]

            def fold(index: Value, acc: list[Value], into: list[Instruction]) -> list[Value]:
                x = self.emit(Load(ty, opcode="load", ops=[self.slot(ty, index, into)],
                                   align=_element_bytes(ty)), into)
                return [self.combine(acc[0], x, into)]

            [result] = self.counted_loop(ConstantInt(I32, value=0), end, 1,
                                         [self.identity(ty, neutral=True)], fold)
            if collective.span == "exclusive" and isinstance(ty, FloatType) and \
                    collective.combine == "add":
                empty = self.emit(Compare(I1, opcode="icmp", predicate="eq",
                                          ops=[end, ConstantInt(I32, value=0)]))
                result = self.emit(Select(ty, opcode="select",
                                          ops=[empty, self.identity(ty, neutral=False), result]))
        self.barrier()
        if call.ty != result.ty:
            result = self._to_call_type(result)
        self.finish(result)

    def _to_call_type(self, result: Value) -> Value:
        if self.call.ty == I1:
            return self.emit(Compare(I1, opcode="icmp", predicate="ne",
                                     ops=[result, ConstantInt(result.ty, value=0)]))
        return self.emit(Cast(self.call.ty, opcode="zext" if result.ty == I1 else "trunc",
                              ops=[result]))
