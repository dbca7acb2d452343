"""Textures on the CPU runner: numpy images bound as Metal textures, and host definitions of
AIR's 2D texture functions.

**Images.** A texture is a numpy array of shape ``(height, width)`` or ``(height, width, C)``,
``C`` from 1 to 4 channels (R, RG, RGB, RGBA); its pixel format is named (:data:`FORMATS`,
Metal's ``MTLPixelFormat`` names without the prefix) or follows from the dtype:

==========  =============  =====================================================
dtype       format         what the kernel sees
==========  =============  =====================================================
float32     rgba32float    the values
float16     rgba16float    the values; writes round to half
uint8       rgba8unorm     ``x / 255``; writes clamp to [0, 1] and round to
                           nearest even, as GPUs store unorm values
uint16      rgba16unorm    ``x / 65535``; likewise
int32       rgba32sint     the values (``texture2d<int>``)
uint32      rgba32uint     the values (``texture2d<uint>``)
==========  =============  =====================================================

``rgba8uint``, ``rgba8sint``, ``rgba16uint``, ``rgba16sint`` (integer textures of narrow
storage: writes saturate, as OpenCL's ``write_imagei``/``ui`` do) are named explicitly. Channels
the array lacks read as 0 (green, blue) and 1 (alpha), as Metal reads R and RG formats.

**Binding.** The texels live in a ``(height, width, 4)`` float32/int32/uint32 working copy; the
kernel's texture parameter points at a descriptor ``{ptr texels, i32 width, i32 height,
i32 quantize, i32 scale, i32 low, i32 high, i32 has_alpha}``. After a successful run the working copy of a
texture the kernel may write is converted back into the caller's array (in place); a failed
run leaves it untouched.

**Functions.** ``air.read_texture_2d.{v4f32,s.v4i32,u.v4i32}``, ``air.write_texture_2d.*`` and
``air.get_{width,height}_texture_2d`` (as :mod:`llvm_to_air.rewrite.textures` emits them and
Apple's modules spell them, with or without the access operand and the ``{<4 x T>, i8}``
result), and ``air.sample_texture_2d.v4f32`` through an AIR sampler state
(:mod:`llvm_to_air.rewrite.samplers`; a ``sampler`` parameter points at one, bound from a
description such as ``"normalized,repeat,linear"``) computed as the OpenCL 3.0 environment
specification's "Image Addressing and Filtering" defines it, in float32: nearest or linear
(``i0 = floor(u - 0.5)``, weights ``frac(u - 0.5)``), clamp_to_edge, clamp (border colour
(0, 0, 0, 0) with an alpha channel, (0, 0, 0, 1) without), repeat and mirrored_repeat with
their formulas on normalized coordinates (per axis; the call's texel offset added; Apple's
``inttoptr`` constant states read from the pointer). Reads outside the texture give zero and writes there are dropped: Metal leaves both
undefined; the runner stays in bounds. The ``i8`` of a read's result is 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.types import FunctionType, StructType, Type, VectorType
from llvm_to_air.rewrite.samplers import (
    AIR_CLAMP_TO_ZERO,
    AIR_MIRRORED_REPEAT,
    AIR_PIXEL_BIT,
    AIR_REPEAT,
    Sampler,
    parse_sampler,
)


@dataclass(frozen=True)
class PixelFormat:
    """A pixel format: storage dtype, the element type kernels read (``float``, ``int``,
    ``uint``), and how values convert (``scale`` for normalized formats)."""

    name: str
    dtype: str
    element: str
    scale: float = 0.0          # unorm: stored x reads as x / scale


FORMATS: dict[str, PixelFormat] = {f.name: f for f in (
    PixelFormat("rgba32float", "float32", "float"),
    PixelFormat("rgba16float", "float16", "float"),
    PixelFormat("rgba8unorm", "uint8", "float", 255.0),
    PixelFormat("rgba16unorm", "uint16", "float", 65535.0),
    PixelFormat("rgba32sint", "int32", "int"),
    PixelFormat("rgba32uint", "uint32", "uint"),
    PixelFormat("rgba8sint", "int8", "int"),
    PixelFormat("rgba16sint", "int16", "int"),
    PixelFormat("rgba8uint", "uint8", "uint"),
    PixelFormat("rgba16uint", "uint16", "uint"),
)}
DEFAULT_FORMATS = {"float32": "rgba32float", "float16": "rgba16float", "uint8": "rgba8unorm",
                   "uint16": "rgba16unorm", "int32": "rgba32sint", "uint32": "rgba32uint"}
_WORKING = {"float": np.float32, "int": np.int32, "uint": np.uint32}
# the descriptor's quantize field: how a float write is stored
_QUANTIZE_NONE, _QUANTIZE_HALF, _QUANTIZE_UNORM = 0, 1, 2


@dataclass(frozen=True)
class Texture:
    """A numpy image and its pixel format, to bind at a texture index."""

    array: np.ndarray
    format: PixelFormat

    @classmethod
    def of(cls, value: Any, index: int, format_name: str | None = None) -> Texture:
        if isinstance(value, Texture):
            return value
        if not isinstance(value, np.ndarray):
            raise CompileError(f"texture {index}: expected a numpy array of shape (height, "
                               f"width[, channels]), not {type(value).__name__}")
        name = format_name or DEFAULT_FORMATS.get(value.dtype.name)
        if name is None or name not in FORMATS:
            known = ", ".join(FORMATS)
            raise CompileError(f"texture {index}: no pixel format "
                               f"{repr(format_name) if format_name else 'for dtype ' + str(value.dtype)}",
                               hint=f"pixel formats: {known}")
        fmt = FORMATS[name]
        if value.dtype != np.dtype(fmt.dtype):
            raise CompileError(f"texture {index}: format {name} stores {fmt.dtype}, the array "
                               f"holds {value.dtype}")
        if value.ndim not in (2, 3) or (value.ndim == 3 and not 1 <= value.shape[2] <= 4) \
                or value.shape[0] < 1 or value.shape[1] < 1:
            raise CompileError(f"texture {index}: shape {value.shape} is not (height, width) "
                               "or (height, width, 1..4 channels)")
        return cls(value, fmt)


@dataclass
class BoundTexture:
    """A texture's working copy and descriptor for one run."""

    texture: Texture
    texels: np.ndarray
    descriptor: np.ndarray
    writes: bool

    def write_back(self) -> None:
        """Store the working copy into the caller's array in its own format."""
        if not self.writes:
            return
        fmt = self.texture.format
        target = self.texture.array
        channels = 1 if target.ndim == 2 else target.shape[2]
        values = self.texels[:, :, :channels]
        if fmt.scale:
            stored = np.rint(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0).astype(
                np.float64) * fmt.scale)
        elif fmt.element != "float":
            info = np.iinfo(np.dtype(fmt.dtype))
            stored = np.clip(values.astype(np.int64), info.min, info.max)
        else:
            stored = values
        np.copyto(target, stored.reshape(target.shape).astype(target.dtype), casting="unsafe")


