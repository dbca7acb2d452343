"""Reading user input: LLVM IR text (LLVM 14 to 22 syntax) or bitcode, into our model.

Two steps:

1. llvmlite (LLVM 22) parses and verifies the input. This upgrades old
   syntax (typed pointers, ``nvvm.annotations`` kernels, old intrinsics) and
   gives malformed input LLVM's own message, which we re-locate to the
   user's file as ``file:line:col: error: ...``.
2. Our parser reads llvmlite's normalized printout into the model, and
   :func:`normalize_module` folds what opaque pointers made meaningless
   (no-op ``bitcast ptr to ptr``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.edit import replace_all_uses
from llvm_to_air.ir.forward import normalize_forward
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.lexer import decode_name
from llvm_to_air.ir.model import Cast, Instruction, Module, Value
from llvm_to_air.ir.parser import parse_module
from llvm_to_air.ir.precheck import check_before_llvm
from llvm_to_air.ir.promote import needs_promotion, promote_fragments
from llvm_to_air.ir.spellings import respell
from llvm_to_air.ir.types import PointerType

if TYPE_CHECKING:
    from llvm_to_air.ir.worker import LLVMWorker

_LLVM_ERROR_RE = re.compile(r"^<string>:(\d+):(\d+): error: (.*)$", re.MULTILINE)
_BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_DEFINITION_RE = re.compile(r'\s*%("[^"]*"|[-\w$.]+)\s*=')
_LABEL_LINE_RE = re.compile(r'^("[^"]*"|[-\w$.]+):')


@dataclass
class SourceText:
    """The user's input as text, with its display name (``-`` is shown as ``<stdin>``)."""

    text: str
    file: str


