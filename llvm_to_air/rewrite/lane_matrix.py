"""Warp-wide matrix multiply-accumulate emulated exactly with SIMD-group shuffles.

NVIDIA's ``mma.sync`` (``rewrite/ptx.py``) and AMD's WMMA (``rewrite/amdgpu_wmma.py``)
keep A, B, C and D spread over the 32 lanes of a warp or wave in register layouts that
their ISAs define. Both become the same computation here: every lane computes the D
elements it holds, each one dot product of an A row and a B column, fetching the 32-bit
registers it lacks from the lanes that hold them with one shuffle each. A warp or wave32
is exactly one Apple SIMD group, so every fetch reads what the hardware would.

Floating-point inputs are unpacked to f32 (products of f16, bf16 and tf32 values are exact
in f32) and added onto the accumulator in k order; integer inputs are sign- or
zero-extended and summed in i64, so a clamped result saturates exactly.

This module only builds instructions; each caller says how to shuffle (``llvm.nvvm.shfl``
or ``llvm.amdgcn.ds.bpermute``, both lowered to ``simd_shuffle`` by ``lower_intrinsics``)
and where the instructions go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.ir.model import BinaryOp, Cast, Compare, ConstantInt, Instruction, Select, Value
from llvm_to_air.ir.types import F16, F32, I1, I16, I32, I64, FloatType, IntType

# Element kinds of a 32-bit register: elements per register and their width in bits.
ELEMENTS_PER_WORD = {"f32": 1, "tf32": 1, "f16": 2, "bf16": 2, "i8": 4, "u8": 4, "i4": 8,
                     "u4": 8}


@dataclass(frozen=True)
class LaneMatrixBuilder:
    """The caller's instruction sink and its shuffle of an i32 register from another lane."""

    add: Callable[[Instruction], Instruction]
    shuffle: Callable[[Value, Value], Value]

    def i32(self, op: str, a: Value, b: Value | int) -> Value:
        other = ConstantInt(I32, b) if isinstance(b, int) else b
        return self.add(BinaryOp(I32, opcode=op, ops=[a, other]))

    def fetch(self, word: Value, src_lane: Value) -> Value:
        """Register ``word`` (i32) as lane ``src_lane`` holds it."""
        return self.shuffle(word, src_lane)

    def unpack(self, word: Value, kind: str) -> list[Value]:
        """The elements of a 32-bit register, lowest bits first: f32 values for float kinds,
        i64 values for integer kinds (``i*`` sign-extended, ``u*`` zero-extended)."""
        if kind == "f32":
            return [self.add(Cast(F32, opcode="bitcast", ops=[word]))]
        if kind == "tf32":  # the tensor unit reads the top 19 bits of each f32
            kept = self.i32("and", word, -8192)
            return [self.add(Cast(F32, opcode="bitcast", ops=[kept]))]
        if kind == "bf16":  # a bfloat16 is the top half of the f32 it stands for
            return [self.add(Cast(F32, opcode="bitcast", ops=[
                self.i32("shl", word, 16)])), self.add(Cast(F32, opcode="bitcast", ops=[
                    self.i32("and", word, -65536)]))]
        if kind == "f16":
            halves = []
            for shift in (0, 16):
                part = self.i32("lshr", word, shift) if shift else word
                h16 = self.add(Cast(I16, opcode="trunc", ops=[part]))
                half = self.add(Cast(F16, opcode="bitcast", ops=[h16]))
                halves.append(self.add(Cast(F32, opcode="fpext", ops=[half])))
            return halves
        bits = 32 // ELEMENTS_PER_WORD[kind]
        signed = kind.startswith("i")
        values = []
        for k in range(32 // bits):
            # move the element to the top, then shift it down with or without its sign
            top = self.i32("shl", word, 32 - bits * (k + 1)) if k < 32 // bits - 1 else word
            value = self.i32("ashr" if signed else "lshr", top, 32 - bits)
            values.append(self.add(Cast(I64, opcode="sext" if signed else "zext",
                                        ops=[value])))
        return values

    def dot(self, acc: Value, a: list[Value], b: list[Value]) -> Value:
        """``acc + sum(a[k] * b[k])`` in k order (f32 with exact products, or i64)."""
        assert len(a) == len(b)
        is_float = isinstance(acc.ty, FloatType)
        mul, addition = ("fmul", "fadd") if is_float else ("mul", "add")
        for x, y in zip(a, b, strict=True):
            product = self.add(BinaryOp(acc.ty, opcode=mul, ops=[x, y]))
            acc = self.add(BinaryOp(acc.ty, opcode=addition, ops=[acc, product]))
        return acc

    def saturate_i32(self, wide: Value) -> Value:
        """An i64 sum clamped to the i32 range, then narrowed (WMMA's ``clamp``)."""
        low, high = ConstantInt(I64, -(1 << 31)), ConstantInt(I64, (1 << 31) - 1)
        under = self.add(Compare(I1, opcode="icmp", predicate="slt", ops=[wide, low]))
        wide = self.add(Select(I64, opcode="select", ops=[under, low, wide]))
        over = self.add(Compare(I1, opcode="icmp", predicate="sgt", ops=[wide, high]))
        wide = self.add(Select(I64, opcode="select", ops=[over, high, wide]))
        return self.add(Cast(IntType(32), opcode="trunc", ops=[wide]))
