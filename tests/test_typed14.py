"""The bitcode writer's direct input (ir/typed14) against the old route through LLVM 14 text.

``air_bytes`` builds the typed LLVM 14 module from the model; the reference,
``air_bytes_via_text``, prints LLVM 14 text and parses it back. Both must give
the same bytes for every module the lowering produces (each whole module and
each per-kernel module a ``.metallib`` holds, also written with the caches a
library's modules share), and LLVM 14's own reader must read the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from llvm_to_air.api import lower
from llvm_to_air.bitcode import llvm14_text_to_bitcode, write_bitcode
from llvm_to_air.bitcode_wrapper import unwrap_bitcode
from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Module
from llvm_to_air.ir.reader import read_module
from llvm_to_air.ir.typed14 import typed_module14
from llvm_to_air.ir.writer14 import write_llvm14
from llvm_to_air.package import (
    KernelIndex,
    PackagingCache,
    air_bytes,
    air_bytes_via_text,
    kernel_module,
)
from llvm_to_air.rewrite.context import LoweringContext
from tests.oracles import FIXTURES, fixture_id, fixture_modules, require_tool, run_tool

TRITON = sorted(FIXTURES.glob("triton/*/*.ll"))
MODULES = fixture_modules() + TRITON


def _lowered(path: Path) -> tuple[Module, LoweringContext] | None:
    """The lowered fixture, or None where the lowering refuses it (asserted located)."""
    data = path.read_bytes()
    try:
        try:
            module, ctx = lower(data, str(path))
        except CompileError as exc:
            if "no kernels found" not in str(exc):
                raise
            # hand-written modules of plain functions: every definition as a kernel
            defined = re.findall(r"^define [^@]*@([-\w.$]+)\(", data.decode(), re.M)
            module, ctx = lower(data, str(path), kernels=defined)
    except CompileError as exc:
        # a refused fixture (wave64 AMD, fp64, ...) writes nothing; its refusal names a line
        assert re.search(r":\d+:\d+: error: ", str(exc)), str(exc)
        return None
    for kernel in ctx.kernels:
        kernel.function.name = kernel.name
    return module, ctx


def _fixture_id(path: Path) -> str:
    return fixture_id(path) if path.parent.parent != FIXTURES / "triton" else \
        f"triton/{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", MODULES, ids=_fixture_id)
def test_direct_bitcode_equals_text_round_trip(path: Path) -> None:
    lowered = _lowered(path)
    if lowered is None:
        return
    module, ctx = lowered
    index = KernelIndex.of(module)
    parts = [module] + [kernel_module(module, k.function.name, index) for k in ctx.kernels]
    shared = PackagingCache()  # what a library's modules share changes none of their bytes
    for part in parts:
        alone = air_bytes(part)
        where = f"{path}: {[fn.name for fn in part.functions if not fn.is_declaration]}"
        assert alone == air_bytes_via_text(part), where
        assert air_bytes(part, shared) == alone, where
    # LLVM 14 reads the bitcode exactly when it reads the text (the -O0 cooperative-groups
    # build is a known lowering gap, test_real_kernels: both routes are then rejected alike)
    dis = run_tool([require_tool("llvm-dis-14"), "-", "-o", "-"],
                   unwrap_bitcode(air_bytes(module), str(path)))
    if dis.returncode == 0:
        for kernel in ctx.kernels:
            assert f"@{kernel.name}(" in dis.stdout.decode()
    else:
        assembled = run_tool([require_tool("llvm-as-14"), "-", "-o", "/dev/null"],
                             write_llvm14(module).encode())
        assert assembled.returncode != 0, dis.stderr.decode()


@pytest.mark.parametrize("path", MODULES, ids=_fixture_id)
def test_read_module_same_bytes_or_same_error(path: Path) -> None:
    """Unlowered modules (debug info, aliases, odd names, metadata the lowering would
    drop): both routes give the same bitcode, or the same CompileError."""
    try:
        module = read_module(path.read_bytes(), str(path))
    except CompileError as exc:
        pytest.skip(f"the reader refuses this fixture: {exc}")
    assert _bitcode_or_error(lambda: write_bitcode(typed_module14(module))) == \
        _bitcode_or_error(lambda: llvm14_text_to_bitcode(write_llvm14(module), module.file))


def _bitcode_or_error(write: Callable[[], bytes]) -> bytes | str:
    try:
        return write()
    except CompileError as exc:
        return f"CompileError: {exc}"


def test_typed_view_leaves_the_model_untouched() -> None:
    lowered = _lowered(FIXTURES / "cuda19-O2" / "matmul_tiled.ll")
    assert lowered is not None
    module = lowered[0]
    before = write_llvm14(module)
    typed = typed_module14(module)
    assert write_llvm14(module) == before
    assert typed is not module
    assert not set(map(id, typed.functions)) & set(map(id, module.functions))


def test_kernel_index_split_matches_a_fresh_split() -> None:
    lowered = _lowered(FIXTURES / "cuda19-O2" / "device_helper.ll")
    assert lowered is not None
    module, ctx = lowered
    assert len(ctx.kernels) > 1
    index = KernelIndex.of(module)
    for kernel in ctx.kernels:
        shared = kernel_module(module, kernel.function.name, index)
        alone = kernel_module(module, kernel.function.name)
        assert [fn.name for fn in shared.functions] == [fn.name for fn in alone.functions]
        assert write_llvm14(shared) == write_llvm14(alone)
