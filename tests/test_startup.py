"""Start-up stays light by design (issue 12): what a process imports and compiles, not timings.

The timings are ``benchmarks/bench_startup.py``'s; these tests guard the design that makes
them: the command line imports no runner, verifier, numpy or rich; compiling a kernel to a
.metallib imports none of them either; the bitstream emitters come from the generated
``bitcode/emitters.py`` (which is exactly what regenerating writes) instead of being
compiled in every process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode import emitters
from llvm_to_air.rewrite.pipeline import RARE_STAGES

REPO = Path(__file__).resolve().parents[1]
# Modules the compile path never needs: the CPU runner, the verifier, inspection, the
# Metal bridge, numpy (the runner's) and rich (only for terminals).
NEVER_ON_COMPILE_PATH = ("llvm_to_air.runner", "llvm_to_air.verify", "llvm_to_air.inspect",
                         "llvm_to_air.metal", "llvm_to_air.device", "llvm_to_air.selftest",
                         "numpy", "rich")

_REPORT = """
import json, runpy, sys
sys.argv = ["llvm-to-air", *sys.argv[1:]]
try:
    runpy.run_module("llvm_to_air", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
from llvm_to_air.bitcode import bitstream
print(json.dumps({"modules": sorted(sys.modules), "made": len(bitstream._TEMPLATES)}))
"""


def imported_by(*argv: str) -> dict:
    """The modules a fresh ``llvm-to-air ARGV`` process has imported when it ends, and how
    many emitter templates it compiled."""
    result = subprocess.run([sys.executable, "-c", _REPORT, *argv], capture_output=True,
                            text=True, check=True, cwd=REPO, timeout=120)
    return json.loads(result.stdout.splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    """The modules of ``modules`` that are, or are inside, one of NEVER_ON_COMPILE_PATH."""
    return [m for m in modules
            if any(m == name or m.startswith(name + ".") for name in NEVER_ON_COMPILE_PATH)]


def test_importing_the_command_line_imports_no_heavy_module() -> None:
    code = "import json, sys, llvm_to_air.cli; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO, timeout=60)
    modules = json.loads(result.stdout)
    assert heavy(modules) == []
    # nor LLVM, nor the compiler itself: --help and usage errors need neither
    assert [m for m in modules if m.startswith(("llvmlite", "llvm_to_air.rewrite",
                                                  "llvm_to_air.ir"))] == []


def test_compiling_a_kernel_to_a_metallib_stays_on_the_compile_path(tmp_path: Path) -> None:
    out = tmp_path / "vadd.metallib"
    report = imported_by(str(REPO / "examples" / "vadd.ll"), "-o", str(out))
    assert out.read_bytes()[:4] == b"MTLB"
    assert heavy(report["modules"]) == []
    # a kernel module without inline PTX or WMMA, not a host module: those modules stay out
    assert {"llvm_to_air.rewrite.ptx", "llvm_to_air.rewrite.wmma",
            "llvm_to_air.ir.embedded", "llvm_to_air.rewrite.opencl_sat_half",
            *(f"llvm_to_air.rewrite.{name}" for name, _, _ in RARE_STAGES)
            }.isdisjoint(report["modules"])
    # every abbreviation the writer used on vadd had a template generated ahead of time
    assert report["made"] == 0, "the writer uses new abbreviation shapes: run " \
        "python3 tools/gen_emitters.py"


def test_generated_emitters_are_what_regenerating_writes() -> None:
    text = (REPO / "llvm_to_air" / "bitcode" / "emitters.py").read_text()
    assert bs.emitters_module_text(list(emitters.TEMPLATES)) == text, \
        "bitstream.template_source changed: run python3 tools/gen_emitters.py"


SHAPES = [
    # (abbreviation, records): shapes beyond the generated table exercise the fallback
    (bs.abbrev(bs.literal(77), bs.vbr(3), bs.fixed(9), bs.CHAR6_OP, bs.fixed(0)),
     [(77, [5, 300, ord("x"), 7]), (77, [0, 511, ord("_"), 0])]),
    (bs.abbrev(bs.literal(78), bs.fixed(2), bs.ARRAY_OP, bs.vbr(5)),
     [(78, [3, *range(0, 4000, 37)]), (78, [1])]),
    (bs.abbrev(bs.vbr(6), bs.ARRAY_OP, bs.CHAR6_OP), [(9, [ord(c) for c in "abc._Z9"])]),
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_template_emitters_write_what_the_generic_writer_writes(shape: int) -> None:
    abbreviation, records = SHAPES[shape]
    steps = bs._steps(abbreviation)
    generic = bs.BitstreamWriter()
    compiled = bs.BitstreamWriter()
    for writer in (generic, compiled):
        writer.enter_block(8, 5)
        writer.define_abbrev(abbreviation)
    compiled_emit = bs._compile(abbreviation)
    for code, ops in records:
        bs._emit_generic(steps, generic, bs.FIRST_APPLICATION_ABBREV, code, ops, None)
        compiled_emit(compiled, bs.FIRST_APPLICATION_ABBREV, code, ops, None)
    for writer in (generic, compiled):
        writer.exit_block()
    assert compiled.getvalue() == generic.getvalue()
    assert len(generic.getvalue()) > 8


def test_template_emitter_checks_its_literal() -> None:
    emit = bs._compile(bs.abbrev(bs.literal(79), bs.fixed(3)))
    writer = bs.BitstreamWriter()
    writer.enter_block(8, 5)
    with pytest.raises(ValueError, match="literal 79"):
        emit(writer, bs.FIRST_APPLICATION_ABBREV, 80, [1], None)


def test_stage_gates_cover_their_stages_input() -> None:
    """A gate of ``pipeline`` may let through more than its stage handles, never less."""
    from llvm_to_air.rewrite import pipeline, ptx, ptx_tables, wmma

    assert ptx._LDMATRIX.startswith(pipeline.PTX_CALL_PREFIXES)
    assert all(name.startswith(pipeline.PTX_CALL_PREFIXES)
               for name in ptx_tables.CP_ASYNC_ORDERING)
    assert wmma._PREFIX.startswith(pipeline.WMMA_CALL_PREFIX)


def test_rare_stage_gates_cover_their_stages_input() -> None:
    """Every name a rare stage handles contains one of its gate's needles."""
    from llvm_to_air.rewrite import async_copies, nvvm_atomics, nvvm_match, workgroup_collectives

    handled = {
        "workgroup_collectives": [*(f"_Z{len(n)}{n}i" for n in
                                    workgroup_collectives.OPENCL_COLLECTIVES),
                                  "llvm.nvvm.barrier0.popc",
                                  "llvm.nvvm.barrier.cta.red.and.aligned.all"],
        "async_copies": [*(f"_Z{len(n)}{n}" for n in async_copies.COPIES),
                         f"_Z{len(async_copies.WAIT)}{async_copies.WAIT}",
                         *async_copies.HINTS],
        "nvvm_atomics": ["llvm.nvvm.atomic.add.gen.i.cta.i32.p1"],
        "nvvm_match": ["llvm.nvvm.match.any.sync.i32"],
    }
    for module_name, _stage, needles in RARE_STAGES:
        for name in handled[module_name]:
            assert any(needle in name for needle in needles), (module_name, name)
    assert nvvm_atomics._SCOPED.fullmatch(handled["nvvm_atomics"][0])
    assert nvvm_match._MATCH.fullmatch(handled["nvvm_match"][0])
