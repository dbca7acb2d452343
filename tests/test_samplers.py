"""OpenCL samplers as AIR sampler states (opencl30/no-llvm14/samplers*.ll, clang-19 -O2, -O0).

The modules pass the LLVM 14 oracles and `verify`; constant samplers become the
`@__air_sampler_state` words Apple's compiler writes for the same sampler, sampler_t
parameters `air.sampler` arguments; every kernel runs on the CPU runner against a numpy
transcription of the OpenCL 3.0 environment specification's "Image Addressing and Filtering".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from oracles import llvm_as_14, opt_verify_14

from llvm_to_air.api import compile
from llvm_to_air.errors import CompileError
from llvm_to_air.rewrite.samplers import from_air_state, parse_sampler
from llvm_to_air.runner import run
from llvm_to_air.verify import errors_of, verify_air_text

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "opencl30" / "no-llvm14"
RNG = np.random.default_rng(7)
H, W = 5, 7
ADDRESS = {"none": "none", "edge": "clamp_to_edge", "clamp": "clamp", "repeat": "repeat",
           "mirror": "mirrored_repeat"}
# kernel -> (normalized, address, linear), as samplers.cl declares them
CONSTANT_KERNELS = {
    f"{'norm' if norm else 'pixel'}_{short}_{filt}": (norm, ADDRESS[short], filt == "linear")
    for norm, short, filt in [(True, a, f) for a in ADDRESS for f in ("nearest", "linear")]
    + [(False, "edge", "linear"), (False, "clamp", "linear")]}


@pytest.fixture(scope="module", params=["samplers", "samplers-O0"])
def air(request: pytest.FixtureRequest) -> str:
    path = FIXTURES / f"{request.param}.ll"
    return compile(path.read_text(), str(path), emit="ll").output  # type: ignore[return-value]


# ------------------------------------------------------------ OpenCL reference


def _axis(s: np.float32, n: int, normalized: bool, address: str, linear: bool,
          offset: int = 0) -> tuple[int, int, np.float32]:
    """OpenCL 3.0 env. spec, "Image Addressing and Filtering": the texel indices i0, i1 and
    the weight of i1 along one axis (indices outside [0, n) only for CLK_ADDRESS_CLAMP)."""
    f = np.float32
    nf = f(n)
    if address == "repeat":
        u = (s - np.floor(s)) * nf
    elif address == "mirrored_repeat":
        mirrored = f(2) * np.rint(f(0.5) * s)
        u = np.abs(s - mirrored) * nf
    else:
        u = s * nf if normalized else s
    u = u + f(offset)  # Metal's texel offset (0 in OpenCL)
    t = u - f(0.5) if linear else u
    i0 = int(np.floor(t))
    weight = t - np.floor(t) if linear else f(0)
    i1 = i0 + 1
    if address == "repeat":
        i0 = i0 + n if i0 < 0 else i0
        i0 = i0 - n if i0 > n - 1 else i0
        i1 = i1 - n if i1 > n - 1 else i1
    elif address in ("clamp_to_edge", "mirrored_repeat", "none"):
        i0, i1 = min(max(i0, 0), n - 1), min(max(i1, 0), n - 1)
    return i0, i1, f(weight)


def reference(image: np.ndarray, coords: np.ndarray, normalized: bool, address: str,
              linear: bool, t_address: str | None = None,
              offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """read_imagef(image, sampler, coords[k]) for each k, in float32 (``t_address`` and
    ``offset``: what Metal's samplers add, per-axis modes and a texel offset)."""
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    texels = np.zeros((height, width, 4), np.float32)
    texels[..., 3] = 1
    texels[..., :channels] = image.reshape(height, width, -1)
    border = np.array([0, 0, 0, 0 if channels == 4 else 1], np.float32)

    def texel(i: int, j: int) -> np.ndarray:
        return texels[j, i] if 0 <= i < width and 0 <= j < height else border

    out = np.zeros((len(coords), 4), np.float32)
    for k, (s, t) in enumerate(coords):
        i0, i1, a = _axis(np.float32(s), width, normalized, address, linear, offset[0])
        j0, j1, b = _axis(np.float32(t), height, normalized, t_address or address, linear,
                          offset[1])
        if not linear:
            out[k] = texel(i0, j0)
            continue
        one = np.float32(1)
        out[k] = ((one - a) * (one - b) * texel(i0, j0) + a * (one - b) * texel(i1, j0)
                  + (one - a) * b * texel(i0, j1) + a * b * texel(i1, j1))
    return out


def _coords(normalized: bool, address: str, linear: bool, count: int = 64) -> np.ndarray:
    """Coordinates inside and outside the image, and on texel edges; CLK_ADDRESS_NONE only
    where OpenCL defines it (the taps inside the image)."""
    if address == "none":
        low, high = (0.5, W - 0.5) if linear else (0.0, W - 1e-3)
        xs = RNG.uniform(low, high, count)
        ys = RNG.uniform(low * H / W, (H - 0.5) if linear else H - 1e-3, count)
        if normalized:
            xs, ys = xs / W, ys / H
        return np.stack([xs, ys], 1).astype(np.float32)
    spread = RNG.uniform(-1.6, 2.6, (count, 2)) if normalized else \
        RNG.uniform(-3, W + 3, (count, 2))
    edges = np.array([[k / W, k / H] for k in range(-2, 9)]) if normalized else \
        np.array([[k, k] for k in range(-2, 9)], np.float64) + np.array([0.0, 0.5])
    return np.concatenate([spread, edges]).astype(np.float32)


def _run_constant(air: str, kernel: str, image: np.ndarray, coords: np.ndarray) -> np.ndarray:
    out = np.zeros((len(coords), 4), np.float32)
    run(air, kernel, len(coords), 1, {0: coords, 1: out}, textures={0: image})
    return out


# -------------------------------------------------------------------- tests


def test_module_passes_the_llvm14_oracles_and_verify(air: str) -> None:
    llvm_as_14(air)
    opt_verify_14(air)
    for profile in ("apple", "ours"):
        findings = verify_air_text(air, "samplers.ll", profile=profile)
        assert not errors_of(findings) and not findings, findings


def test_constant_samplers_are_apples_sampler_state_words(air: str) -> None:
    """The words Apple's compiler wrote for the same MSL samplers (docs/real-world-kernels.md,
    "Sampler states"): clamp_to_edge nearest, repeat nearest, clamp_to_edge linear
    (normalized) and clamp_to_zero linear on pixel coordinates."""
    states = {int(v) for v in re.findall(r"constant \[2 x i64\] \[i64 (\d+), i64 0\]", air)}
    apple = {0x007BFF0000080049, 0x007BFF0000080092, 0x007BFF0000080A49, 0x007BFF0000088A00}
    assert apple <= states
    assert len(states) == 10  # none and clamp_to_edge share one state
    listed = re.search(r"!air.sampler_states = !\{([^}]*)\}", air)
    assert listed is not None and len(listed.group(1).split(",")) == 10
    calls = [ln for ln in air.splitlines() if "call { <4 x float>, i8 } @air.sample_texture_2d" in ln]
    assert calls and all("i1 true, <2 x i32> zeroinitializer, i1 false, float 0.000000e+00, "
                         "float 0.000000e+00, i32 0)" in c for c in calls)


def test_sampler_parameters_are_air_sampler_arguments(air: str) -> None:
    node = re.search(r'!\{i32 1, !"air.sampler", !"air.location_index", i32 0, i32 1, '
                     r'!"air.arg_type_name", !"sampler", !"air.arg_name", !"s"\}', air)
    assert node is not None
    assert re.search(r"define void @sample_with\(%struct._texture_2d_t addrspace\(1\)\* %0, "
                     r"%struct._sampler_t addrspace\(2\)\* %1", air)


@pytest.mark.parametrize("kernel", sorted(CONSTANT_KERNELS))
def test_constant_sampler_matches_the_opencl_definition(air: str, kernel: str) -> None:
    normalized, address, linear = CONSTANT_KERNELS[kernel]
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = _coords(normalized, address, linear)
    want = reference(image, coords, normalized, address, linear)
    np.testing.assert_allclose(_run_constant(air, kernel, image, coords), want, rtol=0,
                               atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_clamp_border_is_opaque_without_alpha(air: str, channels: int) -> None:
    image = RNG.integers(0, 256, (H, W, channels), dtype=np.uint8)
    coords = _coords(True, "clamp", True)
    got = _run_constant(air, "norm_clamp_linear", image, coords)
    want = reference(image.astype(np.float32) / 255, coords, True, "clamp", True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    outside = (coords < -0.5).any(axis=1)
    assert outside.any() and np.allclose(got[outside, 3], 1, rtol=0, atol=1e-6)


@pytest.mark.parametrize("description", ["normalized,repeat,linear",
                                         "normalized,mirrored_repeat,nearest",
                                         "unnormalized,clamp,linear", "clamp_to_edge"])
def test_sampler_argument_takes_the_hosts_sampler(air: str, description: str) -> None:
    sampler = parse_sampler(description)
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = _coords(sampler.normalized, sampler.address, sampler.linear)
    out = np.zeros((len(coords), 4), np.float32)
    run(air, "sample_with", len(coords), 1, {0: coords, 1: out}, textures={0: image},
        samplers={0: description})
    want = reference(image, coords, sampler.normalized, sampler.address, sampler.linear)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("address", ["clamp_to_edge", "clamp"])
def test_integer_coordinates_through_a_sampler_argument_read_that_texel(
        air: str, address: str) -> None:
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = np.array([[x, y] for x in range(-2, W + 2) for y in range(-1, H + 1)], np.int32)
    out = np.zeros((len(coords), 4), np.float32)
    run(air, "sample_int_with", len(coords), 1, {0: coords, 1: out}, textures={0: image},
        samplers={0: f"unnormalized,{address},nearest"})
    want = reference(image, coords.astype(np.float32), False, address, False)
    np.testing.assert_array_equal(out, want)


def test_sampler_descriptions_round_trip_through_air_states() -> None:
    for normalized in ("normalized", "unnormalized"):
        for address in ("clamp_to_edge", "clamp", "repeat", "mirrored_repeat"):
            for filt in ("nearest", "linear"):
                if normalized == "unnormalized" and "repeat" in address:
                    with pytest.raises(CompileError, match="normalized"):
                        parse_sampler(f"{normalized},{address},{filt}")
                    continue
                sampler = parse_sampler(f"{filt},{address},{normalized}")
                assert from_air_state(sampler.air_state) == sampler


def test_binding_errors_name_the_sampler(air: str) -> None:
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    buffers = {0: np.zeros((1, 2), np.float32), 1: np.zeros((1, 4), np.float32)}
    with pytest.raises(CompileError, match="needs a sampler at index 0"):
        run(air, "sample_with", 1, 1, buffers, textures={0: image})
    with pytest.raises(CompileError, match="no sampler at index 3"):
        run(air, "sample_with", 1, 1, buffers, textures={0: image}, samplers={0: "linear",
                                                                              3: "linear"})
    with pytest.raises(CompileError, match="unknown word 'bilinear'"):
        run(air, "sample_with", 1, 1, buffers, textures={0: image}, samplers={0: "bilinear"})


def test_cli_binds_a_sampler(tmp_path: Path) -> None:
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = _coords(True, "repeat", True, 16)
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "coords.npy", coords)
    np.save(tmp_path / "out.npy", np.zeros((len(coords), 4), np.float32))
    result = subprocess.run(
        [sys.executable, "-m", "llvm_to_air", "run", str(FIXTURES / "samplers.ll"),
         "--kernel", "sample_with", "--grid", str(len(coords)), "--threadgroup", "1",
         "--texture", f"0={tmp_path / 'image.npy'}", "--sampler", "0=normalized,repeat,linear",
         "--buffer", f"0={tmp_path / 'coords.npy'}", "--buffer", f"1={tmp_path / 'out.npy'}",
         "--out-dir", str(tmp_path / "out")],
        capture_output=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr.decode()
    np.testing.assert_allclose(np.load(tmp_path / "out" / "1.npy"),
                               reference(image, coords, True, "repeat", True), rtol=0,
                               atol=1e-6)


def test_linear_filtering_warns_about_gpu_precision() -> None:
    path = FIXTURES / "samplers.ll"
    result = compile(path.read_text(), str(path), emit="ll", kernels=["norm_edge_linear"])
    assert any("CLK_FILTER_LINEAR" in str(w) and "precision" in str(w)
               for w in result.warnings)


def test_metallib_modules_list_their_own_sampler_states(tmp_path: Path) -> None:
    """Each kernel's module of the metallib lists only the sampler states it uses, passes
    verify, and runs from the metallib."""
    path = FIXTURES / "samplers.ll"
    blob = compile(path.read_text(), str(path), emit="metallib").output
    assert isinstance(blob, bytes)
    library = tmp_path / "samplers.metallib"
    library.write_bytes(blob)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for profile in ([], ["--ours"]):
        checked = subprocess.run([sys.executable, "-m", "llvm_to_air", "verify", *profile,
                                  str(library)], capture_output=True, check=False, env=env)
        assert checked.returncode == 0 and b"no errors, 0 warning" in checked.stderr, checked
    dis = subprocess.run([sys.executable, "-m", "llvm_to_air", "dis", str(library)],
                         capture_output=True, check=True, env=env).stdout.decode()
    assert dis.count('!{!"air.sampler_state"') == len(CONSTANT_KERNELS)
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = _coords(True, "mirrored_repeat", True, 16)
    got = _run_constant(blob, "norm_mirror_linear", image, coords)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, reference(image, coords, True, "mirrored_repeat", True),
                               rtol=0, atol=1e-6)


def test_apple_style_inline_states_per_axis_modes_and_offsets_run(air: str) -> None:
    """Apple's AIR 2.6-and-older form of a constant sampler (the state as an inttoptr
    pointer, bit 63 set), different s and t modes and a texel offset, as Apple's modules may
    pass them: the runner reads them as the state says."""
    state = 0x807BFF0000080A00 | 2 | 1 << 3  # linear, s repeat, t clamp_to_edge, normalized
    signed = state - (1 << 64)
    line = next(ln for ln in air.splitlines()
                if "@air.sample_texture_2d" in ln and "__air_sampler_state.6" in ln)
    sampler = re.search(r"bitcast \(\[2 x i64\] addrspace\(2\)\* @__air_sampler_state.6 to "
                        r"%struct._sampler_t addrspace\(2\)\*\)", line)
    assert sampler is not None
    edited = line.replace(sampler.group(0), f"inttoptr (i64 {signed} to "
                          "%struct._sampler_t addrspace(2)*)").replace(
        "<2 x i32> zeroinitializer, i1 false", "<2 x i32> <i32 1, i32 -2>, i1 false")
    text = air.replace(line, edited)
    image = RNG.uniform(0, 1, (H, W, 4)).astype(np.float32)
    coords = _coords(True, "repeat", True)
    got = _run_constant(text, "norm_repeat_linear", image, coords)
    want = reference(image, coords, True, "repeat", True, t_address="clamp_to_edge",
                     offset=(1, -2))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
