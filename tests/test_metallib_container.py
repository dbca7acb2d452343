"""The metallib container: Apple's reference libraries, our builder, and broken input."""

from __future__ import annotations

import hashlib
import random
import re
import struct
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from llvm_to_air.bitcode_wrapper import unwrap_bitcode, wrap_bitcode
from llvm_to_air.errors import CompileError
from llvm_to_air.metallib import (
    FunctionType,
    Metallib,
    MetallibFunction,
    MetallibTarget,
    Tag,
    build_metallib,
    file_version_for,
    read_metallib,
    write_metallib,
)

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference" / "apple-metallib"
# every Apple-built library of the corpus: Metal.jl's fixtures and apple-metallib-2
# (Xcode 9 to 26, file versions 1.2.2 to 1.2.9, both group-size styles, dynamic libraries)
ALL_REFERENCE_DIRS = (REFERENCE, REFERENCE.parent / "apple-metallib-2")
MISSING = f"Apple reference metallibs not found at {REFERENCE} (third-party data, not in the repo)"

# AIR_NOTES section 1: macOS major -> (AIR version, MSL version, metallib file version).
VERSION_TABLE = {
    11: ((2, 3), (2, 3), (1, 2, 5)),
    12: ((2, 4), (2, 4), (1, 2, 6)),
    13: ((2, 5), (3, 0), (1, 2, 7)),
    14: ((2, 6), (3, 1), (1, 2, 7)),
    15: ((2, 7), (3, 2), (1, 2, 8)),
    26: ((2, 8), (4, 0), (1, 2, 9)),
}


def reference_params() -> list:
    if not REFERENCE.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-reference")]
    return [pytest.param(path, id=path.name) for path in sorted(REFERENCE.glob("*.metallib"))]


def deployment_major(path: Path) -> int | None:
    """``kernel.14.metallib`` -> 14; ``dummy.metallib`` -> None."""
    match = re.fullmatch(r"[^.]+\.(\d+)\.metallib", path.name)
    return int(match.group(1)) if match else None


def kernels_in_source(source: str) -> list[str]:
    """Names of the ``kernel`` functions defined in Metal source, in source order."""
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    source = re.sub(r"//[^\n]*", " ", source)
    return re.findall(r"\bkernel\s+void\s+([A-Za-z_]\w*)\s*\(", source)


# ---------------------------------------------------------------------------
# Apple's libraries


def all_reference_params() -> list:
    paths = sorted(p for d in ALL_REFERENCE_DIRS if d.is_dir() for p in d.glob("*.metallib"))
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-reference")]
    return [pytest.param(path, id=path.name[:80]) for path in paths]


@pytest.mark.parametrize("path", all_reference_params())
def test_reference_round_trip_is_byte_exact(path: Path) -> None:
    data = path.read_bytes()
    assert write_metallib(read_metallib(data, str(path))) == data


@pytest.mark.parametrize("path", reference_params())
def test_reference_function_names_match_metal_source(path: Path) -> None:
    source = path.with_name(path.name.split(".")[0] + ".metal").read_text()
    lib = read_metallib(path.read_bytes(), str(path))
    assert [entry.name for entry in lib.functions] == kernels_in_source(source)
    assert all(entry.function_type == FunctionType.KERNEL for entry in lib.functions)


@pytest.mark.parametrize("path", reference_params())
def test_reference_versions_match_air_notes(path: Path) -> None:
    major = deployment_major(path)
    if major is None:
        pytest.skip(f"{path.name} names no deployment target")
    air, msl, file_version = VERSION_TABLE[major]
    header = read_metallib(path.read_bytes(), str(path)).header
    assert header.file_version == file_version == file_version_for("macos", major)
    assert header.macos
    if file_version >= (1, 2, 6):
        assert header.deployment == (major, 0, 0)
        assert header.platform == 0x81  # 64-bit | macOS
    else:  # 1.2.5 leaves platform and deployment target empty
        assert header.deployment == (0, 0, 0)
        assert header.platform == 0
    for entry in read_metallib(path.read_bytes()).functions:
        assert entry.versions == (*air, *msl)


