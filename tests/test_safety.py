"""The command-line contract: outputs, signals, no process death, a safe runner.

Every test drives the real console entry point (``python -m llvm_to_air``) in a
temporary directory, except where the in-process API is the thing under test
(an input that aborted LLVM would then kill pytest itself).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from oracles import FIXTURES, REFERENCE

import llvm_to_air
from llvm_to_air import CompileError

REPO = Path(__file__).resolve().parents[1]
VADD = REPO / "examples" / "vadd.ll"
BENCHMARKS = REPO / "benchmarks"


def cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "llvm_to_air", *args], input=stdin,
                          capture_output=True, timeout=timeout, check=False, cwd=cwd, env=env)


def one_error(result: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], err
    return lines[0]


# ------------------------------------------------------------------ outputs


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a character device needs root")
def test_a_character_device_output_is_written_not_replaced(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    for suffix_emit in ("ll", "air", "metallib"):
        result = cli(str(VADD), "--emit", suffix_emit, "-o", str(null))
        assert result.returncode == 0, result.stderr.decode()
        assert stat.S_ISCHR(os.stat(null).st_mode), "the device was replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_fifo_output_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = cli(str(VADD), "-o", str(fifo))
    out, _ = reader.communicate(timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert out.startswith(b"source_filename")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_stdout_is_written_through(tmp_path: Path) -> None:
    result = cli(str(VADD), "-o", "/dev/stdout")
    assert result.returncode == 0 and result.stdout.startswith(b"source_filename")


def test_outputs_get_the_umask_mode_and_existing_files_keep_theirs(tmp_path: Path) -> None:
    out = tmp_path / "k.metallib"
    old = os.umask(0o022)
    try:
        assert cli(str(VADD), "-o", str(out)).returncode == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o600)
        assert cli(str(VADD), "-o", str(out)).returncode == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_link_to_a_regular_file_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.ll"
    link = tmp_path / "link.ll"
    link.symlink_to(real.name)
    assert cli(str(VADD), "-o", str(link)).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("source_filename")


@pytest.mark.parametrize("command", [[], ["downgrade"]])
def test_a_directory_or_missing_directory_as_output_is_an_error(command: list[str],
                                                                tmp_path: Path) -> None:
    one_error(cli(*command, str(VADD), "-o", str(tmp_path)), str(tmp_path), "is a directory")
    missing = tmp_path / "no" / "k.ll"
    one_error(cli(*command, str(VADD), "-o", str(missing)), "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_stdin_and_stdout_as_clang(tmp_path: Path) -> None:
    result = cli("-", "-o", "-", stdin=VADD.read_bytes())
    assert result.returncode == 0 and b"!air.kernel" in result.stdout


def _big_module(tmp_path: Path) -> Path:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from gen_module import generate
    finally:
        sys.path.remove(str(BENCHMARKS))
    path = tmp_path / "big.ll"
    path.write_text(generate(60_000, cc="ptx_kernel "))
    return path


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_during_a_compile_exit_with_their_status_and_leave_no_file(
        sig: int, status: int, tmp_path: Path) -> None:
    big = _big_module(tmp_path)
    out = tmp_path / "out" / "big.metallib"
    out.parent.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "llvm_to_air", str(big), "-o", str(out)],
                               stderr=subprocess.PIPE, env=env)
    time.sleep(1.5)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err.decode()
    assert b"Traceback" not in err
    assert list(out.parent.iterdir()) == []


# ------------------------------------------------------ no death from input

ABORTING_TEXT = {
    # LLVM's intrinsic upgrader asserts on these instead of reporting them
    "barrier0 returning i32": ("define void @k(ptr %p) {\n  %x = call i32 @llvm.nvvm.barrier0()\n"
                               "  store i32 %x, ptr %p\n  ret void\n}\n", "llvm.nvvm.barrier0"),
    "bar.sync with i33": ("declare void @llvm.nvvm.bar.sync(i33)\ndefine void @k() {\n"
                          "  call void @llvm.nvvm.bar.sync(i33 0)\n  ret void\n}\n",
                          "llvm.nvvm.bar.sync"),
    "2^31-element shuffle": ("define <4 x i32> @k(<4 x i32> %a) {\n  %s = shufflevector <4 x i32>"
                             " %a, <4 x i32> %a, <2147483648 x i32> zeroinitializer\n"
                             "  ret <4 x i32> %a\n}\n", "too large"),
}


@pytest.mark.parametrize("name", sorted(ABORTING_TEXT))
def test_inputs_that_abort_llvm_are_located_errors(name: str, tmp_path: Path) -> None:
    text, words = ABORTING_TEXT[name]
    source = tmp_path / "k.ll"
    source.write_text(text)
    one_error(cli(str(source), "-o", str(tmp_path / "k.metallib")), f"{source}:", words)
    # the API raises; it would have killed this very process before
    with pytest.raises(CompileError, match="error"):
        llvm_to_air.compile(text, "k.ll")


def test_llvm_dying_in_the_child_is_reported_not_fatal() -> None:
    """Below the pre-checks, LLVM itself: its abort ends the child, not us."""
    from llvm_to_air.ir.isolate import call_isolated
    from llvm_to_air.ir.reader import _normalize_in_process

    text = ABORTING_TEXT["barrier0 returning i32"][0]
    with pytest.raises(CompileError, match=r"LLVM failed while reading the input \(SIGABRT\)"):
        call_isolated(_normalize_in_process, text, "k.ll", file="k.ll", what="reading the input")
    shuffle = ABORTING_TEXT["2^31-element shuffle"][0]
    with pytest.raises(CompileError, match=r"out of memory|failed"):
        call_isolated(_normalize_in_process, shuffle, "k.ll", file="k.ll",
                      what="reading the input", input_size=len(shuffle))


def _corruptions(data: bytes, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            position = int(rng.integers(4, len(mutated)))
            mutated[position] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            mutated = mutated[:int(rng.integers(8, len(mutated)))]
        out.append(bytes(mutated))
    return out


def test_corrupt_bitcode_and_metallibs_never_kill_the_api() -> None:
    """In-process on purpose: every corrupt input must come back as a CompileError."""
    air = llvm_to_air.compile(VADD, emit="air").output
    library = llvm_to_air.compile(VADD, emit="metallib").output
    assert isinstance(air, bytes) and isinstance(library, bytes)
    outcomes = {"ok": 0, "error": 0}
    for data in _corruptions(air, 40, 1) + _corruptions(library, 40, 2):
        try:
            llvm_to_air.compile(data, "k.bin", emit="metallib")
            outcomes["ok"] += 1
        except CompileError as error:
            assert "internal error" not in error.message
            outcomes["error"] += 1
    assert outcomes["error"] > 40, outcomes


def test_dis_of_a_metallib_with_corrupt_module_bytes(tmp_path: Path) -> None:
    library = bytearray(llvm_to_air.compile(VADD, emit="metallib").output)
    start = library.find(b"\xde\xc0\x17\x0b")
    library[start + 40:start + 200] = bytes(range(160))
    path = tmp_path / "bad.metallib"
    path.write_bytes(bytes(library))
    one_error(cli("dis", str(path)), str(path))


# ------------------------------------------------------------- safe runner

OOB_CUDA = FIXTURES / "cuda19-O0" / "vadd.ll"


def vadd_arrays(n: int) -> dict[int, np.ndarray]:
    return {0: np.arange(n, dtype=np.float32), 1: np.ones(n, np.float32),
            2: np.zeros(n, np.float32), 3: np.int32(2 * n)}


def test_out_of_bounds_is_caught_by_default_and_no_array_changes() -> None:
    buffers = vadd_arrays(100)
    with pytest.raises(CompileError) as info:
        llvm_to_air.run(VADD, "vadd", 200, 64, buffers)
    message = str(info.value)
    assert "out-of-bounds load" in message and "buffer index 0" in message
    assert f"{VADD}:21:" in message, "the location is the input's line of the load"
    assert not buffers[2].any(), "a failed run changed the caller's array"


def test_out_of_bounds_store_neighbours_stay_intact() -> None:
    memory = np.zeros(300, np.float32)
    a, b, c = memory[:100], memory[100:200], memory[200:250]
    a[:] = 1
    b[:] = 2
    before = memory.copy()
    with pytest.raises(CompileError, match="out-of-bounds"):
        llvm_to_air.run(VADD, "vadd", 100, 32, {0: a, 1: b, 2: c, 3: np.int32(100)})
    np.testing.assert_array_equal(memory, before)


OVERALIGNED_COPY = """\
target datalayout = "e-p:64:64:64-i64:64-v16:16-v32:32-n16:32:64"
target triple = "nvptx64-nvidia-cuda"

