"""Narrowed rounds: a round that only some threads work in loops over only those.

Expects: a step function from :func:`~.hostir.make_step_function` (laid out by lane or
not, checked or not): the prologue (``fn.blocks[0]``) ends in the switch on the resume
point, whose case ``k`` goes to site ``k``'s restore block (loads from the frame, each
stored to a local slot, an ``alloca`` of the prologue), which branches to the code after
the call.

Guarantees: :func:`plan_narrowing` names the sites ``k`` after which each thread first
branches on a guard that admits a prefix of the threadgroup's threads, ``tid < s`` (or
``s > tid``, ``tid <= s``, signed or unsigned, or ``tid == 0``, either branch the work)
with ``tid`` the thread's x position in the threadgroup or its linear index and ``s``
the same for every thread of a group (a constant, a built-in input that the driver
computes once per group, and integer arithmetic on those), where the other branch goes
straight to a threadgroup barrier or to the kernel's end: a thread the guard turns away
stores nothing, calls nothing, and its frame is left as it was (each value it would save
is the one it restored). :func:`emit_limit` computes, once per round in the driver, how
many of the first threads the guard admits; the round (:mod:`.rounds`) runs only those
and sets the others' states to what they would have returned.

Why: a tree reduction's round at level ``s`` has ``s`` threads adding while the others
branch past; running every thread costs the whole threadgroup each level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    BasicBlock,
    BinaryOp,
    Branch,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    Function,
    Instruction,
    Load,
    Phi,
    Return,
    Store,
    Switch,
    Value,
)
from llvm_to_air.ir.types import IntType, VectorType
from llvm_to_air.runner.hostir import is_speculatable
from llvm_to_air.runner.lanes import THREAD_PARAM
from llvm_to_air.runner.lockstep import DONE

# the role of a kernel argument (with the lane of a vector one; None for a scalar), or None
Roles = Callable[[Argument, int | None], str | None]
# the driver's register holding a uniform built-in input's lane (an i32)
UniformValue = Callable[[str, int], str]

# (role, lane) -> the loop index of the round it is: "x" the x position, "t" the linear
# index (a scalar of a vector role is its x)
THREAD_INPUTS = {("thread_position_in_threadgroup", 0): "x",
                 ("thread_position_in_threadgroup", None): "x",
                 ("thread_index_in_threadgroup", None): "t"}
# integer operations the driver may compute on uniform values (none of them traps)
UNIFORM_OPERATIONS = frozenset({"add", "sub", "mul", "and", "or", "xor", "shl", "lshr", "ashr",
                                "zext", "sext", "trunc"})
MAX_DEPTH = 8  # deepest uniform expression, and longest chain of empty blocks, followed

SWAPPED = {"eq": "eq", "ne": "ne", "ult": "ugt", "ugt": "ult", "ule": "uge", "uge": "ule",
           "slt": "sgt", "sgt": "slt", "sle": "sge", "sge": "sle"}
INVERSE = {"eq": "ne", "ne": "eq", "ult": "uge", "uge": "ult", "ugt": "ule", "ule": "ugt",
           "slt": "sge", "sge": "slt", "sgt": "sle", "sle": "sgt"}
# predicate ``tid P s`` that admits a prefix -> (how s widens to i128, what adds to it):
# the admitted threads are those with index below the limit ``widened(s) + extra``
PREFIXES = {"ult": ("zext", 0), "ule": ("zext", 1), "slt": ("sext", 0), "sle": ("sext", 1)}


@dataclass(frozen=True)
class Narrowing:
    """Round ``k``'s guard: threads whose ``lane`` index is below the limit work; each
    other thread's state becomes ``skipped`` (``-site`` of the barrier it goes to, or
    ``DONE``)."""

    lane: str        # "x" or "t" (see THREAD_INPUTS)
    predicate: str   # a key of PREFIXES, or "eq" (tid == 0: the limit is 1)
    bound: Value     # s, uniform over the group
    skipped: int


class _Analysis:
    """The thread and uniform operands of one step function."""

    def __init__(self, roles: Roles, uniform_roles: frozenset[str]) -> None:
        self.roles = roles
        self.uniform_roles = uniform_roles

    def _input_role(self, v: Value) -> tuple[str, int | None] | None:
        if isinstance(v, Argument):
            role = self.roles(v, None)
            return (role, None) if role and not isinstance(v.ty, VectorType) else None
        if isinstance(v, ExtractElement) and isinstance(v.ops[0], Argument) \
                and isinstance(v.ops[1], ConstantInt):
            role = self.roles(v.ops[0], v.ops[1].value)
            return (role, v.ops[1].value) if role else None
        return None

    def thread_lane(self, v: Value) -> str | None:
        """``"x"`` or ``"t"`` where ``v`` is that loop index (widened), else None."""
        while isinstance(v, Cast) and v.opcode in ("zext", "sext"):
            v = v.ops[0]  # an index is below 2**31: widening keeps its value
        if isinstance(v, Argument) and v.name == THREAD_PARAM:
            return "t"
        found = self._input_role(v)
        return THREAD_INPUTS.get(found) if found else None

    def uniform(self, v: Value, depth: int = 0) -> bool:
        """Whether the driver can compute ``v`` once for the whole group."""
        if not isinstance(v.ty, IntType) or depth > MAX_DEPTH:
            return False
        if isinstance(v, ConstantInt):
            return True
        found = self._input_role(v)
        if found:
            return found[0] in self.uniform_roles and v.ty.bits <= 32
        if isinstance(v, BinaryOp | Cast) and v.opcode in UNIFORM_OPERATIONS \
                and is_speculatable(v):
            return all(self.uniform(op, depth + 1) for op in v.ops)
        return False


def _restored(restore: BasicBlock) -> dict[int, Value] | None:
    """Local slot -> the frame address it is restored from, for a restore block of
    load-store pairs; None for any other block."""
    pairs: dict[int, Value] = {}
    loaded: dict[int, Value] = {}
    for inst in restore.instructions[:-1]:
        if isinstance(inst, Load):
            loaded[id(inst)] = inst.ops[0]
        elif isinstance(inst, Store) and id(inst.ops[0]) in loaded \
                and isinstance(inst.ops[1], Alloca):
            pairs[id(inst.ops[1])] = loaded[id(inst.ops[0])]
        else:
            return None
    return pairs


def _quiet(inst: Instruction) -> bool:
    """Computes a value with no effect: pure arithmetic or a local slot's load."""
    if isinstance(inst, Load):
        return isinstance(inst.ops[0], Alloca)
    return is_speculatable(inst)


