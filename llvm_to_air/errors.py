"""The one error type of llvm-to-air.

Every stage raises :class:`CompileError` with the best source location it
knows; only ``cli.py`` turns it into a printed diagnostic.
"""

from __future__ import annotations

from typing import NamedTuple


class SourceLocation(NamedTuple):
    """A place in an input file (1-based line and column; 0 means unknown).

    A named tuple: the parser makes one per instruction, so it must be cheap.
    """

    file: str = "<input>"
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.col <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"


class CompileError(Exception):
    """A user-facing error: bad input, or a construct we cannot translate.

    ``message`` names the construct; ``hint`` says what the user can do.
    """

    def __init__(
        self,
        message: str,
        location: SourceLocation | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or SourceLocation()
        self.hint = hint

    def __reduce__(self) -> tuple[type, tuple[str, SourceLocation, str | None]]:
        # keep location and hint through pickling (errors come back from child processes)
        return (CompileError, (self.message, self.location, self.hint))

    def with_file(self, file: str) -> CompileError:
        """The same error, located in ``file`` (for errors raised on anonymous text)."""
        loc = SourceLocation(file, self.location.line, self.location.col)
        return CompileError(self.message, loc, self.hint)

    def format(self) -> str:
        """One compiler-style line: ``file:line:col: error: message (hint)``."""
        text = f"{self.location}: error: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:
        return self.format()
