"""Text from LLVM releases newer than llvmlite's (23, 24: Triton 3.9 bundles 24), made
readable by llvmlite's LLVM 22 without changing what it means.

Newer printers write floating-point constants in forms LLVM 22 rejects:

* ``f0x3FB8AA3B``: the constant's own bits in hexadecimal, in its type's format
  (LLVM 22 spells a ``float`` as the hex of the *double* that holds it, a ``half``
  as ``0xH...``, a ``bfloat`` as ``0xR...``);
* ``inf``, ``-inf``, ``nan``, ``+nan``: names of special values;
* the shortest decimal that rounds to the value (``float 1.1``), which LLVM 22
  rejects for ``half``, ``bfloat`` and ``float`` unless the decimal is exact.

Each such literal is rewritten in place to the hexadecimal form LLVM 22 reads, with
the value unchanged; its type is the nearest floating-point type named before it on
the line (``fadd float %a, 1.1``, ``fpext half 1.5 to float``, ``<2 x float>
<float 1.1, float -inf>``). Strings, metadata strings and comments are left alone,
and no line moves, so locations in messages stay right.
"""

from __future__ import annotations

import math
import re
import struct

FLOAT_TYPES = ("half", "bfloat", "float", "double")
_TOKEN_RE = re.compile(
    r'(?P<skip>c?"[^"]*"|![A-Za-z0-9_.]*"[^"]*"|;.*$|\bnofpclass\([^)]*\))'
    r"|(?P<type>\b(?:half|bfloat|float|double|fp128|x86_fp80|ppc_fp128)\b)"
    r"|(?P<lit>(?<![\w.%@$-])(?:f0x[0-9A-Fa-f]+|[-+]?(?:inf|nan)\b|[-+]?\d+\.\d*(?:[eE][-+]?\d+)?"
    r"|[-+]?\d+[eE][-+]?\d+)(?![\w.]))",
    re.MULTILINE)
# A cheap test before any work: only newer printers write these forms.
_NEWER_FORMS_RE = re.compile(r"\bf0x[0-9A-Fa-f]|(?<![\w%@$.\"])[-+]?(?:inf|nan)\b")
_DECIMAL_RE = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d*)?[eE.]")
_NARROW_TYPE_RE = re.compile(r"\b(?:half|bfloat|float)\b")


def needs_forwarding(text: str) -> bool:
    """Whether ``text`` may hold a literal LLVM 22 cannot read (a quick, conservative test:
    decimals are only a candidate next to a type narrower than double)."""
    return _NEWER_FORMS_RE.search(text) is not None or (
        _DECIMAL_RE.search(text) is not None and _NARROW_TYPE_RE.search(text) is not None)


def _double_hex(value: float) -> str:
    return "0x{:016X}".format(struct.unpack("<Q", struct.pack("<d", value))[0])


def _value(literal: str, ty: str) -> float | None:
    """The literal's value (rounded to ``ty`` as the newer printer meant), or None when it
    needs no rewriting."""
    text = literal.lstrip("+")
    if text.startswith("f0x"):
        bits = int(text[3:], 16)
        if ty == "float":
            return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
        if ty == "double":
            return struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0]
        if ty == "half":
            return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]
        if ty == "bfloat":
            return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]
        return None
    if text.endswith(("inf", "nan")):
        sign = -1.0 if text.startswith("-") else 1.0
        return math.copysign(math.inf if text.endswith("inf") else math.nan, sign)
    value = float(text)
    if ty == "double":
        return None  # every decimal reads as a double
    rounded = _round(value, ty)
    return None if rounded == value else rounded


def _round(value: float, ty: str) -> float:
    if ty == "float":
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if ty == "half":
        return struct.unpack("<e", struct.pack("<e", value))[0]
    if ty == "bfloat":  # round to nearest even on the top 16 bits of the float
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return value


def _spell(value: float, ty: str) -> str:
    """``value`` in the hexadecimal form LLVM 22 reads for ``ty``."""
    if ty == "half":
        return "0xH{:04X}".format(struct.unpack("<H", struct.pack("<e", value))[0])
    if ty == "bfloat":
        return "0xR%04X" % (struct.unpack("<I", struct.pack("<f", value))[0] >> 16)
    if ty == "float" and math.isnan(value):
        # keep the float's own NaN payload: widen its bits as LLVM does
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        sign, payload = bits >> 31, bits & 0x7FFFFF
        return "0x%016X" % ((sign << 63) | (0x7FF << 52) | (payload << 29))
    return _double_hex(value)


def forward(text: str) -> str:
    """``text`` with every newer floating-point literal in LLVM 22's spelling."""
    if not needs_forwarding(text):
        return text
    out = []
    for line in text.split("\n"):
        out.append(_forward_line(line) if needs_forwarding(line) else line)
    return "\n".join(out)


def _forward_line(line: str) -> str:
    pieces: list[str] = []
    position = 0
    current: str | None = None
    for m in _TOKEN_RE.finditer(line):
        if m.group("type"):
            current = m.group("type")
            continue
        if m.group("skip") or m.group("lit") is None or current not in FLOAT_TYPES:
            continue
        value = _value(m.group("lit"), current)
        if value is None:
            continue
        pieces.append(line[position:m.start()])
        pieces.append(_spell(value, current))
        position = m.end()
    pieces.append(line[position:])
    return "".join(pieces)


__all__ = ["forward", "needs_forwarding"]
