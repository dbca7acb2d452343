"""``Module.get_function`` answers from a position index that stages may invalidate at any
time (append, remove, rename, reassign the list): every answer must match a linear scan."""

from __future__ import annotations

import copy

from llvm_to_air.ir.model import Function, Module
from llvm_to_air.ir.types import PointerType


def _fn(name: str) -> Function:
    return Function(PointerType(0), name=name)


def _scan(module: Module, name: str) -> Function | None:
    return next((fn for fn in module.functions if fn.name == name), None)


def _check(module: Module, names: list[str]) -> None:
    for name in names:
        assert module.get_function(name) is _scan(module, name), name


def test_get_function_follows_every_kind_of_edit() -> None:
    fns = [_fn(f"f{k}") for k in range(5)]
    module = Module(functions=list(fns))
    names = [f"f{k}" for k in range(7)] + ["g", "h"]
    _check(module, names)
    module.functions.append(_fn("f5"))  # append
    _check(module, names)
    module.functions.remove(fns[1])  # remove: positions shift
    _check(module, names)
    fns[2].name = "g"  # rename
    _check(module, names)
    module.functions[0] = _fn("f0")  # replace in place, same name
    _check(module, names)
    module.functions = [fn for fn in module.functions if fn.name != "f3"]  # reassign
    _check(module, names)
    module.functions.insert(0, _fn("h"))
    _check(module, names)


def test_copies_of_a_module_keep_their_own_answers() -> None:
    module = Module(functions=[_fn("a"), _fn("b")])
    assert module.get_function("b") is module.functions[1]
    part = copy.copy(module)
    part.functions = [module.functions[1]]
    assert part.get_function("b") is module.functions[1]
    assert part.get_function("a") is None
    assert module.get_function("a") is module.functions[0]
    assert module.get_function("b") is module.functions[1]
