"""Barriers and SIMD-group operations resolved inside the JIT code, as LLVM IR text.

Expects: a kernel cut into a step function (:func:`~.hostir.make_step_function`), whose
threads stop at barrier and SIMD-group sites with state ``-site`` and their operands in
their frames (at the offsets of :class:`~.hostir.SimdSlots`), the frames laid out by lane
(:mod:`.lanes`: a slot's values of a SIMD group are one small array).

Guarantees: :func:`settle_function` defines ``void @__air_settle(ptr state, ptr frames,
i32 simdgroups, i32 only)``, the SIMD-group half of a round of what :mod:`.execute`
does in Python with :mod:`.simd` on the chunk path, for one threadgroup: each SIMD group
(32 lanes in thread-index order) resolves its earliest waiting SIMD-group call (in
program order) for the lanes waiting there, lane by lane in lock step over small arrays
(inactive lanes are ignored by reductions, votes and ballots; a shuffle reading one
returns the reader's own value); a shuffle whose lane operand is a constant is a
``shufflevector`` of ``<32 x T>`` vectors (:func:`constant_shuffle`). It also defines
``i64 @__air_sites_waited(ptr state, i32 count)``, the lowest and highest site waited at
(the rounds' summary), and ``@__air_sites_finished``, the same and whether a thread
finished. The driver (:func:`~.compile._driver`, ``groups``) calls
it after a round that leaves a thread waiting at a SIMD-group call, and otherwise lets
the threads waiting at threadgroup barriers go on; ``@__air_collective`` (site -> 1 for
SIMD-group calls and barriers) tells the two apart.

:func:`compiles` says whether every site of a kernel has an IR version here; a kernel
with one that has not (``simd_shuffle_and_fill_*``) keeps the Python rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvm_to_air.ir.types import FLOAT_BITS, FloatType, IntType, Type, VectorType
from llvm_to_air.rewrite.intrinsic_base import type_suffix
from llvm_to_air.runner.hostir import Site
from llvm_to_air.runner.lanes import LANE_CAP, LaneLayout

LANES = 32
DONE = -(2**31)


@dataclass(frozen=True)
class Accumulation:
    """A pass over the lanes of each segment (SIMD or quad group) in lane order: ``acc``
    starts at ``identity`` and takes in each active lane; the lane's result is read from
    the value before it (``exclusive``), after it (``inclusive``) or the segment's total."""

    acc_type: str
    identity: str
    pick: str                      # "total" | "inclusive" | "exclusive"


SHUFFLES = {"shuffle", "shuffle_down", "shuffle_up", "shuffle_xor", "broadcast",
            "shuffle_rotate_down", "shuffle_rotate_up"}
REDUCTIONS = {"sum", "product", "min", "max", "and", "or", "xor"}
MASKS = {"ballot", "active_threads_mask", "all", "any", "vote_all", "vote_any", "is_first",
         "broadcast_first", "is_helper_thread"}


def _what(site: Site) -> tuple[int, str]:
    """Segment width and operation: ``simd_prefix_inclusive_sum`` -> (32, ...)."""
    family, _, what = site.op.partition("_")
    return (4 if family == "quad" else LANES), what


def compiles(sites: list[Site]) -> bool:
    """Whether every SIMD-group site has an IR version here."""
    for site in sites:
        if site.kind != "simd":
            continue
        _, what = _what(site)
        scan = what.startswith("prefix_") and what.split("_")[-1] in ("sum", "product")
        if what not in SHUFFLES | REDUCTIONS | MASKS and not scan:
            return False
        if what not in ("active_threads_mask", "is_first", "is_helper_thread") and \
                not site.arg_types:
            return False
    return True


class _Body:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def __call__(self, text: str) -> str:
        self.n += 1
        self.lines.append(f"  %r{self.n} = {text}")
        return f"%r{self.n}"

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")


def _is_float(ty: Type) -> bool:
    scalar = ty.element if isinstance(ty, VectorType) else ty
    return isinstance(scalar, FloatType)


