"""Triton kernels (LLVM 24 text with inline PTX and linked libdevice) lowered and run.

The fixtures are Triton's own output for kernels this project wrote
(``tests/fixtures/src/triton/kernels.py``), so CI needs no Triton. Each kernel runs
with Triton's calling convention on the CPU runner: its arguments in order, then the
two scratch pointers Triton appends; ``num_warps * 32`` threads per program; the
dynamic shared memory ``@global_smem`` as threadgroup memory of ``shared`` bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from oracles import FIXTURES, llvm_as_14, opt_verify_14

sys.path.insert(0, str(Path(__file__).resolve().parent / "gpu"))
from triton_cases import CASES as TRITON_CASES

import llvm_to_air
from llvm_to_air.verify import errors_of, verify_air_text

TRITON = FIXTURES / "triton"
MANIFEST = json.loads((TRITON / "manifest.json").read_text())


def launch(target: str, name: str, args: list) -> None:
    facts = MANIFEST[name][target]
    buffers: dict[int, object] = dict(enumerate(args))
    scratch = len(args)
    buffers[scratch] = np.zeros(16, np.uint8)       # global scratch
    buffers[scratch + 1] = np.zeros(16, np.uint8)   # profile scratch
    threads = facts["num_warps"] * facts["threads_per_warp"]
    shared = facts["shared"]
    llvm_to_air.run(TRITON / target / f"{name}.ll", facts["kernel"],
                    TRITON_CASES[name].programs[0] * threads, threads, buffers,
                    threadgroup_memory={0: -(-shared // 16) * 16} if shared else None)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=1, keepdims=True) + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


# name -> (numpy reference of the outputs, from the inputs; rtol; atol)
REFERENCES: dict[str, tuple[Callable[[list], list], float, float]] = {
    "vector_add": (lambda a: [a[0] + a[1]], 0, 0),
    "row_softmax": (lambda a: [_softmax(a[0])], 2e-6, 1e-8),
    "block_sum_atomic": (lambda a: [np.array([a[0].astype(np.float64).sum()])], 1e-5, 0),
    "axpy_fp16": (lambda a: [(a[2] * a[0].astype(np.float32) + a[1].astype(np.float32))
                             .astype(np.float16)], 0, 0),
    "layer_norm_rows": (lambda a: [_layer_norm(a[0], a[1], a[2], float(a[5]))], 1e-4, 1e-5),
    "gelu_silu": (lambda a: [_gelu(a[0]), a[0] / (1 + np.exp(-a[0].astype(np.float64)))],
                  1e-4, 1e-5),
    "row_cumsum": (lambda a: [np.cumsum(a[0], axis=1, dtype=np.int32)], 0, 0),
}


CASES = [(target, name) for name, targets in sorted(MANIFEST.items()) for target in targets]


def test_every_fixture_has_a_reference() -> None:
    assert set(MANIFEST) == set(REFERENCES) == set(TRITON_CASES)


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_triton_kernel_lowers_to_valid_air(target: str, name: str) -> None:
    path = TRITON / target / f"{name}.ll"
    source = path.read_text()
    assert "asm sideeffect" in source or "__nvvm_reflect" in source or "f0x" in source or \
        name in ("row_cumsum",), "the fixture no longer exercises what it is for"
    text = llvm_to_air.compile(path).output
    assert isinstance(text, str) and "asm" not in text
    llvm_as_14(text)
    opt_verify_14(text)
    assert not errors_of(verify_air_text(text, str(path), profile="ours"))


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_triton_kernel_matches_numpy(target: str, name: str) -> None:
    case = TRITON_CASES[name]
    args = case.make(np.random.default_rng(3))
    inputs = [np.array(a, copy=True) for a in args]
    launch(target, name, args)
    reference, rtol, atol = REFERENCES[name]
    for k, expected in zip(case.outputs, reference(inputs), strict=True):
        np.testing.assert_allclose(np.asarray(args[k]).ravel(), np.asarray(expected).ravel(),
                                   rtol=rtol, atol=atol)
