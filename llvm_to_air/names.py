"""Kernel names as users type them: the LLVM symbol, or the source name of a C++ one.

``--kernel``, ``--rename`` and ``run --kernel`` all take either form, so
``vadd`` finds ``_Z4vaddPKfS0_Pfi`` as well as itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from llvm_to_air.errors import CompileError, SourceLocation

_LENGTH = re.compile(r"\d+")


def source_name(symbol: str) -> str | None:
    """``ns::name`` for an Itanium-mangled function symbol (plain or nested name), else None.

    Only the name is read, not the parameter types: that is all that selecting a
    kernel needs. Template arguments and anything unusual give None.
    """
    if not symbol.startswith("_Z"):
        return None
    pos = 2
    nested = symbol.startswith("_ZN", 0)
    if nested:
        pos = 3
        while symbol.startswith(("K", "V", "r"), pos):  # cv-qualified member functions
            pos += 1
    parts: list[str] = []
    while True:
        m = _LENGTH.match(symbol, pos)
        if m is None:
            break
        length = int(m.group())
        part = symbol[m.end():m.end() + length]
        if len(part) != length or not length:
            return None
        parts.append(part)
        pos = m.end() + length
        if not nested:
            break
    if not parts or (nested and not symbol.startswith("E", pos) and
                     not symbol.startswith("I", pos)):
        return None
    return "::".join(parts)


def spelled(symbol: str) -> str:
    """A symbol as LLVM IR spells it inside quotes (``k\\FF`` for a byte that is not UTF-8),
    so that any symbol can be typed on a command line."""
    from llvm_to_air.ir.lexer import escape

    return escape(symbol.encode("utf-8", "surrogateescape"))


def resolve(name: str, symbols: Iterable[str], file: str, what: str) -> str:
    """The symbol among ``symbols`` that ``name`` means: itself, or the one symbol whose
    source name is ``name``. CompileError when none or several match."""
    symbols = list(symbols)
    if name in symbols:
        return name
    found = [s for s in symbols if source_name(s) == name or spelled(s) == name]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(symbols) or "none"
    if found:
        raise CompileError(f"{what} '{name}' is ambiguous: it names {', '.join(found)}",
                           SourceLocation(file), hint="give the LLVM symbol name")
    raise CompileError(f"{what} '{name}' names no kernel (kernels: {listed})",
                       SourceLocation(file), hint="give a kernel's source or LLVM symbol name")


__all__ = ["resolve", "source_name", "spelled"]