def _splat(ty: Type, value: str) -> str:
    if isinstance(ty, VectorType):
        return "<" + ", ".join(f"{ty.element} {value}" for _ in range(ty.count)) + ">"
    return value


def _float_literal(value: str) -> str:
    return {"0": "0.0", "1": "1.0", "inf": "0x7FF0000000000000",
            "-inf": "0xFFF0000000000000"}[value]


def _int_bits(ty: Type) -> int:
    scalar = ty.element if isinstance(ty, VectorType) else ty
    assert isinstance(scalar, IntType)
    return scalar.bits


def _identity(what: str, ty: Type, unsigned: bool) -> str:
    if _is_float(ty):
        value = {"sum": "0", "product": "1", "min": "inf", "max": "-inf"}[what]
        return _splat(ty, _float_literal(value))
    bits = _int_bits(ty)
    table = {"sum": 0, "or": 0, "xor": 0, "product": 1, "and": -1,
             "min": (1 << bits) - 1 if unsigned else (1 << (bits - 1)) - 1,
             "max": 0 if unsigned else -(1 << (bits - 1))}
    value = table[what]
    if bits == 1:
        value = value & 1
    return _splat(ty, str(value if value < (1 << (bits - 1)) or bits == 1 else
                          value - (1 << bits)))


_FLOAT_OPS = {"sum": "fadd", "product": "fmul"}
_INT_OPS = {"sum": "add", "product": "mul", "and": "and", "or": "or", "xor": "xor"}


def _combine(b: _Body, what: str, ty: Type, unsigned: bool, acc: str, value: str,
             declares: set[str]) -> str:
    """``acc (op) value`` for a reduction or scan."""
    if what in ("min", "max"):
        if _is_float(ty):
            name = {"min": "minnum", "max": "maxnum"}[what]
        else:
            name = ("u" if unsigned else "s") + what
        fn = f"llvm.{name}.{type_suffix(ty)}"
        declares.add(f"declare {ty} @{fn}({ty}, {ty})")
        return b(f"call {ty} @{fn}({ty} {acc}, {ty} {value})")
    op = _FLOAT_OPS[what] if _is_float(ty) else _INT_OPS[what]
    return b(f"{op} {ty} {acc}, {value}")


def _lane_ptr(b: _Body, lanes: LaneLayout, lane: str, offset: int) -> str:
    """Where lane ``lane`` of the SIMD group (from thread ``%base``) keeps what is at byte
    ``offset`` of its frame (see :mod:`.lanes`)."""
    thread = b(f"zext i32 {b(f'add i32 %base, {lane}')} to i64")
    at = b(f"mul i64 {thread}, {lanes.slot_stride(offset)}")
    region = b(f"getelementptr i8, ptr %frames, i64 {offset * LANE_CAP}")
    return b(f"getelementptr i8, ptr {region}, i64 {at}")


def _amount(b: _Body, ty: Type, value: str, unsigned: bool) -> str:
    """A shuffle's lane operand as the low 16 bits, as :mod:`.simd` reads it."""
    bits = _int_bits(ty)
    if bits > 16:
        value = b(f"trunc {ty} {value} to i16")
    elif bits < 16:
        value = b(f"{'zext' if unsigned else 'sext'} {ty} {value} to i16")
    return b(f"zext i16 {value} to i32")


def _source_lane(b: _Body, what: str, width: int, lane: str, amount: str) -> tuple[str, str]:
    """Source lane (in the segment, any value when invalid) and whether it is valid."""
    if what in ("shuffle", "broadcast"):
        return amount, b(f"icmp ult i32 {amount}, {width}")
    if what == "shuffle_down":
        src = b(f"add i32 {lane}, {amount}")
        return src, b(f"icmp ult i32 {src}, {width}")
    if what == "shuffle_up":
        src = b(f"sub i32 {lane}, {amount}")
        return src, b(f"icmp sge i32 {src}, 0")
    if what == "shuffle_xor":
        src = b(f"xor i32 {lane}, {amount}")
        return src, b(f"icmp ult i32 {src}, {width}")
    op = "add" if what == "shuffle_rotate_down" else "sub"
    return b(f"{op} i32 {lane}, {amount}"), "true"


