"""Packaging: lowered AIR modules to ``.air`` files and ``.metallib`` libraries.

Native (the default): our LLVM 14 text, our bitcode writer, the Darwin
wrapper and our metallib writer, on any OS. As Apple does, a library holds
one module per kernel, each with that kernel and what it uses.

``xcrun``: the same LLVM 14 text through Xcode's ``metal -c -x ir`` and
``metallib``; ``auto`` uses xcrun when ``xcrun --find metal`` succeeds.
"""

from __future__ import annotations

import bisect
import copy
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llvm_to_air.bitcode.options import ContentCache, LibraryCache
from llvm_to_air.bitcode_wrapper import wrap_bitcode
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.edit import (
    metadata_value_ids,
    reachable_value_ids,
    remove_unused_declarations,
)
from llvm_to_air.ir.gcpause import gc_paused
from llvm_to_air.ir.model import (
    Function,
    MDNode,
    MDValue,
    Metadata,
    Module,
    NamedMetadata,
)
from llvm_to_air.ir.typed14 import Typed14Cache
from llvm_to_air.ir.writer14 import write_llvm14
from llvm_to_air.metadata.target import AirTarget
from llvm_to_air.rewrite.context import LoweringContext

Unit = tuple[Module, LoweringContext]


@dataclass
class KernelIndex:
    """What splitting one module per kernel needs, found once per module (not per kernel:
    a library of a thousand kernels would otherwise rescan the module a thousand times)."""

    by_name: dict[str, Function]
    positions: dict[int, int]  # id(function) -> its index in module.functions
    declarations: list[Function]
    declaration_positions: list[int]
    kernel_nodes: dict[int, list[Metadata]]  # id(kernel) -> its !air.kernel nodes
    shared_metadata_ids: set[int]  # values the named metadata other than !air.kernel refers to

    @classmethod
    def of(cls, module: Module) -> KernelIndex:
        by_name: dict[str, Function] = {}
        for fn in module.functions:
            by_name.setdefault(fn.name, fn)
        positions = {id(fn): k for k, fn in enumerate(module.functions)}
        declarations = [fn for fn in module.functions if fn.is_declaration]
        kernel_nodes: dict[int, list[Metadata]] = {}
        shared_metadata_ids: set[int] = set()
        for nmd in module.named_metadata:
            if nmd.name != "air.kernel":
                shared_metadata_ids |= metadata_value_ids(nmd.nodes)
                continue
            for n in nmd.nodes:
                if isinstance(n, MDNode) and n.operands and isinstance(n.operands[0], MDValue):
                    kernel_nodes.setdefault(id(n.operands[0].value), []).append(n)
        return cls(by_name, positions, declarations,
                   [positions[id(fn)] for fn in declarations], kernel_nodes, shared_metadata_ids)


def kernel_module(module: Module, kernel_name: str, index: KernelIndex | None = None) -> Module:
    """A copy of ``module`` holding one kernel and what it uses (shares the IR objects).

    ``index``: :meth:`KernelIndex.of` ``module``, when splitting off several kernels."""
    index = index or KernelIndex.of(module)
    part = copy.copy(module)
    kernel = index.by_name[kernel_name]
    functions = list(index.declarations)
    if not kernel.is_declaration:
        at = bisect.bisect_left(index.declaration_positions, index.positions[id(kernel)])
        functions.insert(at, kernel)
    part.functions = functions
    used = reachable_value_ids(kernel)
    part.globals = [gv for gv in module.globals if id(gv) in used]
    named = []
    metadata_ids = index.shared_metadata_ids
    for nmd in module.named_metadata:
        if nmd.name == "air.kernel":
            nodes = list(index.kernel_nodes.get(id(kernel), []))
            named.append(NamedMetadata(nmd.name, nodes))
            metadata_ids = metadata_ids | metadata_value_ids(nodes)
        elif nmd.name == "air.sampler_states":  # the constant samplers this kernel uses
            kept = {id(gv) for gv in part.globals}
            nodes = [n for n in nmd.nodes if isinstance(n, MDNode) and any(
                isinstance(op, MDValue) and id(op.value) in kept for op in n.operands)]
            if nodes:
                named.append(NamedMetadata(nmd.name, nodes))
        else:
            named.append(nmd)
    part.named_metadata = named
    remove_unused_declarations(part, metadata_ids)
    return part


