"""Sessions (``llvm_to_air.Session``): one isolated LLVM child kept between compiles.

The child must give exactly what a fresh fork gives (same bytes, same errors), still
protect the caller from LLVM dying, start again after a death, hold none of the
caller's files, and end when the session closes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from oracles import FIXTURES
from test_safety import ABORTING_TEXT, VADD, _corruptions

import llvm_to_air
from llvm_to_air import CompileError, Session
from llvm_to_air import session as session_module
from llvm_to_air.ir.isolate import call_isolated
from llvm_to_air.ir.reader import _normalize_in_process
from llvm_to_air.ir.worker import LLVMWorker

# one input per dialect, an -O0 WMMA-free kernel, and a host module that embeds its device code
INPUTS = [FIXTURES / "cuda19-O2" / "matmul_tiled.ll", FIXTURES / "cuda19-O0" / "histogram.ll",
          FIXTURES / "cuda19-g" / "device_helper.ll", FIXTURES / "opencl19" / "vadd.ll",
          FIXTURES / "mlir-rocdl" / "elementwise_add.ll",
          FIXTURES / "mlir-host" / "vadd_host.ll"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def error_text(error: CompileError) -> str:
    return f"{error.location}: {error.message} ({error.hint})"


def outcome(source: object, file: str, session: Session | None) -> str | bytes:
    """The .metallib, or the error's text (location, message, hint)."""
    try:
        return llvm_to_air.compile(source, file, emit="metallib", session=session).output
    except CompileError as error:
        return error_text(error)


@pytest.fixture
def session() -> Session:
    with Session() as opened:
        yield opened


def test_inputs_exist() -> None:
    assert all(path.is_file() for path in INPUTS), [p for p in INPUTS if not p.is_file()]


def test_one_child_reads_every_input_and_gives_a_fresh_compiles_bytes(session: Session) -> None:
    fresh = {path: llvm_to_air.compile(path, emit="metallib").output for path in INPUTS}
    assert session.worker.pid is None  # started by the first compile, not before
    for order in (INPUTS, INPUTS[::-1]):
        for path in order:
            assert llvm_to_air.compile(path, emit="metallib", session=session).output \
                == fresh[path], path
    pid = session.worker.pid
    assert pid is not None and alive(pid)
    llvm_to_air.compile(VADD, emit="air", session=session)
    assert session.worker.pid == pid


