"""Diagnostics, findings and the metadata helpers every rule uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.model import (
    ConstantInt,
    GlobalValue,
    MDNode,
    MDString,
    MDValue,
    Metadata,
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding: ``rule`` is a :data:`RULES` id; ``message`` names the construct and the fault."""

    severity: Severity
    rule: str
    message: str
    location: SourceLocation | None = None

    def format(self) -> str:
        """Compiler-style line: ``file:line:col: error: message [rule]``."""
        where = f"{self.location}: " if self.location is not None else ""
        return f"{where}{self.severity}: {self.message} [{self.rule}]"

    def __str__(self) -> str:
        return self.format()


class Finding(NamedTuple):
    """What a check reports; the runner adds the rule id."""

    severity: Severity
    message: str
    location: SourceLocation | None = None


def _err(message: str, location: SourceLocation | None = None) -> Finding:
    return Finding("error", message, location)


def _warn(message: str, location: SourceLocation | None = None) -> Finding:
    return Finding("warning", message, location)


# ------------------------------------------------------------------- metadata helpers


def _md_int(md: Metadata | None) -> int | None:
    if isinstance(md, MDValue) and isinstance(md.value, ConstantInt):
        return md.value.value
    return None


def _md_text(md: Metadata | None) -> str | None:
    return md.value.decode("utf-8", "replace") if isinstance(md, MDString) else None


def _md_repr(md: Metadata | None) -> str:
    """A short LLVM-like spelling of a metadata operand, for messages."""
    if md is None:
        return "null"
    if isinstance(md, MDString):
        return f'!"{_md_text(md)}"'
    if isinstance(md, MDValue):
        value = md.value
        if isinstance(value, ConstantInt):
            return f"{value.ty} {value.value}"
        if isinstance(value, GlobalValue):
            return f"{value.ty} @{value.name}"
        return f"{value.ty} <{type(value).__name__}>"
    if isinstance(md, MDNode):
        inner = ", ".join("!{...}" if isinstance(op, MDNode) else _md_repr(op)
                          for op in md.operands)
        return f"!{{{inner}}}"
    return f"!{type(md).__name__}"


_KIND_CHECKS: dict[str, Callable[[Metadata | None], bool]] = {
    "int": lambda md: _md_int(md) is not None,
    "str": lambda md: isinstance(md, MDString),
    "node": lambda md: isinstance(md, MDNode),
}


def _is_property_name(md: Metadata | None) -> bool:
    text = _md_text(md)
    return text is not None and text.startswith("air.")
