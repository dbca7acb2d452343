"""The one explicit target object: everything that depends on the deployment target.

``--target macos14`` (the default) picks AIR 2.6 / MSL 3.1, the triple
spelling, the SDK version module flag and the metallib file version. Facts
from AIR_NOTES section 1 and the Apple corpus; iOS pairs with macOS by
Metal release (iOS 16 with macOS 13, 17 with 14, 18 with 15, 26 with 26).
"""

from __future__ import annotations

from dataclasses import dataclass

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
)}
DEFAULT_TARGET = "macos14"


def get_target(name: str) -> AirTarget:
    target = TARGETS.get(name)
    if target is None:
        raise CompileError(f"unknown target '{name}'",
                           hint=f"choose one of {', '.join(TARGETS)}")
    return target
