"""Rewrite the few instructions LLVM 14 has no spelling for into equivalent LLVM 14 code.

``legalize_for_llvm14(module)``:

* expands ``atomicrmw`` operations newer than LLVM 14 (``uinc_wrap``,
  ``udec_wrap``, ``fmax``/``fmin``, ``fmaximum``/``fminimum``, ``usub_cond``,
  ``usub_sat``) into the compare-exchange loop LLVM's own AtomicExpand pass
  emits for targets without them;
* turns ``atomicrmw xchg`` on pointers (LLVM 15+) into an integer exchange
  between ``ptrtoint``/``inttoptr``;
* maps the module-flag behaviour ``Min`` (8, LLVM 15+) to ``Error`` (1),
  which is identical for a single module and only stricter when linking;
* gives ``llvm.nvvm.match.{any,all}.sync.i64[p]`` LLVM 14's ``i64`` mask result (LLVM
  17 narrowed it to the ``i32`` the instruction writes) and truncates it back.

Expects a normalized module; guarantees every ``atomicrmw`` it leaves is one
LLVM 14 knows. Operations on memory keep their ordering, scope and volatility.
"""

from __future__ import annotations

from collections.abc import Callable

from llvm_to_air.ir.edit import NameSource, replace_all_uses
from llvm_to_air.ir.llvm14 import LLVM14_ATOMICRMW_OPS
from llvm_to_air.ir.model import (
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ConstantInt,
    ExtractValue,
    Function,
    InsertValue,
    Instruction,
    Load,
    MDNode,
    MDValue,
    Module,
    Phi,
    Select,
    Undef,
    Value,
)
from llvm_to_air.ir.types import (
    I1,
    VOID,
    FunctionType,
    IntType,
    PointerType,
    StructType,
    Type,
    VectorType,
)

# Operations expanded through a float intrinsic: name stem of the intrinsic.
_FLOAT_INTRINSIC = {"fmax": "llvm.maxnum", "fmin": "llvm.minnum",
                    "fmaximum": "llvm.maximum", "fminimum": "llvm.minimum"}
_FAILURE_ORDERING = {"acq_rel": "acquire", "release": "monotonic"}


def legalize_for_llvm14(module: Module) -> None:
    for fn in module.functions:
        for block in list(fn.blocks):
            _legalize_block(module, fn, block)
        _widen_match_masks(fn)
    _downgrade_module_flags(module)


_WIDE_MASK_MATCHES = ("llvm.nvvm.match.any.sync.i64", "llvm.nvvm.match.all.sync.i64p")


def _widen_match_masks(fn: Function) -> None:
    """LLVM 14 declares the 64-bit match intrinsics with an ``i64`` mask result."""
    names: NameSource | None = None
    for block in fn.blocks:
        for inst in list(block.instructions):
            callee = inst.callee_function if isinstance(inst, Call) else None
            if callee is None or callee.name not in _WIDE_MASK_MATCHES:
                continue
            pair = isinstance(inst.ty, StructType)
            narrow = inst.ty.fields[0] if pair else inst.ty  # type: ignore[union-attr]
            if narrow != IntType(32):
                continue
            names = names or NameSource(fn)
            wide_ty = StructType((IntType(64), I1)) if pair else IntType(64)
            callee.function_type = FunctionType(wide_ty, callee.function_type.params)
            assert isinstance(inst, Call)
            inst.function_type = callee.function_type
            narrowed = _narrow_match_result(inst, wide_ty, pair, names)
            at = block.instructions.index(inst) + 1
            for k, new in enumerate(narrowed):
                new.parent, new.location = block, inst.location
                block.instructions.insert(at + k, new)
            users = [i for i in fn.instructions() if i not in narrowed]
            inst.ty = wide_ty
            replace_all_uses(users, {inst: narrowed[-1]})


