"""The module under check plus facts several rules share, computed once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from llvm_to_air.errors import SourceLocation
from llvm_to_air.ir.model import (
    Call,
    Function,
    Instruction,
    MDNode,
    Module,
)
from llvm_to_air.ir.types import (
    PointerType,
)
from llvm_to_air.verify.facts import BUILTIN_ROLES, ENTRY_KINDS, POINTER_ROLES, PointerRole
from llvm_to_air.verify.findings import _md_int
from llvm_to_air.verify.kernels import ArgNode, Kernel, KernelTable, parse_kernels

# -------------------------------------------------------------------------- context


@dataclass
class VerifyContext:
    """The module under check plus facts several rules share, computed once."""

    module: Module

    @property
    def where(self) -> SourceLocation:
        return SourceLocation(self.module.file)

    @cached_property
    def kernel_table(self) -> KernelTable:
        return parse_kernels(self.module)

    @cached_property
    def function_kinds(self) -> frozenset[str]:
        """The entry-function kinds the module lists (``!air.kernel``, ``!air.mesh``...)."""
        return frozenset(kind for kind in ENTRY_KINDS
                         if (nmd := self.module.get_named_metadata(f"air.{kind}")) and nmd.nodes)

    @cached_property
    def kernel_functions(self) -> set[int]:
        return {id(k.function) for k in self.kernel_table.kernels}

    @cached_property
    def air_version(self) -> tuple[int, int, int] | None:
        node = _single_node(self.module, "air.version")
        if node is None or len(node.operands) != 3:
            return None
        parts = [_md_int(op) for op in node.operands]
        if any(p is None for p in parts):
            return None
        major, minor, patch = (int(p) for p in parts)  # type: ignore[arg-type]
        return major, minor, patch

    @cached_property
    def call_sites(self) -> dict[int, list[Call]]:
        """id(function) -> the direct calls to it."""
        sites: dict[int, list[Call]] = defaultdict(list)
        for fn in self.module.functions:
            for inst in fn.instructions():
                if isinstance(inst, Call) and inst.callee_function is not None:
                    sites[id(inst.callee_function)].append(inst)
        return sites

    @cached_property
    def arg_owner(self) -> dict[int, tuple[Function, int]]:
        return {id(arg): (fn, i) for fn in self.module.functions for i, arg in enumerate(fn.args)}

    def pointer_args(self) -> Iterator[tuple[Kernel, ArgNode, PointerRole]]:
        """Pointer parameters described by a pointer role."""
        for kernel in self.kernel_table.kernels:
            for arg in kernel.args:
                spec = POINTER_ROLES.get(arg.role)
                if spec is not None and isinstance(arg.param.ty, PointerType):
                    yield kernel, arg, spec

    def builtin_args(self) -> Iterator[tuple[Kernel, ArgNode, tuple[str, ...]]]:
        """Non-pointer parameters described by a built-in role."""
        for kernel in self.kernel_table.kernels:
            for arg in kernel.args:
                names = BUILTIN_ROLES.get(arg.role)
                if names is not None and not isinstance(arg.param.ty, PointerType):
                    yield kernel, arg, names

    def calls(self) -> Iterator[tuple[Function, Call]]:
        for fn in self.module.functions:
            for inst in fn.instructions():
                if isinstance(inst, Call):
                    yield fn, inst


def _single_node(module: Module, name: str) -> MDNode | None:
    nmd = module.get_named_metadata(name)
    if nmd is None or len(nmd.nodes) != 1 or not isinstance(nmd.nodes[0], MDNode):
        return None
    return nmd.nodes[0]


def _inst_label(inst: Instruction, fn: Function) -> str:
    name = f"%{inst.name} = " if inst.name else ""
    return f"'{name}{inst.opcode}' in @{fn.name}"