@pytest.mark.parametrize("path", reference_params())
def test_reference_modules_are_wrapped_bitcode_with_matching_hash(path: Path) -> None:
    lib = read_metallib(path.read_bytes(), str(path))
    for entry in lib.functions:
        module = lib.module_of(entry)
        assert hashlib.sha256(module).digest() == entry.hash
        assert len(module) % 16 == 0
        assert (
            llvm.parse_bitcode(unwrap_bitcode(module)).get_function(entry.name).name == entry.name
        )


def strip_reflection(lib: Metallib) -> Metallib:
    """Apple's library without what our builder does not write: RFLT tags, RLST, the UUID."""
    for entry in lib.functions:
        entry.tags = [tag for tag in entry.tags if tag.name != "RFLT"]
    lib.extension = [tag for tag in lib.extension or [] if tag.name not in ("RLST", "UUID")]
    lib.extension.append(Tag("UUID", bytes(16)))
    lib.trailing = [section for section in lib.trailing if section.tag != "RLST"]
    return lib


@pytest.mark.parametrize(
    "path", [p for p in reference_params() if p.values[0] is None or p.id.startswith("kernel")]
)
def test_builder_lays_out_like_apple(path: Path) -> None:
    """Rebuilt from Apple's modules, our library equals Apple's but for UUID and reflection."""
    apple = read_metallib(path.read_bytes(), str(path))
    major = deployment_major(path)
    assert major is not None
    functions = [
        MetallibFunction(
            name=entry.name,
            module=apple.module_of(entry),
            air_version=entry.versions[:2],
            msl_version=entry.versions[2:],
        )
        for entry in apple.functions
    ]
    install_name = path.name if apple.section("HDYN") is not None else None
    ours = read_metallib(
        build_metallib(functions, MetallibTarget("macos", (major, 0, 0), install_name=install_name))
    )
    ours.extension = [tag for tag in ours.extension or [] if tag.name != "UUID"] + [
        Tag("UUID", bytes(16))
    ]
    assert write_metallib(ours) == write_metallib(strip_reflection(apple))


# ---------------------------------------------------------------------------
# Our builder

KERNEL_IR = """
define void @{name}(float addrspace(1)* %out, i32 %i) {{
  %p = getelementptr float, float addrspace(1)* %out, i32 %i
  store float {value}, float addrspace(1)* %p
  ret void
}}
"""


def wrapped_module(name: str, value: str = "1.0") -> bytes:
    return wrap_bitcode(llvm.parse_assembly(KERNEL_IR.format(name=name, value=value)).as_bitcode())


def our_functions(names: tuple[str, ...] = ("vadd", "scale", "copy")) -> list[MetallibFunction]:
    return [
        MetallibFunction(name, wrapped_module(name, f"{i + 1}.0"), (2, 6), (3, 1))
        for i, name in enumerate(names)
    ]


