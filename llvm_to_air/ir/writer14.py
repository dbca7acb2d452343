"""Print a :class:`Module` as LLVM 14 textual IR (typed pointers, legacy attributes).

Pointer values get pointee types from :mod:`llvm_to_air.ir.pointee`; where a
use needs another pointee the writer prints a ``bitcast`` (an instruction
named ``%.tpN`` for SSA values, a constant expression for constants). What
LLVM 14 lacks is downgraded through the tables in :mod:`llvm_to_air.ir.llvm14`;
what cannot be expressed at all raises :class:`CompileError`.
"""

from __future__ import annotations

from collections.abc import Iterable

from llvm_to_air.errors import CompileError
from llvm_to_air.ir import llvm14
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.lexer import escape, format_name
from llvm_to_air.ir.model import (
    Alloca,
    AtomicRMW,
    BasicBlock,
    BinaryOp,
    BlockAddress,
    Branch,
    Call,
    Cast,
    CmpXchg,
    Compare,
    Constant,
    ConstantAggregate,
    ConstantExpr,
    ConstantFP,
    ConstantInt,
    ConstantNull,
    ConstantString,
    ConstantZero,
    ExtractElement,
    ExtractValue,
    Fence,
    Freeze,
    Function,
    GetElementPtr,
    GlobalAlias,
    GlobalValue,
    GlobalVariable,
    InlineAsm,
    InsertElement,
    InsertValue,
    Instruction,
    Load,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    MetadataValue,
    Module,
    Phi,
    Poison,
    Return,
    Select,
    ShuffleVector,
    SpecializedMDNode,
    Store,
    Switch,
    UnaryOp,
    Undef,
    Unreachable,
    Value,
)
from llvm_to_air.ir.plan14 import INSTRUCTION_HANDLERS, Plan14, WriterOptions
from llvm_to_air.ir.plan14 import adapts as _adapts
from llvm_to_air.ir.plan14 import md_operands as _md_operands
from llvm_to_air.ir.plan14 import pointer_to as _pointer_to
from llvm_to_air.ir.plan14 import produces_value as _produces_value
from llvm_to_air.ir.types import (
    I1,
    ArrayType,
    NamedStructType,
    PointerType,
    StructType,
    TokenType,
    Type,
    TypedPointerType,
    VectorType,
)


def write_llvm14(module: Module, options: WriterOptions | None = None) -> str:
    """LLVM 14 text for ``module``; raises CompileError for constructs LLVM 14 cannot express."""
    with gc_paused():
        return _Writer(module, options or WriterOptions()).write()