def bind(texture: Texture, writes: bool) -> BoundTexture:
    """The working copy (4 channels, 32-bit) and the descriptor the kernel gets."""
    fmt = texture.format
    array = texture.array
    height, width = array.shape[:2]
    source = array.reshape(height, width, -1)
    working = _WORKING[fmt.element]
    texels = np.zeros((height, width, 4), dtype=working)
    if fmt.element == "float":
        texels[:, :, 3] = 1.0
    else:
        texels[:, :, 3] = 1
    converted = source.astype(np.float64) / fmt.scale if fmt.scale else source
    texels[:, :, :source.shape[2]] = converted
    quantize = _QUANTIZE_UNORM if fmt.scale else (
        _QUANTIZE_HALF if fmt.dtype == "float16" else _QUANTIZE_NONE)
    low, high = (0, 0)
    if fmt.element != "float":
        info = np.iinfo(np.dtype(fmt.dtype))
        low, high = max(info.min, -2**31), min(info.max, 2**32 - 1)
    descriptor = np.zeros(5, dtype=np.uint64)
    descriptor[0] = texels.ctypes.data
    descriptor[1] = width | (height << 32)
    descriptor[2] = quantize | (int(fmt.scale) << 32)
    descriptor[3] = (low & 0xFFFFFFFF) | ((high & 0xFFFFFFFF) << 32)
    descriptor[4] = int(source.shape[2] == 4)  # alpha channel: CLK_ADDRESS_CLAMP's border
    return BoundTexture(texture, texels, descriptor, writes)


