"""Read and write the metallib container, byte for byte.

The layout, as Apple's tools write it (every file in the reference corpus,
file versions 1.2.5 to 1.2.9; all integers little-endian)::

    header (88 bytes: magic, versions, file size, 4 x (u64 offset, u64 size))
    function list: u32 count, then one group per function
                   (header size field = sum of the groups, without the count)
    header extension: tags closed by ENDT, right after the function list;
                      not counted in any header size (it ends where the
                      public metadata starts)
    public metadata:  one group per function (``08 00 00 00 'ENDT'`` if empty)
    private metadata: one group per function
    module list:      the wrapped modules, back to back
    sections named by (offset, size) extension tags (HSRC/HSRD, HDYN,
    RLST, ...), back to back, in that order, up to the end of the file

No padding or alignment anywhere: every region starts where the previous one
ends. The model keeps whatever it does not interpret (unknown tags, the
bytes of the extension sections, any gap between regions) as opaque bytes,
so :func:`write_metallib` reproduces what :func:`read_metallib` read.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from llvm_to_air.bitcode_wrapper import read_wrapper_header
from llvm_to_air.errors import CompileError
from llvm_to_air.metallib.binary import ByteReader
from llvm_to_air.metallib.tags import (
    EXTENSION_TAG_CODECS,
    FUNCTION_TAG_CODECS,
    SECTION_POINTER,
    SECTION_POINTER_TAGS,
    PlacedTag,
    ReadGroup,
    Tag,
    TagGroup,
    check_payloads,
    encode_group,
    encode_tag_list,
    find_tag,
    read_group,
    read_tag_list,
    tag_list_size,
)

MAGIC = b"MTLB"
HEADER = struct.Struct("<4sHHHBBHBBQ8Q")
HEADER_SIZE = HEADER.size  # 88
MACOS_FLAG = 0x8000  # bit 15 of the file-version major field
PLATFORM_64BIT = 0x80  # bit 7 of the platform byte

# Header byte offsets, for error messages.
_FILE_SIZE_AT = 16
_SECTION_FIELDS_AT = {
    "function list": 24,
    "public metadata": 40,
    "private metadata": 56,
    "module list": 72,
}


class FunctionType(IntEnum):
    """Values of the TYPE tag: 0-6 from MetalLibraryArchive's table; mesh (7) as Apple's
    tools write it for a mesh function in the reference corpus; object (8) follows
    ``MTLFunctionTypeObject`` right after ``MTLFunctionTypeMesh`` (an inference: no
    object function is in the corpus)."""

    VERTEX = 0
    FRAGMENT = 1
    KERNEL = 2
    UNQUALIFIED = 3
    VISIBLE = 4
    EXTERN = 5
    INTERSECTION = 6
    MESH = 7
    OBJECT = 8


def function_type_name(code: int) -> str:
    """``kernel``, ``mesh``, ...; an unknown code is shown as its number."""
    try:
        return FunctionType(code).name.lower()
    except ValueError:
        return f"{code} (unknown function type)"


class Platform(IntEnum):
    """Low 7 bits of the platform byte (bit 7 marks 64-bit)."""

    UNKNOWN = 0
    MACOS = 1
    IOS = 2
    TVOS = 3
    WATCHOS = 4
    BRIDGEOS = 5
    MACCATALYST = 6
    IOS_SIMULATOR = 7
    TVOS_SIMULATOR = 8
    WATCHOS_SIMULATOR = 9


@dataclass
class MetallibHeader:
    """The header fields that are not derived from the layout.

    File size and section offsets/sizes are computed by the writer.
    """

    file_version_major: int = 1
    file_version_minor: int = 2
    file_version_patch: int = 7
    macos: bool = True  # bit 15 of the major field
    file_type: int = 0  # 0 executable, 2 dynamic; bit 7 = stub
    platform: int = PLATFORM_64BIT | Platform.MACOS  # 0 in 1.2.5 files
    deployment_major: int = 0
    deployment_minor: int = 0
    deployment_update: int = 0

    @property
    def file_version(self) -> tuple[int, int, int]:
        return (self.file_version_major, self.file_version_minor, self.file_version_patch)

    @property
    def deployment(self) -> tuple[int, int, int]:
        return (self.deployment_major, self.deployment_minor, self.deployment_update)


@dataclass
class FunctionEntry:
    """One function-list group: its tags in file order, unknown ones included.

    ``counts_itself``: the group's size style (see :mod:`.tags`).
    """

    tags: list[Tag] = field(default_factory=list)
    counts_itself: bool = True
    wrapped_size: int | None = None  # the module's extent, for files without MDSZ

    def tag(self, name: str) -> Tag | None:
        """The first tag called ``name``, or None."""
        return find_tag(self.tags, name)

    def value(self, name: str) -> object:
        """The decoded payload of a known function tag (CompileError if absent)."""
        tag = self.tag(name)
        if tag is None:
            label = self._label()
            raise CompileError(f"function {label} has no '{name}' tag")
        try:
            return FUNCTION_TAG_CODECS[name].decode(tag.payload)
        except (ValueError, struct.error) as exc:
            raise CompileError(
                f"function {self._label()}: tag '{name}' is malformed ({exc})"
            ) from None

    def _label(self) -> str:
        tag = self.tag("NAME")
        return repr(tag.payload.rstrip(b"\0").decode("utf-8", "replace")) if tag else "<unnamed>"

    @property
    def name(self) -> str:
        return str(self.value("NAME"))

    @property
    def function_type(self) -> int:
        return int(self.value("TYPE"))  # type: ignore[call-overload]

    @property
    def hash(self) -> bytes:
        return bytes(self.value("HASH"))  # type: ignore[call-overload]

    @property
    def offsets(self) -> tuple[int, int, int]:
        """(public metadata, private metadata, module) offsets, each relative to its section."""
        return self.value("OFFT")  # type: ignore[return-value]

    @property
    def versions(self) -> tuple[int, int, int, int]:
        """(AIR major, AIR minor, MSL major, MSL minor)."""
        return self.value("VERS")  # type: ignore[return-value]

    @property
    def module_size(self) -> int:
        """MDSZ; libraries older than file version 1.2.5 have none, and the module runs to
        the next one (recorded by the reader)."""
        if self.tag("MDSZ") is None and self.wrapped_size is not None:
            return self.wrapped_size
        return int(self.value("MDSZ"))  # type: ignore[call-overload]


@dataclass
class TrailingSection:
    """Bytes after the module list: a section some extension tag points at
    (``tag`` names it: HDYN, RLST, HSRD, ...) or, with ``tag=None``, bytes
    no tag points at. The writer lays them out in list order and rewrites
    the (offset, size) payloads of the pointing tags."""

    tag: str | None
    data: bytes


@dataclass
class LayoutGaps:
    """Bytes between regions that Apple's layout does not have (all empty in
    every reference file); kept only so any file round-trips exactly."""

    after_header: bytes = b""
    after_extension: bytes = b""
    after_public_metadata: bytes = b""
    after_private_metadata: bytes = b""


@dataclass
class Metallib:
    """A whole metallib file."""

    header: MetallibHeader
    functions: list[FunctionEntry]
    extension: list[Tag] | None  # None: no header extension at all
    public_metadata: list[TagGroup]
    private_metadata: list[TagGroup]
    modules: bytes
    trailing: list[TrailingSection] = field(default_factory=list)
    gaps: LayoutGaps = field(default_factory=LayoutGaps)

    def function(self, name: str) -> FunctionEntry:
        """The entry called ``name`` (CompileError if there is none)."""
        for entry in self.functions:
            if entry.name == name:
                return entry
        raise CompileError(f"no function {name!r} in the metallib")

    def module_of(self, entry: FunctionEntry) -> bytes:
        """The wrapped module bytes of ``entry`` (OFFT module offset, MDSZ bytes)."""
        start = entry.offsets[2]
        return self.modules[start : start + entry.module_size]

    def extension_tag(self, name: str) -> Tag | None:
        """The first header-extension tag called ``name``, or None."""
        return find_tag(self.extension or [], name)

    def section(self, tag: str) -> bytes | None:
        """The bytes of the trailing section that extension tag ``tag`` points at."""
        return next((s.data for s in self.trailing if s.tag == tag), None)


# ---------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class _Span:
    """A header section: its name, byte offset and size."""

    name: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def read_metallib(data: bytes, file: str = "<metallib>") -> Metallib:
    """Parse and validate a metallib.

    Expects the whole file. Guarantees, or raises CompileError naming the
    problem and its byte offset: magic ``MTLB``; file-size field equal to the
    real size; every section inside the file and in Apple's order; every
    tag inside its group; each function's OFFT pointing at group starts and
    a module inside the module list; each module starting with a valid
    bitcode wrapper; each HASH equal to the SHA-256 of its module.
    """
    reader = ByteReader(bytes(data), file)
    header, spans = _read_header(reader)
    fl, pub, priv, mods = spans
    functions, fl_end = _read_function_list(reader, fl)
    extension, ext_end = _read_extension(reader, fl_end, pub.offset)
    public = _read_groups(reader, pub)
    private = _read_groups(reader, priv)
    lib = Metallib(
        header=header,
        functions=[FunctionEntry([p.tag for p in g.tags], g.counts_itself) for g in functions],
        extension=None if extension is None else [p.tag for p in extension],
        public_metadata=[TagGroup([p.tag for p in g.tags], g.counts_itself) for _, g in public],
        private_metadata=[TagGroup([p.tag for p in g.tags], g.counts_itself)
                          for _, g in private],
        modules=reader.take(mods.offset, mods.size, "module list"),
        trailing=_read_trailing(reader, extension or [], mods.end),
        gaps=LayoutGaps(
            after_header=reader.data[HEADER_SIZE : fl.offset],
            after_extension=reader.data[ext_end : pub.offset],
            after_public_metadata=reader.data[pub.end : priv.offset],
            after_private_metadata=reader.data[priv.end : mods.offset],
        ),
    )
    groups = ({o for o, _ in public}, {o for o, _ in private})
    extents = _module_extents(reader, functions, mods)
    for index, group in enumerate(functions):
        lib.functions[index].wrapped_size = _check_function(reader, index, group.tags, spans,
                                                            groups, extents)
    return lib


def _module_extents(reader: ByteReader, functions: list[ReadGroup], mods: _Span) -> dict[int, int]:
    """Module offset -> bytes up to the next module (or the end of the module list).

    Files before 1.2.5 have no MDSZ: their modules are padded (to 16 bytes) and each
    HASH covers the padded module, which ends where the next one starts.
    """
    starts: set[int] = set()
    for group in functions:
        offt = find_tag([p.tag for p in group.tags], "OFFT")
        if offt is not None and len(offt.payload) == 24:
            starts.add(struct.unpack("<3Q", offt.payload)[2])
    ordered = [*sorted(starts), mods.size]
    return {start: ordered[k + 1] - start for k, start in enumerate(ordered[:-1])}


def _read_header(reader: ByteReader) -> tuple[MetallibHeader, tuple[_Span, _Span, _Span, _Span]]:
    if reader.size < 4 or reader.data[:4] != MAGIC:
        found = reader.data[:4].hex(" ") or "an empty file"
        raise reader.error(f"not a metallib: expected magic 'MTLB' at byte offset 0, found {found}")
    if reader.size < HEADER_SIZE:
        raise reader.error(
            f"truncated metallib: the header needs {HEADER_SIZE} bytes, the file has {reader.size}"
        )
    (
        _,
        major,
        minor,
        patch,
        file_type,
        platform,
        dep_major,
        dep_minor,
        dep_update,
        file_size,
        *fields,
    ) = HEADER.unpack_from(reader.data, 0)
    if file_size != reader.size:
        raise reader.error(
            f"file size field at byte offset {_FILE_SIZE_AT} says {file_size} bytes, but the file has "
            f"{reader.size} bytes (truncated or padded?)"
        )
    spans = tuple(
        _Span(name, fields[2 * i], fields[2 * i + 1]) for i, name in enumerate(_SECTION_FIELDS_AT)
    )
    fl = spans[0]
    spans = (_Span(fl.name, fl.offset, fl.size + 4), *spans[1:])  # the u32 count is not in the size
    for span in spans:
        if span.end > reader.size:
            raise reader.error(
                f"{span.name} (offset/size at header byte offset {_SECTION_FIELDS_AT[span.name]}) spans "
                f"bytes {span.offset}..{span.end}, past the end of the file ({reader.size} bytes)"
            )
    previous_end, previous = HEADER_SIZE, "header"
    for span in spans:
        if span.offset < previous_end:
            raise reader.error(
                f"{span.name} starts at byte offset {span.offset}, inside the {previous} "
                f"(which ends at byte offset {previous_end}); unsupported section order"
            )
        previous_end, previous = span.end, span.name
    header = MetallibHeader(
        file_version_major=major & ~MACOS_FLAG,
        file_version_minor=minor,
        file_version_patch=patch,
        macos=bool(major & MACOS_FLAG),
        file_type=file_type,
        platform=platform,
        deployment_major=dep_major,
        deployment_minor=dep_minor,
        deployment_update=dep_update,
    )
    return header, spans  # type: ignore[return-value]


def _read_function_list(reader: ByteReader, span: _Span) -> tuple[list[ReadGroup], int]:
    count = reader.u32(span.offset, "function count")
    pos, functions = span.offset + 4, []
    for index in range(count):
        if pos >= span.end:
            raise reader.error(
                f"function list at byte offset {span.offset} says {count} functions, but its size "
                f"({span.size - 4} bytes) ends after {index}"
            )
        what = f"function group {index}"
        group = read_group(reader, pos, span.end, what)
        check_payloads(reader, group.tags, FUNCTION_TAG_CODECS, what)
        functions.append(group)
        pos = group.end
    if pos != span.end:
        raise reader.error(
            f"function list: {count} groups end at byte offset {pos}, but the header size says "
            f"byte offset {span.end}"
        )
    return functions, pos


def _read_extension(reader: ByteReader, start: int, end: int) -> tuple[list[PlacedTag] | None, int]:
    """The header extension between the function list and the public metadata, if any."""
    if start == end:
        return None, start
    tags, after = read_tag_list(reader, start, end, "header extension")
    check_payloads(reader, tags, EXTENSION_TAG_CODECS, "header extension")
    return tags, after


def _read_groups(reader: ByteReader, span: _Span) -> list[tuple[int, ReadGroup]]:
    groups, pos = [], span.offset
    while pos < span.end:
        group = read_group(reader, pos, span.end, f"{span.name} group {len(groups)}")
        groups.append((pos - span.offset, group))
        pos = group.end
    return groups


def _read_trailing(
    reader: ByteReader, extension: list[PlacedTag], start: int
) -> list[TrailingSection]:
    """Split the bytes after the module list into the sections extension tags point at."""
    pointers: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for item in extension:
        name = item.tag.name
        if name not in SECTION_POINTER_TAGS:
            continue
        if name in seen:
            raise reader.error(
                f"header extension: second '{name}' tag at byte offset {item.offset}"
            )
        seen.add(name)
        offset, size = SECTION_POINTER.decode(item.tag.payload)  # type: ignore[misc]
        if offset < start or offset + size > reader.size:
            raise reader.error(
                f"header extension tag '{name}' at byte offset {item.offset} points at bytes "
                f"{offset}..{offset + size}, outside the area after the module list "
                f"(bytes {start}..{reader.size})"
            )
        pointers.append((offset, size, name))
    sections, pos = [], start
    for offset, size, name in sorted(pointers, key=lambda p: (p[0], p[1])):
        if offset < pos:
            raise reader.error(
                f"section '{name}' at byte offset {offset} overlaps the section before it"
            )
        if offset > pos:
            sections.append(TrailingSection(None, reader.data[pos:offset]))
        sections.append(TrailingSection(name, reader.data[offset : offset + size]))
        pos = offset + size
    if pos < reader.size:
        sections.append(TrailingSection(None, reader.data[pos:]))
    return sections


def _check_function(
    reader: ByteReader,
    index: int,
    placed: list[PlacedTag],
    spans: tuple[_Span, _Span, _Span, _Span],
    group_starts: tuple[set[int], set[int]],
    extents: dict[int, int],
) -> int:
    """Validate one function's OFFT, MDSZ, module wrapper and HASH against the sections;
    returns the module's size (MDSZ, or from its wrapper in files that have no MDSZ)."""
    tags = {p.tag.name: p for p in reversed(placed)}  # first occurrence wins
    for required in ("NAME", "HASH", "OFFT"):
        if required not in tags:
            raise reader.error(f"function group {index} has no '{required}' tag")
    name = FUNCTION_TAG_CODECS["NAME"].decode(tags["NAME"].tag.payload)
    label = f"function {name!r}"
    offt = tags["OFFT"]
    public, private, module = FUNCTION_TAG_CODECS["OFFT"].decode(offt.tag.payload)  # type: ignore[misc]
    for which, offset, span, starts in (
        ("public-metadata", public, spans[1], group_starts[0]),
        ("private-metadata", private, spans[2], group_starts[1]),
    ):
        if offset not in starts:
            raise reader.error(
                f"{label}: OFFT (tag at byte offset {offt.offset}) {which} offset {offset} is not the "
                f"start of a group in the {span.name} (bytes {span.offset}..{span.end})"
            )
    mods = spans[3]
    if "MDSZ" in tags:
        size = FUNCTION_TAG_CODECS["MDSZ"].decode(tags["MDSZ"].tag.payload)
    else:  # file versions before 1.2.5: the module runs to the next one (see above)
        size = extents.get(module, 0)  # type: ignore[call-overload]
    end = module + size  # type: ignore[operator]
    if end > mods.size:
        raise reader.error(
            f"{label}: module at OFFT offset {module} with MDSZ {size} runs to byte offset "
            f"{mods.offset + end}, past the end of the module list at byte offset {mods.end}"
        )
    base = mods.offset + module
    module_bytes = reader.data[base : mods.offset + end]
    try:
        read_wrapper_header(module_bytes, reader.file, base)
    except CompileError as exc:
        raise reader.error(f"{label}: {exc.message}") from None
    if hashlib.sha256(module_bytes).digest() != tags["HASH"].tag.payload:
        raise reader.error(
            f"{label}: HASH (tag at byte offset {tags['HASH'].offset}) does not match the SHA-256 of "
            f"its module (bytes {base}..{mods.offset + end})"
        )
    return int(size)  # type: ignore[call-overload]


