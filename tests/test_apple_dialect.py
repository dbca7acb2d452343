"""Apple's whole reference corpus against verify's two profiles and inspect's listing.

Every library and ``.air`` file of ../shared/reference is found by globbing (no
hand-picked list). Under the ``apple`` profile no Apple-built module gets any
diagnostic, not even a warning; the ``ours`` profile still flags what Apple writes and
we promise not to (so its strictness is measured on real modules, not only on
mutations). ``inspect``'s whole container listing (header, every function's fields and
tags, every header-extension entry, the dynamic-library and import sections) is
compared with a reading written here straight from the format.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference"
LIBRARIES = sorted(REFERENCE.glob("apple-metallib*/*.metallib"))
AIR_FILES = sorted(REFERENCE.glob("apple-metallib*/air/*.air"))
AIR_TEXTS = sorted(REFERENCE.glob("apple-air/*.ll"))
MISSING = f"Apple reference corpus not found at {REFERENCE} (third-party data, not in the repo)"


def _params(paths: list[Path]) -> list:
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-reference")]
    return [pytest.param(p, id=p.name[:90]) for p in paths]


def _modules(path: Path) -> list[tuple[str, Any]]:
    """(label, module) of every module a corpus file holds."""
    from llvm_to_air.bitcode_wrapper import unwrap_bitcode
    from llvm_to_air.ir.reader import read_module

    data = path.read_bytes()
    if path.suffix == ".ll":
        return [(path.name, read_module(data.decode(), path.name))]
    if path.suffix == ".air":
        return [(path.name, read_module(unwrap_bitcode(data, path.name), path.name))]
    from llvm_to_air.metallib import read_metallib

    lib = read_metallib(data, str(path))
    return [(f"{path.name}:{e.name}",
             read_module(unwrap_bitcode(lib.module_of(e), path.name), f"{path.name}:{e.name}"))
            for e in lib.functions]


# ------------------------------------------------------------------ the two profiles


@pytest.mark.parametrize("path", _params(LIBRARIES + AIR_FILES + AIR_TEXTS))
def test_apple_modules_get_no_diagnostic_at_all(path: Path) -> None:
    from llvm_to_air.verify import verify_air

    found = [d for label, module in _modules(path) for d in verify_air(module)]
    assert found == [], "\n".join(d.format() for d in found[:20])


def test_ours_is_stricter_on_apples_own_modules(capsys: pytest.CaptureFixture[str]) -> None:
    """What Apple writes and we promise not to: measured over the whole corpus."""
    if not LIBRARIES:
        pytest.skip(MISSING)
    from llvm_to_air.verify import errors_of, verify_air

    modules, flagged = 0, Counter()
    for path in LIBRARIES + AIR_FILES + AIR_TEXTS:
        for _, module in _modules(path):
            modules += 1
            flagged.update({d.rule for d in errors_of(verify_air(module, profile="ours"))})
    with capsys.disabled():
        print(f"\nverify --ours on {modules} Apple modules: modules with errors, by rule: "
              f"{dict(sorted(flagged.items()))}")
    assert modules >= 1202
    # fastcc helpers (llama.cpp-style kernels), AIR 2.3-2.5 modules without frame-pointer,
    # AIR 1.x-2.4 buffers without air.address_space, device references with buffer_size
    assert {"calling-convention", "module-flags", "buffer-address-space",
            "buffer-size"} <= set(flagged)


# ------------------------------------------------- the listing, read independently
# From the format (AIR_NOTES section 8, MetalLibraryArchive's notes): an 88-byte header;
# a tag is a FourCC, a u16 length and its payload, and ENDT closes a tag list; the
# function list is a u32 count and one group per function (a u32 size, then tags).
# Groups are walked tag by tag to their ENDT, so the size field is only cross-checked.

FILE_TYPES = {0: "executable", 1: "core image", 2: "dynamic library", 3: "symbol companion"}
PLATFORMS = {0: "unknown", 1: "macos", 2: "ios", 3: "tvos", 4: "watchos", 5: "bridgeos",
             6: "maccatalyst", 7: "ios_simulator", 8: "tvos_simulator", 9: "watchos_simulator"}
FUNCTION_TYPES = {0: "vertex", 1: "fragment", 2: "kernel", 3: "unqualified", 4: "visible",
                  5: "extern", 6: "intersection", 7: "mesh", 8: "object"}
STANDARD = ("NAME", "TYPE", "HASH", "OFFT", "VERS", "MDSZ")
POINTING = {"HDYN", "VLST", "ILST", "HSRC", "HSRD", "RLST"}


def _tags(data: bytes, pos: int) -> tuple[list[tuple[str, bytes]], int]:
    found = []
    while data[pos:pos + 4] != b"ENDT":
        (length,) = struct.unpack_from("<H", data, pos + 4)
        found.append((data[pos:pos + 4].decode("latin-1"), data[pos + 6:pos + 6 + length]))
        pos += 6 + length
    return found, pos + 4


def _groups(data: bytes) -> list[list[tuple[str, bytes]]]:
    (count,) = struct.unpack_from("<I", data, 0)
    pos, groups = 4, []
    for _ in range(count):
        tags, pos = _tags(data, pos + 4)
        groups.append(tags)
    return groups


def _text(payload: bytes) -> str:
    return payload.rstrip(b"\0").decode()


def independent_listing(data: bytes) -> dict[str, Any]:
    (magic, major, minor, patch, file_type, platform, dmaj, dmin, dupd, size, fl_off, fl_size,
     pub_off, _ps, _qo, _qs, mod_off, mod_size) = struct.unpack_from("<4sHHHBBHBBQ8Q", data)
    assert magic == b"MTLB" and size == len(data)
    (count,) = struct.unpack_from("<I", data, fl_off)
    pos, functions = fl_off + 4, []
    for _ in range(count):
        (group_size,) = struct.unpack_from("<I", data, pos)
        tags, end = _tags(data, pos + 4)
        assert group_size in (end - pos, end - pos - 4)  # with or without its ENDT
        functions.append(tags)
        pos = end
    assert pos == fl_off + 4 + fl_size
    extension = _tags(data, pos)[0] if pos < pub_off else []
    starts = sorted({struct.unpack("<3Q", dict(f)["OFFT"])[2] for f in functions} | {mod_size})
    listed_functions = []
    for tags in functions:
        fields = dict(tags)
        at = struct.unpack("<3Q", fields["OFFT"])[2]
        length = (struct.unpack("<Q", fields["MDSZ"])[0] if "MDSZ" in fields
                  else next(s for s in starts if s > at) - at)
        module = data[mod_off + at:mod_off + at + length]
        assert hashlib.sha256(module).digest() == fields["HASH"]
        vers = struct.unpack("<4H", fields["VERS"])
        listed_functions.append({
            "name": _text(fields["NAME"]),
            "type": FUNCTION_TYPES[fields["TYPE"][0]],
            "air_version": f"{vers[0]}.{vers[1]}", "msl_version": f"{vers[2]}.{vers[3]}",
            "module_bytes": length,
            "other_tags": [name for name, _ in tags if name not in STANDARD],
        })
    entries, sections = [], []
    for name, payload in extension:
        entry: dict[str, Any] = {"tag": name, "bytes": len(payload)}
        if name == "UUID":
            entry["uuid"] = payload.hex()
        elif name in POINTING:
            entry["offset"], entry["size"] = struct.unpack("<2Q", payload)
            body = data[entry["offset"]:entry["offset"] + entry["size"]]
            section: dict[str, Any] = {"section": name, "bytes": len(body)}
            if name == "HDYN":
                tags = _tags(body, 0)[0]
                names = [_text(p) for n, p in tags if n == "NAME"]
                if names:
                    section["install_name"] = names[0]
                section["linked_libraries"] = [_text(p) for n, p in tags if n == "DYNL"]
            elif name in ("ILST", "VLST"):
                groups = _groups(body)
                section["entries"] = len(groups)
                section["names"] = [_text(p) for g in groups for n, p in g if n == "NAME"]
            sections.append((entry["offset"], section))
        entries.append(entry)
    return {
        "file_version": f"{major & 0x7FFF}.{minor}.{patch}",
        "file_type": FILE_TYPES[file_type & 0x7F] + (" (stub)" if file_type & 0x80 else ""),
        "platform": PLATFORMS[platform & 0x7F],
        "deployment": f"{dmaj}.{dmin}.{dupd}",
        "header_extension": entries,
        "sections": [s for _, s in sorted(sections, key=lambda item: item[0])],
        "functions": listed_functions,
    }


def _comparable(listing: dict[str, Any]) -> dict[str, Any]:
    """inspect's listing, reduced to what the independent reading derives."""
    keys = ("section", "bytes", "install_name", "linked_libraries", "entries", "names")
    sections = []
    for section in listing["sections"]:
        kept = {k: v for k, v in section.items() if k in keys}
        if section["section"] not in ("HDYN", "ILST", "VLST"):
            kept = {"section": section["section"], "bytes": section["bytes"]}
        elif section["section"] in ("ILST", "VLST"):
            kept.setdefault("names", [])
        sections.append(kept)
    return {
        **{k: listing[k] for k in ("file_version", "file_type", "platform", "deployment",
                                   "header_extension", "functions")},
        "sections": sections,
    }


@pytest.mark.parametrize("path", _params(LIBRARIES))
def test_inspect_lists_what_an_independent_reading_finds(path: Path) -> None:
    from llvm_to_air.inspect import describe_file

    data = path.read_bytes()
    assert _comparable(describe_file(data, str(path))) == independent_listing(data)


def test_corpus_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """What the tests above covered, printed in the test log."""
    if not LIBRARIES:
        pytest.skip(MISSING)
    versions: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    for path in LIBRARIES:
        listing = independent_listing(path.read_bytes())
        versions[listing["file_version"]] += 1
        kinds.update(f["type"] for f in listing["functions"])
        tags.update(e["tag"] for e in listing["header_extension"])
    with capsys.disabled():
        print(f"\nApple corpus: {len(LIBRARIES)} libraries {dict(sorted(versions.items()))}, "
              f"{sum(kinds.values())} functions {dict(kinds)}, header-extension tags "
              f"{dict(tags)}, {len(AIR_FILES)} .air files, {len(AIR_TEXTS)} AIR texts")
    assert len(LIBRARIES) >= 81 and sum(kinds.values()) >= 1168
