"""Tokenizer for LLVM textual IR.

One compiled regular expression splits the text; tokens are tuples
``(kind, text, offset)`` so the hot loop allocates as little as possible.
Line and column are computed only when an error needs them.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from llvm_to_air.errors import CompileError, SourceLocation

# Kinds
LOCAL = "local"        # %x, %"x y", %7
GLOBAL = "global"      # @x, @"x y", @7
META = "meta"          # !foo, !7, !DILocation
MDSTRING = "mdstring"  # !"text"
ATTRGRP = "attrgrp"    # #7
DBGREC = "dbgrec"      # #dbg_value(...) debug records
COMDAT = "comdat"      # $x
LABEL = "label"        # entry:  (only at the start of a line)
STRING = "string"      # "text"
CSTRING = "cstring"    # c"text"
INT = "int"
FLOAT = "float"        # 1.5e+00, 0x3FF..., 0xH3C00
WORD = "word"          # keywords and types
PUNCT = "punct"
EOF = "eof"

_NAME = r'(?:[-a-zA-Z$._][-a-zA-Z$._0-9]*|"[^"]*"|\d+)'
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+|;[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)
  | (?P<label>^(?:[-a-zA-Z$._0-9]+|"[^"]*"):)
  | (?P<local>%""" + _NAME + r""")
  | (?P<global>@""" + _NAME + r""")
  | (?P<mdstring>!"[^"]*")
  | (?P<meta>![-a-zA-Z$._0-9\\][-a-zA-Z$._0-9\\]*)
  | (?P<attrgrp>\#\d+)
  | (?P<dbgrec>\#dbg_[a-z_]+)
  | (?P<comdat>\$(?:[-a-zA-Z$._][-a-zA-Z$._0-9]*|"[^"]*"))
  | (?P<cstring>c"[^"]*")
  | (?P<string>"[^"]*")
  | (?P<float>[-+]?\d+\.\d*(?:[eE][-+]?\d+)?|0x[KLMHR]?[0-9A-Fa-f]+|[-+]?(?:inf|nan)\b)
  | (?P<int>-?\d+|[su]0x[0-9A-Fa-f]+)
  | (?P<word>[a-zA-Z_][a-zA-Z0-9_.]*)
  | (?P<punct>\.\.\.|[=,()\[\]{}<>*:!|])
    """,
    re.VERBOSE | re.MULTILINE,
)

Token = tuple[str, str, int]


class LineIndex:
    """Maps text offsets to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        pos = text.find("\n")
        while pos >= 0:
            self._starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def locate(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def tokenize(text: str, file: str = "<input>") -> list[Token]:
    """Split ``text`` into tokens; raises :class:`CompileError` on a character LLVM IR never has."""
    tokens: list[Token] = []
    append = tokens.append
    pos = 0
    end = len(text)
    match = _TOKEN_RE.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            line, col = LineIndex(text).locate(pos)
            raise CompileError(
                f"unexpected character {text[pos]!r} in LLVM IR",
                SourceLocation(file, line, col),
            )
        kind = m.lastgroup
        if kind != "ws":
            append((kind, m.group(), pos))  # type: ignore[arg-type]
        pos = m.end()
    append((EOF, "", end))
    return tokens


_ESCAPE_RE = re.compile(rb"\\([0-9A-Fa-f]{2}|\\)")


def unescape(body: str) -> bytes:
    """Decode LLVM's string escapes (``\\0A``, ``\\\\``) to bytes."""
    raw = body.encode("utf-8", "surrogateescape")
    if b"\\" not in raw:
        return raw
    return _ESCAPE_RE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1), 16)]), raw)


def escape(data: bytes) -> str:
    """Encode bytes the way LLVM prints string literals."""
    out = []
    for b in data:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:02X}")
    return "".join(out)


_PLAIN_NAME_RE = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*\Z")


def format_name(name: str) -> str:
    """A name as LLVM prints it after its sigil: bare when legal, else quoted with escapes."""
    if _PLAIN_NAME_RE.match(name):
        return name
    return '"' + escape(name.encode("utf-8", "surrogateescape")) + '"'


def decode_name(token_text: str) -> str:
    """``%"a\\22b"`` / ``@x`` -> the name without sigil, escapes decoded."""
    body = token_text[1:]
    if body.startswith('"'):
        return unescape(body[1:-1]).decode("utf-8", "surrogateescape")
    return body


def split_top_level(text: str, opening: str = "([{<", closing: str = ")]}>") -> list[str]:
    """Split ``text`` at commas that are not inside any bracket pair.

    Used on small fragments (a parameter list, PTX operands) where a full
    tokenizer is more than needed; parts are stripped and empty tails dropped.
    """
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k].strip())
            start = k + 1
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts
