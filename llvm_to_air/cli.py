"""Command-line interface: ``llvm-to-air``.

The only place where :class:`CompileError` becomes a printed diagnostic.
Heavy modules (llvmlite, rich) are imported inside the commands that need
them so that ``--help`` and small jobs start fast.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from llvm_to_air import __version__
from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.output import STDIO, check_writable, remove_stale, write_output

# Exit statuses, as a compiler's: 0 done, 1 an error was reported (bad input, a usage
# error, an unsupported construct), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

# clang driver flags people pass out of habit; each gets a hint instead of click's
# "No such option" (llvm-to-air takes clang's output, it is not a driver).
CLANG_FLAGS = ("-emit-llvm", "-S", "-c", "-O", "-x", "-I", "-D", "-std", "-g", "-target",
               "--target=", "-march", "-mcpu", "--cuda", "-nocuda", "-f", "-W", "-m", "-cl-")


class Terminated(BaseException):
    """SIGTERM arrived: unwind (removing temporary files) and exit with status 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


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

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        """Run with our exit-status contract; usage errors print one compiler-style line."""
        argv = list(sys.argv[1:] if args is None else args)
        if os.environ.get("LLVM_TO_AIR_SERVER") and threading_is_main():
            _forward_to_server(os.environ["LLVM_TO_AIR_SERVER"], argv)
        if threading_is_main():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().main(argv, prog_name="llvm-to-air", standalone_mode=False, **extra)
        except click.NoSuchOption as exc:
            _usage_error(_unknown_option_message(exc, argv))
        except click.UsageError as exc:
            _usage_error(exc.format_message())
        except click.ClickException as exc:
            _usage_error(exc.format_message())
        except (KeyboardInterrupt, click.exceptions.Abort):
            sys.stderr.write("llvm-to-air: interrupted\n")
            _exit(EXIT_INTERRUPTED)
        except Terminated:
            _exit(EXIT_TERMINATED)
        except BrokenPipeError:
            # the reader of our output went away (`| head`): stop quietly, as cat does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            _exit(EXIT_ERROR)
        except SystemExit as exc:
            _exit(exc.code if isinstance(exc.code, int) else EXIT_ERROR)
        return None


def _forward_to_server(socket_path: str, argv: list[str]) -> None:
    """Run the command in a child of the resident compiler (``llvm-to-air serve``) and
    exit with its status; return when no server can run it, to run it here."""
    from llvm_to_air.server import forward

    status = forward(socket_path, argv)
    if status is not None:
        _exit(status)


def _exit(status: int) -> None:
    """Exit now: a kernel thread of ``run`` that never ends must not keep us alive."""
    import threading

    sys.stdout.flush()
    sys.stderr.flush()
    if threading.active_count() > 1:
        os._exit(status)
    sys.exit(status)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _usage_error(message: str) -> None:
    report(CompileError(message, SourceLocation("llvm-to-air"),
                        hint="see llvm-to-air --help"))
    sys.exit(EXIT_ERROR)


def _unknown_option_message(exc: click.NoSuchOption, argv: list[str]) -> str:
    """Name the argument as typed (click reports ``-emit-llvm`` as ``-e``)."""
    typed = next((a for a in argv if a.startswith(exc.option_name) and a != "-"),
                 exc.option_name)
    typed = typed.split("=", 1)[0] if typed.startswith("--") else typed
    if typed.startswith(CLANG_FLAGS) and typed not in ("-o", "-v", "-q", "-w"):
        return (f"unknown option '{typed}': it is a clang flag; llvm-to-air reads clang's "
                "output, so give it to clang (clang ... -S -emit-llvm -o - | llvm-to-air - -o "
                "k.metallib)")
    message = f"unknown option '{typed}'"
    if exc.possibilities:
        message += f" (did you mean {', '.join(sorted(exc.possibilities))}?)"
    return message


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llvm-to-air")
def main() -> None:
    """Turn GPU LLVM IR (CUDA, OpenCL, MLIR) into Apple AIR and metallibs."""


# --------------------------------------------------------------------- helpers


def read_input(path: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-`` is stdin) and the name diagnostics use for it."""
    if path == STDIO:
        current_input("<stdin>")
        return sys.stdin.buffer.read(), "<stdin>"
    current_input(path)
    if os.path.isdir(path):
        raise CompileError("cannot read input: it is a directory", SourceLocation(path))
    try:
        return Path(path).read_bytes(), path
    except OSError as exc:
        raise CompileError(f"cannot read input: {exc.strerror}", hint=None).with_file(path) \
            from None


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


def current_input(name: str) -> None:
    """Record the input a command works on: errors that know no file are shown there."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["llvm_to_air.input"] = name


