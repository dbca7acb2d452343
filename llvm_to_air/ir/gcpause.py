"""Pause Python's cyclic garbage collector while building or printing a module.

Parsing a large module creates millions of small objects, most of them
long-lived; the cyclic collector would rescan them again and again (about a
quarter of the parse time). Reference counting still frees garbage at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
