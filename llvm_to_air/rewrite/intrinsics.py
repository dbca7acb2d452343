"""Intrinsics and builtins to ``air.*``: math, integer ops, conversions, atomics, barriers, SIMD.

Interprets the tables in :mod:`intrinsic_tables`: every call to a producer's
intrinsic or builtin (``llvm.*``, NVVM, AMDGPU, libdevice ``__nv_*``, OCML
``__ocml_*``, OpenCL's mangled builtins) and every instruction AIR spells as a
call (``atomicrmw``, ``cmpxchg``, atomic loads and stores, ``fence``,
int<->float conversions) becomes the ``air.*`` call Apple's compiler would
emit, with Apple's declaration and call-site attributes. ``fast_`` math
variants are used for f32 only under fast math (``ctx.fast_math``), or when the
source asked for the fast form (``native_sin``, ``__nv_fast_expf``).

Atomics use the ABI of the target's AIR version: relaxed order (Metal before
MSL 4.1 supports no other), scope 2 for device and 1 for threadgroup memory,
``i1 true`` volatile, and from AIR 2.9 the ``i32 flags`` operand. Operations
AIR lacks become compare-exchange loops. Atomics on private memory (an
alloca) are plain loads and stores: no other thread can see it.

Expects address spaces inferred (``global`` vs ``local`` depends on them).
Guarantees no ``atomicrmw``/``cmpxchg``/atomic load/store/``fence`` and no
call to a producer builtin remains; an unknown one is an error naming it.
Built-in index reads (``llvm.nvvm.read.ptx.sreg.*`` ...) are left for the
built-ins stage, which also answers the lane-id reads this stage creates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.legalize14 import combine_rmw, expand_atomicrmw
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    BinaryOp,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ConstantInt,
    ExtractElement,
    Fence,
    Function,
    GetElementPtr,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    Module,
    Poison,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    I16,
    I32,
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
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.builtins import BUILTIN_READS, CONSTANT_BUILTINS
from llvm_to_air.rewrite.context import KernelSignature, LoweringContext
from llvm_to_air.rewrite.legalize import TRAPS
from llvm_to_air.rewrite.nvvm_rounding import lower_nvvm_rounding, source_spelling
from llvm_to_air.rewrite.opencl_dot import lower_integer_dot

# Declaration and call-site attributes Apple writes, per kind of AIR function.
_ATTRIBUTES: dict[str, tuple[list[str], list[str]]] = {
    "math": (["mustprogress", "nofree", "nosync", "nounwind", "readnone", "willreturn"],
             ["nounwind", "readnone", "willreturn"]),
    "sync": (["convergent", "mustprogress", "nounwind", "willreturn"],
             ["convergent", "nounwind", "willreturn"]),
    "atomic": (["mustprogress", "nounwind", "willreturn"], ["nounwind", "willreturn"]),
    "fence": (["nounwind"], ["nounwind"]),
}
_LANE_ID = "llvm.nvvm.read.ptx.sreg.laneid"


def type_suffix(ty: Type) -> str:
    """AIR's type spelling in names: ``f32``, ``i16``, ``v4f32``."""
    if isinstance(ty, VectorType):
        return f"v{ty.count}{type_suffix(ty.element)}"
    if isinstance(ty, IntType):
        return f"i{ty.bits}"
    if isinstance(ty, FloatType):
        return {"half": "f16", "bfloat": "bf16", "float": "f32", "double": "f64"}[ty.kind]
    raise CompileError(f"type {ty} has no AIR intrinsic form")


def _scalar(ty: Type) -> Type:
    return ty.element if isinstance(ty, VectorType) else ty


# ------------------------------------------------------------------ builder


class AirBuilder:
    """Declares ``air.*`` functions once per module and builds calls to them."""

    def __init__(self, module: Module, ctx: LoweringContext) -> None:
        self.module = module
        self.ctx = ctx

    def declare(self, name: str, fnty: FunctionType, kind: str,
                param_attrs: list[list[str]] | None = None) -> Function:
        fn = self.module.get_function(name)
        if fn is not None:
            if fn.function_type != fnty:
                raise CompileError(f"{name} is used with two different types ({fn.function_type}"
                                   f" and {fnty})")
            return fn
        decl_attrs, _ = _ATTRIBUTES[kind]
        # Atomics point at their value type, as Apple declares them (i32 addrspace(1)* ...).
        pointee = _ATOMIC_VALUE_TYPES.get(name.rsplit(".", 1)[-1]) if kind == "atomic" else None
        fn = Function(PointerType(0), name=name, function_type=fnty, fn_attrs=list(decl_attrs),
                      args=[Argument(p, attrs=list((param_attrs or [])[k])
                                     if param_attrs and k < len(param_attrs) else [],
                                     pointee_hint=pointee if isinstance(p, PointerType) else None)
                            for k, p in enumerate(fnty.params)])
        self.module.functions.append(fn)
        return fn

    def call(self, name: str, ret: Type, args: list[Value], kind: str, *,
             fast: bool = False, param_attrs: list[list[str]] | None = None,
             result_name: str | None = None) -> Call:
        fnty = FunctionType(ret, tuple(a.ty for a in args))
        fn = self.declare(name, fnty, kind, param_attrs)
        _, call_attrs = _ATTRIBUTES[kind]
        flags = ("fast",) if fast and isinstance(_scalar(ret), FloatType) else ()
        return Call(ret, opcode="call", ops=[*args, fn], function_type=fnty, tail="tail",
                    flags=flags, arg_attrs=[list(a) for a in (param_attrs or [])] +
                    [[] for _ in range(len(args) - len(param_attrs or []))],
                    fn_attrs=list(call_attrs), name=result_name)


@dataclass
class Rewrite:
    """New instructions (inserted before the old one) and the value replacing it (if any)."""

    instructions: list[Instruction]
    value: Value | None

    def with_value(self) -> Rewrite:
        """This rewrite, its last instruction being the replacement value."""
        self.value = self.instructions[-1]
        return self


Handler = Callable[["Lowering", Instruction], Rewrite | None]


