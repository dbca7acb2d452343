"""Inline PTX to LLVM IR: parse the asm string, bind ``$n`` operands, build each row's IR.

The stage :func:`translate_inline_ptx` replaces every ``call asm`` whose text is
PTX made only of instructions in ``rewrite/ptx_tables.py``. Statements run in
order over a register file (``$n`` -> current value): outputs start as their
tied input or undefined, ``mov`` sets them, predicated statements (``@$p``,
``@!$p``) run in a block of their own and merge with ``phi`` (so a masked
``ld.global`` never touches memory when its predicate is false, exactly as on
the GPU). ``cp.async`` copies complete when issued, so the commit/wait-group
intrinsics that only order them are removed.

Expects: the input module as read (kernels and helpers not yet inlined).
Guarantees: no inline asm whose text is in the table remains; any other PTX
instruction is a CompileError quoting it; other asm (not PTX) is left to
``legalize``, which rejects it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.edit import NameSource, declare_function, replace_all_uses
from llvm_to_air.ir.lexer import split_top_level
from llvm_to_air.ir.model import (
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ConstantFP,
    ConstantInt,
    ExtractValue,
    Function,
    GetElementPtr,
    InlineAsm,
    InsertValue,
    Instruction,
    Load,
    Module,
    Phi,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    F16,
    I1,
    I8,
    I64,
    VOID,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    StructType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite import ptx_tables as T
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.lane_matrix import ELEMENTS_PER_WORD, LaneMatrixBuilder
from llvm_to_air.rewrite.ptx_int import CARRY_FLAG, INT_BUILDERS
from llvm_to_air.rewrite.ptx_math import BUILDERS as MATH_BUILDERS

_BUILDERS = {**MATH_BUILDERS, **INT_BUILDERS}  # row kind -> builder, beside _build's own kinds

# a compare-exchange's failure ordering: its success ordering without the release part
_CAS_FAILURE = {"acq_rel": "acquire", "release": "monotonic"}

# ----------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Reg:
    index: int


@dataclass(frozen=True)
class Imm:
    value: int


@dataclass(frozen=True)
class Addr:
    base: Reg
    offset: int


Operand = Reg | Imm | Addr | tuple[Reg | Imm, ...]


@dataclass(frozen=True)
class Statement:
    text: str
    mnemonic: str
    operands: tuple[Operand, ...]
    predicate: Reg | None = None
    negated: bool = False


_PRED_RE = re.compile(r"^@(!?)\$(\d+)\s+")


class PtxError(ValueError):
    """The asm text is not PTX the table knows; the message quotes the instruction."""


_NAMED_BASE = 1000  # named registers (``.reg .u32 start``) get indices from here
# special registers (%laneid, %tid.x, ...) read as registers numbered from here
_SPECIAL_BASE = 100_000
_SPECIAL_NAMES = tuple(T.SPECIAL_REGISTERS)


def parse_ptx(asm: str) -> list[Statement]:
    """Statements of ``asm``. ``{ ... }`` scopes nest (cuda_fp16.h repeats one block that
    declares ``.reg .b16 spc, ulp, p`` several times): each ``.reg`` name is a fresh
    register numbered from ``_NAMED_BASE``, visible until its scope closes. ``$$`` is
    LLVM's escape for a ``$`` in a name."""
    statements = []
    scopes: list[dict[str, int]] = [{}]
    fresh = _NAMED_BASE
    for raw in _scoped_statements(asm.replace("$$", "S__")):
        if raw in "{}":
            if raw == "{":
                scopes.append({})
            elif len(scopes) > 1:
                scopes.pop()
            continue
        text = original = raw
        declared = re.fullmatch(r"\.reg\s*\.\w+\s+([A-Za-z_][\w\s,]*)", text)
        if declared:
            for reg_name in declared.group(1).split(","):
                scopes[-1][reg_name.strip()] = fresh
                fresh += 1
            continue
        visible = {name: index for scope in scopes for name, index in scope.items()}
        for name, index in visible.items():
            text = re.sub(rf"(?<![\w%$]){re.escape(name)}(?!\w)", f"${index}", text)
        predicate, negated = None, False
        m = _PRED_RE.match(text)
        if m:
            negated, predicate = m.group(1) == "!", Reg(int(m.group(2)))
            text = text[m.end():]
        head, _, rest = text.strip().replace("\t", " ").partition(" ")
        parts = head.split(".")
        if parts[0] in T.UNSUPPORTED_FAMILIES:
            raise PtxError(f"PTX '{original.strip()}': {T.UNSUPPORTED_FAMILIES[parts[0]]}")
        operands = split_top_level(rest.strip(), "{[", "}]")
        if any(p in T.POLICY_MODIFIERS for p in parts[1:]):
            operands = operands[:-1]
        mnemonic = ".".join([parts[0], *(p for p in parts[1:] if p not in T.IGNORED_MODIFIERS
                                         and p not in T.POLICY_MODIFIERS)])
        statements.append(Statement(original, mnemonic,
                                    tuple(_piped(o, raw) if "|" in o and head.startswith("shfl")
                                          else _operand(o, raw) for o in operands),
                                    predicate, negated))
    return statements


