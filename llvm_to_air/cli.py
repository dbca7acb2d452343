"""Command-line interface: ``llvm-to-air``.

The only place where :class:`CompileError` becomes a printed diagnostic.
Heavy modules (llvmlite, rich) are imported inside the commands that need
them so that ``--help`` and small jobs start fast.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from llvm_to_air import __version__
from llvm_to_air.errors import CompileError

STDIO = "-"


class DefaultCommandGroup(click.Group):
    """A group that runs ``default_command`` when the first argument names no subcommand.

    So ``llvm-to-air kernel.ll -o k.metallib`` works next to ``llvm-to-air inspect ...``.
    """

    default_command: str | None = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (self.default_command and args and args[0] not in self.commands
                and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llvm-to-air")
def main() -> None:
    """Turn GPU LLVM IR (CUDA, OpenCL, MLIR) into Apple AIR and metallibs."""


# --------------------------------------------------------------------- helpers


def read_input(path: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-`` is stdin) and the name diagnostics use for it."""
    if path == STDIO:
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        return Path(path).read_bytes(), path
    except OSError as exc:
        raise CompileError(f"cannot read input: {exc.strerror}", hint=None).with_file(path) \
            from None


def write_output(path: str, data: bytes | str) -> None:
    """Write atomically: a temporary file beside the target, renamed into place on success."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if path == STDIO:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CompileError(f"cannot write output: {exc.strerror}").with_file(path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report(error: CompileError) -> None:
    """Print one compiler-style diagnostic (coloured on a terminal) and the source line."""
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    loc = error.location
    line = Text(f"{loc}: ", style="bold")
    line.append("error: ", style="bold red")
    line.append(error.message, style="bold")
    if error.hint:
        line.append(f" ({error.hint})")
    console.print(line)


def diagnostics(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn CompileError (and any unexpected failure) into a diagnostic and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CompileError as error:
            report(error)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except RecursionError:
            report(CompileError("input is nested too deeply to process"))
            sys.exit(1)
        except Exception as exc:  # a bug of ours: still no traceback for the user
            if os.environ.get("LLVM_TO_AIR_DEBUG"):
                raise
            report(CompileError(f"internal error: {type(exc).__name__}: {exc}",
                                hint="please report this with the input; set "
                                     "LLVM_TO_AIR_DEBUG=1 for a traceback"))
            sys.exit(1)

    return wrapper


# -------------------------------------------------------------------- commands


@main.command()
@click.argument("input_path", metavar="INPUT", default=STDIO)
@click.option("-o", "--output", "output_path", default=STDIO, metavar="OUTPUT",
              help="Where to write LLVM 14 text ('-' for stdout, the default).")
@click.option("--keep-debug-info/--strip-debug-info", default=False,
              help="Keep debug-info metadata (default: strip it; LLVM 14 cannot read "
                   "every modern debug-info field).")
@diagnostics
def downgrade(input_path: str, output_path: str, keep_debug_info: bool) -> None:
    """Rewrite LLVM IR (LLVM 14 to 22 text, or bitcode) as LLVM 14 text with typed pointers.

    Only the dialect changes: no GPU lowering is done.
    """
    from llvm_to_air.ir import downgrade as downgrade_text

    data, name = read_input(input_path)
    text = downgrade_text(data, name, strip_debug=not keep_debug_info)
    write_output(output_path, text)


if __name__ == "__main__":  # pragma: no cover
    main()
