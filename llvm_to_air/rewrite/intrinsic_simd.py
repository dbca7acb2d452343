"""SIMD family of intrinsic lowering: lane ids, shuffles, votes, reductions, sub-groups.

:class:`SimdLowering` lowers NVVM shuffles and votes, other NVVM and AMDGPU
lane operations, ``llvm.vector.reduce.*``, ``llvm.is.fpclass`` and OpenCL
sub-group builtins to ``air.simd_*`` calls. Mixed into
:class:`~llvm_to_air.rewrite.intrinsics.Lowering`, whose math family's helpers
(``_binary``, ``_as_i16``, ``float_op``) it uses.
"""

from __future__ import annotations

import re

from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    Compare,
    ConstantInt,
    ExtractElement,
    Function,
    InsertValue,
    Load,
    Poison,
    Select,
    Value,
)
from llvm_to_air.ir.types import I1, I32, I64, FunctionType, IntType, PointerType, Type, VectorType
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.demangle import _param_kind
from llvm_to_air.rewrite.intrinsic_base import _F32, LoweringBase, Rewrite, _scalar, type_suffix

_LANE_ID = "llvm.nvvm.read.ptx.sreg.laneid"


class SimdLowering(LoweringBase):
    """Lowerings of SIMD-group (warp, wavefront, sub-group) operations."""

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
            value, mask = call.args
            if isinstance(value, ConstantInt) and not isinstance(mask, ConstantInt):
                # redux.sync is (value, membermask); clang <= 20's __reduce_*_sync headers
                # pass them the other way round (LLVM issue 131415): the IR reduces the
                # constant, as it says, and the user should know
                self.ctx.warnings.append(self.error(
                    call, f"'@{name}' reduces the constant {value.value} over the member "
                          "mask given as its second operand; clang 20 and older swap "
                          "__reduce_*_sync's operands (LLVM issue 131415)",
                    "compile with clang 21 or newer, or write the reduction with "
                    "__shfl_xor_sync"))
            return self.done(self.emit(self.simd(air, call.ty, [value], sign)))
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


def _mask_value(lowering: LoweringBase, value: Value, mask: int) -> Value:
    if isinstance(value, ConstantInt):
        return ConstantInt(value.ty, value=value.value & mask)
    return lowering.emit(BinaryOp(value.ty, opcode="and",
                                  ops=[value, ConstantInt(value.ty, value=mask)]))