def _scoped_statements(body: str) -> list[str]:
    """Statements and scope braces in order: a ``{`` or ``}`` where a statement would start
    opens or closes a scope; inside a statement braces group vector operands."""
    out: list[str] = []
    current = ""
    for ch in body:
        if ch in "{}" and not current.strip():
            out.append(ch)
            current = ""
        elif ch == "}" and current.count("{") <= current.count("}"):
            out.append(current.strip())  # a last statement without ';' before its '}'
            out.append(ch)
            current = ""
        elif ch in ";\n":
            if current.strip():
                out.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    return [s for s in out if s]



def _operand(text: str, statement: str) -> Operand:
    if text.startswith("{"):
        return tuple(_scalar(p.strip(), statement) for p in text.strip("{} ").split(","))
    if text.startswith("["):
        m = re.fullmatch(r"\[\s*\$(\d+)\s*(?:\+\s*(-?\w+))?\s*\]", text)
        if not m:
            raise PtxError(f"address '{text}' in '{statement.strip()}'")
        return Addr(Reg(int(m.group(1))), int(m.group(2) or "0", 0))
    return _scalar(text, statement)


def _piped(text: str, statement: str) -> Operand:
    """``d|p``: a shuffle's value and validity destinations."""
    return tuple(_scalar(p.strip(), statement) for p in text.split("|"))


def _scalar(text: str, statement: str) -> Reg | Imm:
    if re.fullmatch(r"\$\d+", text):
        return Reg(int(text[1:]))
    if text.startswith(tuple(T.UNSUPPORTED_REGISTERS)):
        reason = next(r for prefix, r in T.UNSUPPORTED_REGISTERS.items()
                      if text.startswith(prefix))
        raise PtxError(f"'{statement.strip()}' reads {text}: {reason}")
    if text in T.SPECIAL_REGISTERS:
        return Reg(_SPECIAL_BASE + _SPECIAL_NAMES.index(text))
    try:
        return Imm(int(text.rstrip("Uu"), 0))  # cuda_fp16.h writes 0x3f80U
    except ValueError:
        raise PtxError(f"operand '{text}' in '{statement.strip()}'") from None


# ------------------------------------------------------------------------ engine


@dataclass
class _Emitter:
    """Builds one asm call's replacement, splitting blocks where statements are predicated."""

    fn: Function
    module: Module
    names: NameSource
    block: BasicBlock
    location: SourceLocation | None
    regs: dict[int, Value]
    types: dict[int, Type]
    new_blocks: list[BasicBlock] = field(default_factory=list)
    pending: list[Instruction] = field(default_factory=list)

    def add(self, inst: Instruction) -> Instruction:
        if inst.name is None and inst.ty != VOID:
            inst.name = self.names("ptx")
        inst.location = self.location
        self.pending.append(inst)
        return inst

    def value(self, operand: Reg | Imm, ty: Type) -> Value:
        if isinstance(operand, Imm):
            if isinstance(ty, FloatType):
                return _float_bits_constant(operand.value, ty)
            return ConstantInt(ty, operand.value)
        current = self.regs.get(operand.index)
        if current is None and operand.index >= _SPECIAL_BASE:
            i32 = IntType(32)
            read = _intrinsic(self, T.SPECIAL_REGISTERS[_SPECIAL_NAMES[
                operand.index - _SPECIAL_BASE]], i32, ())
            current = self.add(Call(i32, opcode="call", ops=[read],
                                    function_type=read.function_type))
            self.regs[operand.index] = current
        if current is None:
            return Undef(ty)
        return self.coerce(current, ty)

    def coerce(self, value: Value, ty: Type) -> Value:
        if value.ty == ty:
            return value
        if isinstance(value.ty, PointerType) and isinstance(ty, IntType):
            return self.add(Cast(ty, opcode="ptrtoint", ops=[value]))
        if isinstance(value.ty, IntType) and isinstance(ty, IntType):
            op = "trunc" if value.ty.bits > ty.bits else "zext"
            return self.add(Cast(ty, opcode=op, ops=[value]))
        return self.add(Cast(ty, opcode="bitcast", ops=[value]))

    def pointer(self, addr: Addr, addrspace: int, extra: int = 0) -> Value:
        base = self.regs[addr.base.index]
        ptr_ty = PointerType(addrspace)
        if isinstance(base.ty, IntType):
            base = self.add(Cast(ptr_ty, opcode="inttoptr", ops=[base]))
        elif isinstance(base.ty, PointerType) and base.ty.addrspace != addrspace:
            base = self.add(Cast(ptr_ty, opcode="addrspacecast", ops=[base]))
        offset = addr.offset + extra
        if offset == 0:
            return base
        return self.add(GetElementPtr(ptr_ty, opcode="getelementptr",
                                      ops=[base, ConstantInt(I64, offset)], source_type=I8,
                                      flags=("inbounds",)))

    def set(self, operand: Reg | Imm, value: Value) -> None:
        if not isinstance(operand, Reg):
            raise PtxError("an immediate cannot be a destination")
        self.regs[operand.index] = value

    # predicated statements get a block of their own
    def begin_predicated(self, predicate: Value, negated: bool) -> tuple[BasicBlock,
                                                                         BasicBlock, dict]:
        then = BasicBlock(self.names("ptx.then"), [], self.fn)
        join = BasicBlock(self.names("ptx.join"), [], self.fn)
        cond = self.coerce(predicate, I1)
        targets = [join, then] if negated else [then, join]
        self.add(Branch(VOID, opcode="br", ops=[cond], targets=targets))
        self.flush_into(self.block)
        before = self.block
        self.block = then
        self.new_blocks.extend([then, join])
        return before, join, dict(self.regs)

    def end_predicated(self, before: BasicBlock, join: BasicBlock,
                       saved: dict[int, Value]) -> None:
        self.add(Branch(VOID, opcode="br", ops=[], targets=[join]))
        then = self.block
        self.flush_into(then)
        self.block = join
        for index, value in list(self.regs.items()):
            old = saved.get(index)
            if old is value:
                continue
            ty = value.ty
            phi = Phi(ty, opcode="phi", ops=[value, old if old is not None else Undef(ty)],
                      blocks=[then, before], name=self.names("ptx.merge"))
            phi.location = self.location
            self.pending.append(phi)
            self.regs[index] = phi

    def flush_into(self, block: BasicBlock) -> None:
        for inst in self.pending:
            inst.parent = block
        block.instructions.extend(self.pending)
        self.pending = []