def _narrow_match_result(call: Call, wide_ty: StructType | IntType, pair: bool,
                         names: NameSource) -> list[Instruction]:
    i32 = IntType(32)
    if not pair:
        return [Cast(i32, opcode="trunc", ops=[call], name=names("match.mask"))]
    narrow_ty = StructType((i32, I1))
    mask = ExtractValue(IntType(64), opcode="extractvalue", ops=[call], indices=[0],
                        name=names("match.wide"))
    low = Cast(i32, opcode="trunc", ops=[mask], name=names("match.mask"))
    all_same = ExtractValue(I1, opcode="extractvalue", ops=[call], indices=[1],
                            name=names("match.pred"))
    first = InsertValue(narrow_ty, opcode="insertvalue", ops=[Undef(narrow_ty), low],
                        indices=[0], name=names("match.pair"))
    return [mask, low, all_same, first,
            InsertValue(narrow_ty, opcode="insertvalue", ops=[first, all_same], indices=[1],
                        name=names("match.pair"))]


def _legalize_block(module: Module, fn: Function, block: BasicBlock) -> None:
    for index, inst in enumerate(block.instructions):
        if not isinstance(inst, AtomicRMW):
            continue
        if inst.operation not in LLVM14_ATOMICRMW_OPS:
            tail = expand_atomicrmw(module, fn, block, index, inst)
            _legalize_block(module, fn, tail)
            return
        if inst.operation == "xchg" and isinstance(inst.ty, PointerType):
            _pointer_xchg_via_integer(module, block, index, inst)
            _legalize_block(module, fn, block)
            return


def _pointer_xchg_via_integer(module: Module, block: BasicBlock, index: int,
                              inst: AtomicRMW) -> None:
    ptr, value = inst.ops
    int_ty = IntType(64)
    assert block.parent is not None
    names = NameSource(block.parent)
    as_int = Cast(int_ty, opcode="ptrtoint", ops=[value], parent=block, location=inst.location,
                  name=names("xchg.new"))
    xchg = AtomicRMW(int_ty, opcode="atomicrmw", ops=[ptr, as_int], operation="xchg",
                     volatile=inst.volatile, ordering=inst.ordering, syncscope=inst.syncscope,
                     align=inst.align, parent=block, location=inst.location,
                     metadata=inst.metadata, name=names("xchg.old"))
    back = Cast(inst.ty, opcode="inttoptr", ops=[xchg], name=inst.name, parent=block,
                location=inst.location)
    block.instructions[index:index + 1] = [as_int, xchg, back]
    replace_all_uses(block.parent.instructions(), {inst: back})


