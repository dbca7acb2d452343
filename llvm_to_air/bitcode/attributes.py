"""Attribute spellings of our IR model -> LLVM 14 attribute sets and lists.

The model keeps attributes as the text LLVM prints (``noundef``,
``align 4``, ``byval(%struct.S)``, ``"key"="v"``). Bitcode needs them as
LLVM's uniqued ``AttributeSet``/``AttributeList`` objects, sorted the way
LLVM sorts them (enum kinds in LLVM 14's in-memory order, then string
attributes by key and value).

An attribute is a tuple:

* ``("e", order, code)`` enum attribute;
* ``("i", order, code, value)`` integer attribute;
* ``("t", order, code, type or None)`` type attribute;
* ``("s", key bytes, value bytes)`` string attribute.
"""

from __future__ import annotations

from llvm_to_air.bitcode import codes
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.lexer import unescape
from llvm_to_air.ir.types import Type

Attr = tuple[object, ...]
AttrSet = tuple[Attr, ...]
# An attribute list: (index, set) for every non-empty set, function index first.
AttrList = tuple[tuple[int, AttrSet], ...]

_STRING_ORDER = 1 << 30
_ALLOCSIZE_NONE = 0xFFFFFFFF


def parse_attribute(spelling: str) -> Attr:
    """One attribute from its spelling; CompileError names an unknown or non-LLVM-14 one."""
    if spelling.startswith('"'):
        return _parse_string_attribute(spelling)
    word, arg = _split(spelling)
    if word in codes.TYPE_ATTRS:
        order = codes.ATTR_MEMORY_ORDER[word]
        return ("t", order, codes.ATTR_KIND_CODES[word], _parse_type(arg) if arg else None)
    if word in codes.INT_ATTRS:
        if arg is None:
            raise CompileError(f"attribute '{word}' needs a value")
        return ("i", codes.ATTR_MEMORY_ORDER[word], codes.ATTR_KIND_CODES[word],
                _int_value(word, arg))
    if arg is None and word in codes.ATTR_KIND_CODES:
        return ("e", codes.ATTR_MEMORY_ORDER[word], codes.ATTR_KIND_CODES[word])
    raise CompileError(f"attribute '{spelling}' cannot be written as LLVM 14 bitcode",
                       hint="LLVM 14 has no such attribute; downgrade the IR first")


def attribute_set(spellings: list[str]) -> AttrSet:
    """The sorted, duplicate-free attribute set of ``spellings`` (the last spelling of a kind wins)."""
    by_kind: dict[object, Attr] = {}
    for spelling in spellings:
        attr = parse_attribute(spelling)
        kind = attr[1] if attr[0] == "s" else attr[2]
        by_kind[(attr[0] == "s", kind)] = attr
    return tuple(sorted(by_kind.values(), key=_sort_key))


def attribute_list(fn_attrs: AttrSet, ret_attrs: AttrSet, params: list[AttrSet]) -> AttrList:
    """The attribute list of a function or call: function, return, then parameter sets."""
    items: list[tuple[int, AttrSet]] = []
    if fn_attrs:
        items.append((codes.FUNCTION_INDEX, fn_attrs))
    if ret_attrs:
        items.append((0, ret_attrs))
    for i, param in enumerate(params):
        if param:
            items.append((i + 1, param))
    return tuple(items)


def group_record(attrs: AttrSet, type_id: dict[Type, int]) -> list[int]:
    """The attribute operands of a PARAMATTR_GRP_CODE_ENTRY record (after group id and index)."""
    out: list[int] = []
    for attr in attrs:
        tag = attr[0]
        if tag == "e":
            out += (codes.ATTR_ENCODING_ENUM, attr[2])  # type: ignore[list-item]
        elif tag == "i":
            out += (codes.ATTR_ENCODING_INT, attr[2], attr[3])  # type: ignore[list-item]
        elif tag == "t":
            if attr[3] is None:
                out += (codes.ATTR_ENCODING_TYPE_NONE, attr[2])  # type: ignore[list-item]
            else:
                out += (codes.ATTR_ENCODING_TYPE, attr[2],  # type: ignore[list-item]
                        type_id[attr[3]])  # type: ignore[index]
        else:
            key: bytes = attr[1]  # type: ignore[assignment]
            value: bytes = attr[2]  # type: ignore[assignment]
            out.append(codes.ATTR_ENCODING_STRING_VALUE if value else codes.ATTR_ENCODING_STRING)
            out += signed_chars64(key)
            out.append(0)
            if value:
                out += signed_chars64(value)
                out.append(0)
    return out


def attribute_types(attrs: AttrSet) -> list[Type]:
    """The types named by the type attributes of ``attrs``, in order."""
    return [a[3] for a in attrs if a[0] == "t" and a[3] is not None]  # type: ignore[misc]


def signed_chars64(data: bytes) -> list[int]:
    """Bytes as LLVM appends a ``char`` string to a ``uint64_t`` record (sign-extended)."""
    return [b if b < 0x80 else b + 0xFFFFFFFFFFFFFF00 for b in data]


def _sort_key(attr: Attr) -> tuple[object, ...]:
    if attr[0] == "s":
        return (_STRING_ORDER, attr[1], attr[2])
    value = attr[3] if attr[0] == "i" else 0
    return (attr[1], b"", value)


def _split(spelling: str) -> tuple[str, str | None]:
    if spelling.startswith("align ") or spelling.startswith("align="):
        return "align", spelling[6:].strip()
    if spelling.startswith("alignstack="):
        return "alignstack", spelling[len("alignstack="):].strip()
    paren = spelling.find("(")
    if paren > 0 and spelling.endswith(")"):
        return spelling[:paren], spelling[paren + 1:-1].strip()
    return spelling, None


_TYPE_CACHE: dict[str, Type] = {}


def _parse_type(text: str) -> Type:
    """The (typed-pointer) type an attribute such as ``byval(T)`` names."""
    found = _TYPE_CACHE.get(text)
    if found is not None:
        return found
    from llvm_to_air.ir.parser import Parser

    parser = Parser(text, "<attribute>", typed=True)
    try:
        parser.begin_statement(text, 1)
        found = parser.parse_type()
        parser.end_statement()
    except CompileError as exc:
        raise CompileError(f"cannot read the type '{text}' of an attribute: {exc.message}") \
            from exc
    _TYPE_CACHE[text] = found
    return found


def _int_value(word: str, arg: str) -> int:
    try:
        parts = [int(p) for p in arg.replace(" ", "").split(",")]
    except ValueError as exc:
        raise CompileError(f"malformed attribute '{word}({arg})'") from exc
    if word == "allocsize":
        num = parts[1] if len(parts) > 1 else _ALLOCSIZE_NONE
        return (parts[0] << 32) | num
    if word == "vscale_range":
        high = parts[1] if len(parts) > 1 else parts[0]
        return (parts[0] << 32) | high
    if len(parts) != 1:
        raise CompileError(f"malformed attribute '{word}({arg})'")
    return parts[0]


def _parse_string_attribute(spelling: str) -> Attr:
    close = spelling.find('"', 1)
    if close < 0:
        raise CompileError(f"malformed string attribute {spelling}")
    key = unescape(spelling[1:close])
    rest = spelling[close + 1:]
    value = b""
    if rest.startswith("="):
        value = unescape(rest[2:-1])
    elif rest:
        raise CompileError(f"malformed string attribute {spelling}")
    return ("s", key, value)
