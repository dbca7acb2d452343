"""Packaging: lowered AIR modules to ``.air`` files and ``.metallib`` libraries.

Native (the default): our LLVM 14 text, our bitcode writer, the Darwin
wrapper and our metallib writer, on any OS. As Apple does, a library holds
one module per kernel, each with that kernel and what it uses.

``xcrun``: the same LLVM 14 text through Xcode's ``metal -c -x ir`` and
``metallib``; ``auto`` uses xcrun when ``xcrun --find metal`` succeeds.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from llvm_to_air.bitcode_wrapper import wrap_bitcode
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import remove_unused_declarations
from llvm_to_air.ir.model import (
    ConstantAggregate,
    ConstantExpr,
    Function,
    GlobalVariable,
    MDNode,
    MDValue,
    Module,
    NamedMetadata,
)
from llvm_to_air.ir.writer14 import write_llvm14
from llvm_to_air.metadata.target import AirTarget
from llvm_to_air.rewrite.context import LoweringContext

Unit = tuple[Module, LoweringContext]


def kernel_module(module: Module, kernel_name: str) -> Module:
    """A copy of ``module`` holding one kernel and what it uses (shares the IR objects)."""
    part = copy.copy(module)
    kernel = next(fn for fn in module.functions if fn.name == kernel_name)
    part.functions = [fn for fn in module.functions if fn is kernel or fn.is_declaration]
    used = _reachable(kernel)
    part.globals = [gv for gv in module.globals if id(gv) in used]
    named = []
    for nmd in module.named_metadata:
        if nmd.name == "air.kernel":
            nodes = [n for n in nmd.nodes if isinstance(n, MDNode) and n.operands and
                     isinstance(n.operands[0], MDValue) and n.operands[0].value is kernel]
            named.append(NamedMetadata(nmd.name, nodes))
        elif nmd.name == "air.sampler_states":  # the constant samplers this kernel uses
            kept = {id(gv) for gv in part.globals}
            nodes = [n for n in nmd.nodes if isinstance(n, MDNode) and any(
                isinstance(op, MDValue) and id(op.value) in kept for op in n.operands)]
            if nodes:
                named.append(NamedMetadata(nmd.name, nodes))
        else:
            named.append(nmd)
    part.named_metadata = named
    remove_unused_declarations(part)
    return part


def _reachable(fn: Function) -> set[int]:
    """Ids of every value ``fn`` refers to, through constant expressions and initializers."""
    seen: set[int] = set()
    stack: list[object] = [op for inst in fn.instructions() for op in inst.ops]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, ConstantExpr):
            stack.extend(value.ops)
        elif isinstance(value, ConstantAggregate):
            stack.extend(value.elements)
        elif isinstance(value, GlobalVariable) and value.initializer is not None:
            stack.append(value.initializer)
    return seen


def air_bytes(module: Module) -> bytes:
    """A ``.air`` file: the module as LLVM 14 bitcode in the Darwin wrapper."""
    from llvm_to_air.bitcode import llvm14_text_to_bitcode

    return wrap_bitcode(llvm14_text_to_bitcode(write_llvm14(module), module.file))


def metallib_bytes(units: Sequence[Unit], target: AirTarget) -> bytes:
    """A library with every kernel of ``units``, one module per kernel."""
    from llvm_to_air.metallib.builder import MetallibFunction, MetallibTarget, build_metallib

    functions = []
    seen: dict[str, str] = {}
    for module, ctx in units:
        for kernel in ctx.kernels:
            if kernel.name in seen:
                raise CompileError(f"kernel '{kernel.name}' is defined in {seen[kernel.name]} "
                                   f"and {module.file}",
                                   hint="rename one with --rename OLD=NEW")
            seen[kernel.name] = module.file
            wrapped = air_bytes(kernel_module(module, kernel.function.name))
            functions.append(MetallibFunction(kernel.name, wrapped, target.air_version[:2],
                                              target.msl_version[:2]))
    platform_target = MetallibTarget(platform=target.platform, deployment=target.os_version,
                                     file_version=target.metallib_version)
    return build_metallib(functions, platform_target)


# ------------------------------------------------------------------------ xcrun


def xcrun_available(xcrun: str = "xcrun") -> bool:
    path = shutil.which(xcrun)
    if path is None:
        return False
    result = subprocess.run([path, "-sdk", "macosx", "--find", "metal"], capture_output=True,
                            check=False, timeout=60)
    return result.returncode == 0


def xcrun_package(units: Sequence[Unit], emit: str, target: AirTarget) -> bytes:
    """Package with Apple's tools: ``metal -c -x ir`` per module, then ``metallib``."""
    xcrun = shutil.which("xcrun")
    if xcrun is None:
        raise CompileError("--toolchain xcrun: 'xcrun' was not found",
                           hint="install Xcode and run 'xcodebuild -downloadComponent "
                                "MetalToolchain', or use --toolchain native")
    sdk = "macosx" if target.platform == "macos" else "iphoneos"
    with tempfile.TemporaryDirectory(prefix="llvm-to-air-") as tmp:
        work = Path(tmp)
        air_files = []
        for k, (module, _ctx) in enumerate(units):
            source = work / f"module{k}.ll"
            source.write_text(write_llvm14(module))
            air = work / f"module{k}.air"
            _run([xcrun, "-sdk", sdk, "metal", "-c", "-x", "ir", str(source), "-o", str(air)],
                 "metal")
            air_files.append(air)
        if emit == "air":
            return air_files[0].read_bytes()
        library = work / "out.metallib"
        _run([xcrun, "-sdk", sdk, "metallib", *map(str, air_files), "-o", str(library)],
             "metallib")
        return library.read_bytes()


def _run(command: list[str], tool: str) -> None:
    result = subprocess.run(command, capture_output=True, check=False, timeout=600)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
        first = message.splitlines()[0] if message else f"exit status {result.returncode}"
        if "unable to find utility" in message or "not found" in message.lower():
            raise CompileError(f"xcrun cannot run '{tool}': {first}",
                               hint="run 'xcodebuild -downloadComponent MetalToolchain' or use "
                                    "--toolchain native")
        raise CompileError(f"xcrun {tool} failed: {first}",
                           hint="the native toolchain (--toolchain native) may still work")


def package(units: Sequence[Unit], emit: str, target: AirTarget,
            toolchain: str = "native") -> bytes:
    if toolchain == "auto":
        toolchain = "xcrun" if xcrun_available() else "native"
    if emit == "air" and len(units) != 1:
        raise CompileError("several inputs make one .metallib, not one .air",
                           hint="use -o lib.metallib, or compile each input on its own")
    if toolchain == "xcrun":
        return xcrun_package(units, emit, target)
    if emit == "air":
        return air_bytes(units[0][0])
    return metallib_bytes(units, target)


__all__ = ["air_bytes", "kernel_module", "metallib_bytes", "package", "xcrun_package"]