def check_element(kernel: str, index: int, type_name: str, texture: Texture) -> None:
    """A ``texture2d<float>`` needs a float format, ``<int>``/``<uint>`` an integer one."""
    wanted = type_name.partition("<")[2].partition(",")[0].strip() or "float"
    if wanted != texture.format.element:
        raise CompileError(
            f"kernel '{kernel}' reads texture {index} as {type_name}; format "
            f"{texture.format.name} holds {texture.format.element} elements",
            hint="pick a pixel format of that element type (rgba32float/rgba8unorm for "
                 "float, rgba32sint for int, rgba32uint for uint)")


def parse_texture(spec: str, load_npy: Any) -> tuple[int, Texture]:
    """``INDEX=FILE.npy[:FORMAT]`` (``--texture``)."""
    index_text, sep, rest = spec.partition("=")
    if not sep or not index_text.strip().isdigit() or not rest:
        raise CompileError(f"--texture '{spec}' must be INDEX=FILE.npy[:FORMAT]",
                           hint="for example --texture 0=image.npy:rgba8unorm")
    index = int(index_text)
    path, colon, format_name = rest.rpartition(":")
    if not colon or format_name not in FORMATS:
        path, format_name = rest, ""
    return index, Texture.of(load_npy(path, index), index, format_name or None)


def textures_of(values: Mapping[int, Any] | None) -> dict[int, Texture]:
    return {index: Texture.of(value, index) for index, value in (values or {}).items()}


def samplers_of(values: Mapping[int, Any] | None) -> dict[int, Sampler]:
    """Sampler descriptions (``"normalized,repeat,linear"``) or :class:`Sampler` values."""
    return {index: value if isinstance(value, Sampler) else parse_sampler(str(value), index)
            for index, value in (values or {}).items()}


def parse_sampler_spec(spec: str) -> tuple[int, Sampler]:
    """``INDEX=WORDS`` (``--sampler``)."""
    index_text, sep, words = spec.partition("=")
    if not sep or not index_text.strip().isdigit():
        raise CompileError(f"--sampler '{spec}' must be INDEX=WORDS",
                           hint="for example --sampler 0=normalized,repeat,linear")
    index = int(index_text)
    return index, parse_sampler(words, index)


def describe_formats() -> Sequence[str]:
    return list(FORMATS)


# ------------------------------------------------------------ host functions