def expand_atomicrmw(module: Module, fn: Function, block: BasicBlock, index: int,
                      inst: AtomicRMW) -> BasicBlock:
    """Split ``block`` at ``inst`` into block -> loop -> tail; returns the tail block."""
    ptr, value = inst.ops
    ty = inst.ty
    loc = inst.location
    int_ty = IntType(_bits(ty))
    names = NameSource(fn)
    loop = BasicBlock(name=names("atomicrmw.loop"), parent=fn)
    tail = BasicBlock(name=names("atomicrmw.end"), parent=fn)
    rest = block.instructions[index + 1:]
    initial = Load(ty, opcode="load", ops=[ptr], align=inst.align, volatile=inst.volatile,
                   parent=block, location=loc, name=names("atomicrmw.initial"))
    block.instructions[index:] = [initial, Branch(VOID, opcode="br", targets=[loop], parent=block,
                                                  location=loc)]
    loaded = Phi(ty, opcode="phi", ops=[initial], blocks=[block], parent=loop, location=loc,
                 name=names("atomicrmw.loaded"))
    body: list[Instruction] = [loaded]
    new_value = _combine(module, inst.operation, loaded, value, body, loop, loc, names)
    if not isinstance(ty, IntType):  # a float, or a vector of them (<2 x half>)
        cmp_old = Cast(int_ty, opcode="bitcast", ops=[loaded], parent=loop, location=loc,
                       name=names("atomicrmw.expected"))
        cmp_new = Cast(int_ty, opcode="bitcast", ops=[new_value], parent=loop, location=loc,
                       name=names("atomicrmw.desired"))
        body += [cmp_old, cmp_new]
    else:
        cmp_old, cmp_new = loaded, new_value
    pair = CmpXchg(StructType((int_ty, I1)), opcode="cmpxchg", ops=[ptr, cmp_old, cmp_new],
                   volatile=inst.volatile, success_ordering=inst.ordering,
                   failure_ordering=_FAILURE_ORDERING.get(inst.ordering, inst.ordering),
                   syncscope=inst.syncscope, align=inst.align, parent=loop, location=loc,
                   name=names("atomicrmw.pair"))
    is_float = not isinstance(ty, IntType)
    old_int = ExtractValue(int_ty, opcode="extractvalue", ops=[pair], indices=[0], parent=loop,
                           location=loc, name=names("atomicrmw.old") if is_float else inst.name)
    success = ExtractValue(I1, opcode="extractvalue", ops=[pair], indices=[1], parent=loop,
                           location=loc, name=names("atomicrmw.success"))
    body += [pair, old_int, success]
    old: Instruction = old_int
    if is_float:
        old = Cast(ty, opcode="bitcast", ops=[old_int], parent=loop, location=loc, name=inst.name)
        body.append(old)
    body.append(Branch(VOID, opcode="br", ops=[success], targets=[tail, loop], parent=loop,
                       location=loc))
    loaded.ops.append(old)
    loaded.blocks.append(loop)
    loop.instructions = body
    for moved in rest:
        moved.parent = tail
    tail.instructions = rest
    # ``old`` (named like the atomicrmw) is the value memory held before the exchange
    position = fn.blocks.index(block)
    fn.blocks[position + 1:position + 1] = [loop, tail]
    replace_all_uses(fn.instructions(), {inst: old})
    for successor in tail.successors():
        for phi in successor.instructions:
            if isinstance(phi, Phi):
                phi.blocks = [tail if b is block else b for b in phi.blocks]
    return tail


_FLOAT_BITS = {"half": 16, "bfloat": 16, "float": 32, "double": 64}


def _bits(ty: Type) -> int:
    """The width of an integer, float or vector of floats, for its integer twin."""
    if isinstance(ty, IntType):
        return ty.bits
    if isinstance(ty, VectorType):
        return ty.count * _bits(ty.element)
    return _FLOAT_BITS[ty.kind]  # type: ignore[attr-defined]


def _combine(module: Module, operation: str, old: Value, value: Value, body: list[Instruction],
             block: BasicBlock, loc: object, names: NameSource) -> Value:
    """Instructions computing the new memory value of ``operation``; appended to ``body``."""

    def add(inst: Instruction) -> Instruction:
        inst.name = names("atomicrmw.new")
        inst.parent = block
        inst.location = loc  # type: ignore[assignment]
        body.append(inst)
        return inst

    return combine_rmw(module, operation, old, value, add)


# atomicrmw operations that are one binary instruction, and the min/max compare predicates.
_RMW_BINARY = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor",
               "fadd": "fadd", "fsub": "fsub"}
_RMW_COMPARE = {"max": "sgt", "min": "slt", "umax": "ugt", "umin": "ult"}


