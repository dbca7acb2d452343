"""OpenCL C 3.0 fixtures (opencl30/): integer dot products run on the CPU runner against
numpy; sampler arguments and non-2D images are refused with a located error naming the
type (2D images: tests/test_textures.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.runner import run

FIXTURES = Path(__file__).parent / "fixtures" / "opencl30"
RNG = np.random.default_rng(30)
N = 256


def _air(name: str, kernels: list[str] | None = None) -> bytes:
    path = FIXTURES / f"{name}.ll"
    return compile(path.read_text(), str(path), kernels=kernels or []).output.encode()  # type: ignore[union-attr]


def _bytes(signed: bool, n: int = N) -> np.ndarray:
    return RNG.integers(-128 if signed else 0, 128 if signed else 256, (n, 4)).astype(
        np.int8 if signed else np.uint8)


def _sat(x: np.ndarray, dtype: type) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(x, info.min, info.max).astype(dtype)


def test_integer_dot_of_vectors() -> None:
    air = _air("int_dot")
    a, b = _bytes(False), _bytes(False)
    out = np.zeros(N, np.uint32)
    run(air, "dot_u8", N, 64, {0: a, 1: b, 2: out})
    assert np.array_equal(out, (a.astype(np.int64) * b).sum(axis=1))
    s = _bytes(True)
    mixed = np.zeros(N, np.int32)
    run(air, "dot_s8_mixed", N, 64, {0: s, 1: b, 2: mixed})
    s64 = s.astype(np.int64)
    assert np.array_equal(mixed, (s64 * s64).sum(axis=1) - (s64 * b).sum(axis=1))


def test_integer_dot_packed_and_saturating() -> None:
    air = _air("int_dot")
    pa = RNG.integers(0, 2**32, N, dtype=np.uint64).astype(np.uint32)
    pb = RNG.integers(0, 2**32, N, dtype=np.uint64).astype(np.uint32)
    uu, ss, su = np.zeros(N, np.uint32), np.zeros(N, np.int32), np.zeros(N, np.int32)
    run(air, "dot_packed", N, 64, {0: pa, 1: pb, 2: uu, 3: ss, 4: su})
    ua, ub = pa.view(np.uint8).reshape(N, 4).astype(np.int64), \
        pb.view(np.uint8).reshape(N, 4).astype(np.int64)
    sa, sb = pa.view(np.int8).reshape(N, 4).astype(np.int64), \
        pb.view(np.int8).reshape(N, 4).astype(np.int64)
    assert np.array_equal(uu, (ua * ub).sum(axis=1))
    assert np.array_equal(ss, (sa * sb).sum(axis=1))
    assert np.array_equal(su, (sa * ub).sum(axis=1))

    w, x = _bytes(True), _bytes(True)
    bias = RNG.integers(-2**31, 2**31, N, dtype=np.int64).astype(np.int32)
    bias[:4] = [2**31 - 10, -2**31 + 10, 0, -1]
    out, uout = np.zeros(2 * N, np.int32), np.zeros(N, np.uint32)
    run(air, "dot_accumulate", N, 64, {0: w, 1: x, 2: pa, 3: pb, 4: bias, 5: out, 6: uout})
    b64 = bias.astype(np.int64)
    dot_wx = (w.astype(np.int64) * x).sum(axis=1)
    assert np.array_equal(out[0::2], _sat(dot_wx + b64, np.int32))
    assert np.array_equal(out[1::2], _sat((sa * sb).sum(axis=1) + b64, np.int32))
    assert np.array_equal(uout, _sat((ua * ub).sum(axis=1) + bias.view(np.uint32), np.uint32))


def test_polybench_acc_opencl() -> None:
    air = _air("polybench_acc")
    n = 48
    a, y1 = RNG.uniform(-1, 1, n * n).astype(np.float32), RNG.uniform(-1, 1, n).astype(
        np.float32)
    x1 = RNG.uniform(-1, 1, n).astype(np.float32)
    want = x1.astype(np.float64) + a.reshape(n, n).astype(np.float64) @ y1
    run(air, "mvt_kernel1", n, 16, {0: a, 1: x1, 2: y1, 3: np.int32(n)})
    np.testing.assert_allclose(x1, want, rtol=1e-4, atol=1e-5)
    m = 24
    am = RNG.uniform(-1, 1, n * m).astype(np.float32)
    c = RNG.uniform(-1, 1, n * n).astype(np.float32)
    A = am.reshape(n, m).astype(np.float64)
    want_c = 0.7 * c.reshape(n, n) + 1.3 * (A @ A.T)
    run(air, "syrk_kernel", (n, n), (8, 8), {0: np.float32(1.3), 1: np.float32(0.7), 2: am,
                                            3: c, 4: np.int32(n), 5: np.int32(m)})
    np.testing.assert_allclose(c.reshape(n, n), want_c, rtol=1e-4, atol=1e-4)


def test_samplers_the_host_passes_are_air_sampler_arguments() -> None:
    """image_copy (a constant sampler, int2 coordinates) lowers to a texture read; a
    sampler_t kernel argument is an air.sampler argument sampled through
    air.sample_texture_2d, and the runner binds the host's sampler."""
    from llvm_to_air.runner import run

    path = FIXTURES / "no-llvm14" / "images.ll"
    text = path.read_text()
    assert "air.read_texture_2d" in compile(text, str(path), kernels=["image_copy"]).output
    air = compile(text, str(path), kernels=["image_sample"], emit="ll").output
    assert isinstance(air, str) and '!"air.sampler", !"air.location_index", i32 0' in air
    image = np.random.default_rng(3).uniform(0, 1, (4, 6, 4)).astype(np.float32)
    out = np.zeros((4 * 6, 4), np.float32)
    run(air, "image_sample", (6, 4), (2, 2), {0: out, 1: np.int32(6)},
        textures={0: image}, samplers={0: "unnormalized,clamp_to_edge,nearest"})
    np.testing.assert_array_equal(out, image.reshape(-1, 4))


