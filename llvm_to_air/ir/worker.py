"""One isolated child process that runs LLVM for many calls, instead of a fork per call.

:func:`.isolate.call_isolated` forks a child for every call. Forking a process that
has llvmlite (and the caller's own data) mapped costs several milliseconds, more than
LLVM takes to read a small kernel. An :class:`LLVMWorker` forks once, on its first
call, and then sends each call to that child over a pipe. The protection stays the
same: LLVM never runs in the caller's process; the child has a memory ceiling for
each call (:func:`.isolate.limit_memory`); if LLVM kills the child, the call raises
the ``CompileError`` that :func:`.isolate.call_isolated` raises, and the next call
starts a new child.

What the child keeps between calls: only the modules it has imported. Each call
gets what the function makes of its arguments alone (the reader makes a fresh LLVM
context per module), so the same input gives the same output whatever came before.
A child that ran out of memory or stack, or hit a bug of ours, ends after its reply;
one that has answered ``calls_per_child`` calls is replaced, which bounds what LLVM
and the allocator keep.

The worker belongs to whoever holds it (:class:`llvm_to_air.session.Session`):
:meth:`LLVMWorker.close` (or leaving its ``with`` block) ends the child; one dropped
without ``close`` ends it when collected, and the child also ends by itself when the
caller's process exits (its request pipe closes).
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from llvm_to_air.ir.isolate import (
    call_isolated,
    death_error,
    last_output,
    limit_memory,
    outcome_of,
    prepare_child,
    run_for_parent,
    write_all,
)

T = TypeVar("T")

_LENGTH_BYTES = 8
_KEEP, _ENDING = b"K", b"X"  # the reply's first byte: whether the child goes on


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(_LENGTH_BYTES, "little") + payload


def _read_frame(reader: IO[bytes]) -> bytes | None:
    """One length-prefixed message, or None if the other side closed (or died) first."""
    head = reader.read(_LENGTH_BYTES)
    if len(head) < _LENGTH_BYTES:
        return None
    size = int.from_bytes(head, "little")
    body = reader.read(size)
    return body if len(body) == size else None


def _open_descriptors() -> list[int]:
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return sorted(int(name) for name in os.listdir(listing))
        except (OSError, ValueError):
            continue
    return []


def _release_inherited(keep: tuple[int, ...]) -> None:
    """Point every inherited descriptor but ``keep`` at /dev/null: a long-lived child must
    not hold the caller's files, sockets and pipes open (a reader waiting for a pipe's
    end would wait for us). The numbers stay taken, so a stale Python object of the
    parent's that closes its descriptor cannot close one of ours."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _open_descriptors():
        if fd not in keep and fd != null:
            try:
                os.dup2(null, fd)
            except OSError:
                pass
    os.close(null)


def _serve(requests: int, replies: int, err_fd: int) -> None:
    """The child's loop: one request, one reply, until the parent closes the pipe.
    Never returns."""
    status = 0
    try:
        prepare_child(err_fd)
        # Ctrl-C at a terminal reaches the whole process group: the parent decides, and
        # stops this child itself if a call was under way
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _release_inherited((requests, replies, 2))
        with os.fdopen(requests, "rb") as reader:
            while (request := _read_frame(reader)) is not None:
                func, args, input_size = pickle.loads(request)
                limit_memory(input_size)
                reply, sound = run_for_parent(func, args)
                write_all(replies, _frame((_KEEP if sound else _ENDING) + reply))
                if not sound:
                    break
    except BaseException:
        status = 70
    finally:
        os._exit(status)


