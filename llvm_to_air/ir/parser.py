"""Parser from LLVM textual IR (as LLVM 22 prints it) into :mod:`llvm_to_air.ir.model`.

The reader hands us text that llvmlite has already parsed, verified and
printed, so the input is well-formed modern IR with opaque pointers. The
parser still reports anything it does not understand as a
:class:`CompileError` with a location, never with a Python exception.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.fastpath import FastPath
from llvm_to_air.ir.lexer import LineIndex, Token, decode_name, tokenize, unescape
from llvm_to_air.ir.model import (
    Alloca,
    Argument,
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
    NamedMetadata,
    OperandBundle,
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

BINARY_OPS = frozenset({"add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "shl", "lshr",
                        "ashr", "and", "or", "xor", "fadd", "fsub", "fmul", "fdiv", "frem"})
CAST_OPS = frozenset({"trunc", "zext", "sext", "fptrunc", "fpext", "fptoui", "fptosi", "uitofp",
                      "sitofp", "ptrtoint", "inttoptr", "bitcast", "addrspacecast", "ptrtoaddr"})
INST_FLAGS = frozenset({"nuw", "nsw", "exact", "disjoint", "nneg", "samesign", "fast", "nnan",
                        "ninf", "nsz", "arcp", "contract", "afn", "reassoc"})
LINKAGES = frozenset({"private", "internal", "available_externally", "linkonce", "weak", "common",
                      "appending", "extern_weak", "linkonce_odr", "weak_odr", "external"})
GLOBAL_QUALIFIERS = frozenset({"dso_local", "dso_preemptable", "default", "hidden", "protected",
                               "dllimport", "dllexport", "unnamed_addr", "local_unnamed_addr",
                               "thread_local", "externally_initialized"})
CALLING_CONVENTIONS = frozenset({
    "ccc", "fastcc", "coldcc", "ptx_kernel", "ptx_device", "spir_kernel", "spir_func",
    "amdgpu_kernel", "amdgpu_vs", "amdgpu_gs", "amdgpu_ps", "amdgpu_cs", "amdgpu_hs",
    "amdgpu_ls", "amdgpu_es", "amdgpu_gfx", "intel_ocl_bicc", "webkit_jscc", "anyregcc",
    "preserve_mostcc", "preserve_allcc", "preserve_nonecc", "swiftcc", "swifttailcc", "tailcc",
    "cxx_fast_tlscc", "ghccc", "x86_stdcallcc", "x86_fastcallcc", "x86_thiscallcc",
    "x86_vectorcallcc", "x86_regcallcc", "x86_intrcc", "x86_64_sysvcc", "win64cc", "arm_apcscc",
    "arm_aapcscc", "arm_aapcs_vfpcc", "aarch64_vector_pcs", "msp430_intrcc", "avr_intrcc",
    "avr_signalcc", "riscv_vector_cc", "cfguard_checkcc", "hhvmcc", "hhvm_ccc", "amdgpu_cs_chain",
    "amdgpu_cs_chain_preserve", "spirv_kernel",
})
# Attributes that take a parenthesised argument or a type argument.
TYPE_ATTRS = frozenset({"byval", "sret", "byref", "preallocated", "inalloca", "elementtype"})
ORDERINGS = frozenset({"unordered", "monotonic", "acquire", "release", "acq_rel", "seq_cst"})

_NUMBERED = re.compile(r"\d+\Z")
_LABEL_RE = re.compile(r'("[^"]*"|[-a-zA-Z$._0-9]+):')


_QUOTED_NUMBER = "\x00quoted:"


def _local_key(token_text: str) -> str:
    """Key of a local name token: ``%7`` -> "7" (numbered); ``%"7"`` is a *named* value "7"."""
    if token_text[1] != '"':
        return token_text[1:]
    name = decode_name(token_text)
    if name.isdigit():
        return _QUOTED_NUMBER + name
    return name


def _key_name(key: str) -> str:
    return key[len(_QUOTED_NUMBER):] if key.startswith(_QUOTED_NUMBER) else key


class _ForwardRef(Value):
    """Placeholder for a local value used before its definition."""

    def __init__(self, name: str, ty: Type, offset: int) -> None:
        super().__init__(ty)
        self.name = name
        self.offset = offset


class Parser:
    """Recursive-descent parser over the token list of one module."""

    def __init__(self, text: str, file: str = "<input>", typed: bool = False) -> None:
        self.text = text
        # typed=True reads LLVM 14 text (typed pointers), as our LLVM 14 writer prints it
        self.typed = typed
        self.file = file
        # The parser works one statement (a line; a switch spans several) at a time:
        # ``toks`` are that statement's tokens with offsets into ``stmt_text``.
        self.lines = text.split("\n")
        self.stmt_text = ""
        self.stmt_line = 1
        self.toks: list[Token] = [(lx.EOF, "", 0)]
        self.i = 0
        self.type_cache: dict[str, Type] = {}
        self.module = Module(file=file)
        self.globals: dict[str, GlobalValue] = {}
        self.md_numbered: dict[int, Metadata] = {}
        self.md_placeholders: dict[int, MDNode] = {}
        self.md_aliases: dict[int, Metadata] = {}  # id(placeholder) -> specialized node
        self.attr_groups: dict[str, list[str]] = {}
        # per-function state
        self.locals: dict[str, Value] = {}
        self.forward: dict[str, _ForwardRef] = {}
        self.blocks: dict[str, BasicBlock] = {}
        self.function: Function | None = None

    # ------------------------------------------------------------------ basics

    def location(self, offset: int | None = None) -> SourceLocation:
        if offset is None:
            offset = self.toks[self.i][2]
        line, col = LineIndex(self.stmt_text).locate(offset)
        return SourceLocation(self.file, self.stmt_line + line - 1, col)

    def begin_statement(self, text: str, line: int) -> None:
        self.stmt_text = text
        self.stmt_line = line
        self.toks = tokenize(text, self.file)
        self.i = 0

    def end_statement(self) -> None:
        kind, text, offset = self.toks[self.i]
        if kind != lx.EOF:
            raise self.error(f"unexpected '{text}' after the end of a statement", offset)

    def error(self, message: str, offset: int | None = None) -> CompileError:
        return CompileError(message, self.location(offset))

    def peek(self, k: int = 0) -> Token:
        return self.toks[self.i + k]

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        return self.toks[self.i][1] == text

    def accept(self, text: str) -> bool:
        if self.toks[self.i][1] == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        tok = self.toks[self.i]
        if tok[1] != text:
            raise self.error(f"expected '{text}' but found '{tok[1] or 'end of file'}'")
        self.i += 1
        return tok

    def expect_kind(self, kind: str, what: str) -> Token:
        tok = self.toks[self.i]
        if tok[0] != kind:
            raise self.error(f"expected {what} but found '{tok[1] or 'end of file'}'")
        self.i += 1
        return tok

    def parse_int(self) -> int:
        tok = self.expect_kind(lx.INT, "an integer")
        return _int_value(tok[1])

    def parse_string(self) -> str:
        tok = self.expect_kind(lx.STRING, "a string")
        return unescape(tok[1][1:-1]).decode("utf-8", "surrogateescape")

    # ------------------------------------------------------------------ module

    def parse_module(self) -> Module:
        lines = self.lines
        self._prescan_globals()
        k = 0
        n = len(lines)
        while k < n:
            line = lines[k]
            if not line or line[0] == ";" or line.isspace():
                k += 1
                continue
            self.begin_statement(line, k + 1)
            if line.startswith("define"):
                self.parse_function()
                self.end_statement()
                assert self.function is not None
                k = self._parse_body_lines(self.function, k + 1)
                self.function = None
            else:
                self.parse_top_level()
                self.end_statement()
            k += 1
        self._resolve_metadata()
        self._resolve_attribute_groups()
        return self.module

    def _prescan_globals(self) -> None:
        """Create every global value first: initializers may refer to later ones."""
        for number, line in enumerate(self.lines, start=1):
            if line.startswith("@"):
                self.begin_statement(line, number)
                toks = self.toks
                if toks[1][1] != "=":
                    continue
                word = next((t[1] for t in toks if t[1] in ("global", "constant", "alias",
                                                             "ifunc")), "global")
                name = decode_name(toks[0][1])
                obj: GlobalValue
                if word in ("alias", "ifunc"):
                    obj = GlobalAlias(PointerType(0), name=name, is_ifunc=word == "ifunc")
                else:
                    obj = GlobalVariable(PointerType(0), name=name)
                self.globals[name] = obj
            elif line.startswith(("define ", "declare ")):
                self.begin_statement(line, number)
                toks = self.toks
                for j in range(len(toks) - 1):
                    if toks[j][0] == lx.GLOBAL and toks[j + 1][1] == "(":
                        name = decode_name(toks[j][1])
                        self.globals[name] = Function(PointerType(0), name=name)
                        break

    def parse_top_level(self) -> None:
        kind, text, offset = self.peek()
        if kind == lx.WORD:
            if text == "source_filename":
                self.next()
                self.expect("=")
                self.module.source_filename = self.parse_string()
            elif text == "target":
                self.next()
                which = self.next()[1]
                self.expect("=")
                value = self.parse_string()
                if which == "triple":
                    self.module.triple = value
                elif which == "datalayout":
                    self.module.datalayout = value
                else:
                    raise self.error(f"unknown 'target {which}' directive", offset)
            elif text == "module":
                self.next()
                self.expect("asm")
                self.module.module_asm.append(self.parse_string())
            elif text in ("define", "declare"):
                self.parse_function()
            elif text == "attributes":
                self.parse_attribute_group()
            elif text == "uselistorder" or text == "uselistorder_bb":
                raise self.error("'uselistorder' directives are not supported; "
                                 "print the module without --preserve-ll-uselistorder", offset)
            else:
                raise self.error(f"unexpected '{text}' at top level", offset)
        elif kind == lx.LOCAL:
            self.parse_type_definition()
        elif kind == lx.GLOBAL:
            self.parse_global()
        elif kind == lx.COMDAT:
            self.next()
            self.expect("=")
            self.expect("comdat")
            self.module.comdats[decode_name(text)] = self.next()[1]
        elif kind == lx.META:
            self.parse_metadata_definition()
        else:
            raise self.error(f"unexpected '{text}' at top level", offset)

    def parse_type_definition(self) -> None:
        name = self.next()[1][1:]
        self.expect("=")
        self.expect("type")
        if self.accept("opaque"):
            self.module.structs[name] = None
            return
        ty = self.parse_type()
        if not isinstance(ty, StructType):
            raise self.error(f"named type %{name} is not a struct")
        self.module.structs[name] = ty

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

    # ----------------------------------------------------------------- globals

    def parse_global(self) -> None:
        name_tok = self.next()
        name = decode_name(name_tok[1])
        self.expect("=")
        linkage = ""
        qualifiers: list[str] = []
        while True:
            word = self.peek()[1]
            if word in LINKAGES:
                linkage = self.next()[1]
            elif word in GLOBAL_QUALIFIERS and word != "externally_initialized":
                self.next()
                if word == "thread_local" and self.at("("):
                    word += self._skip_parens()
                qualifiers.append(word)
            else:
                break
        gv = self.globals[name]
        gv.linkage = linkage
        gv.qualifiers = qualifiers
        gv.location = self.location(name_tok[2])
        if isinstance(gv, GlobalAlias):
            self._parse_alias_body(gv)
            return
        assert isinstance(gv, GlobalVariable)
        addrspace = self.parse_addrspace()
        gv.ty = PointerType(addrspace)
        gv.externally_initialized = self.accept("externally_initialized")
        kind = self.next()[1]
        if kind not in ("global", "constant"):
            raise self.error(f"expected 'global' or 'constant' but found '{kind}'")
        gv.is_constant = kind == "constant"
        gv.value_type = self.parse_type()
        if self.typed:
            gv.ty = TypedPointerType(gv.value_type, addrspace)
        if linkage not in ("external", "extern_weak") and self.peek()[1] not in (",", "") \
                and self.peek()[0] != lx.EOF:
            gv.initializer = self.parse_constant(gv.value_type)
        while self.accept(","):
            word = self.peek()[1]
            if word == "section":
                self.next()
                gv.section = self.parse_string()
            elif word == "align":
                self.next()
                gv.align = self.parse_int()
            elif word == "comdat":
                self.next()
                gv.comdat = self._parse_comdat_ref(name)
            elif word == "partition":
                self.next()
                gv.partition = self.parse_string()
            elif word == "code_model":  # LLVM 18+, a codegen hint: not kept
                self.next()
                self.next()
            elif word in ("sanitize_memtag", "no_sanitize_address", "no_sanitize_hwaddress",
                          "sanitize_address_dyninit"):
                self.next()  # sanitizer hints (LLVM 15+) are not kept
            elif self.peek()[0] == lx.META:
                kind_name = self.next()[1][1:]
                gv.metadata.append((kind_name, self.parse_metadata_operand()))
            else:
                raise self.error(f"unexpected '{word}' in global variable")
        while self.peek()[0] == lx.ATTRGRP:
            gv.attrs_group.append(self.next()[1])
        self.module.globals.append(gv)

    def _parse_comdat_ref(self, own_name: str) -> str:
        if self.peek()[0] == lx.COMDAT:
            return decode_name(self.next()[1])
        if self.at("("):
            self.next()
            ref = decode_name(self.expect_kind(lx.COMDAT, "a comdat name")[1])
            self.expect(")")
            return ref
        return own_name

    def _parse_alias_body(self, ga: GlobalAlias) -> None:
        self.next()  # alias / ifunc
        ga.value_type = self.parse_type()
        self.expect(",")
        if self.peek()[1] in CAST_OPS or self.peek()[1] == "getelementptr":
            # LLVM 14 prints a constant-expression aliasee without its type
            opcode, offset = self.next()[1], self.toks[self.i - 1][2]
            placeholder: Type = TypedPointerType(ga.value_type, 0) if self.typed \
                else PointerType(0)
            aliasee = self._parse_constant_expr(opcode, placeholder, offset)
            if self.typed and isinstance(aliasee, ConstantExpr) and \
                    aliasee.opcode == "getelementptr":
                aliasee.ty = self._typed_gep_result(aliasee.source_type or ga.value_type,
                                                    aliasee.ops[0].ty, aliasee.ops[1:])
            ga.ty = aliasee.ty
            ga.aliasee = aliasee
        else:
            aliasee_ty = self.parse_type()
            ga.ty = aliasee_ty
            ga.aliasee = self.parse_constant(aliasee_ty)
        while self.accept(","):
            self.next()
            self.next()
        self.module.aliases.append(ga)

    # --------------------------------------------------------------- functions

    def parse_function(self) -> None:
        is_definition = self.next()[1] == "define"
        linkage = ""
        qualifiers: list[str] = []
        cc = ""
        leading_metadata: list[tuple[str, Metadata]] = []
        while self.peek()[0] == lx.META and self.peek(1)[0] == lx.META:  # declare !kind !N ...
            kind_name = self.next()[1][1:]
            leading_metadata.append((kind_name, self.parse_metadata_operand()))
        while True:
            word = self.peek()[1]
            if word in LINKAGES:
                linkage = self.next()[1]
            elif word in GLOBAL_QUALIFIERS:
                qualifiers.append(self.next()[1])
            elif word in CALLING_CONVENTIONS:
                cc = self.next()[1]
            elif word == "cc":
                self.next()
                cc = f"cc {self.parse_int()}"
            else:
                break
        ret_attrs = self.parse_attributes(param=True)
        ret_ty = self.parse_type()
        name_tok = self.expect_kind(lx.GLOBAL, "a function name")
        name = decode_name(name_tok[1])
        fn = self.globals[name]
        assert isinstance(fn, Function)
        fn.linkage = linkage
        fn.qualifiers = qualifiers
        fn.cc = cc
        fn.ret_attrs = ret_attrs
        fn.location = self.location(name_tok[2])
        self.function = fn
        self.locals = {}
        self.forward = {}
        self.blocks = {}
        self.expect("(")
        params: list[Type] = []
        vararg = False
        if not self.accept(")"):
            while True:
                if self.accept("..."):
                    vararg = True
                    self.expect(")")
                    break
                pty = self.parse_type()
                attrs = self.parse_attributes(param=True)
                arg_name = None
                if self.peek()[0] == lx.LOCAL:
                    arg_name = _local_key(self.next()[1])
                arg = Argument(pty, name=None if arg_name is None or arg_name.isdigit()
                               else _key_name(arg_name), attrs=attrs)
                if arg_name is not None:
                    self.locals[arg_name] = arg
                fn.args.append(arg)
                params.append(pty)
                if self.accept(")"):
                    break
                self.expect(",")
        self._number_unnamed_args(fn)
        fn.function_type = FunctionType(ret_ty, tuple(params), vararg)
        # trailing function attributes and properties
        fn_attrs: list[str] = []
        while True:
            kind, word, _ = self.peek()
            if kind == lx.ATTRGRP:
                fn_attrs.append(self.next()[1])
            elif word in ("unnamed_addr", "local_unnamed_addr"):
                fn.qualifiers.append(self.next()[1])
            elif word == "addrspace":
                fn.prefix_words.append(f"addrspace({self.parse_addrspace()})")
            elif word == "section":
                self.next()
                fn.section = self.parse_string()
            elif word == "partition":
                self.next()
                fn.partition = self.parse_string()
            elif word == "comdat":
                self.next()
                fn.comdat = self._parse_comdat_ref(name)
            elif word == "align":
                self.next()
                fn.align = self.parse_int()
            elif word == "gc":
                self.next()
                fn.gc = self.parse_string()
            elif word in ("prefix", "prologue"):
                raise self.error(f"function '{word}' data is not supported")
            elif word == "personality":
                self.next()
                fn.personality = self.parse_constant(self.parse_type())
            elif kind == lx.META and self.peek(1)[0] == lx.META:
                kind_name = self.next()[1][1:]
                fn.metadata.append((kind_name, self.parse_metadata_operand()))
            elif (kind == lx.WORD and word in _ATTR_WORDS) or kind == lx.STRING:
                fn_attrs.extend(self.parse_attributes(param=False))
            else:
                break
        fn.fn_attrs = fn_attrs
        fn.metadata = leading_metadata + fn.metadata
        fn.ty = TypedPointerType(fn.function_type, 0) if self.typed else PointerType(0)
        self.module.functions.append(fn)
        if is_definition:
            self.expect("{")  # the body follows line by line: _parse_body_lines
        else:
            self.function = None

    def _number_unnamed_args(self, fn: Function) -> None:
        counter = 0
        for arg in fn.args:
            if arg.name is None:
                self.locals.setdefault(str(counter), arg)
                counter += 1

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

    def parse_attribute_group(self) -> None:
        self.next()
        group = self.expect_kind(lx.ATTRGRP, "an attribute group id")[1]
        self.expect("=")
        self.expect("{")
        items: list[str] = []
        while not self.accept("}"):
            got = self.parse_attributes(param=False)
            if not got:
                raise self.error(f"unknown attribute '{self.peek()[1]}'")
            items.extend(got)
        self.attr_groups[group] = items

    def _resolve_attribute_groups(self) -> None:
        def expand(items: list[str]) -> list[str]:
            out: list[str] = []
            for item in items:
                if item.startswith("#"):
                    out.extend(self.attr_groups.get(item, []))
                else:
                    out.append(item)
            return out

        for fn in self.module.functions:
            fn.fn_attrs = expand(fn.fn_attrs)
            for inst in fn.instructions():
                if isinstance(inst, Call):
                    inst.fn_attrs = expand(inst.fn_attrs)
        for gv in self.module.globals:
            gv.attrs_group = expand(gv.attrs_group)

    # ------------------------------------------------------------------ bodies

    def _block(self, name: str) -> BasicBlock:
        block = self.blocks.get(name)
        if block is None:
            block = BasicBlock(name=None if name.isdigit() else _key_name(name))
            self.blocks[name] = block
        return block

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

    # ---------------------------------------------------------------- metadata

    def parse_metadata_definition(self) -> None:
        tok = self.next()
        name = tok[1][1:]
        self.expect("=")
        if name.isdigit():
            number = int(name)
            distinct = self.accept("distinct")
            node = self._parse_md_node_body(distinct)
            placeholder = self.md_placeholders.pop(number, None)
            if placeholder is not None:
                # fill the placeholder in place so earlier references stay valid
                if isinstance(node, MDNode):
                    placeholder.operands = node.operands
                    placeholder.distinct = node.distinct
                    node = placeholder
                else:
                    self.md_aliases[id(placeholder)] = node
            self.md_numbered[number] = node
        else:
            self.expect("!")
            self.expect("{")
            nodes: list[Metadata] = []
            if not self.accept("}"):
                while True:
                    ref = self.expect_kind(lx.META, "a metadata node reference")
                    nodes.append(self._md_ref(ref[1][1:]))
                    if self.accept("}"):
                        break
                    self.expect(",")
            self.module.named_metadata.append(NamedMetadata(name, nodes))

    def _parse_md_node_body(self, distinct: bool) -> Metadata:
        kind, text, offset = self.peek()
        if text == "!":
            self.next()
            self.expect("{")
            return MDNode(self._parse_md_list("}"), distinct)
        if kind == lx.META and not text[1:].isdigit() and self.peek(1)[1] == "(":
            self.next()
            self.next()
            return self._parse_specialized(text[1:], distinct)
        raise self.error(f"expected a metadata node but found '{text}'", offset)

    def _parse_md_list(self, close: str) -> list[Metadata | None]:
        items: list[Metadata | None] = []
        if self.accept(close):
            return items
        while True:
            if self.accept("null"):
                items.append(None)
            else:
                items.append(self.parse_metadata_operand())
            if self.accept(close):
                return items
            self.expect(",")

    def _parse_specialized(self, kind: str, distinct: bool) -> SpecializedMDNode:
        node = SpecializedMDNode(kind, distinct=distinct)
        if self.accept(")"):
            return node
        if kind in ("DIExpression", "DIArgList"):
            # positional operands
            depth = 1
            start = self.peek()[2]
            while depth:
                t = self.next()
                depth += {"(": 1, ")": -1}.get(t[1], 0)
            node.fields.append(("", self.stmt_text[start:self.toks[self.i - 1][2]]))
            return node
        while True:
            fname = self.expect_kind(lx.WORD, "a field name")[1]
            self.expect(":")
            kind_, text, _ = self.peek()
            value: Metadata | str | None
            if text == "null":
                self.next()
                value = None
            elif kind_ in (lx.META, lx.MDSTRING) or text == "!":
                value = self.parse_metadata_operand()
            else:
                # raw field text up to the next ',' or ')' at this depth
                start = self.peek()[2]
                depth = 0
                while True:
                    t = self.peek()[1]
                    if depth == 0 and t in (",", ")"):
                        break
                    depth += {"(": 1, ")": -1}.get(t, 0)
                    self.next()
                value = self.stmt_text[start:self.toks[self.i - 1][2]
                                       + len(self.toks[self.i - 1][1])]
            node.fields.append((fname, value))
            if self.accept(")"):
                return node
            self.expect(",")

    def parse_metadata_operand(self) -> Metadata:
        kind, text, _offset = self.peek()
        if kind == lx.MDSTRING:
            self.next()
            return MDString(unescape(text[2:-1]))
        if kind == lx.META:
            if text[1:].isdigit():
                self.next()
                return self._md_ref(text[1:])
            if self.peek(1)[1] == "(":
                self.next()
                self.next()
                return self._parse_specialized(text[1:], False)
        if text == "!":
            self.next()
            self.expect("{")
            return MDNode(self._parse_md_list("}"))
        if text == "distinct":
            self.next()
            return self._parse_md_node_body(True)
        # a typed value
        ty = self.parse_type()
        return MDValue(self.parse_value(ty))

    def _md_ref(self, number_text: str) -> Metadata:
        if not number_text.isdigit():
            raise self.error(f"expected a numbered metadata reference, found '!{number_text}'")
        number = int(number_text)
        node = self.md_numbered.get(number)
        if node is not None:
            return node
        placeholder = self.md_placeholders.get(number)
        if placeholder is None:
            placeholder = MDNode([])
            placeholder.__dict__["_number"] = number
            self.md_placeholders[number] = placeholder
        return placeholder

    def _resolve_metadata(self) -> None:
        if self.md_placeholders:
            number = min(self.md_placeholders)
            raise CompileError(f"metadata node !{number} is used but never defined",
                               SourceLocation(self.file))
        # Placeholders that stood for specialized nodes: replace references.
        if self.md_aliases:
            _replace_md_aliases(self.module, self.md_aliases)


def _replace_md_aliases(module: Module, aliases: dict[int, Metadata]) -> None:
    seen: set[int] = set()

    def fix(md: Metadata | None) -> Metadata | None:
        if md is None:
            return None
        md = aliases.get(id(md), md)
        if id(md) in seen:
            return md
        seen.add(id(md))
        if isinstance(md, MDNode):
            md.operands = [fix(op) for op in md.operands]
        elif isinstance(md, SpecializedMDNode):
            md.fields = [(k, fix(v) if isinstance(v, Metadata) else v) for k, v in md.fields]
        return md

    for nmd in module.named_metadata:
        nmd.nodes = [fix(n) for n in nmd.nodes]  # type: ignore[misc]
    for gv in module.globals:
        gv.metadata = [(k, fix(v)) for k, v in gv.metadata]  # type: ignore[misc]
    for fn in module.functions:
        fn.metadata = [(k, fix(v)) for k, v in fn.metadata]  # type: ignore[misc]
        for inst in fn.instructions():
            inst.metadata = [(k, fix(v)) for k, v in inst.metadata]  # type: ignore[misc]
            for op in inst.ops:
                if isinstance(op, MetadataValue):
                    op.md = fix(op.md)


def _patch_md(md: Metadata | None, mapping: dict[int, Value]) -> None:
    if isinstance(md, MDValue) and isinstance(md.value, _ForwardRef):
        md.value = mapping[id(md.value)]
    elif isinstance(md, MDNode):
        for op in md.operands:
            if isinstance(op, MDValue):
                _patch_md(op, mapping)


def _int_value(text: str) -> int:
    if text[0] in "su" and text[1:3] == "0x":
        value = int(text[3:], 16)
        return value
    return int(text)


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


_SIMPLE_CONSTANTS = {
    "null": lambda ty: ConstantNull(ty),
    "none": lambda ty: ConstantNull(ty),
    "zeroinitializer": lambda ty: ConstantZero(ty),
    "undef": lambda ty: Undef(ty),
    "poison": lambda ty: Poison(ty),
    "true": lambda ty: ConstantInt(ty, value=1),
    "false": lambda ty: ConstantInt(ty, value=0),
}

_INSTRUCTION_PARSERS = {
    "fneg": Parser._parse_fneg,
    "icmp": Parser._parse_cmp,
    "fcmp": Parser._parse_cmp,
    "select": Parser._parse_select,
    "phi": Parser._parse_phi,
    "alloca": Parser._parse_alloca,
    "load": Parser._parse_load,
    "store": Parser._parse_store,
    "getelementptr": Parser._parse_gep,
    "call": Parser._parse_call_inst,
    "atomicrmw": Parser._parse_atomicrmw,
    "cmpxchg": Parser._parse_cmpxchg,
    "fence": Parser._parse_fence,
    "extractvalue": Parser._parse_extractvalue,
    "insertvalue": Parser._parse_insertvalue,
    "extractelement": Parser._parse_extractelement,
    "insertelement": Parser._parse_insertelement,
    "shufflevector": Parser._parse_shufflevector,
    "freeze": Parser._parse_freeze,
    "ret": Parser._parse_ret,
    "br": Parser._parse_br,
    "switch": Parser._parse_switch,
    "unreachable": Parser._parse_unreachable,
    "va_arg": Parser._parse_unsupported,
    "invoke": Parser._parse_unsupported,
    "landingpad": Parser._parse_unsupported,
    "resume": Parser._parse_unsupported,
    "indirectbr": Parser._parse_unsupported,
    "callbr": Parser._parse_unsupported,
    "catchswitch": Parser._parse_unsupported,
    "catchpad": Parser._parse_unsupported,
    "cleanuppad": Parser._parse_unsupported,
    "catchret": Parser._parse_unsupported,
    "cleanupret": Parser._parse_unsupported,
}

# Every enum attribute keyword LLVM 14 to 22 may print.
_ATTR_WORDS = frozenset("""
align alignstack allocalign allockind allocptr allocsize alwaysinline builtin byref byval
captures cold convergent coro_elide_safe coro_only_destroy_when_complete dead_on_return
dead_on_unwind dereferenceable dereferenceable_or_null disable_sanitizer_instrumentation
elementtype fn_ret_thunk_extern hot hybrid_patchable immarg inalloca initializes inlinehint
inreg jumptable memory minsize mustprogress naked nest noalias nobuiltin nocallback nocapture
nocf_check nocreateundeforpoison nodivergencesource noduplicate noext nofpclass nofree
noimplicitfloat noinline nomerge nonlazybind nonnull noprofile norecurse noredzone noreturn
nosanitize_bounds nosanitize_coverage nosync noundef nounwind null_pointer_is_valid
optdebug optforfuzzing optnone optsize preallocated range readnone readonly returned
returns_twice safestack sanitize_address sanitize_alloc_token sanitize_hwaddress
sanitize_memory sanitize_memtag sanitize_numerical_stability sanitize_realtime
sanitize_realtime_blocking sanitize_thread sanitize_type shadowcallstack signext skipprofile
speculatable speculative_load_hardening sret ssp sspreq sspstrong strictfp swiftasync
swifterror swiftself uwtable vscale_range willreturn writable writeonly zeroext argmemonly
inaccessiblememonly inaccessiblemem_or_argmemonly nofree denormal_fpenv
""".split())



def parse_type_text(text: str) -> Type:
    """Parse one type spelled as text (named structs stay references by name)."""
    parser = Parser(text)
    parser.begin_statement(text, 1)
    return parser.parse_type()


def parse_module(text: str, file: str = "<input>") -> Module:
    """Parse normalized LLVM IR text (as LLVM 22 prints it) into a :class:`Module`."""
    return Parser(text, file).parse_module()


def parse_llvm14_module(text: str, file: str = "<llvm14>") -> Module:
    """Parse LLVM 14 text as our LLVM 14 writer prints it into a *typed* :class:`Module`.

    Every pointer type in the result is a :class:`TypedPointerType` with the
    pointee the text gives; this is the input of the bitcode writer.
    """
    return Parser(text, file, typed=True).parse_module()