def texture_body(lines: list[str], name: str, fnty: FunctionType, a: list[str]) -> str | None:
    """The body of ``air.*texture_2d*`` ``name`` (lines appended), returning the result."""
    n = [0]

    def v(text: str) -> str:
        n[0] += 1
        reg = f"%x{n[0]}"
        lines.append(f"  {reg} = {text}")
        return reg

    def field(offset: int) -> str:
        return v(f"load i32, ptr {v(f'getelementptr i8, ptr {a[0]}, i64 {offset}')}")

    op = name.split(".")[1]
    if op in ("get_width_texture_2d", "get_height_texture_2d"):
        return field(8 if op.startswith("get_width") else 12)
    if op == "sample_texture_2d" and name.endswith(".v4f32"):
        return _sample(v, field, lines, fnty, a)
    if op not in ("read_texture_2d", "write_texture_2d"):
        raise KeyError(name)
    width, height = field(8), field(12)
    x = v(f"extractelement <2 x i32> {a[1]}, i32 0")
    y = v(f"extractelement <2 x i32> {a[1]}, i32 1")
    inside = v(f"and i1 {v(f'icmp ult i32 {x}, {width}')}, {v(f'icmp ult i32 {y}, {height}')}")
    row = v(f"mul i64 {v(f'zext i32 {y} to i64')}, {v(f'zext i32 {width} to i64')}")
    index = v(f"select i1 {inside}, i64 {v(f'add i64 {row}, ' + v(f'zext i32 {x} to i64'))}, "
              "i64 0")
    data = v(f"load ptr, ptr {a[0]}")
    texel = v(f"getelementptr [4 x i32], ptr {data}, i64 {index}")
    if op == "read_texture_2d":
        ret = fnty.ret
        vec = ret.fields[0] if isinstance(ret, StructType) else ret
        loaded = v(f"load {vec}, ptr {texel}, align 4")
        value = v(f"select i1 {inside}, {vec} {loaded}, {vec} zeroinitializer")
        if isinstance(ret, StructType):
            return v(f"insertvalue {ret} {v(f'insertvalue {ret} poison, {vec} {value}, 0')}, "
                     "i8 0, 1")
        return value
    vec = fnty.params[2]
    stored = _quantize(v, field, vec, a[2], signed=".s." in name)
    lines.append(f"  br i1 {inside}, label %store, label %done")
    lines.append("store:")
    lines.append(f"  store {vec} {stored}, ptr {texel}, align 4")
    lines.append("  br label %done")
    lines.append("done:")
    return None


def _quantize(v: Any, field: Any, vec: Type, value: str, signed: bool) -> str:
    """What the texture's format keeps of a written value (see :func:`bind`)."""
    assert isinstance(vec, VectorType)
    if str(vec.element) == "float":
        code = field(16)
        scale = v(f"uitofp i32 {field(20)} to float")
        splat = v(f"insertelement <4 x float> poison, float {scale}, i32 0")
        scales = v(f"shufflevector <4 x float> {splat}, <4 x float> poison, "
                   "<4 x i32> zeroinitializer")
        half = v(f"fpext <4 x half> {v(f'fptrunc {vec} {value} to <4 x half>')} to {vec}")
        ones = v(f"shufflevector {vec} {v(f'insertelement {vec} poison, float 1.0, i32 0')}, "
                 f"{vec} poison, <4 x i32> zeroinitializer")
        low = v(f"call {vec} @llvm.maxnum.v4f32({vec} {value}, {vec} zeroinitializer)")
        clamped = v(f"call {vec} @llvm.minnum.v4f32({vec} {low}, {vec} {ones})")
        steps = v(f"call {vec} @llvm.rint.v4f32({vec} {v(f'fmul {vec} {clamped}, {scales}')})")
        unorm = v(f"fdiv {vec} {steps}, {scales}")
        is_half = v(f"icmp eq i32 {code}, {_QUANTIZE_HALF}")
        is_unorm = v(f"icmp eq i32 {code}, {_QUANTIZE_UNORM}")
        kept = v(f"select i1 {is_half}, {vec} {half}, {vec} {value}")
        return v(f"select i1 {is_unorm}, {vec} {unorm}, {vec} {kept}")
    low, high = field(24), field(28)

    def splat(x: str) -> str:
        one = v(f"insertelement {vec} poison, i32 {x}, i32 0")
        return v(f"shufflevector {vec} {one}, {vec} poison, <4 x i32> zeroinitializer")

    sign = "s" if signed else "u"
    upper = v(f"call {vec} @llvm.{sign}min.v4i32({vec} {value}, {vec} {splat(high)})")
    return v(f"call {vec} @llvm.{sign}max.v4i32({vec} {upper}, {vec} {splat(low)})")



