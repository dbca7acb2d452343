"""Property test: mutated fixtures either convert to valid LLVM 14 or fail with CompileError.

Mutations are what editing accidents and truncated pipes produce: deleted or
duplicated lines, swapped tokens, truncation. Never a Python traceback.
"""

from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import FIXTURES, require_tool

from llvm_to_air.errors import CompileError
from llvm_to_air.ir import downgrade

SEEDS = [FIXTURES / name for name in (
    "cuda19-O2/reduce_shared.ll", "cuda19-O0/saxpy.ll", "opencl19/atomics.ll",
    "mlir-nvvm/elementwise_add.ll", "hand/constants_globals.ll", "hand/metadata.ll",
    "cuda14-O2/warp_reduce.ll", "mlir-rocdl/matrix_2d.ll", "hand/casts.ll",
)]
SEED_TEXTS = [p.read_text() for p in SEEDS if p.exists()]


@st.composite
def mutated_module(draw: st.DrawFn, texts: list[str]) -> str:
    text = draw(st.sampled_from(texts))
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "replace"]))
        k = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[k]
        elif kind == "duplicate":
            lines.insert(k, lines[k])
        elif kind == "swap":
            tokens = lines[k].split(" ")
            if len(tokens) > 1:
                i = draw(st.integers(0, len(tokens) - 1))
                j = draw(st.integers(0, len(tokens) - 1))
                tokens[i], tokens[j] = tokens[j], tokens[i]
                lines[k] = " ".join(tokens)
        elif kind == "truncate":
            cut = draw(st.integers(0, len(lines[k])))
            lines = [*lines[:k], lines[k][:cut]]
        else:
            tokens = lines[k].split(" ")
            i = draw(st.integers(0, len(tokens) - 1))
            tokens[i] = draw(st.sampled_from(["ptr", "i32", "0", "%0", "@g", "undef", "!0",
                                              "float", "addrspace(3)", "{", "}", ","]))
            lines[k] = " ".join(tokens)
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_module(SEED_TEXTS))
def test_mutated_input_converts_or_fails_cleanly(text: str) -> None:
    try:
        out = downgrade(text, "fuzz.ll")
    except CompileError as error:
        assert error.format().startswith("fuzz.ll")
        return
    tool = require_tool("llvm-as-14")
    result = subprocess.run([tool, "-", "-o", "/dev/null"], input=out.encode(),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode() + "\n---\n" + out


KERNEL_SEEDS = [FIXTURES / name for name in (
    "cuda19-O2/reduce_shared.ll", "cuda19-O0/saxpy.ll", "opencl19/atomics.ll",
    "mlir-nvvm/elementwise_add.ll", "mlir-rocdl/shuffle_xor.ll", "cuda19-g/device_helper.ll",
)]
KERNEL_TEXTS = [p.read_text() for p in KERNEL_SEEDS if p.exists()]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_module(KERNEL_TEXTS))
def test_mutated_kernels_lower_or_fail_cleanly(text: str) -> None:
    """The whole AIR pipeline on mutated kernels: AIR that LLVM 14 accepts, or our error.

    Includes modules with debug info, whose brokenness LLVM would otherwise turn into
    a process abort (see ``ir.reader._probe_without_debug_info``).
    """
    from llvm_to_air.api import compile

    try:
        out = compile(text, "fuzz.ll").output
    except CompileError as error:
        assert error.format().startswith("fuzz.ll")
        return
    tool = require_tool("llvm-as-14")
    result = subprocess.run([tool, "-", "-o", "/dev/null"], input=str(out).encode(),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()