def independent_check(
    data: bytes, functions: list[MetallibFunction], version, platform_byte, deployment
) -> None:
    """A minimal reader written separately from llvm_to_air.metallib."""
    (magic, major, minor, patch, file_type, platform, dep_major, dep_minor, dep_update, size,
     fl_o, fl_s, pub_o, pub_s, priv_o, priv_s, mod_o, mod_s) = struct.unpack_from("<4sHHHBBHBBQ8Q", data)  # fmt: skip
    assert magic == b"MTLB"
    assert size == len(data)
    assert (major & 0x7FFF, minor, patch) == version and major & 0x8000
    assert (file_type, platform, (dep_major, dep_minor, dep_update)) == (
        0,
        platform_byte,
        deployment,
    )
    assert fl_o == 88
    assert struct.unpack_from("<I", data, fl_o)[0] == len(functions)
    assert pub_s == priv_s == 8 * len(functions)
    assert mod_o + mod_s == len(data)
    pos = fl_o + 4
    for function in functions:
        group_size = struct.unpack_from("<I", data, pos)[0]
        end, tags, names, q = pos + group_size, {}, [], pos + 4
        while data[q : q + 4] != b"ENDT":
            length = struct.unpack_from("<H", data, q + 4)[0]
            tags[data[q : q + 4]] = data[q + 6 : q + 6 + length]
            names.append(data[q : q + 4])
            q += 6 + length
        assert q + 4 == end
        assert names == [b"NAME", b"TYPE", b"HASH", b"OFFT", b"VERS", b"MDSZ"]
        assert tags[b"NAME"] == function.name.encode() + b"\0"
        assert tags[b"TYPE"] == b"\x02"
        pub, priv, mod = struct.unpack("<3Q", tags[b"OFFT"])
        (mdsz,) = struct.unpack("<Q", tags[b"MDSZ"])
        assert data[pub_o + pub : pub_o + pub + 8] == b"\x08\x00\x00\x00ENDT"
        assert data[priv_o + priv : priv_o + priv + 8] == b"\x08\x00\x00\x00ENDT"
        module = data[mod_o + mod : mod_o + mod + mdsz]
        assert module == function.module
        assert hashlib.sha256(module).digest() == tags[b"HASH"]
        assert struct.unpack("<4H", tags[b"VERS"]) == (*function.air_version, *function.msl_version)
        wmagic, wversion, woffset, wsize, wcpu = struct.unpack_from("<5I", module)
        assert (wmagic, wversion, woffset, wcpu) == (0x0B17C0DE, 0, 20, 0xFFFFFFFF)
        assert module[20:24] == b"BC\xc0\xde"
        assert len(module) % 16 == 0 and len(module) - 16 < 20 + wsize <= len(module)
        assert module[20 + wsize :] == bytes(len(module) - 20 - wsize)
        pos = end
    assert pos == fl_o + 4 + fl_s  # the function list size excludes the u32 count
    # header extension: UUID then ENDT, from the function list's end to the public metadata
    assert data[pos : pos + 6] == b"UUID\x10\x00"
    uuid = data[pos + 6 : pos + 22]
    assert uuid[6] >> 4 == 4 and uuid[8] >> 6 == 0b10
    assert data[pos + 22 : pos + 26] == b"ENDT"
    assert pos + 26 == pub_o and pub_o + pub_s == priv_o and priv_o + priv_s == mod_o


@pytest.mark.parametrize(
    ("platform", "deployment", "version", "platform_byte", "header_deployment"),
    [
        ("macos", (11, 0, 0), (1, 2, 5), 0x00, (0, 0, 0)),
        ("macos", (12, 3, 0), (1, 2, 6), 0x81, (12, 3, 0)),
        ("macos", (13, 0, 0), (1, 2, 7), 0x81, (13, 0, 0)),
        ("macos", (14, 0, 0), (1, 2, 7), 0x81, (14, 0, 0)),
        ("macos", (15, 1, 2), (1, 2, 8), 0x81, (15, 1, 2)),
        ("macos", (26, 0, 0), (1, 2, 9), 0x81, (26, 0, 0)),
    ],
)
def test_builder_output_reads_back(
    platform, deployment, version, platform_byte, header_deployment
) -> None:
    functions = our_functions()
    data = build_metallib(functions, MetallibTarget(platform, deployment))
    independent_check(data, functions, version, platform_byte, header_deployment)
    lib = read_metallib(data, "ours.metallib")
    assert lib.header.file_version == version
    assert lib.header.deployment == header_deployment
    assert [e.name for e in lib.functions] == [f.name for f in functions]
    for entry, function in zip(lib.functions, functions, strict=True):
        assert lib.module_of(entry) == function.module
        assert entry.versions == (2, 6, 3, 1)
        assert entry.function_type == FunctionType.KERNEL
    assert write_metallib(lib) == data


def test_builder_ios_target() -> None:
    functions = our_functions(("k",))
    data = build_metallib(functions, MetallibTarget("ios", (17, 0, 0)))
    major, _, patch = struct.unpack_from("<3H", data, 4)
    assert major == 1 and patch == 7  # no macOS bit
    assert data[11] == 0x82
    assert read_metallib(data).header.macos is False


