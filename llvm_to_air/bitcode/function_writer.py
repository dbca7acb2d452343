"""The FUNCTION_BLOCK instruction records (LLVM 14 ``writeInstruction``).

Expects the module writer's enumerator to have numbered the function
(:class:`~llvm_to_air.bitcode.enumerator.FunctionInfo`); writes each instruction as
LLVM 14 does, operands relative to the instruction's id, and raises a located
CompileError for an instruction or flag LLVM 14 does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvm_to_air.bitcode import codes as c
from llvm_to_air.bitcode.enumerator import FunctionInfo
from llvm_to_air.bitcode.records import (
    _MASK32,
    FUNCTION_INST_BINOP_ABBREV,
    FUNCTION_INST_BINOP_FLAGS_ABBREV,
    FUNCTION_INST_CAST_ABBREV,
    FUNCTION_INST_GEP_ABBREV,
    FUNCTION_INST_LOAD_ABBREV,
    FUNCTION_INST_RET_VAL_ABBREV,
    FUNCTION_INST_RET_VOID_ABBREV,
    FUNCTION_INST_UNOP_ABBREV,
    FUNCTION_INST_UNOP_FLAGS_ABBREV,
    FUNCTION_INST_UNREACHABLE_ABBREV,
    encoded_align,
    signed64,
)
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import (
    Alloca,
    AtomicRMW,
    BinaryOp,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    ExtractElement,
    ExtractValue,
    Fence,
    Freeze,
    GetElementPtr,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    Phi,
    Return,
    Select,
    ShuffleVector,
    Store,
    Switch,
    UnaryOp,
    Unreachable,
)
from llvm_to_air.ir.types import (
    LABEL,
    Type,
)

if TYPE_CHECKING:
    from llvm_to_air.bitcode.writer import _ModuleWriter


class _InstructionWriter:
    """Writes one function's instructions (``writeInstruction``)."""

    def __init__(self, owner: _ModuleWriter, info: FunctionInfo) -> None:
        self.owner = owner
        self.ve = owner.ve
        self.w = owner.w
        self.info = info
        self.tid = owner.ve.type_id
        self.value_id = owner.ve.value_id
        self.value_ids = owner.ve.value_ids
        self.emit = owner.w.emit_record  # type: ignore[method-assign]
        self.inst_id = 0

    def write(self, inst: Instruction, ops: list[object], inst_id: int) -> None:
        self.inst_id = inst_id
        handler = _HANDLERS.get(type(inst))
        if handler is None:
            raise self.owner.error(f"instruction '{inst.opcode}' cannot be written as bitcode",
                                   inst.location)
        handler(self, inst, ops)

    # operand helpers -------------------------------------------------------

    def rel(self, value: object) -> int:
        """``pushValue``: InstID - ValueID as an unsigned 32-bit number."""
        vid = self.value_ids.get(value)
        if vid is None:
            vid = self.value_id(value)
        return (self.inst_id - vid) & _MASK32

    def rel_typed(self, value: object, out: list[int]) -> bool:
        """``pushValueAndType``: appends the relative id, plus the type for forward references."""
        vid = self.value_ids.get(value)
        if vid is None:
            vid = self.value_id(value)
        inst_id = self.inst_id
        if vid < inst_id:
            out.append(inst_id - vid)
            return False
        out.append((inst_id - vid) & _MASK32)
        out.append(self.tid(self.ve.value_type(value)))
        return True

    # kinds -----------------------------------------------------------------

    def binary(self, inst: BinaryOp, ops: list[object]) -> None:
        record: list[int] = []
        forward = self.rel_typed(ops[0], record)
        record.append(self.rel(ops[1]))
        record.append(c.BINARY_OPCODES[inst.opcode])
        abbrev = 0 if forward else FUNCTION_INST_BINOP_ABBREV
        flags = _optimization_flags(inst.opcode, inst.flags, inst.ty)
        if flags:
            record.append(flags)
            if abbrev:
                abbrev = FUNCTION_INST_BINOP_FLAGS_ABBREV
        self.emit(c.FUNC_CODE_INST_BINOP, record, abbrev)

    def unary(self, inst: UnaryOp, ops: list[object]) -> None:
        record: list[int] = []
        forward = self.rel_typed(ops[0], record)
        record.append(c.UNARY_OPCODES[inst.opcode])
        abbrev = 0 if forward else FUNCTION_INST_UNOP_ABBREV
        flags = _fast_math(inst.flags)
        if flags:
            record.append(flags)
            if abbrev:
                abbrev = FUNCTION_INST_UNOP_FLAGS_ABBREV
        self.emit(c.FUNC_CODE_INST_UNOP, record, abbrev)

    def cast(self, inst: Cast, ops: list[object]) -> None:
        if inst.flags:
            raise self.owner.error(f"'{inst.opcode} {' '.join(inst.flags)}' does not exist in "
                                   "LLVM 14", inst.location)
        opcode = c.CAST_OPCODES.get(inst.opcode)
        if opcode is None:
            raise self.owner.error(f"cast '{inst.opcode}' does not exist in LLVM 14",
                                   inst.location)
        record: list[int] = []
        forward = self.rel_typed(ops[0], record)
        record += (self.tid(inst.ty), opcode)
        self.emit(c.FUNC_CODE_INST_CAST, record, 0 if forward else FUNCTION_INST_CAST_ABBREV)

    def gep(self, inst: GetElementPtr, ops: list[object]) -> None:
        bad = [f for f in inst.flags if f != "inbounds"]
        if bad:
            raise self.owner.error(f"getelementptr flag '{bad[0]}' does not exist in LLVM 14",
                                   inst.location)
        record = [int("inbounds" in inst.flags), self.tid(inst.source_type)]
        for op in ops:
            self.rel_typed(op, record)
        self.emit(c.FUNC_CODE_INST_GEP, record, FUNCTION_INST_GEP_ABBREV)

    def extractvalue(self, inst: ExtractValue, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        record += inst.indices
        self.emit(c.FUNC_CODE_INST_EXTRACTVAL, record)

    def insertvalue(self, inst: InsertValue, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        self.rel_typed(ops[1], record)
        record += inst.indices
        self.emit(c.FUNC_CODE_INST_INSERTVAL, record)

    def select(self, inst: Select, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[1], record)
        record.append(self.rel(ops[2]))
        self.rel_typed(ops[0], record)
        flags = _fast_math(inst.flags)
        if flags:
            record.append(flags)
        self.emit(c.FUNC_CODE_INST_VSELECT, record)

    def extractelement(self, inst: ExtractElement, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        self.rel_typed(ops[1], record)
        self.emit(c.FUNC_CODE_INST_EXTRACTELT, record)

    def insertelement(self, inst: InsertElement, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        record.append(self.rel(ops[1]))
        self.rel_typed(ops[2], record)
        self.emit(c.FUNC_CODE_INST_INSERTELT, record)

    def shufflevector(self, inst: ShuffleVector, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        record.append(self.rel(ops[1]))
        record.append(self.rel(self.ve.shuffle_mask(inst)))
        self.emit(c.FUNC_CODE_INST_SHUFFLEVEC, record)

    def compare(self, inst: Compare, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        record.append(self.rel(ops[1]))
        table = c.ICMP_PREDICATES if inst.opcode == "icmp" else c.PREDICATES
        predicate = table.get(inst.predicate)
        if predicate is None:
            raise self.owner.error(f"unknown {inst.opcode} predicate '{inst.predicate}'",
                                   inst.location)
        record.append(predicate)
        if inst.opcode == "icmp":
            if inst.flags:
                raise self.owner.error(f"icmp flag '{inst.flags[0]}' does not exist in LLVM 14",
                                       inst.location)
        else:
            flags = _fast_math(inst.flags)
            if flags:
                record.append(flags)
        self.emit(c.FUNC_CODE_INST_CMP2, record)

    def ret(self, inst: Return, ops: list[object]) -> None:
        if not ops:
            self.emit(c.FUNC_CODE_INST_RET, [], FUNCTION_INST_RET_VOID_ABBREV)
            return
        record: list[int] = []
        forward = self.rel_typed(ops[0], record)
        self.emit(c.FUNC_CODE_INST_RET, record, 0 if forward else FUNCTION_INST_RET_VAL_ABBREV)

    def br(self, inst: Branch, ops: list[object]) -> None:
        block_ids = self.ve.block_ids
        record = [block_ids[id(inst.targets[0])]]
        if inst.ops:
            record.append(block_ids[id(inst.targets[1])])
            record.append(self.rel(ops[0]))
        self.emit(c.FUNC_CODE_INST_BR, record)

    def switch(self, inst: Switch, ops: list[object]) -> None:
        block_ids = self.ve.block_ids
        record = [self.tid(self.ve.value_type(ops[0])), self.rel(ops[0]),
                  block_ids[id(inst.targets[0])]]
        for k in range(2, len(ops), 2):
            record.append(self.value_id(ops[k]))
            record.append(block_ids[id(ops[k + 1])])
        self.emit(c.FUNC_CODE_INST_SWITCH, record)

    def unreachable(self, inst: Unreachable, ops: list[object]) -> None:
        self.emit(c.FUNC_CODE_INST_UNREACHABLE, [], FUNCTION_INST_UNREACHABLE_ABBREV)

    def phi(self, inst: Phi, ops: list[object]) -> None:
        block_ids = self.ve.block_ids
        record = [self.tid(inst.ty)]
        for value, block in zip(ops, inst.blocks, strict=True):
            diff = self.inst_id - self.value_id(value)
            record.append(signed64(diff))
            record.append(block_ids[id(block)])
        flags = _fast_math(inst.flags)
        if flags:
            record.append(flags)
        self.emit(c.FUNC_CODE_INST_PHI, record)

    def alloca(self, inst: Alloca, ops: list[object]) -> None:
        align = inst.align
        if align is None:
            align = self.owner.layout().abi_align(inst.allocated_type, self.owner.module.structs)
        encoded = encoded_align(align)
        packed = (encoded & 31) | (int(inst.inalloca) << 5) | (1 << 6) | ((encoded >> 5) << 8)
        size = ops[0]
        record = [self.tid(inst.allocated_type), self.tid(self.ve.value_type(size)),
                  self.value_id(size), packed]
        self.emit(c.FUNC_CODE_INST_ALLOCA, record)

    def load(self, inst: Load, ops: list[object]) -> None:
        record: list[int] = []
        forward = self.rel_typed(ops[0], record)
        align = inst.align
        if align is None:
            align = self.owner.layout().abi_align(inst.ty, self.owner.module.structs)
        record += (self.tid(inst.ty), encoded_align(align), int(inst.volatile))
        if inst.ordering is not None:
            record += (self.ordering(inst.ordering, inst), self.sync_scope(inst.syncscope))
            self.emit(c.FUNC_CODE_INST_LOADATOMIC, record)
            return
        self.emit(c.FUNC_CODE_INST_LOAD, record, 0 if forward else FUNCTION_INST_LOAD_ABBREV)

    def store(self, inst: Store, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[1], record)
        self.rel_typed(ops[0], record)
        align = inst.align
        if align is None:
            align = self.owner.layout().abi_align(self.ve.value_type(ops[0]),
                                                  self.owner.module.structs)
        record += (encoded_align(align), int(inst.volatile))
        if inst.ordering is not None:
            record += (self.ordering(inst.ordering, inst), self.sync_scope(inst.syncscope))
            self.emit(c.FUNC_CODE_INST_STOREATOMIC, record)
            return
        self.emit(c.FUNC_CODE_INST_STORE, record)

    def cmpxchg(self, inst: CmpXchg, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        self.rel_typed(ops[1], record)
        record.append(self.rel(ops[2]))
        align = inst.align or self.owner.layout().abi_align(self.ve.value_type(ops[1]),
                                                            self.owner.module.structs)
        record += (int(inst.volatile), self.ordering(inst.success_ordering, inst),
                   self.sync_scope(inst.syncscope), self.ordering(inst.failure_ordering, inst),
                   int(inst.weak), encoded_align(align))
        self.emit(c.FUNC_CODE_INST_CMPXCHG, record)

    def atomicrmw(self, inst: AtomicRMW, ops: list[object]) -> None:
        operation = c.RMW_OPERATIONS.get(inst.operation)
        if operation is None:
            raise self.owner.error(f"atomicrmw operation '{inst.operation}' does not exist in "
                                   "LLVM 14", inst.location)
        record: list[int] = []
        self.rel_typed(ops[0], record)
        self.rel_typed(ops[1], record)
        align = inst.align or self.owner.layout().abi_align(self.ve.value_type(ops[1]),
                                                            self.owner.module.structs)
        record += (operation, int(inst.volatile), self.ordering(inst.ordering, inst),
                   self.sync_scope(inst.syncscope), encoded_align(align))
        self.emit(c.FUNC_CODE_INST_ATOMICRMW, record)

    def fence(self, inst: Fence, ops: list[object]) -> None:
        self.emit(c.FUNC_CODE_INST_FENCE, [self.ordering(inst.ordering, inst),
                                           self.sync_scope(inst.syncscope)])

    def freeze(self, inst: Freeze, ops: list[object]) -> None:
        record: list[int] = []
        self.rel_typed(ops[0], record)
        self.emit(c.FUNC_CODE_INST_FREEZE, record)

    def call(self, inst: Call, ops: list[object]) -> None:
        ve = self.ve
        fnty = inst.function_type
        nargs = len(inst.args)
        if inst.bundles:
            k = nargs
            for bundle in inst.bundles:
                record = [ve.bundle_tags[bundle.tag]]
                for _ in bundle.inputs:
                    self.rel_typed(ops[k], record)
                    k += 1
                self.emit(c.FUNC_CODE_OPERAND_BUNDLE, record)
        flags = _fast_math(inst.flags)
        cc = _calling_convention(inst.cc, self.owner)
        marker = (cc << c.CALL_CCONV | int(inst.tail in ("tail", "musttail")) << c.CALL_TAIL
                  | int(inst.tail == "musttail") << c.CALL_MUSTTAIL
                  | 1 << c.CALL_EXPLICIT_TYPE
                  | int(inst.tail == "notail") << c.CALL_NOTAIL
                  | int(flags != 0) << c.CALL_FMF)
        record = [ve.attr_list_id(ve.call_attrs(inst)), marker]
        if flags:
            record.append(flags)
        record.append(self.tid(fnty))
        self.rel_typed(ops[-1], record)
        for i, param in enumerate(fnty.params):
            if param == LABEL:
                record.append(self.value_id(ops[i]))
            else:
                record.append(self.rel(ops[i]))
        if fnty.vararg:
            for i in range(len(fnty.params), nargs):
                self.rel_typed(ops[i], record)
        self.emit(c.FUNC_CODE_INST_CALL, record)

    def ordering(self, name: str, inst: Instruction) -> int:
        found = c.ORDERINGS.get(name)
        if found is None:
            raise self.owner.error(f"unknown atomic ordering '{name}'", inst.location)
        return found

    def sync_scope(self, scope: str | None) -> int:
        if scope is None:
            return c.SYNC_SCOPE_SYSTEM
        return self.ve.sync_scopes[scope]


_HANDLERS: dict[type, Callable[[_InstructionWriter, object, list[object]], None]] = {
    BinaryOp: _InstructionWriter.binary,  # type: ignore[dict-item]
    UnaryOp: _InstructionWriter.unary,  # type: ignore[dict-item]
    Cast: _InstructionWriter.cast,  # type: ignore[dict-item]
    GetElementPtr: _InstructionWriter.gep,  # type: ignore[dict-item]
    ExtractValue: _InstructionWriter.extractvalue,  # type: ignore[dict-item]
    InsertValue: _InstructionWriter.insertvalue,  # type: ignore[dict-item]
    Select: _InstructionWriter.select,  # type: ignore[dict-item]
    ExtractElement: _InstructionWriter.extractelement,  # type: ignore[dict-item]
    InsertElement: _InstructionWriter.insertelement,  # type: ignore[dict-item]
    ShuffleVector: _InstructionWriter.shufflevector,  # type: ignore[dict-item]
    Compare: _InstructionWriter.compare,  # type: ignore[dict-item]
    Return: _InstructionWriter.ret,  # type: ignore[dict-item]
    Branch: _InstructionWriter.br,  # type: ignore[dict-item]
    Switch: _InstructionWriter.switch,  # type: ignore[dict-item]
    Unreachable: _InstructionWriter.unreachable,  # type: ignore[dict-item]
    Phi: _InstructionWriter.phi,  # type: ignore[dict-item]
    Alloca: _InstructionWriter.alloca,  # type: ignore[dict-item]
    Load: _InstructionWriter.load,  # type: ignore[dict-item]
    Store: _InstructionWriter.store,  # type: ignore[dict-item]
    CmpXchg: _InstructionWriter.cmpxchg,  # type: ignore[dict-item]
    AtomicRMW: _InstructionWriter.atomicrmw,  # type: ignore[dict-item]
    Fence: _InstructionWriter.fence,  # type: ignore[dict-item]
    Freeze: _InstructionWriter.freeze,  # type: ignore[dict-item]
    Call: _InstructionWriter.call,  # type: ignore[dict-item]
}

def _optimization_flags(opcode: str, flags: tuple[str, ...], ty: Type) -> int:
    """``getOptimizationFlags`` for a binary operator (or constant expression)."""
    if opcode in c.OBO_OPCODES:
        table = c.OBO_FLAGS
    elif opcode in c.EXACT_OPCODES:
        table = c.EXACT_FLAGS
    else:
        return _fast_math(flags)
    bits = 0
    for flag in flags:
        if flag not in table:
            raise CompileError(f"flag '{flag}' on '{opcode}' does not exist in LLVM 14")
        bits |= table[flag]
    return bits


def _fast_math(flags: tuple[str, ...]) -> int:
    bits = 0
    for flag in flags:
        found = c.FAST_MATH_FLAGS.get(flag)
        if found is None:
            raise CompileError(f"flag '{flag}' does not exist in LLVM 14 here")
        bits |= found
    return bits


def _calling_convention(cc: str, owner: _ModuleWriter) -> int:
    if cc.startswith("cc "):
        return int(cc[3:])
    found = c.CALLING_CONVENTIONS.get(cc)
    if found is None:
        raise owner.error(f"calling convention '{cc}' does not exist in LLVM 14")
    return found
