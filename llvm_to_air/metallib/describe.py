"""What a metallib's header, header extension and trailing sections say, as plain data.

Used by ``llvm-to-air inspect``. Every field is read from the format's own
structures (tags, tag lists, counted groups), and anything unknown is listed
by name and size rather than dropped.
"""

from __future__ import annotations

import struct
from typing import Any

from llvm_to_air.metallib.binary import ByteReader
from llvm_to_air.metallib.container import Metallib, Platform, function_type_name
from llvm_to_air.metallib.tags import (
    SECTION_POINTER,
    SECTION_POINTER_TAGS,
    read_group,
    read_tag_list,
)

# The header's file-type byte (bit 7: a stub library).
FILE_TYPES = {0: "executable", 1: "core image", 2: "dynamic library", 3: "symbol companion"}
# Trailing sections that are one tag list, and those that are a u32 count of groups.
TAG_LIST_SECTIONS = frozenset({"HDYN"})
COUNTED_GROUP_SECTIONS = frozenset({"ILST", "VLST"})
# reflection entries hold RBUF records with 32-bit lengths: counted, not parsed
COUNTED_BLOB_SECTIONS = frozenset({"RLST"})
SOURCE_SECTIONS = frozenset({"HSRC", "HSRD"})


def file_type_name(code: int) -> str:
    name = FILE_TYPES.get(code & 0x7F, f"{code & 0x7F} (unknown file type)")
    return f"{name} (stub)" if code & 0x80 else name


def platform_name(code: int) -> str:
    try:
        return Platform(code & 0x7F).name.lower()
    except ValueError:
        return f"{code & 0x7F} (unknown platform)"


def _cstring(payload: bytes) -> str:
    return payload.rstrip(b"\0").decode("utf-8", "replace")


def _tag_list(data: bytes, what: str) -> list[tuple[str, bytes]]:
    reader = ByteReader(data, what)
    tags, _ = read_tag_list(reader, 0, len(data), what)
    return [(p.tag.name, p.tag.payload) for p in tags]


def _counted_groups(data: bytes, what: str) -> list[list[tuple[str, bytes]]]:
    reader = ByteReader(data, what)
    count = reader.u32(0, f"{what} count")
    groups, pos = [], 4
    for index in range(count):
        group = read_group(reader, pos, len(data), f"{what} entry {index}")
        groups.append([(p.tag.name, p.tag.payload) for p in group.tags])
        pos = group.end
    return groups


def _counted_blobs(data: bytes, what: str) -> int:
    reader = ByteReader(data, what)
    count = reader.u32(0, f"{what} count")
    pos = 4
    for index in range(count):
        size = reader.u32(pos, f"{what} entry {index} size")
        if size < 4 or pos + size > len(data):
            raise reader.error(f"{what} entry {index} at byte offset {pos} has size {size}")
        pos += size
    return count


def describe_section(tag: str, data: bytes) -> dict[str, Any]:
    """One trailing section: its size and what its records say (or why they cannot be
    read: a section we do not understand never stops ``inspect``)."""
    from llvm_to_air.errors import CompileError

    try:
        return _describe_section(tag, data)
    except (CompileError, struct.error) as exc:
        return {"section": tag, "bytes": len(data), "unreadable": str(exc)}


def _describe_section(tag: str, data: bytes) -> dict[str, Any]:
    info: dict[str, Any] = {"section": tag, "bytes": len(data)}
    if tag in COUNTED_BLOB_SECTIONS:
        info["entries"] = _counted_blobs(data, tag)
    elif tag in TAG_LIST_SECTIONS:
        tags = _tag_list(data, tag)
        names = [_cstring(p) for name, p in tags if name == "NAME"]
        if names:
            info["install_name"] = names[0]
        info["linked_libraries"] = [_cstring(p) for name, p in tags if name == "DYNL"]
        other = sorted({name for name, _ in tags} - {"NAME", "DYNL"})
        if other:
            info["other_tags"] = other
    elif tag in COUNTED_GROUP_SECTIONS:
        groups = _counted_groups(data, tag)
        info["entries"] = len(groups)
        names = [_cstring(p) for group in groups for name, p in group if name == "NAME"]
        if names:
            info["names"] = names
    elif tag in SOURCE_SECTIONS and len(data) >= 4:
        info["entries"] = struct.unpack_from("<I", data)[0]
    return info


def describe_library(lib: Metallib) -> dict[str, Any]:
    """The library-level facts: versions, type, platform, extension entries, sections."""
    header = lib.header
    described: dict[str, Any] = {
        "file_version": ".".join(map(str, header.file_version)),
        "file_type": file_type_name(header.file_type),
        "platform": platform_name(header.platform),
        "deployment": ".".join(map(str, header.deployment)),
    }
    extension = []
    for tag in lib.extension or []:
        entry: dict[str, Any] = {"tag": tag.name, "bytes": len(tag.payload)}
        if tag.name == "UUID" and len(tag.payload) == 16:
            entry["uuid"] = tag.payload.hex()
        elif tag.name in SECTION_POINTER_TAGS and len(tag.payload) == 16:
            entry["offset"], entry["size"] = SECTION_POINTER.decode(tag.payload)  # type: ignore[misc]
        extension.append(entry)
    described["header_extension"] = extension
    described["sections"] = [describe_section(s.tag, s.data) for s in lib.trailing
                             if s.tag is not None]
    described["functions"] = [describe_function(entry) for entry in lib.functions]
    return described


STANDARD_FUNCTION_TAGS = ("NAME", "TYPE", "HASH", "OFFT", "VERS", "MDSZ")


def describe_function(entry: Any) -> dict[str, Any]:
    versions = entry.versions if entry.tag("VERS") is not None else None
    return {
        "name": entry.name,
        "type": function_type_name(entry.function_type),
        "air_version": "{}.{}".format(*versions[:2]) if versions else None,
        "msl_version": "{}.{}".format(*versions[2:]) if versions else None,
        "module_bytes": entry.module_size,
        "other_tags": [t.name for t in entry.tags if t.name not in STANDARD_FUNCTION_TAGS],
    }


__all__ = ["describe_library", "describe_section", "file_type_name", "platform_name"]