def _float_bits_constant(bits: int, ty: FloatType) -> ConstantFP:
    from llvm_to_air.ir.forward import FORMATS, _spell

    return ConstantFP(ty, text=_spell(bits, FORMATS[ty.kind]))


def _build(row: T.PtxRow, stmt: Statement, em: _Emitter) -> None:
    ops = stmt.operands
    builder = _BUILDERS.get(row.kind)
    if builder is not None:
        builder(row, stmt, em)
        return
    if row.kind == "mov":
        dst, src = ops
        ty = em.types.get(dst.index, IntType(row.bits)) if isinstance(dst, Reg) else VOID
        if isinstance(dst, tuple):  # mov.b32 {lo, hi}, $1: unpack from the low bits up
            whole = em.value(src, IntType(row.bits)) if isinstance(src, Reg | Imm) else _bad(stmt)
            width = row.bits // len(dst)
            for k, piece in enumerate(dst):
                part = em.add(BinaryOp(IntType(row.bits), opcode="lshr",
                                       ops=[whole, ConstantInt(IntType(row.bits), k * width)]))
                em.set(piece, em.add(Cast(IntType(width), opcode="trunc", ops=[part])))
        elif isinstance(src, tuple):  # {lo, hi}: pieces packed from the low bits up
            width = row.bits // len(src)
            packed: Value = ConstantInt(IntType(row.bits), 0)
            for k, piece in enumerate(src):
                part = em.coerce(em.value(piece, IntType(width)), IntType(row.bits))
                if k:
                    part = em.add(BinaryOp(IntType(row.bits), opcode="shl",
                                           ops=[part, ConstantInt(IntType(row.bits), k * width)]))
                packed = em.add(BinaryOp(IntType(row.bits), opcode="or", ops=[packed, part]))
            em.set(dst, em.coerce(packed, ty))
        else:
            em.set(dst, em.value(src, ty) if isinstance(src, Reg | Imm) else _bad(stmt))
    elif row.kind == "half_arith":
        dst, *srcs = ops
        assert isinstance(dst, Reg)
        ty: Type = F16 if row.lanes == 1 else VectorType(2, F16)
        reg = IntType(row.bits)
        values = [em.coerce(em.value(s, reg), ty) for s in srcs
                  if isinstance(s, Reg | Imm)]
        if row.op == "fma":
            fma = _intrinsic(em, f"llvm.fma.{'f16' if row.lanes == 1 else 'v2f16'}", ty)
            result = em.add(Call(ty, opcode="call", ops=[*values, fma],
                                 function_type=fma.function_type))
        else:
            result = em.add(BinaryOp(ty, opcode=row.op, ops=values))
        em.set(dst, em.coerce(result, em.types.get(dst.index, reg)))
    elif row.kind == "int_convert":
        dst, src = ops
        assert isinstance(dst, Reg) and isinstance(src, Reg | Imm)
        from_bits = 32 if row.op in ("zext", "sext") else 64
        result = em.add(Cast(IntType(row.bits), opcode=row.op,
                             ops=[em.value(src, IntType(from_bits))]))
        em.set(dst, em.coerce(result, em.types.get(dst.index, result.ty)))
    elif row.kind == "load":
        dsts, addr = ops
        lanes = dsts if isinstance(dsts, tuple) else (dsts,)
        _check_lanes(row, lanes, addr, stmt)
        for k, dst in enumerate(lanes):
            assert isinstance(dst, Reg) and isinstance(addr, Addr)
            bytes_ = row.bits // 8
            ptr = em.pointer(addr, row.addrspace, k * bytes_)
            loaded = em.add(Load(IntType(row.bits), opcode="load", ops=[ptr], align=bytes_,
                                 volatile=row.volatile))
            em.set(dst, em.coerce(loaded, em.types.get(dst.index, loaded.ty)))
    elif row.kind == "store":
        addr, srcs = ops
        lanes = srcs if isinstance(srcs, tuple) else (srcs,)
        _check_lanes(row, lanes, addr, stmt)
        for k, src in enumerate(lanes):
            assert isinstance(addr, Addr) and isinstance(src, Reg | Imm)
            bytes_ = row.bits // 8
            ptr = em.pointer(addr, row.addrspace, k * bytes_)
            em.add(Store(VOID, opcode="store", ops=[em.value(src, IntType(row.bits)), ptr],
                         align=bytes_, volatile=row.volatile))
    elif row.kind == "atomic":
        dst, addr, src = ops
        assert isinstance(dst, Reg) and isinstance(addr, Addr) and isinstance(src, Reg | Imm)
        ty: Type = FloatType(row.to or "float") if row.float_result else IntType(row.bits)
        if row.lanes > 1:  # a packed pair (add.noftz.f16x2)
            ty = VectorType(row.lanes, ty)
        ptr = em.pointer(addr, row.addrspace)
        old = em.add(AtomicRMW(ty, opcode="atomicrmw", ops=[ptr, em.value(src, ty)],
                               operation=row.op, ordering=row.ordering,
                               syncscope=row.syncscope or None, align=row.bits // 8))
        em.set(dst, em.coerce(old, em.types.get(dst.index, ty)))
    elif row.kind == "atomic_cas":  # atom.cas d, [a], b, c: d = old; [a] = old == b ? c : old
        dst, addr, expected, new = ops
        assert isinstance(dst, Reg) and isinstance(addr, Addr)
        assert isinstance(expected, Reg | Imm) and isinstance(new, Reg | Imm)
        ty = IntType(row.bits)
        ptr = em.pointer(addr, row.addrspace)
        pair = em.add(CmpXchg(StructType((ty, I1)), opcode="cmpxchg",
                              ops=[ptr, em.value(expected, ty), em.value(new, ty)],
                              success_ordering=row.ordering,
                              failure_ordering=_CAS_FAILURE.get(row.ordering, row.ordering),
                              syncscope=row.syncscope or None, align=row.bits // 8))
        old = em.add(ExtractValue(ty, opcode="extractvalue", ops=[pair], indices=[0]))
        em.set(dst, em.coerce(old, em.types.get(dst.index, ty)))
    elif row.kind == "hint":  # nanosleep: changes when, never what
        pass
    elif row.kind == "float_unary":
        dst, src = ops
        assert isinstance(dst, Reg) and isinstance(src, Reg | Imm)
        f32 = FloatType("float")
        one = ConstantFP(f32, text="1.000000e+00")
        result = em.add(BinaryOp(f32, opcode="fdiv", ops=[one, em.value(src, f32)]))
        em.set(dst, em.coerce(result, em.types.get(dst.index, f32)))
    elif row.kind == "convert_pack":  # cvt.rn.f16x2.f32 d, a, b: a to the high half
        dst, high, low = ops
        assert isinstance(dst, Reg) and isinstance(high, Reg | Imm) and isinstance(low, Reg | Imm)
        f32, i32 = FloatType("float"), IntType(32)
        packed = _pack_f16(em, em.value(low, f32), em.value(high, f32))
        em.set(dst, em.coerce(packed, em.types.get(dst.index, i32)))
    elif row.kind == "f32_fma":
        dst, *srcs = ops
        assert isinstance(dst, Reg)
        f32 = FloatType("float")
        values = [em.value(x, f32) for x in srcs if isinstance(x, Reg | Imm)]
        fma = _intrinsic(em, "llvm.fma.f32", f32)
        result = em.add(Call(f32, opcode="call", ops=[*values, fma],
                             function_type=fma.function_type))
        em.set(dst, em.coerce(result, em.types.get(dst.index, f32)))
    elif row.kind == "convert":
        dst, src = ops
        assert isinstance(dst, Reg) and isinstance(src, Reg | Imm)
        source = em.value(src, IntType(32) if row.frm in ("s32", "u32") else FloatType(row.frm))
        result = em.add(Cast(FloatType(row.to), opcode=row.op, ops=[source]))
        em.set(dst, em.coerce(result, em.types.get(dst.index, result.ty)))
    elif row.kind == "mma":
        _mma(row, stmt, em)
    elif row.kind == "shfl":
        _shuffle(row, stmt, em)
    elif row.kind == "cp_async":
        _cp_async(stmt, em)
    else:  # pragma: no cover - every row kind has a builder above
        raise PtxError(f"no builder for '{stmt.text}'")


def _mma(row: T.PtxRow, stmt: Statement, em: _Emitter) -> None:
    """D = A x B + C for one warp (``rewrite/lane_matrix.py``): each lane computes its four
    D elements from A rows and B columns fetched with shuffles (PTX ISA fragment layouts;
    groupID = lane / 4, tig = lane % 4).

    Every m16n8 shape has one layout: a quad of lanes (4 g .. 4 g + 3) holds one A row or
    B column per register, K / 2 elements of it (f16 m16n8k16: 8) in lane order; A
    register r holds row g + 8 (r % 2) and the (r / 2)-th such k chunk, B register r the
    r-th chunk of column g. D/C element (row g + 8 (i / 2), column 2 tig + i % 2) is
    register i of an f32/s32 accumulator, half i % 2 of register i / 2 of an f16 one.

    Sums: f32 adds of exact products in k order, an f16 D is that f32 sum rounded once
    to nearest even (the ISA leaves the internal precision open: hardware may differ in
    the last bits); s32 sums are exact in i64, then clamped (``.satfinite``) or wrapped."""
    d, a, b, c = stmt.operands
    per_word = ELEMENTS_PER_WORD[row.op]
    b_regs = row.bits // (4 * per_word)
    acc_regs = {"f16": 2}
    if not all(isinstance(x, tuple) for x in (d, a, b, c)) or (
            len(a), len(b), len(d), len(c)) != (2 * b_regs, b_regs, acc_regs.get(row.to, 4),
                                                acc_regs.get(row.c_kind, 4)):
        raise PtxError(f"operands of '{stmt.text}'")
    i32 = IntType(32)
    laneid = _intrinsic(em, "llvm.nvvm.read.ptx.sreg.laneid", i32, ())
    lane = em.add(Call(i32, opcode="call", ops=[laneid], function_type=laneid.function_type))
    shfl = _intrinsic(em, "llvm.nvvm.shfl.sync.idx.i32", i32, (i32, i32, i32, i32))

    def shuffle(word: Value, src_lane: Value) -> Value:
        return em.add(Call(i32, opcode="call", ops=[ConstantInt(i32, -1), word, src_lane,
                                                     ConstantInt(i32, 31), shfl],
                           function_type=shfl.function_type))

    lm = LaneMatrixBuilder(em.add, shuffle)
    group, tig = lm.i32("lshr", lane, 2), lm.i32("and", lane, 3)

    def fetched(reg: Operand, base: Value, kind: str) -> list[Value]:
        """The k elements lanes 4*base .. 4*base+3 hold in register ``reg``."""
        assert isinstance(reg, Reg | Imm)
        quad = lm.i32("shl", base, 2)
        return [x for q in range(4) for x in lm.unpack(
            lm.fetch(em.value(reg, i32), lm.i32("add", quad, q)), kind)]

    a_rows = [[x for r in range(upper, len(a), 2) for x in fetched(a[r], group, row.op)]
              for upper in (0, 1)]
    b_cols = [[x for reg in b for x in fetched(reg, lm.i32(
        "add", lm.i32("shl", tig, 1), j), row.frm)] for j in (0, 1)]
    assert len(a_rows[0]) == row.bits == len(b_cols[0])
    accs = [x for reg in c for x in _mma_accumulator(em, lm, reg, row.c_kind)]
    sums = [lm.dot(acc, a_rows[i // 2], b_cols[i % 2]) for i, acc in enumerate(accs)]
    if row.to == "f16":  # two halves a register, the lower column in the low half
        words = [_pack_f16(em, sums[2 * r], sums[2 * r + 1]) for r in range(2)]
    elif row.to == "s32":
        words = [lm.saturate_i32(x) if row.saturate else em.add(Cast(
            i32, opcode="trunc", ops=[x])) for x in sums]
    else:
        words = sums
    for dst, word in zip(d, words, strict=True):
        assert isinstance(dst, Reg)
        em.set(dst, word)


def _mma_accumulator(em: _Emitter, lm: LaneMatrixBuilder, reg: Operand,
                     kind: str) -> list[Value]:
    """A C register as the dot products' starting values: one f32, one i64 (an s32
    sign-extended) or two f32 (an f16x2, low half first)."""
    assert isinstance(reg, Reg | Imm)
    if kind == "f32":
        return [em.value(reg, FloatType("float"))]
    if kind == "f16":
        return lm.unpack(em.value(reg, IntType(32)), "f16")
    return [em.add(Cast(I64, opcode="sext", ops=[em.value(reg, IntType(32))]))]


def _pack_f16(em: _Emitter, low: Value, high: Value) -> Value:
    """Two f32 values rounded to f16 (nearest even) in one i32, ``low`` in the low half."""
    i32 = IntType(32)
    halves = []
    for value in (low, high):
        h = em.add(Cast(F16, opcode="fptrunc", ops=[value]))
        bits16 = em.add(Cast(IntType(16), opcode="bitcast", ops=[h]))
        halves.append(em.add(Cast(i32, opcode="zext", ops=[bits16])))
    shifted = em.add(BinaryOp(i32, opcode="shl", ops=[halves[1], ConstantInt(i32, 16)]))
    return em.add(BinaryOp(i32, opcode="or", ops=[halves[0], shifted]))


def _intrinsic(em: _Emitter, name: str, ty: Type,
               params: tuple[Type, ...] | None = None) -> Function:
    module = em.module
    found = module.get_function(name)
    if found is None:
        found = Function(PointerType(0), name=name,
                         function_type=FunctionType(ty, (ty, ty, ty) if params is None else params),
                         fn_attrs=["nounwind", "memory(none)"])
        module.functions.append(found)
    return found


def _shuffle(row: T.PtxRow, stmt: Statement, em: _Emitter) -> None:
    """``shfl[.sync].MODE.b32 d[|p], a, b, c[, membermask]``: the NVVM intrinsic (``...p``
    when the validity predicate is written); without a mask, the whole warp."""
    dst, *srcs = stmt.operands
    if len(srcs) not in (3, 4):
        raise PtxError(f"operands of '{stmt.text}'")
    a, b, c, mask = (*srcs, Imm(-1)) if len(srcs) == 3 else srcs
    predicate = None
    if isinstance(dst, tuple):  # d|p
        if len(dst) != 2:
            raise PtxError(f"destination of '{stmt.text}'")
        dst, predicate = dst
    if not isinstance(dst, Reg) or not all(isinstance(x, Reg | Imm) for x in (a, b, c, mask)):
        raise PtxError(f"operands of '{stmt.text}'")
    i32 = IntType(32)
    ret: Type = StructType((i32, I1)) if predicate is not None else i32
    name = f"llvm.nvvm.shfl.sync.{row.op}.i32{'p' if predicate is not None else ''}"
    shuffle = declare_function(em.module, name, ret, (i32, i32, i32, i32),
                               ("convergent", "nounwind"))
    args = [em.value(x, i32) for x in (mask, a, b, c)]  # type: ignore[arg-type]
    call = em.add(Call(ret, opcode="call", ops=[*args, shuffle],
                       function_type=shuffle.function_type))
    if predicate is None:
        em.set(dst, em.coerce(call, em.types.get(dst.index, i32)))
        return
    value = em.add(ExtractValue(i32, opcode="extractvalue", ops=[call], indices=[0]))
    valid = em.add(ExtractValue(I1, opcode="extractvalue", ops=[call], indices=[1]))
    em.set(dst, em.coerce(value, em.types.get(dst.index, i32)))
    em.set(predicate, valid)  # type: ignore[arg-type]


def _cp_async(stmt: Statement, em: _Emitter) -> None:
    """``cp.async [dst], [src], cp-size[, src-size]``: bytes past src-size are zero-filled."""
    dst, src, size = stmt.operands[:3]
    src_size = stmt.operands[3] if len(stmt.operands) > 3 else size
    if not (isinstance(dst, Addr) and isinstance(src, Addr) and isinstance(size, Imm)
            and size.value in (4, 8, 16) and isinstance(src_size, Reg | Imm)):
        raise PtxError(f"'{stmt.text}' (expected [dst], [src], 4|8|16[, src-size])")
    if isinstance(src_size, Imm) and src_size.value >= size.value:
        words = [(k, True) for k in range(0, size.value, 4)]
        for k, _ in words:
            word = em.add(Load(IntType(32), opcode="load", ops=[em.pointer(src, 1, k)], align=4))
            em.add(Store(VOID, opcode="store", ops=[word, em.pointer(dst, 3, k)], align=4))
        return
    # a run-time source size: copy byte by byte, each byte only when it lies below it
    limit = em.value(src_size, IntType(32))
    for k in range(size.value):
        live = em.add(Compare(I1, opcode="icmp", predicate="ult",
                              ops=[ConstantInt(IntType(32), k), limit]))
        byte_reg = -1 - k
        em.regs[byte_reg] = ConstantInt(I8, 0)
        before, join, saved = em.begin_predicated(live, False)
        em.regs[byte_reg] = em.add(Load(I8, opcode="load", ops=[em.pointer(src, 1, k)], align=1))
        em.end_predicated(before, join, saved)
        em.add(Store(VOID, opcode="store", ops=[em.regs.pop(byte_reg), em.pointer(dst, 3, k)],
                     align=1))


def _check_lanes(row: T.PtxRow, lanes: tuple, addr: object, stmt: Statement) -> None:
    if len(lanes) != row.lanes or not isinstance(addr, Addr):
        raise PtxError(f"'{stmt.text}' (expected {row.lanes} register(s) and an address)")


def _bad(stmt: Statement) -> Value:
    raise PtxError(f"operands of '{stmt.text}'")


# ------------------------------------------------------------------------- stage


def translate_inline_ptx(module: Module, ctx: LoweringContext) -> None:
    """Inline PTX (the table's instructions) becomes LLVM IR; cp.async ordering calls go.

    Only in the kernels being compiled and the helpers they reach: the rest is dropped
    after inlining, and its PTX (another kernel's texture fetch) must not stop the
    kernels selected with ``--kernel``."""
    from llvm_to_air.rewrite.images import reachable

    used = {id(f) for kernel in ctx.kernels for f in reachable(kernel.function)}
    for fn in module.functions:
        if fn.is_declaration or id(fn) not in used:
            continue
        if not any(isinstance(i, Call) and (isinstance(i.callee, InlineAsm)
                                            or _is_cp_async_ordering(i) or (
                                                i.callee_function is not None and
                                                i.callee_function.name.startswith(_LDMATRIX)))
                   for i in fn.instructions()):
            continue
        _translate_function(module, fn, (module.triple or "").startswith("nvptx"))


_LDMATRIX = "llvm.nvvm.ldmatrix.sync.aligned.m8n8."


def _ldmatrix(module: Module, fn: Function, block: BasicBlock, position: int, call: Call,
              names: NameSource) -> None:
    """``ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].b16`` (PTX ISA, ldmatrix): lanes 8j..8j+7
    give the row addresses of matrix j; lane l gets, in register j, row l/4 columns
    2(l%4), 2(l%4)+1 of matrix j (of its transpose with .trans). Addresses travel between
    lanes as byte distances from each lane's own pointer, so every access stays a GEP."""
    parts = call.callee_function.name[len(_LDMATRIX):].split(".")  # type: ignore[union-attr]
    count = {"x1": 1, "x2": 2, "x4": 4}.get(parts[0])
    trans = "trans" in parts
    if count is None or "b16" not in parts:
        raise _error(f"'{call.callee_function.name}' is not translated", call.location)  # type: ignore
    em = _Emitter(fn, module, names, block, call.location, {}, {})
    i32, i16 = IntType(32), IntType(16)
    ptr = call.args[0]
    assert isinstance(ptr.ty, PointerType)
    bits = 32 if ptr.ty.addrspace in (3, 5) else 64
    addr_ty = IntType(bits)
    own = em.add(Cast(addr_ty, opcode="ptrtoint", ops=[ptr]))
    laneid = _intrinsic(em, "llvm.nvvm.read.ptx.sreg.laneid", i32, ())
    lane = em.add(Call(i32, opcode="call", ops=[laneid], function_type=laneid.function_type))
    shfl = _intrinsic(em, f"llvm.nvvm.shfl.sync.idx.i{bits}" if bits == 32 else
                      "llvm.nvvm.shfl.sync.idx.i32", i32, (i32, i32, i32, i32))

    def lane_expr(mul: int, shift_op: str, shift: int, add: int) -> Value:
        part = em.add(BinaryOp(i32, opcode=shift_op, ops=[lane, ConstantInt(i32, shift)]))
        if mul != 1:
            part = em.add(BinaryOp(i32, opcode="mul", ops=[part, ConstantInt(i32, mul)]))
        return em.add(BinaryOp(i32, opcode="add", ops=[part, ConstantInt(i32, add)]))

    def row_pointer(src_lane: Value) -> Value:
        if bits != 32:
            raise _error("ldmatrix from a 64-bit address space is not translated", call.location)
        other = em.add(Call(i32, opcode="call", ops=[ConstantInt(i32, -1), own, src_lane,
                                                      ConstantInt(i32, 31), shfl],
                            function_type=shfl.function_type))
        delta = em.add(BinaryOp(i32, opcode="sub", ops=[other, own]))
        wide = em.add(Cast(I64, opcode="sext", ops=[delta]))
        return em.add(GetElementPtr(ptr.ty, opcode="getelementptr", ops=[ptr, wide],
                                    source_type=I8))

    def at(base: Value, offset: Value) -> Value:
        wide = em.add(Cast(I64, opcode="zext", ops=[offset]))
        return em.add(GetElementPtr(ptr.ty, opcode="getelementptr", ops=[base, wide],
                                    source_type=I8))

    results: list[Value] = []
    for j in range(count):
        if not trans:
            row = row_pointer(lane_expr(1, "lshr", 2, 8 * j))
            col = lane_expr(4, "and", 3, 0)  # 4 bytes per column pair
            results.append(em.add(Load(i32, opcode="load", ops=[at(row, col)], align=4)))
            continue
        column = lane_expr(2, "lshr", 2, 0)  # byte offset of column l/4
        halves = []
        for h in range(2):
            row = row_pointer(lane_expr(2, "and", 3, 8 * j + h))
            halves.append(em.add(Load(i16, opcode="load", ops=[at(row, column)], align=2)))
        lo = em.add(Cast(i32, opcode="zext", ops=[halves[0]]))
        hi = em.add(Cast(i32, opcode="zext", ops=[halves[1]]))
        hi = em.add(BinaryOp(i32, opcode="shl", ops=[hi, ConstantInt(i32, 16)]))
        results.append(em.add(BinaryOp(i32, opcode="or", ops=[lo, hi])))
    em.types = {k: i32 for k in range(count)}
    em.regs = dict(enumerate(results))
    result = _result(em, count, call.ty)
    tail = block.instructions[position + 1:]
    block.instructions = block.instructions[:position]
    em.flush_into(block)
    block.instructions.extend(tail)
    if result is not None:
        replace_all_uses(fn.instructions(), {call: result})


def _is_cp_async_ordering(call: Call) -> bool:
    callee = call.callee_function
    return callee is not None and callee.name in T.CP_ASYNC_ORDERING


def _translate_function(module: Module, fn: Function, nvptx: bool) -> None:
    """In an NVPTX module every asm is PTX; elsewhere only text that reads as PTX.

    An asm without side effects whose result nothing uses (cooperative groups' unused
    ``%reserved_smem_offset`` read) is removed: it has no effect to keep.
    """
    used = {id(op) for inst in fn.instructions() for op in inst.ops}
    for block in fn.blocks:
        block.instructions = [
            i for i in block.instructions
            if not (isinstance(i, Call) and isinstance(i.callee, InlineAsm)
                    and "sideeffect" not in i.callee.flags and id(i) not in used)]
    names = NameSource(fn)
    index = 0
    while index < len(fn.blocks):
        block = fn.blocks[index]
        for position, inst in enumerate(block.instructions):
            if isinstance(inst, Call) and _is_cp_async_ordering(inst):
                del block.instructions[position]
                break
            if isinstance(inst, Call) and inst.callee_function is not None and \
                    inst.callee_function.name.startswith(_LDMATRIX):
                _ldmatrix(module, fn, block, position, inst, names)
                break
            if isinstance(inst, Call) and isinstance(inst.callee, InlineAsm) \
                    and (nvptx or _looks_like_ptx(inst.callee.asm)):
                _replace_call(module, fn, block, position, inst, names)
                break
        else:
            index += 1


# A PTX statement: an optional predicate guard, then an opcode with dotted modifiers
# (``mad.lo.cc.u32``) or a ``.reg`` declaration, possibly inside ``{ }``. AMD GCN assembly,
# the other inline assembly a module without a triple may hold, spells its opcodes with
# underscores (``v_mad_u32_u24``, ``s_waitcnt``) and never matches.
_PTX_STATEMENT = re.compile(r"(^|[;{]\s*)(@!?\$?\w+\s+)?([a-z][a-z0-9]*\.[a-z0-9]|\.reg\b)")


def _looks_like_ptx(asm: str) -> bool:
    return bool(_PTX_STATEMENT.search(asm.strip()))


def _replace_call(module: Module, fn: Function, block: BasicBlock, position: int, call: Call,
                  names: NameSource) -> None:
    asm = call.callee
    assert isinstance(asm, InlineAsm)
    location = call.location
    try:
        statements = parse_ptx(asm.asm)
    except PtxError as exc:
        raise _error(str(exc), location) from None
    outputs, _inputs, ties = _constraints(asm.constraints)
    result_types = (list(call.ty.fields) if isinstance(call.ty, StructType)
                    else [] if call.ty == VOID else [call.ty])
    if len(result_types) != len(outputs):
        raise _error(f"inline PTX '{asm.asm[:60]}' has {len(outputs)} outputs for a call "
                     f"returning {call.ty}", location)
    regs: dict[int, Value] = {CARRY_FLAG: ConstantInt(I1, 0)}  # CC.CF starts clear
    types: dict[int, Type] = dict(enumerate(result_types))
    for k, arg in enumerate(call.args):  # inputs are numbered after the outputs, tied or not
        regs[len(outputs) + k] = arg
        if k in ties:
            regs[ties[k]] = arg
    tail = block.instructions[position + 1:]
    block.instructions = block.instructions[:position]
    em = _Emitter(fn, module, names, block, location, regs, types)
    target_sm = _target_sm(fn)
    try:
        for stmt in statements:
            row = T.BY_MNEMONIC.get(stmt.mnemonic)
            if row is None:
                raise PtxError(f"PTX instruction '{stmt.text}' has no translation")
            if row.min_sm > target_sm > 0:
                raise PtxError(f"'{stmt.text}' needs sm_{row.min_sm}, but @{fn.name} is "
                               f"compiled for sm_{target_sm} (ptxas rejects it there)")
            if stmt.predicate is not None:
                saved = em.begin_predicated(regs_value(em, stmt.predicate), stmt.negated)
                _build(row, stmt, em)
                em.end_predicated(*saved)
            else:
                _build(row, stmt, em)
    except PtxError as exc:
        raise _error(str(exc), location) from None
    result = _result(em, len(outputs), call.ty)
    final = em.block
    em.flush_into(final)
    for inst in tail:
        inst.parent = final
    final.instructions.extend(tail)
    at = fn.blocks.index(block) + 1
    fn.blocks[at:at] = em.new_blocks
    if final is not block:
        for succ in final.successors():
            for phi in succ.instructions:
                if isinstance(phi, Phi):
                    phi.blocks = [final if b is block else b for b in phi.blocks]
    if result is not None:
        replace_all_uses(fn.instructions(), {call: result})


def _target_sm(fn: Function) -> int:
    """The function's ``"target-cpu"="sm_NN"`` as NN (``sm_90a`` is 90); 0 when unknown."""
    m = re.search(r'"target-cpu"="sm_(\d+)', " ".join(fn.fn_attrs))
    return int(m.group(1)) if m else 0


def regs_value(em: _Emitter, reg: Reg) -> Value:
    value = em.regs.get(reg.index)
    if value is None:
        raise PtxError(f"predicate ${reg.index} is not an input")
    return value


def _result(em: _Emitter, count: int, ty: Type) -> Value | None:
    if count == 0:
        return None
    values = [em.regs.get(k) or Undef(em.types[k]) for k in range(count)]
    values = [em.coerce(v, em.types[k]) for k, v in enumerate(values)]
    if not isinstance(ty, StructType):
        return values[0]
    aggregate: Value = Undef(ty)
    for k, value in enumerate(values):
        aggregate = em.add(InsertValue(ty, opcode="insertvalue", ops=[aggregate, value],
                                       indices=[k]))
    return aggregate


def _constraints(text: str) -> tuple[list[str], list[str], dict[int, int]]:
    """Outputs, inputs and ties (input number -> the output register it shares)."""
    outputs, inputs, ties = [], [], {}
    for part in text.split(","):
        part = part.strip()
        if not part or part.startswith("~"):
            continue
        if part.startswith("="):
            outputs.append(part.lstrip("=&"))
        else:
            if part.isdigit():
                ties[len(inputs)] = int(part)
            inputs.append(part)
    return outputs, inputs, ties


def _error(message: str, location: SourceLocation | None) -> CompileError:
    return CompileError(f"inline assembly: {message}", location, hint="the inline PTX translator covers the rows of "
                        "llvm_to_air/rewrite/ptx_tables.py; write other operations in IR")