@dataclass
class _Child:
    """A started child: its process id, our ends of its pipes, the file it writes to."""

    pid: int
    requests: int
    replies: IO[bytes]
    said: IO[bytes]
    calls: int = 0
    owner: int = field(default_factory=os.getpid)  # the process that forked it
    # its exit status once reaped: from then on its pid may be another process's, so
    # it is never signalled or waited for again
    status: int | None = None

    @classmethod
    def start(cls) -> _Child:
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        said = tempfile.TemporaryFile()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(requests)
            os.close(replies)
            _serve(to_child, from_child, said.fileno())
        os.close(to_child)
        os.close(from_child)
        return cls(pid, requests, os.fdopen(replies, "rb"), said)

    def has_ended(self) -> bool:
        """Whether it has exited (then reaped, its status kept)."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid != 0:
                self.status = status
        return self.status is not None

    def ask(self, request: bytes) -> bytes | None:
        """The child's reply to ``request``, or None if it died first."""
        os.ftruncate(self.said.fileno(), 0)  # its stderr shares our offset: start again
        os.lseek(self.said.fileno(), 0, os.SEEK_SET)
        self.calls += 1
        try:
            write_all(self.requests, _frame(request))
        except BrokenPipeError:
            return None
        return _read_frame(self.replies)

    def wait(self) -> int:
        """Close our ends and reap the child; its exit status."""
        os.close(self.requests)
        self.replies.close()
        if self.status is None:
            try:
                self.status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                self.status = 0
        return self.status

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.wait()
        self.said.close()

    def forget(self) -> None:
        """In a process forked from the owner: close our copies, leave the child alone
        (it is the owner's, still serving it)."""
        os.close(self.requests)
        self.replies.close()
        self.said.close()


@dataclass
class _Holder:
    """The worker's child, apart from the worker, so that a finalizer can end it."""

    child: _Child | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def own_child(self) -> _Child | None:
        """The child, if this process started it. A process forked from the one that did
        (``os.fork``, ``multiprocessing``) must neither talk to it nor end it: it lets go
        of it, and starts its own on its first call."""
        child = self.child
        if child is not None and child.owner != os.getpid():
            child.forget()
            child = self.child = None
        return child

    def stop(self) -> None:
        with self.lock:
            child, self.child = self.own_child(), None
        if child is not None:
            child.wait()  # the closed pipe ends its loop
            child.said.close()


class LLVMWorker:
    """Runs functions in one child process kept between calls; see the module docstring.

    ``calls_per_child``: calls one child answers before a new one replaces it.
    """

    def __init__(self, calls_per_child: int = 256) -> None:
        self.calls_per_child = calls_per_child
        self._holder = _Holder()
        finalizer = weakref.finalize(self, self._holder.stop)
        finalizer.atexit = False  # at exit the child sees its pipe close and ends itself

    @property
    def pid(self) -> int | None:
        """The running child's process id, None before the first call and after close."""
        child = self._holder.own_child()
        return child.pid if child is not None else None

    def call(self, func: Callable[..., T], *args: Any, file: str, what: str,
             input_size: int = 0) -> T:
        """``func(*args)`` run in the child, as :func:`.isolate.call_isolated` runs it.

        ``func`` and ``args`` are pickled (functions by name): ``func`` must be a
        module-level function.
        """
        if not hasattr(os, "fork") or os.environ.get("LLVM_TO_AIR_NO_ISOLATION"):
            return call_isolated(func, *args, file=file, what=what, input_size=input_size)
        request = pickle.dumps((func, args, input_size), protocol=pickle.HIGHEST_PROTOCOL)
        with self._holder.lock:
            return self._call(request, file, what)  # type: ignore[no-any-return]

    def _call(self, request: bytes, file: str, what: str) -> Any:
        holder = self._holder
        while True:
            child = holder.own_child()
            if child is not None and child.has_ended():
                child.kill()  # ended from outside while idle: not this input's doing
                child = None
            child = holder.child = child or _Child.start()
            try:
                reply = child.ask(request)
            except BaseException:
                # Ctrl-C or SIGTERM while LLVM works: stop the child, let the caller unwind
                holder.child = None
                child.kill()
                raise
            if reply is not None and reply[:1] == _KEEP and \
                    child.calls < self.calls_per_child:
                return outcome_of(reply[1:])
            holder.child = None
            said = last_output(child.said.fileno())
            status = child.wait()
            child.said.close()
            if reply is not None:
                return outcome_of(reply[1:])
            if child.calls == 1:
                raise death_error(status, said, file, what)
            # A child that answered earlier calls may have been killed from outside just
            # before this one: the input gets a new child, which it kills too if it is
            # the input's doing (then the error above is raised).

    def close(self) -> None:
        """End the child (if one runs); a later call starts a new one."""
        self._holder.stop()

    def __enter__(self) -> LLVMWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LLVMWorker"]
