"""A progress indication for people: shown on a terminal when a job takes over a second.

Nothing is printed when stderr is not a terminal (pipes, CI logs, tests), and
nothing at all for quick jobs, so the common case stays silent and fast.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DELAY_SECONDS = 1.0


@contextmanager
def progress_after(description: str, size: int = 0,
                   delay: float = DELAY_SECONDS) -> Iterator[None]:
    """Show a spinner with ``description`` on stderr if the block runs longer than
    ``delay`` seconds and stderr is a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def start() -> None:
        from rich.console import Console

        with lock:
            if state.get("done"):
                return
            what = f"{description} ({size / 1e6:.1f} MB)" if size >= 1_000_000 else description
            status = Console(stderr=True).status(what)
            status.start()
            state["status"] = status

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            status = state.get("status")
        if status is not None:
            status.stop()


__all__ = ["progress_after"]
