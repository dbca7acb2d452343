"""A compile session: what several compiles in one process share, held by the caller.

``llvm_to_air.compile(source)`` alone forks a child process to run LLVM on each input
(:mod:`llvm_to_air.ir.isolate`), which costs milliseconds on a small kernel. A caller
that compiles many inputs holds a :class:`Session` and passes it on; its inputs are then
read by one child kept between calls (:mod:`llvm_to_air.ir.worker`), with the same
protection and the same output::

    with llvm_to_air.Session() as session:
        for path in paths:
            llvm_to_air.compile(path, emit="metallib", session=session)

Packaging keeps what it wrote that depends on content alone (whole bitcode blocks, symbol
names, string records; :class:`~llvm_to_air.bitcode.options.ContentCache`) in the session
too, so a later compile copies it. Nothing is global: two sessions share nothing, and
leaving the ``with`` block (or :meth:`Session.close`) ends the session's child process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvm_to_air.ir.worker import LLVMWorker

if TYPE_CHECKING:
    from llvm_to_air.bitcode.options import ContentCache

# Entries a session's content cache may hold before it starts a fresh one (a library's
# worth of blocks and names; bounds a long session's memory).
_CONTENT_LIMIT = 50_000


class Session:
    """Holds the child process that runs LLVM for this session's compiles.

    The child starts on the first compile; one that LLVM kills is replaced on the next.
    A session may be used from several threads (their reads take turns).
    """

    def __init__(self) -> None:
        self.worker = LLVMWorker()
        self._content: ContentCache | None = None

    def packaging_content(self) -> ContentCache:
        """What packaging wrote that depends on content alone (blocks, names, string
        records), kept between this session's compiles: a later compile copies them
        instead of writing them again, and its bytes are the same."""
        from llvm_to_air.bitcode.options import ContentCache

        if self._content is None or self._content.size() > _CONTENT_LIMIT:
            self._content = ContentCache()
        return self._content

    def close(self) -> None:
        """End the child process; a later compile with this session starts a new one."""
        self.worker.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Session"]