def _accumulation(what: str, value_ty: Type, unsigned: bool) -> Accumulation | None:
    if what in REDUCTIONS:
        return Accumulation(str(value_ty), _identity(what, value_ty, unsigned), "total")
    if what.startswith("prefix_"):
        _, kind, op = what.split("_")
        return Accumulation(str(value_ty), _identity(op, value_ty, unsigned), kind)
    if what in ("ballot", "active_threads_mask", "vote_all", "vote_any"):
        return Accumulation("i64", "0", "total")
    if what in ("all", "any"):
        return Accumulation("i1", "true" if what == "all" else "false", "total")
    if what in ("is_first", "broadcast_first"):
        return Accumulation("i32", "-1", "total")
    return None


def _update(b: _Body, what: str, value_ty: Type, unsigned: bool, acc: str, value: str,
            lane: str, declares: set[str]) -> str:
    """The accumulator after an active lane ``lane`` (index in its segment)."""
    if what in REDUCTIONS:
        return _combine(b, what, value_ty, unsigned, acc, value, declares)
    if what.startswith("prefix_"):
        return _combine(b, what.split("_")[2], value_ty, unsigned, acc, value, declares)
    if what in ("ballot", "active_threads_mask", "vote_all", "vote_any"):
        bit = b(f"shl i64 1, {b(f'zext i32 {lane} to i64')}")
        if what == "ballot":
            pred = b(f"icmp ne {value_ty} {value}, {_zero(value_ty)}")
            bit = b(f"select i1 {pred}, i64 {bit}, i64 0")
        return b(f"or i64 {acc}, {bit}")
    if what in ("all", "any"):
        pred = b(f"icmp ne {value_ty} {value}, {_zero(value_ty)}")
        return b(f"{'and' if what == 'all' else 'or'} i1 {acc}, {pred}")
    first = b(f"icmp slt i32 {acc}, 0")
    return b(f"select i1 {first}, i32 {lane}, i32 {acc}")


def _zero(ty: Type) -> str:
    return _splat(ty, "0.0" if _is_float(ty) else "0")


def _convert(b: _Body, value: str, src: str, dst: Type) -> str:
    """An integer accumulator value as the call's integer result type."""
    dst_bits = _int_bits(dst)
    src_bits = int(src[1:])
    if dst_bits == src_bits:
        return value
    op = "trunc" if dst_bits < src_bits else "zext"
    return b(f"{op} {src} {value} to {dst}")


def _constant_amount(site: Site, unsigned: bool) -> int | None:
    """A shuffle's constant lane operand as the low 16 bits (as :func:`_amount` makes of
    it at run time), or None where it is not a constant."""
    if 1 not in site.constants:
        return None
    value, bits = site.constants[1], _int_bits(site.arg_types[1])
    if bits < 16 and not unsigned:  # sign-extended to 16 bits
        value &= (1 << bits) - 1
        value -= (1 << bits) if value >> (bits - 1) else 0
    elif bits < 16:
        value &= (1 << bits) - 1
    return value & 0xFFFF


def _source_lanes(what: str, width: int, amount: int) -> list[int | None]:
    """Where each of the 32 lanes reads a shuffle with constant lane operand ``amount``
    (None: out of its segment, it keeps its own value), as :func:`_source_lane`."""
    sources: list[int | None] = []
    for k in range(LANES):
        lane, seg = k % width, k - k % width
        src, valid = {
            "shuffle": (amount, amount < width), "broadcast": (amount, amount < width),
            "shuffle_down": (lane + amount, lane + amount < width),
            "shuffle_up": (lane - amount, lane - amount >= 0),
            "shuffle_xor": (lane ^ amount, lane ^ amount < width),
            "shuffle_rotate_down": (lane + amount, True),
            "shuffle_rotate_up": (lane - amount, True)}[what]
        sources.append(seg + (src & (width - 1)) if valid else None)
    return sources


def _vector(ty: str, items: list[str]) -> str:
    return "<" + ", ".join(f"{ty} {item}" for item in items) + ">"


