"""OpenCL 2D images as AIR textures (opencl30/no-llvm14/textures*.ll, clang-19 -O2 and -O0).

The compiled modules pass the LLVM 14 oracles and `verify`, and describe each image as Apple
describes a texture2d parameter; every kernel runs on the CPU runner against numpy, with the
images as numpy arrays in several pixel formats; what is not lowered is refused where it is.
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
from llvm_to_air.runner import Texture, run
from llvm_to_air.runner.textures import FORMATS
from llvm_to_air.verify import errors_of, verify_air_text

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "opencl30" / "no-llvm14"
RNG = np.random.default_rng(2024)
H, W = 6, 10
BUILDS = ["textures", "textures-O0"]


def _air(build: str) -> str:
    path = FIXTURES / f"{build}.ll"
    return compile(path.read_text(), str(path), emit="ll").output  # type: ignore[return-value]


@pytest.fixture(scope="module", params=BUILDS)
def air(request: pytest.FixtureRequest) -> str:
    return _air(request.param)


def _image(shape: tuple[int, ...] = (H, W, 4)) -> np.ndarray:
    return RNG.uniform(0, 1, shape).astype(np.float32)


def test_module_passes_the_llvm14_oracles_and_verify(air: str) -> None:
    llvm_as_14(air)
    opt_verify_14(air)
    for profile in ("apple", "ours"):
        findings = verify_air_text(air, "textures.ll", profile=profile)
        assert not errors_of(findings) and not findings, findings


def test_images_are_described_as_apple_describes_textures(air: str) -> None:
    """`!{i32 N, !"air.texture", !"air.location_index", i32 K, i32 1, !"air.<access>",
    !"air.arg_type_name", !"texture2d<T, access>", !"air.arg_name", !"name"}`, textures
    numbered apart from buffers, the parameter a %struct._texture_2d_t addrspace(1)*."""
    assert "%struct._texture_2d_t = type opaque" in air
    nodes = re.findall(r'!\{i32 (\d+), !"air.texture", !"air.location_index", i32 (\d+), '
                       r'i32 1, !"air.(\w+)", !"air.arg_type_name", !"([^"]+)", '
                       r'!"air.arg_name", !"(\w+)"\}', air)
    assert ("0", "0", "read", "texture2d<float, read>", "src") in nodes
    assert ("1", "1", "write", "texture2d<float, write>", "dst") in nodes
    assert ("0", "0", "read", "texture2d<uint, read>", "src") in nodes
    assert ("0", "0", "read_write", "texture2d<int, read_write>", "img") in nodes
    shift = re.search(r"^define void @shift_right\((.*)$", air, re.M)
    assert shift is not None
    params = [p.strip() for p in shift.group(1).split(", ")]
    assert params[0].startswith("%struct._texture_2d_t addrspace(1)* %")
    assert params[1].startswith("%struct._texture_2d_t addrspace(1)* %")
    assert params[2].startswith("i32 addrspace(2)* ")
    # the by-value int after two textures is buffer 0
    assert re.search(r'!\{i32 2, !"air.buffer", !"air.buffer_size", i32 4, '
                     r'!"air.location_index", i32 0,', air)
    for call in ("{ <4 x float>, i8 } @air.read_texture_2d.v4f32(%struct._texture_2d_t "
                 "addrspace(1)* nocapture readonly, <2 x i32>, i32, i32)",
                 "void @air.write_texture_2d.v4f32(%struct._texture_2d_t addrspace(1)* "
                 "nocapture, <2 x i32>, <4 x float>, i32, i32)",
                 "i32 @air.get_width_texture_2d(%struct._texture_2d_t addrspace(1)* "
                 "nocapture readonly, i32)"):
        assert f"declare {call}" in air


@pytest.mark.parametrize("build", BUILDS)
def test_read_and_write_without_a_sampler(build: str) -> None:
    src, out = _image(), np.zeros((H, W, 4), np.float32)
    run(_air(build), "invert_rgb", (W, H), (4, 2), {}, textures={0: src, 1: out})
    want = src.copy()
    want[..., :3] = np.float32(1) - src[..., :3]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("build", BUILDS)
def test_clamp_to_edge_sampler_box_filter(build: str) -> None:
    src, out = _image(), np.zeros((H, W, 4), np.float32)
    run(_air(build), "box3x3", (W, H), (4, 2), {}, textures={0: src, 1: out})
    padded = np.pad(src, ((1, 1), (1, 1), (0, 0)), mode="edge")
    acc = np.zeros_like(src)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            acc += padded[1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
    np.testing.assert_allclose(out, acc * np.float32(1 / 9), rtol=1e-6)


@pytest.mark.parametrize("build", BUILDS)
def test_clamp_sampler_gives_the_border_colour_on_unorm8(build: str) -> None:
    """uint8 images are rgba8unorm: the kernel reads x / 255 and the stored result rounds
    back to the same bytes; outside the image CLK_ADDRESS_CLAMP reads (0, 0, 0, 0)."""
    src = RNG.integers(0, 256, (H, W, 4), dtype=np.uint8)
    out = np.full_like(src, 7)
    result = compile((FIXTURES / f"{build}.ll").read_text(), "textures.ll")
    assert any("CLK_ADDRESS_CLAMP" in w.message for w in result.warnings)
    run(_air(build), "shift_right", (W, H), (4, 2), {0: np.int32(3)}, textures={0: src, 1: out})
    want = np.zeros_like(src)
    want[:, 3:] = src[:, :-3]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("build", BUILDS)
def test_float_coordinates_pick_the_floor_texel(build: str) -> None:
    big = _image((8, 12, 4))
    out = np.zeros((4 * 6, 4), np.float32)
    run(_air(build), "half_scale", (6, 4), (2, 2), {0: out}, textures={0: big})
    ys, xs = np.mgrid[0:4, 0:6]
    want = big[np.floor(2 * ys + 0.75).astype(int), np.floor(2 * xs + 1.25).astype(int)]
    np.testing.assert_array_equal(out.reshape(4, 6, 4), want)


@pytest.mark.parametrize("build", BUILDS)
def test_uint_image_of_one_channel(build: str) -> None:
    src = RNG.integers(0, 1000, (H, W), dtype=np.uint32)
    bins = np.zeros(16, np.uint32)
    run(_air(build), "histogram", (W, H), (4, 2), {0: bins}, textures={0: src})
    np.testing.assert_array_equal(bins, np.bincount(src.ravel() & 15, minlength=16))


@pytest.mark.parametrize("build", BUILDS)
def test_read_write_int8_image_saturates(build: str) -> None:
    img = RNG.integers(-128, 128, (H, W, 4), dtype=np.int8)
    want = img.astype(np.int64)
    want[..., :3] += 100
    run(_air(build), "brighten", (W, H), (4, 2), {0: np.int32(100)},
        textures={0: Texture(img, FORMATS["rgba8sint"])})
    np.testing.assert_array_equal(img, np.clip(want, -128, 127))


@pytest.mark.parametrize("build", BUILDS)
def test_size_queries(build: str) -> None:
    out = np.zeros(4, np.int32)
    run(_air(build), "image_size", 1, 1, {0: out},
        textures={0: _image(), 1: np.zeros((3, 5), np.float32)})
    np.testing.assert_array_equal(out, [W, H, 5, 3])


def test_unorm_writes_round_inside_the_kernel() -> None:
    """A read_write rgba8unorm texture keeps what the format stores: a value written and
    read back in the same kernel is already rounded to a multiple of 1/255."""
    source = FIXTURES / "textures.ll"
    air = _air("textures")
    assert source.exists()
    img = np.array([[[1, 2, 3, 4]]], np.uint8)
    bins = np.zeros(16, np.uint32)
    run(air, "histogram", 1, 1, {0: bins}, textures={0: Texture(img, FORMATS["rgba8uint"])})
    assert bins[1] == 1
    half = np.array([[[0.1, 0.2, 0.3, 1.0]]], np.float16)
    out = np.zeros((1, 1, 4), np.float16)
    run(air, "invert_rgb", 1, 1, {}, textures={0: half, 1: out})
    np.testing.assert_array_equal(out, np.array([[[0.9, 0.8, 0.7, 1.0]]], np.float32).astype(
        np.float16))


def test_binding_errors_name_the_texture() -> None:
    air = _air("textures")
    with pytest.raises(CompileError, match="needs a texture at index 1"):
        run(air, "invert_rgb", (W, H), (4, 2), {}, textures={0: _image()})
    with pytest.raises(CompileError, match="no texture at index 5"):
        run(air, "invert_rgb", (W, H), (4, 2), {}, textures={0: _image(), 1: _image(),
                                                          5: _image()})
    with pytest.raises(CompileError, match="texture2d<uint, read>; format rgba32float"):
        run(air, "histogram", (W, H), (4, 2), {0: np.zeros(16, np.uint32)},
            textures={0: _image()})
    with pytest.raises(CompileError, match="no pixel format for dtype float64"):
        run(air, "invert_rgb", 1, 1, {}, textures={0: np.zeros((1, 1, 4)), 1: _image()})
    with pytest.raises(CompileError, match="shape"):
        run(air, "invert_rgb", 1, 1, {}, textures={0: np.zeros((1, 1, 5), np.float32),
                                                   1: _image()})


def test_cli_binds_textures_and_writes_them_back(tmp_path: Path) -> None:
    src = RNG.integers(0, 256, (H, W, 4), dtype=np.uint8)
    np.save(tmp_path / "src.npy", src)
    np.save(tmp_path / "dst.npy", np.zeros_like(src))
    result = subprocess.run(
        [sys.executable, "-m", "llvm_to_air", "run", str(FIXTURES / "textures.ll"),
         "--kernel", "invert_rgb", "--grid", f"{W},{H}", "--threadgroup", "4,2",
         "--texture", f"0={tmp_path / 'src.npy'}:rgba8unorm",
         "--texture", f"1={tmp_path / 'dst.npy'}", "--out-dir", str(tmp_path / "out")],
        capture_output=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr.decode()
    out = np.load(tmp_path / "out" / "texture1.npy")
    want = src.copy()
    want[..., :3] = 255 - src[..., :3]
    np.testing.assert_array_equal(out, want)


@pytest.fixture(scope="module")
def refused_ll() -> Path:
    return FIXTURES / "images_refused.ll"


@pytest.mark.parametrize(("kernel", "words"), [
    ("filtered", ["CLK_ADDRESS_REPEAT", "CLK_NORMALIZED_COORDS_FALSE", "only for normalized"]),
    ("integers", ["read_imagei", "integer images"]),
    ("volume", ["parameter 0 (src)", "'image3d_t'", "not supported"]),
    ("halves", ["read_imageh", "half"]),
    ("order", ["get_image_channel_order", "not supported"]),
])
def test_what_is_not_lowered_is_refused_where_it_is(refused_ll: Path, kernel: str,
                                                    words: list[str]) -> None:
    with pytest.raises(CompileError) as info:
        compile(refused_ll.read_text(), str(refused_ll), kernels=[kernel])
    for word in words:
        assert word in str(info.value)
    assert info.value.location is not None and info.value.location.line > 1