def _skipped_state(block: BasicBlock, restored: dict[int, Value],
                   barriers: frozenset[int]) -> int | None:
    """The state a thread entering ``block`` ends the round in, where it gets there with
    no effect but saving the values it restored; None otherwise."""
    for _ in range(MAX_DEPTH):
        if any(isinstance(i, Phi) for i in block.instructions):
            return None
        term = block.terminator
        body = block.instructions[:-1]
        if isinstance(term, Branch) and not term.ops and not body:
            block = term.targets[0]
            continue
        if not isinstance(term, Return) or not term.ops \
                or not isinstance(term.ops[0], ConstantInt):
            return None
        loads = {id(i): i.ops[0] for i in body if isinstance(i, Load)}
        for inst in body:
            if isinstance(inst, Store):  # a save: must write back what was restored
                slot = loads.get(id(inst.ops[0]))
                if slot is None or restored.get(id(slot)) is not inst.ops[1]:
                    return None
            elif not _quiet(inst):
                return None
        site = term.ops[0].value
        return DONE if site == 0 else -site if site in barriers else None
    return None


def plan_narrowing(fn: Function, roles: Roles, uniform_roles: frozenset[str],
                   barriers: frozenset[int]) -> dict[int, Narrowing]:
    """The narrowable rounds of step function ``fn`` by site (see the module docstring);
    ``barriers`` are the sites that are barriers (no operands, no result)."""
    switch = fn.blocks[0].terminator
    if not isinstance(switch, Switch):
        return {}
    analysis = _Analysis(roles, uniform_roles)
    found: dict[int, Narrowing] = {}
    for case, restore in zip(switch.ops[1:], switch.targets[1:], strict=True):
        jump = restore.terminator
        restored = _restored(restore)
        if not isinstance(case, ConstantInt) or restored is None \
                or not isinstance(jump, Branch) or jump.ops:
            continue
        narrowing = _guard(jump.targets[0], restored, analysis, barriers)
        if narrowing is not None:
            found[case.value] = narrowing
    return found


