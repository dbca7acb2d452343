"""Parser from LLVM textual IR (as LLVM 22 prints it) into :mod:`llvm_to_air.ir.model`.

The reader hands us text that llvmlite has already parsed, verified and
printed, so the input is well-formed modern IR with opaque pointers. The
parser still reports anything it does not understand as a
:class:`CompileError` with a location, never with a Python exception.

The parser is layered by concern, each layer a class over the one below:
:mod:`parser_base` (state, token cursor, vocabulary), :mod:`parser_values`
(types, values, constants), :mod:`parser_metadata`, :mod:`parser_instructions`
(function bodies, instructions); this module adds the module-level entities
(globals, aliases, functions, attributes, type definitions) and the entry points.
"""

from __future__ import annotations

from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.lexer import decode_name
from llvm_to_air.ir.model import (
    Argument,
    Call,
    ConstantExpr,
    Function,
    GlobalAlias,
    GlobalValue,
    GlobalVariable,
    Metadata,
    Module,
)
from llvm_to_air.ir.parser_base import (
    _ATTR_WORDS,
    BINARY_OPS,
    CALLING_CONVENTIONS,
    CAST_OPS,
    GLOBAL_QUALIFIERS,
    INST_FLAGS,
    LINKAGES,
    ORDERINGS,
    TYPE_ATTRS,
    _key_name,
    _local_key,
)
from llvm_to_air.ir.parser_instructions import InstructionParser
from llvm_to_air.ir.types import FunctionType, PointerType, StructType, Type, TypedPointerType


class Parser(InstructionParser):
    """Recursive-descent parser over the token list of one module."""

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


# The vocabulary lives in parser_base; it stays importable from here.
__all__ = [
    "BINARY_OPS",
    "CALLING_CONVENTIONS",
    "CAST_OPS",
    "GLOBAL_QUALIFIERS",
    "INST_FLAGS",
    "LINKAGES",
    "ORDERINGS",
    "TYPE_ATTRS",
    "Parser",
    "parse_llvm14_module",
    "parse_module",
    "parse_type_text",
]
