"""The "same program" oracle: compare two modules instruction by instruction through llvmlite.

Both the original input and our LLVM 14 output are read by llvmlite's LLVM 22
(so both come out in the same modern spelling) and printed instruction by
instruction. Bitcasts between pointers of one address space (the casts our
writer inserts for typed pointers) are skipped and their uses replaced by
their operands; flags and attributes LLVM 14 cannot express are removed from
both sides; metadata and attribute-group numbers are masked. What is left
must be equal, in order.

Functions where newer atomics were expanded into compare-exchange loops are
compared as a subsequence: every original instruction (but the expanded ones
and phis, whose predecessor changed) must appear in order in ours.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm

_NOOP_BITCAST = re.compile(r"^(%[-\w.$\"]+) = bitcast ((?:<\d+ x )?ptr(?: addrspace\(\d+\))?>?) "
                           r"(\S+) to \2$")
_DROPPED = [
    (re.compile(r" (nneg|disjoint|samesign)\b"), ""),
    (re.compile(r"\btrunc( nuw| nsw)+"), "trunc"),
    (re.compile(r"\b(fptrunc|fpext)( (?:fast|nnan|ninf|nsz|arcp|contract|afn|reassoc))+"), r"\1"),
    (re.compile(r"\bgetelementptr( inbounds)?( nusw| nuw)+"), r"getelementptr\1"),
    (re.compile(r" inrange\(-?\d+, ?-?\d+\)"), ""),
    (re.compile(r" (range|nofpclass|initializes)\((?:[^()]|\([^()]*\))*\)"), ""),
    (re.compile(r" captures\((?!none\))[^)]*\)"), ""),
    (re.compile(r" (writable|dead_on_unwind|dead_on_return|noext)\b"), ""),
    (re.compile(r", !(dbg|DIAssignID) !\d+"), ""),
    (re.compile(r"!\d+"), "!N"),
    (re.compile(r"#\d+"), "#N"),
]
_LEGALIZED = re.compile(r"atomicrmw (volatile )?(uinc_wrap|udec_wrap|fmax|fmin|fmaximum|fminimum|"
                        r"usub_cond|usub_sat) |atomicrmw (volatile )?xchg ptr")


def normalize(line: str) -> str:
    for pattern, repl in _DROPPED:
        line = pattern.sub(repl, line)
    return line


def instruction_lines(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """Per defined function, its normalized instruction lines; and the global definitions."""
    module = llvm.parse_assembly(text, context=llvm.create_context())
    module.verify()
    functions: dict[str, list[str]] = {}
    for fn in module.functions:
        if fn.is_declaration:
            continue
        aliases: dict[str, str] = {}
        lines: list[str] = []
        # unnamed values are renumbered in definition order once skipped casts are gone
        numbers: list[str] = [a.name for a in fn.arguments if not a.name] and []
        numbered_args = sum(1 for a in fn.arguments if not a.name)
        numbers = [str(k) for k in range(numbered_args)]
        for block in fn.blocks:
            label = str(block).lstrip("\n").split("\n", 1)[0].split(":", 1)[0].strip()
            if label.isdigit():
                numbers.append(label)
            elif not block.name and not numbers[numbered_args:]:
                numbers.append(str(len(numbers)))  # unnamed entry block
            for inst in block.instructions:
                line = str(inst).strip()
                match = _NOOP_BITCAST.match(line)
                if match:
                    source = match.group(3)
                    aliases[match.group(1)] = aliases.get(source, source)
                    continue
                defined = re.match(r"%(\d+) = ", line)
                if defined:
                    numbers.append(defined.group(1))
                lines.append(line)
        if aliases:
            pattern = re.compile("|".join(re.escape(a) + r"(?![-\w.$])" for a in aliases))
            lines = [pattern.sub(lambda m, a=aliases: a[m.group(0)], ln) for ln in lines]
        renumber = {old: str(new) for new, old in enumerate(numbers)}
        lines = [re.sub(r"%(\d+)\b",
                        lambda m, r=renumber: "%" + r.get(m.group(1), "?" + m.group(1)), ln)
                 for ln in lines]
        functions[fn.name] = [normalize(ln) for ln in lines]
    global_lines = sorted(normalize(str(gv).strip()) for gv in module.global_variables)
    return functions, global_lines


def assert_same_program(original: str, ours: str) -> None:
    before, globals_before = instruction_lines(original)
    after, globals_after = instruction_lines(ours)
    assert sorted(before) == sorted(after), "defined functions differ"
    for a, b in zip(globals_before, globals_after, strict=True):
        assert a == b, f"global variables differ:\n  input: {a}\n  ours:  {b}"
    for name, lines in before.items():
        theirs = after[name]
        if any(_LEGALIZED.search(ln) for ln in lines):
            _assert_subsequence(name, [ln for ln in lines if not _LEGALIZED.search(ln)
                                       and " = phi " not in ln], theirs)
            continue
        if lines != theirs:
            for k, (a, b) in enumerate(zip(lines, theirs, strict=False)):
                assert a == b, f"@{name}, instruction {k}:\n  input: {a}\n  ours:  {b}"
            assert len(lines) == len(theirs), f"@{name}: instruction counts differ"


def _assert_subsequence(name: str, wanted: list[str], have: list[str]) -> None:
    position = 0
    for line in wanted:
        while position < len(have) and have[position] != line:
            position += 1
        assert position < len(have), f"@{name}: '{line}' missing or out of order in our output"
        position += 1