def constant_shuffle(site: Site, lanes: LaneLayout) -> str | None:
    """``@__air_simd<id>`` as :func:`resolver` makes it, for a shuffle whose lane operand
    is a constant and whose value is an 8- to 64-bit scalar kept densely by lane: the
    source lanes are known when compiling, so the resolver is a handful of operations on
    ``<32 x T>`` vectors (the group's values, read as one vector from the slot's array of
    :mod:`.lanes`, permuted by a ``shufflevector``), with no loop and no gather. None
    where that does not apply."""
    width, what = _what(site)
    unsigned = ".u." in site.name
    if what not in SHUFFLES or 0 in site.constants or not site.arg_types:
        return None
    amount = _constant_amount(site, unsigned)
    ty = site.arg_types[0]
    if amount is None or not isinstance(ty, IntType | FloatType) or str(ty) != str(
            site.result_type):
        return None
    bits = ty.bits if isinstance(ty, IntType) else FLOAT_BITS[ty.kind]
    slots = lanes.slots
    if bits not in (8, 16, 32, 64) or any(lanes.slot_stride(at) * 8 != bits
                                          for at in (0, slots.out_offset)):
        return None
    sources = _source_lanes(what, width, amount)
    vec, flags = f"<{LANES} x {ty}>", f"<{LANES} x i1>"
    mask = _vector("i32", [str(k if src is None else src) for k, src in enumerate(sources)])
    valid = _vector("i1", ["false" if src is None else "true" for src in sources])
    b = _Body()
    b.label("entry")
    states = b(f"load <{LANES} x i32>, ptr %state, align 4")
    here = b(f"icmp eq <{LANES} x i32> {states}, {_vector('i32', [str(-site.id)] * LANES)}")
    base = b("zext i32 %base to i64")
    ptrs = []
    for offset in (0, slots.out_offset):
        region = b(f"getelementptr i8, ptr %frames, i64 {offset * LANE_CAP}")
        ptrs.append(b(f"getelementptr {ty}, ptr {region}, i64 {base}"))
    own = b(f"load {vec}, ptr {ptrs[0]}, align 1")
    other = b(f"shufflevector {vec} {own}, {vec} poison, <{LANES} x i32> {mask}")
    there = b(f"shufflevector {flags} {here}, {flags} poison, <{LANES} x i32> {mask}")
    ok = b(f"and {flags} {there}, {valid}")
    result = b(f"select {flags} {ok}, {vec} {other}, {vec} {own}")
    b.do(f"store {vec} {result}, ptr {ptrs[1]}, align 1")
    went = b(f"select {flags} {here}, <{LANES} x i32> "
             f"{_vector('i32', [str(site.id)] * LANES)}, <{LANES} x i32> {states}")
    b.do(f"store <{LANES} x i32> {went}, ptr %state, align 4")
    b.do("ret void")
    head = (f"define internal void @__air_simd{site.id}(ptr noalias %frames, "
            "ptr noalias %state, i32 %base) nounwind {")
    return "\n".join([head, *b.lines, "}"])


