"""AIR module -> host LLVM IR, as edits of our IR model.

Each function here is one step; :mod:`llvm_to_air.runner.compile` runs them in
order on a private copy of the module:

1. :func:`keep_kernel` drops every other defined function and the module's
   named metadata, and marks the kernel ``alwaysinline``;
2. :func:`add_prologue` gives the kernel a first block for values that only
   depend on parameters (they dominate everything, also after the step
   transform re-enters the function in the middle);
3. :func:`instrument_bounds` (checked mode) guards every access to device,
   constant and threadgroup memory with a call to ``__air_chk``;
4. :func:`replace_threadgroup_globals` turns ``addrspace(3)`` globals into
   offsets in the per-threadgroup block passed as ``%__air_tg``;
5. :func:`erase_address_spaces` makes every pointer ``ptr`` (address space 0);
6. :func:`make_step_function` (kernels with barriers or SIMD-group
   operations) splits the kernel at each of them into resumable phases.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import (
    NameSource,
    phis,
    remove_unused_declarations,
    replace_all_uses,
)
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    Compare,
    Constant,
    ConstantAggregate,
    ConstantExpr,
    ConstantInt,
    ExtractElement,
    ExtractValue,
    Freeze,
    Function,
    GetElementPtr,
    GlobalVariable,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    Module,
    Phi,
    Return,
    Select,
    ShuffleVector,
    Store,
    Switch,
    UnaryOp,
    Value,
)
from llvm_to_air.ir.types import (
    FLOAT_BITS,
    I8,
    I32,
    I64,
    PTR,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    VectorType,
    map_leaves,
)

TG_PARAM = "__air_tg"
BOUNDS_PARAM = "__air_bounds"
FRAME_PARAM = "__air_frame"
RESUME_PARAM = "__air_resume"
FRAME_TYPE = "__air_frame"
# Frame layout: SIMD-group call operands in slots at 0 and the result in the slot after
# them (:class:`SimdSlots`, sized for the kernel's calls: none without SIMD-group calls),
# then the values live across phases and the kernel's private memory. Small frames keep a
# threadgroup's frames in the first-level cache.
SIMD_ARGS = 4


# --------------------------------------------------------------------- basics


def _place(block: BasicBlock, index: int, items: list[Instruction]) -> None:
    for inst in items:
        inst.parent = block
    block.instructions[index:index] = items


def keep_kernel(module: Module, kernel: Function) -> None:
    """Only ``kernel`` stays defined, with the declarations it uses (an AIR function that
    only another kernel calls needs no host definition); named metadata goes;
    host-friendly attributes."""
    module.functions = [fn for fn in module.functions if fn is kernel or fn.is_declaration]
    module.aliases = []
    module.named_metadata = []
    remove_unused_declarations(module)
    for fn in module.functions:
        fn.fn_attrs = [a for a in fn.fn_attrs if a not in ("convergent", "noinline", "optnone")
                       and not a.startswith('"frame-pointer"')]
    for inst in kernel.instructions():
        if isinstance(inst, Call):
            inst.fn_attrs = [a for a in inst.fn_attrs if a not in ("convergent", "noinline")]
            if inst.tail == "musttail":
                inst.tail = "tail"
    kernel.linkage = ""
    kernel.fn_attrs.append("alwaysinline")


def add_prologue(fn: Function) -> BasicBlock:
    """A new entry block ending in a branch to the old one; static allocas move into it."""
    old = fn.blocks[0]
    allocas = [i for i in old.instructions if isinstance(i, Alloca)]
    old.instructions = [i for i in old.instructions if not isinstance(i, Alloca)]
    names = NameSource(fn)
    if old.name is None:
        old.name = names("__air_body")
    block = BasicBlock(name=names("__air_prologue"), parent=fn)
    _place(block, 0, [*allocas, Branch(VOID, opcode="br", targets=[old])])
    fn.blocks.insert(0, block)
    return block


def prologue_insert(prologue: BasicBlock, items: list[Instruction]) -> None:
    """Append before the prologue's terminator."""
    _place(prologue, len(prologue.instructions) - 1, items)


def add_param(fn: Function, ty: Type, name: str) -> Argument:
    arg = Argument(ty, name=name)
    fn.args.append(arg)
    fn.function_type = FunctionType(fn.function_type.ret, tuple(a.ty for a in fn.args))
    return arg


# ------------------------------------------------------------ address spaces


@functools.cache
def erase_type(ty: Type) -> Type:
    """Every pointer inside ``ty`` in address space 0 (the host has one)."""
    return map_leaves(ty, lambda leaf: PTR if isinstance(leaf, PointerType) else leaf)


_SKIP_FIELDS = frozenset({"parent", "ops", "elements", "blocks", "targets", "args",
                          "initializer", "aliasee", "personality", "function", "block",
                          "metadata", "bundles", "location"})


