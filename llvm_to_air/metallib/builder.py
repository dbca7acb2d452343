"""Build metallibs for our own modules, laid out the way Apple's tools do.

What the builder writes, per function: ``NAME TYPE HASH OFFT VERS MDSZ ENDT``
(Apple's order in every reference file), an empty public and private
metadata group each, and the module. The header extension is
``[HDYN] UUID ENDT``; HDYN (the install name in a trailing section) only when
the target names one. Apple's 1.2.7+ libraries also carry reflection (an
``RFLT`` function tag and an ``RLST`` section of ``AIRR`` flatbuffers); we
write none, which is the 1.2.5/1.2.6 shape and what Metal.jl and floor write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from llvm_to_air.bitcode_wrapper import is_wrapped_bitcode, read_wrapper_header
from llvm_to_air.errors import CompileError
from llvm_to_air.metallib.container import (
    PLATFORM_64BIT,
    FunctionEntry,
    FunctionType,
    Metallib,
    MetallibHeader,
    Platform,
    TrailingSection,
    write_metallib,
)
from llvm_to_air.metallib.tags import (
    FUNCTION_TAG_CODECS,
    SECTION_POINTER,
    Tag,
    TagGroup,
    encode_tag_list,
)

SUPPORTED_FILE_VERSIONS = tuple((1, 2, patch) for patch in range(5, 10))

# macOS major -> metallib file version patch (AIR_NOTES section 1).
_MACOS_PATCH = {11: 5, 12: 6, 13: 7, 14: 7, 15: 8, 26: 9}
_MACOS_NEWEST = 26
# iOS major -> the macOS release it pairs with (iOS 17 ~ macOS 14; an inference).
_IOS_TO_MACOS = {14: 11, 15: 12, 16: 13, 17: 14, 18: 15, 26: 26}
_PLATFORMS = {"macos": Platform.MACOS, "ios": Platform.IOS}


def _require_platform(platform: str) -> Platform:
    try:
        return _PLATFORMS[platform]
    except KeyError:
        raise CompileError(
            f"unknown platform {platform!r}", hint=f"use one of {', '.join(_PLATFORMS)}"
        ) from None


def file_version_for(platform: str, major: int) -> tuple[int, int, int]:
    """The metallib file version Apple's tools write for a deployment target.

    ``platform`` is ``"macos"`` or ``"ios"``, ``major`` the OS major version.
    Releases newer than the newest known one get the newest file version.
    Raises CompileError for targets older than macOS 11 / iOS 14 or majors
    that name no release (macOS 16 to 25, iOS 19 to 25).
    """
    _require_platform(platform)
    macos = major if platform == "macos" else _IOS_TO_MACOS.get(major, major if major > 26 else -1)
    if macos > _MACOS_NEWEST:
        macos = _MACOS_NEWEST
    if macos not in _MACOS_PATCH:
        raise CompileError(
            f"no metallib file version known for {platform} {major}",
            hint="deployment targets start at macOS 11 / iOS 14; after macOS 15 comes 26",
        )
    return (1, 2, _MACOS_PATCH[macos])


@dataclass(frozen=True)
class MetallibTarget:
    """Where the library will run.

    ``file_version`` None means :func:`file_version_for` of the deployment
    target. ``install_name`` (optional) is written to an HDYN section, as
    Apple's 1.2.9 tools do with the output file name.
    """

    platform: str = "macos"
    deployment: tuple[int, int, int] = (14, 0, 0)
    file_version: tuple[int, int, int] | None = None
    install_name: str | None = None

    def resolved_file_version(self) -> tuple[int, int, int]:
        """The file version to write (CompileError if unsupported)."""
        version = self.file_version or file_version_for(self.platform, self.deployment[0])
        if tuple(version) not in SUPPORTED_FILE_VERSIONS:
            raise CompileError(
                f"unsupported metallib file version {'.'.join(map(str, version))}",
                hint="supported: 1.2.5 to 1.2.9",
            )
        return tuple(version)  # type: ignore[return-value]


@dataclass(frozen=True)
class MetallibFunction:
    """One entry point: its name, wrapped module and versions."""

    name: str
    module: bytes  # Darwin-wrapped bitcode (see bitcode_wrapper.wrap_bitcode)
    air_version: tuple[int, int]
    msl_version: tuple[int, int]
    kind: FunctionType = FunctionType.KERNEL


def build_metallib(functions: Sequence[MetallibFunction], target: MetallibTarget) -> bytes:
    """A complete metallib holding ``functions`` in the given order.

    Expects at least one function, unique non-empty names without NUL, and
    wrapped modules. Guarantees a deterministic result (same inputs, same
    bytes) that :func:`read_metallib` accepts. Raises CompileError otherwise.
    """
    return write_metallib(metallib_for(functions, target))


def metallib_for(functions: Sequence[MetallibFunction], target: MetallibTarget) -> Metallib:
    """The :class:`Metallib` model that :func:`build_metallib` serializes."""
    _check_functions(functions)
    version = target.resolved_file_version()
    extension = [Tag("UUID", library_uuid(functions))]
    trailing: list[TrailingSection] = []
    if target.install_name is not None:
        extension.insert(0, Tag("HDYN", SECTION_POINTER.encode(0, 0)))  # the writer fills it in
        trailing.append(TrailingSection("HDYN", _dynamic_header(target.install_name)))
    return Metallib(
        header=_header(target, version),
        functions=_entries(functions),
        extension=extension,
        public_metadata=[TagGroup() for _ in functions],
        private_metadata=[TagGroup() for _ in functions],
        modules=b"".join(f.module for f in functions),
        trailing=trailing,
    )


def library_uuid(functions: Sequence[MetallibFunction]) -> bytes:
    """A content-derived UUID: SHA-256 over each name and module hash, version-4 and
    RFC 4122 variant bits set. (Apple's own UUIDs carry version 3 bits.)"""
    digest = hashlib.sha256()
    for function in functions:
        digest.update(function.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(function.module).digest())
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return bytes(raw)


def _header(target: MetallibTarget, version: tuple[int, int, int]) -> MetallibHeader:
    platform = _require_platform(target.platform)
    if not 1 <= len(target.deployment) <= 3:
        raise CompileError(f"deployment version {target.deployment} is not (major, minor, update)")
    deployment = tuple(target.deployment) + (0,) * (3 - len(target.deployment))
    if version < (1, 2, 6):  # 1.2.5 files leave platform and deployment version zero
        platform_byte, deployment = 0, (0, 0, 0)
    else:
        platform_byte = PLATFORM_64BIT | platform
    _check_range("deployment version", deployment, (0xFFFF, 0xFF, 0xFF))
    return MetallibHeader(
        file_version_major=version[0],
        file_version_minor=version[1],
        file_version_patch=version[2],
        macos=platform == Platform.MACOS,
        file_type=0,
        platform=platform_byte,
        deployment_major=deployment[0],
        deployment_minor=deployment[1],
        deployment_update=deployment[2],
    )


def _entries(functions: Sequence[MetallibFunction]) -> list[FunctionEntry]:
    codec = FUNCTION_TAG_CODECS
    entries, group_offset, module_offset = [], 0, 0
    empty_group = TagGroup().encoded_size
    for function in functions:
        tags = [
            Tag("NAME", codec["NAME"].encode(function.name)),
            Tag("TYPE", codec["TYPE"].encode(int(function.kind))),
            Tag("HASH", hashlib.sha256(function.module).digest()),
            Tag("OFFT", codec["OFFT"].encode(group_offset, group_offset, module_offset)),
            Tag("VERS", codec["VERS"].encode(*function.air_version, *function.msl_version)),
            Tag("MDSZ", codec["MDSZ"].encode(len(function.module))),
        ]
        entries.append(FunctionEntry(tags))
        group_offset += empty_group
        module_offset += len(function.module)
    return entries


def _dynamic_header(install_name: str) -> bytes:
    if not install_name or "\0" in install_name:
        raise CompileError(f"bad install name {install_name!r} (empty or containing NUL)")
    return encode_tag_list([Tag("NAME", FUNCTION_TAG_CODECS["NAME"].encode(install_name))])


def _check_range(what: str, values: Sequence[int], limits: Sequence[int]) -> None:
    if any(not 0 <= v <= limit for v, limit in zip(values, limits, strict=True)):
        raise CompileError(f"{what} {tuple(values)} out of range")


def _check_functions(functions: Sequence[MetallibFunction]) -> None:
    if not functions:
        raise CompileError("a metallib needs at least one function")
    seen: set[str] = set()
    for function in functions:
        label = f"function {function.name!r}"
        if not function.name or "\0" in function.name:
            raise CompileError(f"{label}: a function name must be non-empty and contain no NUL")
        if function.name in seen:
            raise CompileError(f"{label} appears twice")
        seen.add(function.name)
        if len(function.air_version) != 2 or len(function.msl_version) != 2:
            raise CompileError(f"{label}: AIR and MSL versions are (major, minor) pairs")
        _check_range(
            f"{label}: AIR/MSL version",
            (*function.air_version, *function.msl_version),
            (0xFFFF,) * 4,
        )
        if int(function.kind) not in range(256):
            raise CompileError(f"{label}: function kind {function.kind} does not fit the TYPE byte")
        if not is_wrapped_bitcode(function.module):
            raise CompileError(
                f"{label}: module is not wrapped bitcode (no magic 0x0B17C0DE at byte offset 0)",
                hint="wrap it with llvm_to_air.bitcode_wrapper.wrap_bitcode",
            )
        try:
            read_wrapper_header(function.module, f"<module of {function.name}>")
        except CompileError as exc:
            raise CompileError(f"{label}: {exc.message}") from None