def resolver(site: Site, lanes: LaneLayout, declares: set[str]) -> str:
    """``void @__air_simd<id>(ptr frames, ptr state, i32 base)``: site ``site`` for the
    lanes of one SIMD group waiting at it (the group's frames, the states from its lane 0,
    and the thread index of its lane 0)."""
    width, what = _what(site)
    unsigned = ".u." in site.name
    value_ty = site.arg_types[0] if site.arg_types else None
    result_ty = site.result_type
    has_result = str(result_ty) != "void"
    acc = _accumulation(what, value_ty, unsigned) if value_ty is not None or \
        what in ("active_threads_mask", "is_first") else None
    b = _Body()
    b.label("entry")
    vals = b(f"alloca [{LANES} x {value_ty}], align 64") if value_ty is not None else ""
    act = b(f"alloca [{LANES} x i8], align 32")  # i8, not i1: LLVM vectorizes i8 loads
    if acc is not None:
        excl = b(f"alloca [{LANES} x {acc.acc_type}], align 64")
        incl = b(f"alloca [{LANES} x {acc.acc_type}], align 64")
        total = b(f"alloca [{LANES} x {acc.acc_type}], align 64")
    b.do("br label %load")
    # 1. which lanes wait here, and their first operand
    b.label("load")
    b.lines.append("  %i = phi i32 [ 0, %entry ], [ %i1, %load ]")
    sp = b("getelementptr i32, ptr %state, i32 %i")
    s = b(f"load i32, ptr {sp}")
    here = b(f"icmp eq i32 {s}, {-site.id}")
    flag = b(f"zext i1 {here} to i8")
    b.do(f"store i8 {flag}, ptr {b(f'getelementptr i8, ptr {act}, i32 %i')}")
    if value_ty is not None:
        v = _operand(b, site, lanes, 0, "%i")
        b.do(f"store {value_ty} {v}, ptr {b(f'getelementptr {value_ty}, ptr {vals}, i32 %i')}")
    b.do("%i1 = add i32 %i, 1")
    b.do(f"%imore = icmp ult i32 %i1, {LANES}")
    b.do("br i1 %imore, label %load, label %scan_entry")
    # 2. accumulations over the active lanes of each segment, in lane order
    b.label("scan_entry")
    if acc is not None:
        b.do("br label %scan")
        b.label("scan")
        b.lines.append("  %j = phi i32 [ 0, %scan_entry ], [ %j1, %scan ]")
        b.lines.append(f"  %acc = phi {acc.acc_type} [ {acc.identity}, %scan_entry ], "
                       f"[ %accn, %scan ]")
        lane = b(f"and i32 %j, {width - 1}")
        start = b(f"icmp eq i32 {lane}, 0")
        acc0 = b(f"select i1 {start}, {acc.acc_type} {acc.identity}, {acc.acc_type} %acc")
        active = _flag(b, act, "%j")
        value = b(f"load {value_ty}, ptr {b(f'getelementptr {value_ty}, ptr {vals}, i32 %j')}"
                  ) if value_ty is not None else ""
        new = _update(b, what, value_ty, unsigned, acc0, value, lane, declares)
        b.do(f"%accn = select i1 {active}, {acc.acc_type} {new}, {acc.acc_type} {acc0}")
        seg = b(f"and i32 %j, {~(width - 1) & 0xFFFFFFFF}")
        for array, item in ((excl, acc0), (incl, "%accn")):
            b.do(f"store {acc.acc_type} {item}, ptr "
                 f"{b(f'getelementptr {acc.acc_type}, ptr {array}, i32 %j')}")
        b.do(f"store {acc.acc_type} %accn, ptr "
             f"{b(f'getelementptr {acc.acc_type}, ptr {total}, i32 {seg}')}")
        b.do("%j1 = add i32 %j, 1")
        b.do(f"%jmore = icmp ult i32 %j1, {LANES}")
        b.do("br i1 %jmore, label %scan, label %out_entry")
    else:
        b.do("br label %out_entry")
    # 3. each waiting lane's result, and it may go on. Branch-free, so that LLVM can
    # vectorize it: every lane's result slot is written, which only the waiting lanes read
    # (any other lane reads its slot only after its own call is resolved)
    b.label("out_entry")
    b.do("br label %out")
    b.label("out")
    b.lines.append("  %k = phi i32 [ 0, %out_entry ], [ %k1, %out ]")
    waiting = _flag(b, act, "%k")
    klane = b(f"and i32 %k, {width - 1}")
    kseg = b(f"and i32 %k, {~(width - 1) & 0xFFFFFFFF}")
    result = ""
    if what in SHUFFLES:
        amount_ty = site.arg_types[1]
        raw = _operand(b, site, lanes, 1, "%k")
        src, valid = _source_lane(b, what, width, klane, _amount(b, amount_ty, raw, unsigned))
        at = b(f"add i32 {kseg}, {b(f'and i32 {src}, {width - 1}')}")
        there = _flag(b, act, at)
        ok = b(f"and i1 {valid}, {there}")
        other = b(f"load {value_ty}, ptr {b(f'getelementptr {value_ty}, ptr {vals}, i32 {at}')}")
        own = b(f"load {value_ty}, ptr {b(f'getelementptr {value_ty}, ptr {vals}, i32 %k')}")
        result = b(f"select i1 {ok}, {value_ty} {other}, {value_ty} {own}")
    elif acc is not None:
        array = {"total": total, "inclusive": incl, "exclusive": excl}[acc.pick]
        index = kseg if acc.pick == "total" else "%k"
        got = b(f"load {acc.acc_type}, ptr "
                f"{b(f'getelementptr {acc.acc_type}, ptr {array}, i32 {index}')}")
        result = _finish(b, what, got, acc.acc_type, klane, kseg, vals, value_ty, result_ty,
                         site, lanes)
    elif what == "is_helper_thread":
        result = "0" if str(result_ty) != "i1" else "false"
    if has_result:
        op = _lane_ptr(b, lanes, "%k", lanes.slots.out_offset)
        b.do(f"store {result_ty} {result}, ptr {op}, align 1")
    sk = b("getelementptr i32, ptr %state, i32 %k")
    went = b(f"select i1 {waiting}, i32 {site.id}, i32 " + b(f"load i32, ptr {sk}"))
    b.do(f"store i32 {went}, ptr {sk}")
    b.do("%k1 = add i32 %k, 1")
    b.do(f"%kmore = icmp ult i32 %k1, {LANES}")
    b.do("br i1 %kmore, label %out, label %exit")
    b.label("exit")
    b.do("ret void")
    head = (f"define internal void @__air_simd{site.id}(ptr noalias %frames, "
            "ptr noalias %state, i32 %base) nounwind {")
    return "\n".join([head, *b.lines, "}"])


