"""A bitcode module's flavour, from ``llvm-bcanalyzer-14 -dump``: the record shapes that
differ between LLVM releases and so between AIR versions.

* attribute kinds used (PARAMATTR_GROUP entries: enum, int, type attributes);
* field counts of the module-level FUNCTION and GLOBALVAR records;
* the number of abbreviations the BLOCKINFO block defines.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from oracles import require_tool

_ENTRY_RE = re.compile(r"^\s*<ENTRY (?:abbrevid=\d+ )?((?:op\d+=-?\d+ ?)+)/>", re.MULTILINE)
_TOP_RECORD_RE = re.compile(r"^  <(FUNCTION|GLOBALVAR) ((?:abbrevid=\d+ )?(?:op\d+=-?\d+ ?)*)/>",
                            re.MULTILINE)


@dataclass(frozen=True)
class Flavour:
    attribute_kinds: frozenset[int]
    function_fields: frozenset[int]
    globalvar_fields: frozenset[int]
    blockinfo_abbrevs: int


def _attribute_kinds(ops: list[int]) -> set[int]:
    """Kinds in one attribute group entry (after its group id and parameter index)."""
    kinds, i = set(), 2
    while i < len(ops) - 1:
        tag = ops[i]
        if tag in (0, 6):  # enum attribute; type attribute without a type
            kinds.add(ops[i + 1])
            i += 2
        elif tag in (1, 5):  # integer attribute; type attribute with a type
            kinds.add(ops[i + 1])
            i += 3
        elif tag in (3, 4):  # string key, or key and value, NUL-terminated
            i += 1
            while i < len(ops) and ops[i] != 0:
                i += 1
            i += 1
            if tag == 4:
                while i < len(ops) and ops[i] != 0:
                    i += 1
                i += 1
        else:
            break
    return kinds


def flavour(bitcode: bytes) -> Flavour:
    tool = require_tool("llvm-bcanalyzer-14")
    dump = subprocess.run([tool, "-dump", "-"], input=bitcode, capture_output=True,
                          check=True).stdout.decode("utf-8", "replace")
    group = re.search(r"<PARAMATTR_GROUP_BLOCK_ID.*?</PARAMATTR_GROUP_BLOCK_ID>", dump, re.S)
    kinds: set[int] = set()
    for m in _ENTRY_RE.finditer(group.group(0) if group else ""):
        kinds |= _attribute_kinds([int(x.split("=")[1]) for x in m.group(1).split()])
    functions, globalvars = set(), set()
    for m in _TOP_RECORD_RE.finditer(dump):
        fields = len(re.findall(r"op\d+=", m.group(2)))
        (functions if m.group(1) == "FUNCTION" else globalvars).add(fields)
    info = re.search(r"<BLOCKINFO_BLOCK\b.*?(?:/>|</BLOCKINFO_BLOCK>)", dump, re.S)
    abbrevs = len(re.findall(r"<DEFINE_ABBREV", info.group(0))) if info else 0
    return Flavour(frozenset(kinds), frozenset(functions), frozenset(globalvars), abbrevs)
