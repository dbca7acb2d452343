"""AMD RDNA3 (gfx11, wave32) WMMA, emulated exactly with SIMD-group shuffles.

``llvm.amdgcn.wmma.<D>.16x16x16.<AB>`` computes ``D = A x B + C`` for one 16x16x16 tile
held by the 32 lanes of a wave (RDNA3 ISA, "Wave Matrix Multiply-Accumulate"; the layout
LLVM's AMDGPU backend and the GPUOpen WMMA guide use):

- A (16x16, M x K): lane ``l`` holds row ``l % 16``, elements ``K = 0..15`` in order
  (lanes 16-31 repeat lanes 0-15);
- B (16x16, K x N): lane ``l`` holds column ``l % 16``, elements ``K = 0..15``;
- C and D: register ``v`` of lane ``l`` is ``D[2v + l / 16][l % 16]``; a 16-bit D
  (``f16``/``bf16``) sits in the low (``opsel`` false) or high half of each 32-bit
  register, the other half keeps C's value (what the ``.tied`` forms define and a valid
  choice for the untied ones, whose other half is left undefined).

Each lane fetches the A rows of its eight D elements from lanes ``2v + l / 16`` (one
``ds.bpermute`` per 32-bit register, which ``lower_intrinsics`` makes ``simd_shuffle``);
its B column is its own. The dot products are ``rewrite/lane_matrix.py``'s, the same as
``mma.sync``'s: f32 sums of exact products in k order (a 16-bit D is rounded once, to
nearest even), integer sums in i64 (``clamp`` saturates to i32, else the sum wraps).

gfx12's WMMA (8 A/B elements per lane) has another layout and is refused; wave64 WMMA
and MFMA never get here (``refuse_wave64_cross_lane``).

Expects: wave64 cross-lane code already refused. Guarantees: no ``llvm.amdgcn.wmma``
call remains; a form outside the table is a CompileError naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import NameSource, declare_function, replace_all_uses
from llvm_to_air.ir.model import (
    Call,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    Function,
    InsertElement,
    Instruction,
    Module,
    Select,
    Value,
)
from llvm_to_air.ir.types import (
    F16,
    F32,
    FLOAT_BITS,
    I1,
    I16,
    I32,
    I64,
    VOID,
    FloatType,
    IntType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite.context import LoweringContext
from llvm_to_air.rewrite.lane_matrix import LaneMatrixBuilder

_PREFIX = "llvm.amdgcn.wmma."
_NAME = re.compile(r"llvm\.amdgcn\.wmma\.(f32|f16|bf16|i32)\.16x16x16\.(f16|bf16|iu8|iu4)"
                   r"(\.tied)?(\.[a-z0-9]+)*$")


@dataclass(frozen=True)
class WmmaForm:
    """One gfx11 WMMA intrinsic: the A/B element kind and the D element kind."""

    inputs: str    # f16, bf16, iu8, iu4
    result: str    # f32, f16, bf16, i32

    @property
    def integer(self) -> bool:
        return self.inputs.startswith("iu")


FORMS: dict[tuple[str, str], WmmaForm] = {
    (d, ab): WmmaForm(ab, d) for d, ab in (
        ("f32", "f16"), ("f32", "bf16"), ("f16", "f16"), ("bf16", "bf16"),
        ("i32", "iu8"), ("i32", "iu4"))}
_K = 16
_A_WORDS = {"f16": 8, "bf16": 8, "iu8": 4, "iu4": 2}  # 32-bit registers of A (and B)


def lower_amdgpu_wmma(module: Module, ctx: LoweringContext) -> None:
    """Replace every ``llvm.amdgcn.wmma.*`` call (see the module docstring)."""
    for fn in module.functions:
        if fn.is_declaration:
            continue
        calls = [i for i in fn.instructions() if isinstance(i, Call) and i.callee_function
                 is not None and i.callee_function.name.startswith(_PREFIX)]
        if calls:
            names = NameSource(fn)
            for call in calls:
                _replace(module, fn, call, names)


def _form(call: Call) -> WmmaForm:
    name = call.callee_function.name  # type: ignore[union-attr]
    m = _NAME.match(name)
    form = FORMS.get((m.group(1), m.group(2))) if m else None
    if form is None:
        raise CompileError(f"'@{name}' is not a gfx11 wave32 WMMA form this tool translates",
                           call.location, hint="the translated forms are wmma.{f32,f16,bf16,"
                           "i32}.16x16x16.{f16,bf16,iu8,iu4} (RDNA3, wave32)")
    a = call.args[1] if form.integer else call.args[0]
    if _bits(a.ty) != 32 * _A_WORDS[form.inputs]:
        raise CompileError(f"'@{name}' with {a.ty} operands: the gfx12 (RDNA4) WMMA layout "
                           "is not translated, only gfx11's 16 elements per lane",
                           call.location, hint="compile for gfx1100")
    return form


def _bits(ty: Type) -> int:
    if isinstance(ty, VectorType):
        return ty.count * _bits(ty.element)
    if isinstance(ty, FloatType):
        return FLOAT_BITS[ty.kind]
    return ty.bits if isinstance(ty, IntType) else 0


class _Emitter:
    def __init__(self, module: Module, names: NameSource, call: Call) -> None:
        self.module, self.names, self.call = module, names, call
        self.out: list[Instruction] = []

    def add(self, inst: Instruction) -> Instruction:
        if inst.name is None and inst.ty != VOID:
            inst.name = self.names("wmma")
        inst.location = self.call.location
        self.out.append(inst)
        return inst

    def declare(self, name: str, ret: Type, params: tuple[Type, ...]) -> Function:
        return declare_function(self.module, name, ret, params)

    def call_intrinsic(self, name: str, args: list[Value]) -> Value:
        fn = self.declare(name, I32, tuple(I32 for _ in args))
        return self.add(Call(I32, opcode="call", ops=[*args, fn],
                             function_type=fn.function_type))

    def words(self, vector: Value) -> list[Value]:
        """The 32-bit registers of a fragment operand, lowest elements first."""
        count = _bits(vector.ty) // 32
        as_words = self.add(Cast(VectorType(count, I32), opcode="bitcast", ops=[vector]))
        return [self.add(ExtractElement(I32, opcode="extractelement",
                                        ops=[as_words, ConstantInt(I32, w)]))
                for w in range(count)]

    def element(self, vector: Value, index: int) -> Value:
        assert isinstance(vector.ty, VectorType)
        return self.add(ExtractElement(vector.ty.element, opcode="extractelement",
                                       ops=[vector, ConstantInt(I32, index)]))


def _replace(module: Module, fn: Function, call: Call, names: NameSource) -> None:
    form = _form(call)
    em = _Emitter(module, names, call)
    lane = em.call_intrinsic("llvm.amdgcn.mbcnt.lo", [ConstantInt(I32, -1), ConstantInt(I32, 0)])

    def shuffle(word: Value, src_lane: Value) -> Value:
        return em.call_intrinsic("llvm.amdgcn.ds.bpermute", [lm.i32("shl", src_lane, 2), word])

    lm = LaneMatrixBuilder(em.add, shuffle)
    if form.integer:
        a_signed, a, b_signed, b, c, clamp = call.args
        flags = (a_signed, b_signed, clamp)
        if not all(isinstance(f, ConstantInt) for f in flags):
            raise CompileError(f"'@{call.callee_function.name}' with non-constant sign or "  # type: ignore[union-attr]
                               "clamp flags", call.location)
        bits = "8" if form.inputs == "iu8" else "4"
        a_kind = ("i" if a_signed.value & 1 else "u") + bits  # type: ignore[attr-defined]
        b_kind = ("i" if b_signed.value & 1 else "u") + bits  # type: ignore[attr-defined]
        saturate = bool(clamp.value & 1)  # type: ignore[attr-defined]
        opsel = 0
    else:
        a, b, c = call.args[:3]
        a_kind = b_kind = form.inputs
        saturate = False
        opsel = 0
        if form.result in ("f16", "bf16"):
            selector = call.args[3]
            if not isinstance(selector, ConstantInt):
                raise CompileError(f"'@{call.callee_function.name}' with a non-constant "  # type: ignore[union-attr]
                                   "opsel", call.location)
            opsel = selector.value & 1
    column = [x for w in em.words(b) for x in lm.unpack(w, b_kind)]
    a_words = em.words(a)
    upper = lm.i32("lshr", lane, 4)
    result: Value = c
    for v in range(8):
        row_lane = lm.i32("add", upper, 2 * v)
        row = [x for w in a_words for x in lm.unpack(lm.fetch(w, row_lane), a_kind)]
        assert len(row) == len(column) == _K
        index = 2 * v + opsel if form.result in ("f16", "bf16") else v
        acc = _widen(em, lm, em.element(c, index), form.result)
        total = lm.dot(acc, row, column)
        value = _narrow(em, lm, total, form.result, saturate)
        element_ty = c.ty.element  # type: ignore[attr-defined]
        if value.ty != element_ty:
            value = em.add(Cast(element_ty, opcode="bitcast", ops=[value]))
        result = em.add(InsertElement(c.ty, opcode="insertelement",
                                      ops=[result, value, ConstantInt(I32, index)]))
    if result.ty != call.ty:
        result = em.add(Cast(call.ty, opcode="bitcast", ops=[result]))
    block = call.parent
    assert block is not None
    at = block.instructions.index(call)
    block.instructions[at:at + 1] = em.out
    for inst in em.out:
        inst.parent = block
    replace_all_uses(fn.instructions(), {call: result})


def _widen(em: _Emitter, lm: LaneMatrixBuilder, value: Value, kind: str) -> Value:
    """An accumulator element as the dot product's f32 or i64."""
    if kind == "f32":
        return value if value.ty == F32 else em.add(Cast(F32, opcode="bitcast", ops=[value]))
    if kind == "i32":
        return em.add(Cast(I64, opcode="sext", ops=[value]))
    if kind == "f16":
        return em.add(Cast(F32, opcode="fpext", ops=[value]))
    bits = value if value.ty == I16 else em.add(Cast(I16, opcode="bitcast", ops=[value]))
    wide = em.add(Cast(I32, opcode="zext", ops=[bits]))
    return em.add(Cast(F32, opcode="bitcast", ops=[lm.i32("shl", wide, 16)]))


