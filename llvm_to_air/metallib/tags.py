"""Tags, the FourCC records of a metallib, and the groups that hold them.

A tag is a FourCC name, a u16 payload length and the payload; the bare
FourCC ``ENDT`` (no length) closes a tag list. A *group* is a u32 size, then
a tag list (function entries, metadata groups, reflection entries all look
like this). Apple's tools write the size two ways: counting the size field
itself (``08 00 00 00 ENDT`` for an empty group; what the metallib tool of
Xcode 12 and later writes for metadata groups) or counting only the tag list
(``04 00 00 00 ENDT``; older writers, and some metadata groups of Xcode 26).
The reader decides per group from the bytes (where the tag list's ENDT
ends) and records which, so that every file is written back as it was.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llvm_to_air.errors import CompileError
from llvm_to_air.metallib.binary import ByteReader

END_TAG = "ENDT"
END_TAG_BYTES = END_TAG.encode("ascii")
TAG_HEADER_SIZE = 6  # FourCC + u16 length
GROUP_SIZE_FIELD = 4
MAX_TAG_PAYLOAD = 0xFFFF


@dataclass
class Tag:
    """One tag: a four-character name and its raw payload (kept byte for byte)."""

    name: str
    payload: bytes

    def encode(self) -> bytes:
        """``name`` + u16 length + payload; CompileError if the tag cannot be written."""
        raw_name = _encode_name(self.name)
        if len(self.payload) > MAX_TAG_PAYLOAD:
            raise CompileError(
                f"tag '{self.name}' payload of {len(self.payload)} bytes does not fit its u16 length field"
            )
        return raw_name + struct.pack("<H", len(self.payload)) + bytes(self.payload)


@dataclass
class TagGroup:
    """A size-prefixed group of tags (the ENDT terminator is implied).

    ``counts_itself``: whether the size field counts its own four bytes (see the
    module docstring).
    """

    tags: list[Tag] = field(default_factory=list)
    counts_itself: bool = True

    def find(self, name: str) -> Tag | None:
        """The first tag called ``name``, or None."""
        return find_tag(self.tags, name)

    def encode(self) -> bytes:
        """u32 size + tags + ENDT."""
        return encode_group(self.tags, self.counts_itself)

    @property
    def encoded_size(self) -> int:
        return GROUP_SIZE_FIELD + tag_list_size(self.tags)


@dataclass(frozen=True)
class PlacedTag:
    """A tag read from a file, with the byte offset of its FourCC (for messages)."""

    offset: int
    tag: Tag


def _encode_name(name: str) -> bytes:
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        raw = b""
    if len(raw) != 4:
        raise CompileError(f"tag name {name!r} is not a four-character code")
    return raw


def find_tag(tags: Iterable[Tag], name: str) -> Tag | None:
    """The first tag in ``tags`` called ``name``, or None."""
    return next((tag for tag in tags if tag.name == name), None)


def tag_list_size(tags: Iterable[Tag]) -> int:
    """Encoded size of ``tags`` plus the closing ENDT."""
    return sum(TAG_HEADER_SIZE + len(tag.payload) for tag in tags) + len(END_TAG_BYTES)


def encode_tag_list(tags: Iterable[Tag]) -> bytes:
    """Every tag, then ENDT."""
    return b"".join(tag.encode() for tag in tags) + END_TAG_BYTES


def encode_group(tags: Iterable[Tag], counts_itself: bool = True) -> bytes:
    """A group: u32 size (counting itself, or only the tag list), the tags, ENDT."""
    body = encode_tag_list(tags)
    size = len(body) + (GROUP_SIZE_FIELD if counts_itself else 0)
    return struct.pack("<I", size) + body


def read_tag_list(
    reader: ByteReader, start: int, end: int, what: str
) -> tuple[list[PlacedTag], int]:
    """Read tags from ``start`` up to and including ENDT, never past ``end``.

    Returns the tags with their offsets and the offset just after ENDT.
    Raises CompileError when a tag header or payload runs past ``end`` or
    no ENDT appears before it.
    """
    tags: list[PlacedTag] = []
    pos = start
    while True:
        if pos + 4 > end:
            raise reader.error(
                f"{what}: no ENDT before its end at byte offset {end} (tag list starts at byte offset {start})"
            )
        raw_name = reader.take(pos, 4, f"tag name in {what}")
        name = raw_name.decode("latin-1")
        if name == END_TAG:
            return tags, pos + 4
        if pos + TAG_HEADER_SIZE > end:
            raise reader.error(
                f"{what}: tag '{name}' at byte offset {pos} has its length field past the end of "
                f"{what} at byte offset {end}"
            )
        length = reader.u16(pos + 4, f"length of tag '{name}' in {what}")
        payload_end = pos + TAG_HEADER_SIZE + length
        if payload_end > end:
            raise reader.error(
                f"{what}: tag '{name}' at byte offset {pos} has length {length}, which runs to byte "
                f"offset {payload_end}, past the end of {what} at byte offset {end}"
            )
        tags.append(PlacedTag(pos, Tag(name, reader.take(pos + TAG_HEADER_SIZE, length, what))))
        pos = payload_end


@dataclass(frozen=True)
class ReadGroup:
    """A group as read: its tags with their offsets, where it ends, and its size style."""

    tags: list[PlacedTag]
    end: int
    counts_itself: bool


def read_group(reader: ByteReader, offset: int, limit: int, what: str) -> ReadGroup:
    """Read one group at ``offset`` that must end by ``limit``.

    The tag list is read up to its ENDT; the size field must then equal the group's
    length either with or without its own four bytes (the two styles Apple writes).
    Raises CompileError naming the offsets when it is neither.
    """
    size = reader.u32(offset, f"size of {what}")
    if size < len(END_TAG_BYTES):
        raise reader.error(
            f"{what} at byte offset {offset} has size {size}, too small for a tag list"
        )
    if offset + size > limit:
        raise reader.error(
            f"{what} at byte offset {offset} has size {size}, which runs to byte offset "
            f"{offset + size}, past the end of its section at byte offset {limit}"
        )
    bound = min(limit, offset + GROUP_SIZE_FIELD + size)
    tags, after = read_tag_list(reader, offset + GROUP_SIZE_FIELD, bound, what)
    if after == offset + size:
        return ReadGroup(tags, after, True)
    if after == offset + GROUP_SIZE_FIELD + size:
        return ReadGroup(tags, after, False)
    raise reader.error(
        f"{what} at byte offset {offset}: its tags end at byte offset {after}, but its size "
        f"field ({size}) says byte offset {offset + size} (counting the field) or "
        f"{offset + GROUP_SIZE_FIELD + size} (not counting it)"
    )


# ---------------------------------------------------------------------------
# Payload codecs: how the payload of a known tag decodes, keyed by tag name.


@dataclass(frozen=True)
class TagCodec:
    """How to read and write one kind of tag payload.

    ``size`` is the required payload length (None: any). ``decode`` raises
    ValueError on a malformed payload; callers turn that into CompileError.
    """

    size: int | None
    decode: Callable[[bytes], object]
    encode: Callable[..., bytes]


def decode_cstring(payload: bytes) -> str:
    """A NUL-terminated UTF-8 string (ValueError if unterminated or not UTF-8)."""
    if not payload.endswith(b"\0") or b"\0" in payload[:-1]:
        raise ValueError("is not one NUL-terminated string")
    return payload[:-1].decode("utf-8")


def encode_cstring(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def _uints(fmt: str) -> tuple[Callable[[bytes], object], Callable[..., bytes]]:
    packer = struct.Struct(fmt)

    def decode(payload: bytes) -> object:
        values = packer.unpack(payload)
        return values[0] if len(values) == 1 else tuple(values)

    def encode(*values: int) -> bytes:
        return packer.pack(*values)

    return decode, encode


def _codec(fmt: str) -> TagCodec:
    decode, encode = _uints(fmt)
    return TagCodec(struct.calcsize(fmt), decode, encode)


def _raw(size: int) -> TagCodec:
    return TagCodec(size, bytes, bytes)


FUNCTION_TAG_CODECS: dict[str, TagCodec] = {
    "NAME": TagCodec(None, decode_cstring, encode_cstring),
    "TYPE": _codec("<B"),
    "HASH": _raw(32),
    "OFFT": _codec("<3Q"),  # public metadata, private metadata, module offsets
    "VERS": _codec("<4H"),  # AIR major, minor, MSL major, minor
    "MDSZ": _codec("<Q"),
    "SOFF": _codec("<Q"),  # offset into the embedded source section
    "RFLT": _codec("<Q"),  # offset of this function's entry in the RLST section
}

# Header extension tags whose payload is (u64 offset, u64 size) of a section
# placed after the module list. From MetalLibraryArchive's notes and the corpus.
SECTION_POINTER_TAGS = frozenset({"HDYN", "VLST", "ILST", "HSRC", "HSRD", "RLST"})
SECTION_POINTER = _codec("<2Q")

EXTENSION_TAG_CODECS: dict[str, TagCodec] = {
    "UUID": _raw(16),
    **{name: SECTION_POINTER for name in SECTION_POINTER_TAGS},
}


def check_payloads(
    reader: ByteReader, placed: Iterable[PlacedTag], codecs: dict[str, TagCodec], what: str
) -> None:
    """Raise CompileError for a known tag whose payload has the wrong size or does not decode."""
    for item in placed:
        codec = codecs.get(item.tag.name)
        if codec is None:
            continue
        payload = item.tag.payload
        if codec.size is not None and len(payload) != codec.size:
            raise reader.error(
                f"{what}: tag '{item.tag.name}' at byte offset {item.offset} has a {len(payload)}-byte "
                f"payload; expected {codec.size} bytes"
            )
        try:
            codec.decode(payload)
        except ValueError as exc:
            raise reader.error(
                f"{what}: tag '{item.tag.name}' at byte offset {item.offset}: payload {exc}"
            ) from None
