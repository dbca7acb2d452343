"""Running LLVM on untrusted input in a child process, so that it cannot kill us.

llvmlite's LLVM is built with assertions: malformed input (a corrupt bitcode
file, an intrinsic called with the wrong signature, broken debug info) can
end in ``abort()`` or ``LLVM ERROR`` inside LLVM, and huge constructs (a
``shufflevector`` with a 2^31-element mask) can exhaust memory. Both would end
the process: the command line, or the host program that called the API.

:func:`call_isolated` runs such a call in a ``fork()``-ed child with a memory
ceiling; the child sends back the (pickled) result or the ``CompileError``
it raised. If the child dies instead, the caller gets a ``CompileError``
naming what LLVM said before it died. The child shares the parent's loaded
modules (llvmlite is imported before the fork), so the cost is one fork and
one copy of the result through a pipe: a few milliseconds on a small kernel
(see the README's figures).

Where ``fork`` does not exist (Windows) the call runs in this process.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

from llvm_to_air.errors import CompileError, SourceLocation

T = TypeVar("T")

# The child may use this much address space beyond what the parent already maps, plus
# a multiple of the input's size: ample for LLVM on any real module, far below a
# machine's memory for an input that asks LLVM for gigabytes.
MEMORY_HEADROOM = 2 << 30
MEMORY_PER_INPUT_BYTE = 64
_OK, _RAISED = b"O", b"E"


def _address_space_in_use() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_memory(input_size: int) -> None:
    try:
        import resource
    except ImportError:
        return
    in_use = _address_space_in_use()
    if not in_use:
        return  # no way to know the baseline (macOS): leave the limit alone
    limit = in_use + MEMORY_HEADROOM + MEMORY_PER_INPUT_BYTE * input_size
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def run_for_parent(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bytes, bool]:
    """``func(*args)``'s outcome as the parent reads it back: ``_OK`` and the pickled
    result, or ``_RAISED`` and the pickled ``CompileError`` (our own failures made into
    one, so that the parent never unpickles anything but a result or a CompileError);
    and whether this process is still sound (False after running out of memory or
    stack, or a bug of ours: a process kept for more calls should end)."""
    try:
        return _OK + pickle.dumps(func(*args), protocol=pickle.HIGHEST_PROTOCOL), True
    except CompileError as exc:
        error, sound = exc, True
    except MemoryError:
        error, sound = CompileError("out of memory while LLVM read the input"), False
    except RecursionError:
        error, sound = CompileError("input is nested too deeply to process"), False
    except Exception as exc:  # a bug of ours: reported like any internal error
        error = CompileError(f"internal error: {type(exc).__name__}: {str(exc)[:200]}",
                             hint="please report this with the input")
        sound = False
    return _RAISED + pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL), sound


def outcome_of(data: bytes) -> Any:
    """The result that :func:`run_for_parent` sent; raises the CompileError it sent."""
    value = pickle.loads(data[1:])
    if data[:1] == _RAISED:
        raise value
    return value


def prepare_child(err_fd: int) -> None:
    """In a fresh child: LLVM's abort expected, signals default, stderr to ``err_fd``."""
    import faulthandler

    faulthandler.disable()  # LLVM's abort is expected here: no Python dump of it
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.dup2(err_fd, 2)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child(write_fd: int, err_fd: int, func: Callable[..., Any], args: tuple[Any, ...],
           input_size: int) -> None:
    """Run in the forked child: never returns."""
    status = 0
    try:
        prepare_child(err_fd)
        limit_memory(input_size)
        write_all(write_fd, run_for_parent(func, args)[0])
    except BaseException:
        status = 70
    finally:
        os._exit(status)


def call_isolated(func: Callable[..., T], *args: Any, file: str, what: str,
                  input_size: int = 0) -> T:
    """``func(*args)`` run in a child process; a ``CompileError`` if the child dies.

    ``what`` says what LLVM was doing ("reading the input"), for the message.
    """
    if not hasattr(os, "fork") or os.environ.get("LLVM_TO_AIR_NO_ISOLATION"):
        return func(*args)
    read_fd, write_fd = os.pipe()
    err_file = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        _child(write_fd, err_file.fileno(), func, args, input_size)
    os.close(write_fd)
    chunks: list[bytes] = []
    try:
        with os.fdopen(read_fd, "rb") as reader:
            while chunk := reader.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # Ctrl-C or SIGTERM while LLVM works: stop the child, then let the caller unwind
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
        err_file.close()
        raise
    data = b"".join(chunks)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and data[:1] in (_OK, _RAISED):
        err_file.close()
        return outcome_of(data)  # type: ignore[no-any-return]
    said = last_output(err_file.fileno())
    err_file.close()
    raise death_error(status, said, file, what)


def last_output(err_fd: int) -> str:
    """What the child wrote to its stderr (the file at ``err_fd``), its first 64 KiB."""
    return os.pread(err_fd, 64 * 1024, 0).decode("utf-8", "replace")


def death_error(status: int, said: str, file: str, what: str) -> CompileError:
    """A CompileError for a child that LLVM killed: its last words, made readable."""
    reason = _last_words(said)
    if os.WIFSIGNALED(status):
        how = signal.Signals(os.WTERMSIG(status)).name
    else:
        how = f"exit status {os.WEXITSTATUS(status)}"
    if "bad_alloc" in said or "out of memory" in said.lower() or "Cannot allocate" in said:
        return CompileError(f"LLVM ran out of memory while {what}: the input asks for more "
                            "than this tool allows", SourceLocation(file),
                            hint="look for huge vector or array types in the input")
    message = f"LLVM failed while {what} ({how})"
    if reason:
        message += f": {reason}"
    return CompileError(message, SourceLocation(file),
                        hint="the input is malformed in a way LLVM does not diagnose; check "
                             "it with llvm-as or opt -passes=verify")


def _last_words(said: str) -> str:
    for line in said.splitlines():
        line = line.strip()
        if "Assertion `" in line:
            text = line[line.index("Assertion `"):]
            quoted = text.split('&& "', 1)
            return quoted[1].split('"', 1)[0] if len(quoted) > 1 else text[:200]
        if line.startswith("LLVM ERROR:"):
            return line.removeprefix("LLVM ERROR:").strip()[:200]
    return ""


__all__ = ["call_isolated", "death_error", "limit_memory", "outcome_of",
           "run_for_parent"]
