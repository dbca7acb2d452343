"""The resident compiler (``llvm-to-air serve``, ``LLVM_TO_AIR_SERVER``): a forwarded command
behaves as the same command run alone (outputs, messages, exit status, paths, stdin and
stdout, umask, Ctrl-C), and every way the server cannot run it falls back to running it
in the client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_safety import ABORTING_TEXT, SPIN

from llvm_to_air import server as server_module

REPO = Path(__file__).resolve().parents[1]
VADD = REPO / "examples" / "vadd.ll"
F64 = REPO / "tests" / "fixtures" / "cuda19-O2" / "double_kernel.ll"

pytestmark = pytest.mark.skipif(not hasattr(socket, "send_fds") or not hasattr(os, "fork"),
                                reason="the resident compiler needs fork and SCM_RIGHTS")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LLVM_TO_AIR_SERVER", "LLVM_TO_AIR_NO_ISOLATION")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def _start(socket_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "llvm_to_air", "serve", "--socket",
                                str(socket_path), *extra], env=_env(),
                               stderr=subprocess.PIPE)
    assert process.stderr is not None
    line = process.stderr.readline().decode()
    assert f"serving on {socket_path}" in line, line
    return process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """One server for the module's tests: its socket and pid."""
    socket_path = tmp_path_factory.mktemp("server") / "s.sock"
    process = _start(socket_path)
    yield socket_path, process.pid
    process.terminate()
    process.wait(timeout=30)
    assert not socket_path.exists()  # the socket file goes with the server


def _cli(args: list[str], socket_path: Path | None, **kwargs: object
         ) -> subprocess.CompletedProcess[bytes]:
    env = _env(LLVM_TO_AIR_SERVER=str(socket_path)) if socket_path else _env()
    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], env=env,
                          capture_output=True, timeout=300, check=False, **kwargs)


def test_a_forwarded_compile_writes_the_same_bytes_from_a_fork_of_the_server(
        served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    alone = _cli([str(VADD), "-o", str(tmp_path / "alone.metallib")], None)
    assert alone.returncode == 0, alone.stderr
    forwarded = _cli([str(VADD), "-o", str(tmp_path / "served.metallib")], socket_path)
    assert forwarded.returncode == 0, forwarded.stderr
    assert (tmp_path / "served.metallib").read_bytes() == \
        (tmp_path / "alone.metallib").read_bytes()
    assert forwarded.stderr == alone.stderr == b""
    # the client itself never loaded LLVM: the server's fork, which had, did the work
    traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "llvm_to_air",
                             str(VADD), "-o", str(tmp_path / "traced.metallib")],
                            env=_env(LLVM_TO_AIR_SERVER=str(socket_path)),
                            capture_output=True, timeout=300, check=True)
    assert b"llvm_to_air.server" in traced.stderr
    assert b"llvmlite" not in traced.stderr and b"llvm_to_air.api" not in traced.stderr
    assert (tmp_path / "traced.metallib").read_bytes() == (tmp_path / "alone.metallib").read_bytes()


