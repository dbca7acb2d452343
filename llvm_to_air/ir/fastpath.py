"""Fast paths for the instruction lines LLVM prints most often.

A function body line such as ``  %3 = load float, ptr %2, align 4, !tbaa !7``
matches one precompiled regular expression and becomes an instruction without
tokenizing. Anything not of the simple shapes here (quoted names, constant
expressions as operands, inline attributes, bundles, ...) returns ``None``
and the general token parser handles the line. Both paths build the same
objects: the fast path is an optimization only, and tests parse every fixture
both ways to keep it that way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llvm_to_air.ir.model import (
    BinaryOp,
    Branch,
    Call,
    Cast,
    Compare,
    ConstantExpr,
    ConstantFP,
    ConstantInt,
    ConstantNull,
    ConstantZero,
    Function,
    GetElementPtr,
    Instruction,
    Load,
    Metadata,
    Phi,
    Poison,
    Return,
    Select,
    Store,
    Undef,
    Value,
)
from llvm_to_air.ir.types import I1, VOID, FunctionType, Type, VectorType

if TYPE_CHECKING:
    from llvm_to_air.ir.parser import Parser

_NAME = r"%[-a-zA-Z$._0-9]+"
_GNAME = r"@[-a-zA-Z$._][-a-zA-Z$._0-9]*"
_VALUE = (r"(?:%[-a-zA-Z$._0-9]+|@[-a-zA-Z$._][-a-zA-Z$._0-9]*|-?\d+|-?\d+\.\d+e[-+]\d+"
          r"|0x[0-9A-F]+|true|false|null|undef|poison|zeroinitializer)")
_SCALAR = r"(?:i\d+|half|bfloat|float|double|ptr(?: addrspace\(\d+\))?)"
_TYPE = (rf"(?:{_SCALAR}|<\d+ x {_SCALAR}>|%[-a-zA-Z$._0-9]+|\[\d+ x [^\[\]]+\]"
         r"|\{ [^{}]* \})")
# Only in a getelementptr (kept out of the other patterns: every alternative added to
# _VALUE or _TYPE is compiled into each of them at every start-up): a 2-D array as the
# source type, and a global cast to the generic address space as the base, as clang's
# CUDA code indexes a __shared__ tile: ``[16 x [16 x float]], ptr addrspacecast (ptr
# addrspace(3) @tile to ptr)``
_GEP_SOURCE = rf"(?:{_TYPE}|\[\d+ x \[\d+ x [^\[\]]+\]\])"
_GEP_BASE = (rf"(?:{_VALUE}|(?:addrspacecast|bitcast) \(ptr(?: addrspace\(\d+\))? {_GNAME} "
             r"to ptr(?: addrspace\(\d+\))?\))")
_ATTACH = r"((?:, ![-a-zA-Z$._0-9]+ !\d+)*)"
_FMF = r"(?:fast|nnan|ninf|nsz|arcp|contract|afn|reassoc)"
_FLAGS = rf"((?:(?:nuw|nsw|exact|disjoint|nneg|samesign|{_FMF}) )*)"
_ALIGN = r"(?:, align (\d+))?"

_LOAD = re.compile(rf"  ({_NAME}) = load (volatile )?({_TYPE}), ({_TYPE}) ({_VALUE}){_ALIGN}"
                   rf"{_ATTACH}$")
_STORE = re.compile(rf"  store (volatile )?({_TYPE}) ({_VALUE}), ({_TYPE}) ({_VALUE}){_ALIGN}"
                    rf"{_ATTACH}$")
_GEP = re.compile(rf"  ({_NAME}) = getelementptr ((?:inbounds |nuw |nusw )*)({_GEP_SOURCE}), "
                  rf"({_TYPE}) ({_GEP_BASE})((?:, {_TYPE} {_VALUE})*){_ATTACH}$")
_GEP_INDEX = re.compile(rf", ({_TYPE}) ({_VALUE})")
_BINARY = re.compile(rf"  ({_NAME}) = (add|sub|mul|udiv|sdiv|urem|srem|shl|lshr|ashr|and|or|xor"
                     rf"|fadd|fsub|fmul|fdiv|frem) {_FLAGS}({_TYPE}) ({_VALUE}), ({_VALUE})"
                     rf"{_ATTACH}$")
_CAST = re.compile(rf"  ({_NAME}) = (trunc|zext|sext|fptrunc|fpext|fptoui|fptosi|uitofp|sitofp"
                   rf"|ptrtoint|inttoptr|bitcast|addrspacecast) {_FLAGS}({_TYPE}) ({_VALUE}) to "
                   rf"({_TYPE}){_ATTACH}$")
_CMP = re.compile(rf"  ({_NAME}) = (icmp|fcmp) {_FLAGS}([a-z]+) ({_TYPE}) ({_VALUE}), ({_VALUE})"
                  rf"{_ATTACH}$")
_SELECT = re.compile(rf"  ({_NAME}) = select ((?:{_FMF} )*)({_TYPE}) ({_VALUE}), ({_TYPE}) "
                     rf"({_VALUE}), ({_TYPE}) ({_VALUE}){_ATTACH}$")
_PHI = re.compile(rf"  ({_NAME}) = phi ((?:{_FMF} )*)({_TYPE}) ((?:\[ {_VALUE}, {_NAME} \]"
                  rf"(?:, )?)+){_ATTACH}$")
_PHI_ENTRY = re.compile(rf"\[ ({_VALUE}), ({_NAME}) \]")
_BR = re.compile(rf"  br (?:label ({_NAME})|i1 ({_VALUE}), label ({_NAME}), label ({_NAME}))"
                 rf"{_ATTACH}$")
_RET = re.compile(rf"  ret (?:void|({_TYPE}) ({_VALUE})){_ATTACH}$")
_CALL = re.compile(rf"  (?:({_NAME}) = )?(?:(tail|musttail|notail) )?call ((?:{_FMF} )*)"
                   rf"((?:(?:noundef|nonnull|zeroext|signext|inreg|noalias) )*)({_TYPE}|void) "
                   rf"({_GNAME})\(([^()\[\]{{}}\"!]*(?:addrspace\(\d+\)[^()\[\]{{}}\"!]*)*)\)"
                   rf"((?: #\d+)*){_ATTACH}$")
_CALL_ARG = re.compile(rf"({_TYPE})((?: (?:noundef|nonnull|zeroext|signext|inreg|noalias"
                       rf"|immarg|align \d+))*) ({_VALUE})\Z")
_ATTACHMENT = re.compile(r", !([-a-zA-Z$._0-9]+) !(\d+)")
_NUMBER = re.compile(r"-?\d+\Z")

_SIMPLE_CONSTANTS = {"null": ConstantNull, "undef": Undef, "poison": Poison,
                     "zeroinitializer": ConstantZero}


class FastPath:
    """Matches common instruction lines for one :class:`Parser`."""

    def __init__(self, parser: Parser) -> None:
        self.p = parser
        self.locals = parser.locals
        self.type = parser.type_from_text
        self._dispatch = {
            "load": self._load, "store": self._store, "getelementptr": self._gep,
            "br": self._br, "ret": self._ret, "call": self._call, "tail": self._call,
            "phi": self._phi, "select": self._select, "icmp": self._cmp, "fcmp": self._cmp,
        }

    def instruction(self, line: str) -> tuple[Instruction, str | None] | None:
        """``(instruction, name key)`` for a line of a common shape, else None."""
        words = line.split(" ", 5)
        if len(words) < 3:
            return None
        opcode = words[4] if len(words) > 4 and words[3] == "=" else words[2]
        handler = self._dispatch.get(opcode)
        if handler is None:
            handler = self._binary if opcode in _BINARY_OPS else (
                self._cast if opcode in _CAST_OPS else None)
            if handler is None:
                return None
        return handler(line)

    # ---------------------------------------------------------------- operands

    def value(self, text: str, ty: Type) -> Value | None:
        first = text[0]
        if first == "%":  # the patterns admit unquoted names only: the key is the name
            found = self.locals.get(text[1:])
            return found if found is not None else self.p.local_value(text, ty)
        if first == "@":
            return self.p.globals.get(text[1:])
        if text.isdigit() or (first == "-" and text[1:].isdigit()):
            return ConstantInt(ty, value=int(text))
        if first.isdigit() or first == "-":
            return ConstantFP(ty, text=text)
        if text in ("true", "false"):
            return ConstantInt(ty, value=1 if text == "true" else 0)
        cls = _SIMPLE_CONSTANTS.get(text)
        if cls is not None:
            return cls(ty)
        if text.startswith("0x"):
            return ConstantFP(ty, text=text)
        return None

    def global_cast(self, text: str) -> Value | None:
        """``addrspacecast (ptr addrspace(3) @g to ptr)`` (matched by ``_GEP_BASE``)."""
        opcode, inner = text[:-1].split(" (", 1)
        source_text, dest = inner.rsplit(" to ", 1)
        source = self.p.globals.get(source_text.rsplit(" @", 1)[1])
        if source is None:
            return None  # the token parser reports it
        return ConstantExpr(self.type(dest), opcode=opcode, ops=[source])

    def attachments(self, text: str) -> list[tuple[str, Metadata]]:
        if not text:
            return []
        return [(kind, self.p.md_ref_number(int(number)))
                for kind, number in _ATTACHMENT.findall(text)]

    # ------------------------------------------------------------ instructions

    def _load(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _LOAD.match(line)
        if m is None:
            return None
        name, volatile, ty_text, pty_text, ptr_text, align, attach = m.groups()
        ty = self.type(ty_text)
        ptr = self.value(ptr_text, self.type(pty_text))
        if ptr is None:
            return None
        inst = Load(ty, opcode="load", ops=[ptr], volatile=bool(volatile),
                    align=int(align) if align else None, metadata=self.attachments(attach))
        return inst, _key(name)

    def _store(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _STORE.match(line)
        if m is None:
            return None
        volatile, ty_text, val_text, pty_text, ptr_text, align, attach = m.groups()
        value = self.value(val_text, self.type(ty_text))
        ptr = self.value(ptr_text, self.type(pty_text))
        if value is None or ptr is None:
            return None
        inst = Store(VOID, opcode="store", ops=[value, ptr], volatile=bool(volatile),
                     align=int(align) if align else None, metadata=self.attachments(attach))
        return inst, None

    def _gep(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _GEP.match(line)
        if m is None:
            return None
        name, flags, source_text, pty_text, base_text, indices_text, attach = m.groups()
        base = self.global_cast(base_text) if base_text[-1] == ")" else \
            self.value(base_text, self.type(pty_text))
        if base is None:
            return None
        ops = [base]
        for ity, itext in _GEP_INDEX.findall(indices_text):
            index = self.value(itext, self.type(ity))
            if index is None:
                return None
            ops.append(index)
        source = self.type(source_text)
        result: Type = base.ty
        if self.p.typed:
            result = self.p._typed_gep_result(source, base.ty, ops[1:])
        for idx in ops:
            if isinstance(idx.ty, VectorType) and not isinstance(result, VectorType):
                result = VectorType(idx.ty.count, result, idx.ty.scalable)
        inst = GetElementPtr(result, opcode="getelementptr", ops=ops, source_type=source,
                             flags=tuple(flags.split()), metadata=self.attachments(attach))
        return inst, _key(name)

    def _binary(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _BINARY.match(line)
        if m is None:
            return None
        name, op, flags, ty_text, lhs_text, rhs_text, attach = m.groups()
        ty = self.type(ty_text)
        lhs = self.value(lhs_text, ty)
        rhs = self.value(rhs_text, ty)
        if lhs is None or rhs is None:
            return None
        inst = BinaryOp(ty, opcode=op, ops=[lhs, rhs], flags=tuple(flags.split()),
                        metadata=self.attachments(attach))
        return inst, _key(name)

    def _cast(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _CAST.match(line)
        if m is None:
            return None
        name, op, flags, src_ty, src_text, dest_ty, attach = m.groups()
        src = self.value(src_text, self.type(src_ty))
        if src is None:
            return None
        inst = Cast(self.type(dest_ty), opcode=op, ops=[src], flags=tuple(flags.split()),
                    metadata=self.attachments(attach))
        return inst, _key(name)

    def _cmp(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _CMP.match(line)
        if m is None:
            return None
        name, op, flags, pred, ty_text, lhs_text, rhs_text, attach = m.groups()
        ty = self.type(ty_text)
        lhs = self.value(lhs_text, ty)
        rhs = self.value(rhs_text, ty)
        if lhs is None or rhs is None:
            return None
        result: Type = I1
        if isinstance(ty, VectorType):
            result = VectorType(ty.count, I1, ty.scalable)
        inst = Compare(result, opcode=op, ops=[lhs, rhs], predicate=pred,
                       flags=tuple(flags.split()), metadata=self.attachments(attach))
        return inst, _key(name)

    def _select(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _SELECT.match(line)
        if m is None:
            return None
        name, flags, cty, ctext, tty, ttext, fty, ftext, attach = m.groups()
        cond = self.value(ctext, self.type(cty))
        tval = self.value(ttext, self.type(tty))
        fval = self.value(ftext, self.type(fty))
        if cond is None or tval is None or fval is None:
            return None
        inst = Select(tval.ty, opcode="select", ops=[cond, tval, fval], flags=tuple(flags.split()),
                      metadata=self.attachments(attach))
        return inst, _key(name)

    def _phi(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _PHI.match(line)
        if m is None:
            return None
        name, flags, ty_text, entries, attach = m.groups()
        ty = self.type(ty_text)
        values: list[Value] = []
        blocks = []
        for vtext, btext in _PHI_ENTRY.findall(entries):
            value = self.value(vtext, ty)
            if value is None:
                return None
            values.append(value)
            blocks.append(self.p._block(btext[1:]))
        inst = Phi(ty, opcode="phi", ops=values, blocks=blocks, flags=tuple(flags.split()),
                   metadata=self.attachments(attach))
        return inst, _key(name)

    def _br(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _BR.match(line)
        if m is None:
            return None
        target, cond_text, true_label, false_label, attach = m.groups()
        if target is not None:
            inst = Branch(VOID, opcode="br", targets=[self.p._block(target[1:])],
                          metadata=self.attachments(attach))
            return inst, None
        cond = self.value(cond_text, I1)
        if cond is None:
            return None
        inst = Branch(VOID, opcode="br", ops=[cond], targets=[self.p._block(true_label[1:]),
                                                            self.p._block(false_label[1:])],
                      metadata=self.attachments(attach))
        return inst, None

    def _ret(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _RET.match(line)
        if m is None:
            return None
        ty_text, value_text, attach = m.groups()
        if ty_text is None:
            return Return(VOID, opcode="ret", metadata=self.attachments(attach)), None
        value = self.value(value_text, self.type(ty_text))
        if value is None:
            return None
        return Return(VOID, opcode="ret", ops=[value], metadata=self.attachments(attach)), None

    def _call(self, line: str) -> tuple[Instruction, str | None] | None:
        m = _CALL.match(line)
        if m is None:
            return None
        name, tail, flags, ret_attrs, ret_text, callee_text, args_text, groups, attach = \
            m.groups()
        callee = self.p.globals.get(callee_text[1:])
        if not isinstance(callee, Function):
            return None
        ret = self.type(ret_text) if ret_text != "void" else VOID
        args: list[Value] = []
        arg_attrs: list[list[str]] = []
        if args_text:
            for piece in args_text.split(", "):
                am = _CALL_ARG.match(piece)
                if am is None:
                    return None
                aty_text, attrs_text, atext = am.groups()
                arg = self.value(atext, self.type(aty_text))
                if arg is None:
                    return None
                args.append(arg)
                arg_attrs.append(_split_attrs(attrs_text))
        # a call printed without its function type is not variadic: the type is ret(args)
        fnty = FunctionType(ret, tuple(a.ty for a in args))
        inst = Call(ret, opcode="call", ops=[*args, callee], function_type=fnty,
                    tail=tail or "", flags=tuple(flags.split()),
                    ret_attrs=ret_attrs.split(), arg_attrs=arg_attrs,
                    fn_attrs=groups.split(), metadata=self.attachments(attach))
        return inst, _key(name) if name else None


def _key(name: str) -> str:
    return name[1:]


def _split_attrs(text: str) -> list[str]:
    if not text:
        return []
    words = text.split()
    out: list[str] = []
    k = 0
    while k < len(words):
        if words[k] == "align":
            out.append(f"align {words[k + 1]}")
            k += 2
        else:
            out.append(words[k])
            k += 1
    return out


_BINARY_OPS = frozenset({"add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "shl", "lshr",
                         "ashr", "and", "or", "xor", "fadd", "fsub", "fmul", "fdiv", "frem"})
_CAST_OPS = frozenset({"trunc", "zext", "sext", "fptrunc", "fpext", "fptoui", "fptosi",
                       "uitofp", "sitofp", "ptrtoint", "inttoptr", "bitcast", "addrspacecast"})

__all__ = ["FastPath"]
