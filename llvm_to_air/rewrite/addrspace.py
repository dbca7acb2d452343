"""Address spaces: producer numbering to AIR's, and a concrete space for every pointer.

AIR has four address spaces (AIR_NOTES section 4): 0 private, 1 device,
2 constant, 3 threadgroup, and no generic (flat) one. Producers number theirs
differently and pass generic pointers around; this stage

* ``map_global_address_spaces``: renumbers globals (NVPTX/AMDGPU constant 4 ->
  2, shared 3 -> threadgroup ``internal addrspace(3)``), before the ABI stage;
* ``infer_address_spaces``: after the ABI stage gave kernel parameters their
  spaces, computes for every pointer value where it points, from its origin
  (allocas -> 0, globals, parameters) through GEPs, casts, phis, selects,
  freezes and pointer slots (allocas that only hold a pointer, as -O0 code
  keeps arguments), retypes the pointers and removes the address-space casts
  that became no-ops. A pointer whose space cannot be inferred (loaded from
  memory, made by ``inttoptr``, merged from two spaces) is an error naming it.

Guarantees: no pointer of a generic space and no ``addrspacecast`` remain in
the kernels; every pointer operand type agrees with its origin.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.edit import (
    materialize_constant_uses,
    replace_all_uses,
    set_pointer_addrspace,
)
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    BinaryOp,
    Call,
    Cast,
    Constant,
    ConstantExpr,
    ConstantNull,
    ConstantZero,
    ExtractValue,
    Freeze,
    Function,
    GetElementPtr,
    GlobalVariable,
    Instruction,
    Load,
    Module,
    Phi,
    Poison,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    ArrayType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    VectorType,
    contains_type,
)
from llvm_to_air.rewrite.context import LoweringContext, Producer

PRIVATE, DEVICE, CONSTANT, THREADGROUP = 0, 1, 2, 3

# producer address space -> AIR address space, for spaces that name memory.
# Generic spaces are absent: pointers in them get the space of what they point to.
ADDRESS_SPACE_MAPS: dict[Producer, dict[int, int]] = {
    "cuda": {1: DEVICE, 3: THREADGROUP, 4: CONSTANT, 5: PRIVATE},
    "rocdl": {1: DEVICE, 3: THREADGROUP, 4: CONSTANT, 5: PRIVATE, 6: CONSTANT},
    "opencl": {0: PRIVATE, 1: DEVICE, 2: CONSTANT, 3: THREADGROUP},
    "plain": {0: PRIVATE, 1: DEVICE, 2: CONSTANT, 3: THREADGROUP},
    "air": {0: PRIVATE, 1: DEVICE, 2: CONSTANT, 3: THREADGROUP},
}
GENERIC_SPACES: dict[Producer, frozenset[int]] = {
    "cuda": frozenset({0}), "rocdl": frozenset({0}), "opencl": frozenset({4}),
    "plain": frozenset(), "air": frozenset(),
}


def producer_of(ctx: LoweringContext) -> Producer:
    producers = {k.producer for k in ctx.kernels}
    return producers.pop() if len(producers) == 1 else "plain"


def air_space(producer: Producer, space: int, where: str,
              location: SourceLocation | None) -> int:
    mapped = ADDRESS_SPACE_MAPS[producer].get(space)
    if mapped is None:
        raise CompileError(f"{where} is in address space {space}, which has no AIR equivalent "
                           f"for {producer} input", location,
                           hint="AIR has private (0), device (1), constant (2) and "
                                "threadgroup (3) memory")
    return mapped


def map_global_address_spaces(module: Module, ctx: LoweringContext) -> None:
    producer = producer_of(ctx)
    for gv in module.globals:
        if contains_type(gv.value_type, PointerType):
            raise CompileError(f"global @{gv.name} holds pointers, which AIR cannot relocate",
                               gv.location, hint="pass the pointers as kernel arguments")
        if _is_generic_constant_data(producer, gv):
            space = CONSTANT  # string literals of assert/printf, libdevice's reflect names
        else:
            space = air_space(producer, gv.addrspace, f"global @{gv.name}", gv.location)
            if space == DEVICE and _is_read_only_data(module, gv):
                space = CONSTANT  # libdevice's 2/pi table, `__device__ const` tables
        if space == CONSTANT and _host_written_constant(gv):
            # CUDA `__constant__ T c[N];` with no initializer: the host fills it with
            # cudaMemcpyToSymbol, which Metal lacks; a buffer the host binds keeps that working
            space = DEVICE
        gv.ty = PointerType(space)
        if space == THREADGROUP and is_dynamic_threadgroup_memory(gv):
            continue  # becomes a threadgroup-memory parameter in the ABI stage
        if space == DEVICE:
            continue  # a program-scope device variable: a device buffer in the ABI stage
        if space == THREADGROUP:
            gv.linkage = "internal"
            gv.externally_initialized = False
            if gv.initializer is None:
                gv.initializer = Undef(gv.value_type)
        elif space == CONSTANT:
            # as Apple writes program-scope constants: internal, initialized, not external
            if gv.externally_initialized:
                ctx.warnings.append(CompileError(
                    f"constant @{gv.name} is compiled into the library with its initializer; "
                    "a host that changes it (cudaMemcpyToSymbol) cannot reach it on Metal",
                    gv.location, hint="pass data the host changes as a kernel argument"))
            gv.is_constant = True
            gv.linkage = "internal"
            gv.externally_initialized = False
            gv.qualifiers = [q for q in gv.qualifiers if q != "dso_local"]


def _host_written_constant(gv: GlobalVariable) -> bool:
    """A constant-space global the host is meant to fill: externally initialized, and its
    initializer (if any) all zeros or undefined."""
    return gv.externally_initialized and (
        gv.initializer is None or isinstance(gv.initializer, ConstantZero | Undef | Poison))


def _is_generic_constant_data(producer: Producer, gv: GlobalVariable) -> bool:
    """A read-only initialized global in the producer's generic space (CUDA's ``@.str``):
    nothing can write it, so it is constant-space data wherever it is read."""
    return gv.addrspace in GENERIC_SPACES[producer] and gv.is_constant and \
        gv.initializer is not None


# integer operations that move an address within its buffer (an offset added, low bits
# masked for alignment)
_ADDRESS_ARITHMETIC = frozenset({"add", "sub", "and", "or"})


def _from_load(value: Value) -> bool:
    """Whether ``value`` is a load, or integer arithmetic on exactly one."""
    for _ in range(16):
        if isinstance(value, Load):
            return True
        if not (isinstance(value, BinaryOp) and value.opcode in _ADDRESS_ARITHMETIC):
            return False
        loads = [op for op in value.ops if isinstance(op, Load | BinaryOp)]
        if len(loads) != 1:
            return False
        value = loads[0]
    return False


def _is_read_only_data(module: Module, gv: GlobalVariable) -> bool:
    """Initialized global-space data that nothing writes, which is then data of the library
    (as Apple writes program-scope constants), not a buffer the host would have to bind
    and fill: a ``constant`` (LLVM's word that nothing writes it) no host fills, or, as
    clang leaves such a table at -O0, an internal variable (the host cannot name it) that
    no function writes, lets escape or turns into an integer."""
    if gv.initializer is None or gv.externally_initialized:
        return False
    if gv.is_constant:
        return True
    if gv.linkage not in ("internal", "private"):
        return False
    if any(_mentions(other.initializer, gv) for other in module.globals
           if other is not gv and other.initializer is not None):
        return False
    from llvm_to_air.rewrite.abi import analyze_pointer_use

    for fn in module.functions:
        if fn.is_declaration:
            continue
        materialize_constant_uses(fn, gv)
        use = analyze_pointer_use(fn, gv)
        if use.writes or use.as_integer:
            return False
    return True


def _mentions(constant: object, gv: GlobalVariable) -> bool:
    """Whether ``gv`` appears anywhere in the constant ``constant``."""
    if constant is gv:
        return True
    return any(_mentions(op, gv) for op in getattr(constant, "ops", ()) or ()) or any(
        _mentions(element, gv) for element in getattr(constant, "elements", ()) or ())


def is_dynamic_threadgroup_memory(gv: GlobalVariable) -> bool:
    """CUDA's ``extern __shared__ T x[]``: sized by the host at dispatch time."""
    return gv.addrspace == THREADGROUP and gv.initializer is None


class _Inference:
    def __init__(self, fn: Function) -> None:
        self.fn = fn
        self.space: dict[Value, int] = {}
        self.slots: dict[Alloca, int | None] = {}
        # private aggregates holding pointers (a by-value struct's copy): the one space of
        # every pointer stored into them, DEVICE for what a memcpy from a constant buffer
        # brought (pointers the host wrote)
        self.aggregates: dict[Alloca, int | None] = {}
        self.slot_values: dict[Alloca, list[Value]] = {}

    def origin(self, value: Value) -> int | None:
        """Where ``value`` points, if known yet."""
        if isinstance(value, GlobalVariable):
            return value.addrspace
        if isinstance(value, Function):
            return PRIVATE
        if isinstance(value, Argument):
            ty = value.ty
            return ty.addrspace if isinstance(ty, PointerType) else None
        if isinstance(value, ConstantExpr):
            if value.opcode in ("addrspacecast", "bitcast", "getelementptr"):
                return self.origin(value.ops[0])
            return None
        return self.space.get(value)

    def run(self) -> None:
        insts = list(self.fn.instructions())
        for inst in insts:
            if isinstance(inst, Alloca) and _holds_pointer(inst):
                self.slots[inst] = None
            elif isinstance(inst, Alloca) and not inst.ops and \
                    isinstance(inst.allocated_type, StructType | NamedStructType | ArrayType):
                self.aggregates[inst] = None
        for inst in insts:
            slot = self.slot(inst.ops[1]) if isinstance(inst, Store) else None
            if slot is not None:
                self.slot_values.setdefault(slot, []).append(inst.ops[0])
        self._fixpoint(insts)
        # slots that only ever hold null (cooperative groups' unused grid handle at -O0):
        # any space is right for a null pointer; device keeps it comparable with buffers
        null_only = [slot for slot, space in self.slots.items()
                     if space is None and _only_null_stored(slot, insts)]
        if null_only:
            for slot in null_only:
                self.slots[slot] = DEVICE
            self._fixpoint(insts)

    def _fixpoint(self, insts: list[Instruction]) -> None:
        for _ in range(len(insts) + 2):  # fixpoint over phis and pointer slots
            changed = False
            for inst in insts:
                if _is_pointer(inst.ty):
                    new = self._transfer(inst)
                    if new is not None and self.space.get(inst) != new:
                        if inst in self.space:
                            raise self._conflict(inst, self.space[inst], new)
                        self.space[inst] = new
                        changed = True
                elif isinstance(inst, Store) and self.slot(inst.ops[1]) is not None \
                        and _is_pointer(inst.ops[0].ty):
                    stored = self.origin(inst.ops[0])
                    slot = self.slot(inst.ops[1])
                    assert slot is not None
                    if stored is not None and self.slots[slot] != stored:
                        if self.slots[slot] is not None:
                            raise self._conflict(inst, self.slots[slot], stored)
                        self.slots[slot] = stored
                        changed = True
                if self._aggregate_store(inst):
                    changed = True
            if not changed:
                break

    def _transfer(self, inst: Instruction) -> int | None:
        if isinstance(inst, Alloca):
            return PRIVATE
        if isinstance(inst, GetElementPtr | Cast | Freeze):
            if isinstance(inst, Cast) and inst.opcode == "inttoptr":
                return DEVICE if self._host_written_address(inst.ops[0]) else None
            return self.origin(inst.ops[0])
        if isinstance(inst, Phi | Select):
            incoming = inst.ops[1:] if isinstance(inst, Select) else inst.ops
            known = {self.origin(v) for v in incoming if not _adapts(v)} - {None}
            if len(known) > 1:
                raise self._conflict(inst, *sorted(known))  # type: ignore[arg-type]
            return known.pop() if known else None
        if isinstance(inst, ExtractValue) and isinstance(inst.ops[0], Load):
            return self._aggregate_load_space(inst.ops[0].ops[0])
        if isinstance(inst, Load):
            ptr = inst.ops[0]
            slot = self.slot(ptr)
            if slot is not None:
                return self.slots[slot]
            base = self._base(ptr)
            if base is not None and base in self.aggregates:
                return self.aggregates[base]
            if self.origin(ptr) == CONSTANT:
                # a pointer the host wrote into a constant buffer (a by-value struct such as
                # PyTorch's Array<char*, N>, a __constant__ table): a device buffer address
                return DEVICE
            return None
        return None

    def _host_written_address(self, value: Value) -> bool:
        """An integer the host wrote into a constant buffer, offset by integer arithmetic:
        thrust's kernel agents take their iterators in a by-value struct whose pointers
        clang's SROA turned into ``i64`` fields, made pointers again with ``inttoptr``."""
        for _ in range(16):
            if isinstance(value, Load):
                return self.origin(value.ops[0]) == CONSTANT
            if not (isinstance(value, BinaryOp) and value.opcode in _ADDRESS_ARITHMETIC):
                return False
            loads = [op for op in value.ops if _from_load(op)]
            if len(loads) != 1:
                return False
            value = loads[0]
        return False

    def slot(self, ptr: Value) -> Alloca | None:
        """The pointer slot ``ptr`` addresses: the alloca itself, or (AMDGPU at -O0) the
        ``addrspacecast`` of a private (5) alloca to a generic pointer that clang makes of
        every local variable."""
        while isinstance(ptr, Cast) and ptr.opcode in ("addrspacecast", "bitcast"):
            ptr = ptr.ops[0]
        return ptr if isinstance(ptr, Alloca) and ptr in self.slots else None

    def _base(self, ptr: Value) -> Alloca | None:
        """The alloca ``ptr`` addresses, also through -O0's pointer slots (``this``)."""
        for _ in range(16):
            base = _base_alloca(ptr)
            if base is not None:
                return base
            while isinstance(ptr, GetElementPtr | Cast):
                ptr = ptr.ops[0]
            slot = self.slot(ptr.ops[0]) if isinstance(ptr, Load) else None
            if slot is None:
                return None
            stored = {id(v): v for v in self.slot_values.get(slot, [])}
            if len(stored) != 1:
                return None
            ptr = next(iter(stored.values()))
        return None

    def _aggregate_load_space(self, ptr: Value) -> int | None:
        base = self._base(ptr)
        if base is not None and base in self.aggregates:
            return self.aggregates[base]
        return DEVICE if self.origin(ptr) == CONSTANT else None

    def _aggregate_store(self, inst: Instruction) -> bool:
        """Record the space of a pointer stored (or copied) into a private aggregate."""
        stored: int | None = None
        if isinstance(inst, Store) and _is_pointer(inst.ops[0].ty):
            base = self._base(inst.ops[1])
            stored = self.origin(inst.ops[0])
        elif isinstance(inst, Store) and isinstance(inst.ops[0], Load) and \
                isinstance(inst.ops[0].ty, StructType | NamedStructType | ArrayType):
            base = self._base(inst.ops[1])  # a whole struct copied: its pointers too
            stored = self._aggregate_load_space(inst.ops[0].ops[0])
        elif isinstance(inst, Call) and inst.callee_function is not None and \
                inst.callee_function.name.startswith(("llvm.memcpy.", "llvm.memmove.")):
            base = self._base(inst.ops[0])
            source = self._base(inst.ops[1])
            if source is not None and source in self.aggregates:
                stored = self.aggregates[source]
            elif self.origin(inst.ops[1]) == CONSTANT:
                stored = DEVICE
        else:
            return False
        if base is None or base not in self.aggregates or stored is None:
            return False
        if self.aggregates[base] == stored:
            return False
        if self.aggregates[base] is not None:
            raise CompileError(
                f"private copy {_describe(base)} in @{self.fn.name} holds pointers to "
                f"{_SPACE_NAMES.get(self.aggregates[base])} and to "
                f"{_SPACE_NAMES.get(stored)} memory", inst.location or self.fn.location,
                hint="AIR pointers have one address space: keep device and threadgroup "
                     "pointers in different structs")
        self.aggregates[base] = stored
        return True

    def _conflict(self, inst: Instruction, first: int | None, second: int | None) -> CompileError:
        return CompileError(
            f"pointer {_describe(inst)} in @{self.fn.name} may point to "
            f"{_SPACE_NAMES.get(first, first)} or {_SPACE_NAMES.get(second, second)} memory",
            inst.location or self.fn.location,
            hint="AIR pointers have one address space: keep device and threadgroup data apart")


_SPACE_NAMES = {0: "private", 1: "device", 2: "constant", 3: "threadgroup"}


def infer_address_spaces(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        inference = _Inference(fn)
        inference.run()
        _retype(fn, inference)
        _remove_noop_casts(fn)
        _retarget_intrinsic_calls(module, fn)


def _retype(fn: Function, inference: _Inference) -> None:
    for inst in fn.instructions():
        if isinstance(inst, Alloca):
            inst.addrspace = PRIVATE
        if isinstance(inst, Alloca) and inst in inference.slots:
            slot_space = inference.slots[inst]
            if slot_space is not None:
                inst.allocated_type = PointerType(slot_space)
        if not _is_pointer(inst.ty):
            continue
        space = inference.space.get(inst)
        if space is None:
            if isinstance(inst, Call):
                continue  # checked by the intrinsic stage, which knows the callee
            raise CompileError(
                f"cannot infer the address space of pointer {_describe(inst)} in @{fn.name}",
                inst.location or fn.location,
                hint="AIR has no generic pointers; pointers loaded from memory or made from "
                     "integers cannot be traced to device, threadgroup or private memory")
        set_pointer_addrspace(inst, space)
    for inst in fn.instructions():
        for k, op in enumerate(inst.ops):
            if isinstance(op, ConstantNull | Undef | Poison | ConstantZero) and \
                    _is_pointer(op.ty) and k < len(inst.ops):
                want = _expected_operand_space(inst, k, inference)
                if want is not None:
                    new = type(op)(PointerType(want))
                    inst.ops[k] = new
            elif isinstance(op, ConstantExpr) and _is_pointer(op.ty):
                space = inference.origin(op)
                if space is not None:
                    inst.ops[k] = _retyped_constant(op, space)


def _expected_operand_space(inst: Instruction, k: int, inference: _Inference) -> int | None:
    """For null/undef pointer operands: the space the instruction needs there."""
    if isinstance(inst, Phi | Select | Freeze):
        return inference.space.get(inst)
    if isinstance(inst, Store) and k == 0:
        slot = inference.slot(inst.ops[1])
        return inference.slots[slot] if slot is not None else None
    if isinstance(inst, Instruction) and inst.opcode == "icmp":
        other = inst.ops[1 - k]
        return inference.origin(other)
    return None


def _retyped_constant(expr: ConstantExpr, space: int) -> Constant:
    """Constant pointer expressions (``addrspacecast (@shared to ptr)``) in the right space."""
    if expr.opcode in ("addrspacecast", "bitcast"):
        inner = expr.ops[0]
        if isinstance(inner, ConstantExpr):
            inner = _retyped_constant(inner, space)
        if isinstance(inner.ty, PointerType) and inner.ty.addrspace == space:
            return inner
        return ConstantExpr(PointerType(space), opcode="addrspacecast", ops=[inner])
    if expr.opcode == "getelementptr":
        base = expr.ops[0]
        if isinstance(base, ConstantExpr):
            base = _retyped_constant(base, space)
        return ConstantExpr(PointerType(space), opcode="getelementptr", ops=[base, *expr.ops[1:]],
                            flags=expr.flags, source_type=expr.source_type)
    return expr


def _remove_noop_casts(fn: Function) -> None:
    mapping: dict[Value, Value] = {}
    for block in fn.blocks:
        kept = []
        for inst in block.instructions:
            if isinstance(inst, Cast) and inst.opcode in ("addrspacecast", "bitcast") and \
                    _is_pointer(inst.ty) and inst.ty == inst.ops[0].ty:
                source = inst.ops[0]
                mapping[inst] = mapping.get(source, source)
                continue
            if isinstance(inst, Cast) and inst.opcode == "addrspacecast":
                src_ty = inst.ops[0].ty
                raise CompileError(
                    f"{_describe(inst)} converts a {_SPACE_NAMES.get(_space_of(src_ty))} "
                    f"pointer to {_SPACE_NAMES.get(_space_of(inst.ty))} memory in @{fn.name}",
                    inst.location or fn.location,
                    hint="AIR cannot convert pointers between address spaces")
            kept.append(inst)
        block.instructions = kept
    replace_all_uses(fn.instructions(), mapping)


def _retarget_intrinsic_calls(module: Module, fn: Function) -> None:
    """Calls whose pointer arguments changed space get a declaration of matching type.

    ``llvm.*`` intrinsics are re-mangled (``llvm.memcpy.p0.p0.i64`` ->
    ``llvm.memcpy.p1.p3.i64``); other declarations are re-typed in place when
    every call agrees (they are replaced by the intrinsic stage anyway).
    """
    from llvm_to_air.ir.llvm14 import POINTER_SUFFIX_RE
    from llvm_to_air.ir.model import Function as Fn
    from llvm_to_air.ir.types import FunctionType

    for inst in fn.instructions():
        if not isinstance(inst, Call):
            continue
        callee = inst.callee_function
        if callee is None or not callee.is_declaration:
            continue
        arg_types = tuple(a.ty for a in inst.args)
        old = callee.function_type
        if arg_types == old.params[:len(arg_types)] and not old.vararg:
            continue
        if old.vararg:
            continue
        new_type = FunctionType(old.ret, arg_types, old.vararg)
        if callee.name.startswith("llvm."):
            spaces = iter(t.addrspace for t in (old.ret, *arg_types) if isinstance(t, PointerType))
            name = POINTER_SUFFIX_RE.sub(lambda m, s=spaces: f".p{next(s, m.group(1))}",
                                         callee.name)
            target = module.get_function(name)
            if target is None:
                target = Fn(PointerType(0), name=name, function_type=new_type,
                            fn_attrs=list(callee.fn_attrs), args=[
                                Argument(t, attrs=list(a.attrs))
                                for t, a in zip(arg_types, callee.args, strict=True)])
                module.functions.append(target)
            inst.ops[-1] = target
        else:
            callee.function_type = new_type
            for arg, ty in zip(callee.args, arg_types, strict=True):
                arg.ty = ty
        inst.function_type = new_type


def _only_null_stored(slot: Alloca, insts: list[Instruction]) -> bool:
    stores = [i for i in insts if isinstance(i, Store) and i.ops[1] is slot]
    return bool(stores) and all(isinstance(i.ops[0], ConstantNull | Undef | Poison | ConstantZero)
                                for i in stores)


def _base_alloca(ptr: Value) -> Alloca | None:
    """The alloca that ``ptr`` addresses, through GEPs and casts."""
    for _ in range(64):
        if isinstance(ptr, Alloca):
            return ptr
        if isinstance(ptr, GetElementPtr | Cast) or (
                isinstance(ptr, ConstantExpr) and ptr.opcode in ("getelementptr", "bitcast")):
            ptr = ptr.ops[0]
            continue
        return None
    return None


def _holds_pointer(alloca: Alloca) -> bool:
    return isinstance(alloca.allocated_type, PointerType) and not alloca.ops


def _is_pointer(ty: Type) -> bool:
    return isinstance(ty, PointerType) or (isinstance(ty, VectorType)
                                           and isinstance(ty.element, PointerType))


def _space_of(ty: Type) -> int | None:
    return ty.addrspace if isinstance(ty, PointerType) else None


def _adapts(value: Value) -> bool:
    return isinstance(value, ConstantNull | Undef | Poison | ConstantZero)


def _describe(inst: Instruction) -> str:
    name = f"%{inst.name}" if inst.name else "(unnamed)"
    return f"'{name}' ({inst.opcode})"


__all__ = ["ADDRESS_SPACE_MAPS", "infer_address_spaces", "map_global_address_spaces"]
