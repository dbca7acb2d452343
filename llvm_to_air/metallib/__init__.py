"""The metallib container: reading, writing and building Apple's GPU libraries."""

from llvm_to_air.metallib.builder import (
    SUPPORTED_FILE_VERSIONS,
    MetallibFunction,
    MetallibTarget,
    build_metallib,
    file_version_for,
    library_uuid,
    metallib_for,
)
from llvm_to_air.metallib.container import (
    FunctionEntry,
    FunctionType,
    LayoutGaps,
    Metallib,
    MetallibHeader,
    Platform,
    TrailingSection,
    read_metallib,
    write_metallib,
)
from llvm_to_air.metallib.tags import Tag, TagGroup

__all__ = [
    "SUPPORTED_FILE_VERSIONS",
    "FunctionEntry",
    "FunctionType",
    "LayoutGaps",
    "Metallib",
    "MetallibFunction",
    "MetallibHeader",
    "MetallibTarget",
    "Platform",
    "Tag",
    "TagGroup",
    "TrailingSection",
    "build_metallib",
    "file_version_for",
    "library_uuid",
    "metallib_for",
    "read_metallib",
    "write_metallib",
]
