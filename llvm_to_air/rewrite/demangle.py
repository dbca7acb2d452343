"""Itanium-mangled OpenCL builtin names: :func:`demangle` to a base name and parameter kinds.

Only what OpenCL C builtins use (builtin types, vectors, pointers with address
space qualifiers, substitutions); anything else is not a builtin and yields None.
"""

from __future__ import annotations

import re

_BUILTIN_CODES = {"v": "v", "b": "u", "c": "s", "a": "s", "h": "u", "s": "s", "t": "u",
                  "i": "s", "j": "u", "l": "s", "m": "u", "x": "s", "y": "u", "f": "f",
                  "d": "f"}


def demangle(name: str) -> tuple[str, list[str]] | None:
    """Itanium-mangled OpenCL builtin -> (name, parameter kinds).

    Kinds: ``s``/``u``/``f``/``v`` for scalars and vectors of them, ``p<kind>`` for
    pointers, ``e`` for enums/named types. Enough for choosing signedness.
    """
    m = re.match(r"_Z(\d+)", name)
    if m is None:
        return None
    length = int(m.group(1))
    base = name[m.end():m.end() + length]
    rest = name[m.end() + length:]
    params: list[str] = []
    subs: list[str] = []
    pos = 0

    def parse() -> str:
        nonlocal pos
        if pos >= len(rest):
            raise ValueError
        ch = rest[pos]
        if ch in _BUILTIN_CODES:
            pos += 1
            return _BUILTIN_CODES[ch]
        if rest.startswith("Dh", pos):
            pos += 2
            return "f"
        if rest.startswith("DF16_", pos):
            pos += 5
            return "f"
        if rest.startswith("Dv", pos):
            end = rest.index("_", pos)
            pos = end + 1
            kind = parse()
            subs.append(kind)
            return kind
        if ch == "P":
            pos += 1
            while pos < len(rest):
                if rest[pos] in "KVr":
                    pos += 1
                elif rest.startswith("U3AS", pos):
                    pos += 5
                else:
                    break
            kind = "p" + parse()
            subs.append(kind)
            return kind
        if ch == "S":
            end = rest.index("_", pos)
            index = 0 if end == pos + 1 else int(rest[pos + 1:end], 36) + 1
            pos = end + 1
            return subs[index] if index < len(subs) else "e"
        if ch.isdigit():
            n = re.match(r"\d+", rest[pos:])
            assert n is not None
            pos += len(n.group()) + int(n.group())
            subs.append("e")
            return "e"
        raise ValueError

    try:
        while pos < len(rest):
            params.append(parse())
    except (ValueError, IndexError):
        return base, params
    return base, params


def _param_kind(kind: str) -> str:
    return kind.lstrip("p")[:1] or "f"
