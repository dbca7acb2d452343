"""Forward compatibility: LLVM IR text from producers newer than llvmlite's LLVM.

Triton 3.9 bundles an LLVM 23/24 whose printer writes floating-point constants
in forms llvmlite's LLVM 22 cannot read:

* ``f0x3FB8AA3B``: the constant's bits, in the width of its type;
* ``+inf`` / ``-inf``, ``+nan`` / ``-nan`` (the canonical quiet NaN),
  ``+nan(0xP)`` / ``+qnan(0xP)`` (a quiet NaN with payload P) and
  ``+snan(0xP)`` (a signalling NaN);
* the shortest decimal that round-trips in the type (``0.1`` for a ``float``),
  which older parsers reject because it is not exact as a ``double``.

:func:`normalize_forward` rewrites each of these into the LLVM 14-22 spelling of
the same bits (``0x<16 hex digits of the double>`` for ``float``/``double``,
``0xH``/``0xR`` for ``half``/``bfloat``), token by token inside its line, so
line numbers (and hence diagnostics) stay those of the user's file. A newer
form that has no older spelling is a :class:`CompileError` naming the form and
the LLVM release that introduced it.

The NaN payload reading (payload bits below the quiet bit) follows the
printer's output for Triton's ``bfloat`` NaN (``+nan(0x3F)`` is ``0x7FFF``).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from llvm_to_air.errors import CompileError, SourceLocation


@dataclass(frozen=True)
class FloatFormat:
    """An IEEE binary format: total bits, exponent bits and its LLVM 22 hex prefix."""

    bits: int
    exponent_bits: int
    prefix: str  # "0x" (as a double), "0xH", "0xR"

    @property
    def mantissa_bits(self) -> int:
        return self.bits - 1 - self.exponent_bits


FORMATS: dict[str, FloatFormat] = {
    "half": FloatFormat(16, 5, "0xH"),
    "bfloat": FloatFormat(16, 8, "0xR"),
    "float": FloatFormat(32, 8, "0x"),
    "double": FloatFormat(64, 11, "0x"),
}

# Newer literal forms that have no spelling older LLVM reads, with the release that added them.
_UNMAPPABLE_TYPES = {"fp128": "LLVM 23", "x86_fp80": "LLVM 23", "ppc_fp128": "LLVM 23"}

_TYPE_RE = r"half|bfloat|float|double|fp128|x86_fp80|ppc_fp128"
_LITERAL = (r"f0x[0-9A-Fa-f]+|[+-](?:inf|nan|qnan|snan)(?:\(0x[0-9A-Fa-f]+\))?"
            r"|[+-]?\d+\.\d*(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+")
# A float type keyword, or a literal in a value position (after space, comma, bracket).
_TOKEN_RE = re.compile(rf"(?<![\w.%@$\"-])({_TYPE_RE})(?![\w.])"
                       rf"|(?<=[\s,(\[<{{])({_LITERAL})(?=[\s,)\]>}}]|$)")
# What may need work: f0x, a signed special, a digit-dot-digit. Searched one by one, each
# from a literal (one alternation scans every offset, far slower); the specials only when
# "inf" or "nan" occurs, so most inputs never compile their pattern.
_SPECIAL = r"[+-](?:inf|nan|qnan|snan)\b"
_DOT_DIGIT_RE = re.compile(r"\.\d")


def normalize_forward(text: str, file: str = "<input>") -> str:
    """LLVM 23/24 float literal forms rewritten as LLVM 22 reads them; lines are kept."""
    # one scan of the whole text finds the lines that may need work (few: constants)
    starts = sorted({text.rfind("\n", 0, at) + 1 for at in _needing_work(text)})
    if not starts:
        return text
    out: list[str] = []
    done = 0
    line_no = 1
    for start in starts:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        if line.lstrip().startswith((";", "!")):
            continue
        line_no += text.count("\n", done, start)
        out.append(text[done:start])
        out.append(_normalize_line(line, file, line_no))
        done = end
    out.append(text[done:])
    return "".join(out)


def _needing_work(text: str) -> list[int]:
    """Offsets of what may need work in ``text`` (a digit-dot-digit at its dot's digit)."""
    found = [m.start() - 1 for m in _DOT_DIGIT_RE.finditer(text)
             if m.start() and text[m.start() - 1].isdigit()]
    at = text.find("f0x")
    while at >= 0:
        found.append(at)
        at = text.find("f0x", at + 1)
    if "inf" in text or "nan" in text:
        found += [m.start() for m in re.finditer(_SPECIAL, text)]
    return found


def _normalize_line(line: str, file: str, line_no: int) -> str:
    code, comment = _split_comment(line)
    out: list[str] = []
    last = 0
    current_type: str | None = None
    for match in _TOKEN_RE.finditer(code):
        if _inside_string(code, match.start()):
            continue
        if match.group(1):
            current_type = match.group(1)
            continue
        literal = match.group(2)
        replacement = _rewrite_literal(literal, current_type, file, line_no, match.start() + 1)
        if replacement != literal:
            out.append(code[last:match.start()])
            out.append(replacement)
            last = match.end()
    out.append(code[last:])
    return "".join(out) + comment


def _split_comment(line: str) -> tuple[str, str]:
    in_string = False
    for k, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == ";" and not in_string:
            return line[:k], line[k:]
    return line, ""


def _inside_string(code: str, position: int) -> bool:
    return code.count('"', 0, position) % 2 == 1


def _rewrite_literal(literal: str, type_name: str | None, file: str, line: int,
                     col: int) -> str:
    decimal = literal[-1].isdigit() and "f0x" not in literal and "(" not in literal
    if type_name is None:
        if decimal:
            return literal
        raise CompileError(f"floating-point literal '{literal}' (LLVM 23 syntax) has no type "
                           "before it on its line", SourceLocation(file, line, col),
                           hint="print the module with LLVM 22 or older")
    if type_name in _UNMAPPABLE_TYPES:
        if decimal:
            return literal
        raise CompileError(f"'{type_name} {literal}': this floating-point literal form was "
                           f"introduced in {_UNMAPPABLE_TYPES[type_name]} and has no older "
                           "spelling here", SourceLocation(file, line, col),
                           hint="print the module with LLVM 22 or older")
    fmt = FORMATS[type_name]
    if decimal:
        value = float(literal)
        if _exact(value, fmt) and fmt.prefix == "0x":
            return literal
        return _spell(_bits_of_value(value, fmt), fmt)
    return _spell(_bits_of_special(literal, fmt), fmt)


def _exact(value: float, fmt: FloatFormat) -> bool:
    """True when LLVM 22 accepts the decimal as is: exact as a double and in the type."""
    if fmt.bits == 64:
        return True
    return _value_of_bits(_bits_of_value(value, fmt), fmt) == value


def _bits_of_special(literal: str, fmt: FloatFormat) -> int:
    if literal.startswith("f0x"):
        bits = int(literal[3:], 16)
        if bits >> fmt.bits:
            raise ValueError(f"{literal} does not fit {fmt.bits} bits")
        return bits
    sign = (1 << (fmt.bits - 1)) if literal[0] == "-" else 0
    exponent = ((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits
    name, _, payload_text = literal[1:].partition("(")
    payload = int(payload_text.rstrip(")"), 16) if payload_text else 0
    quiet = 1 << (fmt.mantissa_bits - 1)
    if name == "inf":
        return sign | exponent
    if name == "snan":
        return sign | exponent | (payload & (quiet - 1) or 1)
    return sign | exponent | quiet | (payload & (quiet - 1))


def _bits_of_value(value: float, fmt: FloatFormat) -> int:
    """``value`` rounded to nearest-even in the format, as its bits."""
    if fmt.bits == 64:
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    if fmt.bits == 32:
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if fmt.exponent_bits == 5:
        return struct.unpack("<H", struct.pack("<e", value))[0]
    f32 = struct.unpack("<I", struct.pack("<f", value))[0]  # bfloat: round the float
    if math.isnan(value):
        return (f32 >> 16) | 0x40
    return (f32 + 0x7FFF + ((f32 >> 16) & 1)) >> 16


def _value_of_bits(bits: int, fmt: FloatFormat) -> float:
    if fmt.bits == 64:
        return float(struct.unpack("<d", struct.pack("<Q", bits))[0])
    if fmt.bits == 32:
        return float(struct.unpack("<f", struct.pack("<I", bits))[0])
    if fmt.exponent_bits == 5:
        return float(struct.unpack("<e", struct.pack("<H", bits))[0])
    return float(struct.unpack("<f", struct.pack("<I", bits << 16))[0])


def spell_float(kind: str, value: float) -> str:
    """``value`` rounded to nearest in the float type ``kind`` (``half``, ``bfloat``,
    ``float``, ``double``), spelled as LLVM reads it; beyond the type's range, infinity."""
    fmt = FORMATS[kind]
    try:
        bits = _bits_of_value(value, fmt)
    except OverflowError:  # struct's half and float packing refuse what rounds to infinity
        bits = _bits_of_special("-inf" if value < 0 else "+inf", fmt)
    return _spell(bits, fmt)


def _spell(bits: int, fmt: FloatFormat) -> str:
    """The LLVM 14-22 hexadecimal spelling of ``bits`` in ``fmt``."""
    if fmt.prefix != "0x":
        return f"{fmt.prefix}{bits:04X}"
    if fmt.bits == 64:
        return f"0x{bits:016X}"
    # float constants are written as the double of the same value; NaN payloads shift up
    sign = bits >> 31
    exponent = (bits >> 23) & 0xFF
    mantissa = bits & 0x7FFFFF
    if exponent == 0xFF:
        return f"0x{(sign << 63) | (0x7FF << 52) | (mantissa << 29):016X}"
    return f"0x{_bits_of_value(_value_of_bits(bits, fmt), FORMATS['double']):016X}"
