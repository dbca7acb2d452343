"""Fuzzing the real command line: mutated text, bitcode and metallib inputs.

Each case runs ``python -m llvm_to_air`` in a subprocess on a mutated input and
fails on a signal, a hang, a traceback, an internal error, an error line that
is not compiler-style, a failure that left a file behind, or a success that
wrote nothing. The cases are drawn from a seeded generator, so a failure
names a case that reproduces; ``LLVM_TO_AIR_FUZZ_CASES`` raises the count
for a longer run by hand (CI keeps it small: each case is a process).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from oracles import FIXTURES

import llvm_to_air

REPO = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("LLVM_TO_AIR_FUZZ_CASES", "12"))
TEXT_SEEDS = ["cuda19-O2/reduce_shared.ll", "cuda19-O0/saxpy.ll", "opencl19/atomics.ll",
              "mlir-nvvm/elementwise_add.ll", "mlir-rocdl/shuffle_xor.ll",
              "cuda19-g/device_helper.ll", "cuda19-O2/warp_reduce.ll"]
# Replacements that real editing slips and producers' differences make.
TOKENS = ["i33", "i32", "ptr", "ptr addrspace(3)", "<2147483648 x i32>", "0", "-1",
          "%0", "@llvm.nvvm.barrier0", "void", "float", "double", "!0", "undef", "{", "}",
          ",", "(", ")", "addrspace(7)", "target(\"spirv.Image\")", "\"\\FF\""]


def _mutate_text(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        k = rng.randrange(len(lines))
        kind = rng.choice(["delete", "duplicate", "token", "truncate", "swap"])
        if kind == "delete":
            del lines[k]
        elif kind == "duplicate":
            lines.insert(k, lines[k])
        elif kind == "truncate":
            lines = [*lines[:k], lines[k][:rng.randrange(len(lines[k]) + 1)]]
        else:
            tokens = lines[k].split(" ")
            i = rng.randrange(len(tokens))
            if kind == "token":
                tokens[i] = rng.choice(TOKENS)
            else:
                j = rng.randrange(len(tokens))
                tokens[i], tokens[j] = tokens[j], tokens[i]
            lines[k] = " ".join(tokens)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _mutate_bytes(data: bytes, rng: random.Random, keep: int = 4) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(keep, len(out))
        if rng.random() < 0.7:
            out[position] = rng.randrange(256)
        else:
            out[position:position + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                                     b"\x7f\xff\xff\xff"])
    if rng.random() < 0.2:
        out = out[:rng.randrange(keep + 1, len(out))]
    return bytes(out)


def _cases() -> list[tuple[str, str, bytes, list[str]]]:
    rng = random.Random(20261205)
    vadd = REPO / "examples" / "vadd.ll"
    air = llvm_to_air.compile(vadd, emit="air").output
    library = llvm_to_air.compile(vadd, emit="metallib").output
    assert isinstance(air, bytes) and isinstance(library, bytes)
    texts = [(FIXTURES / name).read_text() for name in TEXT_SEEDS]
    cases = []
    for k in range(CASES):
        cases.append((f"text-{k}", "in.ll", _mutate_text(rng.choice(texts), rng),
                      ["-o", "out.metallib"]))
        cases.append((f"air-{k}", "in.air", _mutate_bytes(air, rng), ["-o", "out.metallib"]))
        command = rng.choice([["inspect"], ["dis", "-o", "out.ll"], ["verify"],
                              ["run", "--kernel", "vadd", "--grid", "64", "--threadgroup", "64",
                               "--buffer", "3=64:int32", "--out-dir", "out"]])
        cases.append((f"metallib-{k}", "in.metallib", _mutate_bytes(library, rng), command))
    return cases


CASE_LIST = _cases()


@pytest.mark.parametrize("case", CASE_LIST, ids=[c[0] for c in CASE_LIST])
def test_fuzzed_input_through_the_cli(case: tuple[str, str, bytes, list[str]],
                                      tmp_path: Path) -> None:
    _, name, data, args = case
    (tmp_path / name).write_bytes(data)
    command = [*args[:1], name, *args[1:]] if args[0] in ("inspect", "dis", "verify", "run") \
        else [name, *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "llvm_to_air", *command], cwd=tmp_path,
                            capture_output=True, timeout=120, check=False, env=env)
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode in (0, 1), f"status {result.returncode}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != name)
    if result.returncode == 1:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines and all(": error: " in ln or ": warning: " in ln for ln in lines), err
        assert all(name in ln or "llvm-to-air" in ln for ln in lines if ": error: " in ln), err
        assert left == [], f"a failed run left {left}"
    elif "-o" in args:
        assert left == [args[args.index("-o") + 1]], left