class _Writer(Plan14):
    def __init__(self, module: Module, options: WriterOptions) -> None:
        super().__init__(module, options)
        self.attr_groups: dict[tuple[str, ...], int] = {}
        self.md = _MetadataNumbering(self)
        # per-function state
        self.slots: dict[object, str] = {}
        self.pre_lines: list[str] = []
        self.tail_lines: dict[BasicBlock, list[str]] = {}

    # ------------------------------------------------------------------ types

    def t(self, ty: Type) -> str:
        """A model type in typed form (opaque pointers nested in it become i8 pointers)."""
        return str(self.canon(ty))

    # ----------------------------------------------------------------- module

    def write(self) -> str:
        m = self.m
        functions = self.ordered_functions()
        out: list[str] = []
        if m.source_filename is not None:
            out.append(f'source_filename = "{escape(m.source_filename.encode())}"')
        if m.datalayout is not None:
            out.append(f'target datalayout = "{escape(m.datalayout.encode())}"')
        if m.triple is not None:
            out.append(f'target triple = "{escape(m.triple.encode())}"')
        out.append("")
        for asm in m.module_asm:
            out.append(f'module asm "{escape(asm.encode())}"')
        if m.structs:
            for name, body in m.structs.items():
                out.append(f"%{name} = type " + ("opaque" if body is None else self.t(body)))
            out.append("")
        for name, kind in m.comdats.items():
            out.append(f"${format_name(name)} = comdat {kind}")
        body_lines: list[str] = []
        for gv in m.globals:
            body_lines.append(self._global(gv))
        for ga in m.aliases:
            body_lines.append(self._alias(ga))
        if body_lines:
            out.extend(body_lines)
            out.append("")
        for fn in functions:
            out.extend(self._function(fn))
            out.append("")
        for attrs, number in self.attr_groups.items():
            out.append(f"attributes #{number} = {{ {' '.join(attrs)} }}")
        if self.attr_groups:
            out.append("")
        out.extend(self.md.named_lines())
        out.extend(self.md.numbered_lines())
        return "\n".join(out).rstrip("\n") + "\n"

    def gname(self, gv: GlobalValue) -> str:
        """A global's spelling: ``@N`` for unnamed ones, else its quoted name."""
        found = self.global_names[gv]
        return f"@{found.name}" if found.numbered else "@" + format_name(found.name)

    # --------------------------------------------------------------- globals

    def _global(self, gv: GlobalVariable) -> str:
        words = [f"{self.gname(gv)} ="]
        if gv.linkage:
            words.append(gv.linkage)
        words.extend(q for q in gv.qualifiers)
        if gv.addrspace:
            words.append(f"addrspace({gv.addrspace})")
        if gv.externally_initialized:
            words.append("externally_initialized")
        words.append("constant" if gv.is_constant else "global")
        vty = self.canon(gv.value_type)
        words.append(str(vty))
        if gv.initializer is not None:
            words.append(self.const_as(gv.initializer, vty))
        text = " ".join(words)
        if gv.section is not None:
            text += f', section "{escape(gv.section.encode())}"'
        if gv.partition is not None:
            text += f', partition "{escape(gv.partition.encode())}"'
        if gv.comdat is not None:
            text += ", comdat" if gv.comdat == gv.name else f", comdat(${format_name(gv.comdat)})"
        if gv.align is not None:
            text += f", align {gv.align}"
        for kind, md in gv.metadata:
            if self.keep_attachment(kind, md):
                text += f", !{kind} {self.md.ref(md)}"
        attrs = self.attrs14(gv.attrs_group)
        if attrs:
            text += f" #{self._attr_group(attrs)}"
        return text

    def _alias(self, ga: GlobalAlias) -> str:
        if ga.is_ifunc:
            raise CompileError(f"ifunc @{ga.name} has no meaning on GPUs", ga.location)
        words = [f"{self.gname(ga)} ="]
        if ga.linkage:
            words.append(ga.linkage)
        words.extend(ga.qualifiers)
        vty = self.canon(ga.value_type)
        assert ga.aliasee is not None
        target = TypedPointerType(vty, ga.ty.addrspace if isinstance(ga.ty, PointerType) else 0)
        words.append(f"alias {vty}, {target} {self.const_as(ga.aliasee, target)}")
        return " ".join(words)

    # ------------------------------------------------------------- functions

    def _function(self, fn: Function) -> list[str]:
        self.current = fn
        sig = self.pointees.signature(fn)
        head = ["define" if not fn.is_declaration else "declare"]
        if fn.linkage and not (fn.is_declaration and fn.linkage == "external"):
            head.append(fn.linkage)
        head.extend(q for q in fn.qualifiers if q not in ("unnamed_addr", "local_unnamed_addr"))
        if fn.cc:
            head.append(fn.cc)
        head.extend(self.attrs14(fn.ret_attrs))
        head.append(str(sig.ret))
        self._number_function(fn)
        params = []
        for arg, pty in zip(fn.args, sig.params, strict=True):
            text = str(pty)
            attrs = self.attrs14(arg.attrs)
            if attrs:
                text += " " + " ".join(attrs)
            if not fn.is_declaration:
                text += " " + self.slots[arg]
            params.append(text)
        restored = self.restored(fn)
        if restored is not None:
            params.insert(restored.position, f"{restored.type} immarg")
        if sig.vararg:
            params.append("...")
        text = " ".join(head) + f" {self.gname(fn)}({', '.join(params)})"
        suffix = [q for q in fn.qualifiers if q in ("unnamed_addr", "local_unnamed_addr")]
        suffix.extend(fn.prefix_words)
        attrs = self.attrs14(fn.fn_attrs)
        if attrs:
            suffix.append(f"#{self._attr_group(attrs)}")
        if fn.section is not None:
            suffix.append(f'section "{escape(fn.section.encode())}"')
        if fn.partition is not None:
            suffix.append(f'partition "{escape(fn.partition.encode())}"')
        if fn.comdat is not None:
            suffix.append("comdat" if fn.comdat == fn.name else f"comdat(${format_name(fn.comdat)})")
        if fn.align is not None:
            suffix.append(f"align {fn.align}")
        if fn.gc is not None:
            suffix.append(f'gc "{escape(fn.gc.encode())}"')
        if fn.personality is not None:
            suffix.append(f"personality {self.typed_const(fn.personality)}")
        attachments = [f"!{kind} {self.md.ref(md)}" for kind, md in fn.metadata
                       if self.keep_attachment(kind, md)]
        if fn.is_declaration and attachments:  # LLVM 14: "declare !kind !N <type> @f(...)"
            text = text.replace("declare ", "declare " + " ".join(attachments) + " ", 1)
        else:
            suffix.extend(attachments)
        if suffix:
            text += " " + " ".join(suffix)
        if fn.is_declaration:
            self.current = None
            return [text]
        lines = [text + " {"]
        lines.extend(self._body(fn))
        lines.append("}")
        self.current = None
        return lines

    def _number_function(self, fn: Function) -> None:
        """Slot names for arguments, blocks and values, numbering unnamed ones as LLVM does."""
        slots: dict[object, str] = {}
        counter = 0
        for arg in fn.args:
            if arg.name is None:
                slots[arg] = f"%{counter}"
                counter += 1
            else:
                slots[arg] = "%" + format_name(arg.name)
        for block in fn.blocks:
            if block.name is None:
                slots[block] = f"%{counter}"
                counter += 1
            else:
                slots[block] = "%" + format_name(block.name)
            for inst in block.instructions:
                if inst.name is not None:
                    slots[inst] = "%" + format_name(inst.name)
                elif _produces_value(inst):
                    slots[inst] = f"%{counter}"
                    counter += 1
        self.slots = slots
        self.begin_function(fn)

    def _body(self, fn: Function) -> list[str]:
        self.tail_lines = {}
        self._plan_phi_casts(fn)
        lines: list[str] = []
        for k, block in enumerate(fn.blocks):
            if k > 0:
                lines.append("")
            label = self.slots[block][1:]
            if k > 0 or block.name is not None:
                lines.append(f"{label}:")
            block_lines: list[str] = []
            for inst in block.instructions:
                self.pre_lines = []
                self.current_inst = inst
                text = self._instruction(inst)
                if inst.is_terminator:
                    block_lines.extend("  " + line for line in self.tail_lines.get(block, []))
                block_lines.extend("  " + line for line in self.pre_lines)
                if text is not None:
                    block_lines.append("  " + text)
            lines.extend(block_lines)
        return lines

    def _plan_phi_casts(self, fn: Function) -> None:
        for cast in self.phi_casts(fn):
            name = "%" + cast.name
            if not cast.shared:
                self.tail_lines.setdefault(cast.pred, []).append(
                    f"{name} = bitcast {cast.have} {self.ref(cast.value)} to {cast.want}")
            self.slots[("phi", id(cast.phi), id(cast.value), id(cast.pred))] = name

    # ------------------------------------------------------------ operands

    def ref(self, value: Value) -> str:
        """The bare spelling of a value (no type)."""
        slot = self.slots.get(value)
        if slot is not None:
            return slot
        if isinstance(value, Constant):
            return self.const_body(value)
        if isinstance(value, MetadataValue):
            return self.md.inline(value.md)
        if isinstance(value, InlineAsm):
            flags = "".join(f" {f}" for f in value.flags)
            return (f'asm{flags} "{escape(value.asm.encode())}", '
                    f'"{escape(value.constraints.encode())}"')
        raise CompileError(f"value of type {value.ty} has no name in this function",
                           self.location())

    def operand(self, value: Value, want: Type | None = None) -> str:
        """``<type> <value>`` with ``value`` cast to ``want`` when its typed type differs."""
        have = self.vtype(value)
        if want is None or want == have:
            return f"{have} {self.ref(value)}"
        return f"{want} {self.coerce(value, have, want)}"

    def coerce(self, value: Value, have: Type, want: Type) -> str:
        if _adapts(value):
            return self.const_body(value, want)  # type: ignore[arg-type]
        if isinstance(value, Constant):
            return f"bitcast ({have} {self.ref(value)} to {want})"
        name = "%" + self.fresh_cast_name()
        self.pre_lines.append(f"{name} = bitcast {have} {self.ref(value)} to {want}")
        return name

    def typed_const(self, value: Constant) -> str:
        return f"{self.vtype(value)} {self.const_body(value)}"

    def const_as(self, value: Constant, want: Type) -> str:
        """A constant's spelling as a value of typed type ``want`` (no type prefix)."""
        if _adapts(value):
            return self.const_body(value, want)
        have = self.vtype(value)
        if have == want:
            return self.const_body(value, want)
        return f"bitcast ({have} {self.const_body(value)} to {want})"

    def const_body(self, c: Constant, want: Type | None = None) -> str:
        if isinstance(c, GlobalValue):
            return self.gname(c)
        if isinstance(c, ConstantInt):
            if c.ty == I1:
                return "true" if c.value else "false"
            return str(c.value)
        if isinstance(c, ConstantFP):
            return c.text
        if isinstance(c, ConstantNull):
            return "none" if isinstance(c.ty, TokenType) else "null"
        if isinstance(c, ConstantZero):
            return "zeroinitializer"
        if isinstance(c, Undef):
            return "undef"
        if isinstance(c, Poison):
            return "poison"
        if isinstance(c, ConstantString):
            return f'c"{escape(c.data)}"'
        if isinstance(c, ConstantAggregate):
            return self._aggregate(c, want)
        if isinstance(c, ConstantExpr):
            return self._constant_expr(c)
        if isinstance(c, BlockAddress):
            assert c.function is not None and c.block is not None
            block = "%" + format_name(c.block.name or "")
            return f"blockaddress({self.gname(c.function)}, {block})"
        raise CompileError(f"constant {type(c).__name__} cannot be printed", self.location())

    def _aggregate(self, c: ConstantAggregate, want: Type | None) -> str:
        ty, fields = self.aggregate_fields(c, want)
        items = ", ".join(f"{ft} {self.const_as(e, ft)}" for ft, e in zip(fields, c.elements,
                                                                          strict=True))
        if isinstance(ty, ArrayType):
            return f"[{items}]"
        if isinstance(ty, VectorType):
            return f"<{items}>"
        body = self.m.structs.get(ty.name) if isinstance(ty, NamedStructType) else ty
        inner = f"{{ {items} }}" if items else "{}"
        return f"<{inner}>" if isinstance(body, StructType) and body.packed else inner

    def _constant_expr(self, c: ConstantExpr) -> str:
        op = c.opcode
        if op == "getelementptr":
            assert c.source_type is not None
            source = self.canon(c.source_type)
            flags = " inbounds" if "inbounds" in c.flags else ""
            base, *indices = c.ops
            base_want = _pointer_to(source, base.ty)
            parts = [f"{base_want} {self.const_as(base, base_want)}"]
            parts.extend(self.typed_const(i) for i in indices)
            return f"getelementptr{flags} ({source}, {', '.join(parts)})"
        if op in ("ptrtoaddr",):
            op = "ptrtoint"
        if len(c.ops) == 1:
            src = c.ops[0]
            dest = self.vtype(c)
            return f"{op} ({self.typed_const(src)} to {dest})"
        if op in ("extractelement", "insertelement", "shufflevector", "select"):
            return f"{op} ({', '.join(self.typed_const(x) for x in c.ops)})"
        flags = "".join(f" {f}" for f in c.flags if f in llvm14.ALLOWED_FLAGS.get(op, ()))
        pred = f" {c.predicate}" if c.predicate else ""
        lhs = self.typed_const(c.ops[0])
        want = self.vtype(c.ops[0])
        rest = ", ".join(f"{want} {self.const_as(x, want)}" for x in c.ops[1:])
        return f"{op}{flags}{pred} ({lhs}, {rest})"

    # ---------------------------------------------------------- instructions

    def _instruction(self, inst: Instruction) -> str | None:
        handler = _HANDLERS.get(type(inst))
        if handler is None:
            raise CompileError(f"instruction '{inst.opcode}' cannot be written as LLVM 14",
                               self.location())
        text = handler(self, inst)
        if text is None:
            return None
        if _produces_value(inst):
            text = f"{self.slots[inst]} = {text}"
        for kind, md in inst.metadata:
            if self.keep_attachment(kind, md):
                text += f", !{kind} {self.md.ref(md)}"
        return text

    def _flags(self, opcode: str, flags: Iterable[str]) -> str:
        allowed = llvm14.ALLOWED_FLAGS.get(opcode, frozenset())
        return "".join(f" {f}" for f in flags if f in allowed)

    def _binary(self, inst: BinaryOp) -> str:
        lhs, rhs = inst.ops
        return (f"{inst.opcode}{self._flags(inst.opcode, inst.flags)} {self.t(inst.ty)} "
                f"{self.ref(lhs)}, {self.ref(rhs)}")

    def _unary(self, inst: UnaryOp) -> str:
        return f"fneg{self._flags('fneg', inst.flags)} {self.operand(inst.ops[0])}"

    def _cast(self, inst: Cast) -> str:
        op = "ptrtoint" if inst.opcode == "ptrtoaddr" else inst.opcode
        return f"{op} {self.operand(inst.ops[0])} to {self.vtype(inst)}"

    def _compare(self, inst: Compare) -> str:
        lhs, rhs = inst.ops
        ty = self.vtype(lhs) if not _adapts(lhs) else self.vtype(rhs)
        flags = self._flags(inst.opcode, inst.flags)
        return (f"{inst.opcode}{flags} {inst.predicate} {ty} {self._as(lhs, ty)}, "
                f"{self._as(rhs, ty)}")

    def _as(self, value: Value, want: Type) -> str:
        have = self.vtype(value)
        if have == want:
            return self.ref(value)
        return self.coerce(value, have, want)

    def _select(self, inst: Select) -> str:
        cond, tval, fval = inst.ops
        want = self.vtype(inst)
        return (f"select{self._flags('select', inst.flags)} {self.operand(cond)}, "
                f"{self.operand(tval, want)}, {self.operand(fval, want)}")

    def _phi(self, inst: Phi) -> str:
        want = self.vtype(inst)
        parts = []
        for value, pred in zip(inst.ops, inst.blocks, strict=True):
            slot = self.slots.get(("phi", id(inst), id(value), id(pred)))
            if slot is None:
                slot = self.const_as(value, want) if isinstance(value, Constant) \
                    else self.ref(value)
            parts.append(f"[ {slot}, {self.slots[pred]} ]")
        return f"phi{self._flags('phi', inst.flags)} {want} {', '.join(parts)}"

    def _alloca(self, inst: Alloca) -> str:
        allocated = self.pointees.pointee(inst) or self.canon(inst.allocated_type)
        text = "alloca " + ("inalloca " if inst.inalloca else "") + str(allocated)
        if inst.ops:
            text += f", {self.operand(inst.ops[0])}"
        if inst.align is not None:
            text += f", align {inst.align}"
        if inst.addrspace:
            text += f", addrspace({inst.addrspace})"
        return text

    def _memory_suffix(self, ordering: str | None, syncscope: str | None,
                       align: int | None) -> str:
        text = ""
        if ordering is not None:
            if syncscope is not None:
                text += f' syncscope("{escape(syncscope.encode())}")'
            text += f" {ordering}"
        if align is not None:
            text += f", align {align}"
        return text

    def _load(self, inst: Load) -> str:
        ty = self.vtype(inst)
        ptr = inst.ops[0]
        words = "load" + (" atomic" if inst.ordering else "") + (" volatile" if inst.volatile
                                                                 else "")
        return (f"{words} {ty}, {self.operand(ptr, _pointer_to(ty, ptr.ty))}"
                + self._memory_suffix(inst.ordering, inst.syncscope, inst.align))

    def _store(self, inst: Store) -> str:
        value, ptr = inst.ops
        ty = self.vtype(value)
        words = "store" + (" atomic" if inst.ordering else "") + (" volatile" if inst.volatile
                                                                  else "")
        return (f"{words} {ty} {self.ref(value) if not _adapts(value) else self.const_body(value, ty)}, "  # type: ignore[arg-type]
                f"{self.operand(ptr, _pointer_to(ty, ptr.ty))}"
                + self._memory_suffix(inst.ordering, inst.syncscope, inst.align))

    def _gep(self, inst: GetElementPtr) -> str:
        source = self.canon(inst.source_type)
        base, *indices = inst.ops
        flags = " inbounds" if "inbounds" in inst.flags else ""
        parts = [self.operand(base, _pointer_to(source, base.ty))]
        parts.extend(self.operand(i) for i in indices)
        return f"getelementptr{flags} {source}, {', '.join(parts)}"

    def _call(self, inst: Call) -> str | None:
        callee = inst.callee
        if isinstance(callee, Function) and self.is_dropped_declaration(callee):
            return None
        words = []
        if inst.tail:
            words.append(inst.tail)
        words.append("call" + self._flags("call", inst.flags))
        if inst.cc:
            words.append(inst.cc)
        words.extend(self.attrs14(inst.ret_attrs))
        if inst.addrspace:
            words.append(f"addrspace({inst.addrspace})")
        args_text: list[str] = []
        sig, callee_type = self.call_signature(inst)
        restored = self.restored(callee) if isinstance(callee, Function) else None
        if isinstance(callee, Function):
            callee_text = self.gname(callee)
        elif callee_type is None:
            callee_text = self.ref(callee)  # inline asm
        else:
            callee_text = self._as(callee, callee_type)
        arg_attrs = [list(a) for a in inst.arg_attrs]
        restored_text = self._restored_value(restored, inst, arg_attrs) if restored else None
        for k, arg in enumerate(inst.args):
            want = self.call_arg_type(sig, k, arg, arg_attrs)
            attrs = self.attrs14(arg_attrs[k]) if k < len(arg_attrs) else []
            if isinstance(arg, MetadataValue):
                text = f"metadata {self.md.inline(arg.md)}"
            else:
                text = self.operand(arg, want)
            if attrs:
                text = self._insert_attrs(text, want if want is not None else self.vtype(arg),
                                          attrs)
            args_text.append(text)
        if restored is not None and restored_text is not None:
            args_text.insert(restored.position, restored_text)
        ret_text = str(sig) if sig.vararg or (not isinstance(callee, Function) and \
            isinstance(callee, InlineAsm)) else str(sig.ret)
        words.append(ret_text)
        text = " ".join(words) + f" {callee_text}({', '.join(args_text)})"
        fn_attrs = self.attrs14(inst.fn_attrs)
        if fn_attrs:
            text += f" #{self._attr_group(fn_attrs)}"
        if inst.bundles:
            bundles = []
            for bundle in inst.bundles:
                inputs = ", ".join(self.operand(v) for v in bundle.inputs)
                bundles.append(f'"{escape(bundle.tag.encode())}"({inputs})')
            text += f" [ {', '.join(bundles)} ]"
        return text

    @staticmethod
    def _insert_attrs(text: str, ty: Type, attrs: list[str]) -> str:
        prefix = str(ty)
        assert text.startswith(prefix)
        return f"{prefix} {' '.join(attrs)}{text[len(prefix):]}"

    def _restored_value(self, rule: llvm14.RestoredOperand, inst: Call,
                        arg_attrs: list[list[str]]) -> str:
        return f"{rule.type} {self.restored_value(rule, inst, arg_attrs)}"

    def _atomicrmw(self, inst: AtomicRMW) -> str:
        self.check_atomicrmw(inst.operation)
        ptr, value = inst.ops
        ty = self.canon(value.ty)
        words = "atomicrmw" + (" volatile" if inst.volatile else "")
        return (f"{words} {inst.operation} {self.operand(ptr, _pointer_to(ty, ptr.ty))}, "
                f"{ty} {self._as(value, ty)}"
                + self._memory_suffix(inst.ordering, inst.syncscope, inst.align))

    def _cmpxchg(self, inst: CmpXchg) -> str:
        ptr, cmp, new = inst.ops
        ty = self.canon(cmp.ty)
        words = "cmpxchg" + (" weak" if inst.weak else "") + (" volatile" if inst.volatile
                                                               else "")
        scope = f' syncscope("{escape(inst.syncscope.encode())}")' if inst.syncscope else ""
        align = f", align {inst.align}" if inst.align is not None else ""
        return (f"{words} {self.operand(ptr, _pointer_to(ty, ptr.ty))}, {ty} {self._as(cmp, ty)}, "
                f"{ty} {self._as(new, ty)}{scope} {inst.success_ordering} "
                f"{inst.failure_ordering}{align}")

    def _fence(self, inst: Fence) -> str:
        scope = f' syncscope("{escape(inst.syncscope.encode())}")' if inst.syncscope else ""
        return f"fence{scope} {inst.ordering}"

    def _extractvalue(self, inst: ExtractValue) -> str:
        return f"extractvalue {self.operand(inst.ops[0])}, " + ", ".join(map(str, inst.indices))

    def _insertvalue(self, inst: InsertValue) -> str:
        agg, value = inst.ops
        want = self.canon(value.ty)
        return (f"insertvalue {self.operand(agg)}, {self.operand(value, want)}, "
                + ", ".join(map(str, inst.indices)))

    def _extractelement(self, inst: ExtractElement) -> str:
        vec, idx = inst.ops
        return f"extractelement {self.operand(vec)}, {self.operand(idx)}"

    def _insertelement(self, inst: InsertElement) -> str:
        vec, elt, idx = inst.ops
        vty = self.vtype(vec)
        assert isinstance(vty, VectorType)
        return (f"insertelement {vty} {self.ref(vec) if not _adapts(vec) else self.const_body(vec, vty)}, "  # type: ignore[arg-type]
                f"{self.operand(elt, vty.element)}, {self.operand(idx)}")

    def _shufflevector(self, inst: ShuffleVector) -> str:
        v1, v2 = inst.ops
        vty = self.vtype(v1)
        n = len(inst.mask)
        if all(m == 0 for m in inst.mask):
            mask = "zeroinitializer"
        elif all(m is None for m in inst.mask):
            mask = "undef"
        else:
            mask = "<" + ", ".join("i32 undef" if m is None else f"i32 {m}"
                                   for m in inst.mask) + ">"
        return (f"shufflevector {vty} {self._as(v1, vty)}, {vty} {self._as(v2, vty)}, "
                f"<{n} x i32> {mask}")

    def _freeze(self, inst: Freeze) -> str:
        return f"freeze {self.operand(inst.ops[0], self.vtype(inst))}"

    def _ret(self, inst: Return) -> str:
        if not inst.ops:
            return "ret void"
        assert self.current is not None
        want = self.pointees.signature(self.current).ret
        return f"ret {self.operand(inst.ops[0], want)}"

    def _br(self, inst: Branch) -> str:
        if not inst.ops:
            return f"br label {self.slots[inst.targets[0]]}"
        t, f = inst.targets
        return f"br {self.operand(inst.ops[0])}, label {self.slots[t]}, label {self.slots[f]}"

    def _switch(self, inst: Switch) -> str:
        value, *cases = inst.ops
        lines = [f"switch {self.operand(value)}, label {self.slots[inst.targets[0]]} ["]
        for case, target in zip(cases, inst.targets[1:], strict=True):
            lines.append(f"    {self.operand(case)}, label {self.slots[target]}")
        return "\n  ".join(lines) + "\n  ]"

    def _unreachable(self, inst: Unreachable) -> str:
        return "unreachable"

    # ------------------------------------------------------------ helpers

    def _attr_group(self, attrs: list[str]) -> int:
        key = tuple(attrs)
        number = self.attr_groups.get(key)
        if number is None:
            number = len(self.attr_groups)
            self.attr_groups[key] = number
        return number