def test_sampler_and_target_types_are_named_without_source_type_metadata() -> None:
    from llvm_to_air.ir.types import TargetExtType
    from llvm_to_air.rewrite.images import opencl_type_name

    assert opencl_type_name(TargetExtType(
        'target("spirv.Image", void, 1, 0, 0, 0, 0, 0, 0)')) == "read_only image2d_t"
    assert opencl_type_name(TargetExtType(
        'target("spirv.Image", void, 2, 0, 0, 0, 0, 0, 2)')) == "read_write image3d_t"
    assert opencl_type_name(TargetExtType('target("spirv.Sampler")')) == "sampler_t"
    text = re.sub(r" !kernel_arg_(base_)?type !\d+", "",
                  (FIXTURES / "no-llvm14" / "images.ll").read_text())
    assert "kernel_arg_type !" not in text
    text = text.replace('target("spirv.Image", void, 1, 0, 0, 0, 0, 0, 0)',
                        'target("spirv.Image", void, 2, 0, 0, 0, 0, 0, 0)')
    with pytest.raises(CompileError, match="'read_only image3d_t'"):
        compile(text, "images.ll", kernels=["image_copy"])


def test_f64_demote_changes_the_whole_signature() -> None:
    """--f64=demote: buffers, scalars, vectors and struct fields become float (type names
    and layout), so the host passes float32 data; byte-offset field accesses move."""
    from llvm_to_air.inspect import describe_module
    from llvm_to_air.ir.reader import read_module

    path = FIXTURES / "demote_f64.ll"
    with pytest.raises(CompileError, match="double precision"):
        compile(path.read_text(), str(path))
    result = compile(path.read_text(), str(path), f64="demote")
    args = result.kernels[0].arguments
    assert [(a.type_name, a.type_size) for a in args[:4]] == [
        ("float", 4), ("float", 4), ("float2", 8), ("Affine", 12)]
    assert [f.type_name for f in args[3].struct_fields or []] == ["float", "int", "float"]
    described = describe_module(read_module(result.output, "demoted.ll"))
    assert "double" not in str(described)
    n = 128
    x = RNG.uniform(-1, 1, n).astype(np.float32)
    v = RNG.uniform(-1, 1, 2 * n).astype(np.float32)
    affine = np.zeros(3, np.float32)
    affine[0], affine[2] = 1.5, -0.25
    affine[1:2] = np.array([7], np.int32).view(np.float32)
    want = x * np.float32(2.0) + v[0::2] * np.float32(1.5) - v[1::2] + 7 - np.float32(0.25)
    run(result.output.encode(), "affine_f64", n, 32,  # type: ignore[union-attr]
        {0: x, 1: np.float32(2.0), 2: v, 3: affine})
    np.testing.assert_allclose(x, want, rtol=1e-6, atol=1e-6)


def test_conversion_rounding_modes() -> None:
    air = _air("convert_rounding")
    x = RNG.uniform(-50, 50, N).astype(np.float32)
    x[:8] = [0.5, 1.5, -0.5, -1.5, 2.5, -2.5, 3.0, -3.0]
    out = np.zeros(4 * N, np.int32)
    run(air, "quantize_modes", N, 64, {0: x, 1: out})
    x64 = x.astype(np.float64)
    want = np.stack([np.rint(x64), np.ceil(x64), np.floor(x64), np.trunc(x64)], axis=1)
    assert np.array_equal(out.reshape(N, 4), want.astype(np.int32))


def test_coverage_table_is_generated_from_the_tables(tmp_path: Path) -> None:
    import subprocess
    import sys

    header = Path("/usr/lib/llvm-19/include/llvm/IR/IntrinsicsNVPTX.h")
    if not header.exists():
        pytest.skip("llvm-19-dev headers absent (the table is regenerated where they are)")
    root = Path(__file__).parents[1]
    out = tmp_path / "coverage.md"
    subprocess.run([sys.executable, str(root / "tools" / "coverage_table.py"), "-o", str(out)],
                   check=True, capture_output=True)
    assert out.read_text() == (root / "docs" / "coverage.md").read_text()
