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

    default_command: str | None = "compile"

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


def report(error: CompileError, severity: str = "error") -> None:
    """Print one compiler-style diagnostic line (coloured on a terminal)."""
    if not sys.stderr.isatty():  # plain text: no rich import on the common path
        sys.stderr.write(error.format().replace(": error: ", f": {severity}: ", 1) + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    line = Text(f"{error.location}: ", style="bold")
    line.append(f"{severity}: ", style="bold red" if severity == "error" else "bold magenta")
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


EMIT_BY_SUFFIX = {".ll": "ll", ".air": "air", ".metallib": "metallib"}


def _renames(values: tuple[str, ...]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise CompileError(f"--rename expects OLD=NEW, got '{value}'")
        renames[old] = new
    return renames


def _target_names() -> list[str]:
    from llvm_to_air.metadata.target import TARGETS

    return list(TARGETS)


@main.command("compile")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("-o", "--output", "output_path", default=STDIO, metavar="OUTPUT",
              help="Output file ('-' for stdout, the default). Its suffix (.ll, .air, "
                   ".metallib) picks --emit.")
@click.option("--emit", type=click.Choice(["ll", "air", "metallib"]), default=None,
              help="Output kind: AIR as LLVM 14 text, a .air bitcode file, or a .metallib.")
@click.option("--target", default="macos14", show_default=True, metavar="TARGET",
              help="Deployment target: macos13|macos14|macos15|macos26|ios16|ios17|ios18|ios26.")
@click.option("--kernel", "kernels", multiple=True, metavar="NAME",
              help="Lower only this kernel (repeatable); also marks a plain function as one.")
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="Give a kernel another name in the output (repeatable).")
@click.option("--fast-math/--no-fast-math", default=None,
              help="Use fast math functions (default: as the input's fast-math flags say).")
@click.option("--f64", type=click.Choice(["error", "demote"]), default="error",
              show_default=True, help="double precision: an error, or computed in float.")
@click.option("--toolchain", type=click.Choice(["native", "xcrun", "auto"]), default="native",
              show_default=True, help="Package natively, with Xcode's xcrun, or xcrun if present.")
@click.option("-v", "--verbose", is_flag=True, help="Print each kernel's arguments as a table.")
@click.option("-q", "--quiet", is_flag=True, help="Print no warnings.")
@diagnostics
def compile_command(inputs: tuple[str, ...], output_path: str, emit: str | None, target: str,
                    kernels: tuple[str, ...], renames: tuple[str, ...], fast_math: bool | None,
                    f64: str, toolchain: str, verbose: bool, quiet: bool) -> None:
    """Lower GPU LLVM IR (CUDA, OpenCL, MLIR) to Apple AIR: text, .air or .metallib."""
    from llvm_to_air.api import compile_many

    if target not in _target_names():
        raise CompileError(f"unknown target '{target}'",
                           hint=f"choose one of {', '.join(_target_names())}")
    sources = [read_input(path) for path in (inputs or (STDIO,))]
    if emit is None:
        emit = EMIT_BY_SUFFIX.get(Path(output_path).suffix, "ll") if output_path != STDIO \
            else "ll"
    if emit != "ll" and output_path == STDIO and sys.stdout.isatty():
        raise CompileError(f"refusing to write a binary .{emit} to a terminal",
                           hint="give -o FILE")
    result = compile_many(sources, target=target, emit=emit,  # type: ignore[arg-type]
                          kernels=kernels, renames=_renames(renames), fast_math=fast_math,
                          f64=f64, toolchain=toolchain, progress=len(sources) > 3)
    if not quiet:
        for warning in result.warnings:
            report(warning, "warning")
    if verbose:
        _print_kernel_tables(result.kernels)
    write_output(output_path, result.output)


def _print_kernel_tables(kernels: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    for kernel in kernels:
        table = Table(title=f"kernel {kernel.name}", title_justify="left")
        for column in ("#", "parameter", "AIR argument", "binding", "access", "type"):
            table.add_column(column)
        for index, arg in enumerate(kernel.arguments):
            binding = "" if arg.location_index is None else (
                f"threadgroup {arg.location_index}" if arg.kind == "threadgroup"
                else f"buffer {arg.location_index}")
            kind = arg.kind if arg.kind != "builtin" else f"builtin {arg.role}"
            access = (arg.access or "").removeprefix("air.")
            table.add_row(str(index), arg.name, kind, binding, access,
                          f"{arg.type_name} ({arg.type_size} B)" if arg.type_size else arg.type_name)
        console.print(table)


@main.command("inspect")
@click.argument("input_path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@diagnostics
def inspect_command(input_path: str, as_json: bool) -> None:
    """Show an AIR file's target, versions, kernels and their bindings (.ll, .air, .metallib)."""
    import json

    from llvm_to_air.inspect import describe_file

    data, name = read_input(input_path)
    report_data = describe_file(data, name)
    if as_json:
        sys.stdout.write(json.dumps(report_data, indent=2, sort_keys=True) + "\n")
        return
    _print_inspection(report_data)


def _print_inspection(report_data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    header = {k: v for k, v in report_data.items() if not isinstance(v, list | dict)}
    for key, value in header.items():
        console.print(f"[bold]{key}[/bold]: {value}")
    for module in report_data.get("modules", [report_data]):
        for kernel in module.get("kernels", []):
            table = Table(title=f"kernel {kernel['name']}", title_justify="left")
            for column in ("#", "name", "kind", "binding", "access", "type"):
                table.add_column(column)
            for arg in kernel["arguments"]:
                binding = "" if arg.get("location_index") is None else str(arg["location_index"])
                kind = arg.get("kind", "")
                if kind == "builtin":
                    kind = f"builtin {arg.get('role')}"
                table.add_row(str(arg.get("index")), str(arg.get("arg_name", "")), kind, binding,
                              str(arg.get("access", "")), str(arg.get("arg_type_name", "")))
            console.print(table)


@main.command("dis")
@click.argument("input_path", metavar="FILE")
@click.option("-o", "--output", "output_path", default=STDIO, metavar="OUT.ll",
              help="Where to write the text ('-' for stdout, the default).")
@diagnostics
def dis_command(input_path: str, output_path: str) -> None:
    """Print the AIR modules of a .metallib or .air file as LLVM IR text (via llvmlite)."""
    from llvm_to_air.inspect import disassemble

    data, name = read_input(input_path)
    write_output(output_path, disassemble(data, name))


@main.command("run")
@click.argument("input_path", metavar="INPUT")
@click.option("--kernel", required=True, metavar="NAME", help="The kernel to run.")
@click.option("--grid", required=True, metavar="X[,Y[,Z]]",
              help="Total threads per dimension (like dispatchThreads).")
@click.option("--threadgroup", required=True, metavar="X[,Y[,Z]]",
              help="Threads per threadgroup.")
@click.option("--buffer", "buffers", multiple=True, metavar="INDEX=FILE.npy|INDEX=value:dtype",
              help="Bind a buffer at a location index (setBuffer/setBytes atIndex:).")
@click.option("--threadgroup-memory", "threadgroup_memory", multiple=True,
              metavar="INDEX=BYTES", help="Threadgroup memory length at an index.")
@click.option("--out-dir", required=True, metavar="DIR",
              help="Every bound buffer is written back to DIR/<INDEX>.npy.")
@click.option("--check-bounds", is_flag=True,
              help="Report accesses outside bound buffers (slower).")
@diagnostics
def run_command(input_path: str, kernel: str, grid: str, threadgroup: str,
                buffers: tuple[str, ...], threadgroup_memory: tuple[str, ...], out_dir: str,
                check_bounds: bool) -> None:
    """Execute a kernel on the CPU with Metal's binding model (AIR, metallib, or any input)."""
    from llvm_to_air.runner import run_cli

    written = run_cli(input_path, kernel, grid, threadgroup, list(buffers),
                      list(threadgroup_memory), out_dir, check_bounds)
    sys.stderr.write(f"wrote {len(written)} buffer(s) to {out_dir}\n")


@main.command("selftest")
@click.option("--device", type=click.Choice(["cpu", "metal"]), default=None,
              help="Where to run the kernels (default: metal where available, else cpu); "
                   "metal also runs each kernel on the CPU and compares.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--target", "targets", multiple=True, metavar="TARGET|all",
              help="Deployment target(s) to compile for (repeatable; 'all': every one).")
@diagnostics
def selftest_command(device: str | None, as_json: bool, targets: tuple[str, ...]) -> None:
    """Compile and run the shipped kernel corpus against numpy references."""
    from llvm_to_air.selftest import selftest_cli

    sys.exit(selftest_cli(device, list(targets), as_json))


@main.command("verify")
@click.argument("input_path", metavar="FILE.ll")
@diagnostics
def verify_command(input_path: str) -> None:
    """Check that an AIR module follows the rules Apple's compiler output follows."""
    from llvm_to_air.verify import errors_of, verify_air_text

    data, name = read_input(input_path)
    found = verify_air_text(data.decode("utf-8", "replace"), name)
    for diagnostic in found:
        sys.stderr.write(diagnostic.format() + "\n")
    if errors_of(found):
        sys.exit(1)
    sys.stderr.write(f"{name}: AIR conformance: no errors, {len(found)} warning(s)\n")


if __name__ == "__main__":  # pragma: no cover
    main()
