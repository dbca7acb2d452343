"""Function bodies and instructions of the LLVM text parser.

:class:`InstructionParser` reads a function body line by line (labels, debug
records, the fast path for common lines) and every instruction, dispatching on
the opcode through :data:`_INSTRUCTION_PARSERS`; instructions GPUs cannot run
(exception handling, varargs, indirect branches) are located errors.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.fastpath import FastPath
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    Constant,
    ConstantAggregate,
    ConstantInt,
    ConstantZero,
    ExtractElement,
    ExtractValue,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    MDNode,
    MDValue,
    Metadata,
    MetadataValue,
    Module,
    OperandBundle,
    Phi,
    Poison,
    Return,
    Select,
    ShuffleVector,
    Store,
    Switch,
    UnaryOp,
    Undef,
    Unreachable,
    Value,
)
from llvm_to_air.ir.parser_base import (
    _ATTR_WORDS,
    _LABEL_RE,
    BINARY_OPS,
    CALLING_CONVENTIONS,
    CAST_OPS,
    INST_FLAGS,
    _ForwardRef,
    _key_name,
    _local_key,
)
from llvm_to_air.ir.parser_metadata import MetadataParser
from llvm_to_air.ir.types import (
    I1,
    METADATA,
    VOID,
    ArrayType,
    FunctionType,
    NamedStructType,
    PointerType,
    StructType,
    Type,
    TypedPointerType,
    VectorType,
)


class InstructionParser(MetadataParser):
    """Parser layer for function bodies and instructions."""

    # ------------------------------------------------------------------ bodies

    def _parse_body_lines(self, fn: Function, k: int) -> int:
        """Parse body lines from index ``k``; returns the index of the closing ``}`` line."""
        lines = self.lines
        fast = FastPath(self)
        next_number = sum(1 for a in fn.args if a.name is None)
        current: BasicBlock | None = None
        n = len(lines)
        while True:
            if k >= n:
                raise CompileError(f"function @{fn.name} has no closing '}}'",
                                   SourceLocation(self.file, n, 1))
            line = lines[k]
            k += 1
            if line == "}":
                break
            if not line or line.isspace():
                continue
            if line[0] != " ":
                label_match = _LABEL_RE.match(line)
                if label_match is None:
                    if line[0] == ";":
                        continue
                    raise CompileError(f"expected an instruction or a label, found '{line}'",
                                       SourceLocation(self.file, k, 1))
                label = _local_key("%" + label_match.group(1))
                current = self._block(label)
                if current.parent is not None:
                    raise CompileError(f"block '{label}' defined twice",
                                       SourceLocation(self.file, k, 1))
                if label.isdigit():
                    next_number = int(label) + 1
                current.parent = fn
                fn.blocks.append(current)
                continue
            record = None
            if line[2:3] in (" ", ";", ""):  # instructions are indented by two spaces
                stripped = line.lstrip()
                if stripped.startswith(";"):
                    continue
                if stripped.startswith("#dbg_"):
                    # a debug record: the llvm.dbg.* call LLVM 14 spells it as (dropped
                    # with the rest of the debug info unless it is kept)
                    record = self._debug_record(stripped, k)
                    if record is None:
                        continue
            else:
                stripped = line[2:]
            if current is None:
                current = self._block(str(next_number))
                next_number += 1
                current.parent = fn
                fn.blocks.append(current)
            if record is not None:
                record.parent = current
                current.instructions.append(record)
                continue
            found = fast.instruction(line)
            if found is not None:
                inst, inst_name = found
                inst.location = SourceLocation(self.file, k, 3)
            else:
                statement = line
                first = k
                if stripped.startswith("switch ") or " = switch " in line:
                    # the case list ends at a line starting with "]", which may carry
                    # attachments: "  ], !dbg !12", "  ], !prof !3"
                    while k < n and not lines[k].lstrip().startswith("]"):
                        statement += "\n" + lines[k]
                        k += 1
                    if k >= n:
                        raise CompileError("switch without the ']' that ends its cases",
                                           SourceLocation(self.file, first, 3))
                    statement += "\n" + lines[k]
                    k += 1
                self.begin_statement(statement, first)
                inst_name = None
                name_tok = self.peek()
                if name_tok[0] == lx.LOCAL and self.peek(1)[1] == "=":
                    self.next()
                    self.next()
                    inst_name = _local_key(name_tok[1])
                inst_offset = self.peek()[2]
                inst = self.parse_instruction()
                inst.location = self.location(inst_offset)
                inst.metadata = self._parse_attachments()
                self.end_statement()
            inst.parent = current
            if inst_name is not None:
                if inst_name.isdigit():
                    next_number = int(inst_name) + 1
                else:
                    inst.name = _key_name(inst_name)
                if inst_name in self.locals:
                    raise CompileError(f"value '%{_key_name(inst_name)}' defined twice",
                                       inst.location)
                self.locals[inst_name] = inst
            current.instructions.append(inst)
            if inst.is_terminator:
                current = None
        self._patch_forward_refs(fn)
        return k - 1

    # records -> LLVM 14 intrinsics; #dbg_assign has none in LLVM 14 and is dropped
    _DEBUG_RECORDS = {"#dbg_value": "llvm.dbg.value", "#dbg_declare": "llvm.dbg.declare",
                      "#dbg_label": "llvm.dbg.label"}

    def _debug_record(self, text: str, line: int) -> Call | None:
        """``#dbg_value(v, !var, !expr, !loc)`` as ``call @llvm.dbg.value(...), !dbg !loc``."""
        kind = text[:text.index("(")]
        intrinsic = self._DEBUG_RECORDS.get(kind)
        if intrinsic is None:
            return None
        self.begin_statement(text, line)
        self.next()
        self.expect("(")
        operands: list[Metadata] = []
        while True:
            operands.append(self.parse_metadata_operand())
            if self.accept(")"):
                break
            self.expect(",")
        self.end_statement()
        location = operands.pop()
        fnty = FunctionType(VOID, tuple(METADATA for _ in operands))
        callee = self.globals.get(intrinsic)
        if not isinstance(callee, Function):
            callee = Function(PointerType(0), name=intrinsic, function_type=fnty,
                              args=[Argument(METADATA) for _ in operands],
                              fn_attrs=["nocallback", "nofree", "nosync", "nounwind",
                                        "readnone", "speculatable", "willreturn"])
            self.globals[intrinsic] = callee
            self.module.functions.append(callee)
        args: list[Value] = [MetadataValue(METADATA, md=md) for md in operands]
        return Call(VOID, opcode="call", ops=[*args, callee], function_type=fnty,
                    arg_attrs=[[] for _ in args], metadata=[("dbg", location)],
                    location=SourceLocation(self.file, line, 5))

    def _patch_forward_refs(self, fn: Function) -> None:
        if not self.forward:
            return
        mapping: dict[int, Value] = {}
        for name, ref in self.forward.items():
            value = self.locals.get(name)
            if value is None:
                raise self.error(f"use of undefined value '%{name}'", ref.offset)
            mapping[id(ref)] = value
        for inst in fn.instructions():
            ops = inst.ops
            for k, op in enumerate(ops):
                if isinstance(op, _ForwardRef):
                    ops[k] = mapping[id(op)]
            if isinstance(inst, Call):
                for bundle in inst.bundles:
                    bundle.inputs = [mapping[id(v)] if isinstance(v, _ForwardRef) else v
                                     for v in bundle.inputs]
        for inst in fn.instructions():
            for op in inst.ops:
                if isinstance(op, MetadataValue):
                    _patch_md(op.md, mapping)

    def _parse_attachments(self) -> list[tuple[str, Metadata]]:
        attachments: list[tuple[str, Metadata]] = []
        while self.at(","):
            if self.peek(1)[0] != lx.META:
                break
            self.next()
            kind = self.next()[1][1:]
            attachments.append((kind, self.parse_metadata_operand()))
        return attachments

    def parse_instruction(self) -> Instruction:
        kind, op, offset = self.next()
        if kind != lx.WORD:
            raise self.error(f"expected an instruction but found '{op}'", offset)
        handler = _INSTRUCTION_PARSERS.get(op)
        if handler is not None:
            return handler(self, op)
        if op in BINARY_OPS:
            return self._parse_binary(op)
        if op in CAST_OPS:
            return self._parse_cast(op)
        if op in ("tail", "musttail", "notail"):
            self.expect("call")
            return self._parse_call(op)
        raise self.error(f"instruction '{op}' is not supported", offset)

    def _parse_flags(self) -> tuple[str, ...]:
        flags: list[str] = []
        while self.peek()[1] in INST_FLAGS:
            flags.append(self.next()[1])
        return tuple(flags)

    def _parse_binary(self, op: str) -> Instruction:
        flags = self._parse_flags()
        ty = self.parse_type()
        lhs = self.parse_value(ty)
        self.expect(",")
        rhs = self.parse_value(ty)
        return BinaryOp(ty, opcode=op, ops=[lhs, rhs], flags=flags)

    def _parse_cast(self, op: str) -> Instruction:
        flags = self._parse_flags()
        src = self.parse_typed_value()
        self.expect("to")
        dest = self.parse_type()
        return Cast(dest, opcode=op, ops=[src], flags=flags)

    def _parse_fneg(self, op: str) -> Instruction:
        flags = self._parse_flags()
        ty = self.parse_type()
        return UnaryOp(ty, opcode=op, ops=[self.parse_value(ty)], flags=flags)

    def _parse_cmp(self, op: str) -> Instruction:
        flags = self._parse_flags()
        pred = self.next()[1]
        ty = self.parse_type()
        lhs = self.parse_value(ty)
        self.expect(",")
        rhs = self.parse_value(ty)
        result: Type = I1
        if isinstance(ty, VectorType):
            result = VectorType(ty.count, I1, ty.scalable)
        return Compare(result, opcode=op, ops=[lhs, rhs], predicate=pred, flags=flags)

    def _parse_select(self, op: str) -> Instruction:
        flags = self._parse_flags()
        cond = self.parse_typed_value()
        self.expect(",")
        tval = self.parse_typed_value()
        self.expect(",")
        fval = self.parse_typed_value()
        return Select(tval.ty, opcode=op,
                      ops=[cond, tval, fval], flags=flags)

    def _parse_phi(self, op: str) -> Instruction:
        flags = self._parse_flags()
        ty = self.parse_type()
        values: list[Value] = []
        blocks: list[BasicBlock] = []
        while True:
            self.expect("[")
            values.append(self.parse_value(ty))
            self.expect(",")
            label = self.expect_kind(lx.LOCAL, "a block label")[1]
            blocks.append(self._block(_local_key(label)))
            self.expect("]")
            if not (self.at(",") and self.peek(1)[1] == "["):
                break
            self.next()
        return Phi(ty, opcode=op, ops=values, blocks=blocks, flags=flags)

    def _parse_alloca(self, op: str) -> Instruction:
        inalloca = self.accept("inalloca")
        allocated = self.parse_type()
        inst = Alloca(PointerType(0), opcode=op, allocated_type=allocated, inalloca=inalloca)
        while self.accept(","):
            word = self.peek()[1]
            if word == "align":
                self.next()
                inst.align = self.parse_int()
            elif word == "addrspace":
                inst.addrspace = self.parse_addrspace()
            elif self.peek()[0] == lx.META:
                self.i -= 1
                break
            else:
                inst.ops = [self.parse_typed_value()]
        inst.ty = TypedPointerType(allocated, inst.addrspace) if self.typed \
            else PointerType(inst.addrspace)
        return inst

    def _parse_load(self, op: str) -> Instruction:
        atomic = self.accept("atomic")
        volatile = self.accept("volatile")
        ty = self.parse_type()
        self.expect(",")
        ptr = self.parse_typed_value()
        inst = Load(ty, opcode=op, ops=[ptr], volatile=volatile)
        if atomic:
            inst.syncscope = self._parse_syncscope()
            inst.ordering = self.next()[1]
        inst.align = self._parse_trailing_align()
        return inst

    def _parse_store(self, op: str) -> Instruction:
        atomic = self.accept("atomic")
        volatile = self.accept("volatile")
        value = self.parse_typed_value()
        self.expect(",")
        ptr = self.parse_typed_value()
        inst = Store(VOID, opcode=op, ops=[value, ptr], volatile=volatile)
        if atomic:
            inst.syncscope = self._parse_syncscope()
            inst.ordering = self.next()[1]
        inst.align = self._parse_trailing_align()
        return inst

    def _parse_syncscope(self) -> str | None:
        if self.accept("syncscope"):
            self.expect("(")
            scope = self.parse_string()
            self.expect(")")
            return scope
        return None

    def _parse_trailing_align(self) -> int | None:
        if self.at(",") and self.peek(1)[1] == "align":
            self.next()
            self.next()
            return self.parse_int()
        return None

    def _parse_gep(self, op: str) -> Instruction:
        flags: list[str] = []
        while self.peek()[1] in ("inbounds", "nuw", "nusw"):
            flags.append(self.next()[1])
        source = self.parse_type()
        self.expect(",")
        base = self.parse_typed_value()
        ops = [base]
        while self.at(",") and self.peek(1)[0] != lx.META:
            self.next()
            ops.append(self.parse_typed_value())
        result: Type = base.ty
        if self.typed:
            result = self._typed_gep_result(source, base.ty, ops[1:])
        for idx in ops:
            if isinstance(idx.ty, VectorType) and not isinstance(result, VectorType):
                result = VectorType(idx.ty.count, result, idx.ty.scalable)
        return GetElementPtr(result, opcode=op, ops=ops, source_type=source, flags=tuple(flags))

    def _typed_gep_result(self, source: Type, base_ty: Type, indices: list[Value]) -> Type:
        ty = source
        for idx in indices[1:]:
            if isinstance(ty, NamedStructType):
                body = self.module.structs.get(ty.name)
                if body is None:
                    raise self.error(f"getelementptr into opaque struct %{ty.name}")
                ty = body
            if isinstance(ty, StructType):
                if not isinstance(idx, ConstantInt):
                    raise self.error("struct index of getelementptr is not a constant")
                ty = ty.fields[idx.value]
            elif isinstance(ty, ArrayType | VectorType):
                ty = ty.element
        pointer = base_ty.element if isinstance(base_ty, VectorType) else base_ty
        addrspace = getattr(pointer, "addrspace", 0)
        return TypedPointerType(ty, addrspace)

    def type_from_text(self, text: str) -> Type:
        """A type spelled as text, parsed once per spelling."""
        ty = self.type_cache.get(text)
        if ty is None:
            saved = (self.stmt_text, self.stmt_line, self.toks, self.i)
            self.begin_statement(text, self.stmt_line)
            ty = self.parse_type()
            self.end_statement()
            self.stmt_text, self.stmt_line, self.toks, self.i = saved
            self.type_cache[text] = ty
        return ty

    def _parse_call(self, tail: str = "") -> Instruction:
        flags = self._parse_flags()
        cc = ""
        word = self.peek()[1]
        if word in CALLING_CONVENTIONS:
            cc = self.next()[1]
        elif word == "cc":
            self.next()
            cc = f"cc {self.parse_int()}"
        ret_attrs = self.parse_attributes(param=True)
        addrspace = None
        if self.at("addrspace"):
            addrspace = self.parse_addrspace()
        ty = self.parse_type()
        args: list[Value] = []
        arg_attrs: list[list[str]] = []
        # callee: its type is the function type (if given) or a pointer
        if isinstance(ty, FunctionType):
            fnty = ty
            callee = self.parse_value(PointerType(0))
        else:
            callee = self.parse_value(PointerType(0))
            fnty = None
        self.expect("(")
        arg_types: list[Type] = []
        if not self.accept(")"):
            while True:
                aty = self.parse_type()
                attrs = self.parse_attributes(param=True)
                if aty == METADATA:
                    args.append(MetadataValue(METADATA, md=self.parse_metadata_operand()))
                else:
                    args.append(self.parse_value(aty))
                arg_types.append(aty)
                arg_attrs.append(attrs)
                if self.accept(")"):
                    break
                self.expect(",")
        if fnty is None:
            fnty = FunctionType(ty, tuple(arg_types))
        if isinstance(callee, InlineAsm):
            callee.ty = PointerType(0)
        fn_attrs: list[str] = []
        while True:
            kind, w, _ = self.peek()
            if kind == lx.ATTRGRP:
                fn_attrs.append(self.next()[1])
            elif kind == lx.WORD and w in _ATTR_WORDS:
                fn_attrs.extend(self.parse_attributes(param=False))
            elif kind == lx.STRING:
                fn_attrs.extend(self.parse_attributes(param=False))
            else:
                break
        bundles: list[OperandBundle] = []
        if self.at("["):
            self.next()
            while True:
                tag = self.parse_string()
                self.expect("(")
                inputs: list[Value] = []
                if not self.accept(")"):
                    while True:
                        inputs.append(self.parse_typed_value())
                        if self.accept(")"):
                            break
                        self.expect(",")
                bundles.append(OperandBundle(tag, inputs))
                if self.accept("]"):
                    break
                self.expect(",")
        return Call(fnty.ret, opcode="call", ops=[*args, callee], function_type=fnty, cc=cc,
                    tail=tail, flags=flags, ret_attrs=ret_attrs, arg_attrs=arg_attrs,
                    fn_attrs=fn_attrs, bundles=bundles, addrspace=addrspace)

    def _parse_call_inst(self, op: str) -> Instruction:
        return self._parse_call("")

    def _parse_atomicrmw(self, op: str) -> Instruction:
        volatile = self.accept("volatile")
        operation = self.next()[1]
        ptr = self.parse_typed_value()
        self.expect(",")
        value = self.parse_typed_value()
        scope = self._parse_syncscope()
        ordering = self.next()[1]
        inst = AtomicRMW(value.ty, opcode=op, ops=[ptr, value], operation=operation,
                         volatile=volatile, ordering=ordering, syncscope=scope)
        inst.align = self._parse_trailing_align()
        return inst

    def _parse_cmpxchg(self, op: str) -> Instruction:
        weak = self.accept("weak")
        volatile = self.accept("volatile")
        ptr = self.parse_typed_value()
        self.expect(",")
        cmp = self.parse_typed_value()
        self.expect(",")
        new = self.parse_typed_value()
        scope = self._parse_syncscope()
        success = self.next()[1]
        failure = self.next()[1]
        inst = CmpXchg(StructType((cmp.ty, I1)), opcode=op, ops=[ptr, cmp, new], weak=weak,
                       volatile=volatile, success_ordering=success, failure_ordering=failure,
                       syncscope=scope)
        inst.align = self._parse_trailing_align()
        return inst

    def _parse_fence(self, op: str) -> Instruction:
        scope = self._parse_syncscope()
        return Fence(VOID, opcode=op, ordering=self.next()[1], syncscope=scope)

    def _parse_extractvalue(self, op: str) -> Instruction:
        agg = self.parse_typed_value()
        indices = self._parse_index_list()
        return ExtractValue(_aggregate_member(self.module, agg.ty, indices), opcode=op,
                            ops=[agg], indices=indices)

    def _parse_insertvalue(self, op: str) -> Instruction:
        agg = self.parse_typed_value()
        self.expect(",")
        value = self.parse_typed_value()
        return InsertValue(agg.ty, opcode=op, ops=[agg, value], indices=self._parse_index_list())

    def _parse_index_list(self) -> list[int]:
        indices: list[int] = []
        while self.at(",") and self.peek(1)[0] == lx.INT:
            self.next()
            indices.append(self.parse_int())
        return indices

    def _parse_extractelement(self, op: str) -> Instruction:
        vec = self.parse_typed_value()
        self.expect(",")
        idx = self.parse_typed_value()
        assert isinstance(vec.ty, VectorType)
        return ExtractElement(vec.ty.element, opcode=op, ops=[vec, idx])

    def _parse_insertelement(self, op: str) -> Instruction:
        vec = self.parse_typed_value()
        self.expect(",")
        elt = self.parse_typed_value()
        self.expect(",")
        idx = self.parse_typed_value()
        return InsertElement(vec.ty, opcode=op, ops=[vec, elt, idx])

    def _parse_shufflevector(self, op: str) -> Instruction:
        v1 = self.parse_typed_value()
        self.expect(",")
        v2 = self.parse_typed_value()
        self.expect(",")
        mask_ty = self.parse_type()
        mask_const = self.parse_constant(mask_ty)
        assert isinstance(mask_ty, VectorType) and isinstance(v1.ty, VectorType)
        mask = _shuffle_mask(mask_const, mask_ty.count)
        return ShuffleVector(VectorType(mask_ty.count, v1.ty.element, mask_ty.scalable),
                             opcode=op, ops=[v1, v2], mask=mask)

    def _parse_freeze(self, op: str) -> Instruction:
        value = self.parse_typed_value()
        return Freeze(value.ty, opcode=op, ops=[value])

    def _parse_ret(self, op: str) -> Instruction:
        ty = self.parse_type()
        if ty == VOID:
            return Return(VOID, opcode=op)
        return Return(VOID, opcode=op, ops=[self.parse_value(ty)])

    def _parse_br(self, op: str) -> Instruction:
        if self.at("label"):
            self.next()
            target = self._block(_local_key(self.expect_kind(lx.LOCAL, "a label")[1]))
            return Branch(VOID, opcode=op, targets=[target])
        cond = self.parse_typed_value()
        targets = []
        for _ in range(2):
            self.expect(",")
            self.expect("label")
            targets.append(self._block(_local_key(self.expect_kind(lx.LOCAL, "a label")[1])))
        return Branch(VOID, opcode=op, ops=[cond], targets=targets)

    def _parse_switch(self, op: str) -> Instruction:
        value = self.parse_typed_value()
        self.expect(",")
        self.expect("label")
        default = self._block(_local_key(self.expect_kind(lx.LOCAL, "a label")[1]))
        self.expect("[")
        ops: list[Value] = [value]
        targets = [default]
        while not self.accept("]"):
            ops.append(self.parse_typed_value())
            self.expect(",")
            self.expect("label")
            targets.append(self._block(_local_key(self.expect_kind(lx.LOCAL, "a label")[1])))
        return Switch(VOID, opcode=op, ops=ops, targets=targets)

    def _parse_unreachable(self, op: str) -> Instruction:
        return Unreachable(VOID, opcode=op)

    def _parse_unsupported(self, op: str) -> Instruction:
        raise self.error(f"instruction '{op}' is not supported on GPUs "
                         "(exception handling, varargs and indirect branches have no AIR form)",
                         self.toks[self.i - 1][2])


