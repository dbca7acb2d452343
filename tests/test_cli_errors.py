"""Bad input: one compiler-style diagnostic, exit status 1, no traceback, no output file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from oracles import FIXTURES


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], input=stdin,
                          capture_output=True, timeout=120, check=False)


def assert_one_diagnostic(result: subprocess.CompletedProcess[bytes], where: str,
                          words: str) -> str:
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(where), err
    assert ": error: " in lines[0]
    assert words in lines[0], err
    return lines[0]


def syntax_error_on_line_57() -> str:
    lines = [f"; padding line {k}" for k in range(1, 54)]
    lines += ["define void @k(ptr %p) {", "entry:", "  store i32 1, ptr %p",
              "  %x = add i32 1, %undefined_value", "  ret void", "}"]
    assert lines[56].startswith("  %x")
    return "\n".join(lines) + "\n"


CASES = {
    "empty": (b"", "input is empty"),
    "whitespace": (b"  \n\n", "input is empty"),
    "binary-garbage": (bytes(range(256)) * 4, "not UTF-8"),
    "non-utf8-text": ("define void @f() {\n  ret void\n}\n; caf\xe9\n".encode("latin-1"),
                      "not UTF-8"),
    "nul-bytes": (b"define void @f() {\x00}\n", "NUL"),
    "bad-bitcode": (b"BC\xc0\xde" + b"\x00" * 40, "bitcode"),
    "bad-wrapper": (b"\xde\xc0\x17\x0b" + b"\x00" * 12, "bitcode"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_diagnostic_and_no_output(name: str, tmp_path: Path) -> None:
    data, words = CASES[name]
    source = tmp_path / "input.ll"
    source.write_bytes(data)
    out = tmp_path / "out.ll"
    result = run_cli("downgrade", str(source), "-o", str(out))
    assert_one_diagnostic(result, str(source), words)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source], "a temporary file was left behind"


def test_syntax_error_is_located_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "k.ll"
    source.write_text(syntax_error_on_line_57())
    out = tmp_path / "k14.ll"
    result = run_cli("downgrade", str(source), "-o", str(out))
    line = assert_one_diagnostic(result, f"{source}:57:", "undefined_value")
    assert line.startswith(f"{source}:57:19: error:"), line
    assert not out.exists()


def test_stdin_errors_name_stdin() -> None:
    result = run_cli("downgrade", "-", stdin=b"define void @f( {\n")
    assert_one_diagnostic(result, "<stdin>:2:1:", "expected type")


def test_missing_input_file(tmp_path: Path) -> None:
    result = run_cli("downgrade", str(tmp_path / "nope.ll"))
    assert_one_diagnostic(result, str(tmp_path / "nope.ll"), "cannot read input")


def test_construct_llvm14_cannot_express_is_named(tmp_path: Path) -> None:
    source = tmp_path / "t.ll"
    source.write_text('define void @f(target("spirv.Image", float, 0) %img) {\n  ret void\n}\n')
    result = run_cli("downgrade", str(source), "-o", str(tmp_path / "o.ll"))
    assert_one_diagnostic(result, str(source), "target extension type")
    assert not (tmp_path / "o.ll").exists()


def test_failed_run_removes_a_stale_output_as_clang_does(tmp_path: Path) -> None:
    """A build system must not take an old output for the result of a failed compile."""
    for command in ("downgrade", "compile"):
        out = tmp_path / "out.ll"
        out.write_text("previous contents\n")
        result = run_cli(command, "-", "-o", str(out), stdin=b"garbage\n")
        assert result.returncode == 1
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []


def test_success_writes_output_and_stdout(tmp_path: Path) -> None:
    fixture = FIXTURES / "cuda19-O2" / "vadd.ll"
    out = tmp_path / "vadd14.ll"
    result = run_cli("downgrade", str(fixture), "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_text().startswith('source_filename = "src/cuda/vadd.cu"')
    piped = run_cli("downgrade", "-", stdin=fixture.read_bytes())
    assert piped.returncode == 0
    assert piped.stdout.decode() == out.read_text()
