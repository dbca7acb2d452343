"""Checks on input text before LLVM sees it, for mistakes that LLVM handles badly.

LLVM runs in a child process anyway (:mod:`.isolate`), so nothing here is
needed for safety; these checks exist to give a located, specific message
where LLVM would only assert and die:

* an intrinsic called with a signature other than its declaration's, or,
  for an old intrinsic that LLVM upgrades (``llvm.nvvm.barrier0``,
  ``llvm.nvvm.bar.sync``), other than the one it has (LLVM's upgrader
  asserts instead of reporting);
* vector types too large for any GPU (LLVM expands a ``shufflevector`` mask
  element by element: ``<2147483648 x i32>`` asks for 8 GB).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.lexer import split_top_level

MAX_VECTOR_ELEMENTS = 1 << 16

# Intrinsics that LLVM 22 upgrades on reading, with the only signature it accepts
# (return type, parameter types). Their upgrade code asserts on any other.
UPGRADED_SIGNATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "llvm.nvvm.barrier0": ("void", ()),
    "llvm.nvvm.bar.sync": ("void", ("i32",)),
    "llvm.nvvm.barrier.sync": ("void", ("i32",)),
    "llvm.nvvm.barrier.sync.cnt": ("void", ("i32", "i32")),
    "llvm.nvvm.barrier0.popc": ("i32", ("i32",)),
    "llvm.nvvm.barrier0.and": ("i32", ("i32",)),
    "llvm.nvvm.barrier0.or": ("i32", ("i32",)),
}

_VECTOR_RE = re.compile(r"<\s*(\d+)\s+x\b")
_DECLARE_RE = re.compile(r'^declare\b[^@\n]*?(\S+)\s+@("[^"]*"|[-\w$.]+)\(', re.MULTILINE)
# no leading \b: a pattern that starts with the literal "call" is found far faster, and
# _intrinsic_calls checks the word boundary before it
_CALL_RE = re.compile(r'call\b[^@\n]*?(\S+)\s+@(llvm\.[-\w$.]+)\(')
_WORD_CHAR_RE = re.compile(r"\w")


def check_before_llvm(source: str | bytes, file: str) -> None:
    """Raise a located CompileError for the mistakes above; bitcode passes unchecked."""
    if not isinstance(source, str):
        return
    _check_vector_sizes(source, file)
    if "@llvm." in source:
        _check_intrinsic_calls(source, file)


def _location(text: str, offset: int, file: str) -> SourceLocation:
    line = text.count("\n", 0, offset) + 1
    return SourceLocation(file, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def _check_vector_sizes(text: str, file: str) -> None:
    for m in _VECTOR_RE.finditer(text):
        if len(m.group(1)) > 5 and int(m.group(1)) > MAX_VECTOR_ELEMENTS:
            raise CompileError(f"vector type with {m.group(1)} elements is too large (at most "
                               f"{MAX_VECTOR_ELEMENTS})", _location(text, m.start(), file))



def _param_type(param: str) -> str:
    """The type of a parameter or typed argument (``i32 noundef %x`` -> ``i32``); a
    comment before it (LLVM 24 writes ``/* (pinf zero) */ i32 608`` for ``is.fpclass``)
    is not part of it."""
    param = param.strip()
    if param.startswith("/*"):
        param = param[param.find("*/") + 2:].strip() if "*/" in param else param
    if param.startswith(("<", "[", "{")):
        depth = 0
        for k, ch in enumerate(param):
            depth += ch in "<[{"
            depth -= ch in ">]}"
            if depth == 0:
                return param[:k + 1]
    return param.split()[0] if param else ""


def _call_arguments(text: str, start: int) -> str | None:
    depth, k = 1, start
    while k < len(text) and depth:
        ch = text[k]
        if ch == "\n":
            return None
        depth += ch == "("
        depth -= ch == ")"
        k += 1
    return text[start:k - 1] if depth == 0 else None


def _check_intrinsic_calls(text: str, file: str) -> None:
    declared: dict[str, tuple[str, tuple[str, ...]]] = {}
    for m in _DECLARE_RE.finditer(text):
        name = m.group(2).strip('"')
        params = _call_arguments(text, m.end()) if name.startswith("llvm.") else None
        if params is not None and "..." not in params:
            declared[name] = (m.group(1), tuple(_param_type(p)
                                                for p in split_top_level(params)))
    for name, expected in UPGRADED_SIGNATURES.items():
        if name in declared and declared[name] != expected:
            offset = text.find(f"@{name}(")
            raise _signature_error(name, declared[name], expected,
                                   _location(text, offset, file), "declared")
    for m in _intrinsic_calls(text):
        name = m.group(2)
        expected = declared.get(name) or UPGRADED_SIGNATURES.get(name)
        if expected is None:
            continue
        args = _call_arguments(text, m.end())
        if args is None:
            continue
        found = (m.group(1), tuple(_param_type(a) for a in split_top_level(args)))
        if found != expected and _comparable(found, expected):
            raise _signature_error(name, found, expected,
                                       _location(text, m.start(), file), "called")


def _intrinsic_calls(text: str) -> Iterator[re.Match[str]]:
    """What ``\\bcall\\b...`` would find: each match of :data:`_CALL_RE` that starts a word
    (one inside a word, as in ``%xcall = call``, is skipped and the search goes on just
    after its start)."""
    search = _CALL_RE.search
    m = search(text)
    while m is not None:
        start = m.start()
        if start and _WORD_CHAR_RE.match(text, start - 1):
            m = search(text, start + 1)
            continue
        yield m
        m = search(text, m.end())


def _comparable(found: tuple[str, tuple[str, ...]], expected: tuple[str, ...] | Any) -> bool:
    # a call may spell its callee's whole function type ("call void (i32) @f"): skip those
    return not found[0].endswith(")")


def _signature_error(name: str, found: tuple[str, tuple[str, ...]],
                     expected: tuple[str, tuple[str, ...]], location: SourceLocation,
                     how: str) -> CompileError:
    def spell(sig: tuple[str, tuple[str, ...]]) -> str:
        return f"{sig[0]} ({', '.join(sig[1])})"

    return CompileError(f"intrinsic '@{name}' is {how} as {spell(found)}, but its signature is "
                        f"{spell(expected)}", location,
                        hint="fix the call or the declaration to match the intrinsic")


__all__ = ["MAX_VECTOR_ELEMENTS", "check_before_llvm"]
