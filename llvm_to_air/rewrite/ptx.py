"""Inline PTX to IR: the engine that reads an ``asm`` call and builds what it does.

Expects: kernels inlined (inline asm calls sit in kernel bodies), before
address-space inference and intrinsic lowering. Guarantees: every inline asm
call whose statements all match a row of :mod:`.ptx_tables` is replaced by
ordinary IR (loads, stores, ``atomicrmw``, arithmetic, casts); a predicated
statement (``@$p ld...``) becomes a branch around it, so a masked-off lane
never touches memory, and its outputs keep the values ``mov`` gave them. An asm
call with any other statement is left for ``legalize``, which reports it; this
stage raises a CompileError quoting the first PTX statement it cannot translate.

The parse follows the PTX ISA: statements end at ``;``; a guard ``@$p`` or
``@!$p`` names a predicate operand; operands are ``$N`` (outputs first, then
inputs, as the constraint string lists them), immediates, ``{ $a, $b }`` vectors
and ``[ $addr + offset ]`` addresses.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.model import (
    Argument,
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    ConstantFP,
    ConstantInt,
    ExtractElement,
    Function,
    GetElementPtr,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    Module,
    Phi,
    Poison,
    Store,
    Value,
)
from llvm_to_air.ir.types import (
    I8,
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
from llvm_to_air.rewrite import ptx_tables as T
from llvm_to_air.rewrite.context import LoweringContext

_STATEMENT_RE = re.compile(r"^(?:@(?P<neg>!?)\$(?P<pred>\d+)\s+)?(?P<op>[\w.:]+)\s*(?P<rest>.*)$",
                           re.S)
_ADDRESS_RE = re.compile(r"^\[\s*\$(?P<base>\d+)\s*(?:\+\s*(?P<off>-?\w+)\s*)?\]$")
_TYPES: dict[str, Type] = {"i1": IntType(1), "i16": IntType(16), "i32": IntType(32),
                           "i64": I64, "float": FloatType("float"),
                           "double": FloatType("double"), "half": FloatType("half"),
                           "bfloat": FloatType("bfloat")}


def _llvm_type(name: str) -> Type:
    return _TYPES[name]


@dataclass
class Statement:
    """One PTX statement: its guard, mnemonic parts and operand texts."""

    text: str
    mnemonic: list[str]
    operands: list[str]
    predicate: int | None = None
    negated: bool = False


@dataclass
class AsmCall:
    """An inline asm call being translated: its operands' values and what it builds."""

    call: Call
    fn: Function
    module: Module
    outputs: list[Type]
    operands: list[Value | None]          # $N -> value (outputs: None until written)
    defaults: dict[int, Value] = field(default_factory=dict)
    built: list[Instruction] = field(default_factory=list)


def translate_inline_ptx(module: Module, ctx: LoweringContext) -> None:
    for kernel in ctx.kernels:
        fn = kernel.function
        skipped: set[int] = set()
        while True:
            found = next(((block, k, inst) for block in fn.blocks
                          for k, inst in enumerate(block.instructions)
                          if isinstance(inst, Call) and isinstance(inst.callee, InlineAsm)
                          and id(inst) not in skipped), None)
            if found is None:
                break
            block, index, call = found
            if not _translate(module, fn, block, index, call):
                skipped.add(id(call))  # not PTX we model: legalize reports it


def _split_statements(asm: str) -> list[str]:
    parts = []
    for piece in asm.replace("\n", ";").split(";"):
        piece = piece.strip()
        if piece and not piece.startswith("//"):
            parts.append(piece)
    return parts


def _split_operands(rest: str) -> list[str]:
    operands, depth, start = [], 0, 0
    for k, ch in enumerate(rest):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            operands.append(rest[start:k].strip())
            start = k + 1
    if rest[start:].strip():
        operands.append(rest[start:].strip())
    return operands


def parse_statement(text: str) -> Statement:
    m = _STATEMENT_RE.match(text)
    if m is None:
        raise ValueError(text)
    return Statement(text, m["op"].split("."), _split_operands(m["rest"]),
                     int(m["pred"]) if m["pred"] is not None else None, m["neg"] == "!")