class _MetadataNumbering:
    """Numbers metadata nodes in first-use order, merging structurally equal uniqued nodes."""

    def __init__(self, writer: _Writer) -> None:
        self.w = writer
        self.numbers: dict[int, int] = {}
        self.order: list[Metadata] = []
        self.rep: dict[int, Metadata] = {}
        self.keys: dict[tuple[object, ...], Metadata] = {}
        self.in_progress: set[int] = set()

    def _representative(self, md: Metadata) -> Metadata:
        found = self.rep.get(id(md))
        if found is not None:
            return found
        if isinstance(md, MDNode) and not md.distinct and id(md) not in self.in_progress:
            self.in_progress.add(id(md))
            key = ("node", *(self._key(op) for op in md.operands))
            self.in_progress.discard(id(md))
            found = self.keys.setdefault(key, md)
        elif isinstance(md, SpecializedMDNode) and not md.distinct:
            key = ("spec", md.kind, *((k, self._key(v) if isinstance(v, Metadata) else v)
                                      for k, v in md.fields))
            found = self.keys.setdefault(key, md)
        else:
            found = md
        self.rep[id(md)] = found
        return found

    def _key(self, op: Metadata | None) -> object:
        if op is None:
            return None
        if isinstance(op, MDString):
            return ("s", op.value)
        if isinstance(op, MDValue):
            return ("v", self.w.operand(op.value))
        return ("n", id(self._representative(op)))

    def _keep(self, md: Metadata | None) -> bool:
        return self.w.keep_md(md)

    def ref(self, md: Metadata) -> str:
        if isinstance(md, MDString):
            return f'!"{escape(md.value)}"'
        if isinstance(md, MDValue):
            return self.w.operand(md.value)
        md = self._representative(md)
        number = self.numbers.get(id(md))
        if number is None:
            number = len(self.order)
            self.numbers[id(md)] = number
            self.order.append(md)
            # number operands now so the order is a preorder walk
            for op in _md_operands(md):
                if isinstance(op, MDNode | SpecializedMDNode) and self._keep(op):
                    self.ref(op)
        return f"!{number}"

    def inline(self, md: Metadata | None) -> str:
        if md is None:
            return "null"
        if isinstance(md, MDValue):
            return self.w.operand(md.value)
        return self.ref(md)

    def named_lines(self) -> list[str]:
        lines = []
        for nmd in self.w.m.named_metadata:
            if not self.w.keep_named_metadata(nmd.name):
                continue
            nodes = [self.ref(n) for n in nmd.nodes if self._keep(n)]
            lines.append(f"!{nmd.name} = !{{{', '.join(nodes)}}}")
        if lines:
            lines.append("")
        return lines

    def numbered_lines(self) -> list[str]:
        lines = []
        k = 0
        while k < len(self.order):  # printing may number more nodes
            md = self.order[k]
            lines.append(f"!{k} = {self._node_text(md)}")
            k += 1
        return lines

    def _node_text(self, md: Metadata) -> str:
        if isinstance(md, MDNode):
            ops = [self.inline(op) for op in md.operands if self._keep(op)]
            body = "!{" + ", ".join(op if op is not None else "null" for op in ops) + "}"
            return ("distinct " if md.distinct else "") + body
        assert isinstance(md, SpecializedMDNode)
        fields = []
        for name, value in md.fields:
            if name in llvm14.DEBUG_FIELDS_UNKNOWN_TO_LLVM14:
                continue
            if isinstance(value, Metadata):
                text = self.inline(value)
            elif value is None:
                text = "null"
            else:
                text = value
            fields.append(f"{name}: {text}" if name else text)
        return ("distinct " if md.distinct else "") + f"!{md.kind}({', '.join(fields)})"


_HANDLERS = {cls: getattr(_Writer, "_" + name) for cls, name in INSTRUCTION_HANDLERS.items()}

__all__ = ["WriterOptions", "write_llvm14"]
