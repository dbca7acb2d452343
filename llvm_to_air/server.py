"""A resident compiler: ``llvm-to-air serve`` keeps the interpreter, llvmlite and our
modules loaded, and each command run with ``LLVM_TO_AIR_SERVER=PATH`` is forked from it.

Why: a short command spends most of its time starting Python and importing llvmlite
and our modules (issue 12's start-up profile); forking a process that has done that
already costs a few milliseconds.

How a forwarded command runs (a fork server, as Android's zygote or a build daemon's
workers):

* the client (:func:`forward`, called by ``cli.main`` before it parses anything) connects
  to the Unix socket and passes its standard input, output and error as descriptors
  (``SCM_RIGHTS``) with its arguments, working directory, environment and umask;
* the server forks; the child takes those descriptors as 0, 1, 2, that directory,
  environment and umask, and runs the ordinary command line: same code, same messages,
  same outputs, terminal detection included;
* the server sends the client the child's pid, then its exit status when it ends; the
  client forwards Ctrl-C and SIGTERM to the child and exits with that status.

So the server itself never runs user input. The child runs LLVM in its own process (it
is itself the isolation, which saves a fork): if it dies of a crash signal, the client
runs the command itself, where LLVM runs isolated and the crash becomes a located error.
The client also runs the command itself, as without the variable, when no server
answers, on a system without ``fork`` or descriptor passing, or when the server runs
other code than the client would (a different interpreter, or the package's files
changed since the server started: see :func:`code_fingerprint`); a stale server exits.
The socket is created ``0600``, and on Linux a peer of another user is refused
(``SO_PEERCRED``).
"""

from __future__ import annotations

# The client half runs before every forwarded command: it imports only what is cheap
# (no hashlib, selectors or dataclasses); the server half imports the rest when it starts.
import errno
import fcntl
import json
import os
import signal
import socket
import stat
import struct
import sys
from collections.abc import Sequence

from llvm_to_air.errors import CompileError, SourceLocation

SERVER_ENV = "LLVM_TO_AIR_SERVER"
# the commands forwarded; ``serve`` itself, and anything unknown, run in the client
FORWARDED = frozenset({"compile", "downgrade", "inspect", "dis", "verify", "run"})
_WORD = struct.Struct("<q")  # every number on the wire: a little-endian int64
STALE = -1  # in place of a pid: the server runs other code than the client
_ANSWER_SECONDS = 10.0
# A child dying of one of these crashed (in LLVM, which it runs in-process to save a
# fork): the client then runs the command itself, where nothing can crash it
_CRASH_SIGNALS = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL,
                            signal.SIGFPE, signal.SIGTRAP})
_PACKAGE = os.path.dirname(os.path.realpath(__file__))


def code_fingerprint() -> str:
    """What decides which code a command runs: the interpreter and every source file of
    the package (path, size, modification time). An editable install changes files in
    place without a new version, so the version string alone would not do. (Compared
    whole, not hashed: a few kilobytes on a local socket cost less than importing
    hashlib.)"""
    lines = [sys.executable, sys.version, _PACKAGE]
    for root, dirs, files in os.walk(_PACKAGE):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(root, name))
                lines.append(f"{root}/{name} {info.st_size} {info.st_mtime_ns}")
    return "\n".join(lines)


def _command_of(argv: Sequence[str]) -> str:
    from llvm_to_air.cli import main

    first = argv[0] if argv else ""
    return first if first in main.commands else "compile"


# ------------------------------------------------------------------------- client


def forward(socket_path: str, argv: Sequence[str]) -> int | None:
    """Run ``argv`` in a child of the server at ``socket_path`` and return its exit status,
    or None when it cannot run there (the caller then runs the command itself)."""
    if (not hasattr(socket, "send_fds") or not argv
            or _command_of(argv) not in FORWARDED):
        return None
    try:  # a deleted working directory, a package file gone: run it here
        request = json.dumps({"argv": list(argv), "cwd": os.getcwd(),
                              "env": dict(os.environ), "umask": _umask(),
                              "fingerprint": code_fingerprint()}).encode()
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except (OSError, ValueError):
        return None
    with client:
        try:
            # a server that does not answer at once is stuck (stopped, overloaded): the
            # pid comes right after the fork, so until then nothing has run
            client.settimeout(_ANSWER_SECONDS)
            client.connect(socket_path)
            socket.send_fds(client, [_WORD.pack(len(request))], [0, 1, 2])
            client.sendall(request)
            pid = _read_word(client)
            client.settimeout(None)
        except OSError:
            return None
        if pid is None or pid == STALE:
            return None
        return _wait_for_child(client, pid)


