"""Independent judges for our output: LLVM 14's own tools and llvmlite.

Each helper skips the calling test (with the reason) when its tool is missing,
except under CI (``CI`` set), where a missing tool is a failure: CI installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
REFERENCE = REPO.parent / "shared" / "reference"


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package llvm-14)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    return path


def run_tool(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120, check=False)


def llvm_as_14(text: str) -> bytes:
    """Assemble with llvm-as-14 (which also runs the verifier); fail the test on any error."""
    tool = require_tool("llvm-as-14")
    result = run_tool([tool, "-", "-o", "-"], text.encode())
    assert result.returncode == 0, "llvm-as-14 rejected our output:\n" + result.stderr.decode()
    return result.stdout


def opt_verify_14(text: str) -> None:
    """``opt-14 -passes=verify``; the triple line is dropped because opt-14 rejects ``air64``."""
    tool = require_tool("opt-14")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("target triple"))
    result = run_tool([tool, "-passes=verify", "-disable-output", "-"], body.encode())
    assert result.returncode == 0, "opt-14 -passes=verify failed:\n" + result.stderr.decode()


def llvm_dis_14(bitcode: bytes) -> str:
    tool = require_tool("llvm-dis-14")
    result = run_tool([tool, "-", "-o", "-"], bitcode)
    assert result.returncode == 0, "llvm-dis-14 failed:\n" + result.stderr.decode()
    return result.stdout.decode()


def fixture_modules() -> list[Path]:
    """Every generated and hand-written fixture module (not the sources)."""
    # refused/ holds kernels the lowering refuses by design (images): not LLVM 14 programs
    return sorted(p for p in FIXTURES.glob("*/*.ll") if p.parent.name not in ("src", "refused"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