def _guard(rest: BasicBlock, restored: dict[int, Value], analysis: _Analysis,
           barriers: frozenset[int]) -> Narrowing | None:
    """Round ``rest``'s narrowing, if it starts with a guard as the module docstring
    says."""
    branch = rest.terminator
    if not isinstance(branch, Branch) or len(branch.targets) != 2 \
            or not all(_quiet(i) for i in rest.instructions[:-1]):
        return None
    test = branch.ops[0]
    if not isinstance(test, Compare) or test.opcode != "icmp":
        return None
    lhs, rhs = test.ops
    if analysis.thread_lane(lhs) and analysis.uniform(rhs):
        lane, bound, predicate = analysis.thread_lane(lhs), rhs, test.predicate
    elif analysis.thread_lane(rhs) and analysis.uniform(lhs):
        lane, bound, predicate = analysis.thread_lane(rhs), lhs, SWAPPED[test.predicate]
    else:
        return None
    for work, other in ((0, 1), (1, 0)):
        admits = predicate if work == 0 else INVERSE[predicate]
        if admits not in PREFIXES and not (
                admits == "eq" and isinstance(bound, ConstantInt) and bound.value == 0):
            continue
        skipped = _skipped_state(branch.targets[other], restored, barriers)
        if skipped is not None:
            assert lane is not None
            return Narrowing(lane, admits, bound, skipped)
    return None


def _constant(value: ConstantInt) -> str:
    """The constant as LLVM text (signed, in its type's range)."""
    assert isinstance(value.ty, IntType)
    bits = value.ty.bits
    v = value.value % (1 << bits)
    return str(v - (1 << bits) if v >> (bits - 1) else v)


def _emit_uniform(t: Callable[[str], str], v: Value, analysis_roles: Roles,
                  value_of: UniformValue) -> str:
    """Driver text computing uniform ``v`` (as :meth:`_Analysis.uniform` accepts it)."""
    if isinstance(v, ConstantInt):
        return _constant(v)
    ty = v.ty
    assert isinstance(ty, IntType)
    if isinstance(v, Argument | ExtractElement):
        arg, lane = (v, None) if isinstance(v, Argument) else (v.ops[0], v.ops[1].value)
        role = analysis_roles(arg, lane)  # type: ignore[arg-type]
        assert role is not None and (lane is None or isinstance(lane, int))
        value = value_of(role, lane or 0)
        return t(f"trunc i32 {value} to {ty}") if ty.bits < 32 else value
    ops = [_emit_uniform(t, op, analysis_roles, value_of) for op in v.ops]
    if isinstance(v, Cast):
        return t(f"{v.opcode} {v.ops[0].ty} {ops[0]} to {ty}")
    return t(f"{v.opcode} {ty} {ops[0]}, {ops[1]}")


def emit_limit(t: Callable[[str], str], narrowing: Narrowing, roles: Roles,
               value_of: UniformValue) -> str:
    """Driver text of the ``i128`` limit: the guard admits exactly the threads whose
    index (``narrowing.lane``) is below it."""
    if narrowing.predicate == "eq":
        return "1"
    widen, extra = PREFIXES[narrowing.predicate]
    bound = t("freeze " + f"{narrowing.bound.ty} " +
              _emit_uniform(t, narrowing.bound, roles, value_of))
    wide = t(f"{widen} {narrowing.bound.ty} {bound} to i128")
    return t(f"add i128 {wide}, {extra}") if extra else wide


__all__ = ["Narrowing", "emit_limit", "plan_narrowing"]
