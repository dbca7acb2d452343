"""The one explicit target object: everything that depends on the deployment target.

``--target macos14`` (the default) picks AIR 2.6 / MSL 3.1, the triple
spelling, the SDK version module flag and the metallib file version. Facts
from AIR_NOTES section 1 and the Apple corpus; iOS pairs with macOS by
Metal release (iOS 16 with macOS 13, 17 with 14, 18 with 15, 26 with 26).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from llvm_to_air.errors import CompileError

AIR_DATALAYOUT = (
    "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-f32:32:32-f64:64:64-v16:16:16-"
    "v24:32:32-v32:32:32-v48:64:64-v64:64:64-v96:128:128-v128:128:128-v192:256:256-"
    "v256:256:256-v512:512:512-v1024:1024:1024-n8:16:32"
)


@dataclass(frozen=True)
class AirTarget:
    """A deployment target and what Apple's toolchain writes for it."""

    name: str                        # "macos14"
    platform: str                    # "macos" | "ios"
    os_version: tuple[int, int, int]
    air_version: tuple[int, int, int]
    msl_version: tuple[int, int, int]
    metallib_version: tuple[int, int, int]
    triple_arch: str = "air64"       # Xcode 26 writes air64_v27/air64_v28 for 15/26

    @property
    def triple(self) -> str:
        os_name = "macosx" if self.platform == "macos" else "ios"
        major, minor, patch = self.os_version
        return f"{self.triple_arch}-apple-{os_name}{major}.{minor}.{patch}"

    @property
    def sdk_version(self) -> tuple[int, int]:
        return self.os_version[0], self.os_version[1]

    @property
    def datalayout(self) -> str:
        return AIR_DATALAYOUT

    @property
    def atomic_flags_operand(self) -> bool:
        """AIR 2.9 is reported to add an ``i32 flags`` operand to atomics (not seen yet)."""
        return self.air_version >= (2, 9, 0)


def _target(name: str, platform: str, os_major: int, air_minor: int,
            msl: tuple[int, int], patch: int, arch: str = "air64") -> AirTarget:
    return AirTarget(name, platform, (os_major, 0, 0), (2, air_minor, 0), (msl[0], msl[1], 0),
                     (1, 2, patch), arch)


TARGETS: dict[str, AirTarget] = {t.name: t for t in (
    _target("macos13", "macos", 13, 5, (3, 0), 7),
    _target("macos14", "macos", 14, 6, (3, 1), 7),
    _target("macos15", "macos", 15, 7, (3, 2), 8),
    _target("macos26", "macos", 26, 8, (4, 0), 9, "air64_v28"),
    _target("ios16", "ios", 16, 5, (3, 0), 7),
    _target("ios17", "ios", 17, 6, (3, 1), 7),
    _target("ios18", "ios", 18, 7, (3, 2), 8),
    _target("ios26", "ios", 26, 8, (4, 0), 9, "air64_v28"),
    # Xcode 27: AIR 2.9 / MSL 4.1 (docs/air-versions.md gives the sources); metallib
    # file version 1.2.9 as Metal.jl's version table reports it
    _target("macos27", "macos", 27, 9, (4, 1), 9, "air64_v29"),
    _target("ios27", "ios", 27, 9, (4, 1), 9, "air64_v29"),
)}
DEFAULT_TARGET = "macos14"
# Apple's AIR 2.5 modules (macOS 13, iOS 16) use an older bitcode flavour (attribute kinds
# up to 52, 18-field FUNCTION records) than our LLVM 14 writer produces; from AIR 2.6 on
# the record layouts match (tests/test_apple_formats.py compares them).
BITCODE_SINCE_AIR = (2, 6, 0)


def check_bitcode_target(target: AirTarget) -> None:
    """CompileError for a target whose bitcode flavour we do not write (text is fine)."""
    if target.air_version < BITCODE_SINCE_AIR:
        raise CompileError(
            f"target '{target.name}' (AIR {target.air_version[0]}.{target.air_version[1]}) "
            "needs Apple's older bitcode flavour (attribute kinds up to 52, 18-field "
            "function records), which llvm-to-air does not write yet; its .air and .metallib "
            "output could be rejected by the system's Metal",
            hint="use macos14/ios17 or later (AIR 2.6 libraries load on every newer system), "
                 "or emit AIR text with -o FILE.ll")

_TRIPLE_RE = re.compile(r"air64(?:_v(?P<air>\d\d))?-apple-(?P<os>macosx|ios)"
                        r"(?P<version>\d+(?:\.\d+){0,2})")
_VERSION_RE = re.compile(r"(?P<os>macosx|macos|ios)(?P<version>\d+(?:\.\d+){0,2})")


def get_target(name: str) -> AirTarget:
    """A target by name (``macos14``), AIR triple (``air64_v28-apple-macosx26.0.0``) or OS
    version (``macosx26.0``, ``ios17.2``); CompileError naming the choices otherwise."""
    target = TARGETS.get(name) or _from_spelling(name)
    if target is None:
        raise CompileError(f"unknown target '{name}'",
                           hint=f"choose one of {', '.join(TARGETS)}, an AIR triple such as "
                                "air64_v28-apple-macosx26.0.0, or an OS version such as "
                                "macosx26.0")
    return target


def _from_spelling(name: str) -> AirTarget | None:
    match = _TRIPLE_RE.fullmatch(name) or _VERSION_RE.fullmatch(name)
    if match is None:
        return None
    platform = "ios" if match["os"] == "ios" else "macos"
    parts = [int(v) for v in match["version"].split(".")] + [0, 0]
    base = TARGETS.get(f"{platform}{parts[0]}")
    if base is None:
        return None
    air = match.groupdict().get("air")
    if air and (int(air[0]), int(air[1:])) != base.air_version[:2]:
        raise CompileError(f"triple '{name}' names AIR {air[0]}.{air[1:]}, but "
                           f"{platform} {parts[0]} uses AIR {base.air_version[0]}."
                           f"{base.air_version[1]}", hint=f"use {base.triple}")
    return replace(base, os_version=(parts[0], parts[1], parts[2]))