def _flag(b: _Body, flags: str, lane: str) -> str:
    """Whether lane ``lane`` waits at the call (from the resolver's ``i8`` flags)."""
    at = b(f"getelementptr i8, ptr {flags}, i32 {lane}")
    return b(f"icmp ne i8 {b(f'load i8, ptr {at}')}, 0")


def _operand(b: _Body, site: Site, lanes: LaneLayout, k: int, lane: str) -> str:
    """Operand ``k`` of the call as lane ``lane`` made it: a constant, or from its frame."""
    if k in site.constants:
        return str(site.constants[k])
    ptr = _lane_ptr(b, lanes, lane, lanes.slots.slot * k)
    return b(f"load {site.arg_types[k]}, ptr {ptr}, align 1")


def _finish(b: _Body, what: str, got: str, acc_type: str, lane: str, seg: str, vals: str,
            value_ty: Type | None, result_ty: Type, site: Site, lanes: LaneLayout) -> str:
    """The result of one lane from its segment's accumulation ``got``."""
    if what in REDUCTIONS or what.startswith("prefix_"):
        return got
    if what in ("ballot", "active_threads_mask"):
        return _convert(b, got, "i64", result_ty)
    if what in ("vote_all", "vote_any"):
        assert value_ty is not None
        mask = _operand(b, site, lanes, 0, "%k")
        mask64 = _convert(b, mask, str(value_ty), IntType(64))
        both = b(f"and i64 {mask64}, {got}")
        cmp = "eq" if what == "vote_all" else "ne"
        against = got if what == "vote_all" else "0"
        return _convert(b, b(f"icmp {cmp} i64 {both}, {against}"), "i1", result_ty)
    if what in ("all", "any"):
        return _convert(b, got, "i1", result_ty)
    if what == "is_first":
        return _convert(b, b(f"icmp eq i32 {lane}, {got}"), "i1", result_ty)
    # broadcast_first: the first active lane's value (any lane's for a segment without one:
    # no waiting lane reads it)
    width, _ = _what(site)
    at = b(f"add i32 {seg}, " + b(f"and i32 {got}, {width - 1}"))
    return b(f"load {value_ty}, ptr {b(f'getelementptr {value_ty}, ptr {vals}, i32 {at}')}")