def _wait_for_child(client: socket.socket, pid: int) -> int | None:
    """The child's exit status, forwarding our interrupt and termination signals to it."""

    def relay(signum: int, frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, relay)
    status = _read_word(client)
    if status is None:
        return 1  # the server died before the child's end: a failed command
    if status < 0:  # the child died of a signal
        if -status in _CRASH_SIGNALS:
            return None  # run it here: with LLVM isolated, a crash is a located error
        return 128 - status  # as a shell reports it
    return status


def _read_word(connection: socket.socket) -> int | None:
    data = b""
    while len(data) < _WORD.size:
        try:
            chunk = connection.recv(_WORD.size - len(data))
        except InterruptedError:
            continue
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return _WORD.unpack(data)[0]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------- server


class _Server:
    """The listening socket, the code it serves, and the children still running, by pid."""

    def __init__(self, listener: socket.socket, fingerprint: str) -> None:
        self.listener = listener
        self.fingerprint = fingerprint
        self.running: dict[int, socket.socket] = {}


def serve(socket_path: str, idle_timeout: float = 0.0) -> None:
    """Listen on ``socket_path`` until SIGTERM/SIGINT, a stale client, or ``idle_timeout``
    seconds (0: no limit) without a command; the socket file is removed at the end."""
    import selectors

    if not hasattr(socket, "send_fds") or not hasattr(os, "fork"):
        raise CompileError("'serve' needs a POSIX system (fork and Unix sockets)",
                           SourceLocation("llvm-to-air"))
    _preload()
    # what the server holds now is never garbage: frozen, a child's collections skip it
    # and leave its pages shared instead of touching every object (copy-on-write)
    import gc

    gc.collect()
    gc.freeze()
    listener = _listen(socket_path)
    server = _Server(listener, code_fingerprint())
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    stop: list[int] = []
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stop.append(signum))
    sys.stderr.write(f"llvm-to-air: serving on {socket_path} (pid {os.getpid()})\n")
    sys.stderr.flush()
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ)
    events.register(wake_read, selectors.EVENT_READ)
    try:
        while not stop:
            ready = events.select(idle_timeout or None)
            if not ready and not server.running:
                break  # idle for idle_timeout seconds
            for key, _ in ready:
                if key.fileobj is listener:
                    if not _accept(server, wake_read, wake_write):
                        stop.append(0)
                else:
                    _drain(wake_read)
            _reap(server)
    finally:
        signal.set_wakeup_fd(-1)
        events.close()
        listener.close()
        _remove_socket(socket_path)
        os.close(wake_read)
        os.close(wake_write)


# a CUDA kernel as clang writes it: compiling it once loads what common commands use
_WARM_UP_KERNEL = b"""\
target triple = "nvptx64-nvidia-cuda"
define void @scale(ptr %data, float %factor) {
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %index = zext i32 %tid to i64
  %slot = getelementptr inbounds float, ptr %data, i64 %index
  %value = load float, ptr %slot, align 4
  %scaled = fmul float %value, %factor
  store float %scaled, ptr %slot, align 4
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
!nvvm.annotations = !{!0}
!0 = !{ptr @scale, !"kernel", i32 1}
"""


def _preload() -> None:
    """Import and warm what commands need, so each child starts with it loaded: the
    command line, llvmlite, and one compile of a small kernel to each output kind (LLVM
    runs in its own child then, as for any compile)."""
    import llvm_to_air.cli
    import llvm_to_air.progress  # noqa: F401
    from llvm_to_air.api import compile as compile_kernel

    for emit in ("ll", "air", "metallib"):
        compile_kernel(_WARM_UP_KERNEL, emit=emit)  # type: ignore[arg-type]


