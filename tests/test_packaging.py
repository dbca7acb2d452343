"""Packaging: .air files and metallibs made by the main command, checked by independent readers."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest
from oracles import FIXTURES, llvm_dis_14

from llvm_to_air.metallib import read_metallib

LIBRARY_INPUTS = ["cuda19-O2/vadd.ll", "cuda19-O2/reduce_shared.ll", "opencl19/atomics.ll",
                  "mlir-nvvm/elementwise_add.ll", "mlir-rocdl/shared_reduce.ll",
                  "cuda19-O2/warp_reduce.ll"]


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], capture_output=True,
                          timeout=300, check=False)


def check_wrapper(data: bytes) -> bytes:
    """Independent check of the Darwin wrapper; returns the raw bitcode."""
    magic, version, offset, size, cputype = struct.unpack_from("<5I", data)
    assert (magic, version, offset, cputype) == (0x0B17C0DE, 0, 20, 0xFFFFFFFF)
    assert data[20:24] == b"BC\xc0\xde"
    assert len(data) % 16 == 0 and len(data) - 20 - size < 16
    assert data[20 + size:] == b"\0" * (len(data) - 20 - size)
    return data[20:20 + size]


@pytest.mark.parametrize("name", LIBRARY_INPUTS)
def test_metallib_modules_read_back_everywhere(name: str, tmp_path: Path) -> None:
    out = tmp_path / "lib.metallib"
    result = cli(str(FIXTURES / name), "-o", str(out), "--target", "macos15")
    assert result.returncode == 0, result.stderr.decode()
    data = out.read_bytes()
    # independent header check: magic, macOS flag, file version 1.2.8 for macOS 15, size
    assert data[:4] == b"MTLB"
    major, minor, patch = struct.unpack_from("<HHH", data, 4)
    assert (major & 0x7FFF, minor, patch) == (1, 2, 8) and major & 0x8000
    assert struct.unpack_from("<Q", data, 16)[0] == len(data)
    library = read_metallib(data, str(out))
    for entry in library.functions:
        module = library.module_of(entry)
        assert hashlib.sha256(module).digest() == entry.hash
        raw = check_wrapper(module)
        text = llvm_dis_14(raw)
        assert f"@{entry.name}(" in text or f'@"{entry.name}"(' in text
        assert text.count("define ") == 1  # one kernel per module, as Apple does
        parsed = llvm.parse_bitcode(raw, llvm.create_context())
        parsed.verify()
        assert entry.versions == (2, 7, 3, 2)


def test_air_file_and_inspect_json(tmp_path: Path) -> None:
    air = tmp_path / "k.air"
    assert cli(str(FIXTURES / "cuda19-O2" / "saxpy.ll"), "-o", str(air)).returncode == 0
    text = llvm_dis_14(check_wrapper(air.read_bytes()))
    assert "air64-apple-macosx14.0.0" in text and "!air.kernel" in text
    lib = tmp_path / "k.metallib"
    assert cli(str(FIXTURES / "cuda19-O2" / "saxpy.ll"), "-o", str(lib)).returncode == 0
    report = json.loads(cli("inspect", str(lib), "--json").stdout)
    assert report["file_version"] == "1.2.7" and report["deployment"] == "14.0.0"
    [function] = report["functions"]
    assert function["type"] == "kernel" and function["air_version"] == "2.6"
    [module] = report["modules"]
    kinds = [a["kind"] for a in module["kernels"][0]["arguments"]]
    assert kinds[:4] == ["constant", "constant", "buffer", "buffer"]


def test_several_inputs_link_into_one_library(tmp_path: Path) -> None:
    out = tmp_path / "lib.metallib"
    a, b = FIXTURES / "cuda19-O2" / "vadd.ll", FIXTURES / "cuda19-O2" / "saxpy.ll"
    assert cli(str(a), str(b), "-o", str(out)).returncode == 0
    names = [e.name for e in read_metallib(out.read_bytes()).functions]
    assert names == ["_Z4vaddPKfS0_Pfi", "_Z5saxpyifPKfPf"]
    clash = cli(str(a), str(a), "-o", str(tmp_path / "x.metallib"))
    assert clash.returncode == 1 and "--rename" in clash.stderr.decode()
    text_out = cli(str(a), str(b), "-o", str(tmp_path / "x.ll"))
    assert text_out.returncode == 1 and "one .metallib" in text_out.stderr.decode()


def test_rename_gives_the_library_function_a_friendly_name(tmp_path: Path) -> None:
    out = tmp_path / "lib.metallib"
    result = cli(str(FIXTURES / "cuda19-O2" / "vadd.ll"), "--rename", "_Z4vaddPKfS0_Pfi=vadd",
                 "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert [e.name for e in read_metallib(out.read_bytes()).functions] == ["vadd"]


@pytest.mark.parametrize("damage", ["truncate", "magic", "size", "hash"])
def test_damaged_libraries_are_reported_by_inspect_and_dis(damage: str, tmp_path: Path) -> None:
    good = tmp_path / "good.metallib"
    assert cli(str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o", str(good)).returncode == 0
    data = bytearray(good.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "magic":
        data[:4] = b"XXXX"
    elif damage == "size":
        struct.pack_into("<Q", data, 16, len(data) + 5)
    else:
        data[-40] ^= 0xFF  # inside the module: its SHA-256 no longer matches
    bad = tmp_path / "bad.metallib"
    bad.write_bytes(bytes(data))
    for command in ("inspect", "dis"):
        result = cli(command, str(bad))
        err = result.stderr.decode()
        assert result.returncode == 1 and "Traceback" not in err, err
        assert err.startswith(f"{bad}") and ": error: " in err


AIR_FOR_MACOS = {"11": "2.3", "12": "2.4", "13": "2.5", "14": "2.6", "15": "2.7", "26": "2.8"}


@pytest.mark.parametrize("version", sorted(AIR_FOR_MACOS))
def test_inspect_json_of_apples_library_matches_its_metal_source(version: str) -> None:
    from oracles import REFERENCE

    library = REFERENCE / "apple-metallib" / f"kernels.{version}.metallib"
    if not library.exists():
        pytest.skip("the Apple reference corpus (../shared/reference) is not present")
    import re

    source = (REFERENCE / "apple-metallib" / "kernels.metal").read_text()
    defined = re.findall(r"\bkernel\s+void\s+(\w+)\s*\(", source)
    result = cli("inspect", str(library), "--json")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert sorted(f["name"] for f in report["functions"]) == sorted(defined)
    assert {f["air_version"] for f in report["functions"]} == {AIR_FOR_MACOS[version]}
    assert all(f["type"] == "kernel" for f in report["functions"])
    assert [m["function"] for m in report["modules"]] == [f["name"] for f in report["functions"]]


def test_the_pipe_from_the_brief_stdin_to_metallib(tmp_path: Path) -> None:
    """``clang ... -o - | llvm-to-air - -o k.metallib``: input from stdin, library out."""
    out = tmp_path / "k.metallib"
    result = subprocess.run([sys.executable, "-m", "llvm_to_air", "-", "-o", str(out)],
                            input=(FIXTURES / "cuda19-O2" / "vadd.ll").read_bytes(),
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    [entry] = read_metallib(out.read_bytes()).functions
    assert entry.name == "_Z4vaddPKfS0_Pfi"
