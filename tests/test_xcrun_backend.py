"""The xcrun back end, driven against a stand-in ``xcrun`` that checks its arguments.

This covers our command lines and error handling without a Mac; it cannot show
that Apple's tools accept our text (the README says so).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from oracles import FIXTURES

FAKE_XCRUN = r"""#!/usr/bin/env python3
import sys, pathlib
log = pathlib.Path(__file__).with_name("xcrun.log")
args = sys.argv[1:]
with log.open("a") as f:
    f.write(" ".join(args) + "\n")
assert args[:2] == ["-sdk", "macosx"], args
rest = args[2:]
if rest == ["--find", "metal"]:
    if MODE == "no-metal":
        sys.exit(1)
    print("/fake/metal"); sys.exit(0)
tool = rest[0]
if MODE == "no-metal":
    sys.stderr.write('xcrun: error: unable to find utility "metal", not a developer tool or in PATH\n')
    sys.exit(72)
if tool == "metal":
    assert rest[1:4] == ["-c", "-x", "ir"], rest
    source, out = rest[4], rest[rest.index("-o") + 1]
    text = pathlib.Path(source).read_text()
    assert 'target triple = "air64-apple-macosx' in text and "!air.kernel" in text
    if MODE == "reject":
        sys.stderr.write(source + ":1:1: error: invalid AIR\n"); sys.exit(1)
    pathlib.Path(out).write_bytes(b"FAKEAIR:" + source.encode())
elif tool == "metallib":
    out = rest[rest.index("-o") + 1]
    inputs = [a for a in rest[1:rest.index("-o")]]
    assert all(pathlib.Path(i).read_bytes().startswith(b"FAKEAIR:") for i in inputs)
    pathlib.Path(out).write_bytes(b"FAKELIB:" + str(len(inputs)).encode())
else:
    sys.exit(2)
"""


def fake_xcrun(tmp_path: Path, mode: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "xcrun"
    script.write_text(FAKE_XCRUN.replace("MODE", repr(mode)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], env=env,
                          capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize("toolchain", ["xcrun", "auto"])
def test_xcrun_builds_the_library_from_our_llvm14_text(tmp_path: Path, toolchain: str) -> None:
    env = fake_xcrun(tmp_path, "ok")
    out = tmp_path / "k.metallib"
    result = run([str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o", str(out), "--toolchain",
                  toolchain], env)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes() == b"FAKELIB:1"
    log = (tmp_path / "bin" / "xcrun.log").read_text().splitlines()
    assert any(line.startswith("-sdk macosx metal -c -x ir ") for line in log)
    assert any(line.startswith("-sdk macosx metallib ") for line in log)


def test_auto_falls_back_to_native_without_metal(tmp_path: Path) -> None:
    env = fake_xcrun(tmp_path, "no-metal")
    out = tmp_path / "k.metallib"
    result = run([str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o", str(out), "--toolchain",
                  "auto"], env)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes().startswith(b"MTLB")


def test_missing_metal_is_a_clear_error(tmp_path: Path) -> None:
    env = fake_xcrun(tmp_path, "no-metal")
    out = tmp_path / "k.metallib"
    result = run([str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o", str(out), "--toolchain",
                  "xcrun"], env)
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert "xcodebuild -downloadComponent MetalToolchain" in err
    assert not out.exists()


def test_rejection_by_metal_is_reported(tmp_path: Path) -> None:
    env = fake_xcrun(tmp_path, "reject")
    result = run([str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o", str(tmp_path / "k.air"),
                  "--toolchain", "xcrun"], env)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "xcrun metal failed" in err and "invalid AIR" in err


def test_no_xcrun_at_all(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "llvm_to_air",
                             str(FIXTURES / "cuda19-O2" / "vadd.ll"), "-o",
                             str(tmp_path / "k.metallib"), "--toolchain", "xcrun"], env=env,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "'xcrun' was not found" in result.stderr.decode()
