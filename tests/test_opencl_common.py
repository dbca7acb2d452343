"""OpenCL geometric, common and relational builtins (``rewrite/opencl_common.py``):
fixture ``src/opencl/geometry_common.cl`` (clang-19 -O2) on the CPU runner against numpy
transcriptions of OpenCL C 3.0 sections 6.15.2-6.15.6, and the lowered text through LLVM
14's assembler and verifier."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from llvm_to_air.api import compile
from llvm_to_air.runner import run

FIXTURE = "opencl19/geometry_common.ll"
PATH = Path(__file__).parent / "fixtures" / FIXTURE
RNG = np.random.default_rng(41)


@functools.cache
def air() -> bytes:
    out = compile(PATH.read_text(), FIXTURE).output
    assert isinstance(out, str)
    return out.encode()


def vec4(n: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal((n, 4)) * scale).astype(np.float32)


def test_cross_length_normalize_on_triangles() -> None:
    n = 128
    v0, v1, v2 = vec4(n), vec4(n), vec4(n)
    v1[0] = v0[0]  # a degenerate triangle: zero normal stays zero
    # |n| = 1e38 fits a float, its square does not: length must not overflow
    v0[1, :3], v1[1, :3], v2[1, :3] = 0, [1e19, 0, 0], [0, 1e19, 0]
    normals, areas = np.zeros((n, 4), np.float32), np.zeros(n, np.float32)
    run(air(), "triangle_normals", n, 64, {0: v0, 1: v1, 2: v2, 3: normals, 4: areas})
    e1, e2 = (v1 - v0).astype(np.float64), (v2 - v0).astype(np.float64)
    cross = np.zeros((n, 4))
    cross[:, :3] = np.cross(e1[:, :3], e2[:, :3])
    length = np.linalg.norm(cross, axis=1)
    np.testing.assert_allclose(areas, 0.5 * length, rtol=1e-5)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(length[:, None] > 0, cross / length[:, None], cross)
    np.testing.assert_allclose(normals, unit, rtol=1e-5, atol=1e-6)
    assert (normals[0] == 0).all() and normals[1].tolist() == [0, 0, 1, 0]


def test_lambert_with_step_smoothstep_degrees() -> None:
    n = 256
    normals = RNG.standard_normal((n, 4)).astype(np.float32)  # float3 is 16 bytes
    light = RNG.standard_normal((n, 4)).astype(np.float32)
    shade = np.zeros(n, np.float32)
    run(air(), "lambert", n, 64, {0: normals, 1: light, 2: shade, 3: np.float32(60.0)})
    nn = normals[:, :3].astype(np.float64)
    ll = light[:, :3].astype(np.float64)
    c = np.sum(nn / np.linalg.norm(nn, axis=1, keepdims=True)
               * ll / np.linalg.norm(ll, axis=1, keepdims=True), axis=1)
    angle = np.degrees(np.arccos(np.clip(c, -1, 1)))
    t = np.clip(c / 0.5, 0, 1)
    expect = np.where(60.0 < angle, 0.0, 1.0) * t * t * (3 - 2 * t) + 0.001 * np.radians(angle)
    # fast_normalize is rsqrt-precise; angles near the cutoff may step either way
    near_cutoff = np.abs(angle - 60.0) < 1e-2
    np.testing.assert_allclose(shade[~near_cutoff], expect[~near_cutoff], atol=2e-3)


def test_softened_forces_with_distance() -> None:
    n = 64
    pos = vec4(n, 3.0)
    pos[:, 3] = np.abs(pos[:, 3]) + 0.1  # masses
    acc = np.zeros((n, 4), np.float32)
    run(air(), "softened_forces", n, 32, {0: pos, 1: acc, 2: np.int32(n), 3: np.float32(0.1)})
    p = pos.astype(np.float64)
    r = p[None, :, :3] - p[:, None, :3]
    d = np.linalg.norm(r, axis=2)
    expect = (r * (p[None, :, 3] / (d + 0.1) ** 3)[:, :, None]).sum(axis=1)
    np.testing.assert_allclose(acc[:, :3], expect, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(acc[:, 3], d.sum(axis=1), rtol=1e-3)


def test_bit_level_helpers() -> None:
    n = 64
    x, y = vec4(n), vec4(n)
    x[0] = [np.nan, -0.0, 2.0, -3.0]
    y[0] = [1.0, 1.0, -2.0, 3.0]
    k = RNG.integers(-200, 200, (n, 4)).astype(np.int32)
    f = np.zeros((4 * n, 4), np.float32)
    flags = np.zeros(n, np.int32)
    up16, up64 = np.zeros(n, np.int16), np.zeros(n, np.int64)
    run(air(), "bit_helpers", n, 32, {0: x, 1: y, 2: k, 3: f, 4: flags, 5: up16, 6: up64})
    got = f.reshape(n, 4, 4)
    np.testing.assert_array_equal(got[:, 0], np.copysign(x, y))
    with np.errstate(invalid="ignore"):
        fdim = np.where(np.isnan(x) | np.isnan(y), np.nan, np.where(x > y, x - y, 0.0))
    np.testing.assert_array_equal(got[:, 1], fdim.astype(np.float32))
    ax, ay = np.abs(x), np.abs(y)
    maxmag = np.where(ax > ay, x, np.where(ay > ax, y, np.fmax(x, y)))
    minmag = np.where(ax < ay, x, np.where(ay < ax, y, np.fmin(x, y)))
    np.testing.assert_array_equal(got[:, 2], maxmag + minmag)
    xi, yi = x.view(np.int32), y.view(np.int32)
    np.testing.assert_array_equal(got[:, 3].view(np.int32), (xi & ~k) | (yi & k))
    expect_flags = ((k < 0).any(axis=1) * 2 + (k < 100).all(axis=1) + 4 * (k[:, 0] < 0))
    np.testing.assert_array_equal(flags, expect_flags)
    np.testing.assert_array_equal(
        up16, (k[:, 0].astype(np.int8).astype(np.int16) << 8) | k[:, 1].astype(np.uint8))
    np.testing.assert_array_equal(
        up64, (k[:, 2].astype(np.int64) << 32) | k[:, 3].astype(np.uint32).astype(np.int64))


def test_lowered_text_passes_llvm14() -> None:
    from oracles import llvm_as_14, opt_verify_14

    text = air().decode()
    assert "@_Z" not in text  # no OpenCL builtin call is left
    llvm_as_14(text)
    opt_verify_14(text)
