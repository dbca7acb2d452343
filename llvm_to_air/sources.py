"""What the Python API accepts as an input, the same way in every function.

* ``os.PathLike`` (``pathlib.Path``): a file to read.
* ``bytes``: the contents of a file (LLVM IR text, bitcode, ``.air`` or ``.metallib``).
* ``str``: a path when it is one line naming an existing file, or one line with neither
  ``{`` nor ``=`` (no LLVM module is written without them); else LLVM IR text.
"""

from __future__ import annotations

import os

from llvm_to_air.errors import CompileError, SourceLocation

Source = str | bytes | os.PathLike


def is_path(source: object) -> bool:
    if isinstance(source, os.PathLike):
        return True
    if not isinstance(source, str) or "\n" in source or not 0 < len(source) < 4096:
        return False
    return os.path.isfile(source) or ("{" not in source and "=" not in source)


def read_source(source: Source, file: str | None = None) -> tuple[str | bytes, str]:
    """The input's contents and the name diagnostics use for it."""
    if is_path(source):
        path = os.fspath(source)  # type: ignore[arg-type]
        if os.path.isdir(path):
            raise CompileError("cannot read input: it is a directory", SourceLocation(path))
        try:
            with open(path, "rb") as handle:
                return handle.read(), file or path
        except OSError as exc:
            raise CompileError(f"cannot read input: {exc.strerror}",
                               SourceLocation(path)) from None
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), file or "<input>"
    if isinstance(source, str):
        return source, file or "<input>"
    raise CompileError(f"an input is a path, bytes or LLVM IR text, not "
                       f"{type(source).__name__}")


__all__ = ["Source", "is_path", "read_source"]