def _sample(v: Any, field: Any, lines: list[str], fnty: FunctionType, a: list[str]) -> str:
    """``air.sample_texture_2d.v4f32(tex, sampler, coord, i1, <2 x i32> offset, ...)``:
    OpenCL's addressing and filtering (module docstring) with the s and t address modes of
    the state, the texel offset added to the scaled coordinates; the LOD operands are not
    read (a bound texture has one level). The sampler is a pointer to the state, or (Apple's
    AIR 2.6 and older constant samplers, ``inttoptr`` of a state with bit 63 set) the state
    itself."""
    address = v(f"ptrtoint ptr {a[1]} to i64")
    inline = v(f"icmp slt i64 {address}, 0")  # no user-space address has bit 63 set
    readable = v(f"select i1 {inline}, ptr {a[0]}, ptr {a[1]}")
    state = v(f"select i1 {inline}, i64 {address}, i64 {v(f'load i64, ptr {readable}')}")

    def bit(shift: int, width: int = 1) -> str:
        shifted = v(f"lshr i64 {state}, {shift}")
        return v(f"trunc i64 {v(f'and i64 {shifted}, {(1 << width) - 1}')} to i32")

    linear = v(f"icmp ne i32 {bit(9)}, 0")
    pixel = v(f"icmp ne i32 {bit(AIR_PIXEL_BIT.bit_length() - 1)}, 0")
    has_offset = len(fnty.params) > 4 and str(fnty.params[4]) == "<2 x i32>"
    axes = []
    for lane, size_field in ((0, 8), (1, 12)):
        mode = bit(3 * lane, 3)
        is_mode = {m: v(f"icmp eq i32 {mode}, {m}")
                   for m in (AIR_CLAMP_TO_ZERO, AIR_REPEAT, AIR_MIRRORED_REPEAT)}
        offset = v(f"sitofp i32 {v(f'extractelement <2 x i32> {a[4]}, i32 {lane}')} to float") \
            if has_offset else "0.0"
        axes.append(_axis(v, v(f"extractelement <2 x float> {a[2]}, i32 {lane}"),
                          field(size_field), offset, linear, pixel, is_mode))
    (x0, x1, wx, inx0, inx1), (y0, y1, wy, iny0, iny1) = axes
    width = field(8)
    data = v(f"load ptr, ptr {a[0]}")
    alpha = v(f"sitofp i32 {v(f'sub i32 1, {field(32)}')} to float")
    border = v(f"insertelement <4 x float> zeroinitializer, float {alpha}, i32 3")
    vec = "<4 x float>"

    def tap(x: str, y: str, inside_x: str, inside_y: str) -> str:
        row = v(f"mul i64 {v(f'sext i32 {y} to i64')}, {v(f'zext i32 {width} to i64')}")
        index = v(f"add i64 {row}, {v(f'sext i32 {x} to i64')}")
        inside = v(f"and i1 {inside_x}, {inside_y}")
        safe = v(f"select i1 {inside}, i64 {index}, i64 0")
        texel = v(f"load {vec}, ptr {v(f'getelementptr [4 x float], ptr {data}, i64 {safe}')}")
        return v(f"select i1 {inside}, {vec} {texel}, {vec} {border}")

    def splat(x: str) -> str:
        one = v(f"insertelement {vec} poison, float {x}, i32 0")
        return v(f"shufflevector {vec} {one}, {vec} poison, <4 x i32> zeroinitializer")

    t00, t10 = tap(x0, y0, inx0, iny0), tap(x1, y0, inx1, iny0)
    t01, t11 = tap(x0, y1, inx0, iny1), tap(x1, y1, inx1, iny1)
    # (1-a)(1-b) T00 + a(1-b) T10 + (1-a)b T01 + ab T11, with the products formed first
    one_a, one_b = v(f"fsub float 1.0, {wx}"), v(f"fsub float 1.0, {wy}")
    terms = [v(f"fmul {vec} {splat(v(f'fmul float {p}, {q}'))}, {t}")
             for p, q, t in ((one_a, one_b, t00), (wx, one_b, t10), (one_a, wy, t01),
                             (wx, wy, t11))]
    total = terms[0]
    for term in terms[1:]:
        total = v(f"fadd {vec} {total}, {term}")
    value = v(f"select i1 {linear}, {vec} {total}, {vec} {t00}")
    ret = fnty.ret
    if isinstance(ret, StructType):
        return v(f"insertvalue {ret} {v(f'insertvalue {ret} poison, {vec} {value}, 0')}, "
                 "i8 0, 1")
    return value


