"""Synchronization family of intrinsic lowering: barriers, fences and atomics.

:class:`SyncLowering` lowers NVVM/AMDGPU/OpenCL barriers and fences, the
``fence`` instruction, and atomics (``atomicrmw``, ``cmpxchg``, atomic loads
and stores, OpenCL's ``atomic_*``) to ``air.*`` calls in the ABI of the
target's AIR version; operations AIR lacks become compare-exchange loops, and
atomics on private memory plain loads and stores. Mixed into
:class:`~llvm_to_air.rewrite.intrinsics.Lowering`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llvm_to_air.ir.legalize14 import combine_rmw, expand_atomicrmw
from llvm_to_air.ir.model import (
    Alloca,
    AtomicRMW,
    BasicBlock,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ConstantInt,
    Fence,
    InsertValue,
    Instruction,
    Load,
    Poison,
    Select,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    I32,
    VOID,
    FloatType,
    IntType,
    PointerType,
    StructType,
    Type,
    VectorType,
)
from llvm_to_air.rewrite import intrinsic_tables as T
from llvm_to_air.rewrite.demangle import _param_kind
from llvm_to_air.rewrite.intrinsic_base import LoweringBase, Rewrite, type_suffix
from llvm_to_air.rewrite.partword_atomics import expand_partword_cmpxchg, is_partword


class SyncLowering(LoweringBase):
    """Lowerings of barriers, fences and atomics."""

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

    # -------------------------------------------------------------- atomics

    def _expand_atomic_loops(self) -> None:
        """atomicrmw operations AIR lacks become compare-exchange loops first; then each
        compare-exchange of an 8- or 16-bit value a loop on its 32-bit word."""
        while self._expand_first(AtomicRMW, self._needs_loop, lambda block, index, inst:
                                 expand_atomicrmw(self.module, self.fn, block, index, inst)):
            pass
        while self._expand_first(CmpXchg, lambda inst: is_partword(inst)
                                 and _space(inst.ops[0]) in (1, 3),
                                 lambda block, index, inst:
                                 expand_partword_cmpxchg(self.fn, block, index, inst)):
            pass

    def _expand_first(self, kind: type, wanted: Callable[[Any], bool],
                      expand: Callable[[BasicBlock, int, Any], object]) -> bool:
        """Expand the first ``kind`` instruction ``wanted`` picks; False when none is left."""
        for block in list(self.fn.blocks):
            for index, inst in enumerate(block.instructions):
                if isinstance(inst, kind) and wanted(inst):
                    expand(block, index, inst)
                    return True
        return False

    def _needs_loop(self, inst: AtomicRMW) -> bool:
        space = _space(inst.ops[0])
        if space == 0:
            return False  # private memory: plain operations, see _atomicrmw
        entry = T.ATOMIC_RMW.get(inst.operation)
        if entry is None:
            return True
        ty = inst.ty
        if isinstance(ty, VectorType) or (isinstance(ty, IntType) and ty.bits < 32):
            return True  # <2 x half> (CUDA's __half2 atomicAdd), i8/i16: on a 32-bit word
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