def _erase_fields(obj: object) -> None:
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.name in _SKIP_FIELDS:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, Type):
            setattr(obj, f.name, erase_type(value))


def erase_address_spaces(module: Module) -> None:
    """Every pointer becomes ``ptr``; ``addrspacecast`` becomes ``bitcast``."""
    seen: set[int] = set()

    def constant(c: Value) -> None:
        if id(c) in seen or not isinstance(c, Constant):
            return
        seen.add(id(c))
        if isinstance(c, Function | GlobalVariable):
            return  # handled below
        _erase_fields(c)
        if isinstance(c, ConstantExpr):
            if c.opcode == "addrspacecast":
                c.opcode = "bitcast"
            for op in c.ops:
                constant(op)
        elif isinstance(c, ConstantAggregate):
            for e in c.elements:
                constant(e)

    module.structs = {name: (erase_type(body) if body is not None else None)  # type: ignore
                      for name, body in module.structs.items()}
    for gv in module.globals:
        _erase_fields(gv)
        if gv.initializer is not None:
            constant(gv.initializer)
    for fn in module.functions:
        _erase_fields(fn)
        fn.prefix_words = [w for w in fn.prefix_words if not w.startswith("addrspace")]
        for arg in fn.args:
            _erase_fields(arg)
        for inst in fn.instructions():
            _erase_fields(inst)
            if isinstance(inst, Cast) and inst.opcode == "addrspacecast":
                inst.opcode = "bitcast"
            if isinstance(inst, Alloca):
                inst.addrspace = 0
            if isinstance(inst, Call):
                inst.addrspace = None
            for op in inst.ops:
                constant(op)