def _axis(v: Any, s: str, size: str, offset: str, linear: str, pixel: str,
          is_mode: dict[int, str]) -> tuple[str, str, str, str, str]:
    """One axis: the two texel indices, the weight of the second, and whether each lies
    inside the image (only CLK_ADDRESS_CLAMP leaves indices outside)."""
    n = v(f"sitofp i32 {size} to float")
    scaled = v(f"fmul float {s}, {n}")
    fraction = v(f"fsub float {s}, {v(f'call float @llvm.floor.f32(float {s})')}")
    wrapped = v(f"fmul float {fraction}, {n}")
    # OpenCL: s' = 2 * rint(0.5 * s); s' = fabs(s - s'); u = s' * n
    nearest_even = v(f"call float @llvm.rint.f32(float {v(f'fmul float 0.5, {s}')})")
    distance = v(f"fsub float {s}, {v(f'fmul float 2.0, {nearest_even}')}")
    mirrored = v(f"fmul float {v(f'call float @llvm.fabs.f32(float {distance})')}, {n}")
    u = v(f"select i1 {pixel}, float {s}, float {scaled}")
    u = v(f"select i1 {is_mode[AIR_REPEAT]}, float {wrapped}, float {u}")
    u = v(f"select i1 {is_mode[AIR_MIRRORED_REPEAT]}, float {mirrored}, float {u}")
    u = v(f"fadd float {u}, {offset}")
    t = v(f"select i1 {linear}, float {v(f'fsub float {u}, 0.5')}, float {u}")
    floor = v(f"call float @llvm.floor.f32(float {t})")
    weight = v(f"fsub float {t}, {floor}")
    # any index below -1 or above n behaves as -1 or n in every mode: bound it before fptosi
    low = v(f"call float @llvm.maxnum.f32(float {floor}, float -2.0)")
    bounded = v(f"call float @llvm.minnum.f32(float {low}, float {v(f'fadd float {n}, 1.0')})")
    i0 = v(f"fptosi float {bounded} to i32")
    i1 = v(f"add i32 {i0}, 1")
    last = v(f"sub i32 {size}, 1")

    def address(i: str) -> tuple[str, str]:
        clamped = v(f"select i1 {v(f'icmp slt i32 {i}, 0')}, i32 0, i32 {i}")
        clamped = v(f"select i1 {v(f'icmp sgt i32 {clamped}, {last}')}, i32 {last}, "
                    f"i32 {clamped}")
        up = v(f"select i1 {v(f'icmp slt i32 {i}, 0')}, i32 {v(f'add i32 {i}, {size}')}, "
               f"i32 {i}")
        wrapped = v(f"select i1 {v(f'icmp sgt i32 {up}, {last}')}, i32 "
                    f"{v(f'sub i32 {up}, {size}')}, i32 {up}")
        index = v(f"select i1 {is_mode[AIR_REPEAT]}, i32 {wrapped}, i32 {clamped}")
        inside = v(f"icmp eq i32 {index}, {i}")
        zero_mode = is_mode[AIR_CLAMP_TO_ZERO]
        keep = v(f"or i1 {v(f'xor i1 {zero_mode}, true')}, {inside}")
        return v(f"select i1 {zero_mode}, i32 {clamped}, i32 {index}"), keep

    (j0, in0), (j1, in1) = address(i0), address(i1)
    return j0, j1, weight, in0, in1
