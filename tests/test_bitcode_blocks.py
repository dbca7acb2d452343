"""Our bitcode's block structure against Apple's modules of the same AIR version.

Beyond ``bitcode_flavour`` (attribute kinds, FUNCTION/GLOBALVAR field counts), this
compares what ``llvm-bcanalyzer-14 -dump`` shows of each module's structure: the
top-level blocks in order (IDENTIFICATION, MODULE, SYMTAB, STRTAB), the IDENTIFICATION
block's producer string and epoch, the module VERSION record, and the record kinds of
the MODULE, METADATA, METADATA_KIND, CONSTANTS and FUNCTION blocks. Blocks,
identification and version are compared with Apple's modules of the target's AIR
version; every record kind we write must be one Apple's compiler writes in its
LLVM-14-era modules (AIR 2.5 to 2.8: a kind missing from one version's modules is a gap
of the corpus, e.g. no AIR 2.6 module has a constant inbounds GEP while 2.5, 2.7 and 2.8
modules do).
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from oracles import FIXTURES, require_tool

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference"
LIBRARIES = sorted(REFERENCE.glob("apple-metallib*/*.metallib"))
MISSING = f"Apple reference corpus not found at {REFERENCE} (third-party data, not in the repo)"
RECORD_VERSIONS = ((2, 5), (2, 9))  # since, until: the LLVM-14-era modules
BLOCKS = ("MODULE_BLOCK", "METADATA_BLOCK", "METADATA_KIND_BLOCK", "CONSTANTS_BLOCK",
          "FUNCTION_BLOCK")
SOURCES = ["cuda19-O2/constant_mem.ll", "cuda19-O2/reduce_shared.ll", "cuda19-O2/histogram.ll",
           "opencl19/atomics.ll", "mlir-nvvm/elementwise_add.ll", "cuda19-g/reduce_shared.ll"]


@dataclass(frozen=True)
class Structure:
    top_blocks: tuple[str, ...]
    identification: str
    module_version: str | None
    records: dict[str, frozenset[str]]


def structure(bitcode: bytes) -> Structure:
    dump = subprocess.run([require_tool("llvm-bcanalyzer-14"), "-dump", "-"], input=bitcode,
                          capture_output=True, check=True).stdout.decode("utf-8", "replace")
    top = tuple(b for b in re.findall(r"^<([A-Z_]+)\b", dump, re.M)
                if b != "BITCODE_WRAPPER_HEADER")
    ident = re.search(r"<IDENTIFICATION_BLOCK_ID.*?</IDENTIFICATION_BLOCK_ID>", dump, re.S)
    identification = re.sub(r"\s+", " ", ident.group(0)) if ident else ""
    version = re.search(r"<VERSION op0=(\d+)", dump)
    records: dict[str, set[str]] = {name: set() for name in BLOCKS}
    stack: list[str] = []
    for line in dump.splitlines():
        text = line.strip()
        opened = re.match(r"<([A-Z_]+)\b[^/]*>$", text)
        if text.startswith("</"):
            if stack:
                stack.pop()
        elif opened and ("NumWords=" in text or "BlockCodeSize=" in text):
            stack.append(opened.group(1))
        elif text.startswith("<") and stack and stack[-1] in records:
            records[stack[-1]].add(re.match(r"<([A-Z_0-9]+)", text).group(1))
    return Structure(top, identification, version.group(1) if version else None,
                     {k: frozenset(v) for k, v in records.items()})


def _apple_structures() -> dict[tuple[int, int], list[Structure]]:
    from llvm_to_air.bitcode_wrapper import unwrap_bitcode
    from llvm_to_air.metallib import read_metallib

    found: dict[tuple[int, int], list[Structure]] = defaultdict(list)
    for path in LIBRARIES:
        library = read_metallib(path.read_bytes(), str(path))
        for entry in library.functions:
            found[tuple(entry.versions[:2])].append(  # type: ignore[index]
                structure(unwrap_bitcode(library.module_of(entry), str(path))))
    return found


@pytest.fixture(scope="module")
def apple() -> dict[tuple[int, int], list[Structure]]:
    if not LIBRARIES:
        pytest.skip(MISSING)
    return _apple_structures()


@pytest.mark.parametrize(("target", "version"), [
    ("macos14", (2, 6)), ("macos15", (2, 7)), ("macos26", (2, 8)), ("ios26", (2, 8)),
    ("macos27", (2, 8)),  # no AIR 2.9 module in the corpus: 2.9 keeps 2.8's structure
])
def test_our_blocks_and_records_are_apples(target: str, version: tuple[int, int],
                                           apple: dict) -> None:
    import llvm_to_air

    theirs = apple[version]
    assert len({s.top_blocks for s in theirs}) == 1, "Apple's modules disagree"
    era = [s for v, found in apple.items() if RECORD_VERSIONS[0] <= v < RECORD_VERSIONS[1]
           for s in found]
    allowed = {name: frozenset().union(*(s.records[name] for s in era)) for name in BLOCKS}
    for source in SOURCES:
        ours = structure(llvm_to_air.compile(FIXTURES / source, target=target,
                                             emit="air").output)
        assert ours.top_blocks == theirs[0].top_blocks, source
        assert ours.identification in {s.identification for s in theirs}, source
        assert ours.module_version in {s.module_version for s in theirs}, source
        for name in BLOCKS:
            extra = ours.records[name] - allowed[name]
            assert not extra, (source, name, sorted(extra))


def test_apple_structure_is_one_per_version(apple: dict) -> None:
    """Every AIR 2.x version of the corpus has one block layout and one IDENTIFICATION."""
    modern = {v: s for v, s in apple.items() if v >= (2, 3)}
    assert {(2, 6), (2, 7), (2, 8)} <= set(modern)
    for version, found in modern.items():
        assert len({s.top_blocks for s in found}) == 1, version
        assert len({s.identification for s in found}) == 1, version