def settle_function(sites: list[Site], lanes: LaneLayout) -> str:
    """``void @__air_settle(ptr state, ptr frames, i32 simdgroups, i32 only)``
    and the resolvers it calls (see the module docstring); ``only``: 0, or the one site
    every waiting lane waits at (then no SIMD group needs to look for its earliest)."""
    declares: set[str] = set()
    simd_sites = [s for s in sites if s.kind != "threadgroup_barrier"]
    resolvers = [constant_shuffle(s, lanes) or resolver(s, lanes, declares)
                 for s in simd_sites if s.kind == "simd"]
    collective = ", ".join("i8 " + ("1" if s.kind != "threadgroup_barrier" else "0")
                           for s in [None, *sites] if s is not None)
    big = len(sites) + 1
    b = _Body()
    b.label("entry")
    b.do("br label %group")
    # per SIMD group: the earliest collective call any lane waits at
    b.label("group")
    b.lines.append("  %g = phi i32 [ 0, %entry ], [ %g1, %resolved ]")
    b.do("%base = shl i32 %g, 5")
    b.do("%sbase = getelementptr i32, ptr %state, i32 %base")
    b.do("%known = icmp ne i32 %only, 0")  # the driver saw every waiting lane at one site
    b.do("br i1 %known, label %pick, label %lanes")
    b.label("lanes")
    b.lines.append("  %l = phi i32 [ 0, %group ], [ %l1, %lanes ]")
    b.lines.append(f"  %early = phi i32 [ {big}, %group ], [ %early1, %lanes ]")
    s = b(f"load i32, ptr {b('getelementptr i32, ptr %sbase, i32 %l')}")
    waits = b(f"and i1 {b(f'icmp slt i32 {s}, 0')}, {b(f'icmp ne i32 {s}, {DONE}')}")
    site = b(f"select i1 {waits}, i32 {b(f'sub i32 0, {s}')}, i32 0")
    coll = b(f"load i8, ptr {b(f'getelementptr [{big} x i8], ptr @__air_collective, i32 0, i32 {site}')}")
    cand = b(f"select i1 {b(f'icmp ne i8 {coll}, 0')}, i32 {site}, i32 {big}")
    b.do(f"%early1 = call i32 @llvm.umin.i32(i32 %early, i32 {cand})")
    b.do("%l1 = add i32 %l, 1")
    b.do(f"%lmore = icmp ult i32 %l1, {LANES}")
    b.do("br i1 %lmore, label %lanes, label %pick")
    b.label("pick")
    b.lines.append("  %at = phi i32 [ %only, %group ], [ %early1, %lanes ]")
    cases = " ".join(f"i32 {s.id}, label %site{s.id}" for s in simd_sites)
    b.do(f"switch i32 %at, label %resolved [ {cases} ]")
    for site_ in simd_sites:
        b.label(f"site{site_.id}")
        if site_.kind == "simd":
            b.do(f"call void @__air_simd{site_.id}(ptr %frames, ptr %sbase, i32 %base)")
        else:  # a SIMD-group barrier: the lanes there go on together
            b.do(f"call void @__air_release(ptr %sbase, i32 {-site_.id})")
        b.do("br label %resolved")
    b.label("resolved")
    b.do("%g1 = add i32 %g, 1")
    b.do("%gmore = icmp ult i32 %g1, %groups")
    b.do("br i1 %gmore, label %group, label %exit")
    b.label("exit")
    b.do("ret void")
    settle = "\n".join([
        "define internal void @__air_settle(ptr noalias %state, ptr noalias %frames, "
        "i32 %groups, i32 %only) nounwind {", *b.lines, "}"])
    release = "\n".join([
        "; the lanes of a SIMD group waiting at site -%at go on",
        "define internal void @__air_release(ptr %state, i32 %at) nounwind {",
        "entry:", "  br label %loop", "loop:",
        "  %i = phi i32 [ 0, %entry ], [ %i1, %loop ]",
        "  %p = getelementptr i32, ptr %state, i32 %i",
        "  %s = load i32, ptr %p",
        "  %here = icmp eq i32 %s, %at",
        "  %pos = sub i32 0, %s",
        "  %new = select i1 %here, i32 %pos, i32 %s",
        "  store i32 %new, ptr %p",
        "  %i1 = add i32 %i, 1",
        f"  %more = icmp ult i32 %i1, {LANES}",
        "  br i1 %more, label %loop, label %exit",
        "exit:", "  ret void", "}"])
    table = f"@__air_collective = internal constant [{big} x i8] [i8 0, {collective}]"
    return "\n\n".join([table, *sorted(declares), "declare i32 @llvm.umin.i32(i32, i32)",
                        "declare i32 @llvm.umax.i32(i32, i32)", release,
                        _sites_summary(WAITED, finished=False),
                        _sites_summary(WAITED_OR_FINISHED, finished=True), *resolvers,
                        settle])