def _located(error: CompileError) -> CompileError:
    if error.location.file != "<input>":
        return error
    ctx = click.get_current_context(silent=True)
    name = ctx.meta.get("llvm_to_air.input") if ctx is not None else None
    return error.with_file(name or "llvm-to-air")


def diagnostics(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn CompileError (and any unexpected failure) into a diagnostic and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CompileError as error:
            report(_located(error))
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, Terminated,
                BrokenPipeError):
            raise
        except MemoryError:
            report(_located(CompileError("out of memory: the input is too large to process")))
            sys.exit(1)
        except RecursionError:
            report(_located(CompileError("input is nested too deeply to process")))
            sys.exit(1)
        except Exception as exc:  # a bug of ours: still no traceback for the user
            if os.environ.get("LLVM_TO_AIR_DEBUG"):
                raise
            detail = str(exc)
            if len(detail) > 200:  # a message of ours can quote a whole module
                detail = detail[:200] + "..."
            report(_located(CompileError(
                f"internal error: {type(exc).__name__}: {detail}",
                hint="please report this with the input; set LLVM_TO_AIR_DEBUG=1 for a "
                     "traceback")))
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

    check_writable(output_path)
    try:
        data, name = read_input(input_path)
        text = downgrade_text(data, name, strip_debug=not keep_debug_info)
        write_output(output_path, text)
    except BaseException:
        remove_stale(output_path)
        raise


EMIT_BY_SUFFIX = {".ll": "ll", ".air": "air", ".metallib": "metallib"}


