"""Checked mode without per-access checks where one range check per threadgroup suffices.

Checked mode guards each access with ``__air_chk(p, size, lo, hi, site)``
(:func:`~.hostir.instrument_bounds`). The branch in every access keeps LLVM from
vectorizing a round's loop over the threads of a group. Many guarded addresses are pure
functions of the kernel's parameters and the thread's position (``in + (group * 256 +
tid) * 4``): over the threads of one group such an address takes values in an interval
that the driver can compute once, before the group runs. This is loop versioning (as
LLVM's loop versioning and IRCE do) with the group's threads as the loop.

:func:`plan_versions` expects the kernel after every :mod:`.hostir` step (bounds
instrumented, address spaces erased, the step transform done; the module's data layout
already the host's). It picks the ``__air_chk`` calls whose pointer it can bound (see
:class:`Ranges`), and adds to the module a copy of the kernel, the *unchecked* version,
in which those calls are gone (their pointer used directly); every other check stays.

:func:`emit_group_check` emits, in the driver, the test that chooses the version for one
threadgroup: for each picked call, the interval of its address over the group's threads
lies in ``[lo, hi - size]`` of its binding. It guarantees (soundness): when the test
passes, no thread of the group makes a picked access out of bounds, so the unchecked
version behaves as the checked one. When it fails (an access out of bounds, or one that
the test could not bound), the group runs the checked version, with today's error for
the same access. The test may fail for an in-bounds group (intervals over-approximate,
accesses under a condition count as if every thread made them): that costs speed only.

Intervals are exact integers (``i128`` in the emitted code) holding every thread's value
in its signed reading. Each operation checks that its exact result fits its type, so
wrap-around never happens where the test passes; unsigned operations (``zext``,
``lshr``, ``udiv``, ``urem``, ``nuw`` flags) require non-negative operands, where the
signed and unsigned readings agree; addresses must lie in ``[0, 2**63)``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Argument,
    BasicBlock,
    BinaryOp,
    BlockAddress,
    Call,
    Cast,
    ConstantExpr,
    ConstantInt,
    ExtractElement,
    Freeze,
    Function,
    GetElementPtr,
    Load,
    MetadataValue,
    Module,
    OperandBundle,
    Select,
    Value,
)
from llvm_to_air.ir.types import (
    ArrayType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    VectorType,
)

UNCHECKED_SUFFIX = ".__air_unchecked"
CHECK_FUNCTION = "__air_chk"
POINTER_MAX = 2 ** 63 - 1
# the longest chain of operations an address may take from the arguments: keeps the
# recursion and the driver's code small (a fresh walk from each address, as
# plan_versions does, reaches every value no deeper than a walk sharing results does)
MAX_DEPTH = 64

Interval = tuple[str, str]  # i128 operands (registers or literals): lowest, highest value
Emit = Callable[[str], str]  # one instruction's text -> the register it defines
# an argument (and a lane of a vector argument) -> its interval, None when unknown
Leaf = Callable[[Argument, int | None], Interval | None]


class NotBounded(Exception):
    """The value is not one that :class:`Ranges` bounds."""


@dataclass(frozen=True)
class VersionedAccess:
    """One ``__air_chk`` call that the group check covers."""

    address: Value   # its pointer operand (a value of the checked kernel)
    size: int        # bytes accessed
    entry: int       # bounds-table entry


@dataclass
class VersionPlan:
    checked: Function
    unchecked: Function
    accesses: list[VersionedAccess]


# ------------------------------------------------------------------ intervals


def _type_range(ty: Type) -> tuple[int, int]:
    if isinstance(ty, IntType):
        return -(2 ** (ty.bits - 1)), 2 ** (ty.bits - 1) - 1
    if isinstance(ty, PointerType):
        return 0, POINTER_MAX
    raise NotBounded(f"type {ty}")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _constant(value: Value) -> int:
    if not isinstance(value, ConstantInt) or not isinstance(value.ty, IntType):
        raise NotBounded("not an integer constant")
    return _signed(value.value, value.ty.bits)


def _unsigned_constant(value: Value) -> int:
    number = _constant(value)
    assert isinstance(value.ty, IntType)
    return number & ((1 << value.ty.bits) - 1)


class Ranges:
    """Emits, through ``emit``, the interval of a value over a group's threads.

    Bounded: integer and pointer values built from arguments that ``leaf`` knows, integer
    constants, ``add sub mul shl or and lshr ashr`` (shift amounts constant), ``udiv
    sdiv urem`` by positive constants, ``zext sext trunc ptrtoint inttoptr bitcast
    addrspacecast freeze select``, ``extractelement`` of a vector argument at a constant
    lane, and ``getelementptr`` with scalar indices. ``conditions`` collects the ``i1``
    registers that must all hold for the intervals to be valid. With ``emit`` returning a
    placeholder, a run answers only whether a value is bounded (:class:`NotBounded`).
    """

    def __init__(self, emit: Emit, leaf: Leaf, layout: DataLayout,
                 structs: dict[str, StructType | None]) -> None:
        self.emit = emit
        self.leaf = leaf
        self.layout = layout
        self.structs = structs
        self.conditions: list[str] = []
        self.memo: dict[int, Interval] = {}
        self.depth = 0

    # helpers on i128 operands
    def op(self, opcode: str, a: str, b: str) -> str:
        return self.emit(f"{opcode} i128 {a}, {b}")

    def divide(self, a: str, divisor: str) -> str:
        """``a / divisor`` rounded toward zero, in i64: no i128 division, which would
        need a library call the JIT does not link (operands fit i64 where the test
        holds, and the divisor is positive)."""
        quotient = self.emit(f"sdiv i64 {self.emit(f'trunc i128 {a} to i64')}, {divisor}")
        return self.emit(f"sext i64 {quotient} to i128")

    def pick(self, predicate: str, a: str, b: str) -> str:
        return self.emit(f"select i1 {self.emit(f'icmp {predicate} i128 {a}, {b}')}, "
                         f"i128 {a}, i128 {b}")

    def require(self, predicate: str, a: str, b: str) -> None:
        self.conditions.append(self.emit(f"icmp {predicate} i128 {a}, {b}"))

    def nonnegative(self, interval: Interval) -> None:
        self.require("sge", interval[0], "0")

    def fit(self, interval: Interval, ty: Type) -> Interval:
        low, high = _type_range(ty)
        self.require("sge", interval[0], str(low))
        self.require("sle", interval[1], str(high))
        return interval

    def of(self, value: Value) -> Interval:
        key = id(value)
        if key not in self.memo:
            if self.depth == MAX_DEPTH:
                raise NotBounded("a deeper expression than the check covers")
            self.depth += 1
            try:
                self.memo[key] = self._compute(value)
            finally:
                self.depth -= 1
        return self.memo[key]

    def _compute(self, value: Value) -> Interval:
        _type_range(value.ty)  # integer or pointer
        if isinstance(value, ConstantInt):
            number = str(_constant(value))
            return number, number
        if isinstance(value, Argument):
            return self._leaf(value, None)
        opcode = getattr(value, "opcode", "")
        flags = getattr(value, "flags", ())
        if "exact" in flags:
            raise NotBounded("exact division or shift")
        if isinstance(value, BinaryOp) and opcode in _BINARY:
            a, b = self.of(value.ops[0]), self.of(value.ops[1])
            result = self.fit(_BINARY[opcode](self, a, b, value.ops[1]), value.ty)
            if "nuw" in flags:  # no unsigned wrap: operands and result read unsigned
                for interval in (a, b, result):
                    self.nonnegative(interval)
            return result
        if isinstance(value, Cast | ConstantExpr) and opcode in _CASTS:
            inner = self.of(value.ops[0])
            if _CASTS[opcode] or "nuw" in flags:
                self.nonnegative(inner)
            return self.fit(inner, value.ty)
        if isinstance(value, GetElementPtr) or (isinstance(value, ConstantExpr)
                                                and opcode == "getelementptr"):
            return self._gep(value)
        if isinstance(value, Select):
            a, b = self.of(value.ops[1]), self.of(value.ops[2])
            return self.pick("slt", a[0], b[0]), self.pick("sgt", a[1], b[1])
        if isinstance(value, Freeze):
            return self.of(value.ops[0])
        if isinstance(value, ExtractElement) and isinstance(value.ops[0], Argument):
            return self._leaf(value.ops[0], _constant(value.ops[1]))
        raise NotBounded(f"{type(value).__name__} {opcode}")

    def _leaf(self, arg: Argument, lane: int | None) -> Interval:
        found = self.leaf(arg, lane)
        if found is None:
            raise NotBounded(f"argument {arg.name}")
        element = arg.ty.element if isinstance(arg.ty, VectorType) else arg.ty
        return self.fit(found, element)

    def _gep(self, gep: Value) -> Interval:
        base = self.of(gep.ops[0])
        low, high = base
        current: Type = getattr(gep, "source_type", None) or IntType(8)
        nonnegative_terms = "nuw" in getattr(gep, "flags", ())
        for k, index in enumerate(gep.ops[1:]):
            if not isinstance(index.ty, IntType) or index.ty.bits > 64:
                raise NotBounded("vector or wide GEP index")
            if k > 0 and isinstance(current, StructType | NamedStructType):
                offsets = self.layout.struct_layout(current, self.structs)[0]
                field = _unsigned_constant(index)
                body = self.structs.get(current.name) if isinstance(current, NamedStructType) \
                    else current
                assert isinstance(body, StructType)
                current = body.fields[field]
                low = self.op("add", low, str(offsets[field]))
                high = self.op("add", high, str(offsets[field]))
                continue
            if k > 0:
                if not isinstance(current, ArrayType | VectorType):
                    raise NotBounded(f"GEP into {current}")
                current = current.element
            scale = self.layout.alloc_size(current, self.structs)  # type: ignore[arg-type]
            term = self.of(index)
            if nonnegative_terms:
                self.nonnegative(term)
            low = self.op("add", low, self.op("mul", term[0], str(scale)))
            high = self.op("add", high, self.op("mul", term[1], str(scale)))
        return self.fit((low, high), gep.ty)


def _add(r: Ranges, a: Interval, b: Interval, _: Value) -> Interval:
    return r.op("add", a[0], b[0]), r.op("add", a[1], b[1])


def _sub(r: Ranges, a: Interval, b: Interval, _: Value) -> Interval:
    return r.op("sub", a[0], b[1]), r.op("sub", a[1], b[0])


def _mul(r: Ranges, a: Interval, b: Interval, _: Value) -> Interval:
    products = [r.op("mul", x, y) for x in a for y in b]
    low, high = products[0], products[0]
    for p in products[1:]:
        low, high = r.pick("slt", low, p), r.pick("sgt", high, p)
    return low, high


def _shift(rhs: Value, bits: int) -> int:
    amount = _unsigned_constant(rhs)
    if amount >= bits:
        raise NotBounded("shift by the width or more")
    return amount


def _shl(r: Ranges, a: Interval, _: Interval, rhs: Value) -> Interval:
    factor = str(2 ** _shift(rhs, rhs.ty.bits))  # type: ignore[attr-defined]
    return r.op("mul", a[0], factor), r.op("mul", a[1], factor)


def _ashr(r: Ranges, a: Interval, _: Interval, rhs: Value) -> Interval:
    amount = str(_shift(rhs, rhs.ty.bits))  # type: ignore[attr-defined]
    return r.op("ashr", a[0], amount), r.op("ashr", a[1], amount)


def _lshr(r: Ranges, a: Interval, b: Interval, rhs: Value) -> Interval:
    r.nonnegative(a)
    return _ashr(r, a, b, rhs)


def _divisor(rhs: Value) -> str:
    divisor = _unsigned_constant(rhs)
    if divisor == 0 or divisor > POINTER_MAX:
        raise NotBounded("division by zero or by a huge constant")
    return str(divisor)


def _udiv(r: Ranges, a: Interval, _: Interval, rhs: Value) -> Interval:
    r.nonnegative(a)
    divisor = _divisor(rhs)
    return r.divide(a[0], divisor), r.divide(a[1], divisor)


def _sdiv(r: Ranges, a: Interval, _: Interval, rhs: Value) -> Interval:
    if _constant(rhs) <= 0:
        raise NotBounded("signed division by a non-positive constant")
    divisor = str(_constant(rhs))  # rounding toward zero is monotone
    return r.divide(a[0], divisor), r.divide(a[1], divisor)


def _urem(r: Ranges, a: Interval, _: Interval, rhs: Value) -> Interval:
    r.nonnegative(a)
    largest = str(int(_divisor(rhs)) - 1)
    return "0", r.pick("slt", a[1], largest)


def _or(r: Ranges, a: Interval, b: Interval, _: Value) -> Interval:
    # non-negative x | y lies between max(x, y) and x + y, and has no bit above the
    # highest of max(x, y): ``tid | 128`` with tid < 256 stays below 256
    r.nonnegative(a)
    r.nonnegative(b)
    top = r.op("or", r.pick("sgt", a[1], b[1]), "1")
    ones = r.op("lshr", "-1", r.emit(f"call i128 @llvm.ctlz.i128(i128 {top}, i1 false)"))
    return r.pick("sgt", a[0], b[0]), r.pick("slt", r.op("add", a[1], b[1]), ones)


def _and(r: Ranges, a: Interval, b: Interval, _: Value) -> Interval:
    # x & y with y >= 0 lies in [0, y]: one non-negative side bounds the result
    a_pos = r.emit(f"icmp sge i128 {a[0]}, 0")
    b_pos = r.emit(f"icmp sge i128 {b[0]}, 0")
    r.conditions.append(r.emit(f"or i1 {a_pos}, {b_pos}"))
    both = r.pick("slt", a[1], b[1])
    only_a = r.emit(f"select i1 {b_pos}, i128 {both}, i128 {a[1]}")
    return "0", r.emit(f"select i1 {a_pos}, i128 {only_a}, i128 {b[1]}")


_BINARY: dict[str, Callable[[Ranges, Interval, Interval, Value], Interval]] = {
    "add": _add, "sub": _sub, "mul": _mul, "shl": _shl, "ashr": _ashr, "lshr": _lshr,
    "udiv": _udiv, "sdiv": _sdiv, "urem": _urem, "or": _or, "and": _and,
}
# cast -> whether its operand must be non-negative (read unsigned)
_CASTS = {"zext": True, "inttoptr": True, "sext": False, "trunc": False, "ptrtoint": False,
          "bitcast": False, "addrspacecast": False}


# ----------------------------------------------------------------- planning


def _bounds_entry(load: Value, bounds: Argument, offset: int) -> int | None:
    """The entry ``e`` when ``load`` reads ``bounds[2 * e + offset]``."""
    if not isinstance(load, Load):
        return None
    gep = load.ops[0]
    if not isinstance(gep, GetElementPtr) or gep.ops[0] is not bounds or len(gep.ops) != 2 \
            or not isinstance(gep.ops[1], ConstantInt) or gep.ops[1].value % 2 != offset:
        return None
    return gep.ops[1].value // 2


def _versioned(call: Call, bounds: Argument, bounded: Callable[[Value], bool]) \
        -> VersionedAccess | None:
    pointer, size, lo, hi = call.ops[:4]
    entry = _bounds_entry(lo, bounds, 0)
    if not isinstance(size, ConstantInt) or entry is None \
            or _bounds_entry(hi, bounds, 1) != entry or not bounded(pointer):
        return None
    return VersionedAccess(pointer, size.value, entry)


def plan_versions(module: Module, fn: Function, bounds: Argument,
                  known: Callable[[Argument, int | None], bool]) -> VersionPlan | None:
    """The ``__air_chk`` calls of ``fn`` whose address :class:`Ranges` bounds (with the
    arguments that ``known`` accepts as leaves), and the unchecked copy of ``fn``
    (added to ``module``); None when there is no such call or ``fn`` cannot be copied."""
    def leaf(arg: Argument, lane: int | None) -> Interval | None:
        return ("0", "0") if known(arg, lane) else None

    layout = DataLayout.parse(module.datalayout)

    def bounded(value: Value) -> bool:
        dry = Ranges(lambda text: "%dry", leaf, layout, module.structs)  # type: ignore[arg-type]
        try:
            dry.of(value)
        except (NotBounded, CompileError):  # CompileError: a type without a size
            return False
        return True

    picked: dict[int, VersionedAccess] = {}
    for inst in fn.instructions():
        if isinstance(inst, Call) and inst.callee_function is not None \
                and inst.callee_function.name == CHECK_FUNCTION:
            access = _versioned(inst, bounds, bounded)
            if access is not None:
                picked[id(inst)] = access
    if not picked or not _copyable(fn):
        return None
    unchecked, values = clone_function(fn, fn.name + UNCHECKED_SUFFIX)
    # in the copy, uses of a picked check's result use its pointer operand; the call goes
    dropped = {values[key]: values[key].ops[0] for key in picked}  # type: ignore[attr-defined]
    replace_all_uses(unchecked.instructions(), dropped)
    for block in unchecked.blocks:
        block.instructions = [i for i in block.instructions if i not in dropped]
    module.functions.append(unchecked)
    return VersionPlan(fn, unchecked, list(picked.values()))


# ------------------------------------------------------------------ copying


def _copyable(fn: Function) -> bool:
    """No operand that :func:`clone_function` cannot remap (metadata wrapping local
    values, block addresses)."""
    return not any(isinstance(op, MetadataValue | BlockAddress)
                   for inst in fn.instructions() for op in inst.ops)


def _remap_field(value: object, values: dict[int, Value],
                 blocks: dict[int, BasicBlock]) -> object:
    if isinstance(value, BasicBlock):
        return blocks[id(value)]
    if isinstance(value, list):
        return [_remap_field(v, values, blocks) for v in value]
    if isinstance(value, OperandBundle):
        return OperandBundle(value.tag, [values.get(id(v), v) for v in value.inputs])
    if isinstance(value, Value):
        return values.get(id(value), value)
    return value


def clone_function(fn: Function, name: str) -> tuple[Function, dict[int, Value]]:
    """A copy of ``fn`` named ``name``, and the map from id of each argument and
    instruction of ``fn`` to its copy. Constants, globals, types and metadata are
    shared."""
    values: dict[int, Value] = {}
    blocks: dict[int, BasicBlock] = {}
    new = copy.copy(fn)
    new.name = name
    new.args = [copy.copy(arg) for arg in fn.args]
    values.update((id(old), arg) for old, arg in zip(fn.args, new.args, strict=True))
    new.blocks = [BasicBlock(name=b.name, parent=new) for b in fn.blocks]
    blocks.update((id(old), b) for old, b in zip(fn.blocks, new.blocks, strict=True))
    for old_block, block in zip(fn.blocks, new.blocks, strict=True):
        for inst in old_block.instructions:
            twin = copy.copy(inst)
            twin.parent = block
            values[id(inst)] = twin
            block.instructions.append(twin)
    for block in new.blocks:
        for inst in block.instructions:
            for f in dataclasses.fields(inst):
                if f.name != "parent":
                    setattr(inst, f.name, _remap_field(getattr(inst, f.name), values, blocks))
    for f in ("fn_attrs", "ret_attrs", "metadata", "prefix_words"):
        setattr(new, f, list(getattr(fn, f)))
    return new, values


# --------------------------------------------------------------- the driver


def emit_group_check(emit: Emit, plan: VersionPlan, leaf: Leaf, bounds: str,
                     layout: DataLayout, structs: dict[str, StructType | None]) -> str:
    """The ``i1`` register that holds when every access of ``plan`` is in bounds for
    every thread of the group; ``bounds`` is the driver's bounds table (``ptr``, with the
    group's threadgroup entries), ``leaf`` the intervals of the kernel's arguments."""
    ranges = Ranges(emit, leaf, layout, structs)
    limits: dict[int, Interval] = {}
    for access in plan.accesses:
        if access.entry not in limits:
            lo_hi = [emit(f"getelementptr i64, ptr {bounds}, i64 {2 * access.entry + k}")
                     for k in (0, 1)]
            lo_hi = [emit(f"zext i64 {emit(f'load i64, ptr {p}')} to i128") for p in lo_hi]
            limits[access.entry] = (lo_hi[0], lo_hi[1])
        lo, hi = limits[access.entry]
        low, high = ranges.of(access.address)
        ranges.require("sge", low, lo)
        ranges.require("sle", ranges.op("add", high, str(access.size)), hi)
    ok = "true"
    for condition in ranges.conditions:
        ok = emit(f"and i1 {ok}, {condition}")
    return ok


__all__ = ["NotBounded", "Ranges", "VersionPlan", "VersionedAccess", "clone_function",
           "emit_group_check", "plan_versions"]
