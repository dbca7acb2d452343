"""Types, values and constants of the LLVM text parser.

:class:`ValueParser` reads type spellings (including typed LLVM 14 pointers),
address spaces, operand values (locals, globals, forward references) and
constants, including constant expressions and ``blockaddress``, and the
attribute lists of parameters, return values and calls. Values and metadata
are mutually recursive (``metadata i32 %x`` holds a value, a ``metadata``
operand a node): operands of type ``metadata`` are read by the metadata layer
(:class:`~llvm_to_air.ir.parser_metadata.MetadataParser`, mixed in above).
"""

from __future__ import annotations

from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.lexer import decode_name, unescape
from llvm_to_air.ir.model import (
    BasicBlock,
    BlockAddress,
    Constant,
    ConstantAggregate,
    ConstantExpr,
    ConstantFP,
    ConstantInt,
    ConstantNull,
    ConstantString,
    ConstantZero,
    Function,
    InlineAsm,
    Metadata,
    MetadataValue,
    Poison,
    Undef,
    Value,
)
from llvm_to_air.ir.parser_base import (
    _ATTR_WORDS,
    BINARY_OPS,
    CAST_OPS,
    INST_FLAGS,
    TYPE_ATTRS,
    ParserBase,
    _ForwardRef,
    _int_value,
    _local_key,
)
from llvm_to_air.ir.types import (
    FLOAT_KINDS,
    I1,
    LABEL,
    METADATA,
    TOKEN,
    VOID,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    NamedStructType,
    PointerType,
    StructType,
    TargetExtType,
    Type,
    TypedPointerType,
    VectorType,
)

_SIMPLE_CONSTANTS = {
    "null": lambda ty: ConstantNull(ty),
    "none": lambda ty: ConstantNull(ty),
    "zeroinitializer": lambda ty: ConstantZero(ty),
    "undef": lambda ty: Undef(ty),
    "poison": lambda ty: Poison(ty),
    "true": lambda ty: ConstantInt(ty, value=1),
    "false": lambda ty: ConstantInt(ty, value=0),
}