def _listen(socket_path: str) -> socket.socket:
    """A listening socket at ``socket_path``, readable and writable by its owner only.

    A socket file left by a server that ended is replaced; anything else there is an
    error, as is a server that still answers."""
    try:
        mode = os.lstat(socket_path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise CompileError(f"cannot serve on '{socket_path}': it exists and is not a "
                               "socket", SourceLocation(socket_path))
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(socket_path)
        except OSError:
            os.unlink(socket_path)
        else:
            raise CompileError(f"a server already listens on '{socket_path}'",
                               SourceLocation(socket_path))
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(socket_path)
    except OSError as exc:
        listener.close()
        raise CompileError(f"cannot serve on '{socket_path}': {exc.strerror}",
                           SourceLocation(socket_path)) from None
    finally:
        os.umask(old_mask)
    listener.listen(64)
    return listener


def _remove_socket(socket_path: str) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(socket_path).st_mode):
            os.unlink(socket_path)
    except OSError:
        pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _peer_is_us(connection: socket.socket) -> bool:
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the socket's 0600 mode keeps other users out
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _accept(server: _Server, *wake_fds: int) -> bool:
    """Take one command and fork its child. False when the client runs other code."""
    try:
        connection, _ = server.listener.accept()
    except OSError:
        return True
    descriptors: list[int] = []
    try:
        connection.settimeout(10.0)  # a client that connects and says nothing
        if not _peer_is_us(connection):
            connection.close()
            return True
        header, descriptors, _, _ = socket.recv_fds(connection, _WORD.size, 3)
        if len(header) != _WORD.size or len(descriptors) != 3:
            raise OSError(errno.EPROTO, "bad request")
        size = _WORD.unpack(header)[0]
        payload = b""
        while len(payload) < size:
            chunk = connection.recv(min(size - len(payload), 1 << 20))
            if not chunk:
                raise OSError(errno.EPROTO, "short request")
            payload += chunk
        request = json.loads(payload)
        connection.settimeout(None)
    except (OSError, ValueError):
        for fd in descriptors:
            os.close(fd)
        connection.close()
        return True
    if request.get("fingerprint") != server.fingerprint:
        connection.sendall(_WORD.pack(STALE))
        connection.close()
        for fd in descriptors:
            os.close(fd)
        sys.stderr.write("llvm-to-air: a client runs other code (the package changed or "
                         "another interpreter); stopping\n")
        return False
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through its status
        _run_child(request, descriptors, [server.listener, *server.running.values()],
                   wake_fds)
    for fd in descriptors:
        os.close(fd)
    try:
        connection.sendall(_WORD.pack(pid))
    except OSError:
        pass  # the client went away; the child still runs to its end
    server.running[pid] = connection
    return True


def _reap(server: _Server) -> None:
    """Send each ended child's exit status to its client."""
    while server.running:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = server.running.pop(pid, None)
        if connection is None:
            continue
        try:  # negative: the signal that ended it
            connection.sendall(_WORD.pack(os.waitstatus_to_exitcode(wait_status)))
        except OSError:
            pass
        connection.close()


def _run_child(request: dict[str, object], descriptors: list[int],
               inherited: list[socket.socket], wake_fds: tuple[int, ...]) -> None:
    """In the forked child: become the client's command and exit with its status."""
    status = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sock in inherited:
            sock.close()
        for fd in wake_fds:
            os.close(fd)
        # move them above 2 first: one received as 0-2 must not be overwritten
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in descriptors]
        for fd in descriptors:
            os.close(fd)
        for target, fd in enumerate(moved):
            os.dup2(fd, target)
            os.close(fd)
        _reopen_standard_streams()
        env = dict(request["env"])  # type: ignore[call-overload]
        env.pop(SERVER_ENV, None)  # the child runs the command, it does not forward it
        # LLVM runs in this process, not in one more fork: this whole process is the
        # isolation, and the client reruns a command whose child crashed
        env["LLVM_TO_AIR_NO_ISOLATION"] = "1"
        os.environ.clear()
        os.environ.update(env)
        os.umask(int(request["umask"]))  # type: ignore[call-overload]
        os.chdir(str(request["cwd"]))
        argv = [str(arg) for arg in request["argv"]]  # type: ignore[attr-defined]
        sys.argv = ["llvm-to-air", *argv]
        from llvm_to_air.cli import main

        try:
            main(argv)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        try:
            os.write(2, f"llvm-to-air: error: the resident compiler failed: {exc}\n".encode())
        except OSError:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(status)


def _reopen_standard_streams() -> None:
    """New ``sys.std*`` objects over descriptors 0-2, buffered as Python buffers them at
    start (line-buffered on a terminal)."""
    encoding = sys.stdout.encoding if sys.stdout else "utf-8"
    sys.stdin = open(0, encoding=encoding, closefd=False)
    sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1,
                      encoding=encoding, closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding=encoding,
                      errors="backslashreplace", closefd=False)