def test_errors_are_the_same_message_and_status_and_leave_no_output(
        served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    out = tmp_path / "k.metallib"
    alone = _cli([str(F64), "-o", str(out)], None)
    forwarded = _cli([str(F64), "-o", str(out)], socket_path)
    assert alone.returncode == forwarded.returncode == 1
    assert forwarded.stderr == alone.stderr
    assert b": error: " in forwarded.stderr and b"double precision" in forwarded.stderr
    assert not out.exists()
    usage = _cli(["--no-such-flag", str(VADD)], socket_path)
    assert usage.returncode == 1 and b"unknown option '--no-such-flag'" in usage.stderr


def test_stdin_stdout_and_relative_paths_are_the_clients(served: tuple[Path, int],
                                                         tmp_path: Path) -> None:
    socket_path, _ = served
    text = VADD.read_bytes()
    piped = _cli(["-", "-o", "-"], socket_path, input=text)
    alone = _cli(["-", "-o", "-"], None, input=text)
    assert piped.returncode == 0 and piped.stdout == alone.stdout
    assert piped.stdout.startswith(b"source_filename")
    (tmp_path / "in.ll").write_bytes(text)
    relative = _cli(["in.ll", "-o", "sub/../out.air"], socket_path, cwd=tmp_path)
    assert relative.returncode == 1 and b"sub/../out.air" in relative.stderr  # no sub/
    (tmp_path / "sub").mkdir()
    relative = _cli(["in.ll", "-o", "sub/../out.air"], socket_path, cwd=tmp_path)
    assert relative.returncode == 0, relative.stderr
    assert (tmp_path / "out.air").read_bytes()[:4] == b"\xde\xc0\x17\x0b"


def test_outputs_get_the_clients_umask(served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    out = tmp_path / "k.metallib"
    subprocess.run(f"umask 077 && exec {sys.executable} -m llvm_to_air {VADD} -o {out}",
                   shell=True, env=_env(LLVM_TO_AIR_SERVER=str(socket_path)), check=True)
    assert out.stat().st_mode & 0o777 == 0o600


def test_other_commands_are_forwarded_too(served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    assert _cli([str(VADD), "-o", str(tmp_path / "k.metallib")], socket_path).returncode == 0
    alone = _cli(["inspect", str(tmp_path / "k.metallib")], None)
    forwarded = _cli(["inspect", str(tmp_path / "k.metallib")], socket_path)
    assert forwarded.returncode == alone.returncode == 0
    assert forwarded.stdout == alone.stdout and b"vadd" in forwarded.stdout


def test_a_crash_in_the_fork_reruns_the_command_in_the_client(served: tuple[Path, int],
                                                              tmp_path: Path) -> None:
    """The fork runs LLVM in-process; LLVM aborting on this input kills the fork, and the
    client then runs the command itself, with LLVM isolated: the usual located error."""
    socket_path, _ = served
    source = tmp_path / "k.ll"
    source.write_text(ABORTING_TEXT["barrier0 returning i32"][0])
    forwarded = _cli([str(source), "-o", str(tmp_path / "k.metallib")], socket_path)
    alone = _cli([str(source), "-o", str(tmp_path / "k.metallib")], None)
    assert forwarded.returncode == alone.returncode == 1
    assert forwarded.stderr == alone.stderr
    assert f"{source}:".encode() in forwarded.stderr
    assert socket_path.exists()  # the server lives on


def test_ctrl_c_reaches_the_forked_command(served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    source = tmp_path / "spin.ll"
    source.write_text(SPIN)
    process = subprocess.Popen(
        [sys.executable, "-m", "llvm_to_air", "run", str(source), "--kernel", "spin", "--grid",
         "1000000", "--threadgroup", "32", "--buffer", "0=0:int32", "--buffer",
         "1=100000:int32", "--out-dir", str(tmp_path / "o")],
        stderr=subprocess.PIPE, env=_env(LLVM_TO_AIR_SERVER=str(socket_path)))
    time.sleep(3)
    assert process.poll() is None, "the run should still be going"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err.decode()
    assert b"interrupted" in err
    assert not (tmp_path / "o").exists()


def test_without_a_server_the_client_runs_the_command_itself(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.sock"
    result = _cli([str(VADD), "-o", str(tmp_path / "k.metallib")], missing)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "k.metallib").read_bytes()[:4] == b"MTLB"
    assert not missing.exists()


def test_a_server_running_other_code_stops_and_the_client_runs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    socket_path = tmp_path / "s.sock"
    process = _start(socket_path)
    try:
        monkeypatch.setattr(server_module, "code_fingerprint", lambda: "another version")
        assert server_module.forward(str(socket_path), [str(VADD), "-o", "-"]) is None
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert b"runs other code" in err
    assert not socket_path.exists()


def test_serve_refuses_a_path_that_is_not_a_socket_and_a_live_server(
        served: tuple[Path, int], tmp_path: Path) -> None:
    socket_path, _ = served
    busy = _cli(["serve", "--socket", str(socket_path)], None)
    assert busy.returncode == 1 and b"a server already listens" in busy.stderr
    regular = tmp_path / "file"
    regular.write_text("keep me")
    refused = _cli(["serve", "--socket", str(regular)], None)
    assert refused.returncode == 1 and b"is not a socket" in refused.stderr
    assert regular.read_text() == "keep me"


def test_the_socket_is_private_and_an_idle_server_stops(tmp_path: Path) -> None:
    socket_path = tmp_path / "s.sock"
    started = time.monotonic()
    process = _start(socket_path, "--idle-timeout", "1")
    assert socket_path.stat().st_mode & 0o777 == 0o600
    assert process.wait(timeout=60) == 0
    assert time.monotonic() - started < 60
    assert not socket_path.exists()


def test_the_serve_command_is_never_forwarded_and_unknown_words_compile() -> None:
    assert "serve" not in server_module.FORWARDED
    assert server_module._command_of(["inspect", "x"]) == "inspect"
    assert server_module._command_of(["k.ll", "-o", "k.air"]) == "compile"
    assert server_module.forward("/nonexistent/socket", ["serve"]) is None
