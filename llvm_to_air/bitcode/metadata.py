"""Uniqued metadata, the way an LLVM context holds it.

LLVM uniques ``MDString`` by content, ``ConstantAsMetadata`` by constant,
``LocalAsMetadata`` by value and non-distinct ``MDNode``s by operands;
distinct nodes stay separate. :class:`MetadataPool` maps our model's
metadata objects to :class:`WMD` objects with that identity, so the writer
numbers each LLVM metadata object once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.bitcode.constants import ConstantPool
from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.model import (
    Argument,
    Constant,
    Instruction,
    MDNode,
    MDString,
    MDValue,
    Metadata,
    SpecializedMDNode,
)

STRING = "string"
VALUE = "value"  # ConstantAsMetadata
LOCAL = "local"  # LocalAsMetadata (an argument or instruction)
NODE = "node"


@dataclass(eq=False, slots=True)
class WMD:
    """One uniqued metadata object.

    ``data``: the bytes of a STRING, the uniqued constant of a VALUE, the
    argument or instruction of a LOCAL. ``ops``: a NODE's operands (None for
    ``null``).
    """

    kind: str
    data: object = None
    ops: list[WMD | None] = field(default_factory=list)
    distinct: bool = False


class MetadataPool:
    """Maps model metadata to uniqued :class:`WMD` objects (see the module docstring)."""

    def __init__(self, constants: ConstantPool, file: str = "<input>") -> None:
        self._constants = constants
        self._file = file
        self._memo: dict[int, WMD] = {}
        self._keep: list[object] = []
        self._strings: dict[bytes, WMD] = {}
        self._values: dict[int, WMD] = {}
        self._nodes: dict[tuple[int, ...], WMD] = {}
        self._in_progress: set[int] = set()
        self._cyclic: set[int] = set()

    def get(self, md: Metadata) -> WMD:
        """The uniqued metadata for ``md``; CompileError for debug-info (specialized) nodes."""
        found = self._memo.get(id(md))
        if found is not None:
            if id(found) in self._in_progress:
                self._cyclic.add(id(found))
            return found
        result = self._convert(md)
        self._memo[id(md)] = result
        self._keep.append(md)
        return result

    def _convert(self, md: Metadata) -> WMD:
        if isinstance(md, MDString):
            node = self._strings.get(md.value)
            if node is None:
                node = WMD(STRING, md.value)
                self._strings[md.value] = node
            return node
        if isinstance(md, MDValue):
            value = md.value
            if isinstance(value, Argument | Instruction):
                key = id(value)
                kind = LOCAL
                data: object = value
            elif isinstance(value, Constant):
                data = self._constants.get(value)
                key = id(data)
                kind = VALUE
            else:
                raise CompileError(f"metadata wraps an unsupported value {type(value).__name__}",
                                   SourceLocation(self._file))
            node = self._values.get(key)
            if node is None:
                node = WMD(kind, data)
                self._values[key] = node
            return node
        if isinstance(md, MDNode):
            return self._node(md)
        if isinstance(md, SpecializedMDNode):
            raise CompileError(
                f"specialized metadata node !{md.kind}(...) cannot be written by the bitcode "
                "writer", SourceLocation(self._file),
                hint="debug info is not supported; strip it (the default)")
        raise CompileError(f"unsupported metadata {type(md).__name__}",
                           SourceLocation(self._file))

    def _node(self, md: MDNode) -> WMD:
        node = WMD(NODE, None, [], md.distinct)
        self._memo[id(md)] = node
        self._keep.append(md)
        self._in_progress.add(id(node))
        ops: list[WMD | None] = []
        for op in md.operands:
            if op is None:
                ops.append(None)
                continue
            child = self.get(op)
            if child.kind == LOCAL:
                raise CompileError("function-local metadata inside a metadata node",
                                   SourceLocation(self._file))
            ops.append(child)
        node.ops = ops
        self._in_progress.discard(id(node))
        if md.distinct or id(node) in self._cyclic:
            return node
        key = tuple(id(o) if o is not None else 0 for o in ops)
        existing = self._nodes.get(key)
        if existing is None:
            self._nodes[key] = node
            return node
        self._memo[id(md)] = existing
        return existing
