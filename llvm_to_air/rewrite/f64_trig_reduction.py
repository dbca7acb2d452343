"""The one double-precision step of libdevice's float trigonometry, computed in float.

``sinf``/``cosf``/``tanf``/``sincosf`` from libdevice (inlined by clang whenever CUDA code is
compiled against the real headers) reduce huge arguments with Payne-Hanek: an exact 64-bit
fixed-point product of the argument with the bits of 2/pi, then one step in fp64 that turns
the reduced fraction into radians::

    %q = sitofp i64 %x to double
    %p = fmul double %q, 0x3BF921FB54442D19        ; pi/2 * 2^-62
    %r = fptrunc double %p to float

Apple GPUs have no fp64, and this step is the only double in those functions, so every
kernel calling them would be refused. The step computes ``float(x * C)``; here it is
computed with float operations only, in double-float arithmetic: ``x`` is split into
three pieces that floats hold exactly (20 signed bits, 22, 22), ``C`` into a float and its
float remainder, and the partial products are summed from the smallest up, the leading one
with its exact rounding error (``fma``). The sum carries about 44 correct bits before its
final rounding, so the float result is the correctly rounded one, as the fp64 step gives,
except within ~2^-20 ulp of a rounding tie.

Expects: kernels inlined, before ``legalize_types`` (which refuses or demotes the doubles
left). Guarantees: each ``fptrunc (fmul (sitofp i64 to double), constant) to float`` whose
``sitofp`` and ``fmul`` have no other use is replaced by float instructions and an
``llvm.fma.f32`` call; the three instructions are gone. Other doubles are untouched.
"""

from __future__ import annotations

import struct

from llvm_to_air.ir.edit import declare_function, replace_all_uses, users
from llvm_to_air.ir.forward import spell_float
from llvm_to_air.ir.model import (
    BasicBlock,
    BinaryOp,
    Call,
    Cast,
    ConstantFP,
    ConstantInt,
    Function,
    Instruction,
    Module,
    Value,
)
from llvm_to_air.ir.types import F32, I32, I64, FloatType
from llvm_to_air.rewrite.context import LoweringContext

F64 = FloatType("double")
# x = a * 2^44 + b * 2^22 + c: a signed (20 bits of an i64), b and c unsigned 22 bits
_PIECES = ((44, None), (22, 0x3FFFFF), (0, 0x3FFFFF))


def lower_f64_trig_reduction(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        table = users(fn)
        for block in fn.blocks:
            for inst in list(block.instructions):
                match = _match(inst, table)
                if match is not None:
                    _replace(module, fn, block, inst, *match)


def _match(inst: Instruction, table: dict[Value, list[tuple[Instruction, int]]]
           ) -> tuple[Value, float, Instruction, Instruction] | None:
    """(x, C, the sitofp, the fmul) when ``inst`` is ``fptrunc (fmul (sitofp x), C)``."""
    if not (isinstance(inst, Cast) and inst.opcode == "fptrunc" and inst.ty == F32):
        return None
    product = inst.ops[0]
    if not (isinstance(product, BinaryOp) and product.opcode == "fmul" and product.ty == F64
            and len(table.get(product, [])) == 1):
        return None
    wide, constant = product.ops
    if isinstance(wide, ConstantFP):
        wide, constant = constant, wide
    if not (isinstance(constant, ConstantFP) and isinstance(wide, Cast)
            and wide.opcode == "sitofp" and wide.ops[0].ty == I64
            and len(table.get(wide, [])) == 1):
        return None
    value = _double_value(constant.text)
    if value is None:
        return None
    return wide.ops[0], value, wide, product


def _double_value(text: str) -> float | None:
    if text.startswith("0x") and len(text) == 18:
        return struct.unpack(">d", bytes.fromhex(text[2:]))[0]  # type: ignore[no-any-return]
    try:
        return float(text)
    except ValueError:
        return None


def _replace(module: Module, fn: Function, block: BasicBlock, trunc: Instruction, x: Value,
             c: float, wide: Instruction, product: Instruction) -> None:
    new: list[Instruction] = []

    def add(inst: Instruction) -> Instruction:
        inst.parent = block
        inst.location = trunc.location
        new.append(inst)
        return inst

    def fop(opcode: str, a: Value, b: Value) -> Instruction:
        return add(BinaryOp(F32, opcode=opcode, ops=[a, b]))

    def flt(v: float) -> ConstantFP:
        return ConstantFP(F32, text=spell_float("float", v))

    c_hi = struct.unpack("f", struct.pack("f", c))[0]
    c_lo = c - c_hi
    hi, lo = flt(c_hi), flt(c_lo)
    pieces = []
    for shift, mask in _PIECES:
        part: Value = x
        if shift:
            part = add(BinaryOp(I64, opcode="ashr" if mask is None else "lshr",
                                ops=[part, ConstantInt(I64, value=shift)]))
        if mask is not None:
            part = add(BinaryOp(I64, opcode="and", ops=[part, ConstantInt(I64, value=mask)]))
        small = add(Cast(I32, opcode="trunc", ops=[part]))
        as_float = add(Cast(F32, opcode="sitofp", ops=[small]))
        pieces.append(fop("fmul", as_float, flt(float(2 ** shift))) if shift else as_float)
    fa, fb, fc = pieces
    lead = fop("fmul", fa, hi)
    fma = declare_function(module, "llvm.fma.f32", F32, (F32, F32, F32),
                           ("nounwind", "readnone", "speculatable", "willreturn"))
    neg_lead = fop("fsub", flt(-0.0), lead)
    error = add(Call(F32, opcode="call", ops=[fa, hi, neg_lead, fma],
                     function_type=fma.function_type, arg_attrs=[[], [], []]))
    tail: Value = fop("fmul", fb, lo)
    for a, b in ((fa, lo), (fc, hi)):
        tail = fop("fadd", tail, fop("fmul", a, b))
    tail = fop("fadd", tail, error)
    tail = fop("fadd", tail, fop("fmul", fb, hi))
    result = fop("fadd", lead, tail)
    at = block.instructions.index(trunc)
    block.instructions[at:at + 1] = new
    replace_all_uses(fn.instructions(), {trunc: result})
    for dead in (product, wide):
        dead.parent.instructions.remove(dead)  # type: ignore[union-attr]