def _renames(values: tuple[str, ...]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise CompileError(f"--rename expects OLD=NEW, got '{value}'")
        renames[old] = new
    return renames


@main.command("compile")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("-o", "--output", "output_path", default=STDIO, metavar="OUTPUT",
              help="Output file ('-' for stdout, the default). Its suffix (.ll, .air, "
                   ".metallib) picks --emit.")
@click.option("--emit", type=click.Choice(["ll", "air", "metallib"]), default=None,
              help="Output kind: AIR as LLVM 14 text, a .air bitcode file, or a .metallib.")
@click.option("--target", default="macos14", show_default=True, metavar="TARGET",
              help="Deployment target: macos14|macos15|macos26|macos27|ios17|ios18|ios26|ios27, "
                   "an AIR triple (air64_v28-apple-macosx26.0.0) or an OS version "
                   "(macosx26.0).")
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
@click.option("-q", "--quiet", "-w", is_flag=True, help="Print no warnings (as clang's -w).")
@click.option("-Werror", "werror", is_flag=True, help="Treat warnings as errors (as clang).")
@diagnostics
def compile_command(inputs: tuple[str, ...], output_path: str, emit: str | None, target: str,
                    kernels: tuple[str, ...], renames: tuple[str, ...], fast_math: bool | None,
                    f64: str, toolchain: str, verbose: bool, quiet: bool, werror: bool) -> None:
    """Lower GPU LLVM IR (CUDA, OpenCL, MLIR) to Apple AIR: text, .air or .metallib."""
    from llvm_to_air.api import compile_many
    from llvm_to_air.metadata.target import check_bitcode_target, get_target
    from llvm_to_air.progress import progress_after

    if emit is None:
        emit = EMIT_BY_SUFFIX.get(Path(output_path).suffix, "ll") if output_path != STDIO \
            else "ll"
    chosen = get_target(target)  # an unknown target is an error before any work
    if emit != "ll":
        check_bitcode_target(chosen)
    if emit != "ll" and output_path == STDIO and sys.stdout.isatty():
        raise CompileError(f"refusing to write a binary .{emit} to a terminal",
                           hint="give -o FILE")
    check_writable(output_path)
    try:
        sources = [read_input(path) for path in (inputs or (STDIO,))]
        size = sum(len(data) for data, _ in sources)
        with progress_after(f"lowering {', '.join(name for _, name in sources)}", size):
            result = compile_many(sources, target=target, emit=emit,  # type: ignore[arg-type]
                                  kernels=kernels, renames=_renames(renames),
                                  fast_math=fast_math, f64=f64, toolchain=toolchain,
                                  progress=len(sources) > 3)
        if werror and result.warnings:
            for warning in result.warnings:
                report(_located(warning))
            sys.stderr.write(f"llvm-to-air: {len(result.warnings)} warning(s) treated as "
                             "errors (-Werror)\n")
            raise SystemExit(EXIT_ERROR)
        if not quiet:
            for warning in result.warnings:
                report(_located(warning), "warning")
        if verbose:
            _print_kernel_tables(result.kernels)
        write_output(output_path, result.output)
    except BaseException:
        remove_stale(output_path)
        raise


def _print_kernel_tables(kernels: list[Any]) -> None:
    from llvm_to_air.tables import print_table

    for kernel in kernels:
        rows = []
        for index, arg in enumerate(kernel.arguments):
            binding = "" if arg.location_index is None else (
                f"threadgroup {arg.location_index}" if arg.kind == "threadgroup"
                else f"buffer {arg.location_index}")
            kind = arg.kind if arg.kind != "builtin" else f"builtin {arg.role}"
            access = (arg.access or "").removeprefix("air.")
            rows.append([str(index), arg.name, kind, binding, access,
                         f"{arg.type_name} ({arg.type_size} B)" if arg.type_size
                         else arg.type_name])
        print_table(f"kernel {kernel.name}",
                    ("#", "parameter", "AIR argument", "binding", "access", "type"), rows,
                    sys.stderr)


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
    from llvm_to_air.tables import print_table

    header = {k: v for k, v in report_data.items() if not isinstance(v, list | dict)}
    for key, value in header.items():
        sys.stdout.write(f"{key}: {value}\n")
    for entry in report_data.get("header_extension", []):
        detail = entry.get("uuid") or (f"section at byte {entry['offset']}, {entry['size']} bytes"
                                       if "offset" in entry else f"{entry['bytes']} bytes")
        sys.stdout.write(f"header extension {entry['tag']}: {detail}\n")
    for section in report_data.get("sections", []):
        facts = ", ".join(f"{k}: {v}" for k, v in section.items() if k != "section")
        sys.stdout.write(f"section {section['section']}: {facts}\n")
    if report_data.get("functions"):
        print_table("functions", ("name", "type", "AIR", "MSL", "module bytes", "other tags"),
                    [[f["name"], f["type"], str(f["air_version"]), str(f["msl_version"]),
                      str(f["module_bytes"]), " ".join(f["other_tags"])]
                     for f in report_data["functions"]])
    for module in report_data.get("modules", [report_data]):
        for kernel in module.get("kernels", []):
            rows = []
            for arg in kernel["arguments"]:
                binding = "" if arg.get("location_index") is None else str(arg["location_index"])
                kind = arg.get("kind", "")
                if kind == "builtin":
                    kind = f"builtin {arg.get('role')}"
                rows.append([str(arg.get("index")), str(arg.get("arg_name", "")), kind, binding,
                             str(arg.get("access", "")), str(arg.get("arg_type_name", ""))])
            print_table(f"kernel {kernel['name']}",
                        ("#", "name", "kind", "binding", "access", "type"), rows)


@main.command("dis")
@click.argument("input_path", metavar="FILE")
@click.option("-o", "--output", "output_path", default=STDIO, metavar="OUT.ll",
              help="Where to write the text ('-' for stdout, the default).")
@diagnostics
def dis_command(input_path: str, output_path: str) -> None:
    """Print the AIR modules of a .metallib or .air file as LLVM IR text (via llvmlite)."""
    from llvm_to_air.inspect import disassemble

    check_writable(output_path)
    try:
        data, name = read_input(input_path)
        write_output(output_path, disassemble(data, name))
    except BaseException:
        remove_stale(output_path)
        raise


@main.command("run")
@click.argument("input_path", metavar="INPUT")
@click.option("--kernel", required=True, metavar="NAME", help="The kernel to run.")
@click.option("--grid", required=True, metavar="X[,Y[,Z]]",
              help="Total threads per dimension (like dispatchThreads).")
@click.option("--threadgroup", required=True, metavar="X[,Y[,Z]]",
              help="Threads per threadgroup.")
@click.option("--buffer", "buffers", multiple=True, metavar="INDEX=FILE.npy|INDEX=value:dtype",
              help="Bind a buffer at a location index (setBuffer/setBytes atIndex:).")
@click.option("--texture", "textures", multiple=True, metavar="INDEX=FILE.npy[:FORMAT]",
              help="Bind a 2D texture (setTexture:atIndex:): an (height, width[, channels]) "
                   "array; its dtype names the pixel format (float32 rgba32float, uint8 "
                   "rgba8unorm, int32 rgba32sint, ...) unless FORMAT does.")
@click.option("--sampler", "samplers", multiple=True, metavar="INDEX=WORDS",
              help="Bind a sampler (setSamplerState:atIndex:) for a sampler_t parameter: "
                   "comma-separated words, e.g. 0=normalized,repeat,linear "
                   "(normalized/unnormalized, none/clamp_to_edge/clamp/repeat/"
                   "mirrored_repeat, nearest/linear).")
@click.option("--threadgroup-memory", "threadgroup_memory", multiple=True,
              metavar="INDEX=BYTES", help="Threadgroup memory length at an index.")
@click.option("--out-dir", required=True, metavar="DIR",
              help="Every bound buffer is written back to DIR/<INDEX>.npy, every texture "
                   "to DIR/texture<INDEX>.npy.")
@click.option("--check-bounds/--no-check-bounds", default=True, show_default=True,
              help="Catch accesses outside bound buffers (the default); --no-check-bounds "
                   "runs faster and trusts the kernel.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Stop the run after this many seconds (an error).")
@diagnostics
def run_command(input_path: str, kernel: str, grid: str, threadgroup: str,
                buffers: tuple[str, ...], textures: tuple[str, ...], samplers: tuple[str, ...],
                threadgroup_memory: tuple[str, ...], out_dir: str,
                check_bounds: bool, timeout: float | None) -> None:
    """Execute a kernel on the CPU with Metal's binding model (AIR, metallib, or any input).

    Nothing is written to --out-dir unless the run succeeds.
    """
    from llvm_to_air.progress import progress_after
    from llvm_to_air.runner import run_cli

    source = read_input(input_path)[0] if input_path == STDIO else None
    current_input("<stdin>" if input_path == STDIO else input_path)
    with progress_after(f"running {kernel}"):
        written = run_cli(input_path, kernel, grid, threadgroup, list(buffers),
                          list(threadgroup_memory), out_dir, check_bounds, timeout, source,
                          list(textures), list(samplers))
    sys.stderr.write(f"wrote {len(written)} array(s) to {out_dir}\n")


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


@main.command("serve")
@click.option("--socket", "socket_path", envvar="LLVM_TO_AIR_SERVER", required=True,
              metavar="PATH", help="The Unix socket to listen on (default: $LLVM_TO_AIR_SERVER).")
@click.option("--idle-timeout", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
              help="Stop after this long without a command (default 0: never).")
@diagnostics
def serve_command(socket_path: str, idle_timeout: float) -> None:
    """Keep a warm compiler resident: commands run with LLVM_TO_AIR_SERVER=PATH start
    as forks of it, skipping Python's start-up and imports (stop it with Ctrl-C or
    SIGTERM)."""
    from llvm_to_air.server import serve

    serve(socket_path, idle_timeout)


@main.command("verify")
@click.argument("input_path", metavar="FILE")
@click.option("--ours", is_flag=True,
              help="Also the rules llvm-to-air promises for its own output, beyond what "
                   "Apple's compiler writes.")
@diagnostics
def verify_command(input_path: str, ours: bool) -> None:
    """Check that AIR (.ll, .air, or every module of a .metallib) follows Apple's dialect."""
    from llvm_to_air.verify import errors_of, verify_air_text

    data, name = read_input(input_path)
    profile = "ours" if ours else "apple"
    found = []
    for text, where in _air_texts(data, name):
        found += verify_air_text(text, where, profile=profile)
    for diagnostic in found:
        sys.stderr.write(diagnostic.format() + "\n")
    if errors_of(found):
        sys.exit(1)
    sys.stderr.write(f"{name}: AIR conformance ({profile}): no errors, {len(found)} "
                     "warning(s)\n")


def _air_texts(data: bytes, name: str) -> list[tuple[str, str]]:
    """The AIR text of a .ll file, a .air file, or each module of a .metallib."""
    from llvm_to_air.inspect import disassemble_modules

    if data[:4] == b"MTLB" or data[:4] in (b"BC\xc0\xde", b"\xde\xc0\x17\x0b"):
        return disassemble_modules(data, name)
    return [(data.decode("utf-8", "replace"), name)]


if __name__ == "__main__":  # pragma: no cover
    main()
