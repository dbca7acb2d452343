"""Inline PTX from the real cuda_fp16.h / cuda_bf16.h / cooperative_groups.h (clang-19 with a
CUDA path made of PyPI nvidia-cuda-* wheels; see tests/fixtures/cuda-headers/regenerate.sh):
the kernels lower, pass the LLVM 14 oracles and verify, and match numpy on the CPU runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llvm_to_air import api
from llvm_to_air.runner import run
from llvm_to_air.verify import verify_air_text
from tests.oracles import llvm_as_14, opt_verify_14

FIXTURE = Path(__file__).parent / "fixtures" / "cuda-headers" / "fp16_groups.ll"


def _bf16_rne(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def test_header_asm_lowers_and_passes_oracles() -> None:
    text = FIXTURE.read_text()
    assert "cvt.rn.f16.f32" in text and "%reserved_smem_offset" in text
    air = api.compile(text, FIXTURE.name, emit="ll").output
    assert isinstance(air, str)
    llvm_as_14(air)
    opt_verify_14(air)
    assert verify_air_text(air, FIXTURE.name) == []


def test_fp16_bf16_header_functions_match_numpy() -> None:
    n = 200
    x = (np.random.default_rng(3).standard_normal(n) * 4).astype(np.float32)
    h, b, y = np.zeros(n, np.float16), np.zeros(n, np.uint16), np.zeros(n, np.float32)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z5halfsPKfP6__halfP13__nv_bfloat16Pfi", (256,), (64,),
        {0: x, 1: h, 2: b, 3: y, 4: np.int32(n)})
    a = x.astype(np.float16)
    want_h = ((a + np.float16(1)) * a).astype(np.float16)
    np.testing.assert_array_equal(h, want_h)
    np.testing.assert_array_equal(b, _bf16_rne(x))
    bf = (_bf16_rne(x).astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(y, want_h.astype(np.float32) + bf)


def test_cooperative_groups_tile_shuffle_matches_numpy() -> None:
    n = 100
    y = np.arange(n, dtype=np.float32)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z6groupsPfi", (128,), (128,), {0: y, 1: np.int32(n)})
    src = np.concatenate([np.arange(n, dtype=np.float32), np.zeros(28, np.float32)])
    down = np.array([src[i + 1] if i % 32 != 31 else src[i] for i in range(128)])
    np.testing.assert_array_equal(y, (src + down)[:n])


def test_half2_pack_fma_and_int_conversion_match_numpy() -> None:
    n = 100
    x = (np.random.default_rng(4).standard_normal(n) * 3).astype(np.float32)
    h2, h = np.zeros(2 * n, np.float16), np.zeros(n, np.float16)
    lib = api.compile(FIXTURE.read_text(), FIXTURE.name, emit="metallib").output
    run(lib, "_Z5pairsPKfP7__half2P6__halfi", (128,), (64,),
        {0: x, 1: h2, 2: h, 3: np.int32(n)})
    p = np.stack([x.astype(np.float16), np.full(n, 2, np.float16)], axis=1)  # .x low, .y high
    doubled = (p + p).astype(np.float64)
    want2 = (p.astype(np.float64) * p + doubled).astype(np.float16)  # fma: one rounding
    np.testing.assert_array_equal(h2.reshape(n, 2), want2)
    np.testing.assert_array_equal(h, want2[:, 0] + np.arange(n).astype(np.float16))