def _constraints(text: str) -> tuple[list[str], list[str]]:
    outputs, inputs = [], []
    for part in text.split(","):
        part = part.strip()
        if not part or part.startswith("~"):
            continue
        if part.startswith("="):
            outputs.append(part.lstrip("=&"))
        else:
            inputs.append(part.lstrip("&"))
    return outputs, inputs


def _error(call: Call, fn: Function, what: str) -> CompileError:
    return CompileError(f"inline PTX in @{fn.name}: {what}", call.location or fn.location,
                        hint="write the operation in IR or with a builtin; the README lists "
                             "the PTX that llvm-to-air translates")


def _translate(module: Module, fn: Function, block: BasicBlock, index: int,
               call: Call) -> bool:
    asm = call.callee
    assert isinstance(asm, InlineAsm)
    outputs, inputs = _constraints(asm.constraints)
    if any(c not in T.CONSTRAINT_TYPES for c in outputs + inputs):
        return False  # a constraint we do not model: legalize reports the asm
    statements = [parse_statement(s) for s in _split_statements(asm.asm)]
    out_types = [_llvm_type(T.CONSTRAINT_TYPES[c]) for c in outputs]
    state = AsmCall(call, fn, module, out_types, [None] * len(outputs) + list(call.args))
    guarded = [s for s in statements if s.predicate is not None]
    if len({(s.predicate, s.negated) for s in guarded}) > 1:
        raise _error(call, fn, f"several different guards in '{asm.asm}'")
    body = [s for s in statements if not _is_default_mov(s, len(outputs))]
    for statement in statements:
        if _is_default_mov(statement, len(outputs)):
            target = int(statement.operands[0][1:])
            state.defaults[target] = _value_of(state, statement.operands[1], out_types[target])
    for statement in body:
        _build(state, statement)
    _place(state, block, index, guarded[0] if guarded else None)
    return True


def _is_default_mov(s: Statement, outputs: int) -> bool:
    """``mov.u32 $0, 0x0`` before a guarded load: the output's value when the guard is off."""
    return (s.mnemonic[0] == "mov" and len(s.operands) == 2 and s.predicate is None
            and s.operands[0].startswith("$") and int(s.operands[0][1:]) < outputs)


def _immediate(text: str, ty: Type) -> Value:
    if isinstance(ty, FloatType):
        if text.lower().startswith("0f"):
            value = struct.unpack("<f", struct.pack("<I", int(text[2:], 16)))[0]
        else:
            value = float(text)
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
        return ConstantFP(ty, text=f"0x{bits:016X}")
    value = int(text, 0)
    assert isinstance(ty, IntType)
    return ConstantInt(ty, value=value & ((1 << ty.bits) - 1))


def _value_of(state: AsmCall, text: str, ty: Type) -> Value:
    if text.startswith("$"):
        value = state.operands[int(text[1:])]
        if value is None:
            raise _error(state.call, state.fn, f"'{text}' is read before it is written")
        return _convert(state, value, ty)
    if text.startswith("%"):
        return _convert(state, _special_register(state, text), ty)
    try:
        return _immediate(text, ty)
    except (ValueError, AssertionError):
        raise _error(state.call, state.fn, f"operand '{text}' is not translated") from None


def _special_register(state: AsmCall, name: str) -> Value:
    intrinsic = T.SPECIAL_REGISTERS.get(name)
    if intrinsic is None:
        raise _error(state.call, state.fn, f"special register '{name}' is not translated")
    i32 = IntType(32)
    callee = state.module.get_function(intrinsic)
    if callee is None:
        callee = Function(PointerType(0), name=intrinsic, function_type=FunctionType(i32, ()))
        state.module.functions.append(callee)
    return _emit(state, Call(i32, opcode="call", ops=[callee],
                             function_type=FunctionType(i32, ())))


def _emit(state: AsmCall, inst: Instruction) -> Instruction:
    inst.location = state.call.location
    state.built.append(inst)
    return inst


