"""Math, integer, conversion and OpenCL-builtin families of intrinsic lowering.

:class:`MathLowering` lowers ``llvm.*`` math and integer intrinsics, libdevice
``__nv_*``, OCML ``__ocml_*`` and OpenCL's mangled builtins (math, relational,
``convert_*``, ``vload``/``vstore``, ``shuffle``, ``select``, work-item ids)
through the tables of :mod:`intrinsic_tables`, and int<->float conversions,
which AIR spells as calls. Mixed into :class:`~llvm_to_air.rewrite.intrinsics.Lowering`,
whose other families (sync, SIMD) it calls for OpenCL's atomics and sub-groups.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.model import (
    Argument,
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    Function,
    GetElementPtr,
    InsertElement,
    Instruction,
    Load,
    Poison,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    I16,
    I32,
    VOID,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.demangle import _param_kind, demangle
from llvm_to_air.rewrite.intrinsic_base import _F32, LoweringBase, Rewrite, _scalar, type_suffix
from llvm_to_air.rewrite.legalize import TRAPS
from llvm_to_air.rewrite.nvvm_rounding import source_spelling
from llvm_to_air.rewrite.opencl_dot import lower_integer_dot


class MathLowering(LoweringBase):
    """Lowerings of math, integer and conversion intrinsics and OpenCL builtins."""

    # ---------------------------------------------------------------- math

    def float_op(self, call: Call, op: T.FloatOp, *, force_fast: bool = False,
                 args: list[Value] | None = None) -> Rewrite:
        ty = call.ty
        scalar = _scalar(ty)
        fast = (self.fast or force_fast) and op.fast and scalar == _F32
        name = f"air.{'fast_' if fast else ''}{op.air}.{type_suffix(ty)}"
        if op.air == "dot":
            name = f"air.dot.{type_suffix(call.args[0].ty)}"
        splats, operands = _splat_scalars(ty, list(args if args is not None else call.args))
        return Rewrite([*splats, self.air.call(name, ty, operands, "math",
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
        splats, operands = _splat_scalars(ty, operands)
        return Rewrite([*splats, self.air.call(name, ty, operands, "math")], None).with_value()

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
        if "_half" in base:
            from llvm_to_air.rewrite.opencl_sat_half import half_memory

            half_access = half_memory(self, call, base)
            if half_access is not None:
                return half_access
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
        if base in T.OPENCL_BALLOT:
            from llvm_to_air.rewrite.opencl_ballot import lower_ballot

            return lower_ballot(self, call, base)
        if base in T.OPENCL_COMMON:
            from llvm_to_air.rewrite.opencl_common import lower_common

            return lower_common(self, call, base, kind)
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
        src = call.args[0]
        dst_ty, src_ty = call.ty, src.ty
        dst_name = re.sub(r"^convert_|(_sat)?(_rt[enpz])?$", "", base).rstrip("0123456789")
        dst_kind = "f" if dst_name in ("float", "half", "double") else (
            "u" if dst_name.startswith("u") else "s")
        src_kind = _param_kind(params[0]) if params else "s"
        dst_scalar, src_scalar = _scalar(dst_ty), _scalar(src_ty)
        if "_sat" in base and dst_kind != "f":
            from llvm_to_air.rewrite.opencl_sat_half import saturating_convert

            rounding_mode = re.search(r"_(rt[enpz])$", base)
            return saturating_convert(self, call, dst_kind, src_kind,
                                      rounding_mode.group(1) if rounding_mode else None)
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

    def _opencl_select(self, call: Call) -> Rewrite:
        a, b, c = call.args
        cond = self.emit(Compare(_bool_like(c.ty), opcode="icmp", predicate="ne",
                                 ops=[c, _splat_int(c.ty, 0)]))
        return self.done(self.emit(Select(call.ty, opcode="select", ops=[cond, b, a])))
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


def _llvm_stem(base: str) -> str:
    """``sqrt.f32`` -> ``sqrt``; ``sadd.sat.i32`` -> ``sadd.sat``; ``umax.v4i32`` -> ``umax``."""
    parts = base.split(".")
    stem: list[str] = []
    for part in parts:
        if re.fullmatch(r"(v\d+|nxv\d+)?(f\d+|i\d+|bf16|p\d+\w*)", part):
            break
        stem.append(part)
    return ".".join(stem)


def _splat_scalars(ty: Type, operands: list[Value]) -> tuple[list[Instruction], list[Value]]:
    """OpenCL's vector overloads with scalar operands (``clamp(float4, float, float)``,
    ``fmax(float4, float)``, ``mix(float4, float4, float)``, ``min(int4, int)``): AIR's
    vector functions take a vector in every operand, so a scalar of the result's element
    type is splatted. Returns the insertelement chains and the operands to pass."""
    if not isinstance(ty, VectorType):
        return [], operands
    chains: list[Instruction] = []
    widened: list[Value] = []
    for value in operands:
        if value.ty != ty.element:
            widened.append(value)
            continue
        vec: Value = Poison(ty)
        for k in range(ty.count):
            vec = InsertElement(ty, opcode="insertelement",
                                ops=[vec, value, ConstantInt(I32, value=k)])
            chains.append(vec)  # type: ignore[arg-type]
        widened.append(vec)
    return chains, widened


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