def test_packaging_keeps_what_depends_on_content_alone_between_compiles(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = {(path, emit): llvm_to_air.compile(path, emit=emit).output
             for path in INPUTS[:3] for emit in ("metallib", "air")}
    for (path, emit), expected in [*fresh.items(), *reversed(fresh.items())]:
        assert llvm_to_air.compile(path, emit=emit, session=session).output == expected, path
    content = session.packaging_content()
    assert content.blocks and content.vst_entries  # kept for the next compile
    held = content.size()
    llvm_to_air.compile(INPUTS[0], emit="metallib", session=session)
    assert session.packaging_content() is content and content.size() == held  # all copied
    monkeypatch.setattr(session_module, "_CONTENT_LIMIT", held - 1)
    assert session.packaging_content() is not content  # past the bound: a fresh one
    assert llvm_to_air.compile(INPUTS[0], emit="metallib", session=session).output == \
        fresh[(INPUTS[0], "metallib")]


def test_llvm_dying_in_the_child_is_reported_and_the_next_call_gets_a_new_child(
        session: Session) -> None:
    worker = session.worker
    llvm_to_air.compile(VADD, emit="metallib", session=session)
    first = worker.pid
    text = ABORTING_TEXT["barrier0 returning i32"][0]
    with pytest.raises(CompileError, match=r"LLVM failed while reading the input \(SIGABRT\)"
                       ) as caught:
        worker.call(_normalize_in_process, text, "k.ll", file="k.ll", what="reading the input")
    with pytest.raises(CompileError) as forked:
        call_isolated(_normalize_in_process, text, "k.ll", file="k.ll", what="reading the input")
    assert error_text(caught.value) == error_text(forked.value)
    assert caught.value.location.file == "k.ll"
    assert worker.pid is None and first is not None and not alive(first)
    assert llvm_to_air.compile(VADD, emit="metallib", session=session).output == \
        llvm_to_air.compile(VADD, emit="metallib").output
    assert worker.pid not in (None, first)


def test_an_input_asking_llvm_for_gigabytes_ends_in_an_error_not_a_dead_session(
        session: Session) -> None:
    shuffle = ABORTING_TEXT["2^31-element shuffle"][0]
    with pytest.raises(CompileError, match=r"out of memory|failed"):
        session.worker.call(_normalize_in_process, shuffle, "k.ll", file="k.ll",
                            what="reading the input", input_size=len(shuffle))
    assert outcome(VADD, "vadd.ll", session) == outcome(VADD, "vadd.ll", None)


@pytest.mark.parametrize("name", sorted(ABORTING_TEXT))
def test_aborting_inputs_give_the_same_located_error_in_a_session(name: str,
                                                                  session: Session) -> None:
    text, words = ABORTING_TEXT[name]
    with_session = outcome(text, "k.ll", session)
    assert isinstance(with_session, str) and words in with_session
    assert with_session.startswith("k.ll:")
    assert with_session == outcome(text, "k.ll", None)


def test_corrupt_bitcode_gives_the_same_outcome_with_and_without_a_session(
        session: Session) -> None:
    air = llvm_to_air.compile(VADD, emit="air").output
    assert isinstance(air, bytes)
    corrupt = _corruptions(air, 25, 3)
    outcomes = [outcome(data, "k.air", session) for data in corrupt]
    assert outcomes == [outcome(data, "k.air", None) for data in corrupt]
    assert sum(isinstance(o, str) for o in outcomes) > 10


def test_a_child_killed_while_idle_is_replaced(session: Session) -> None:
    expected = llvm_to_air.compile(VADD, emit="metallib", session=session).output
    pid = session.worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert llvm_to_air.compile(VADD, emit="metallib", session=session).output == expected
    assert session.worker.pid != pid


def test_closing_the_session_ends_its_child() -> None:
    with Session() as session:
        llvm_to_air.compile(VADD, emit="air", session=session)
        pid = session.worker.pid
        assert pid is not None and alive(pid)
    assert session.worker.pid is None and not alive(pid)
    session.close()  # again: nothing left to end
    # a closed session starts a new child if used again
    llvm_to_air.compile(VADD, emit="air", session=session)
    assert session.worker.pid not in (None, pid)
    session.close()


def test_a_dropped_worker_ends_its_child() -> None:
    worker = LLVMWorker()
    assert worker.call(_normalize_in_process, VADD.read_text(), "v.ll", file="v.ll",
                       what="reading the input").startswith("; ModuleID")
    pid = worker.pid
    del worker
    assert pid is not None and not alive(pid)


def test_the_child_holds_none_of_the_callers_files(session: Session) -> None:
    read_end, write_end = os.pipe()
    try:
        llvm_to_air.compile(VADD, emit="air", session=session)  # forks the child now
        os.close(write_end)
        write_end = -1
        # the pipe ends when our copy closes: the child's copy was let go
        assert os.read(read_end, 1) == b""
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_threads_share_a_session(session: Session, tmp_path: Path) -> None:
    expected = {path: llvm_to_air.compile(path, emit="metallib").output for path in INPUTS[:3]}
    got: dict[Path, list[bytes]] = {path: [] for path in expected}

    def compile_all() -> None:
        for path in expected:
            got[path].append(llvm_to_air.compile(path, emit="metallib", session=session).output)

    threads = [threading.Thread(target=compile_all) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert got == {path: [data] * 3 for path, data in expected.items()}


def test_a_forked_process_leaves_the_parents_child_alone(session: Session) -> None:
    expected = llvm_to_air.compile(VADD, emit="metallib", session=session).output
    pid = session.worker.pid
    forked = os.fork()
    if forked == 0:  # pragma: no cover - runs in the forked process
        status = 1
        try:
            same = llvm_to_air.compile(VADD, emit="metallib", session=session).output
            ours = session.worker.pid
            session.close()
            status = 0 if same == expected and ours not in (None, pid) else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(forked, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # the parent's child still serves it, undisturbed
    assert session.worker.pid == pid and pid is not None and alive(pid)
    assert llvm_to_air.compile(VADD, emit="metallib", session=session).output == expected
    assert session.worker.pid == pid


class _Interrupted(Exception):
    pass


def test_an_interrupted_call_stops_the_child_and_the_next_call_starts_another(
        session: Session) -> None:
    """Ctrl-C (here: a signal handler raising) while the child works: the child is killed
    at once, the exception reaches the caller, and the session goes on."""
    worker = session.worker
    assert worker.call(_normalize_in_process, VADD.read_text(), "v.ll", file="v.ll",
                       what="reading the input")
    busy = worker.pid

    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    started = time.monotonic()
    try:
        with pytest.raises(_Interrupted):
            worker.call(time.sleep, 30, file="v.ll", what="reading the input")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    assert worker.pid is None and busy is not None and not alive(busy)
    assert outcome(VADD, "vadd.ll", session) == outcome(VADD, "vadd.ll", None)