def test_builder_install_name_writes_hdyn_section() -> None:
    data = build_metallib(
        our_functions(("k",)), MetallibTarget("macos", (26, 0, 0), install_name="ours.metallib")
    )
    lib = read_metallib(data)
    assert [tag.name for tag in lib.extension or []] == ["HDYN", "UUID"]
    assert lib.section("HDYN") == b"NAME\x0e\x00ours.metallib\x00ENDT"
    assert data.endswith(b"NAME\x0e\x00ours.metallib\x00ENDT")


def test_builder_is_deterministic_and_uuid_follows_content() -> None:
    target = MetallibTarget("macos", (14, 0, 0))
    first = build_metallib(our_functions(), target)
    assert first == build_metallib(our_functions(), target)
    other = build_metallib(our_functions(("vadd", "scale", "copy2")), target)
    uuid = read_metallib(first).extension_tag("UUID")
    assert uuid is not None and uuid != read_metallib(other).extension_tag("UUID")


@pytest.mark.parametrize(
    ("platform", "major", "expected"),
    [("macos", 11, (1, 2, 5)), ("macos", 12, (1, 2, 6)), ("macos", 13, (1, 2, 7)),
     ("macos", 14, (1, 2, 7)), ("macos", 15, (1, 2, 8)), ("macos", 26, (1, 2, 9)),
     ("macos", 27, (1, 2, 9)), ("ios", 14, (1, 2, 5)), ("ios", 17, (1, 2, 7)),
     ("ios", 18, (1, 2, 8)), ("ios", 26, (1, 2, 9))],
)  # fmt: skip
def test_file_version_for(platform: str, major: int, expected) -> None:
    assert file_version_for(platform, major) == expected


@pytest.mark.parametrize(
    ("platform", "major"), [("macos", 10), ("macos", 20), ("ios", 13), ("linux", 14)]
)
def test_file_version_for_rejects_unknown_targets(platform: str, major: int) -> None:
    with pytest.raises(CompileError):
        file_version_for(platform, major)