class ValueParser(ParserBase):
    """Parser layer for types, operand values, constants and attribute lists."""

    # ------------------------------------------------------------------- types

    def parse_type(self) -> Type:
        kind, text, offset = self.next()
        ty: Type
        if kind == lx.WORD:
            if text[0] == "i" and text[1:].isdigit():
                ty = IntType(int(text[1:]))
            elif text in FLOAT_KINDS:
                ty = FloatType(text)
            elif text == "ptr":
                ty = PointerType(self.parse_addrspace())
            elif text == "void":
                ty = VOID
            elif text == "label":
                ty = LABEL
            elif text == "metadata":
                ty = METADATA
            elif text == "token":
                ty = TOKEN
            elif text == "target":
                start = offset
                self.expect("(")
                depth = 1
                while depth:
                    t = self.next()[1]
                    depth += {"(": 1, ")": -1}.get(t, 0)
                ty = TargetExtType(self.stmt_text[start:self.toks[self.i - 1][2] + 1])
            else:
                raise self.error(f"unknown type '{text}'", offset)
        elif kind == lx.LOCAL:
            ty = NamedStructType(text[1:])
        elif text == "[":
            count = self.parse_int()
            self.expect("x")
            elem = self.parse_type()
            self.expect("]")
            ty = ArrayType(count, elem)
        elif text == "<":
            if self.at("{"):
                self.next()
                ty = StructType(self._parse_struct_fields(), packed=True)
                self.expect(">")
            else:
                scalable = self.accept("vscale")
                if scalable:
                    self.expect("x")
                count = self.parse_int()
                self.expect("x")
                elem = self.parse_type()
                self.expect(">")
                ty = VectorType(count, elem, scalable)
        elif text == "{":
            ty = StructType(self._parse_struct_fields())
        else:
            raise self.error(f"expected a type but found '{text or 'end of file'}'", offset)
        # function types and legacy typed pointers
        while True:
            if self.at("("):
                ty = self._parse_function_type_params(ty)
            elif self.at("*") or (self.at("addrspace") and self.peek(4)[1] == "*"):
                if not self.typed:
                    raise self.error("typed pointer syntax in normalized IR")
                addrspace = self.parse_addrspace()
                self.expect("*")
                ty = TypedPointerType(ty, addrspace)
            else:
                return ty

    def _parse_struct_fields(self) -> tuple[Type, ...]:
        fields: list[Type] = []
        if self.accept("}"):
            return ()
        while True:
            fields.append(self.parse_type())
            if self.accept("}"):
                return tuple(fields)
            self.expect(",")

    def _parse_function_type_params(self, ret: Type) -> FunctionType:
        self.expect("(")
        params: list[Type] = []
        vararg = False
        if not self.accept(")"):
            while True:
                if self.accept("..."):
                    vararg = True
                    self.expect(")")
                    break
                params.append(self.parse_type())
                if self.accept(")"):
                    break
                self.expect(",")
        return FunctionType(ret, tuple(params), vararg)

    def parse_addrspace(self) -> int:
        if self.at("addrspace") and self.peek(1)[1] == "(":
            self.next()
            self.next()
            if self.peek()[0] == lx.STRING:
                raise self.error("symbolic address space names are not supported")
            n = self.parse_int()
            self.expect(")")
            return n
        return 0

    # ------------------------------------------------------------------ values

    def parse_typed_value(self) -> Value:
        ty = self.parse_type()
        return self.parse_value(ty)

    def parse_value(self, ty: Type) -> Value:
        kind, text, offset = self.peek()
        if kind == lx.LOCAL:
            self.next()
            return self._local_ref(text, ty, offset)
        if ty == METADATA:
            return MetadataValue(METADATA, md=self.parse_metadata_operand())
        if kind == lx.WORD and text == "asm":
            self.next()
            flags = []
            while self.peek()[1] in ("sideeffect", "alignstack", "inteldialect", "unwind"):
                flags.append(self.next()[1])
            asm = self.parse_string()
            self.expect(",")
            constraints = self.parse_string()
            return InlineAsm(ty, asm=asm, constraints=constraints, flags=tuple(flags))
        return self.parse_constant(ty)

    def _local_ref(self, text: str, ty: Type, offset: int) -> Value:
        name = _local_key(text)
        value = self.locals.get(name)
        if value is not None:
            return value
        if self.function is None:
            raise self.error(f"local value '{text}' used outside a function", offset)
        ref = self.forward.get(name)
        if ref is None:
            ref = _ForwardRef(name, ty, offset)
            self.forward[name] = ref
        return ref

    def local_value(self, text: str, ty: Type) -> Value:
        """The local value spelled ``text`` (a forward reference if not yet defined)."""
        key = _local_key(text)
        value = self.locals.get(key)
        if value is not None:
            return value
        ref = self.forward.get(key)
        if ref is None:
            ref = _ForwardRef(key, ty, 0)
            self.forward[key] = ref
        return ref

    def md_ref_number(self, number: int) -> Metadata:
        return self._md_ref(str(number))

    def parse_constant(self, ty: Type) -> Constant:
        kind, text, offset = self.next()
        if kind == lx.INT:
            if ty == I1 and text in ("0", "1"):
                return ConstantInt(ty, value=int(text))
            return ConstantInt(ty, value=_int_value(text))
        if kind == lx.FLOAT:
            return ConstantFP(ty, text=text)
        if kind == lx.GLOBAL:
            name = decode_name(text)
            gv = self.globals.get(name)
            if gv is None:
                raise self.error(f"use of undefined global '@{name}'", offset)
            return gv
        if kind == lx.CSTRING:
            return ConstantString(ty, data=unescape(text[2:-1]))
        if kind == lx.WORD:
            simple = _SIMPLE_CONSTANTS.get(text)
            if simple is not None:
                if text == "true" or text == "false":
                    return ConstantInt(ty, value=1 if text == "true" else 0)
                return simple(ty)
            if text == "splat":
                self.expect("(")
                elem_ty = self.parse_type()
                elem = self.parse_constant(elem_ty)
                self.expect(")")
                count = ty.count if isinstance(ty, VectorType) else 1
                return ConstantAggregate(ty, elements=[elem] * count)
            if text == "blockaddress":
                self.expect("(")
                fn = self.parse_constant(self.parse_type())
                self.expect(",")
                label = self.expect_kind(lx.LOCAL, "a block label")[1]
                self.expect(")")
                return BlockAddress(ty, function=fn if isinstance(fn, Function) else None,
                                    block=self._block_ref_global(fn, label))
            if text in ("dso_local_equivalent", "no_cfi", "ptrauth"):
                raise self.error(f"'{text}' constants cannot be expressed in LLVM 14", offset)
            return self._parse_constant_expr(text, ty, offset)
        if text in ("[", "<", "{"):
            return self._parse_aggregate_constant(text, ty)
        raise self.error(f"expected a constant of type {ty} but found '{text}'", offset)

    def _block_ref_global(self, fn: Constant, label: str) -> BasicBlock:
        name = _local_key(label)
        if self.function is not None and fn is self.function:
            return self._block(name)
        return BasicBlock(name=name)

    def _parse_aggregate_constant(self, open_tok: str, ty: Type) -> Constant:
        close = {"[": "]", "<": ">", "{": "}"}[open_tok]
        if open_tok == "<" and self.at("{"):
            self.next()
            elements = self._parse_constant_list("}")
            self.expect(">")
            return ConstantAggregate(ty, elements=elements)
        return ConstantAggregate(ty, elements=self._parse_constant_list(close))

    def _parse_constant_list(self, close: str) -> list[Constant]:
        elements: list[Constant] = []
        if self.accept(close):
            return elements
        while True:
            ety = self.parse_type()
            elements.append(self.parse_constant(ety))
            if self.accept(close):
                return elements
            self.expect(",")

    def _parse_constant_expr(self, opcode: str, ty: Type, offset: int) -> Constant:
        flags: list[str] = []
        if opcode == "getelementptr":
            inrange = None
            while self.peek()[1] in ("inbounds", "nuw", "nusw", "inrange"):
                word = self.next()[1]
                if word == "inrange":
                    inrange = self._skip_parens()
                else:
                    flags.append(word)
            self.expect("(")
            source = self.parse_type()
            ops: list[Constant] = []
            while self.accept(","):
                if self.at("inrange"):
                    self.next()
                    inrange = self._skip_parens() if self.at("(") else "legacy"
                ety = self.parse_type()
                ops.append(self.parse_constant(ety))
            self.expect(")")
            return ConstantExpr(ty, opcode=opcode, ops=ops, flags=tuple(flags),
                                source_type=source, inrange=inrange)
        if opcode in CAST_OPS:
            self.expect("(")
            src = self.parse_constant(self.parse_type())
            self.expect("to")
            dest = self.parse_type()
            self.expect(")")
            return ConstantExpr(dest, opcode=opcode, ops=[src])
        if opcode in BINARY_OPS or opcode in ("icmp", "fcmp"):
            predicate = None
            while self.peek()[1] in INST_FLAGS:
                flags.append(self.next()[1])
            if opcode in ("icmp", "fcmp"):
                predicate = self.next()[1]
            self.expect("(")
            lhs = self.parse_constant(self.parse_type())
            self.expect(",")
            rhs = self.parse_constant(self.parse_type())
            self.expect(")")
            return ConstantExpr(ty, opcode=opcode, ops=[lhs, rhs], flags=tuple(flags),
                                predicate=predicate)
        if opcode in ("extractelement", "insertelement", "shufflevector", "select"):
            self.expect("(")
            ops = [self.parse_constant(self.parse_type())]
            while self.accept(","):
                ops.append(self.parse_constant(self.parse_type()))
            self.expect(")")
            return ConstantExpr(ty, opcode=opcode, ops=ops)
        raise self.error(f"unknown constant '{opcode}'", offset)

    def _skip_parens(self) -> str:
        start = self.peek()[2]
        self.expect("(")
        depth = 1
        while depth:
            t = self.next()[1]
            depth += {"(": 1, ")": -1}.get(t, 0)
        return self.stmt_text[start:self.toks[self.i - 1][2] + 1]

    # -------------------------------------------------------------- attributes

    def parse_attributes(self, param: bool) -> list[str]:
        """Attribute words up to the next non-attribute token, each as one spelling."""
        attrs: list[str] = []
        while True:
            kind, word, _ = self.peek()
            if kind == lx.STRING:
                self.next()
                text = word
                if self.accept("="):
                    text += "=" + self.expect_kind(lx.STRING, "a string")[1]
                attrs.append(text)
                continue
            if kind == lx.ATTRGRP and not param:
                attrs.append(self.next()[1])
                continue
            if kind != lx.WORD or word not in _ATTR_WORDS:
                return attrs
            self.next()
            if word in TYPE_ATTRS:
                if self.at("("):
                    self.next()
                    ty = self.parse_type()
                    self.expect(")")
                    attrs.append(f"{word}({ty})")
                else:
                    attrs.append(word)
            elif word in ("align", "alignstack", "dereferenceable", "dereferenceable_or_null",
                          "vscale_range", "allocsize", "uwtable", "memory", "captures",
                          "range", "nofpclass", "initializes", "allockind", "allocalign",
                          "denormal_fpenv", "nofree", "mustprogress"):
                if self.at("("):
                    attrs.append(word + self._skip_parens())
                elif word == "align" and self.peek()[0] == lx.INT:
                    attrs.append(f"align {self.next()[1]}")
                else:
                    attrs.append(word)
            else:
                attrs.append(word)
