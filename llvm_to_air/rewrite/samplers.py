"""OpenCL samplers as AIR sampler states.

A sampler state is the 64-bit word Apple's compiler writes for a ``constexpr sampler``
(``@__air_sampler_state = internal addrspace(2) constant [2 x i64] [i64 STATE, i64 0]`` in
AIR 2.7/2.8 modules, listed in ``!air.sampler_states``) and that a ``sampler`` argument points
at. The fields below are read off Apple-built modules whose MSL sources are public (see
docs/real-world-kernels.md, "Sampler states", for each module and source line):

=============  ====================================================================
bits 0-2       s address mode: 0 ``clamp_to_zero``, 1 ``clamp_to_edge``, 2 ``repeat``,
               3 ``mirrored_repeat`` (3 is seen in the corpus; its name is inferred from
               the order of the other three, not confirmed by a source)
bits 3-5, 6-8  t and r address modes, same codes
bits 9, 11     set for ``filter::linear`` (mag and min: every linear sampler of the corpus
               sets both); clear for ``filter::nearest``
bit 15         ``coord::pixel`` (unnormalized coordinates)
other bits     ``0x007bff0000080000`` in every sampler of the corpus (not decoded:
               ``0x7bff`` is the largest half, plausibly the LOD clamp)
=============  ====================================================================

OpenCL's address modes map one to one except ``CLK_ADDRESS_NONE`` (out-of-range reads are
undefined in OpenCL; it becomes ``clamp_to_edge``, which is one of the allowed results) and
``CLK_ADDRESS_CLAMP``, whose border colour -- (0, 0, 0, 0) for images with alpha, (0, 0, 0, 1)
without -- is MSL's ``clamp_to_zero``.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvm_to_air.errors import CompileError

# OpenCL sampler bits as clang's __translate_sampler_initializer argument encodes them
CL_NORMALIZED = 0x1
CL_ADDRESS_MASK = 0xE
CL_FILTER_LINEAR = 0x20

# AIR sampler-state fields (module docstring)
AIR_CLAMP_TO_ZERO, AIR_CLAMP_TO_EDGE, AIR_REPEAT, AIR_MIRRORED_REPEAT = 0, 1, 2, 3
AIR_LINEAR_BITS = (1 << 9) | (1 << 11)
AIR_PIXEL_BIT = 1 << 15
AIR_CONSTANT_BITS = 0x007BFF0000080000


@dataclass(frozen=True)
class AddressMode:
    """An OpenCL address mode: its name, the AIR code it becomes, and whether OpenCL
    allows it only with normalized coordinates."""

    name: str
    opencl_bits: int
    air: int
    normalized_only: bool = False


ADDRESS_MODES: tuple[AddressMode, ...] = (
    AddressMode("none", 0x0, AIR_CLAMP_TO_EDGE),
    AddressMode("clamp_to_edge", 0x2, AIR_CLAMP_TO_EDGE),
    AddressMode("clamp", 0x4, AIR_CLAMP_TO_ZERO),
    AddressMode("repeat", 0x6, AIR_REPEAT, normalized_only=True),
    AddressMode("mirrored_repeat", 0x8, AIR_MIRRORED_REPEAT, normalized_only=True),
)
_BY_BITS = {m.opencl_bits: m for m in ADDRESS_MODES}
_BY_NAME = {m.name: m for m in ADDRESS_MODES}
_AIR_NAMES = {AIR_CLAMP_TO_ZERO: "clamp", AIR_CLAMP_TO_EDGE: "clamp_to_edge",
              AIR_REPEAT: "repeat", AIR_MIRRORED_REPEAT: "mirrored_repeat"}


@dataclass(frozen=True)
class Sampler:
    """What a sampler does: normalized coordinates or not, address mode (one for all axes,
    as OpenCL has), linear filtering or nearest."""

    normalized: bool
    address: str
    linear: bool

    @property
    def air_state(self) -> int:
        """The 64-bit AIR sampler state."""
        code = _BY_NAME[self.address].air
        state = AIR_CONSTANT_BITS | code | code << 3 | code << 6
        state |= AIR_LINEAR_BITS if self.linear else 0
        state |= 0 if self.normalized else AIR_PIXEL_BIT
        return state

    def describe(self) -> str:
        return ",".join(("normalized" if self.normalized else "unnormalized", self.address,
                         "linear" if self.linear else "nearest"))


def from_opencl(bits: int, where: object, builtin: str) -> Sampler:
    """The sampler of an OpenCL constant sampler's bits; a :class:`CompileError` for
    combinations OpenCL leaves undefined."""
    mode = _BY_BITS.get(bits & CL_ADDRESS_MASK)
    if mode is None:
        raise CompileError(f"{builtin} with sampler bits {bits:#x}: unknown address mode",
                           where)  # type: ignore[arg-type]
    normalized = bool(bits & CL_NORMALIZED)
    if mode.normalized_only and not normalized:
        raise CompileError(f"{builtin} with CLK_ADDRESS_{mode.name.upper()} and "
                           "CLK_NORMALIZED_COORDS_FALSE: OpenCL defines that mode only for "
                           "normalized coordinates", where,  # type: ignore[arg-type]
                           hint="use CLK_NORMALIZED_COORDS_TRUE with repeat modes")
    return Sampler(normalized, mode.name, bool(bits & CL_FILTER_LINEAR))


def from_air_state(state: int) -> Sampler:
    """The sampler an AIR state describes (one address mode for all axes)."""
    codes = {state >> shift & 7 for shift in (0, 3)}
    if len(codes) != 1 or next(iter(codes)) not in _AIR_NAMES:
        raise CompileError(f"sampler state {state:#x}: address modes this runner does not "
                           "know (per-axis modes, or not clamp/clamp_to_edge/repeat/"
                           "mirrored_repeat)")
    return Sampler(not state & AIR_PIXEL_BIT, _AIR_NAMES[codes.pop()],
                   bool(state & AIR_LINEAR_BITS))


_WORDS = {"normalized": ("normalized", True), "unnormalized": ("normalized", False),
          "linear": ("linear", True), "nearest": ("linear", False),
          **{name: ("address", name) for name in _BY_NAME}}


def parse_sampler(text: str, index: int | None = None) -> Sampler:
    """``"normalized,repeat,linear"``: comma-separated words in any order; defaults
    unnormalized, clamp_to_edge, nearest (``none`` is accepted as OpenCL's
    CLK_ADDRESS_NONE)."""
    fields: dict[str, object] = {"normalized": False, "address": "clamp_to_edge",
                                 "linear": False}
    for word in filter(None, (w.strip().lower() for w in text.split(","))):
        if word not in _WORDS:
            known = ", ".join(_WORDS)
            raise CompileError(f"sampler{'' if index is None else f' {index}'}: unknown word "
                               f"'{word}' in '{text}'", hint=f"words: {known}")
        key, value = _WORDS[word]
        fields[key] = value
    sampler = Sampler(bool(fields["normalized"]), str(fields["address"]),
                      bool(fields["linear"]))
    if _BY_NAME[sampler.address].normalized_only and not sampler.normalized:
        raise CompileError(f"sampler '{text}': {sampler.address} needs normalized "
                           "coordinates (OpenCL defines it only for them)")
    return sampler