class Lowering:
    """Lowers one kernel; ``run`` walks its instructions once, expanding as it goes."""

    def __init__(self, module: Module, ctx: LoweringContext, kernel: KernelSignature) -> None:
        self.module = module
        self.ctx = ctx
        self.kernel = kernel
        self.fn = kernel.function
        self.air = AirBuilder(module, ctx)
        self.new: list[Instruction] = []
        self.entry_allocas: list[Alloca] = []

    # --------------------------------------------------------------- driver

    def run(self) -> None:
        self._expand_atomic_loops()
        mapping: dict[Value, Value] = {}
        for block in self.fn.blocks:
            out: list[Instruction] = []
            for inst in block.instructions:
                self.new = []
                rewrite = self.lower(inst)
                if rewrite is None:
                    out.append(inst)
                    continue
                for new in rewrite.instructions:
                    new.parent = block
                    if new.location is None:
                        new.location = inst.location
                out.extend(rewrite.instructions)
                if rewrite.value is not None:
                    mapping[inst] = mapping.get(rewrite.value, rewrite.value)
                    if inst.name and isinstance(rewrite.value, Instruction) and \
                            rewrite.value.name is None:
                        rewrite.value.name = inst.name
            block.instructions = out
        for inst in self.fn.instructions():
            if isinstance(inst, Call) and inst.bundles:
                inst.bundles = [b for b in inst.bundles if b.tag != "convergencectrl"]
        entry = self.fn.blocks[0]
        for slot in self.entry_allocas:
            slot.parent = entry
        entry.instructions[0:0] = self.entry_allocas
        replace_all_uses(self.fn.instructions(), mapping)

    def lower(self, inst: Instruction) -> Rewrite | None:
        if isinstance(inst, Call):
            return self._call(inst)
        handler = _INSTRUCTION_HANDLERS.get(type(inst))
        return handler(self, inst) if handler is not None else None

    def emit(self, inst: Instruction) -> Instruction:
        self.new.append(inst)
        return inst

    def done(self, value: Value | None) -> Rewrite:
        return Rewrite(self.new, value)

    def error(self, inst: Instruction, message: str, hint: str | None = None) -> CompileError:
        return CompileError(f"{message} in @{self.fn.name}", inst.location or self.fn.location,
                            hint)

    @property
    def fast(self) -> bool:
        return self.ctx.fast_math

    # ------------------------------------------------------------------ calls

    def _call(self, call: Call) -> Rewrite | None:
        callee = call.callee_function
        if callee is None:
            if isinstance(call.callee, InlineAsm):
                return None  # the legalization stage reports inline assembly
            raise self.error(call, "indirect call", "AIR has no function pointers")
        name = callee.name
        if name in BUILTIN_READS or name in CONSTANT_BUILTINS or name.startswith("air."):
            return None
        if not callee.is_declaration:
            return None
        for prefix, handler in _CALL_HANDLERS:
            if name.startswith(prefix):
                result = handler(self, call)
                if result is not None:
                    return result
        if name.startswith("llvm."):
            return self._llvm_intrinsic(call, name)
        if name.startswith("__nv_"):
            return self._libdevice(call, name[5:])
        if name.startswith("__ocml_"):
            return self._ocml(call, name[7:])
        if name.startswith("_Z"):
            return self._opencl(call, name)
        raise self.error(call, f"call to unknown external function '@{name}'",
                         "it has no AIR equivalent; only llvm.*, NVVM, AMDGPU, libdevice, OCML "
                         "and OpenCL builtins listed in the README can be lowered")

    # ---------------------------------------------------------------- math

    def float_op(self, call: Call, op: T.FloatOp, *, force_fast: bool = False,
                 args: list[Value] | None = None) -> Rewrite:
        ty = call.ty
        scalar = _scalar(ty)
        fast = (self.fast or force_fast) and op.fast and scalar == _F32
        name = f"air.{'fast_' if fast else ''}{op.air}.{type_suffix(ty)}"
        if op.air == "dot":
            name = f"air.dot.{type_suffix(call.args[0].ty)}"
        operands = list(args if args is not None else call.args)
        return Rewrite([self.air.call(name, ty, operands, "math",
                                      fast=self.fast or force_fast)], None).with_value()

    def int_op(self, call: Call, op: T.IntOp, signedness: str | None,
               args: list[Value] | None = None) -> Rewrite:
        ty = call.ty
        operands = list(args if args is not None else call.args)
        if op.keep_args is not None:
            operands = operands[:op.keep_args]
        if op.zero_flag and len(operands) == 1:
            operands.append(ConstantInt(I1, value=0))
        sign = f".{signedness}" if op.signedness is not None and signedness else ""
        bits = _scalar(ty).bits  # type: ignore[attr-defined]
        if bits not in (8, 16, 32, 64):
            return self._widened_int_op(ty, op, sign, signedness, operands)
        name = f"air.{op.air}{sign}.{type_suffix(ty)}"
        return Rewrite([self.air.call(name, ty, operands, "math")], None).with_value()

    def _widened_int_op(self, ty: Type, op: T.IntOp, sign: str, signedness: str | None,
                        operands: list[Value]) -> Rewrite:
        """AIR integer ops exist for 8/16/32/64 bits: compute wider, then narrow back
        (``llvm.ctpop.i4`` of a ``<4 x i1>`` bitcast is what clang makes of popcounts)."""
        bits = _scalar(ty).bits  # type: ignore[attr-defined]
        width = next(w for w in (8, 16, 32, 64) if w >= bits)
        wide: Type = IntType(width)
        if isinstance(ty, VectorType):
            wide = VectorType(ty.count, wide)
        extend = "sext" if signedness == "s" else "zext"
        widened = [self.emit(Cast(wide, opcode=extend, ops=[v])) if v.ty == ty else v
                   for v in operands]
        if op.air == "ctz":  # a bit just above the value stops the count at its width
            widened[0] = self.emit(BinaryOp(wide, opcode="or",
                                            ops=[widened[0], _splat_int(wide, 1 << bits)]))
        result: Value = self.emit(self.air.call(f"air.{op.air}{sign}.{type_suffix(wide)}", wide,
                                                widened, "math"))
        if op.air == "clz":
            result = self.emit(BinaryOp(wide, opcode="sub",
                                        ops=[result, _splat_int(wide, width - bits)]))
        elif op.air == "reverse_bits":
            result = self.emit(BinaryOp(wide, opcode="lshr",
                                        ops=[result, _splat_int(wide, width - bits)]))
        return self.done(self.emit(Cast(ty, opcode="trunc", ops=[result])))

    def _llvm_intrinsic(self, call: Call, name: str) -> Rewrite | None:
        if name.startswith(T.LLVM_KEPT) or name in TRAPS:  # traps: legalize removes them
            return None
        if name.startswith(T.LLVM_ERASED):
            return Rewrite([], call.args[0] if call.args and call.ty != VOID else None)
        base = name[5:]
        stem = _llvm_stem(base)
        if stem in T.LLVM_FLOAT_INTRINSICS:
            op = T.FLOAT_OPS[T.LLVM_FLOAT_INTRINSICS[stem]]
            return self.float_op(call, op, force_fast="afn" in call.flags)
        if stem in T.LLVM_INT_INTRINSICS:
            int_op = T.LLVM_INT_INTRINSICS[stem]
            return self.int_op(call, int_op, int_op.signedness)
        if stem in ("fshl", "fshr"):
            return self._funnel_shift(call, stem)
        if stem == "copysign":
            return self._copysign(call)
        if stem == "powi":
            return self.float_op(call, T.FloatOp("pown", False),
                                 args=[call.args[0], self._as_i32(call.args[1])])
        if stem == "fabs" or stem == "canonicalize":
            return Rewrite([], call.args[0]) if stem == "canonicalize" else None
        family = base.split(".")[0]
        what = {"nvvm": "NVVM intrinsic", "amdgcn": "AMDGPU intrinsic"}.get(family, "intrinsic")
        raise self.error(call, f"unsupported {what} {source_spelling(name)}",
                         "it has no AIR equivalent yet; the README lists the supported set")

    def _libdevice(self, call: Call, base: str) -> Rewrite:
        if base in T.LIBDEVICE_INT:
            int_op = T.LIBDEVICE_INT[base]
            return self.int_op(call, int_op, int_op.signedness)
        force_fast = base.startswith("fast_")
        stem = base[5:] if force_fast else base
        if stem.endswith("f") and (isinstance(_scalar(call.ty), FloatType) or
                                   stem == "sincosf"):
            stem = stem[:-1]
        if stem == "fdivide":
            return self._binary(call, "fdiv")
        if stem == "sincos":
            return self._sincos(call)
        if stem == "powi":
            return self.float_op(call, T.FloatOp("pown", False))
        op = T.FLOAT_OPS.get(stem)
        if op is None or not isinstance(_scalar(call.ty), FloatType):
            raise self.error(call, f"unsupported libdevice function '@__nv_{base}'",
                             "it has no AIR equivalent yet; the README lists the supported set")
        return self.float_op(call, op, force_fast=force_fast)

    def _ocml(self, call: Call, base: str) -> Rewrite:
        stem = re.sub(r"_(f16|f32|f64|2f16)$", "", base)
        force_fast = stem.startswith("native_")
        if force_fast:
            stem = stem[len("native_"):]
        op = T.FLOAT_OPS.get(stem)
        if op is None:
            raise self.error(call, f"unsupported OCML function '@__ocml_{base}'",
                             "it has no AIR equivalent yet; the README lists the supported set")
        return self.float_op(call, op, force_fast=force_fast)

    def _opencl(self, call: Call, name: str) -> Rewrite:
        demangled = demangle(name)
        if demangled is None:
            raise self.error(call, f"call to unknown external function '@{name}'")
        base, params = demangled
        integer_dot = lower_integer_dot(self, call, base, params)
        if integer_dot is not None:
            return integer_dot
        if base in T.OPENCL_ATOMICS:
            return self._opencl_atomic(call, T.OPENCL_ATOMICS[base], params)
        if base in T.OPENCL_BARRIERS:
            return self._opencl_barrier(call, T.OPENCL_BARRIERS[base])
        if base in T.OPENCL_FENCES:
            return self._opencl_fence(call, T.OPENCL_FENCES[base])
        if base in T.OPENCL_SUBGROUP:
            return self._opencl_subgroup(call, T.OPENCL_SUBGROUP[base], params)
        if base in T.OPENCL_C11_ATOMICS or base.removesuffix("_explicit") in T.OPENCL_C11_ATOMICS:
            return self._opencl_c11_atomic(call, T.OPENCL_C11_ATOMICS[base.removesuffix("_explicit")],
                                           params)
        if base in T.OPENCL_RELATIONAL:
            return self._opencl_relational(call, T.OPENCL_RELATIONAL[base])
        if base.startswith("convert_"):
            return self._opencl_convert(call, base, params)
        if base == "shuffle":
            return self._opencl_shuffle(call)
        if base in ("native_recip", "half_recip"):
            one = _splat_float(call.ty, "1.000000e+00")
            return self.done(self.emit(BinaryOp(call.ty, opcode="fdiv", ops=[one, call.args[0]],
                                                flags=("fast",) if self.fast else ())))
        if base in ("native_divide", "half_divide"):
            return self._binary(call, "fdiv")
        if base in ("get_global_linear_id",):
            return self._global_linear_id(call)
        if re.fullmatch(r"vload(2|3|4|8|16)", base):
            return self._vload(call, int(base[5:]))
        if re.fullmatch(r"vstore(2|3|4|8|16)", base):
            return self._vstore(call, int(base[6:]))
        kind = _param_kind(params[0]) if params else "f"
        force_fast = base.startswith(T.FAST_PREFIXES)
        stem = re.sub(r"^(native_|half_)", "", base)
        if kind in ("s", "u") and stem in T.INT_OPS:
            return self.int_op(call, T.INT_OPS[stem], kind)
        op = T.FLOAT_OPS.get(stem)
        if (op is not None and isinstance(_scalar(call.ty), FloatType)) or \
                (op is not None and stem == "dot"):
            return self.float_op(call, op, force_fast=force_fast)
        if stem == "select":
            return self._opencl_select(call)
        raise self.error(call, f"unsupported OpenCL builtin '{base}' ('@{name}')",
                         "it has no AIR equivalent yet; the README lists the supported set")

    # -------------------------------------------------------- small helpers

    def _binary(self, call: Call, opcode: str) -> Rewrite:
        return Rewrite([BinaryOp(call.ty, opcode=opcode, ops=list(call.args[:2]))],
                       None).with_value()

    def _as_i32(self, value: Value) -> Value:
        if value.ty == I32:
            return value
        if isinstance(value, ConstantInt):
            return ConstantInt(I32, value=value.value)
        bits = value.ty.bits if isinstance(value.ty, IntType) else 32
        return self.emit(Cast(I32, opcode="trunc" if bits > 32 else "sext", ops=[value]))

    def _as_i16(self, value: Value) -> Value:
        if isinstance(value, ConstantInt):
            return ConstantInt(I16, value=value.value & 0xFFFF)
        return self.emit(Cast(I16, opcode="trunc", ops=[self._as_i32(value)]))

    def _funnel_shift(self, call: Call, which: str) -> Rewrite:
        """fshl(a, b, s) = (a << s) | (b >> (w - s)), s modulo w (and fshr mirrored)."""
        a, b, s = call.args
        ty = call.ty
        width = _scalar(ty).bits  # type: ignore[attr-defined]
        mod = self.emit(BinaryOp(ty, opcode="urem", ops=[s, _splat_int(ty, width)]))
        inv = self.emit(BinaryOp(ty, opcode="sub", ops=[_splat_int(ty, width), mod]))
        if which == "fshl":
            hi = self.emit(BinaryOp(ty, opcode="shl", ops=[a, mod]))
            lo = self.emit(BinaryOp(ty, opcode="lshr", ops=[b, inv]))
            keep = a
        else:
            hi = self.emit(BinaryOp(ty, opcode="shl", ops=[a, inv]))
            lo = self.emit(BinaryOp(ty, opcode="lshr", ops=[b, mod]))
            keep = b
        both = self.emit(BinaryOp(ty, opcode="or", ops=[hi, lo]))
        zero = self.emit(Compare(_bool_like(ty), opcode="icmp", predicate="eq",
                                 ops=[mod, _splat_int(ty, 0)]))
        return self.done(self.emit(Select(ty, opcode="select", ops=[zero, keep, both])))

    def _copysign(self, call: Call) -> Rewrite:
        """copysign(x, y): AIR has none (Apple uses bit operations)."""
        x, y = call.args
        ty = call.ty
        scalar = _scalar(ty)
        bits = {"half": 16, "bfloat": 16, "float": 32, "double": 64}[scalar.kind]  # type: ignore
        ity: Type = IntType(bits)
        if isinstance(ty, VectorType):
            ity = VectorType(ty.count, ity)
        xi = self.emit(Cast(ity, opcode="bitcast", ops=[x]))
        yi = self.emit(Cast(ity, opcode="bitcast", ops=[y]))
        sign = 1 << (bits - 1)
        mag = self.emit(BinaryOp(ity, opcode="and", ops=[xi, _splat_int(ity, sign - 1)]))
        sgn = self.emit(BinaryOp(ity, opcode="and", ops=[yi, _splat_int(ity, sign)]))
        both = self.emit(BinaryOp(ity, opcode="or", ops=[mag, sgn]))
        return self.done(self.emit(Cast(ty, opcode="bitcast", ops=[both])))

    def _sincos(self, call: Call) -> Rewrite:
        x, sin_out, cos_out = call.args
        # libdevice's __nv_sincosf returns void: the AIR calls take the argument's type
        typed = Call(x.ty, opcode="call", ops=list(call.ops), function_type=call.function_type)
        sin = self.emit(self.float_op(typed, T.FLOAT_OPS["sin"], args=[x]).instructions[0])
        cos_call = self.float_op(typed, T.FLOAT_OPS["cos"], args=[x]).instructions[0]
        cos = self.emit(cos_call)
        self.emit(Store(VOID, opcode="store", ops=[sin, sin_out], align=4))
        self.emit(Store(VOID, opcode="store", ops=[cos, cos_out], align=4))
        return self.done(None)

    def _vload(self, call: Call, n: int) -> Rewrite:
        offset, ptr = call.args
        vec = call.ty
        addr = self.emit(GetElementPtr(ptr.ty, opcode="getelementptr", ops=[ptr, offset],
                                       source_type=vec))
        align = _scalar(vec).bits // 8 if hasattr(_scalar(vec), "bits") else 4  # type: ignore
        if isinstance(_scalar(vec), FloatType):
            align = {"half": 2, "bfloat": 2, "float": 4, "double": 8}[_scalar(vec).kind]  # type: ignore
        return self.done(self.emit(Load(vec, opcode="load", ops=[addr], align=align)))

    def _vstore(self, call: Call, n: int) -> Rewrite:
        data, offset, ptr = call.args
        addr = self.emit(GetElementPtr(ptr.ty, opcode="getelementptr", ops=[ptr, offset],
                                       source_type=data.ty))
        scalar = _scalar(data.ty)
        align = {"half": 2, "bfloat": 2, "float": 4, "double": 8}.get(
            getattr(scalar, "kind", ""), getattr(scalar, "bits", 32) // 8)
        self.emit(Store(VOID, opcode="store", ops=[data, addr], align=align))
        return self.done(None)

    def _opencl_relational(self, call: Call, predicate: str) -> Rewrite:
        a, b = call.args
        cond = self.emit(Compare(_bool_like(a.ty), opcode="fcmp", predicate=predicate, ops=[a, b]))
        # OpenCL: scalar true is 1, vector true is -1 (all bits set)
        opcode = "sext" if isinstance(call.ty, VectorType) else "zext"
        return self.done(self.emit(Cast(call.ty, opcode=opcode, ops=[cond])))

    def _opencl_convert(self, call: Call, base: str, params: list[str]) -> Rewrite:
        if "_sat" in base:
            raise self.error(call, f"saturating conversion '{base}'",
                             "saturating conversions are not supported yet")
        src = call.args[0]
        dst_ty, src_ty = call.ty, src.ty
        dst_name = re.sub(r"^convert_|(_rt[enpz])$|\d+$", "", base)
        dst_kind = "f" if dst_name in ("float", "half", "double") else (
            "u" if dst_name.startswith("u") else "s")
        src_kind = _param_kind(params[0]) if params else "s"
        dst_scalar, src_scalar = _scalar(dst_ty), _scalar(src_ty)
        if dst_kind == "f" and src_kind == "f":
            bits = {"half": 16, "bfloat": 16, "float": 32, "double": 64}
            wider = bits[dst_scalar.kind] > bits[src_scalar.kind]  # type: ignore[attr-defined]
            if dst_ty == src_ty:
                return Rewrite([], src)
            if not wider and re.search(r"_rt[pnz]$", base):
                self.ctx.warnings.append(self.error(
                    call, f"'{base}' is converted rounded to nearest",
                    "AIR has no directed rounding for narrowing float conversions"))
            return self.done(self.emit(Cast(dst_ty, opcode="fpext" if wider else "fptrunc",
                                            ops=[src])))
        if dst_kind != "f" and src_kind != "f":
            if dst_ty == src_ty:
                return Rewrite([], src)
            narrower = dst_scalar.bits < src_scalar.bits  # type: ignore[attr-defined]
            opcode = "trunc" if narrower else ("sext" if src_kind == "s" else "zext")
            return self.done(self.emit(Cast(dst_ty, opcode=opcode, ops=[src])))
        rounding = re.search(r"_(rt[enpz])$", base)
        if rounding and src_kind == "f" and rounding.group(1) != "rtz":
            # float -> integer rounds toward zero by default; the others round first
            op = {"rte": "rint", "rtp": "ceil", "rtn": "floor"}[rounding.group(1)]
            src = self.emit(self.air.call(f"air.{op}.{type_suffix(src_ty)}", src_ty, [src],
                                          "math"))
        elif rounding and rounding.group(1) != "rte":
            self.ctx.warnings.append(self.error(
                call, f"'{base}' is converted rounded to nearest",
                "AIR has no directed rounding for integer-to-float conversions"))
        name = f"air.convert.{dst_kind}.{type_suffix(dst_ty)}.{src_kind}.{type_suffix(src_ty)}"
        return self.done(self.emit(self.air.call(name, dst_ty, [src], "math", fast=self.fast)))

    def _opencl_shuffle(self, call: Call) -> Rewrite:
        x, mask = call.args
        assert isinstance(x.ty, VectorType) and isinstance(mask.ty, VectorType)
        out_ty = call.ty
        assert isinstance(out_ty, VectorType)
        result: Value = Poison(out_ty)
        element_ty = mask.ty.element
        for k in range(out_ty.count):
            index = self.emit(ExtractElement(element_ty, opcode="extractelement",
                                             ops=[mask, ConstantInt(I32, value=k)]))
            index = self.emit(BinaryOp(element_ty, opcode="and",
                                       ops=[index, ConstantInt(element_ty, value=x.ty.count - 1)]))
            lane = self.emit(ExtractElement(x.ty.element, opcode="extractelement", ops=[x, index]))
            result = self.emit(InsertElement(out_ty, opcode="insertelement",
                                             ops=[result, lane, ConstantInt(I32, value=k)]))
        return self.done(result)

    def _global_linear_id(self, call: Call) -> Rewrite:
        """gid.x + gid.y * size.x + gid.z * size.x * size.y, from get_global_id/size calls."""
        def builtin(name: str, dim: int) -> Value:
            fn = self.module.get_function(name)
            if fn is None:
                fn = Function(PointerType(0), name=name, function_type=FunctionType(call.ty, (I32,)),
                              args=[Argument(I32)], fn_attrs=["nounwind", "readnone"])
                self.module.functions.append(fn)
            return self.emit(Call(call.ty, opcode="call", ops=[ConstantInt(I32, value=dim), fn],
                                  function_type=fn.function_type, arg_attrs=[[]]))

        ty = call.ty
        gx, gy, gz = (builtin("_Z13get_global_idj", d) for d in range(3))
        sx, sy = (builtin("_Z15get_global_sizej", d) for d in range(2))
        row = self.emit(BinaryOp(ty, opcode="mul", ops=[gy, sx]))
        plane = self.emit(BinaryOp(ty, opcode="mul", ops=[sx, sy]))
        depth = self.emit(BinaryOp(ty, opcode="mul", ops=[gz, plane]))
        partial = self.emit(BinaryOp(ty, opcode="add", ops=[gx, row]))
        return self.done(self.emit(BinaryOp(ty, opcode="add", ops=[partial, depth])))

    def _opencl_c11_atomic(self, call: Call, op: str, params: list[str]) -> Rewrite:
        """OpenCL 2.0 atomics: orders and scopes are dropped (Metal's atomics are relaxed)."""
        ptr = call.args[0]
        if op in ("load",):
            load = Load(call.ty, opcode="load", ops=[ptr], ordering="monotonic", align=4)
            return self._atomic_load(load) or self.done(self.emit(load))
        if op in ("store", "init"):
            store = Store(VOID, opcode="store", ops=[call.args[1], ptr],
                          ordering=None if op == "init" else "monotonic", align=4)
            if op == "init":
                return self.done(self.emit(store) and None)
            return self._atomic_store(store) or self.done(self.emit(store) and None)
        if op == "cmpxchg_ptr":
            # (object, expected*, desired, ...): returns bool, writes the old value on failure
            expected_ptr, desired = call.args[1], call.args[2]
            expected = self.emit(Load(desired.ty, opcode="load", ops=[expected_ptr], align=4))
            pair_rewrite = self._cmpxchg(CmpXchg(StructType((desired.ty, I1)), opcode="cmpxchg",
                                                 ops=[ptr, expected, desired]))
            old = next(i for i in reversed(pair_rewrite.instructions) if isinstance(i, Call))
            ok = self.emit(Compare(I1, opcode="icmp", predicate="eq", ops=[old, expected]))
            self.emit(Store(VOID, opcode="store", ops=[old, expected_ptr], align=4))
            return self.done(self.emit(Cast(call.ty, opcode="zext", ops=[ok]))
                             if call.ty != I1 else ok)
        sign = "u" if len(params) > 1 and _param_kind(params[1]) == "u" else "s"
        operation = {"min": "min" if sign == "s" else "umin",
                     "max": "max" if sign == "s" else "umax"}.get(op, op)
        if isinstance(call.ty, FloatType) and op in ("add", "sub"):
            operation = "f" + op
        rmw = AtomicRMW(call.ty, opcode="atomicrmw", ops=[ptr, call.args[1]],
                        operation=operation, ordering="monotonic")
        if self._needs_loop(rmw):
            raise self.error(call, f"OpenCL atomic {op} on this type and memory",
                             "Apple GPUs lack this atomic; use a compare-exchange loop")
        return self._atomicrmw(rmw)

    def _opencl_select(self, call: Call) -> Rewrite:
        a, b, c = call.args
        cond = self.emit(Compare(_bool_like(c.ty), opcode="icmp", predicate="ne",
                                 ops=[c, _splat_int(c.ty, 0)]))
        return self.done(self.emit(Select(call.ty, opcode="select", ops=[cond, b, a])))

    # ---------------------------------------------------------- barriers

    def barrier(self, flags: int, simdgroup: bool = False) -> Call:
        self.kernel.uses_barrier = True
        target = self.ctx.target
        scope = T.SCOPE_SIMDGROUP if simdgroup and target.msl_version >= (3, 2, 0) else \
            T.SCOPE_THREADGROUP
        args: list[Value] = [ConstantInt(I32, value=flags)]
        if target.air_version >= (2, 9, 0):
            args.append(ConstantInt(I32, value=T.ORDER_SEQ_CST))
        args.append(ConstantInt(I32, value=scope))
        name = "air.simdgroup.barrier" if simdgroup else "air.wg.barrier"
        return self.air.call(name, VOID, args, "sync")

    def fence(self, flags: int, order: int, scope: int) -> Call:
        return self.air.call("air.atomic.fence", VOID,
                             [ConstantInt(I32, value=flags), ConstantInt(I32, value=order),
                              ConstantInt(I32, value=scope)], "fence")

    def _nvvm_barrier(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        flags = T.THREADGROUP_BARRIERS.get(name)
        simd = T.SIMDGROUP_BARRIERS.get(name)
        if flags is None and simd is None:
            return None
        if flags is not None and call.args and not (
                isinstance(call.args[0], ConstantInt) and call.args[0].value == 0):
            self.ctx.warnings.append(self.error(
                call, f"'@{name}' uses a barrier id that is not 0; it becomes AIR's one "
                      "threadgroup barrier", "named barriers used concurrently will not work"))
        if len(call.args) > 1 and flags is not None:
            raise self.error(call, f"'@{name}' with a thread count",
                             "only whole-threadgroup barriers exist on Apple GPUs")
        return Rewrite([self.barrier(flags if flags is not None else simd,  # type: ignore[arg-type]
                                     simdgroup=flags is None)], None)

    def _nvvm_fence(self, call: Call) -> Rewrite | None:
        scope = T.NVVM_FENCES.get(call.callee_function.name)  # type: ignore[union-attr]
        if scope is None:
            return None
        return Rewrite([self.fence(T.MEM_DEVICE | T.MEM_THREADGROUP, T.ORDER_SEQ_CST, scope)],
                       None)

    def _opencl_barrier(self, call: Call, kind: str) -> Rewrite:
        flags_value = call.args[0] if call.args else ConstantInt(I32, value=3)
        if not isinstance(flags_value, ConstantInt):
            raise self.error(call, "barrier with non-constant fence flags",
                             "pass CLK_LOCAL_MEM_FENCE/CLK_GLOBAL_MEM_FENCE as constants")
        flags = _opencl_flags(flags_value.value)
        return Rewrite([self.barrier(flags, simdgroup=kind == "simd")], None)

    def _opencl_fence(self, call: Call, order: int) -> Rewrite:
        flags_value = call.args[0]
        if not isinstance(flags_value, ConstantInt):
            raise self.error(call, "memory fence with non-constant flags")
        return Rewrite([self.fence(_opencl_flags(flags_value.value), order,
                                   T.SCOPE_THREADGROUP)], None)

    def _fence_instruction(self, inst: Instruction) -> Rewrite:
        assert isinstance(inst, Fence)
        scope = T.SYNCSCOPES.get(inst.syncscope, T.SCOPE_DEVICE)
        return Rewrite([self.fence(T.MEM_DEVICE | T.MEM_THREADGROUP, T.ORDER_SEQ_CST, scope)],
                       None)

    # ----------------------------------------------------------- conversions

    def _conversion(self, inst: Instruction) -> Rewrite | None:
        assert isinstance(inst, Cast)
        kinds = {"sitofp": ("f", "s"), "uitofp": ("f", "u"), "fptosi": ("s", "f"),
                 "fptoui": ("u", "f")}.get(inst.opcode)
        if kinds is None:
            return None
        src = inst.ops[0]
        dst_kind, src_kind = kinds
        name = (f"air.convert.{dst_kind}.{type_suffix(inst.ty)}."
                f"{src_kind}.{type_suffix(src.ty)}")
        return Rewrite([self.air.call(name, inst.ty, [src], "math", fast=self.fast)],
                       None).with_value()

    # -------------------------------------------------------------- atomics

    def _expand_atomic_loops(self) -> None:
        """atomicrmw operations AIR lacks become compare-exchange loops first."""
        changed = True
        while changed:
            changed = False
            for block in list(self.fn.blocks):
                for index, inst in enumerate(block.instructions):
                    if isinstance(inst, AtomicRMW) and self._needs_loop(inst):
                        expand_atomicrmw(self.module, self.fn, block, index, inst)
                        changed = True
                        break
                if changed:
                    break

    def _needs_loop(self, inst: AtomicRMW) -> bool:
        space = _space(inst.ops[0])
        if space == 0:
            return False  # private memory: plain operations, see _atomicrmw
        entry = T.ATOMIC_RMW.get(inst.operation)
        if entry is None:
            return True
        ty = inst.ty
        if isinstance(ty, FloatType):
            if ty.kind != "float":
                return True
            if space == 3 and self.ctx.target.air_version < (2, 9, 0):
                return True  # threadgroup float atomics arrive with MSL 4.1
            return False
        return False

    def atomic_args(self, ptr: Value, values: list[Value], orders: int, space: int) -> \
            list[Value]:
        scope = T.SCOPE_DEVICE if space == 1 else T.SCOPE_THREADGROUP
        args = [ptr, *values, *[ConstantInt(I32, value=T.ORDER_RELAXED)] * orders,
                ConstantInt(I32, value=scope)]
        if self.ctx.target.air_version >= (2, 9, 0):
            args += [ConstantInt(I32, value=0), ConstantInt(I1, value=0)]
        else:
            args.append(ConstantInt(I1, value=1))
        return args

    def _atomic_space(self, inst: Instruction, ptr: Value) -> int:
        space = _space(ptr)
        if space not in (0, 1, 3):
            raise self.error(inst, f"atomic operation on {_SPACE.get(space, space)} memory",
                             "Apple GPUs have atomics on device and threadgroup memory only")
        return space  # type: ignore[return-value]

    def _atomicrmw(self, inst: Instruction) -> Rewrite:
        assert isinstance(inst, AtomicRMW)
        ptr, value = inst.ops
        space = self._atomic_space(inst, ptr)
        if space == 0:
            return self._private_rmw(inst)
        ty = inst.ty
        entry = T.ATOMIC_RMW[inst.operation]
        assert entry is not None
        op, sign = entry
        if isinstance(ty, PointerType):
            raise self.error(inst, "atomic exchange of a pointer", "AIR has no pointer atomics")
        if isinstance(ty, IntType) and ty.bits == 64 and op not in ("min", "max"):
            raise self.error(inst, f"64-bit atomic {op}",
                             "Apple GPUs have 64-bit atomic min/max only")
        if isinstance(ty, FloatType) and op == "xchg":
            as_int = self.emit(Cast(I32, opcode="bitcast", ops=[value]))
            old = self.emit(self.air.call(f"air.atomic.{_region(space)}.xchg.i32", I32,
                                          self.atomic_args(ptr, [as_int], 1, space), "atomic",
                                          param_attrs=[["nocapture"]]))
            return self.done(self.emit(Cast(ty, opcode="bitcast", ops=[old])))
        if isinstance(ty, IntType) and ty.bits == 64:
            if space != 1 or sign != "u":
                raise self.error(inst, "64-bit atomic other than unsigned device min/max",
                                 "Apple GPUs have 64-bit atomic min/max on device memory only")
            self.emit(self.air.call(f"air.atomic.global.{op}.u.i64", VOID,
                                    self.atomic_args(ptr, [value], 1, space), "atomic",
                                    param_attrs=[["nocapture"]]))
            return self._result_unavailable(inst)
        suffix = f".{sign}" if sign and isinstance(ty, IntType) else ""
        name = f"air.atomic.{_region(space)}.{op}{suffix}.{type_suffix(ty)}"
        call = self.air.call(name, ty, self.atomic_args(ptr, [value], 1, space), "atomic",
                             param_attrs=[["nocapture"]])
        return self.done(self.emit(call))

    def _result_unavailable(self, inst: Instruction) -> Rewrite:
        if any(inst is op for i in self.fn.instructions() for op in i.ops):
            raise self.error(inst, "the result of a 64-bit atomic min/max is used",
                             "AIR's 64-bit atomic min/max return nothing")
        return self.done(None)

    def _private_rmw(self, inst: AtomicRMW) -> Rewrite:
        ptr, value = inst.ops
        old = self.emit(Load(inst.ty, opcode="load", ops=[ptr], align=inst.align))
        new = combine_rmw(self.module, inst.operation, old, value, self.emit)
        self.emit(Store(VOID, opcode="store", ops=[new, ptr], align=inst.align))
        return self.done(old)

    def _cmpxchg(self, inst: Instruction) -> Rewrite:
        assert isinstance(inst, CmpXchg)
        ptr, expected, desired = inst.ops
        space = self._atomic_space(inst, ptr)
        ty = expected.ty
        if space == 0:
            old = self.emit(Load(ty, opcode="load", ops=[ptr], align=inst.align))
            ok = self.emit(Compare(I1, opcode="icmp", predicate="eq", ops=[old, expected]))
            chosen = self.emit(Select(ty, opcode="select", ops=[ok, desired, old]))
            self.emit(Store(VOID, opcode="store", ops=[chosen, ptr], align=inst.align))
            return self._pair(inst, old, ok)
        if not isinstance(ty, IntType) or ty.bits != 32:
            raise self.error(inst, f"compare-exchange of {ty}",
                             "AIR's compare-exchange works on 32-bit integers")
        slot = self._expected_slot(ty)
        self.emit(Store(VOID, opcode="store", ops=[expected, slot], align=4))
        args = [ptr, slot, desired, ConstantInt(I32, value=T.ORDER_RELAXED),
                ConstantInt(I32, value=T.ORDER_RELAXED),
                ConstantInt(I32, value=T.SCOPE_DEVICE if space == 1 else T.SCOPE_THREADGROUP)]
        if self.ctx.target.air_version >= (2, 9, 0):
            args += [ConstantInt(I32, value=0), ConstantInt(I1, value=0)]
        else:
            args.append(ConstantInt(I1, value=1))
        old = self.emit(self.air.call(f"air.atomic.{_region(space)}.cmpxchg.weak.i32", I32,
                                      args, "atomic",
                                      param_attrs=[["nocapture"], ["nocapture"]]))
        ok = self.emit(Compare(I1, opcode="icmp", predicate="eq", ops=[old, expected]))
        return self._pair(inst, old, ok)

    def _pair(self, inst: CmpXchg, old: Value, ok: Value) -> Rewrite:
        """cmpxchg's ``{old, success}`` result, for its extractvalue users."""
        pair_ty = inst.ty
        first = self.emit(InsertValue(pair_ty, opcode="insertvalue", ops=[Poison(pair_ty), old],
                                      indices=[0]))
        return self.done(self.emit(InsertValue(pair_ty, opcode="insertvalue", ops=[first, ok],
                                               indices=[1])))

    def _expected_slot(self, ty: Type) -> Alloca:
        slot = Alloca(PointerType(0), opcode="alloca", allocated_type=ty, align=4,
                      name=None, location=self.fn.location)
        self.entry_allocas.append(slot)  # placed after the walk: the entry block is being read
        return slot

    def _atomic_load(self, inst: Instruction) -> Rewrite | None:
        assert isinstance(inst, Load)
        if inst.ordering is None:
            return None
        ptr = inst.ops[0]
        space = self._atomic_space(inst, ptr)
        if space == 0:
            inst.ordering = None
            inst.syncscope = None
            return None
        ty = inst.ty
        as_int = isinstance(ty, FloatType)
        load_ty = I32 if as_int else ty
        if load_ty != I32:
            raise self.error(inst, f"atomic load of {ty}", "AIR atomics are 32-bit")
        value = self.emit(self.air.call(f"air.atomic.{_region(space)}.load.i32", I32,
                                        self.atomic_args(ptr, [], 1, space), "atomic",
                                        param_attrs=[["nocapture"]]))
        if as_int:
            value = self.emit(Cast(ty, opcode="bitcast", ops=[value]))
        return self.done(value)

    def _atomic_store(self, inst: Instruction) -> Rewrite | None:
        assert isinstance(inst, Store)
        if inst.ordering is None:
            return None
        value, ptr = inst.ops
        space = self._atomic_space(inst, ptr)
        if space == 0:
            inst.ordering = None
            inst.syncscope = None
            return None
        if isinstance(value.ty, FloatType) and value.ty.kind == "float":
            value = self.emit(Cast(I32, opcode="bitcast", ops=[value]))
        if value.ty != I32:
            raise self.error(inst, f"atomic store of {value.ty}", "AIR atomics are 32-bit")
        self.emit(self.air.call(f"air.atomic.{_region(space)}.store.i32", VOID,
                                self.atomic_args(ptr, [value], 1, space), "atomic",
                                param_attrs=[["nocapture"]]))
        return self.done(None)

    def _opencl_atomic(self, call: Call, op: str, params: list[str]) -> Rewrite:
        ptr = call.args[0]
        sign = "u" if params and _param_kind(params[0]) == "u" else "s"
        space = self._atomic_space(call, ptr)
        if space == 0:
            raise self.error(call, "OpenCL atomic on private memory")
        ty = call.ty
        if op == "cmpxchg":
            expected, desired = call.args[1], call.args[2]
            pair = CmpXchg(StructType((ty, I1)), opcode="cmpxchg", ops=[ptr, expected, desired])
            rewrite = self._cmpxchg(pair)
            # the OpenCL builtin returns the old value: the first field
            for inst in reversed(rewrite.instructions):
                if isinstance(inst, Call):
                    return Rewrite(rewrite.instructions, inst)
            raise AssertionError("cmpxchg lowering without a call")
        if op in ("inc", "dec"):
            value: Value = ConstantInt(ty, value=1)
            op = "add" if op == "inc" else "sub"
        else:
            value = call.args[1]
        if op in ("min", "max"):
            name_sign = sign
        elif op == "xchg":
            name_sign = None
        else:
            name_sign = sign
        if isinstance(ty, FloatType):
            if op == "xchg":
                rmw = AtomicRMW(ty, opcode="atomicrmw", ops=[ptr, value], operation="xchg")
                return self._atomicrmw(rmw)
            raise self.error(call, f"OpenCL float atomic {op}")
        suffix = f".{name_sign}" if name_sign else ""
        name = f"air.atomic.{_region(space)}.{op}{suffix}.{type_suffix(ty)}"
        return self.done(self.emit(self.air.call(name, ty, self.atomic_args(ptr, [value], 1,
                                                                             space), "atomic",
                                                 param_attrs=[["nocapture"]])))

    # ------------------------------------------------------------------- SIMD

    def lane_id(self) -> Value:
        """The SIMD lane of this thread (answered by the built-ins stage)."""
        fn = self.module.get_function(_LANE_ID)
        if fn is None:
            fn = Function(PointerType(0), name=_LANE_ID, function_type=FunctionType(I32, ()),
                          fn_attrs=["nounwind", "readnone"])
            self.module.functions.append(fn)
        return self.emit(Call(I32, opcode="call", ops=[fn], function_type=fn.function_type))

    def simd(self, op: str, ty: Type, args: list[Value], sign: str = "s") -> Call:
        self.kernel.uses_simd = True
        suffix = type_suffix(ty)
        if isinstance(_scalar(ty), IntType) and op not in ("simd_any", "simd_all",
                                                           "simd_ballot"):
            suffix = f"{sign}.{suffix}"
        name = f"air.{op}.{suffix}" if op not in ("simd_any", "simd_all") else f"air.{op}"
        return self.air.call(name, ty, args, "sync", fast=self.fast)

    def _nvvm_shuffle(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        m = re.fullmatch(r"llvm\.nvvm\.shfl\.sync\.(down|up|bfly|idx)\.(i32|f32)(p?)", name)
        if m is None:
            return None
        mode, _, with_predicate = m.groups()
        _mask, value, b, c = call.args
        ty = value.ty
        full_warp = isinstance(c, ConstantInt) and (
            (mode == "up" and c.value == 0) or (mode != "up" and c.value & 0x1F1F == 0x1F))
        if full_warp and not with_predicate:
            operand = b
            if mode == "idx":
                operand = _mask_value(self, b, 31)
            return self.done(self.emit(self.simd(T.NVVM_SHUFFLES[mode], ty,
                                                 [value, self._as_i16(operand)])))
        lane = self.lane_id()
        source, valid = self._ptx_shuffle_lane(mode, lane, b, c)
        chosen = self.emit(Select(I32, opcode="select", ops=[valid, source, lane]))
        result = self.emit(self.simd("simd_shuffle", ty, [value, self._as_i16(chosen)]))
        if not with_predicate:
            return self.done(result)
        pair_ty = call.ty
        first = self.emit(InsertValue(pair_ty, opcode="insertvalue",
                                      ops=[Poison(pair_ty), result], indices=[0]))
        return self.done(self.emit(InsertValue(pair_ty, opcode="insertvalue", ops=[first, valid],
                                               indices=[1])))

    def _ptx_shuffle_lane(self, mode: str, lane: Value, b: Value, c: Value) -> \
            tuple[Value, Value]:
        """PTX shfl.sync's source lane ``j`` and validity ``pval`` (PTX ISA, shfl.sync)."""
        def op(opcode: str, x: Value, y: Value | int) -> Value:
            other = ConstantInt(I32, value=y) if isinstance(y, int) else y
            return self.emit(BinaryOp(I32, opcode=opcode, ops=[x, other]))

        def cmp(pred: str, x: Value, y: Value) -> Value:
            return self.emit(Compare(I1, opcode="icmp", predicate=pred, ops=[x, y]))

        bval = op("and", b, 0x1F)
        cval = op("and", c, 0x1F)
        segmask = op("and", op("lshr", c, 8), 0x1F)
        not_seg = op("xor", segmask, 0x1F)
        min_lane = op("and", lane, segmask)
        max_lane = op("or", min_lane, op("and", cval, not_seg))
        if mode == "up":
            j = op("sub", lane, bval)
            return j, cmp("sge", j, max_lane)
        if mode == "down":
            j = op("add", lane, bval)
        elif mode == "bfly":
            j = op("xor", lane, bval)
        else:
            j = op("or", min_lane, op("and", bval, not_seg))
        return j, cmp("sle", j, max_lane)

    def _byte_permute(self, a: Value, b: Value, selector: Value) -> Value:
        """PTX ``prmt.b32`` (default mode): result byte k is byte ``sel[k] & 7`` of the
        8-byte value {b, a} (a is bytes 0-3), replicated from its sign bit when
        ``sel[k] & 8``."""
        def op(opcode: str, x: Value, y: Value | int, ty: Type = I64) -> Value:
            other = ConstantInt(ty, value=y) if isinstance(y, int) else y
            return self.emit(BinaryOp(ty, opcode=opcode, ops=[x, other]))

        wide_a = self.emit(Cast(I64, opcode="zext", ops=[a]))
        wide_b = self.emit(Cast(I64, opcode="zext", ops=[b]))
        both = op("or", wide_a, op("shl", wide_b, 32))
        sel = self.emit(Cast(I64, opcode="zext", ops=[selector]))
        result: Value = ConstantInt(I64, value=0)
        for k in range(4):
            nibble = op("and", op("lshr", sel, 4 * k), 15)
            index = op("and", nibble, 7)
            byte = op("and", op("lshr", both, op("shl", index, 3)), 0xFF)
            sign = op("and", op("lshr", byte, 7), 1)
            replicate = op("and", op("lshr", nibble, 3), 1)
            filled = op("mul", op("and", sign, replicate), 0xFF)
            chosen = self.emit(Select(I64, opcode="select", ops=[
                self.emit(Compare(I1, opcode="icmp", predicate="ne",
                                  ops=[replicate, ConstantInt(I64, value=0)])), filled, byte]))
            result = op("or", result, op("shl", chosen, 8 * k))
        return self.emit(Cast(I32, opcode="trunc", ops=[result]))

    def _nvvm_vote(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        m = re.fullmatch(r"llvm\.nvvm\.vote\.(any|all|uni|ballot)\.sync", name)
        if m is None:
            return None
        mode = m.group(1)
        pred = call.args[1]
        if mode == "ballot":
            mask = self.emit(self.simd("simd_ballot", I64, [pred]))
            return self.done(self.emit(Cast(I32, opcode="trunc", ops=[mask])))
        if mode in ("any", "all"):
            return self.done(self.emit(self.simd(f"simd_{mode}", I1, [pred])))
        everyone = self.emit(self.simd("simd_all", I1, [pred]))
        negated = self.emit(BinaryOp(I1, opcode="xor", ops=[pred, ConstantInt(I1, value=1)]))
        nobody = self.emit(self.simd("simd_all", I1, [negated]))
        return self.done(self.emit(BinaryOp(I1, opcode="or", ops=[everyone, nobody])))

    def _nvvm_misc(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        if name == "llvm.nvvm.activemask":
            # the lanes executing this call: a ballot of true over them
            mask = self.emit(self.simd("simd_ballot", I64, [ConstantInt(I1, value=1)]))
            return self.done(self.emit(Cast(I32, opcode="trunc", ops=[mask])))
        if name == "llvm.nvvm.prmt":
            return self.done(self._byte_permute(call.args[0], call.args[1], call.args[2]))
        if name in T.NVVM_MATH:
            op, fast = T.NVVM_MATH[name]
            return self.float_op(call, T.FLOAT_OPS[op], force_fast=fast)
        if name in T.NVVM_DIVIDES:
            return self._binary(call, "fdiv")
        if name in T.NVVM_LANEMASKS:
            shift, invert = T.NVVM_LANEMASKS[name]
            lane = self.lane_id()
            if shift:
                lane = self.emit(BinaryOp(I32, opcode="add", ops=[lane, ConstantInt(I32, value=1)]))
            bit = self.emit(BinaryOp(I32, opcode="shl", ops=[ConstantInt(I32, value=1), lane]))
            below = self.emit(BinaryOp(I32, opcode="sub", ops=[bit, ConstantInt(I32, value=1)]))
            if invert:
                below = self.emit(BinaryOp(I32, opcode="xor",
                                           ops=[below, ConstantInt(I32, value=-1)]))
            return self.done(below)
        m = re.fullmatch(r"llvm\.nvvm\.redux\.sync\.(add|min|max|umin|umax|and|or|xor)", name)
        if m:
            op = m.group(1)
            air = {"add": "simd_sum", "min": "simd_min", "max": "simd_max", "umin": "simd_min",
                   "umax": "simd_max", "and": "simd_and", "or": "simd_or", "xor": "simd_xor"}[op]
            sign = "u" if op.startswith("u") else "s"
            return self.done(self.emit(self.simd(air, call.ty, [call.args[0]], sign)))
        if name.startswith(("llvm.nvvm.ldg.global.", "llvm.nvvm.ldu.global.")):
            return self.done(self.emit(Load(call.ty, opcode="load", ops=[call.args[0]])))
        if name.startswith(("llvm.nvvm.barrier0.", "llvm.nvvm.barrier.cta.red.")):
            raise self.error(call, f"'@{name}' (__syncthreads_count/_and/_or)",
                             "combine a barrier with a threadgroup atomic instead")
        if name.startswith(("llvm.nvvm.read.ptx.sreg.clock", "llvm.nvvm.read.ptx.sreg.globaltimer")):
            raise self.error(call, f"'@{name}': Apple GPUs expose no clock to kernels",
                             "remove the timing code")
        return None

    def _vector_reduce(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        m = re.fullmatch(r"llvm\.vector\.reduce\.(\w+)\.\w+", name)
        if m is None or m.group(1) not in T.VECTOR_REDUCE:
            return None
        op = T.VECTOR_REDUCE[m.group(1)]
        vector = call.args[-1]
        assert isinstance(vector.ty, VectorType)
        lanes: list[Value] = [self.emit(ExtractElement(vector.ty.element, opcode="extractelement",
                                                       ops=[vector, ConstantInt(I32, value=k)]))
                              for k in range(vector.ty.count)]
        acc = call.args[0] if len(call.args) == 2 else lanes.pop(0)
        for lane in lanes:
            acc = self._combine_two(op, acc, lane)
        return self.done(acc)

    def _combine_two(self, op: str, a: Value, b: Value) -> Value:
        ty = a.ty
        if op in ("add", "mul", "and", "or", "xor", "fadd", "fmul"):
            return self.emit(BinaryOp(ty, opcode=op, ops=[a, b]))
        if op in ("smax", "smin", "umax", "umin"):
            name = f"air.{op[1:]}.{op[0]}.{type_suffix(ty)}"
            return self.emit(self.air.call(name, ty, [a, b], "math"))
        air = {"maxnum": "fmax", "minnum": "fmin", "maximum": "fmax", "minimum": "fmin"}[op]
        fast = self.fast and ty == _F32
        return self.emit(self.air.call(f"air.{'fast_' if fast else ''}{air}.{type_suffix(ty)}",
                                       ty, [a, b], "math", fast=self.fast))

    def _fpclass(self, call: Call) -> Rewrite | None:
        """llvm.is.fpclass(x, mask): the OR of the classes the mask names, with compares."""
        if not call.callee_function.name.startswith("llvm.is.fpclass."):  # type: ignore
            return None
        x, mask_value = call.args
        if not isinstance(mask_value, ConstantInt) or isinstance(x.ty, VectorType):
            raise self.error(call, "llvm.is.fpclass with a variable mask or vector operand")
        mask = mask_value.value
        ty = x.ty
        bits = {"half": 16, "bfloat": 16, "float": 32}[ty.kind]  # type: ignore[attr-defined]
        ity = IntType(bits)
        as_int = self.emit(Cast(ity, opcode="bitcast", ops=[x]))
        sign_bit = 1 << (bits - 1)
        exp_mask = {16: 0x7C00, 32: 0x7F800000}[bits] if ty.kind != "bfloat" else 0x7F80  # type: ignore
        magnitude = self.emit(BinaryOp(ity, opcode="and", ops=[as_int, ConstantInt(ity, value=sign_bit - 1)]))
        negative = self.emit(Compare(I1, opcode="icmp", predicate="slt",
                                     ops=[as_int, ConstantInt(ity, value=0)]))
        exponent = self.emit(BinaryOp(ity, opcode="and", ops=[as_int, ConstantInt(ity, value=exp_mask)]))

        def icmp(pred: str, a: Value, value: int) -> Value:
            return self.emit(Compare(I1, opcode="icmp", predicate=pred,
                                     ops=[a, ConstantInt(ity, value=value)]))

        def both(a: Value, b: Value, op: str = "and") -> Value:
            return self.emit(BinaryOp(I1, opcode=op, ops=[a, b]))

        positive = self.emit(BinaryOp(I1, opcode="xor", ops=[negative, ConstantInt(I1, value=1)]))
        is_nan = icmp("ugt", magnitude, exp_mask)
        is_inf = icmp("eq", magnitude, exp_mask)
        is_zero = icmp("eq", magnitude, 0)
        exp_zero = icmp("eq", exponent, 0)
        is_sub = both(exp_zero, self.emit(BinaryOp(I1, opcode="xor", ops=[is_zero, ConstantInt(I1, value=1)])))
        is_normal = both(self.emit(BinaryOp(I1, opcode="xor", ops=[exp_zero, ConstantInt(I1, value=1)])),
                         icmp("ult", magnitude, exp_mask))
        classes = [(0x3, is_nan), (0x4, both(is_inf, negative)), (0x8, both(is_normal, negative)),
                   (0x10, both(is_sub, negative)), (0x20, both(is_zero, negative)),
                   (0x40, both(is_zero, positive)), (0x80, both(is_sub, positive)),
                   (0x100, both(is_normal, positive)), (0x200, both(is_inf, positive))]
        result: Value = ConstantInt(I1, value=0)
        for bit, test in classes:
            if mask & bit:
                result = both(result, test, "or")
        return self.done(result)

    def _amdgpu_lanes(self, call: Call) -> Rewrite | None:
        name = call.callee_function.name  # type: ignore[union-attr]
        if name.startswith("llvm.amdgcn.ballot."):
            mask = self.emit(self.simd("simd_ballot", I64, [call.args[0]]))
            if call.ty != I64:
                mask = self.emit(Cast(call.ty, opcode="trunc", ops=[mask]))
            return self.done(mask)
        if name.startswith("llvm.amdgcn.readfirstlane"):
            return self.done(self.emit(self.simd("simd_broadcast_first", call.ty, [call.args[0]])))
        if name in ("llvm.amdgcn.dispatch.ptr", "llvm.amdgcn.implicitarg.ptr",
                    "llvm.amdgcn.kernarg.segment.ptr", "llvm.amdgcn.queue.ptr"):
            raise self.error(call, f"'@{name}' reads the AMD dispatch packet, which Metal has not",
                             "use the OCKL or work-item builtins for sizes and ids")
        if name.startswith("llvm.amdgcn.mbcnt."):
            mask, base = call.args
            if not (isinstance(mask, ConstantInt) and mask.value in (-1, 0xFFFFFFFF)):
                raise self.error(call, f"'@{name}' with a partial mask")
            if name.endswith(".hi"):
                return Rewrite([], base)  # a SIMD group has 32 lanes: none above 31
            return self.done(self.emit(BinaryOp(I32, opcode="add",
                                                ops=[base, self.lane_id()])))
        if name == "llvm.amdgcn.ds.bpermute":
            address, value = call.args
            lane = self.emit(BinaryOp(I32, opcode="lshr", ops=[address, ConstantInt(I32, value=2)]))
            lane = self.emit(BinaryOp(I32, opcode="and", ops=[lane, ConstantInt(I32, value=31)]))
            return self.done(self.emit(self.simd("simd_shuffle", value.ty,
                                                 [value, self._as_i16(lane)])))
        if name == "llvm.amdgcn.wavefrontsize":
            return Rewrite([], ConstantInt(I32, value=32))
        return None

    def _opencl_subgroup(self, call: Call, op: str, params: list[str]) -> Rewrite:
        sign = "u" if params and _param_kind(params[0]) == "u" else "s"
        args = list(call.args)
        if op in ("simd_any", "simd_all"):
            pred = self.emit(Compare(I1, opcode="icmp", predicate="ne",
                                     ops=[args[0], ConstantInt(args[0].ty, value=0)]))
            vote = self.emit(self.simd(op, I1, [pred]))
            return self.done(self.emit(Cast(call.ty, opcode="zext", ops=[vote])))
        if op in ("simd_broadcast", "simd_shuffle", "simd_shuffle_xor", "simd_shuffle_down",
                  "simd_shuffle_up"):
            args = [args[0], self._as_i16(args[1])]
        return self.done(self.emit(self.simd(op, call.ty, args, sign)))


_F32 = FloatType("float")
_ATOMIC_VALUE_TYPES: dict[str, Type] = {"i32": I32, "i64": I64, "f32": _F32}
_SPACE = {0: "private", 1: "device", 2: "constant", 3: "threadgroup"}


def _region(space: int) -> str:
    return "global" if space == 1 else "local"


def _space(ptr: Value) -> int | None:
    return ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else None


def _opencl_flags(clk: int) -> int:
    flags = 0
    for bit, air in T.OPENCL_FENCE_FLAGS.items():
        if clk & bit:
            flags |= air
    return flags


def _llvm_stem(base: str) -> str:
    """``sqrt.f32`` -> ``sqrt``; ``sadd.sat.i32`` -> ``sadd.sat``; ``umax.v4i32`` -> ``umax``."""
    parts = base.split(".")
    stem: list[str] = []
    for part in parts:
        if re.fullmatch(r"(v\d+|nxv\d+)?(f\d+|i\d+|bf16|p\d+\w*)", part):
            break
        stem.append(part)
    return ".".join(stem)


def _splat_int(ty: Type, value: int) -> Value:
    from llvm_to_air.ir.model import ConstantAggregate

    if isinstance(ty, VectorType):
        return ConstantAggregate(ty, elements=[ConstantInt(ty.element, value=value)] * ty.count)
    return ConstantInt(ty, value=value)


def _splat_float(ty: Type, text: str) -> Value:
    from llvm_to_air.ir.model import ConstantAggregate, ConstantFP

    if isinstance(ty, VectorType):
        return ConstantAggregate(ty, elements=[ConstantFP(ty.element, text=text)] * ty.count)
    return ConstantFP(ty, text=text)


def _bool_like(ty: Type) -> Type:
    return VectorType(ty.count, I1) if isinstance(ty, VectorType) else I1


def _mask_value(lowering: Lowering, value: Value, mask: int) -> Value:
    if isinstance(value, ConstantInt):
        return ConstantInt(value.ty, value=value.value & mask)
    return lowering.emit(BinaryOp(value.ty, opcode="and",
                                  ops=[value, ConstantInt(value.ty, value=mask)]))


# ----------------------------------------------------------------- demangling

_BUILTIN_CODES = {"v": "v", "b": "u", "c": "s", "a": "s", "h": "u", "s": "s", "t": "u",
                  "i": "s", "j": "u", "l": "s", "m": "u", "x": "s", "y": "u", "f": "f",
                  "d": "f"}


def demangle(name: str) -> tuple[str, list[str]] | None:
    """Itanium-mangled OpenCL builtin -> (name, parameter kinds).

    Kinds: ``s``/``u``/``f``/``v`` for scalars and vectors of them, ``p<kind>`` for
    pointers, ``e`` for enums/named types. Enough for choosing signedness.
    """
    m = re.match(r"_Z(\d+)", name)
    if m is None:
        return None
    length = int(m.group(1))
    base = name[m.end():m.end() + length]
    rest = name[m.end() + length:]
    params: list[str] = []
    subs: list[str] = []
    pos = 0

    def parse() -> str:
        nonlocal pos
        if pos >= len(rest):
            raise ValueError
        ch = rest[pos]
        if ch in _BUILTIN_CODES:
            pos += 1
            return _BUILTIN_CODES[ch]
        if rest.startswith("Dh", pos):
            pos += 2
            return "f"
        if rest.startswith("DF16_", pos):
            pos += 5
            return "f"
        if rest.startswith("Dv", pos):
            end = rest.index("_", pos)
            pos = end + 1
            kind = parse()
            subs.append(kind)
            return kind
        if ch == "P":
            pos += 1
            while pos < len(rest):
                if rest[pos] in "KVr":
                    pos += 1
                elif rest.startswith("U3AS", pos):
                    pos += 5
                else:
                    break
            kind = "p" + parse()
            subs.append(kind)
            return kind
        if ch == "S":
            end = rest.index("_", pos)
            index = 0 if end == pos + 1 else int(rest[pos + 1:end], 36) + 1
            pos = end + 1
            return subs[index] if index < len(subs) else "e"
        if ch.isdigit():
            n = re.match(r"\d+", rest[pos:])
            assert n is not None
            pos += len(n.group()) + int(n.group())
            subs.append("e")
            return "e"
        raise ValueError

    try:
        while pos < len(rest):
            params.append(parse())
    except (ValueError, IndexError):
        return base, params
    return base, params


def _param_kind(kind: str) -> str:
    return kind.lstrip("p")[:1] or "f"


# ------------------------------------------------------------------- tables

_INSTRUCTION_HANDLERS: dict[type, Handler] = {
    AtomicRMW: Lowering._atomicrmw,
    CmpXchg: Lowering._cmpxchg,
    Load: Lowering._atomic_load,
    Store: Lowering._atomic_store,
    Fence: Lowering._fence_instruction,
    Cast: Lowering._conversion,
}
_CALL_HANDLERS: list[tuple[str, Callable[[Lowering, Call], Rewrite | None]]] = [
    ("llvm.nvvm.bar", Lowering._nvvm_barrier),
    ("llvm.amdgcn.s.barrier", Lowering._nvvm_barrier),
    ("llvm.amdgcn.wave.barrier", Lowering._nvvm_barrier),
    ("llvm.nvvm.membar", Lowering._nvvm_fence),
    ("llvm.nvvm.fence", Lowering._nvvm_fence),
    ("llvm.nvvm.shfl.", Lowering._nvvm_shuffle),
    ("llvm.nvvm.vote.", Lowering._nvvm_vote),
    ("llvm.amdgcn.", Lowering._amdgpu_lanes),
    ("llvm.nvvm.", lower_nvvm_rounding),
    ("llvm.nvvm.", Lowering._nvvm_misc),
    ("llvm.vector.reduce.", Lowering._vector_reduce),
    ("llvm.is.fpclass.", Lowering._fpclass),
]


def lower_intrinsics(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        if kernel.producer != "air":
            Lowering(module, ctx, kernel).run()


__all__ = ["AirBuilder", "demangle", "lower_intrinsics", "type_suffix"]