def _convert(state: AsmCall, value: Value, ty: Type) -> Value:
    """``value`` as ``ty`` (same width: bitcast; integers of other widths: trunc/zext)."""
    if value.ty == ty:
        return value
    source = value.ty
    if isinstance(source, IntType) and isinstance(ty, IntType):
        opcode = "trunc" if source.bits > ty.bits else "zext"
        return _emit(state, Cast(ty, opcode=opcode, ops=[value]))
    return _emit(state, Cast(ty, opcode="bitcast", ops=[value]))


def _address(state: AsmCall, text: str, space: int) -> Value:
    m = _ADDRESS_RE.match(text)
    if m is None:
        raise _error(state.call, state.fn, f"address '{text}' is not [ $N + offset ]")
    base = state.operands[int(m["base"])]
    if base is None:
        raise _error(state.call, state.fn, f"address register ${m['base']} is an output")
    pointer_ty = PointerType(space)
    if isinstance(base.ty, IntType):
        base = _emit(state, Cast(pointer_ty, opcode="inttoptr", ops=[_convert(state, base, I64)]))
    elif isinstance(base.ty, PointerType) and base.ty.addrspace != space:
        base = _emit(state, Cast(pointer_ty, opcode="addrspacecast", ops=[base]))
    offset = int(m["off"], 0) if m["off"] else 0
    if offset:
        base = _emit(state, GetElementPtr(pointer_ty, opcode="getelementptr", source_type=I8,
                                          ops=[base, ConstantInt(I64, value=offset)]))
    return base