def _narrow(em: _Emitter, lm: LaneMatrixBuilder, value: Value, kind: str,
            saturate: bool) -> Value:
    """The dot product as a D element, rounded to nearest even for 16-bit floats."""
    if kind == "f32":
        return value
    if kind == "i32":
        if saturate:
            return lm.saturate_i32(value)
        return em.add(Cast(I32, opcode="trunc", ops=[value]))
    if kind == "f16":
        return em.add(Cast(F16, opcode="fptrunc", ops=[value]))
    # bf16, round to nearest even on the bits; a NaN stays a (quiet) NaN
    bits = em.add(Cast(I32, opcode="bitcast", ops=[value]))
    odd = lm.i32("and", lm.i32("lshr", bits, 16), 1)
    rounded = lm.i32("lshr", lm.i32("add", bits, lm.i32("add", odd, 0x7FFF)), 16)
    magnitude = lm.i32("and", bits, 0x7FFFFFFF)
    is_nan = em.add(Compare(I1, opcode="icmp", predicate="ugt",
                            ops=[magnitude, ConstantInt(I32, 0x7F800000)]))
    quiet = lm.i32("or", lm.i32("lshr", bits, 16), 0x40)
    chosen = em.add(Select(I32, opcode="select", ops=[is_nan, quiet, rounded]))
    return em.add(Cast(I16, opcode="trunc", ops=[chosen]))
