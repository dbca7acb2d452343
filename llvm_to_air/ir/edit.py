"""Small editing utilities on the model, shared by the rewrite stages.

LLVM keeps use lists inside values; our model keeps only operand lists, so
``uses_of`` computes users on demand and ``replace_all_uses`` rewrites
operands in one walk. Stages that make many replacements should batch them
into one mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet

from llvm_to_air.ir.model import (
    Argument,
    BasicBlock,
    Call,
    ConstantAggregate,
    ConstantExpr,
    Function,
    GlobalVariable,
    Instruction,
    MDNode,
    MDValue,
    MetadataValue,
    Module,
    Phi,
    Value,
)
from llvm_to_air.ir.types import FunctionType, PointerType, Type


def users(fn: Function) -> dict[Value, list[tuple[Instruction, int]]]:
    """For every value used in ``fn``: the instructions using it and the operand index."""
    table: dict[Value, list[tuple[Instruction, int]]] = {}
    get = table.get
    for block in fn.blocks:
        for inst in block.instructions:
            for k, op in enumerate(inst.ops):
                found = get(op)
                if found is None:
                    table[op] = [(inst, k)]
                else:
                    found.append((inst, k))
    return table


def uses_of(value: Value, fn: Function) -> list[tuple[Instruction, int]]:
    return [(inst, k) for inst in fn.instructions() for k, op in enumerate(inst.ops)
            if op is value]


def replace_all_uses(instructions: Iterable[Instruction], mapping: dict[Value, Value]) -> None:
    """Replace operands (bundle inputs and metadata-wrapped locals too) per ``mapping``."""
    if not mapping:
        return
    get = mapping.get
    for inst in instructions:
        ops = inst.ops
        for k, op in enumerate(ops):
            new = get(op)
            if new is not None:
                ops[k] = new
            elif isinstance(op, MetadataValue):
                _replace_in_md(op.md, mapping)
        if isinstance(inst, Call) and inst.bundles:
            for bundle in inst.bundles:
                bundle.inputs = [get(v, v) for v in bundle.inputs]


def _replace_in_md(md: object, mapping: dict[Value, Value]) -> None:
    if isinstance(md, MDValue):
        md.value = mapping.get(md.value, md.value)
    elif isinstance(md, MDNode):
        for op in md.operands:
            _replace_in_md(op, mapping)


def insert_before(anchor: Instruction, new: Instruction | list[Instruction]) -> None:
    block = anchor.parent
    assert block is not None
    items = new if isinstance(new, list) else [new]
    index = block.instructions.index(anchor)
    for inst in items:
        inst.parent = block
        if inst.location is None:
            inst.location = anchor.location
    block.instructions[index:index] = items


def insert_at_entry(fn: Function, new: Instruction | list[Instruction]) -> None:
    """Insert at the top of the entry block, after its allocas (and any phis)."""
    entry = fn.blocks[0]
    items = new if isinstance(new, list) else [new]
    index = 0
    while index < len(entry.instructions) and (
            entry.instructions[index].opcode in ("alloca", "phi")):
        index += 1
    for inst in items:
        inst.parent = entry
        if inst.location is None:
            inst.location = fn.location
    entry.instructions[index:index] = items


def remove(inst: Instruction) -> None:
    block = inst.parent
    assert block is not None
    block.instructions.remove(inst)
    inst.parent = None


def fresh_local_names(fn: Function) -> set[str]:
    names = {a.name for a in fn.args if a.name}
    names |= {b.name for b in fn.blocks if b.name}
    names |= {i.name for i in fn.instructions() if i.name}
    return names


class NameSource:
    """Unique local names in one function (``stem``, ``stem1``, ...)."""

    def __init__(self, fn: Function) -> None:
        self.taken = fresh_local_names(fn)
        # per stem, the suffix to try next: a stem asked for n times costs O(n), not O(n^2)
        self.next_suffix: dict[str, int] = {}

    def __call__(self, stem: str) -> str:
        k = self.next_suffix.get(stem, 0)
        name = f"{stem}{k}" if k else stem
        while name in self.taken:
            k += 1
            name = f"{stem}{k}"
        self.taken.add(name)
        self.next_suffix[stem] = k + 1
        return name


def declare_function(module: Module, name: str, ret: Type, params: tuple[Type, ...],
                     attrs: Iterable[str] = ("convergent", "nounwind")) -> Function:
    """The module's function ``name``, declared with this type and attributes if absent."""
    fn = module.get_function(name)
    if fn is None:
        fn = Function(PointerType(0), name=name, function_type=FunctionType(ret, params),
                      fn_attrs=list(attrs))
        module.functions.append(fn)
    return fn


def called_functions(fn: Function) -> Iterator[tuple[Call, Function]]:
    for inst in fn.instructions():
        if isinstance(inst, Call):
            callee = inst.callee_function
            if callee is not None:
                yield inst, callee


