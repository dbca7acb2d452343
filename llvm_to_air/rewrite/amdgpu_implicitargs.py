"""AMD implicit kernel arguments and dispatch-packet fields, read as Metal built-ins.

HIP's ``blockDim``/``gridDim`` and clang's ``__builtin_amdgcn_workgroup_size_x``/
``grid_size_x`` load fields at constant offsets from ``llvm.amdgcn.implicitarg.ptr``
(code object v5 layout, AMDGPUUsage "Code Object V5 Metadata", hidden kernel arguments)
or ``llvm.amdgcn.dispatch.ptr`` (``hsa_kernel_dispatch_packet_t``). Metal hands a kernel
the same sizes as built-in parameters, so each load becomes the field computed from them:

- group size (v5 ``hidden_group_size_*``, packet ``workgroup_size_*``): the dispatch's
  threadgroup size (``dispatch_threads_per_threadgroup``, what OCKL's
  ``__ockl_get_enqueued_local_size`` reads);
- ``hidden_block_count_*``: the number of *whole* groups, grid / group size (a partial
  last group is counted by ``hidden_remainder_*`` = grid % group size; OCKL adds one
  when the remainder is not zero);
- packet ``grid_size_*``: the grid in threads (``threads_per_grid``);
- ``hidden_global_offset_*`` (v4 and v5): 0, Metal has no grid offset;
- ``hidden_grid_dims``: 3, with a warning (as OpenCL's ``get_work_dim``).

A load may cover several fields (they are packed as the bytes lie); a load touching any
other byte (reserved bytes, printf/hostcall/heap pointers, queue and completion
signal) or a pointer used in any other way is a CompileError naming the field.

Expects kernels inlined (so every field load sits beside its pointer). Guarantees: no
``implicitarg.ptr``/``dispatch.ptr`` call remains; the fields become ``__ockl_*``
size calls that ``lower_builtins`` maps to kernel parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.datalayout import DataLayout
from llvm_to_air.ir.edit import NameSource, replace_all_uses
from llvm_to_air.ir.model import (
    BinaryOp,
    Call,
    Cast,
    ConstantInt,
    Function,
    GetElementPtr,
    Instruction,
    Load,
    MDNode,
    MDString,
    MDValue,
    Module,
    Value,
)
from llvm_to_air.ir.types import I32, FunctionType, IntType, PointerType
from llvm_to_air.rewrite.context import LoweringContext

# How a field is computed: (what, dimension); "what" is a key of _COMPUTE.
Source = tuple[str, int]


@dataclass(frozen=True)
class Field:
    """Bytes ``[offset, offset + size)`` of an implicit-argument block, and their value."""

    name: str
    offset: int
    size: int
    source: Source


def _xyz(stem: str, offset: int, size: int, what: str) -> list[Field]:
    return [Field(f"{stem}_{axis}", offset + size * d, size, (what, d))
            for d, axis in enumerate("xyz")]


# AMDGPUUsage, "Code Object V5 Metadata" (hidden arguments; v6 keeps the layout).
IMPLICIT_V5: tuple[Field, ...] = (
    *_xyz("hidden_block_count", 0, 4, "whole_groups"),
    *_xyz("hidden_group_size", 12, 2, "group_size"),
    *_xyz("hidden_remainder", 18, 2, "remainder"),
    *_xyz("hidden_global_offset", 40, 8, "zero"),
    Field("hidden_grid_dims", 64, 2, ("grid_dims", 0)),
)
# Code object v4: the hidden arguments start with the three global offsets.
IMPLICIT_V4: tuple[Field, ...] = tuple(_xyz("hidden_global_offset", 0, 8, "zero"))
# HSA's hsa_kernel_dispatch_packet_t (what llvm.amdgcn.dispatch.ptr points at).
DISPATCH_PACKET: tuple[Field, ...] = (
    *_xyz("workgroup_size", 4, 2, "group_size"),
    *_xyz("grid_size", 12, 4, "grid_size"),
)
# Bytes of the blocks not in the tables, named for the error.
_OTHER_BYTES = {
    "llvm.amdgcn.dispatch.ptr": ((0, "header/setup"), (10, "reserved0"),
                                 (24, "private_segment_size"), (28, "group_segment_size"),
                                 (32, "kernel_object"), (40, "kernarg_address"),
                                 (48, "reserved2"), (56, "completion_signal")),
    "llvm.amdgcn.implicitarg.ptr": ((24, "reserved bytes"), (66, "reserved bytes"),
                                    (80, "hidden_hostcall_buffer"),
                                    (88, "hidden_multigrid_sync_arg"),
                                    (96, "hidden_heap_v1"),
                                    (104, "hidden_default_queue"),
                                    (112, "hidden_completion_action"),
                                    (120, "hidden_dynamic_lds_size and later fields")),
}
_BASES = tuple(_OTHER_BYTES)


def lower_amdgpu_implicitargs(module: Module, ctx: LoweringContext) -> None:
    """Replace field loads from implicitarg/dispatch pointers (see the module docstring)."""
    version = _code_object_version(module)
    for kernel in ctx.kernels:
        fn = kernel.function
        bases = [i for i in fn.instructions() if isinstance(i, Call) and i.callee_function
                 is not None and i.callee_function.name in _BASES]
        if bases:
            _Rewriter(module, fn, version, ctx).run(bases)


def _code_object_version(module: Module) -> int:
    """``amdhsa_code_object_version`` / 100 (clang writes 400, 500, 600); 5 when absent."""
    flags = module.get_named_metadata("llvm.module.flags")
    for node in flags.nodes if flags else []:
        if isinstance(node, MDNode) and len(node.operands) == 3:
            key, value = node.operands[1], node.operands[2]
            if isinstance(key, MDString) and key.value == b"amdhsa_code_object_version" \
                    and isinstance(value, MDValue) and isinstance(value.value, ConstantInt):
                return value.value.value // 100
    return 5


class _Rewriter:
    def __init__(self, module: Module, fn: Function, version: int,
                 ctx: LoweringContext) -> None:
        self.module, self.fn, self.version, self.ctx = module, fn, version, ctx
        self.names = NameSource(fn)
        self.layout = DataLayout.parse(module.datalayout)
        self.structs = module.structs

    def run(self, bases: list[Call]) -> None:
        users: dict[int, list[Instruction]] = {}
        for inst in self.fn.instructions():
            for op in inst.ops:
                users.setdefault(id(op), []).append(inst)
        mapping: dict[Value, Value] = {}
        dead: list[Instruction] = []
        for base in bases:
            name = base.callee_function.name  # type: ignore[union-attr]
            fields = self.fields(name)
            for load, offset in self.loads(base, 0, users, dead):
                mapping[load] = self.replace(load, offset, fields, name)
                dead.append(load)
            dead.append(base)
        replace_all_uses(self.fn.instructions(), mapping)
        gone = set(map(id, dead))
        for block in self.fn.blocks:
            block.instructions = [i for i in block.instructions if id(i) not in gone]

    def fields(self, name: str) -> tuple[Field, ...]:
        if name == "llvm.amdgcn.dispatch.ptr":
            return DISPATCH_PACKET
        return IMPLICIT_V5 if self.version >= 5 else IMPLICIT_V4

    def loads(self, ptr: Instruction, offset: int, users: dict[int, list[Instruction]],
              dead: list[Instruction]) -> list[tuple[Load, int]]:
        """Every load through ``ptr`` with its constant byte offset; other uses refused."""
        found: list[tuple[Load, int]] = []
        for user in users.get(id(ptr), []):
            if isinstance(user, Load) and user.ops[0] is ptr:
                found.append((user, offset))
            elif isinstance(user, GetElementPtr) and user.ops[0] is ptr:
                found.extend(self.loads(user, offset + self.gep_offset(user), users, dead))
                dead.append(user)
            else:
                raise CompileError(
                    f"the AMD implicit-argument pointer is used by '{user.opcode}' in "
                    f"@{self.fn.name}; only loads of its fields at constant offsets are "
                    "translated", user.location or ptr.location,
                    hint="read sizes with the work-item builtins (OCKL, HIP blockDim)")
        return found

    def gep_offset(self, gep: GetElementPtr) -> int:
        indices = gep.ops[1:]
        if len(indices) != 1 or not isinstance(indices[0], ConstantInt):
            raise CompileError(f"implicit-argument field at a non-constant offset in "
                               f"@{self.fn.name}", gep.location)
        size = self.layout.alloc_size(gep.source_type, self.structs)  # type: ignore[arg-type]
        return indices[0].value * size

    def replace(self, load: Load, offset: int, fields: tuple[Field, ...], base: str) -> Value:
        if not isinstance(load.ty, IntType) or load.ty.bits % 8:
            raise CompileError(f"a {load.ty} load from '@{base}' in @{self.fn.name}: only "
                               "integer fields are translated", load.location)
        width = load.ty.bits // 8
        covered: list[Field] = []
        for byte in range(offset, offset + width):
            field = next((f for f in fields if f.offset <= byte < f.offset + f.size), None)
            if field is None:
                raise CompileError(
                    f"byte {byte} of '@{base}' ({_other_name(base, byte)}) in "
                    f"@{self.fn.name} has no Metal equivalent", load.location,
                    hint="only the grid, group-size, remainder, block-count, offset and "
                         "grid-dims fields are translated")
            if field not in covered:
                covered.append(field)
        out: list[Instruction] = []

        def add(inst: Instruction) -> Instruction:
            inst.name = self.names("implicitarg")
            inst.location = load.location
            out.append(inst)
            return inst

        ty, wide = load.ty, IntType(64)
        result: Value | None = None
        for field in covered:  # each field's bytes, masked, moved to where they lie
            value = add(Cast(wide, opcode="zext", ops=[self.compute(field, add, load)]))
            if field.size < 4:
                value = add(BinaryOp(wide, opcode="and", ops=[
                    value, ConstantInt(wide, (1 << 8 * field.size) - 1)]))
            shift = 8 * (field.offset - offset)
            if shift:
                value = add(BinaryOp(wide, opcode="shl" if shift > 0 else "lshr", ops=[
                    value, ConstantInt(wide, abs(shift))]))
            if ty.bits < 64:
                value = add(Cast(ty, opcode="trunc", ops=[value]))
            result = value if result is None else add(BinaryOp(ty, opcode="or",
                                                               ops=[result, value]))
        assert result is not None
        block = load.parent
        assert block is not None
        at = block.instructions.index(load)
        block.instructions[at:at] = out
        for inst in out:
            inst.parent = block
        return result

    def compute(self, field: Field, add: Callable[[Instruction], Instruction],
                load: Load) -> Value:
        """The field's value as an i32."""
        what, dim = field.source
        if what == "zero":
            return ConstantInt(I32, 0)
        if what == "grid_dims":
            self.ctx.warnings.append(CompileError(
                "hidden_grid_dims has no Metal equivalent and reads 3 (ids beyond the "
                "dispatch's dimensions are 0 and sizes 1)", load.location))
            return ConstantInt(I32, 3)
        if what == "group_size":
            return self.ockl("__ockl_get_enqueued_local_size", dim, add)
        if what == "grid_size":
            return self.ockl("__ockl_get_global_size", dim, add)
        grid = self.ockl("__ockl_get_global_size", dim, add)
        group = self.ockl("__ockl_get_enqueued_local_size", dim, add)
        op = "udiv" if what == "whole_groups" else "urem"
        return add(BinaryOp(I32, opcode=op, ops=[grid, group]))

    def ockl(self, name: str, dim: int, add: Callable[[Instruction], Instruction]) -> Value:
        fn = self.module.get_function(name)
        if fn is None:
            fn = Function(PointerType(0), name=name,
                          function_type=FunctionType(IntType(64), (I32,)))
            self.module.functions.append(fn)
        ret = fn.function_type.ret
        value = add(Call(ret, opcode="call", ops=[ConstantInt(I32, dim), fn],
                         function_type=fn.function_type))
        return value if ret == I32 else add(Cast(I32, opcode="trunc", ops=[value]))


def _other_name(base: str, byte: int) -> str:
    name = "past the block"
    for start, what in _OTHER_BYTES[base]:
        if byte >= start:
            name = what
    return name