def combine_rmw(module: Module, operation: str, old: Value, value: Value,
                add: Callable[[Instruction], Instruction]) -> Value:
    """The value ``atomicrmw <operation>`` stores, computed from ``old`` and ``value``.

    ``add`` receives each new instruction (in order) and returns it.
    """
    from llvm_to_air.errors import CompileError

    ty = old.ty
    one = ConstantInt(ty, value=1)
    zero = ConstantInt(ty, value=0)
    if operation == "xchg":
        return value
    if operation in _RMW_BINARY:
        return add(BinaryOp(ty, opcode=_RMW_BINARY[operation], ops=[old, value]))
    if operation in _RMW_COMPARE:
        pick = add(Compare(I1, opcode="icmp", predicate=_RMW_COMPARE[operation],
                           ops=[old, value]))
        return add(Select(ty, opcode="select", ops=[pick, old, value]))
    if operation == "nand":
        both = add(BinaryOp(ty, opcode="and", ops=[old, value]))
        return add(BinaryOp(ty, opcode="xor", ops=[both, ConstantInt(ty, value=-1)]))
    if operation in _FLOAT_INTRINSIC:
        callee = _intrinsic(module, f"{_FLOAT_INTRINSIC[operation]}.{_suffix(ty)}",
                            FunctionType(ty, (ty, ty)))
        return add(Call(ty, opcode="call", ops=[old, value, callee],
                        function_type=callee.function_type, arg_attrs=[[], []]))
    if operation == "uinc_wrap":
        # old >= value ? 0 : old + 1
        at_limit = add(Compare(I1, opcode="icmp", predicate="uge", ops=[old, value]))
        incremented = add(BinaryOp(ty, opcode="add", ops=[old, one]))
        return add(Select(ty, opcode="select", ops=[at_limit, zero, incremented]))
    if operation == "udec_wrap":
        # (old == 0 || old > value) ? value : old - 1
        is_zero = add(Compare(I1, opcode="icmp", predicate="eq", ops=[old, zero]))
        above = add(Compare(I1, opcode="icmp", predicate="ugt", ops=[old, value]))
        reset = add(BinaryOp(I1, opcode="or", ops=[is_zero, above]))
        decremented = add(BinaryOp(ty, opcode="sub", ops=[old, one]))
        return add(Select(ty, opcode="select", ops=[reset, value, decremented]))
    if operation == "usub_cond":
        # old >= value ? old - value : old
        enough = add(Compare(I1, opcode="icmp", predicate="uge", ops=[old, value]))
        difference = add(BinaryOp(ty, opcode="sub", ops=[old, value]))
        return add(Select(ty, opcode="select", ops=[enough, difference, old]))
    if operation == "usub_sat":
        callee = _intrinsic(module, f"llvm.usub.sat.{_suffix(ty)}", FunctionType(ty, (ty, ty)))
        return add(Call(ty, opcode="call", ops=[old, value, callee],
                        function_type=callee.function_type, arg_attrs=[[], []]))
    raise CompileError(f"'atomicrmw {operation}' has no expansion")


def _suffix(ty: object) -> str:
    if isinstance(ty, IntType):
        return f"i{ty.bits}"
    return {"half": "f16", "bfloat": "bf16", "float": "f32",
            "double": "f64"}[ty.kind]  # type: ignore[attr-defined]


def _intrinsic(module: Module, name: str, fnty: FunctionType) -> Function:
    found = module.get_function(name)
    if found is not None:
        return found
    fn = Function(PointerType(0), name=name, function_type=fnty,
                  fn_attrs=["nocallback", "nofree", "nosync", "nounwind", "readnone",
                            "speculatable", "willreturn"])
    from llvm_to_air.ir.model import Argument

    fn.args = [Argument(p) for p in fnty.params]
    module.functions.append(fn)
    return fn


def _downgrade_module_flags(module: Module) -> None:
    flags = module.get_named_metadata("llvm.module.flags")
    if flags is None:
        return
    for node in flags.nodes:
        if isinstance(node, MDNode) and node.operands and isinstance(node.operands[0], MDValue):
            behaviour = node.operands[0].value
            if isinstance(behaviour, ConstantInt) and behaviour.value == 8:
                node.operands[0] = MDValue(ConstantInt(behaviour.ty, value=1))


__all__ = ["combine_rmw", "expand_atomicrmw", "legalize_for_llvm14"]