def _patch_md(md: Metadata | None, mapping: dict[int, Value]) -> None:
    if isinstance(md, MDValue) and isinstance(md.value, _ForwardRef):
        md.value = mapping[id(md.value)]
    elif isinstance(md, MDNode):
        for op in md.operands:
            if isinstance(op, MDValue):
                _patch_md(op, mapping)


def _shuffle_mask(mask: Constant, count: int) -> list[int | None]:
    if isinstance(mask, ConstantZero):
        return [0] * count
    if isinstance(mask, Undef | Poison):
        return [None] * count
    if isinstance(mask, ConstantAggregate):
        return [e.value if isinstance(e, ConstantInt) else None for e in mask.elements]
    raise CompileError("unsupported shufflevector mask")


def _aggregate_member(module: Module, ty: Type, indices: list[int]) -> Type:
    for idx in indices:
        if isinstance(ty, NamedStructType):
            body = module.structs.get(ty.name)
            if body is None:
                raise CompileError(f"extractvalue from opaque struct %{ty.name}")
            ty = body
        if isinstance(ty, StructType):
            ty = ty.fields[idx]
        elif isinstance(ty, ArrayType | VectorType):
            ty = ty.element
        else:
            raise CompileError(f"extractvalue index into non-aggregate type {ty}")
    return ty