def _registers(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("{"):
        return [r.strip() for r in text.strip("{} ").split(",")]
    return [text]


def _element_type(bits: int, kind: str) -> Type:
    if kind == "float":
        return FloatType({16: "half", 32: "float", 64: "double"}[bits])
    return IntType(bits)


def _memory_form(state: AsmCall, s: Statement) -> T.MemoryForm:
    space, lanes, element = None, 1, None
    for part in s.mnemonic[1:]:
        if part in T.STATE_SPACES and space is None:
            space = T.STATE_SPACES[part]
        elif part in ("v2", "v4", "v8"):
            lanes = int(part[1:])
        elif part in T.ELEMENT_TYPES:
            element = T.ELEMENT_TYPES[part]
        elif part not in T.IGNORED_MODIFIERS and not part.startswith(("L1::", "L2::")):
            raise _error(state.call, state.fn, f"'{s.text}': modifier '.{part}' is not "
                                               "translated")
    if space is None or element is None:
        raise _error(state.call, state.fn, f"'{s.text}': no state space or type")
    return T.MemoryForm(s.mnemonic[0], space, lanes, element[0], element[1])


def _build(state: AsmCall, s: Statement) -> None:
    op = s.mnemonic[0]
    spelling = ".".join(s.mnemonic)
    if op == "ld" and len(s.operands) == 2:
        form = _memory_form(state, s)
        _load(state, form, _registers(s.operands[0]), s.operands[1])
    elif op == "st" and len(s.operands) == 2:
        form = _memory_form(state, s)
        _store(state, form, s.operands[0], _registers(s.operands[1]))
    elif op == "atom" and len(s.operands) == 3:
        _atomic(state, s)
    elif spelling in T.UNARY_FORMS and len(s.operands) == 2:
        _unary(state, T.UNARY_FORMS[spelling], s.operands[0], s.operands[1])
    elif op == "mov" and len(s.operands) == 2 and s.operands[0].startswith("$"):
        target = int(s.operands[0][1:])
        ty = state.outputs[target] if target < len(state.outputs) else I64
        state.operands[target] = _value_of(state, s.operands[1], ty)
    else:
        raise _error(state.call, state.fn, f"PTX instruction '{s.text}' is not translated")


def _set_output(state: AsmCall, register: str, value: Value) -> None:
    index = int(register[1:])
    if index >= len(state.outputs):
        raise _error(state.call, state.fn, f"'{register}' is not an output")
    state.operands[index] = _convert(state, value, state.outputs[index])


def _load(state: AsmCall, form: T.MemoryForm, registers: list[str], address: str) -> None:
    if len(registers) != form.lanes:
        raise _error(state.call, state.fn, f"{form.lanes} lanes but {len(registers)} registers")
    pointer = _address(state, address, form.space)
    element = _element_type(form.bits, form.kind)
    loaded_ty: Type = element if form.lanes == 1 else VectorType(form.lanes, element)
    loaded = _emit(state, Load(loaded_ty, opcode="load", ops=[pointer],
                               align=form.bits // 8 * form.lanes))
    for lane, register in enumerate(registers):
        value: Value = loaded
        if form.lanes > 1:
            value = _emit(state, ExtractElement(element, opcode="extractelement",
                                                ops=[loaded, ConstantInt(IntType(32),
                                                                         value=lane)]))
        _set_output(state, register, value)


def _store(state: AsmCall, form: T.MemoryForm, address: str, registers: list[str]) -> None:
    if len(registers) != form.lanes:
        raise _error(state.call, state.fn, f"{form.lanes} lanes but {len(registers)} registers")
    pointer = _address(state, address, form.space)
    element = _element_type(form.bits, form.kind)
    values = [_value_of(state, r, element) for r in registers]
    if form.lanes == 1:
        _emit(state, Store(VOID, opcode="store", ops=[values[0], pointer], align=form.bits // 8))
        return
    vector_ty = VectorType(form.lanes, element)
    vector: Value = Poison(vector_ty)
    for lane, value in enumerate(values):
        vector = _emit(state, InsertElement(vector_ty, opcode="insertelement",
                                            ops=[vector, value, ConstantInt(IntType(32),
                                                                            value=lane)]))
    _emit(state, Store(VOID, opcode="store", ops=[vector, pointer],
                       align=form.bits // 8 * form.lanes))


def _atomic(state: AsmCall, s: Statement) -> None:
    parts = s.mnemonic[1:]
    space = next((T.STATE_SPACES[p] for p in parts if p in T.STATE_SPACES), 1)
    order = next((T.ATOMIC_ORDERS[p] for p in parts if p in T.ATOMIC_ORDERS), "monotonic")
    type_name = parts[-1]
    if type_name not in T.ELEMENT_TYPES or len(parts) < 2:
        raise _error(state.call, state.fn, f"'{s.text}': no type")
    bits, kind = T.ELEMENT_TYPES[type_name]
    sign = type_name[0] if type_name[0] in "su" else "int"
    name = parts[-2]
    operation = T.ATOMIC_OPS.get((name, kind)) or T.ATOMIC_OPS.get((name, sign)) or \
        (T.ATOMIC_OPS.get((name, "int")) if kind == "int" else None)
    known = set(T.STATE_SPACES) | T.ATOMIC_SCOPES | set(T.ATOMIC_ORDERS) | {name, type_name}
    unknown = [p for p in parts if p not in known]
    if operation is None or unknown:
        raise _error(state.call, state.fn, f"atomic '{s.text}' is not translated")
    element = _element_type(bits, kind)
    pointer = _address(state, s.operands[1], space)
    value = _value_of(state, s.operands[2], element)
    old = _emit(state, AtomicRMW(element, opcode="atomicrmw", ops=[pointer, value],
                                 operation=operation, ordering=order, align=bits // 8))
    _set_output(state, s.operands[0], old)


def _unary(state: AsmCall, form: T.UnaryForm, target: str, source: str) -> None:
    value = _value_of(state, source, _llvm_type(form.source))
    result_ty = _llvm_type(form.result)
    if form.operation == "rcp":
        one = ConstantFP(result_ty, text="1.000000e+00")
        result: Value = _emit(state, BinaryOp(result_ty, opcode="fdiv", ops=[one, value]))
    elif form.operation in ("fptrunc", "fpext"):
        result = _emit(state, Cast(result_ty, opcode=form.operation, ops=[value]))
    else:  # sqrt, exp2, log2: the LLVM intrinsic, which lower_intrinsics maps to AIR
        callee = _intrinsic(state.module, f"llvm.{form.operation}.f32", result_ty)
        result = _emit(state, Call(result_ty, opcode="call", ops=[value, callee],
                                   function_type=FunctionType(result_ty, (result_ty,))))
    _set_output(state, target, result)


def _intrinsic(module: Module, name: str, ty: Type) -> Function:
    found = module.get_function(name)
    if found is not None:
        return found
    declared = Function(PointerType(0), name=name, function_type=FunctionType(ty, (ty,)),
                        args=[Argument(ty)])
    module.functions.append(declared)
    return declared


def _result(state: AsmCall) -> Value | None:
    if not state.outputs:
        return None
    values = []
    for index, ty in enumerate(state.outputs):
        value = state.operands[index] if state.operands[index] is not None \
            else state.defaults.get(index, Poison(ty))
        values.append(value)
    if len(values) == 1:
        return values[0]
    struct_ty = StructType(tuple(state.outputs))
    aggregate: Value = Poison(struct_ty)
    for index, value in enumerate(values):
        aggregate = _emit(state, InsertValue(struct_ty, opcode="insertvalue",
                                             ops=[aggregate, value], indices=[index]))
    return aggregate


def _place(state: AsmCall, block: BasicBlock, index: int, guard: Statement | None) -> None:
    """Put the built instructions where the call was, behind a branch when guarded; the
    call's users get its results. Returns the block that holds what followed the call."""
    call, fn = state.call, state.fn
    if guard is None:
        result = _result(state)
        _insert(block, index, state.built)
        block.instructions.remove(call)
        if result is not None:
            replace_all_uses(fn.instructions(), {call: result})
        return
    predicate = state.call.args[guard.predicate - len(state.outputs)]
    built = state.built
    state.built = []
    join = _split_after(fn, block, index)  # the call and what follows move to `join`
    then = BasicBlock(name=_fresh(fn, f"{block.name or 'bb'}.ptx.then"), parent=fn)
    fn.blocks.insert(fn.blocks.index(join), then)
    for inst in built:
        inst.parent = then
    then.instructions = [*built, Branch(VOID, opcode="br", targets=[join], parent=then,
                                        location=call.location)]
    targets = [join, then] if guard.negated else [then, join]
    block.instructions.append(Branch(VOID, opcode="br", ops=[predicate], targets=targets,
                                     parent=block, location=call.location))
    phis: list[Instruction] = []
    for position, ty in enumerate(state.outputs):
        inside = state.operands[position]
        default = state.defaults.get(position, Poison(ty))
        if inside is None:
            state.operands[position] = default
            continue
        phi = Phi(ty, opcode="phi", ops=[inside, default], blocks=[then, block], parent=join,
                  location=call.location)
        phis.append(phi)
        state.operands[position] = phi
    result = _result(state)
    join.instructions.remove(call)
    for inst in state.built:
        inst.parent = join
    join.instructions[0:0] = [*phis, *state.built]
    if result is not None:
        replace_all_uses(fn.instructions(), {call: result})


def _insert(block: BasicBlock, index: int, new: list[Instruction]) -> None:
    for inst in new:
        inst.parent = block
    block.instructions[index:index] = new


def _fresh(fn: Function, base: str) -> str:
    names = {b.name for b in fn.blocks}
    name, k = base, 1
    while name in names:
        k += 1
        name = f"{base}{k}"
    return name


def _split_after(fn: Function, block: BasicBlock, index: int) -> BasicBlock:
    """Move ``block``'s instructions from ``index`` on into a new block right after it;
    successors' phis then name the new block."""
    tail = BasicBlock(name=_fresh(fn, f"{block.name or 'bb'}.ptx.join"), parent=fn)
    tail.instructions = block.instructions[index:]
    block.instructions = block.instructions[:index]
    for inst in tail.instructions:
        inst.parent = tail
    fn.blocks.insert(fn.blocks.index(block) + 1, tail)
    for successor in tail.successors():
        for inst in successor.instructions:
            if isinstance(inst, Phi):
                inst.blocks = [tail if b is block else b for b in inst.blocks]
    return tail


__all__ = ["parse_statement", "translate_inline_ptx"]