@dataclass
class PackagingCache:
    """What the modules of one library share while they are written (see
    :class:`~llvm_to_air.bitcode.writer.LibraryCache` and
    :class:`~llvm_to_air.ir.typed14.Typed14Cache`); the bytes do not depend on it."""

    bitcode: LibraryCache = field(default_factory=LibraryCache)
    typed: Typed14Cache = field(default_factory=Typed14Cache)

    @classmethod
    def reusing(cls, content: ContentCache | None) -> PackagingCache:
        """A cache for one library that reuses ``content`` (kept by a session) if given."""
        if content is None:
            return cls()
        return cls(LibraryCache(content))


def air_bytes(module: Module, cache: PackagingCache | None = None) -> bytes:
    """A ``.air`` file: the module as LLVM 14 bitcode in the Darwin wrapper.

    The bitcode writer reads the typed LLVM 14 view built from the model
    (:mod:`llvm_to_air.ir.typed14`); no text is printed or parsed. ``cache``:
    shared by the modules of one library (what they have in common is written once).
    """
    from llvm_to_air.bitcode import write_bitcode
    from llvm_to_air.ir.typed14 import release_view14, typed_module14

    cache = cache or PackagingCache()
    with gc_paused():
        view = typed_module14(module, cache=cache.typed)
        bitcode = write_bitcode(view, cache=cache.bitcode)
        release_view14(view)
        return wrap_bitcode(bitcode)


def air_bytes_via_text(module: Module, cache: PackagingCache | None = None) -> bytes:
    """:func:`air_bytes` the old way, through LLVM 14 text and its parser: the reference
    that ``tests/test_typed14.py`` holds the direct route to (same bytes)."""
    from llvm_to_air.bitcode import llvm14_text_to_bitcode

    with gc_paused():
        return wrap_bitcode(llvm14_text_to_bitcode(write_llvm14(module), module.file,
                                                   cache=cache and cache.bitcode))


def metallib_bytes(units: Sequence[Unit], target: AirTarget,
                   content: ContentCache | None = None) -> bytes:
    """A library with every kernel of ``units``, one module per kernel; ``content``: what
    earlier libraries wrote that depends on content alone (see :class:`ContentCache`)."""
    from llvm_to_air.metallib.builder import MetallibFunction, MetallibTarget, build_metallib

    functions = []
    seen: dict[str, str] = {}
    cache = PackagingCache.reusing(content)
    with gc_paused():  # one pause for the whole library (its assembly too), not one per kernel
        for module, ctx in units:
            index = KernelIndex.of(module)
            for kernel in ctx.kernels:
                if kernel.name in seen:
                    raise CompileError(f"kernel '{kernel.name}' is defined in "
                                       f"{seen[kernel.name]} and {module.file}",
                                       hint="rename one with --rename OLD=NEW")
                seen[kernel.name] = module.file
                wrapped = air_bytes(kernel_module(module, kernel.function.name, index), cache)
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
            toolchain: str = "native", content: ContentCache | None = None) -> bytes:
    """Package lowered ``units`` as ``emit`` (``air`` or ``metallib``); ``content``: a
    :class:`ContentCache` kept between calls (a session's), or None."""
    if toolchain == "auto":
        toolchain = "xcrun" if xcrun_available() else "native"
    if emit == "air" and len(units) != 1:
        raise CompileError("several inputs make one .metallib, not one .air",
                           hint="use -o lib.metallib, or compile each input on its own")
    if toolchain == "xcrun":
        return xcrun_package(units, emit, target)
    if emit == "air":
        return air_bytes(units[0][0], PackagingCache.reusing(content))
    return metallib_bytes(units, target, content)


__all__ = ["KernelIndex", "PackagingCache", "air_bytes", "air_bytes_via_text", "kernel_module", "metallib_bytes", "package", "xcrun_package"]