@pytest.mark.parametrize(
    ("functions", "target", "message"),
    [
        ([], MetallibTarget(), "at least one function"),
        (lambda: our_functions(("a", "a")), MetallibTarget(), "appears twice"),
        (
            lambda: [MetallibFunction("k", b"BC\xc0\xde" + bytes(12), (2, 6), (3, 1))],
            MetallibTarget(),
            "not wrapped",
        ),
        (
            lambda: our_functions(("k",)),
            MetallibTarget(file_version=(1, 2, 4)),
            "unsupported metallib file version",
        ),
        (lambda: our_functions(("k",)), MetallibTarget(platform="linux"), "unknown platform"),
        (
            lambda: [MetallibFunction("", wrapped_module("k"), (2, 6), (3, 1))],
            MetallibTarget(),
            "non-empty",
        ),
    ],
    ids=["empty", "duplicate", "unwrapped", "old-version", "platform", "no-name"],
)
def test_builder_rejects_bad_input(functions, target: MetallibTarget, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        build_metallib(functions() if callable(functions) else functions, target)


# ---------------------------------------------------------------------------
# Broken input

NAME_TAG_AT = 88 + 4 + 4  # first tag of the first function group


@pytest.fixture
def ours() -> bytes:
    return build_metallib(our_functions(("foo", "bar")), MetallibTarget("macos", (14, 0, 0)))


def patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    raw = struct.pack(fmt, *values)
    return data[:offset] + raw + data[offset + len(raw) :]


def module_offset(data: bytes, index: int) -> int:
    lib = read_metallib(data)
    return struct.unpack_from("<Q", data, 72)[0] + lib.functions[index].offsets[2]


def tag_offset(data: bytes, name: bytes, nth: int = 0) -> int:
    pos = -1
    for _ in range(nth + 1):
        pos = data.index(name, pos + 1)
    return pos


def rehash(data: bytes, index: int) -> bytes:
    """Fix function ``index``'s HASH after its module was edited."""
    mod_o = struct.unpack_from("<Q", data, 72)[0]
    hash_at = tag_offset(data, b"HASH", index) + 6
    offt_at = tag_offset(data, b"OFFT", index) + 6
    mdsz_at = tag_offset(data, b"MDSZ", index) + 6
    start = mod_o + struct.unpack_from("<3Q", data, offt_at)[2]
    size = struct.unpack_from("<Q", data, mdsz_at)[0]
    return (
        data[:hash_at] + hashlib.sha256(data[start : start + size]).digest() + data[hash_at + 32 :]
    )


def with_tag(data: bytes, index: int, tag: Tag) -> bytes:
    """``data`` with function ``index``'s tag of the same name replaced (through the model)."""
    lib = read_metallib(data)
    entry = lib.functions[index]
    entry.tags = [tag if old.name == tag.name else old for old in entry.tags]
    return write_metallib(lib)


BROKEN = {
    "truncated-header": (lambda d: d[:40], "the header needs 88 bytes, the file has 40"),
    "truncated-body": (lambda d: d[:-7], "file size field at byte offset 16 says"),
    "bad-magic": (lambda d: b"MTLX" + d[4:], "expected magic 'MTLB' at byte offset 0"),
    "empty": (lambda d: b"", "found an empty file"),
    "file-size-field": (
        lambda d: patch(d, 16, "<Q", len(d) + 1),
        "says {n} bytes, but the file has",
    ),
    "tag-past-group": (
        lambda d: patch(d, NAME_TAG_AT + 4, "<H", 0x4000),
        "tag 'NAME' at byte offset 96 has length 16384, which runs to byte offset 16486, "
        "past the end of function group 0",
    ),
    "hash-mismatch": (
        lambda d: patch(
            d, tag_offset(d, b"HASH", 1) + 6, "<B", d[tag_offset(d, b"HASH", 1) + 6] ^ 1
        ),
        "function 'bar': HASH (tag at byte offset",
    ),
    "module-without-wrapper": (
        lambda d: rehash(patch(d, module_offset(d, 1), "<I", 0xDEADBEEF), 1),
        "function 'bar': bad bitcode wrapper magic 0xDEADBEEF at byte offset",
    ),
    "module-past-section": (
        lambda d: patch(d, tag_offset(d, b"MDSZ", 1) + 6, "<Q", 1 << 20),
        "function 'bar': module at OFFT offset",
    ),
    "section-past-end": (
        lambda d: patch(d, 80, "<Q", len(d)),
        "module list (offset/size at header byte offset 72) spans bytes",
    ),
    "offt-not-a-group": (
        lambda d: patch(d, tag_offset(d, b"OFFT", 1) + 6, "<Q", 4),
        "public-metadata offset 4 is not the start of a group",
    ),
    "function-count": (lambda d: patch(d, 88, "<I", 3), "says 3 functions"),
    "group-size-too-big": (lambda d: patch(d, 92, "<I", 0x10000), "past the end of its section"),
    "no-endt": (  # the UUID tag swallows the extension's ENDT
        lambda d: patch(d, tag_offset(d, b"UUID") + 4, "<H", 20),
        "header extension: no ENDT before its end",
    ),
    "bad-type-size": (
        lambda d: with_tag(d, 0, Tag("TYPE", b"\x02\x00")),
        "has a 2-byte payload; expected 1 bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_raises_compile_error(ours: bytes, case: str) -> None:
    make, message = BROKEN[case]
    data = make(ours)
    message = message.replace("{n}", str(len(ours) + 1))
    with pytest.raises(CompileError) as info:
        read_metallib(data, "broken.metallib")
    assert message in info.value.message, info.value.message
    assert info.value.location.file == "broken.metallib"


def test_random_damage_only_ever_raises_compile_error(ours: bytes) -> None:
    """Truncations and byte flips: parse or CompileError, nothing else escapes."""
    rng = random.Random(1234)
    samples = [ours[:cut] for cut in range(0, len(ours), 7)]
    for _ in range(400):
        data = bytearray(ours)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(0, 400)
            data[at] = rng.randrange(256)
        data[16:24] = struct.pack("<Q", len(data))  # get past the size check now and then
        samples.append(bytes(data))
    for data in samples:
        try:
            read_metallib(data)
        except CompileError:
            pass