_INSTRUCTION_PARSERS = {
    "fneg": InstructionParser._parse_fneg,
    "icmp": InstructionParser._parse_cmp,
    "fcmp": InstructionParser._parse_cmp,
    "select": InstructionParser._parse_select,
    "phi": InstructionParser._parse_phi,
    "alloca": InstructionParser._parse_alloca,
    "load": InstructionParser._parse_load,
    "store": InstructionParser._parse_store,
    "getelementptr": InstructionParser._parse_gep,
    "call": InstructionParser._parse_call_inst,
    "atomicrmw": InstructionParser._parse_atomicrmw,
    "cmpxchg": InstructionParser._parse_cmpxchg,
    "fence": InstructionParser._parse_fence,
    "extractvalue": InstructionParser._parse_extractvalue,
    "insertvalue": InstructionParser._parse_insertvalue,
    "extractelement": InstructionParser._parse_extractelement,
    "insertelement": InstructionParser._parse_insertelement,
    "shufflevector": InstructionParser._parse_shufflevector,
    "freeze": InstructionParser._parse_freeze,
    "ret": InstructionParser._parse_ret,
    "br": InstructionParser._parse_br,
    "switch": InstructionParser._parse_switch,
    "unreachable": InstructionParser._parse_unreachable,
    "va_arg": InstructionParser._parse_unsupported,
    "invoke": InstructionParser._parse_unsupported,
    "landingpad": InstructionParser._parse_unsupported,
    "resume": InstructionParser._parse_unsupported,
    "indirectbr": InstructionParser._parse_unsupported,
    "callbr": InstructionParser._parse_unsupported,
    "catchswitch": InstructionParser._parse_unsupported,
    "catchpad": InstructionParser._parse_unsupported,
    "cleanuppad": InstructionParser._parse_unsupported,
    "catchret": InstructionParser._parse_unsupported,
    "cleanupret": InstructionParser._parse_unsupported,
}
