#!/usr/bin/env python3
"""Generate llvm_to_air/bitcode/emitters.py: the bitstream emitter templates, ahead of time.

    python3 tools/gen_emitters.py [--check]

The templates are those already in the file plus every one the bitcode writer asks for
while writing a small corpus (``examples/*.ll`` and the bitcode stress fixtures), so
that writing these modules compiles no code at run time (issue 12: start-up). A shape
outside the file still works: ``bitstream._compile`` generates it in the process.
``--check`` exits 1 when the file is not what this script would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llvm_to_air.bitcode import bitstream, emitters  # noqa: E402

TARGET = REPO / "llvm_to_air" / "bitcode" / "emitters.py"
CORPUS = (*sorted((REPO / "examples").glob("*.ll")),
          *sorted((REPO / "tests" / "fixtures" / "bitcode-stress").glob("*.ll")))


def corpus_keys() -> set[bitstream.TemplateKey]:
    """The template keys the writer uses on the corpus (as metallib, and as plain bitcode)."""
    from llvm_to_air import CompileError, compile
    from llvm_to_air.bitcode import llvm14_text_to_bitcode
    from llvm_to_air.ir import downgrade

    for path in CORPUS:
        text = path.read_text()
        try:
            compile(text, str(path), emit="metallib")
        except CompileError:
            pass  # not a kernel module: the plain bitcode below still covers it
        llvm14_text_to_bitcode(downgrade(text, str(path)))
    return set(bitstream._TEMPLATES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    keys = set(emitters.TEMPLATES) | corpus_keys()
    text = bitstream.emitters_module_text(sorted(keys))
    if args.check:
        sys.exit(0 if TARGET.read_text() == text else 1)
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(REPO)}: {len(keys)} templates")


if __name__ == "__main__":
    main()