def decode_input(data: bytes, file: str) -> str | bytes:
    """Text for LLVM IR input, bytes for bitcode; CompileError for anything else."""
    if not data.strip():
        raise CompileError("input is empty; expected LLVM IR text or bitcode",
                           SourceLocation(file), hint="pass a .ll or .bc file")
    if data[:4] in _BITCODE_MAGICS:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError(
            f"input is not UTF-8 text (byte 0x{data[exc.start]:02x}) and not LLVM bitcode",
            SourceLocation(file, line, col),
            hint="pass LLVM IR text (.ll) or bitcode (.bc)",
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise CompileError("input contains NUL bytes; it is neither LLVM IR text nor bitcode",
                           SourceLocation(file, line, 1))
    return text


def normalize_with_llvmlite(source: str | bytes, file: str, promote: bool = False,
                            worker: LLVMWorker | None = None) -> str:
    """Parse and verify with llvmlite's LLVM 22; return its printout of the module.

    ``promote``: -O0 WMMA fragments are promoted to registers (:mod:`.promote`), for lowering.
    LLVM runs in a child process: ``worker``'s (:mod:`.worker`) if given, else one forked
    for this call (:mod:`.isolate`); no input can abort this one.
    """
    import llvmlite.binding  # noqa: F401 - imported before the fork, so the child shares it

    from llvm_to_air.ir.isolate import call_isolated

    check_before_llvm(source, file)
    if isinstance(source, str):
        source = normalize_forward(respell(source), file)
    run = worker.call if worker is not None else call_isolated
    return run(_normalize_in_process, source, file, promote, file=file,
               what="reading the input", input_size=len(source))


def _normalize_in_process(source: str | bytes, file: str, promote: bool = False) -> str:
    import llvmlite.binding as llvm  # imported here: it is the slowest import we have

    if isinstance(source, str) and _DEBUG_VERSION_FLAG in source:
        _probe_without_debug_info(source, file)
    # a fresh context per module: a shared one renames struct types it has seen before
    # Modules are closed explicitly, before their context: left to the garbage collector,
    # a cycle through an exception's traceback can free the context first and crash LLVM.
    context = llvm.create_context()
    module = None
    try:
        if isinstance(source, bytes):
            from llvm_to_air.bitcode_wrapper import unwrap_bitcode

            module = llvm.parse_bitcode(unwrap_bitcode(source, file), context)
        else:
            module = llvm.parse_assembly(source, context)
        module.verify()
        text = str(module)
        if promote and needs_promotion(text):
            return promote_fragments(text, llvm)
        return text
    except UnicodeDecodeError as exc:
        # LLVM prints string attributes, sections and asm as raw bytes
        raise CompileError(f"the input holds bytes that are not UTF-8 (0x{exc.object[exc.start]:02x}) "
                           "in a string attribute, section name or inline asm",
                           SourceLocation(file), hint="spell such bytes as UTF-8 text") from None
    except CompileError:
        raise
    except RuntimeError as exc:
        message = str(exc)
    finally:
        if module is not None:
            module.close()
    raise _llvm_error(message, file, source if isinstance(source, str) else None)


_DEBUG_VERSION_FLAG = '!"Debug Info Version"'


def _probe_without_debug_info(source: str, file: str) -> None:
    """Verify a module that carries debug info without letting LLVM abort the process.

    When a module has the "Debug Info Version" flag, LLVM's parser verifies it
    and calls ``report_fatal_error`` (killing the process) if it is broken. With the
    flag renamed, LLVM drops the debug info instead, so a broken module gets its
    ordinary verifier message; LLVM's warning about the renamed flag is silenced.
    """
    import llvmlite.binding as llvm

    probe = source.replace(_DEBUG_VERSION_FLAG, '!"llvm-to-air probe"')
    context = llvm.create_context()
    module = None
    message = None
    with _silenced_stderr():
        try:
            module = llvm.parse_assembly(probe, context)
            module.verify()
        except RuntimeError as exc:
            message = str(exc)
        finally:
            if module is not None:
                module.close()
    if message is not None:
        # the message may quote the renamed flag: show the user's own spelling
        message = message.replace("llvm-to-air probe", "Debug Info Version")
        raise _llvm_error(message, file, source)


@contextmanager
def _silenced_stderr() -> Iterator[None]:
    """Redirect file descriptor 2 (where LLVM's C++ code writes) to nothing, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _llvm_error(message: str, file: str, text: str | None) -> CompileError:
    match = _LLVM_ERROR_RE.search(message)
    if match:
        line, col, what = int(match.group(1)), int(match.group(2)), match.group(3).strip()
        return CompileError(what, SourceLocation(file, line, col))
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    # verifier messages: first line is the problem, the next names the instruction
    body = [ln for ln in lines if not ln.startswith(("LLVM IR parsing error",
                                                     "Verification failed"))]
    what = body[0] if body else "invalid LLVM IR"
    location = SourceLocation(file)
    if text is not None and len(body) > 1:
        location = _find_line(text, body[1], file) or location
    detail = f" (at: {body[1]})" if len(body) > 1 else ""
    if what.startswith("Invalid bitcode") or "bitcode" in what.lower():
        return CompileError(f"invalid LLVM bitcode: {what}", location)
    return CompileError(f"invalid LLVM IR: {what}{detail}", location)


def _find_line(text: str, snippet: str, file: str) -> SourceLocation | None:
    snippet = snippet.strip()
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet and snippet in line:
            return SourceLocation(file, number, line.index(snippet) + 1)
    return None


def read_module(data: bytes | str, file: str = "<input>", *,
                promote_fragments: bool = False, worker: LLVMWorker | None = None) -> Module:
    """Read LLVM IR text or bitcode into a normalized :class:`Module`.

    ``promote_fragments`` (lowering only): -O0 WMMA kernels get their fragments in
    registers (:mod:`.promote`). ``worker``: the child process that runs LLVM (a
    session's); without one, a child is forked for this call.
    Guarantees: the module verified under LLVM 22; every pointer is opaque;
    no ``bitcast`` between pointers of one address space remains.
    """
    source = decode_input(data.encode("utf-8") if isinstance(data, str) else data, file)
    normalized = normalize_with_llvmlite(source, file, promote_fragments, worker)
    with gc_paused():
        module = parse_module(normalized, file)
        if isinstance(source, str):
            _relocate(module, normalized, source, file)
            if "source_filename" not in source:
                module.source_filename = file if file != "-" else "<stdin>"
        else:
            _unlocate(module, file)
        normalize_module(module)
    return module


def _unlocate(module: Module, file: str) -> None:
    """Bitcode has no lines of its own: locations name the file only (a line of LLVM's
    disassembly would point into a binary file)."""
    where = SourceLocation(file)
    for fn in module.functions:
        fn.location = where
        for inst in fn.instructions():
            inst.location = where
    for gv in module.globals:
        gv.location = where


def _relocate(module: Module, normalized: str, original: str, file: str) -> None:
    """Point locations at the user's text: definitions by name; instructions by position
    when the function has as many instruction lines as the model has instructions (the
    input was already modern syntax), else by value name, else the definition's line.
    """
    define_lines: dict[str, int] = {}
    lines = original.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.startswith(("define", "declare")):
            m = re.search(r'@("[^"]*"|[-\w$.]+)\s*\(', line)
            if m:
                define_lines.setdefault(decode_name("@" + m.group(1)), number)
    for fn in module.functions:
        start = define_lines.get(fn.name)
        fn.location = SourceLocation(file, start or 0, 1 if start else 0)
        if start is None:
            continue
        names: dict[str, int] = {}
        positions: list[int] = []
        for number in range(start + 1, len(lines) + 1):
            text = lines[number - 1]
            if text.startswith("}"):
                break
            stripped = text.strip()
            if not stripped or stripped.startswith((";", "#dbg_", "]")) or \
                    _LABEL_LINE_RE.match(text) or (stripped.startswith(("i", "label")) and \
                    ", label" in stripped and " = " not in stripped):
                continue
            positions.append(number)
            if "=" in text:
                m = _DEFINITION_RE.match(text)
                if m:
                    names.setdefault(m.group(1).strip('"'), number)
        instructions = list(fn.instructions())
        by_position = len(positions) == len(instructions)
        for k, inst in enumerate(instructions):
            line_no = positions[k] if by_position else (names.get(inst.name) if inst.name
                                                          else None)
            if line_no is None:
                inst.location = SourceLocation(file, start, 1)
                continue
            text = lines[line_no - 1]
            inst.location = SourceLocation(file, line_no, len(text) - len(text.lstrip()) + 1)
    for gv in module.globals:
        m = re.search(rf"^@{re.escape(gv.name)}\s*=", original, re.MULTILINE)
        if m:
            line_no = original.count("\n", 0, m.start()) + 1
            gv.location = SourceLocation(file, line_no, 1)


def normalize_module(module: Module) -> None:
    """Fold ``bitcast ptr X to ptr X`` (no-ops with opaque pointers) into their operand, and
    drop unused ``llvm.*`` declarations (LLVM's upgrader leaves stale ones behind)."""
    used: set[int] = set()
    for fn in module.functions:
        for inst in fn.instructions():
            used.update(id(op) for op in inst.ops)
    module.functions = [fn for fn in module.functions
                        if not (fn.is_declaration and fn.name.startswith("llvm.")
                                and id(fn) not in used)]
    for fn in module.functions:
        replace: dict[Value, Value] = {}
        for block in fn.blocks:
            kept: list[Instruction] = []
            for inst in block.instructions:
                if (isinstance(inst, Cast) and inst.opcode == "bitcast"
                        and isinstance(inst.ty, PointerType)
                        and inst.ty == inst.ops[0].ty):
                    source = inst.ops[0]
                    replace[inst] = replace.get(source, source)
                    continue
                kept.append(inst)
            block.instructions = kept
        if replace:
            replace_all_uses(fn.instructions(), replace)
