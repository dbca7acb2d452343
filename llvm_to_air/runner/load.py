"""Inputs of the runner: an AIR module, a ``.ll``/``.air``/``.metallib`` file, or any
input the main command accepts (lowered to AIR first)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir.model import Module
from llvm_to_air.runner.compile import compile_kernel, kernel_bindings, kernel_names
from llvm_to_air.runner.execute import Kernel

_CACHE: OrderedDict[tuple[Any, ...], Kernel] = OrderedDict()
_CACHE_SIZE = 32


def _is_air(module: Module) -> bool:
    from llvm_to_air.inspect import describe_module

    return bool(describe_module(module)["kernels"])


def _read_input(source: Any, name: str | None = None) -> tuple[list[Module], str]:
    """AIR modules (one per metallib entry, or one) and a display name."""
    from llvm_to_air.api import lower
    from llvm_to_air.ir.reader import read_module
    from llvm_to_air.ir.writer14 import write_llvm14

    if isinstance(source, Module):
        if _is_air(source):
            return [source], source.file
        module, _ = lower(write_llvm14(source), source.file)
        return [module], source.file
    from llvm_to_air.sources import read_source

    content, file = read_source(source, name)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if data[:4] == b"MTLB":
        from llvm_to_air.bitcode_wrapper import unwrap_bitcode
        from llvm_to_air.metallib import read_metallib

        library = read_metallib(data, file)
        return [read_module(unwrap_bitcode(library.module_of(entry), file), file)
                for entry in library.functions], file
    module = read_module(data, file)
    if _is_air(module):
        return [module], file
    module, _ = lower(data, file)
    return [module], file


# Apple's compiler puts each Metal function constant's initializer in this section
FUNCTION_CONSTANT_SECTION = "air.fc_initializer"


def _refuse_function_constants(module: Module, kernel: str, file: str) -> None:
    constants = sorted(gv.name for gv in module.globals
                       if gv.section == FUNCTION_CONSTANT_SECTION)
    if constants:
        raise CompileError(f"kernel '{kernel}' reads Metal function constants "
                           f"({', '.join(constants)}), which the CPU runner cannot set",
                           SourceLocation(file),
                           hint="run a library built without function constants")


# how far ahead in the copy an input instruction's match is looked for: the printer adds
# a few casts per instruction, an atomic's expansion a loop of a dozen
_ALIGN_WINDOW = 64


def transfer_locations(original: Module, copy: Module) -> None:
    """Give ``copy``'s instructions the source locations of ``original``'s.

    The runner works on a re-read copy of the AIR (the LLVM 14 printout, whose lines
    are not the user's); the copy has the same instructions in the same order, but
    for casts the printer adds and expansions of newer atomics, so matching each input
    instruction to the next copy instruction of its kind (within a short window; an
    input instruction the copy expanded keeps no match) maps nearly every instruction
    back to the input's line, in time linear in the function's size.
    """
    def key(inst: Any) -> tuple[type, str]:
        return type(inst), inst.opcode

    for fn in copy.functions:
        source = original.get_function(fn.name)
        if source is None or fn.is_declaration:
            continue
        ours = list(fn.instructions())
        for inst in ours:
            inst.location = source.location
        keys = [key(inst) for inst in ours]
        next_free = 0
        for inst in source.instructions():
            wanted = key(inst)
            for at in range(next_free, min(next_free + _ALIGN_WINDOW, len(ours))):
                if keys[at] == wanted:
                    ours[at].location = inst.location
                    next_free = at + 1
                    break


def find_kernel(modules: list[Module], kernel: str, file: str) -> tuple[Module, str]:
    """The module holding ``kernel`` and its symbol: the name itself, or the one kernel
    of a module whose source (demangled) name it is. Raises :class:`CompileError`
    listing the kernels there are."""
    from llvm_to_air.names import source_name

    everything: list[str] = []
    for module in modules:
        names = kernel_names(module)
        everything += names
        if kernel in names:
            return module, kernel
        found = [name for name in names if source_name(name) == kernel]
        if len(found) == 1:
            return module, found[0]
    listed = ", ".join(everything) if everything else "none"
    raise CompileError(f"no kernel '{kernel}' in {file} (kernels: {listed})",
                       SourceLocation(file), hint="pass one of them with --kernel")


def load_kernel(source: Any, kernel: str, check_bounds: bool = True,
                file: str | None = None) -> Kernel:
    """The compiled :class:`Kernel` ``kernel`` of ``source``.

    Cached twice: by the input's bytes (a repeated ``run`` of the same file pays neither
    lowering nor JIT again) and by the AIR text (the same kernel reached another way).
    ``file`` names ``bytes`` input in messages.
    """
    from llvm_to_air.sources import read_source

    if isinstance(source, Module):
        return _load(source, kernel, check_bounds, file)
    content, file = read_source(source, file)
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    key = ("input", hashlib.sha256(data).hexdigest(), kernel, check_bounds, file)
    cached = _cached(key)
    if cached is not None:
        return cached
    result = _load(data, kernel, check_bounds, file)
    if any(cached is result for cached in _CACHE.values()):  # cacheable: no mutable globals
        _remember(key, result)
    return result


def _cached(key: tuple[Any, ...]) -> Kernel | None:
    found = _CACHE.get(key)
    if found is not None and found.abandoned:
        del _CACHE[key]
        return None
    if found is not None:
        _CACHE.move_to_end(key)
    return found


def _remember(key: tuple[Any, ...], kernel: Kernel) -> None:
    _CACHE[key] = kernel
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _load(source: Any, kernel: str, check_bounds: bool, file: str | None) -> Kernel:
    from llvm_to_air.ir.reader import read_module
    from llvm_to_air.ir.writer14 import write_llvm14

    modules, file = _read_input(source, file)
    module, name = find_kernel(modules, kernel, file)
    text = write_llvm14(module)
    # the key covers where the instructions came from: errors quote those lines
    where = "\n".join(str(inst.location) for fn in module.functions
                      for inst in fn.instructions())
    key = ("air", hashlib.sha256(text.encode()).hexdigest(), name, check_bounds,
           hashlib.sha256(where.encode()).hexdigest())
    cached = _cached(key)
    if cached is not None:
        return cached
    _refuse_function_constants(module, name, file)
    copy = read_module(text, file)
    transfer_locations(module, copy)
    info = kernel_bindings(copy, name)
    mutable_globals = any(gv.addrspace != 3 and not gv.is_constant for gv in copy.globals)
    compiled = compile_kernel(copy, info, check_bounds)
    result = Kernel(compiled, file)
    if not mutable_globals:  # device globals keep state between runs: never shared
        _remember(key, result)
    return result


__all__ = ["find_kernel", "load_kernel"]