define ptx_kernel void @copy8(ptr addrspace(1) %src, ptr addrspace(1) %dst) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %o = mul i32 %t, 8
  %p = getelementptr float, ptr addrspace(1) %src, i32 %o
  %v = load <8 x float>, ptr addrspace(1) %p, align 32
  %q = getelementptr float, ptr addrspace(1) %dst, i32 %o
  store <8 x float> %v, ptr addrspace(1) %q, align 32
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
"""


@pytest.mark.parametrize("checked", [True, False])
def test_vector_access_more_aligned_than_the_array_runs(checked: bool) -> None:
    """A GPU buffer meets ``align 32``; a numpy view need not, and the host's aligned
    vector moves would fault (the process died before the runner relaxed them)."""
    memory = np.zeros(2 * 512 + 2, np.float32)
    src, dst = memory[1:513], memory[514:]  # 4 bytes past any 32-byte boundary
    src[:] = np.arange(512)
    llvm_to_air.run(OVERALIGNED_COPY, "copy8", 64, 64, {0: src, 1: dst}, check_bounds=checked)
    np.testing.assert_array_equal(dst, src)


def test_bitcode_input_says_it_has_no_source_lines(tmp_path: Path) -> None:
    library = tmp_path / "v.metallib"
    library.write_bytes(llvm_to_air.compile(VADD, emit="metallib").output)
    with pytest.raises(CompileError, match="bitcode has no source lines"):
        llvm_to_air.run(library, "vadd", 200, 64, vadd_arrays(100))


def _save(tmp_path: Path, n: int) -> list[str]:
    specs = []
    for index, array in vadd_arrays(n).items():
        if index == 3:
            specs += ["--buffer", f"3={2 * n}:int32"]
            continue
        np.save(tmp_path / f"{index}.npy", array)
        specs += ["--buffer", f"{index}={tmp_path / f'{index}.npy'}"]
    return specs


def test_run_cli_writes_nothing_after_a_failed_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("run", str(VADD), "--kernel", "vadd", "--grid", "200", "--threadgroup", "64",
                 *_save(tmp_path, 100), "--out-dir", str(out))
    one_error(result, "out-of-bounds load", "buffer index 0", f"{VADD}:21:")
    assert not out.exists()


def test_run_reads_stdin_and_follows_no_link_in_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "2.npy").symlink_to(victim)
    result = cli("run", "-", "--kernel", "vadd", "--grid", "100", "--threadgroup", "64",
                 *_save(tmp_path, 100)[:-2], "--buffer", "3=100:int32", "--out-dir", str(out),
                 stdin=VADD.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    assert victim.read_text() == "keep me"
    assert not (out / "2.npy").is_symlink()
    np.testing.assert_array_equal(np.load(out / "2.npy"), np.arange(100) + 1)


SPIN = """target triple = "nvptx64-nvidia-cuda"
define ptx_kernel void @spin(ptr addrspace(1) %out, i32 %n) {
entry:
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i1, %loop ]
  %v = load volatile i32, ptr addrspace(1) %out
  %v1 = add i32 %v, %tid
  store volatile i32 %v1, ptr addrspace(1) %out
  %i1 = add i32 %i, 1
  %more = icmp ult i32 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
