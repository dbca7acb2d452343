"""Tables for people: rich boxes on a terminal, plain aligned columns elsewhere.

Nothing is ever cut: rich shrinks a table to the terminal's width by wrapping
cells, and off a terminal (a pipe, a file, CI) there is no width to fit, so
columns are padded to their widest cell. ``--json`` stays the format for tools.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
                stream: TextIO | None = None) -> None:
    """Print one titled table to ``stream`` (default stdout)."""
    stream = stream or sys.stdout
    if stream.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console(file=stream, highlight=False).print(table)
        return
    widths = [max([len(c), *(len(r[k]) for r in rows)]) for k, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    stream.write(title + "\n")
    stream.write(line(columns).rstrip() + "\n")
    stream.write(line(["-" * w for w in widths]).rstrip() + "\n")
    for row in rows:
        stream.write(line(row).rstrip() + "\n")


__all__ = ["print_table"]
