"""Writing outputs the way a compiler does.

* ``-`` is standard output.
* A path that names something other than a regular file (a character device
  such as ``/dev/null``, a FIFO, ``/dev/stdout``, a socket) is opened and
  written in place: it is never replaced. (Renaming a temporary file over
  ``/dev/null`` as root would break the machine.)
* A regular file, or a new one, is written atomically: a temporary file
  beside the target, renamed into place on success, so a failed or killed
  run never leaves half a file. The new file gets the mode a plain
  ``open()`` would give it: an existing file's own mode, else ``0666`` less
  the umask (``mkstemp``'s ``0600`` would hide the output from other users).
* A symbolic link to a regular file keeps the link: its target is replaced.
* A directory, or a path whose directory does not exist or is not
  writable, is a :class:`CompileError` naming the path.

:func:`remove_stale` follows clang: a failed compile removes an old regular
file at ``-o`` so that a build system never sees a stale output as fresh.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from llvm_to_air.errors import CompileError, SourceLocation

STDIO = "-"


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _error(path: str, what: str, exc: OSError | None = None) -> CompileError:
    reason = f": {exc.strerror}" if exc is not None and exc.strerror else ""
    return CompileError(f"cannot write output '{path}'{what}{reason}", SourceLocation(path))


def _is_special(path: str) -> bool:
    """True when ``path`` exists and is not a regular file or directory (follows links)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_output(path: str, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (``-`` is stdout), as the module docstring says."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if path == STDIO:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    if os.path.isdir(path):
        raise CompileError(f"cannot write output '{path}': it is a directory",
                           SourceLocation(path), hint="give a file name with -o")
    if _is_special(path):
        _write_in_place(path, payload)
        return
    _write_atomically(Path(os.path.realpath(path)) if os.path.islink(path) else Path(path),
                      payload, path)


def _write_in_place(path: str, payload: bytes) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(payload)
    except OSError as exc:
        raise _error(path, "", exc) from None


def _write_atomically(target: Path, payload: bytes, shown: str) -> None:
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CompileError(f"cannot write output '{shown}': directory '{directory}' does "
                           "not exist", SourceLocation(shown))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _error(shown, "", exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.errno == errno.EISDIR:
            raise CompileError(f"cannot write output '{shown}': it is a directory",
                               SourceLocation(shown)) from None
        raise _error(shown, "", exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale(path: str) -> None:
    """After a failed compile, remove a regular file left at ``path`` by an earlier run."""
    if path == STDIO:
        return
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


def check_writable(path: str) -> None:
    """Fail early (before any work) when ``path`` cannot be an output."""
    if path == STDIO:
        return
    if os.path.isdir(path):
        raise CompileError(f"cannot write output '{path}': it is a directory",
                           SourceLocation(path), hint="give a file name with -o")
    if _is_special(path):
        return
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CompileError(f"cannot write output '{path}': directory '{directory}' does not "
                           "exist", SourceLocation(path))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CompileError(f"cannot write output '{path}': directory '{directory}' is not "
                           "writable", SourceLocation(path))


__all__ = ["STDIO", "check_writable", "remove_stale", "write_output"]