"""


def test_ctrl_c_stops_a_run_within_a_second(tmp_path: Path) -> None:
    source = tmp_path / "spin.ll"
    source.write_text(SPIN)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "llvm_to_air", "run", str(source), "--kernel", "spin", "--grid",
         "1000000", "--threadgroup", "32", "--buffer", "0=0:int32", "--buffer", "1=100000:int32",
         "--out-dir", str(tmp_path / "o")], stderr=subprocess.PIPE, env=env)
    time.sleep(3)
    assert process.poll() is None, "the run should still be going"
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 1.5
    assert process.returncode == 130, err.decode()
    assert not (tmp_path / "o").exists()


def test_timeout_stops_a_run_and_names_it(tmp_path: Path) -> None:
    source = tmp_path / "spin.ll"
    source.write_text(SPIN)
    started = time.monotonic()
    result = cli("run", str(source), "--kernel", "spin", "--grid", "1000000", "--threadgroup",
                 "32", "--buffer", "0=0:int32", "--buffer", "1=100000:int32", "--out-dir",
                 str(tmp_path / "o"), "--timeout", "1")
    assert time.monotonic() - started < 30
    one_error(result, "did not finish within 1 s")
    with pytest.raises(CompileError, match=r"did not finish within 0\.5 s"):
        llvm_to_air.run(SPIN, "spin", 1_000_000, 32,
                        {0: np.zeros(1, np.int32), 1: np.int32(100_000)}, timeout=0.5)


@pytest.mark.parametrize(("buffers", "words"), [
    ({0: np.arange(10, dtype=">f4")}, "non-native byte order"),
    ({0: np.array([object()] * 10)}, "Python objects"),
    ({7: np.zeros(10, np.float32)}, "has no buffer at index 7"),
])
def test_bad_buffers_are_refused(buffers: dict, words: str) -> None:
    full = {**vadd_arrays(10), **buffers}
    with pytest.raises(CompileError, match=words):
        llvm_to_air.run(VADD, "vadd", 10, 10, full)


def test_grids_beyond_32_bits_are_refused() -> None:
    with pytest.raises(CompileError, match=r"32-bit|threadgroups"):
        llvm_to_air.run(VADD, "vadd", 2**32, 1, vadd_arrays(10))


def test_buffer_files_are_checked_before_loading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)})
    archive = tmp_path / "a.npz"
    np.savez(archive, x=np.zeros(3))
    big_endian = tmp_path / "be.npy"
    np.save(big_endian, np.arange(100, dtype=">f4"))
    base = ["run", str(VADD), "--kernel", "vadd", "--grid", "100", "--threadgroup", "64",
            "--buffer", "3=100:int32", "--out-dir", str(tmp_path / "o")]
    one_error(cli(*base, "--buffer", f"0={huge}"), "truncated")
    one_error(cli(*base, "--buffer", f"0={archive}"), ".npz archive")
    one_error(cli(*base, "--buffer", "0=1:object"), "not a number type")
    np.save(tmp_path / "b.npy", np.ones(100, np.float32))
    np.save(tmp_path / "c.npy", np.zeros(100, np.float32))
    ok = cli(*base, "--buffer", f"0={big_endian}", "--buffer", f"1={tmp_path / 'b.npy'}",
             "--buffer", f"2={tmp_path / 'c.npy'}")
    assert ok.returncode == 0, ok.stderr.decode()
    np.testing.assert_array_equal(np.load(tmp_path / "o" / "2.npy"), np.arange(100) + 1)


@pytest.mark.skipif(not (REFERENCE / "apple-metallib" / "constants.14.metallib").exists(),
                    reason="the Apple reference corpus (../shared/reference) is absent")
def test_run_on_apple_function_constants_is_a_clear_error(tmp_path: Path) -> None:
    library = REFERENCE / "apple-metallib" / "constants.14.metallib"
    one_error(cli("run", str(library), "--kernel", "vadd", "--grid", "4", "--threadgroup", "4",
                  "--out-dir", str(tmp_path / "o")), "function constants")


# ------------------------------------------------------- internal errors

CASES = {
    "call arity differs from declaration": (
        'target triple = "nvptx64-nvidia-cuda"\ndeclare void @helper(ptr)\n'
        "define ptx_kernel void @k(ptr addrspace(1) %p) {\n  call void @helper(ptr null, i32 3)\n"
        "  ret void\n}\n", ":4:3:", "does not match its declaration"),
    "ockl size without dimension": (
        'target triple = "amdgcn-amd-amdhsa"\ndeclare i64 @__ockl_get_local_size()\n'
        "define amdgpu_kernel void @k(ptr addrspace(1) %p) {\n"
        "  %s = call i64 @__ockl_get_local_size()\n  %t = trunc i64 %s to i32\n"
        "  store i32 %t, ptr addrspace(1) %p\n  ret void\n}\n", ":4:", "dimension"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_former_internal_errors_are_located(name: str, tmp_path: Path) -> None:
    text, where, words = CASES[name]
    source = tmp_path / "k.ll"
    source.write_text(text)
    one_error(cli(str(source), "-o", str(tmp_path / "k.ll.out")), f"{source}{where}", words)


def test_non_utf8_kernel_names_are_refused_with_a_way_out(tmp_path: Path) -> None:
    source = tmp_path / "k.ll"
    source.write_text('target triple = "nvptx64-nvidia-cuda"\n'
                      'define ptx_kernel void @"k\\FF"(ptr addrspace(1) %p) {\n'
                      "  store i32 1, ptr addrspace(1) %p\n  ret void\n}\n")
    one_error(cli(str(source), "-o", str(tmp_path / "k.metallib")), f"{source}:2:1:",
              "not valid UTF-8", "--rename 'k\\FF=NEW'")
    assert not (tmp_path / "k.metallib").exists()
    renamed = cli(str(source), "--rename", "k\\FF=k", "-o", str(tmp_path / "k.metallib"))
    assert renamed.returncode == 0, renamed.stderr.decode()


def test_escaped_named_metadata_is_read(tmp_path: Path) -> None:
    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "define ptx_kernel void @k(ptr addrspace(1) %p) {\n"
            "  store i32 1, ptr addrspace(1) %p\n  ret void\n}\n!my\\5Cmd = !{!0}\n"
            "!0 = !{i32 1}\n")
    assert "!my\\5Cmd = !{!0}" in llvm_to_air.ir.downgrade(text)
    assert llvm_to_air.compile(text).kernels


def test_errors_never_show_a_placeholder_file(tmp_path: Path) -> None:
    source = tmp_path / "k.ll"
    source.write_text(CASES["call arity differs from declaration"][0])
    for result in (cli(str(source)), cli("-", stdin=source.read_bytes())):
        assert "<input>" not in result.stderr.decode()


# ------------------------------------------------------- names and the API


def test_kernel_and_rename_take_the_source_name(tmp_path: Path) -> None:
    result = llvm_to_air.compile(VADD, kernels=["vadd"], renames={"vadd": "add_vectors"})
    assert [k.name for k in result.kernels] == ["add_vectors"]
    result = cli(str(VADD), "--kernel", "vadd", "--rename", "vadd=add", "-o",
                 str(tmp_path / "k.metallib"))
    assert result.returncode == 0, result.stderr.decode()
    one_error(cli(str(VADD), "--kernel", "nope", "-o", str(tmp_path / "k.ll")), "nope")


def test_the_api_takes_paths_bytes_and_text_alike() -> None:
    import inspect

    by_path = llvm_to_air.compile(VADD).output
    assert llvm_to_air.compile(str(VADD)).output == by_path
    assert llvm_to_air.compile(VADD.read_bytes(), str(VADD)).output == by_path
    assert llvm_to_air.compile(VADD.read_text(), str(VADD)).output == by_path
    assert "source" in inspect.signature(llvm_to_air.compile).parameters
    assert "timeout" in inspect.signature(llvm_to_air.run).parameters


# --------------------------------------------------- clang conventions


def test_clang_conventions(tmp_path: Path) -> None:
    assert cli("--version").stdout.startswith(b"llvm-to-air, version")
    line = one_error(cli("-emit-llvm", str(VADD)), "'-emit-llvm'", "clang flag")
    assert "No such option" not in line
    warns = FIXTURES / "opencl19" / "sizes.ll"  # get_work_dim() gives a warning
    noisy = cli(str(warns), "-o", str(tmp_path / "a.ll"))
    assert noisy.returncode == 0 and b"warning:" in noisy.stderr
    assert cli(str(warns), "-w", "-o", str(tmp_path / "b.ll")).stderr == b""
    strict = cli(str(warns), "-Werror", "-o", str(tmp_path / "c.ll"))
    assert strict.returncode == 1 and b"error:" in strict.stderr
    assert not (tmp_path / "c.ll").exists()


# -------------------------------------------- progress and tables for people


def test_progress_shows_only_on_a_terminal_after_the_delay(capsys: pytest.CaptureFixture) -> None:
    from llvm_to_air.progress import progress_after

    with progress_after("lowering big.ll", delay=0.0):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal

    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    terminal = Terminal()
    saved = sys.stderr
    sys.stderr = terminal  # type: ignore[assignment]
    try:
        with progress_after("lowering big.ll", delay=0.05):
            time.sleep(0.5)
        with progress_after("quick job", delay=5.0):
            pass
    finally:
        sys.stderr = saved
    assert "lowering big.ll" in terminal.text and "quick job" not in terminal.text


def test_tables_are_never_cut_off_a_terminal(tmp_path: Path) -> None:
    library = tmp_path / "k.metallib"
    library.write_bytes(llvm_to_air.compile(VADD, emit="metallib").output)
    result = cli("inspect", str(library))
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "thread_position_in_threadgroup" in text and "…" not in text


# ------------------------------------------------------ host modules (MLIR)


def test_a_whole_mlir_host_module_compiles_its_gpu_binary() -> None:
    result = llvm_to_air.compile(FIXTURES / "mlir-host" / "vadd_host.ll", emit="metallib")
    assert [k.name for k in result.kernels] == ["vadd"]


def test_an_offload_binary_in_a_host_module_is_found() -> None:
    from llvm_to_air.ir.embedded import IMAGE_KIND_BITCODE, _offload_images

    packed = (FIXTURES / "mlir-host" / "vadd.offload").read_bytes()
    images = _offload_images(packed)
    assert len(images) == 1 and images[0][:4] == b"BC\xc0\xde"
    assert int.from_bytes(packed[32:34], "little") == IMAGE_KIND_BITCODE
    body = "".join(f"\\{b:02X}" for b in packed)
    host = (f'@llvm.embedded.object = private constant [{len(packed)} x i8] c"{body}", '
            'section ".llvm.offloading"\n'
            "define void @main() {\n  ret void\n}\n")
    result = llvm_to_air.compile(host, "host.ll")
    assert [k.name for k in result.kernels] == ["_Z4vaddPKfS0_Pfi"]


# ------------------------------------------------------------------- traps


@pytest.mark.parametrize("variant", ["cuda19-O0", "cuda19-O2", "cuda14-O2"])
def test_a_trap_is_removed_with_a_warning_and_the_thread_ends_there(variant: str) -> None:
    source = FIXTURES / variant / "bounds_trap.ll"
    result = llvm_to_air.compile(source, emit="ll")
    assert "llvm.trap" not in result.output
    assert any("removed a call to llvm.trap" in w.message for w in result.warnings)
    x = np.arange(64, dtype=np.float32)
    # 96 threads for 64 elements: the 32 extra threads reach the trap and end
    llvm_to_air.run(source, "bounds_trap", 96, 32, {0: x, 1: np.int32(64)})
    np.testing.assert_array_equal(x, 2 * np.arange(64, dtype=np.float32))


def test_images_are_refused_by_name_not_by_recursion(tmp_path: Path) -> None:
    source = FIXTURES / "refused" / "image_copy.ll"
    line = one_error(cli(str(source), "-o", str(tmp_path / "k.metallib")), f"{source}:",
                     "read_imagei", "integer images")
    assert "nested too deeply" not in line