# ---------------------------------------------------------------------------
# Writing


def write_metallib(lib: Metallib) -> bytes:
    """Serialize ``lib``.

    Computes the file size, section offsets and sizes, the function count,
    group sizes and the (offset, size) payloads of extension tags that point
    at trailing sections; writes every other byte as stored. Function tags
    (OFFT, MDSZ, HASH, ...) are written as given: the caller keeps them
    consistent with the sections (``build_metallib`` does). Raises
    CompileError when a tag cannot be encoded or a trailing section and the
    extension tags disagree.
    """
    gaps = lib.gaps
    function_list = b"".join(encode_group(entry.tags, entry.counts_itself)
                             for entry in lib.functions)
    public = b"".join(group.encode() for group in lib.public_metadata)
    private = b"".join(group.encode() for group in lib.private_metadata)

    fl_offset = HEADER_SIZE + len(gaps.after_header)
    ext_offset = fl_offset + 4 + len(function_list)
    ext_size = 0 if lib.extension is None else tag_list_size(lib.extension)
    pub_offset = ext_offset + ext_size + len(gaps.after_extension)
    priv_offset = pub_offset + len(public) + len(gaps.after_public_metadata)
    mod_offset = priv_offset + len(private) + len(gaps.after_private_metadata)
    trailing_offset = mod_offset + len(lib.modules)

    extension = b""
    if lib.extension is not None:
        extension = encode_tag_list(_point_extension(lib, trailing_offset))
    file_size = trailing_offset + sum(len(s.data) for s in lib.trailing)

    h = lib.header
    major = h.file_version_major | (MACOS_FLAG if h.macos else 0)
    try:
        header = HEADER.pack(
            MAGIC, major, h.file_version_minor, h.file_version_patch, h.file_type, h.platform,
            h.deployment_major, h.deployment_minor, h.deployment_update, file_size,
            fl_offset, len(function_list), pub_offset, len(public),
            priv_offset, len(private), mod_offset, len(lib.modules),
        )  # fmt: skip
    except struct.error as exc:
        raise CompileError(f"metallib header field out of range: {exc}") from None
    parts = [
        header, gaps.after_header, struct.pack("<I", len(lib.functions)), function_list,
        extension, gaps.after_extension, public, gaps.after_public_metadata,
        private, gaps.after_private_metadata, lib.modules,
        *(section.data for section in lib.trailing),
    ]  # fmt: skip
    return b"".join(parts)


def _point_extension(lib: Metallib, trailing_offset: int) -> list[Tag]:
    """The extension tags with section pointers set to where the writer puts the sections."""
    placed: dict[str, tuple[int, int]] = {}
    pos = trailing_offset
    for section in lib.trailing:
        if section.tag is not None:
            if section.tag in placed:
                raise CompileError(f"two trailing sections for extension tag '{section.tag}'")
            placed[section.tag] = (pos, len(section.data))
        pos += len(section.data)
    tags = []
    for tag in lib.extension or []:
        if tag.name in SECTION_POINTER_TAGS:
            if tag.name not in placed:
                raise CompileError(
                    f"header extension tag '{tag.name}' has no section in Metallib.trailing"
                )
            tag = Tag(tag.name, SECTION_POINTER.encode(*placed.pop(tag.name)))
        tags.append(tag)
    if placed:
        raise CompileError(
            f"trailing section(s) {sorted(placed)} have no pointing tag in the header extension"
        )
    return tags