def remove_unused_declarations(module: Module,
                               metadata_ids: AbstractSet[int] | None = None) -> None:
    """Drop declarations nothing refers to (calls, constants, metadata are all checked).

    ``metadata_ids``: :func:`metadata_value_ids` of ``module``'s named metadata, when the
    caller knows it (modules split from one share most of theirs: found once)."""
    referenced: set[int] = set()
    for fn in module.functions:
        for inst in fn.instructions():
            referenced.update(map(id, inst.ops))
    for gv in module.globals:
        if gv.initializer is not None:
            referenced.update(id(c) for c in _constant_leaves(gv.initializer))
    if metadata_ids is None:
        for nmd in module.named_metadata:
            referenced |= metadata_value_ids(nmd.nodes)
    else:
        referenced |= metadata_ids
    module.functions = [fn for fn in module.functions
                        if not fn.is_declaration or id(fn) in referenced]


def _constant_leaves(c: object) -> Iterator[object]:
    yield c
    for attr in ("elements", "ops"):
        for sub in getattr(c, attr, ()) or ():
            yield from _constant_leaves(sub)


def reachable_value_ids(fn: Function) -> set[int]:
    """Ids of every value ``fn`` refers to, through constant expressions and initializers."""
    operands = {id(op): op for block in fn.blocks for inst in block.instructions
                for op in inst.ops}
    seen = set(operands)
    # only constants and globals lead further (most operands are the function's own values)
    stack = [v for v in operands.values() if isinstance(v, _LEADS_FURTHER)]
    while stack:
        value = stack.pop()
        if isinstance(value, ConstantExpr):
            inner: Iterable[object] = value.ops
        elif isinstance(value, ConstantAggregate):
            inner = value.elements
        elif isinstance(value, GlobalVariable) and value.initializer is not None:
            inner = (value.initializer,)
        else:
            continue
        for sub in inner:
            if id(sub) not in seen:
                seen.add(id(sub))
                stack.append(sub)
    return seen


_LEADS_FURTHER = (ConstantExpr, ConstantAggregate, GlobalVariable)


def metadata_value_ids(nodes: Iterable[object]) -> set[int]:
    """Ids of the values that the metadata ``nodes`` refer to, through nested nodes."""
    found: set[int] = set()
    seen: set[int] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MDValue):
            found.add(id(node.value))
        elif isinstance(node, MDNode):
            stack += node.operands
    return found


def set_pointer_addrspace(value: Value, addrspace: int) -> None:
    """Give a pointer-typed value a new address space (vectors of pointers too)."""
    from llvm_to_air.ir.types import VectorType

    ty: Type = value.ty
    if isinstance(ty, PointerType):
        value.ty = PointerType(addrspace)
    elif isinstance(ty, VectorType) and isinstance(ty.element, PointerType):
        value.ty = VectorType(ty.count, PointerType(addrspace), ty.scalable)


def predecessors(fn: Function) -> dict[BasicBlock, list[BasicBlock]]:
    preds: dict[BasicBlock, list[BasicBlock]] = {b: [] for b in fn.blocks}
    for block in fn.blocks:
        for succ in block.successors():
            preds.setdefault(succ, []).append(block)
    return preds


def phis(block: BasicBlock) -> Iterator[Phi]:
    for inst in block.instructions:
        if isinstance(inst, Phi):
            yield inst
        else:
            break


__all__ = ["Argument", "NameSource", "called_functions", "insert_at_entry", "insert_before",
           "metadata_value_ids", "predecessors", "remove", "remove_unused_declarations", "replace_all_uses",
           "set_pointer_addrspace", "users"]


def materialize_constant_uses(fn: Function, target: Value) -> None:
    """Constant expressions in ``fn`` that refer to ``target`` become instructions.

    Afterwards ``target`` is only a direct operand, so it can be replaced by a
    value that is not a constant (a kernel parameter, say). Phi operands are
    computed at the end of the incoming block.
    """
    from llvm_to_air.ir.model import BinaryOp, Cast, ConstantExpr, GetElementPtr

    def refers(value: Value) -> bool:
        return isinstance(value, ConstantExpr) and any(op is target or refers(op)
                                                       for op in value.ops)

    def expand(expr: ConstantExpr, out: list[Instruction]) -> Instruction:
        ops: list[Value] = [expand(op, out) if refers(op) else op  # type: ignore[arg-type]
                            for op in expr.ops]
        inst: Instruction
        if expr.opcode == "getelementptr":
            assert expr.source_type is not None
            inst = GetElementPtr(expr.ty, opcode="getelementptr", ops=ops,
                                 source_type=expr.source_type,
                                 flags=tuple(f for f in expr.flags if f == "inbounds"))
        elif len(ops) == 1:
            inst = Cast(expr.ty, opcode=expr.opcode, ops=ops)
        else:
            inst = BinaryOp(expr.ty, opcode=expr.opcode, ops=ops, flags=expr.flags)
        out.append(inst)
        return inst

    tails: dict[BasicBlock, list[Instruction]] = {}
    for block in fn.blocks:
        rebuilt: list[Instruction] = []
        for inst in block.instructions:
            for k, op in enumerate(inst.ops):
                if not refers(op):
                    continue
                if isinstance(inst, Phi):
                    pred = inst.blocks[k]
                    inst.ops[k] = expand(op, tails.setdefault(pred, []))  # type: ignore[arg-type]
                else:
                    inst.ops[k] = expand(op, rebuilt)  # type: ignore[arg-type]
            rebuilt.append(inst)
        for new in rebuilt:
            new.parent = block
        block.instructions = rebuilt
    for block, extra in tails.items():
        for new in extra:
            new.parent = block
        block.instructions[-1:-1] = extra
