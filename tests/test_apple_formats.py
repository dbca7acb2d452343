"""Apple's formats over the whole reference corpus: every library read, listed, rewritten,
every module disassembled and verified.

The listing is checked against an independent reading written here from the
container format (header, function groups with either size convention, tags),
not through ``llvm_to_air.metallib``: two readings of the same bytes must agree.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from oracles import REFERENCE

from llvm_to_air.inspect import describe_file, disassemble_modules
from llvm_to_air.metallib import read_metallib
from llvm_to_air.metallib.container import write_metallib
from llvm_to_air.verify import errors_of, verify_air_text

LIBRARY_DIRS = (REFERENCE / "apple-metallib", REFERENCE / "apple-metallib-2")
LIBRARIES = sorted(p for d in LIBRARY_DIRS if d.is_dir() for p in d.glob("*.metallib"))
AIR_FILES = sorted((REFERENCE / "apple-metallib-2" / "air").glob("*.air")) \
    if (REFERENCE / "apple-metallib-2" / "air").is_dir() else []
AIR_TEXTS = sorted((REFERENCE / "apple-air").glob("*.ll")) \
    if (REFERENCE / "apple-air").is_dir() else []
MISSING = f"the Apple reference corpus is absent at {REFERENCE} (third-party data)"
needs_corpus = pytest.mark.skipif(not LIBRARIES, reason=MISSING)

# The TYPE tag's values as MetalLibraryArchive documents them, and mesh (7) as the corpus has it.
TYPE_NAMES = {0: "vertex", 1: "fragment", 2: "kernel", 3: "unqualified", 4: "visible",
              5: "extern", 6: "intersection", 7: "mesh"}


def independent_listing(data: bytes) -> list[tuple[str, str, bytes]]:
    """(name, type, module bytes) of each function, read straight from the format.

    Header: magic, file version, type, platform, deployment, file size, then
    (offset, size) of function list, public and private metadata, module list.
    The function list is a u32 count and one group per function: a u32 size that
    counts itself or only the tags, then tags (FourCC, u16 length, payload) to ENDT.
    OFFT's third value is the module's offset in the module list; MDSZ its size, or,
    in files without MDSZ, up to the next module.
    """
    assert data[:4] == b"MTLB"
    fields = struct.unpack_from("<8Q", data, 24)
    list_at, modules_at, modules_size = fields[0], fields[6], fields[7]
    count = struct.unpack_from("<I", data, list_at)[0]
    entries, pos = [], list_at + 4
    for _ in range(count):
        size = struct.unpack_from("<I", data, pos)[0]
        tags, cursor = {}, pos + 4
        while data[cursor:cursor + 4] != b"ENDT":
            length = struct.unpack_from("<H", data, cursor + 4)[0]
            tags.setdefault(data[cursor:cursor + 4], data[cursor + 6:cursor + 6 + length])
            cursor += 6 + length
        end = cursor + 4
        assert end in (pos + size, pos + 4 + size), "a group size that fits neither convention"
        entries.append(tags)
        pos = end
    starts = [*sorted(struct.unpack("<3Q", t[b"OFFT"])[2] for t in entries), modules_size]
    listing = []
    for tags in entries:
        start = struct.unpack("<3Q", tags[b"OFFT"])[2]
        size = struct.unpack("<Q", tags[b"MDSZ"])[0] if b"MDSZ" in tags \
            else starts[starts.index(start) + 1] - start
        module = data[modules_at + start:modules_at + start + size]
        assert hashlib.sha256(module).digest() == tags[b"HASH"], "HASH does not cover the module"
        name = tags[b"NAME"].rstrip(b"\0").decode()
        listing.append((name, TYPE_NAMES.get(tags[b"TYPE"][0], str(tags[b"TYPE"][0])), module))
    return listing


@needs_corpus
@pytest.mark.parametrize("path", LIBRARIES, ids=[p.name[:80] for p in LIBRARIES])
def test_every_library_is_read_listed_and_rewritten(path: Path) -> None:
    data = path.read_bytes()
    library = read_metallib(data, str(path))
    assert write_metallib(library) == data, "not rewritten byte for byte"
    ours = describe_file(data, str(path))
    theirs = independent_listing(data)
    assert [(f["name"], f["type"]) for f in ours["functions"]] == \
        [(name, kind) for name, kind, _ in theirs]
    assert [library.module_of(e) for e in library.functions] == [m for _, _, m in theirs]


@needs_corpus
@pytest.mark.parametrize("path", LIBRARIES, ids=[p.name[:80] for p in LIBRARIES])
def test_every_module_disassembles_and_verifies_with_no_error(path: Path) -> None:
    texts = disassemble_modules(path.read_bytes(), str(path))
    assert len(texts) == len(read_metallib(path.read_bytes(), str(path)).functions)
    for text, name in texts:
        errors = errors_of(verify_air_text(text, name))
        assert not errors, "\n".join(d.format() for d in errors)


@needs_corpus
@pytest.mark.parametrize("path", AIR_FILES + AIR_TEXTS, ids=[p.name[:80] for p in AIR_FILES
                                                            + AIR_TEXTS])
def test_every_apple_air_file_verifies_with_no_error(path: Path) -> None:
    if path.suffix == ".air":
        [(text, name)] = disassemble_modules(path.read_bytes(), str(path))
    else:
        text, name = path.read_text(), str(path)
    errors = errors_of(verify_air_text(text, name))
    assert not errors, "\n".join(d.format() for d in errors)


@needs_corpus
def test_the_corpus_spans_what_the_formats_allow() -> None:
    """The counts the README states, and the variety the reader must handle."""
    styles, types, versions, modules = set(), set(), set(), 0
    for path in LIBRARIES:
        library = read_metallib(path.read_bytes(), str(path))
        styles |= {g.counts_itself for g in library.public_metadata}
        types |= {e.function_type for e in library.functions}
        versions.add(library.header.file_version)
        modules += len(library.functions)
    assert styles == {True, False}
    assert {0, 1, 2, 7} <= types
    assert min(versions) <= (1, 2, 3) and max(versions) >= (1, 2, 9)
    assert len(LIBRARIES) >= 81 and modules >= 1168


def test_unknown_function_type_is_shown_as_a_number() -> None:
    from llvm_to_air.metallib.container import function_type_name

    assert function_type_name(7) == "mesh"
    assert function_type_name(42) == "42 (unknown function type)"


# ------------------------------------------------------------- macOS 27 (AIR 2.9)

RNG = __import__("numpy").random.default_rng(27)


def test_macos27_end_to_end(tmp_path: Path) -> None:
    """AIR 2.9 / MSL 4.1: text, bitcode and library, inspected, verified and run."""
    import subprocess
    import sys

    import numpy as np
    from oracles import FIXTURES, llvm_as_14, opt_verify_14

    import llvm_to_air

    histogram = FIXTURES / "cuda19-O2" / "histogram.ll"
    reduce = FIXTURES / "cuda19-O2" / "reduce_shared.ll"
    for source in (histogram, reduce):
        text = llvm_to_air.compile(source, target="macos27").output
        assert 'target triple = "air64_v29-apple-macosx27.0.0"' in text
        llvm_as_14(text)
        opt_verify_14(text)
        assert not errors_of(verify_air_text(text, str(source), profile="ours"))
    # AIR 2.9 forms: barriers take a memory order, atomics a flags operand
    assert "@air.wg.barrier(i32 3, i32 5, i32 1)" in llvm_to_air.compile(
        reduce, target="macos27").output
    library = tmp_path / "h.metallib"
    library.write_bytes(llvm_to_air.compile(histogram, target="macos27", emit="metallib").output)
    air_file = tmp_path / "h.air"
    air_file.write_bytes(llvm_to_air.compile(histogram, target="macos27", emit="air").output)
    described = describe_file(library.read_bytes(), str(library))
    assert described["file_version"] == "1.2.9"
    assert [(f["air_version"], f["msl_version"]) for f in described["functions"]] == \
        [("2.9", "4.1")]
    for path in (library, air_file):
        result = subprocess.run([sys.executable, "-m", "llvm_to_air", "verify", "--ours",
                                 str(path)], capture_output=True, check=False)
        assert result.returncode == 0, result.stderr.decode()
    data = RNG.integers(0, 256, 5000, dtype=np.uint8)
    bins = np.zeros(64, np.uint32)
    llvm_to_air.run(library, "histogram", 1024, 256, {0: data, 1: bins, 2: np.int32(5000)})
    np.testing.assert_array_equal(bins, np.bincount(data % 64, minlength=64))
    values = RNG.random(1024, dtype=np.float32)
    partial = np.zeros(4, np.float32)
    llvm_to_air.run(llvm_to_air.compile(reduce, target="macos27", emit="air").output,
                    "reduce_sum", 1024, 256, {0: values, 1: partial, 2: np.int32(1024)})
    np.testing.assert_allclose(partial, values.reshape(4, 256).sum(axis=1), rtol=1e-5)


@pytest.mark.parametrize(("spelling", "triple"), [
    ("air64_v28-apple-macosx26.0.0", "air64_v28-apple-macosx26.0.0"),
    ("macosx26.1", "air64_v28-apple-macosx26.1.0"),
    ("ios17.2", "air64-apple-ios17.2.0"),
    ("macos27", "air64_v29-apple-macosx27.0.0"),
])
def test_targets_by_triple_or_os_version(spelling: str, triple: str) -> None:
    from llvm_to_air.metadata.target import get_target

    assert get_target(spelling).triple == triple


@pytest.mark.parametrize(("spelling", "words"), [
    ("air64_v27-apple-macosx26.0.0", "names AIR 2.7, but macos 26 uses AIR 2.8"),
    ("macos99", "unknown target"),
])
def test_bad_targets_say_why(spelling: str, words: str) -> None:
    from llvm_to_air import CompileError
    from llvm_to_air.metadata.target import get_target

    with pytest.raises(CompileError, match=words):
        get_target(spelling)


@pytest.mark.parametrize("target", ["macos13", "ios16"])
def test_air25_text_is_written_but_its_bitcode_is_refused(target: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    from oracles import FIXTURES, llvm_as_14

    import llvm_to_air
    from llvm_to_air import CompileError

    source = FIXTURES / "cuda19-O2" / "vadd.ll"
    llvm_as_14(llvm_to_air.compile(source, target=target).output)
    for emit in ("air", "metallib"):
        with pytest.raises(CompileError, match="older bitcode flavour"):
            llvm_to_air.compile(source, target=target, emit=emit)
    out = tmp_path / "k.metallib"
    result = subprocess.run([sys.executable, "-m", "llvm_to_air", str(source), "--target", target,
                             "-o", str(out)], capture_output=True, check=False)
    assert result.returncode == 1 and b"older bitcode flavour" in result.stderr
    assert not out.exists()


# ------------------------------------------------------- program-scope constants


@pytest.mark.parametrize("variant", ["cuda19-O0", "cuda19-O2", "cuda14-O2"])
def test_cuda_constants_are_internal_as_apple_writes_them(variant: str) -> None:
    from oracles import FIXTURES

    import llvm_to_air

    result = llvm_to_air.compile(FIXTURES / variant / "constant_mem.ll")
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("@taps = ")]
    assert line.startswith("@taps = internal addrspace(2) constant [5 x float]")
    assert "externally_initialized" not in line
    assert any("cudaMemcpyToSymbol" in w.message for w in result.warnings)


@pytest.mark.parametrize("variant", ["cuda19-O0", "cuda19-O2", "cuda14-O2"])
def test_a_host_filled_constant_becomes_a_buffer_the_host_binds(variant: str) -> None:
    import numpy as np
    from oracles import FIXTURES

    import llvm_to_air

    source = FIXTURES / variant / "constant_symbol.ll"
    result = llvm_to_air.compile(source)
    [kernel] = result.kernels
    [coeffs] = [a for a in kernel.arguments if a.name == "coeffs"]
    assert coeffs.kind == "buffer" and coeffs.access == "air.read"
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    y = np.zeros(100, np.float32)
    c = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    llvm_to_air.run(source, "poly3", 100, 64, {0: x, 1: y, 2: np.int32(100),
                                                coeffs.location_index: c})
    np.testing.assert_allclose(y, c[0] + x * (c[1] + x * (c[2] + x * c[3])), rtol=1e-5)


# -------------------------------------------------------------- bitcode flavour


def _apple_flavours() -> dict[tuple[int, int], list]:
    from bitcode_flavour import flavour

    from llvm_to_air.bitcode_wrapper import unwrap_bitcode

    found: dict[tuple[int, int], list] = {}
    for path in LIBRARIES:
        library = read_metallib(path.read_bytes(), str(path))
        for entry in library.functions[:3]:
            found.setdefault(tuple(entry.versions[:2]), []).append(
                flavour(unwrap_bitcode(library.module_of(entry), str(path))))
    return found


@pytest.fixture(scope="module")
def apple_flavours() -> dict[tuple[int, int], list]:
    if not LIBRARIES:
        pytest.skip(MISSING)
    return _apple_flavours()


FLAVOUR_SOURCES = ["cuda19-O2/constant_mem.ll", "cuda19-O2/reduce_shared.ll",
                   "opencl19/atomics.ll", "mlir-nvvm/elementwise_add.ll"]


@pytest.mark.parametrize(("target", "apple_version"), [
    ("macos14", (2, 6)), ("macos15", (2, 7)), ("macos26", (2, 8)), ("ios26", (2, 8)),
    ("macos27", (2, 8)),  # no AIR 2.9 module in the corpus: 2.9 keeps 2.8's layout
])
def test_our_bitcode_has_apples_record_layout(target: str, apple_version: tuple[int, int],
                                              apple_flavours: dict) -> None:
    from bitcode_flavour import flavour
    from oracles import FIXTURES

    import llvm_to_air

    apple = apple_flavours[apple_version]
    kinds = frozenset().union(*(f.attribute_kinds for f in apple))
    functions = frozenset().union(*(f.function_fields for f in apple))
    globalvars = frozenset().union(*(f.globalvar_fields for f in apple))
    for name in FLAVOUR_SOURCES:
        ours = flavour(llvm_to_air.compile(FIXTURES / name, target=target, emit="air").output)
        assert ours.attribute_kinds <= kinds, (name, sorted(ours.attribute_kinds - kinds))
        assert ours.function_fields <= functions, (name, ours.function_fields, functions)
        assert ours.globalvar_fields <= globalvars, (name, ours.globalvar_fields, globalvars)


def test_air25_modules_have_the_older_layout_we_do_not_write(apple_flavours: dict) -> None:
    """Why macos13/ios16 bitcode is refused: Apple's AIR 2.5 layout is not the writer's."""
    from bitcode_flavour import flavour
    from oracles import FIXTURES

    import llvm_to_air

    apple = apple_flavours[(2, 5)]
    assert max(max(f.attribute_kinds, default=0) for f in apple) <= 52
    assert frozenset().union(*(f.function_fields for f in apple)) == {18}
    ours = flavour(llvm_to_air.compile(FIXTURES / "cuda19-O2/reduce_shared.ll",
                                       emit="air").output)
    assert ours.function_fields == {21} and max(ours.attribute_kinds) > 52