# the rounds' summaries (see _sites_summary): without, and with the finished flag
WAITED = "__air_sites_waited"
WAITED_OR_FINISHED = "__air_sites_finished"


def _sites_summary(name: str, finished: bool) -> str:
    """``i64 @<name>(ptr state, i32 count)``: the rounds' summary of threads [0, count);
    with ``finished``, bit 63 says whether one of them finished (else it is 0: a
    kernel without narrowed rounds needs no flag, and its loop stays as short)."""
    return "\n".join([
        "; the lowest (bits 0-31; 0xFFFFFFFF: none) and highest (bits 32-62; 0: none) site",
        "; that threads [0, count) wait at, and whether one of them finished (bit 63):",
        "; a minimum, a maximum and an or, which LLVM vectorizes",
        "; (a function of its own, so that the loop stays one when the driver's rounds",
        "; branch to it)",
        f"define internal i64 @{name}(ptr noalias %state, i32 %count) noinline nounwind {{",
        "entry:", "  %none = icmp eq i32 %count, 0",
        "  br i1 %none, label %exit, label %loop", "loop:",
        "  %k = phi i32 [ 0, %entry ], [ %k1, %loop ]",
        "  %lo = phi i32 [ -1, %entry ], [ %lo1, %loop ]",
        "  %hi = phi i32 [ 0, %entry ], [ %hi1, %loop ]",
        "  %dn = phi i1 [ false, %entry ], [ %dn1, %loop ]",
        "  %p = getelementptr i32, ptr %state, i32 %k",
        "  %s = load i32, ptr %p",
        f"  %waits = icmp ugt i32 %s, {DONE & 0xFFFFFFFF}",  # negative, not DONE
        "  %fin = " + (f"icmp eq i32 %s, {DONE}" if finished else "icmp ne i32 0, 0"),
        "  %at = sub i32 0, %s",
        "  %site = select i1 %waits, i32 %at, i32 0",
        "  %low = select i1 %waits, i32 %at, i32 -1",
        "  %lo1 = call i32 @llvm.umin.i32(i32 %lo, i32 %low)",
        "  %hi1 = call i32 @llvm.umax.i32(i32 %hi, i32 %site)",
        "  %dn1 = or i1 %dn, %fin",
        "  %k1 = add i32 %k, 1",
        "  %more = icmp ult i32 %k1, %count",
        "  br i1 %more, label %loop, label %exit",
        "exit:",
        "  %lo2 = phi i32 [ -1, %entry ], [ %lo1, %loop ]",
        "  %hi2 = phi i32 [ 0, %entry ], [ %hi1, %loop ]",
        "  %dn2 = phi i1 [ false, %entry ], [ %dn1, %loop ]",
        "  %lo64 = zext i32 %lo2 to i64",
        "  %hi64 = zext i32 %hi2 to i64",
        "  %high = shl i64 %hi64, 32",
        "  %both = or i64 %high, %lo64",
        "  %dn64 = zext i1 %dn2 to i64",
        "  %fin64 = shl i64 %dn64, 63",
        "  %all = or i64 %both, %fin64",
        "  ret i64 %all", "}"])


__all__ = ["WAITED", "WAITED_OR_FINISHED", "compiles", "constant_shuffle", "resolver", "settle_function"]
