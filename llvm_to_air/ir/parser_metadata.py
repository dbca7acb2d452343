"""Metadata of the LLVM text parser: ``!N = ...`` definitions and metadata operands.

:class:`MetadataParser` reads generic and specialized (``!DI...``) nodes,
metadata strings and values, and resolves forward references to numbered
nodes once the module is read; a node used but never defined is an error.
"""

from __future__ import annotations

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.lexer import unescape
from llvm_to_air.ir.model import (
    MDNode,
    MDString,
    MDValue,
    Metadata,
    MetadataValue,
    Module,
    NamedMetadata,
    SpecializedMDNode,
)
from llvm_to_air.ir.parser_values import ValueParser


class MetadataParser(ValueParser):
    """Parser layer for metadata definitions and operands."""

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