def _scalar_bytes(ty: Type) -> int:
    element = ty.element if isinstance(ty, VectorType) else ty
    bits = element.bits if isinstance(element, IntType) else \
        FLOAT_BITS.get(element.kind, 8) if isinstance(element, FloatType) else 64
    return min(8, max(1, bits // 8))


def relax_alignment(module: Module) -> None:
    """Vector loads and stores promise no more than their element's alignment, and
    ``llvm.mem*`` calls none.

    A kernel may declare ``load <8 x float>, align 32``: a GPU buffer satisfies it, a numpy
    array (or a view into one) need not, and the host's aligned vector moves fault on it,
    killing the process. The element's own alignment is what host memory gives; x86 and
    AArch64 load misaligned scalars and unaligned vectors without faulting. Atomics keep
    their alignment (their width is a scalar's).
    """
    for inst in (i for fn in module.functions for i in fn.instructions()):
        if isinstance(inst, Load | Store) and inst.ordering is None:
            ty = inst.ty if isinstance(inst, Load) else inst.ops[0].ty
            if isinstance(ty, VectorType) and (inst.align or 0) > _scalar_bytes(ty):
                inst.align = _scalar_bytes(ty)
        elif isinstance(inst, Call) and inst.callee_function is not None \
                and inst.callee_function.name.startswith(_MEMORY_INTRINSICS):
            inst.arg_attrs = [[a for a in attrs if not a.startswith("align")]
                              for attrs in inst.arg_attrs]


_MEMORY_INTRINSICS = ("llvm.memcpy", "llvm.memmove", "llvm.memset")


# --------------------------------------------------------- threadgroup memory


@dataclass
class ThreadgroupLayout:
    """Where each ``addrspace(3)`` global lives in the threadgroup block."""

    offsets: dict[str, int] = field(default_factory=dict)
    size: int = 0  # bytes of the static part (16-byte aligned)


def _contains(c: Value, targets: set[int], memo: dict[int, bool]) -> bool:
    key = id(c)
    if key in memo:
        return memo[key]
    found = key in targets
    if not found and isinstance(c, ConstantExpr):
        found = any(_contains(op, targets, memo) for op in c.ops)
    elif not found and isinstance(c, ConstantAggregate):
        found = any(_contains(e, targets, memo) for e in c.elements)
    memo[key] = found
    return found


def _materialize(c: Value, replacement: dict[int, Value], out: list[Instruction],
                 targets: set[int], memo: dict[int, bool]) -> Value:
    """Instructions computing constant ``c`` with the globals in ``replacement`` swapped."""
    if id(c) in replacement:
        return replacement[id(c)]
    if not _contains(c, targets, memo):
        return c
    if isinstance(c, ConstantExpr):
        ops = [_materialize(op, replacement, out, targets, memo) for op in c.ops]
        if c.opcode == "getelementptr":
            inst: Instruction = GetElementPtr(c.ty, opcode="getelementptr", ops=ops,
                                              source_type=c.source_type or I8,
                                              flags=tuple(f for f in c.flags
                                                          if f in ("inbounds", "nuw", "nusw")))
        elif c.opcode in ("bitcast", "addrspacecast", "ptrtoint", "inttoptr", "trunc", "zext",
                          "sext"):
            inst = Cast(c.ty, opcode=c.opcode, ops=ops)
        elif c.opcode in ("icmp",):
            inst = Compare(c.ty, opcode="icmp", predicate=c.predicate or "eq", ops=ops)
        elif c.opcode == "select":
            inst = Select(c.ty, opcode="select", ops=ops)
        else:
            inst = BinaryOp(c.ty, opcode=c.opcode, ops=ops)
        out.append(inst)
        return inst
    raise CompileError("the runner cannot place a threadgroup variable used inside a "
                       f"constant of type {c.ty}")


def replace_threadgroup_globals(module: Module, fn: Function, prologue: BasicBlock,
                                tg: Argument, layout: DataLayout) -> ThreadgroupLayout:
    """``addrspace(3)`` globals -> ``%__air_tg + offset``, computed in the prologue."""
    result = ThreadgroupLayout()
    tg_globals = [gv for gv in module.globals if gv.addrspace == 3]
    if not tg_globals:
        return result
    offset = 0
    replacement: dict[int, Value] = {}
    new: list[Instruction] = []
    for gv in tg_globals:
        align = max(gv.align or 1, layout.abi_align(gv.value_type, module.structs), 1)
        offset = (offset + align - 1) // align * align
        result.offsets[gv.name] = offset
        ptr = GetElementPtr(PointerType(3), opcode="getelementptr",
                            ops=[tg, ConstantInt(I64, value=offset)], source_type=I8,
                            name=f"__air_tg.{gv.name}".replace('"', ""))
        new.append(ptr)
        replacement[id(gv)] = ptr
        offset += layout.alloc_size(gv.value_type, module.structs)
    result.size = (offset + 15) // 16 * 16
    prologue_insert(prologue, new)
    targets = set(replacement)
    memo: dict[int, bool] = {}
    for block in fn.blocks:
        if block is prologue:
            continue
        index = 0
        while index < len(block.instructions):
            inst = block.instructions[index]
            for k, op in enumerate(inst.ops):
                if not _contains(op, targets, memo):
                    continue
                out: list[Instruction] = []
                value = _materialize(op, replacement, out, targets, memo)
                if isinstance(inst, Phi):
                    pred = inst.blocks[k]
                    _place(pred, len(pred.instructions) - 1, out)
                else:
                    _place(block, index, out)
                    index += len(out)
                inst.ops[k] = value
            index += 1
    module.globals = [gv for gv in module.globals if gv.addrspace != 3]
    return result


# ------------------------------------------------------------- bounds checks


@dataclass
class CheckSite:
    """One guarded access: what it is, and which binding its pointer comes from."""

    what: str               # "load", "store", "atomic", "memcpy" ...
    entry: int | None       # bounds-table entry (kernel parameter position or the tg entry)
    location: str = ""


def _root(value: Value, slots: dict[int, Value] | None = None) -> Value:
    """Where a pointer comes from: through GEPs and casts, and through ``-O0`` pointer
    slots (an alloca that only ever holds one pointer, stored and reloaded)."""
    seen = 0
    while seen < 256:
        seen += 1
        if isinstance(value, GetElementPtr | ConstantExpr) and getattr(value, "opcode", "") in (
                "getelementptr", "bitcast", "addrspacecast"):
            value = value.ops[0]
        elif isinstance(value, Cast) and value.opcode in ("bitcast", "addrspacecast"):
            value = value.ops[0]
        elif slots and isinstance(value, Load) and id(_root(value.ops[0])) in slots:
            value = slots[id(_root(value.ops[0]))]
        else:
            break
    return value


def pointer_slots(fn: Function) -> dict[int, Value]:
    """id(alloca) -> the one pointer value stored into it, for allocas that hold exactly
    one pointer and never escape (only loaded from and stored to)."""
    stored: dict[int, set[int]] = {}
    value_of: dict[int, Value] = {}
    escaped: set[int] = set()
    for inst in fn.instructions():
        for k, op in enumerate(inst.ops):
            if not isinstance(op, Alloca):
                continue
            if isinstance(inst, Store) and k == 1 and isinstance(inst.ops[0].ty, PointerType):
                stored.setdefault(id(op), set()).add(id(inst.ops[0]))
                value_of[id(op)] = inst.ops[0]
            elif not (isinstance(inst, Load) and k == 0):
                escaped.add(id(op))
    return {slot: value_of[slot] for slot, values in stored.items()
            if len(values) == 1 and slot not in escaped}


def _space(ptr: Value) -> int:
    return ptr.ty.addrspace if isinstance(ptr.ty, PointerType) else 0


def instrument_bounds(module: Module, fn: Function, prologue: BasicBlock, bounds: Argument,
                      tg_entry: int, layout: DataLayout) -> list[CheckSite]:
    """Guard loads, stores, atomics and memory intrinsics on device/constant/threadgroup
    memory: ``p = __air_chk(p, size, lo, hi, site)`` (or ``__air_chk_any`` when the
    pointer's binding is not known statically; ``__air_chk_len`` for memcpy/memset)."""
    sites: list[CheckSite] = []
    entry_values: dict[int, tuple[Value, Value]] = {}
    pro: list[Instruction] = []
    chk = _declare(module, "__air_chk", PTR, (PTR, I64, I64, I64, I32))
    chk_any = _declare(module, "__air_chk_any", PTR, (PTR, I64, I32, PTR, I32))
    chk_len = _declare(module, "__air_chk_len", I64, (PTR, I64, I64, I64, I32))
    chk_len_any = _declare(module, "__air_chk_len_any", I64, (PTR, I64, I32, PTR, I32))
    n_entries = tg_entry + 1
    params = {id(a): k for k, a in enumerate(fn.args)}
    slots = pointer_slots(fn)

    def entry_of(ptr: Value) -> int | None:
        root = _root(ptr, slots)
        if id(root) in params:
            return params[id(root)]
        if isinstance(root, GlobalVariable) and root.addrspace == 3:
            return tg_entry
        return None

    def lo_hi(entry: int) -> tuple[Value, Value]:
        if entry not in entry_values:
            lo_ptr = GetElementPtr(PTR, opcode="getelementptr",
                                   ops=[bounds, ConstantInt(I64, value=2 * entry)],
                                   source_type=I64)
            hi_ptr = GetElementPtr(PTR, opcode="getelementptr",
                                   ops=[bounds, ConstantInt(I64, value=2 * entry + 1)],
                                   source_type=I64)
            lo = Load(I64, opcode="load", ops=[lo_ptr], align=8)
            hi = Load(I64, opcode="load", ops=[hi_ptr], align=8)
            pro.extend([lo_ptr, hi_ptr, lo, hi])
            entry_values[entry] = (lo, hi)
        return entry_values[entry]

    def guard(inst: Instruction, k: int, size: Value, what: str, length: bool) -> \
            list[Instruction]:
        part = None if length else _partword_part(inst.ops[k])
        if part is None:
            return guard_pointer(inst, k, size, what, length)
        # the 32-bit word around an 8- or 16-bit atomic (rewrite/partword_atomics.py) may
        # reach past a buffer whose length is no multiple of 4, as the GPU's word access
        # does harmlessly: check the value's own first byte, then find its word again from
        # the checked pointer
        probe = Cast(part.ty, opcode="bitcast", ops=[part])
        out = guard_pointer(probe, 0, ConstantInt(I64, value=1), what, False, inst.location)
        checked = probe.ops[0]
        address = Cast(I64, opcode="ptrtoint", ops=[checked])
        offset = BinaryOp(I64, opcode="and", ops=[address, ConstantInt(I64, value=3)])
        back = BinaryOp(I64, opcode="sub", ops=[ConstantInt(I64, value=0), offset])
        word = GetElementPtr(part.ty, opcode="getelementptr", ops=[checked, back],
                             source_type=IntType(8))
        inst.ops[k] = word
        return [*out, address, offset, back, word]

    def guard_pointer(inst: Instruction, k: int, size: Value, what: str, length: bool,
                      location: object = None) -> list[Instruction]:
        location = location or inst.location
        ptr = inst.ops[k]
        root = _root(ptr, slots)
        if isinstance(root, GlobalVariable) and root.addrspace != 3:
            return []  # program-scope constant/device variables: module memory, not bound
        entry = entry_of(ptr)
        site = len(sites)
        sites.append(CheckSite(what, entry, str(location) if location and location.line  # type: ignore[attr-defined]
                               else ""))
        orig_space = _space(ptr)
        as_generic = ptr
        out: list[Instruction] = []
        if orig_space != 0:
            as_generic = Cast(PTR, opcode="addrspacecast", ops=[ptr])
            out.append(as_generic)
        site_value = ConstantInt(I32, value=site)
        if entry is not None:
            lo, hi = lo_hi(entry)
            args = [as_generic, size, lo, hi, site_value]
            callee = chk_len if length else chk
        else:
            args = [as_generic, size, site_value, bounds, ConstantInt(I32, value=n_entries)]
            callee = chk_len_any if length else chk_any
        call = Call(callee.function_type.ret, opcode="call",
                    ops=[*args, callee], function_type=callee.function_type,
                    arg_attrs=[[] for _ in args])
        out.append(call)
        if length:
            inst.ops[2] = call  # memcpy/memset length: 0 when out of bounds
            return out
        checked: Value = call
        if orig_space != 0:
            back = Cast(ptr.ty, opcode="addrspacecast", ops=[call])
            out.append(back)
            checked = back
        inst.ops[k] = checked
        return out

    def size_of(ty: Type) -> ConstantInt:
        return ConstantInt(I64, value=max(1, layout.store_size(ty, module.structs)))

    for block in fn.blocks:
        if block is prologue:
            continue
        index = 0
        while index < len(block.instructions):
            inst = block.instructions[index]
            new: list[Instruction] = []
            if isinstance(inst, Load) and _space(inst.ops[0]) in (1, 2, 3):
                new = guard(inst, 0, size_of(inst.ty), "load", False)
            elif isinstance(inst, Store) and _space(inst.ops[1]) in (1, 2, 3):
                new = guard(inst, 1, size_of(inst.ops[0].ty), "store", False)
            elif isinstance(inst, Call) and inst.callee_function is not None:
                name = inst.callee_function.name
                if name.startswith("air.atomic.") and inst.args and \
                        _space(inst.args[0]) in (1, 3):
                    ty = _atomic_value_type(name)
                    new = guard(inst, 0, size_of(ty), "atomic operation", False)
                elif name.startswith(("llvm.memcpy.", "llvm.memmove.", "llvm.memset.")):
                    count = inst.args[2]
                    if count.ty != I64:
                        count_cast = Cast(I64, opcode="zext", ops=[count])
                        new.append(count_cast)
                        inst.ops[2] = count_cast
                    pointers = [0] if name.startswith("llvm.memset.") else [0, 1]
                    for k in pointers:
                        if _space(inst.args[k]) in (1, 2, 3):
                            what = "memset" if name.startswith("llvm.memset.") else "memcpy"
                            new += guard(inst, k, inst.ops[2], what, True)
            _place(block, index, new)
            index += len(new) + 1
    prologue_insert(prologue, pro)
    return sites


def _partword_part(ptr: Value) -> Value | None:
    """``p`` when ``ptr`` is the 32-bit word around it, as the part-word atomics write it:
    ``getelementptr i8, p, (0 - (ptrtoint p & 3))``."""
    if not (isinstance(ptr, GetElementPtr) and ptr.source_type == IntType(8)
            and len(ptr.ops) == 2):
        return None
    part, back = ptr.ops
    if not (isinstance(back, BinaryOp) and back.opcode == "sub"
            and isinstance(back.ops[0], ConstantInt) and back.ops[0].value == 0):
        return None
    offset = back.ops[1]
    if not (isinstance(offset, BinaryOp) and offset.opcode == "and"
            and isinstance(offset.ops[1], ConstantInt) and offset.ops[1].value == 3):
        return None
    address = offset.ops[0]
    if isinstance(address, Cast) and address.opcode == "ptrtoint" and address.ops[0] is part:
        return part
    return None


def _atomic_value_type(name: str) -> Type:
    suffix = name.rsplit(".", 1)[-1]
    return {"i64": I64, "i32": I32, "f32": I32, "i16": IntType(16)}.get(suffix, I32)


def _declare(module: Module, name: str, ret: Type, params: tuple[Type, ...]) -> Function:
    fn = module.get_function(name)
    if fn is None:
        fnty = FunctionType(ret, params)
        fn = Function(PTR, name=name, function_type=fnty, args=[Argument(p) for p in params])
        module.functions.append(fn)
    return fn


# ---------------------------------------------------------- step functions


SIMD_PREFIXES = ("air.simd_", "air.quad_")
BARRIERS = {"air.wg.barrier": "threadgroup_barrier",
            "air.simdgroup.barrier": "simdgroup_barrier"}


def is_yield(inst: Instruction) -> bool:
    """A call that needs the other threads: a barrier or a SIMD-group operation."""
    if not isinstance(inst, Call) or inst.callee_function is None:
        return False
    name = inst.callee_function.name
    return name in BARRIERS or name.startswith(SIMD_PREFIXES)


@dataclass
class Site:
    """A point where a thread waits for others (ids start at 1)."""

    id: int
    kind: str                       # "threadgroup_barrier" | "simdgroup_barrier" | "simd"
    op: str = ""                    # air name without "air." and type suffix: "simd_sum"
    name: str = ""                  # full AIR function name
    arg_types: list[Type] = field(default_factory=list)
    result_type: Type = VOID
    location: str = ""
    # operands that are integer constants (never stored in the frame): index -> value
    constants: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SimdSlots:
    """Where SIMD-group call operands and results sit at the start of a frame: operand
    ``k`` at ``slot * k``, the result at ``out_offset``."""

    slot: int = 0
    args: int = 0

    @property
    def out_offset(self) -> int:
        return self.slot * self.args

    @property
    def size(self) -> int:
        return self.slot * (self.args + 1)


def simd_slots(calls: list[Call], layout: DataLayout, structs: dict[str, Type | None]) \
        -> SimdSlots:
    """Slots wide enough for every operand and result of ``calls`` (8-byte multiples)."""
    simd = [c for c in calls if c.callee_function is not None
            and c.callee_function.name not in BARRIERS]
    if not simd:
        return SimdSlots()
    widest = max(layout.store_size(ty, structs) for c in simd
                 for ty in [*(a.ty for a in c.args), c.ty] if ty != VOID)
    return SimdSlots(slot=max(8, (widest + 7) // 8 * 8),
                     args=max(1, max(len(c.args) for c in simd)))


@dataclass
class StepInfo:
    sites: list[Site]
    frame_fields: list[Type]
    slots: SimdSlots = field(default_factory=SimdSlots)


def _split_after(fn: Function, block: BasicBlock, inst: Instruction, name: str) -> BasicBlock:
    index = block.instructions.index(inst)
    rest = BasicBlock(name=name, instructions=block.instructions[index + 1:], parent=fn)
    del block.instructions[index + 1:]
    for moved in rest.instructions:
        moved.parent = rest
    for succ in set(rest.successors()):
        for phi in phis(succ):
            phi.blocks = [rest if b is block else b for b in phi.blocks]
    fn.blocks.insert(fn.blocks.index(block) + 1, rest)
    block.instructions.append(Branch(VOID, opcode="br", targets=[rest], parent=block))
    return rest


def _simd_op(name: str) -> str:
    parts = name.split(".")
    return parts[1]


def _frame_ptr(frame: Argument, offset: int) -> GetElementPtr:
    return GetElementPtr(PTR, opcode="getelementptr", ops=[frame, ConstantInt(I64, value=offset)],
                         source_type=I8)


_PURE = (BinaryOp, UnaryOp, Cast, Compare, Select, GetElementPtr, ExtractElement,
         InsertElement, ShuffleVector, ExtractValue, InsertValue, Freeze)
_DIVISIONS = frozenset({"udiv", "sdiv", "urem", "srem"})


def is_speculatable(inst: Instruction) -> bool:
    """Computes a value from its operands alone, with no effect and no trap: it may run
    anywhere its operands are defined, or not at all."""
    return isinstance(inst, _PURE) and not _may_trap(inst)


def _may_trap(inst: Instruction) -> bool:
    """An integer division whose divisor may be 0 (or -1, for signed overflow)."""
    if not isinstance(inst, BinaryOp) or inst.opcode not in _DIVISIONS:
        return False
    divisor = inst.ops[1]
    return not (isinstance(divisor, ConstantInt) and divisor.value not in (0, -1))


def hoist_parameter_values(fn: Function, prologue: BasicBlock) -> int:
    """Move the pure instructions that only use parameters, constants and prologue
    values (built-in positions, their element extractions, pointers to threadgroup
    variables...) into the prologue; returns how many moved.

    Every phase of a step function enters through the prologue, so these values are
    recomputed there instead of being saved in the frame at each barrier and restored
    after it: fewer live values, smaller frames, and code that LLVM sees as a function of
    the thread's position. Divisions that may trap stay where they are.
    """
    available: set[int] = {id(i) for i in prologue.instructions}
    moved: list[Instruction] = []
    changed = True
    while changed:
        changed = False
        for block in fn.blocks:
            if block is prologue:
                continue
            keep: list[Instruction] = []
            for inst in block.instructions:
                if is_speculatable(inst) and all(
                        isinstance(op, Constant | Argument) or id(op) in available
                        for op in inst.ops):
                    available.add(id(inst))
                    moved.append(inst)
                    changed = True
                else:
                    keep.append(inst)
            block.instructions = keep
    prologue_insert(prologue, moved)
    return len(moved)


def make_step_function(module: Module, fn: Function, prologue: BasicBlock) -> StepInfo:
    """Turn the kernel into ``i32 step(params..., ptr frame, i32 resume)``.

    Each barrier or SIMD-group call ``k`` ends a phase: the thread stores the call's
    operands in its frame, saves the values live after the call, and returns ``k``.
    Called again with ``resume == k`` it restores them and goes on after the call,
    reading the call's result (computed by the scheduler over all lanes) from the
    frame. Returning 0 means the thread finished. Private memory (allocas) lives in
    the frame too. Values live across a phase are kept in allocas between their
    definition and uses, so LLVM's SROA rebuilds SSA form around the new entry paths.
    """
    hoist_parameter_values(fn, prologue)
    names = NameSource(fn)
    frame = add_param(fn, PTR, FRAME_PARAM)
    resume = add_param(fn, I32, RESUME_PARAM)
    fn.function_type = FunctionType(I32, fn.function_type.params)
    yields = [inst for inst in fn.instructions() if is_yield(inst)]
    slots = simd_slots(yields, DataLayout.parse(module.datalayout), module.structs)  # type: ignore[arg-type]
    sites: list[Site] = []
    resume_blocks: list[BasicBlock] = []
    yield_blocks: list[BasicBlock] = []
    # each SIMD call's result, read back from the frame: replaced in one walk at the end
    # (a later call's operand may be an earlier call; its store is updated with the rest)
    results: dict[Value, Value] = {}
    for inst in yields:
        assert isinstance(inst, Call)
        callee = inst.callee_function
        assert callee is not None
        block = inst.parent
        assert block is not None
        site = Site(len(sites) + 1, BARRIERS.get(callee.name, "simd"), _simd_op(callee.name),
                    callee.name, [a.ty for a in inst.args], inst.ty,
                    str(inst.location) if inst.location and inst.location.line else "")
        if site.kind == "simd" and len(inst.args) > SIMD_ARGS:
            raise CompileError(f"the runner supports SIMD-group calls with at most {SIMD_ARGS}"
                               f" operands, not @{callee.name}")
        rest = _split_after(fn, block, inst, names(f"__air_resume{site.id}"))
        index = block.instructions.index(inst)
        stores: list[Instruction] = []
        if site.kind == "simd":
            for k, arg in enumerate(inst.args):
                if isinstance(arg, ConstantInt) and arg.ty != IntType(1):
                    site.constants[k] = arg.value  # the resolver uses it as it is
                    continue
                ptr = _frame_ptr(frame, slots.slot * k)
                stores += [ptr, Store(VOID, opcode="store", ops=[arg, ptr], align=1)]
            if inst.ty != VOID:
                ptr = _frame_ptr(frame, slots.out_offset)
                result = Load(inst.ty, opcode="load", ops=[ptr], align=1)
                _place(rest, 0, [ptr, result])
                results[inst] = result
        block.instructions[index:index + 1] = []
        _place(block, index, stores)
        inst.parent = None
        sites.append(site)
        resume_blocks.append(rest)
        yield_blocks.append(block)
    replace_all_uses(fn.instructions(), results)

    # frame fields: SIMD operands, SIMD result, private memory, live values
    fields: list[Type] = [ArrayType(slots.size // 8, I64)]
    frame_ty = NamedStructType(FRAME_TYPE)
    pro_new: list[Instruction] = []

    def field_ptr(ty: Type) -> GetElementPtr:
        fields.append(ty)
        ptr = GetElementPtr(PTR, opcode="getelementptr",
                            ops=[frame, ConstantInt(I32, value=0),
                                 ConstantInt(I32, value=len(fields) - 1)],
                            source_type=frame_ty)
        pro_new.append(ptr)
        return ptr

    # private memory moves to the frame
    alloca_map: dict[Value, Value] = {}
    for b in fn.blocks:
        for inst in list(b.instructions):
            if isinstance(inst, Alloca):
                ty = inst.allocated_type
                if inst.ops:
                    count = inst.ops[0]
                    if not isinstance(count, ConstantInt):
                        raise CompileError("the runner cannot keep a variable-sized private "
                                           "array across a barrier")
                    ty = ArrayType(count.value, ty)
                alloca_map[inst] = field_ptr(ty)
                b.instructions.remove(inst)
                inst.parent = None
    replace_all_uses(fn.instructions(), alloca_map)

    # liveness on the split CFG (prologue values dominate everything: not tracked)
    pro_values = {id(i) for i in prologue.instructions} | {id(i) for i in pro_new}
    position = {id(inst): k for k, inst in enumerate(fn.instructions())}

    def tracked(v: Value) -> bool:
        return isinstance(v, Instruction) and id(v) not in pro_values

    blocks = [b for b in fn.blocks if b is not prologue]
    defs: dict[int, set[int]] = {}
    uses: dict[int, set[int]] = {}
    phi_defs: dict[int, set[int]] = {}
    phi_uses: dict[int, dict[int, set[int]]] = {}  # pred block -> values used by succ phis
    values: dict[int, Instruction] = {}
    for b in blocks:
        d: set[int] = set()
        u: set[int] = set()
        pd: set[int] = set()
        for inst in b.instructions:
            if isinstance(inst, Phi):
                pd.add(id(inst))
                values[id(inst)] = inst
                for v, pred in zip(inst.ops, inst.blocks, strict=True):
                    if tracked(v):
                        phi_uses.setdefault(id(pred), {}).setdefault(id(b), set()).add(id(v))
                        values[id(v)] = v  # type: ignore[assignment]
                continue
            for v in inst.ops:
                if tracked(v) and id(v) not in d:
                    u.add(id(v))
                    values[id(v)] = v  # type: ignore[assignment]
            d.add(id(inst))
            values[id(inst)] = inst
        defs[id(b)] = d | pd
        uses[id(b)] = u
        phi_defs[id(b)] = pd
    live_in: dict[int, set[int]] = {id(b): set() for b in blocks}
    changed = True
    while changed:
        changed = False
        for b in reversed(blocks):
            out: set[int] = set()
            for s in b.successors():
                out |= live_in.get(id(s), set()) - phi_defs.get(id(s), set())
                out |= phi_uses.get(id(b), {}).get(id(s), set())
            new_in = uses[id(b)] | (out - defs[id(b)])
            if new_in != live_in[id(b)]:
                live_in[id(b)] = new_in
                changed = True
    live_sets = [sorted(live_in[id(r)], key=lambda key: position.get(key, 0))
                 for r in resume_blocks]
    demoted: list[int] = []
    for live in live_sets:
        for key in live:
            if key not in demoted:
                demoted.append(key)
    demoted_set = set(demoted)

    # demote live values to local slots (SROA turns them back into registers)
    local_slots: dict[int, Alloca] = {}
    frame_slots: dict[int, GetElementPtr] = {}
    users: dict[int, list[Instruction]] = {}
    for inst in fn.instructions():
        for op in inst.ops:
            if id(op) in demoted_set:
                users.setdefault(id(op), []).append(inst)
    for key in demoted:
        value = values[key]
        slot = Alloca(PTR, opcode="alloca", allocated_type=value.ty, align=None)
        local_slots[key] = slot
        frame_slots[key] = field_ptr(value.ty)
        pro_new.insert(0, slot)
        block = value.parent
        assert block is not None
        if isinstance(value, Phi):
            index = len(list(phis(block)))
        else:
            index = block.instructions.index(value) + 1
        _place(block, index, [Store(VOID, opcode="store", ops=[value, slot])])
        for user in users.get(key, []):
            if isinstance(user, Phi):
                for k, op in enumerate(user.ops):
                    if op is value:
                        pred = user.blocks[k]
                        load = Load(value.ty, opcode="load", ops=[slot])
                        _place(pred, len(pred.instructions) - 1, [load])
                        user.ops[k] = load
            else:
                ublock = user.parent
                assert ublock is not None
                load = Load(value.ty, opcode="load", ops=[slot])
                _place(ublock, ublock.instructions.index(user), [load])
                user.ops = [load if op is value else op for op in user.ops]

    # phase ends: save live values, return the site id; restores per site
    restore_blocks: list[BasicBlock] = []
    for site, block, rest, live in zip(sites, yield_blocks, resume_blocks, live_sets,
                                       strict=True):
        saves: list[Instruction] = []
        for key in live:
            tmp = Load(values[key].ty, opcode="load", ops=[local_slots[key]])
            saves += [tmp, Store(VOID, opcode="store", ops=[tmp, frame_slots[key]])]
        term = block.instructions.pop()
        term.parent = None
        _place(block, len(block.instructions), [*saves, Return(VOID, opcode="ret", ops=[
            ConstantInt(I32, value=site.id)])])
        restore = BasicBlock(name=names(f"__air_restore{site.id}"), parent=fn)
        items: list[Instruction] = []
        for key in live:
            tmp = Load(values[key].ty, opcode="load", ops=[frame_slots[key]])
            items += [tmp, Store(VOID, opcode="store", ops=[tmp, local_slots[key]])]
        items.append(Branch(VOID, opcode="br", targets=[rest]))
        _place(restore, 0, items)
        restore_blocks.append(restore)
    for b in fn.blocks:
        term = b.terminator
        if isinstance(term, Return) and not term.ops:
            term.ops = [ConstantInt(I32, value=0)]
    fn.blocks.extend(restore_blocks)
    # the prologue dispatches on the resume point
    body = prologue.instructions.pop()
    assert isinstance(body, Branch)
    # frame fields first: values hoisted into the prologue may address private memory
    # (a -O0 struct on the stack), which now lives in the frame
    _place(prologue, 0, pro_new)
    switch = Switch(VOID, opcode="switch",
                    ops=[resume, *[ConstantInt(I32, value=s.id) for s in sites]],
                    targets=[body.targets[0], *restore_blocks])
    _place(prologue, len(prologue.instructions), [switch])
    module.structs[FRAME_TYPE] = StructType(tuple(fields))
    return StepInfo(sites, fields, slots)


__all__ = [
    "CheckSite",
    "SimdSlots",
    "Site",
    "StepInfo",
    "ThreadgroupLayout",
    "add_param",
    "add_prologue",
    "erase_address_spaces",
    "hoist_parameter_values",
    "instrument_bounds",
    "is_speculatable",
    "is_yield",
    "keep_kernel",
    "make_step_function",
    "relax_alignment",
    "replace_threadgroup_globals",
    "simd_slots",
]
